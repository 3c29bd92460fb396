//! Application Auto Scaling for ECS services (`ecs:service:DesiredCount`). (Skeleton: being
//! written.)

pub mod generated;
pub mod records;

use generated::*;
use std::sync::Arc;
use wharf_core::{
    AlarmActionHandler, AlarmInvocation, AlarmRegistry, Clock, IdGen, MetricTime, RequestContext,
    ServiceCapacity,
};
use wharf_store::Store;

/// The Application Auto Scaling service.
pub struct AutoScaling {
    pub(crate) store: Arc<Store>,
    pub(crate) ids: Arc<dyn IdGen>,
    pub(crate) clock: Arc<dyn Clock>,
    /// AWS's periods in real time (`--metric-time-scale`): cooldowns, alarm periods.
    pub(crate) time: MetricTime,
    /// CloudWatch, which keeps target-tracking policies' alarms.
    pub(crate) alarms: Arc<dyn AlarmRegistry>,
    /// ECS services' desired counts.
    pub(crate) capacity: Arc<dyn ServiceCapacity>,
}

impl AutoScaling {
    /// Application Auto Scaling over `store`.
    pub fn new(
        store: Arc<Store>,
        ids: Arc<dyn IdGen>,
        clock: Arc<dyn Clock>,
        time: MetricTime,
        alarms: Arc<dyn AlarmRegistry>,
        capacity: Arc<dyn ServiceCapacity>,
    ) -> Self {
        Self {
            store,
            ids,
            clock,
            time,
            alarms,
            capacity,
        }
    }
}

fn not_yet() -> Error {
    Error::InternalServiceException("not implemented yet".into())
}

impl AlarmActionHandler for AutoScaling {
    fn handles(&self, action_arn: &str) -> bool {
        action_arn.starts_with("arn:aws:autoscaling:")
    }

    fn invoke(&self, _action_arn: &str, _invocation: &AlarmInvocation) -> Result<(), String> {
        Err("not implemented yet".into())
    }
}

/// Runs scheduled actions and removes the targets of deleted services until `stop` turns
/// true. (Skeleton.)
pub async fn run_scaling_loop(
    _scaling: Arc<AutoScaling>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let _ = stop.changed().await;
}

impl AutoScalingApi for Arc<AutoScaling> {
    fn register_scalable_target(
        &self,
        _ctx: &RequestContext,
        _input: RegisterScalableTargetRequest,
    ) -> Result<RegisterScalableTargetResponse, Error> {
        Err(not_yet())
    }

    fn describe_scalable_targets(
        &self,
        _ctx: &RequestContext,
        _input: DescribeScalableTargetsRequest,
    ) -> Result<DescribeScalableTargetsResponse, Error> {
        Err(not_yet())
    }

    fn deregister_scalable_target(
        &self,
        _ctx: &RequestContext,
        _input: DeregisterScalableTargetRequest,
    ) -> Result<DeregisterScalableTargetResponse, Error> {
        Err(not_yet())
    }

    fn put_scaling_policy(
        &self,
        _ctx: &RequestContext,
        _input: PutScalingPolicyRequest,
    ) -> Result<PutScalingPolicyResponse, Error> {
        Err(not_yet())
    }

    fn describe_scaling_policies(
        &self,
        _ctx: &RequestContext,
        _input: DescribeScalingPoliciesRequest,
    ) -> Result<DescribeScalingPoliciesResponse, Error> {
        Err(not_yet())
    }

    fn delete_scaling_policy(
        &self,
        _ctx: &RequestContext,
        _input: DeleteScalingPolicyRequest,
    ) -> Result<DeleteScalingPolicyResponse, Error> {
        Err(not_yet())
    }

    fn put_scheduled_action(
        &self,
        _ctx: &RequestContext,
        _input: PutScheduledActionRequest,
    ) -> Result<PutScheduledActionResponse, Error> {
        Err(not_yet())
    }

    fn describe_scheduled_actions(
        &self,
        _ctx: &RequestContext,
        _input: DescribeScheduledActionsRequest,
    ) -> Result<DescribeScheduledActionsResponse, Error> {
        Err(not_yet())
    }

    fn delete_scheduled_action(
        &self,
        _ctx: &RequestContext,
        _input: DeleteScheduledActionRequest,
    ) -> Result<DeleteScheduledActionResponse, Error> {
        Err(not_yet())
    }

    fn describe_scaling_activities(
        &self,
        _ctx: &RequestContext,
        _input: DescribeScalingActivitiesRequest,
    ) -> Result<DescribeScalingActivitiesResponse, Error> {
        Err(not_yet())
    }

    fn tag_resource(
        &self,
        _ctx: &RequestContext,
        _input: TagResourceRequest,
    ) -> Result<TagResourceResponse, Error> {
        Err(not_yet())
    }

    fn untag_resource(
        &self,
        _ctx: &RequestContext,
        _input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, Error> {
        Err(not_yet())
    }

    fn list_tags_for_resource(
        &self,
        _ctx: &RequestContext,
        _input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, Error> {
        Err(not_yet())
    }
}
