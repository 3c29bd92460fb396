//! Amazon CloudWatch (the `monitoring` API): metrics and alarms.
//!
//! Module map, bottom to top:
//! - `generated`: botocore-derived wire types and the `CloudWatchApi` trait (never stored)
//! - `records`: what CloudWatch keeps in the store, its tables and keys
//! - `metrics`: the metric store and its queries: `validate` (PutMetricData's rules, pure),
//!   `store` (identities and data points), `statistics` (buckets, statistics, percentiles,
//!   pure), `math` (metric math parser and evaluator, pure), `query` (`series` and
//!   `run_queries`, which the alarms use too), `list` (ListMetrics' filters, pure), and
//!   `retention` (AWS's roll-ups, pure, and `run_metric_retention_loop`)
//! - `metrics_api`: PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics, wharf's
//!   own data points (`MetricSink::put`), and what is not supported
//! - `alarms_api`: the alarm operations and tags, and the alarms other services own
//! - `alarms`: what the alarm operations share: `evaluation` (AWS's evaluation, pure),
//!   `config` (PutMetricAlarm's rules), `wire`, `history`, `state`, `actions`, and `runner`
//!   (the loop evaluating every alarm each period and running its actions)
//! - this file: the [`CloudWatch`] service, the one-line delegation of each `CloudWatchApi`
//!   operation, and the boundaries other crates use ([`MetricSink`], [`AlarmRegistry`])

pub mod alarms;
pub mod alarms_api;
pub mod generated;
pub mod metrics;
pub mod metrics_api;
pub mod records;

use generated::*;
use std::sync::{Arc, RwLock};
use wharf_core::{
    AlarmActionHandler, AlarmRegistry, Clock, IdGen, ManagedAlarm, MetricDatum, MetricSink,
    MetricTime, RequestContext, ServiceError, Timestamp,
};
use wharf_store::Store;

/// The CloudWatch service.
pub struct CloudWatch {
    pub(crate) store: Arc<Store>,
    pub(crate) ids: Arc<dyn IdGen>,
    pub(crate) clock: Arc<dyn Clock>,
    /// AWS's periods in real time (`--metric-time-scale`).
    pub(crate) time: MetricTime,
    /// Where alarm actions go (Application Auto Scaling's policies), by kind.
    pub(crate) action_handlers: RwLock<Vec<Arc<dyn AlarmActionHandler>>>,
}

impl CloudWatch {
    /// CloudWatch over `store`.
    pub fn new(
        store: Arc<Store>,
        ids: Arc<dyn IdGen>,
        clock: Arc<dyn Clock>,
        time: MetricTime,
    ) -> Self {
        Self {
            store,
            ids,
            clock,
            time,
            action_handlers: RwLock::new(Vec::new()),
        }
    }

    /// Sends the alarm actions `handler` takes to it.
    pub fn add_action_handler(&self, handler: Arc<dyn AlarmActionHandler>) {
        self.action_handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(handler);
    }
}

impl MetricSink for CloudWatch {
    fn put(&self, account_id: &str, region: &str, data: Vec<MetricDatum>) {
        metrics_api::put_own(self, account_id, region, data)
    }
}

impl AlarmRegistry for CloudWatch {
    fn put_managed_alarm(
        &self,
        account: &str,
        region: &str,
        alarm: ManagedAlarm,
        now: Timestamp,
    ) -> Result<String, ServiceError> {
        alarms_api::put_managed(self, account, region, alarm, now)
    }

    fn delete_managed_alarms(
        &self,
        account: &str,
        region: &str,
        names: &[String],
    ) -> Result<(), ServiceError> {
        alarms_api::delete_managed(self, account, region, names)
    }

    fn alarms_with_action(
        &self,
        account: &str,
        region: &str,
        action_arn: &str,
    ) -> Result<Vec<(String, String)>, ServiceError> {
        alarms_api::with_action(self, account, region, action_arn)
    }
}

impl CloudWatchApi for Arc<CloudWatch> {
    fn put_metric_data(
        &self,
        ctx: &RequestContext,
        input: PutMetricDataInput,
    ) -> Result<(), Error> {
        metrics_api::put_metric_data(self, ctx, input)
    }

    fn get_metric_data(
        &self,
        ctx: &RequestContext,
        input: GetMetricDataInput,
    ) -> Result<GetMetricDataOutput, Error> {
        metrics_api::get_metric_data(self, ctx, input)
    }

    fn get_metric_statistics(
        &self,
        ctx: &RequestContext,
        input: GetMetricStatisticsInput,
    ) -> Result<GetMetricStatisticsOutput, Error> {
        metrics_api::get_metric_statistics(self, ctx, input)
    }

    fn list_metrics(
        &self,
        ctx: &RequestContext,
        input: ListMetricsInput,
    ) -> Result<ListMetricsOutput, Error> {
        metrics_api::list_metrics(self, ctx, input)
    }

    fn put_metric_alarm(
        &self,
        ctx: &RequestContext,
        input: PutMetricAlarmInput,
    ) -> Result<(), Error> {
        alarms_api::put_metric_alarm(self, ctx, input)
    }

    fn describe_alarms(
        &self,
        ctx: &RequestContext,
        input: DescribeAlarmsInput,
    ) -> Result<DescribeAlarmsOutput, Error> {
        alarms_api::describe_alarms(self, ctx, input)
    }

    fn describe_alarms_for_metric(
        &self,
        ctx: &RequestContext,
        input: DescribeAlarmsForMetricInput,
    ) -> Result<DescribeAlarmsForMetricOutput, Error> {
        alarms_api::describe_alarms_for_metric(self, ctx, input)
    }

    fn describe_alarm_history(
        &self,
        ctx: &RequestContext,
        input: DescribeAlarmHistoryInput,
    ) -> Result<DescribeAlarmHistoryOutput, Error> {
        alarms_api::describe_alarm_history(self, ctx, input)
    }

    fn delete_alarms(&self, ctx: &RequestContext, input: DeleteAlarmsInput) -> Result<(), Error> {
        alarms_api::delete_alarms(self, ctx, input)
    }

    fn set_alarm_state(
        &self,
        ctx: &RequestContext,
        input: SetAlarmStateInput,
    ) -> Result<(), Error> {
        alarms_api::set_alarm_state(self, ctx, input)
    }

    fn enable_alarm_actions(
        &self,
        ctx: &RequestContext,
        input: EnableAlarmActionsInput,
    ) -> Result<(), Error> {
        alarms_api::enable_alarm_actions(self, ctx, input)
    }

    fn disable_alarm_actions(
        &self,
        ctx: &RequestContext,
        input: DisableAlarmActionsInput,
    ) -> Result<(), Error> {
        alarms_api::disable_alarm_actions(self, ctx, input)
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceInput,
    ) -> Result<TagResourceOutput, Error> {
        alarms_api::tag_resource(self, ctx, input)
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceInput,
    ) -> Result<UntagResourceOutput, Error> {
        alarms_api::untag_resource(self, ctx, input)
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceInput,
    ) -> Result<ListTagsForResourceOutput, Error> {
        alarms_api::list_tags_for_resource(self, ctx, input)
    }
}
