//! The alarm operations, tags, and the alarms other services own. (Skeleton: being written.)

use crate::generated::*;
use crate::CloudWatch;
use wharf_core::{ManagedAlarm, RequestContext, ServiceError, Timestamp};

fn not_yet() -> Error {
    Error::InternalFailure("not implemented yet".into())
}

pub(crate) fn put_managed(
    _cw: &CloudWatch,
    _account: &str,
    _region: &str,
    _alarm: ManagedAlarm,
    _now: Timestamp,
) -> Result<String, ServiceError> {
    Err(not_yet().into())
}

pub(crate) fn delete_managed(
    _cw: &CloudWatch,
    _account: &str,
    _region: &str,
    _names: &[String],
) -> Result<(), ServiceError> {
    Err(not_yet().into())
}

pub(crate) fn put_metric_alarm(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: PutMetricAlarmInput,
) -> Result<(), Error> {
    Err(not_yet())
}

pub(crate) fn describe_alarms(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: DescribeAlarmsInput,
) -> Result<DescribeAlarmsOutput, Error> {
    Err(not_yet())
}

pub(crate) fn describe_alarms_for_metric(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: DescribeAlarmsForMetricInput,
) -> Result<DescribeAlarmsForMetricOutput, Error> {
    Err(not_yet())
}

pub(crate) fn describe_alarm_history(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: DescribeAlarmHistoryInput,
) -> Result<DescribeAlarmHistoryOutput, Error> {
    Err(not_yet())
}

pub(crate) fn delete_alarms(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: DeleteAlarmsInput,
) -> Result<(), Error> {
    Err(not_yet())
}

pub(crate) fn set_alarm_state(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: SetAlarmStateInput,
) -> Result<(), Error> {
    Err(not_yet())
}

pub(crate) fn enable_alarm_actions(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: EnableAlarmActionsInput,
) -> Result<(), Error> {
    Err(not_yet())
}

pub(crate) fn disable_alarm_actions(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: DisableAlarmActionsInput,
) -> Result<(), Error> {
    Err(not_yet())
}

pub(crate) fn tag_resource(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: TagResourceInput,
) -> Result<TagResourceOutput, Error> {
    Err(not_yet())
}

pub(crate) fn untag_resource(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: UntagResourceInput,
) -> Result<UntagResourceOutput, Error> {
    Err(not_yet())
}

pub(crate) fn list_tags_for_resource(
    _cw: &CloudWatch,
    _ctx: &RequestContext,
    _input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, Error> {
    Err(not_yet())
}

/// Evaluates every alarm every period until `stop` turns true. (Skeleton.)
pub async fn run_alarm_loop(
    _cw: std::sync::Arc<CloudWatch>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let _ = stop.changed().await;
}
