//! Application Auto Scaling for ECS services (`ecs:service:DesiredCount`, resource ids
//! `service/<cluster>/<service>`): scalable targets, target-tracking and step scaling policies,
//! scheduled actions, scaling activities and tags, acting on real load: CloudWatch alarms
//! invoke the policies (`AlarmActionHandler`), which set the service's desired count through
//! ECS (`ServiceCapacity`); target-tracking policies own their alarms in CloudWatch
//! (`AlarmRegistry`).
//!
//! Module map, bottom to top:
//! - `generated`: botocore-derived wire types and the `AutoScalingApi` trait (never stored)
//! - `records`: the stored targets, policies, scheduled actions and activities, tables and keys
//! - pure logic: `scaling_math` (target-tracking and step arithmetic, cooldowns, bounds),
//!   `steps` (step adjustment validation and selection), `tracking_alarms` (the AlarmHigh /
//!   AlarmLow alarms AWS creates), `policy_config` (policy configuration checks and wire
//!   conversion), `cron` (AWS's six-field cron), `schedule` (at / rate / cron, time zones,
//!   which instant is due)
//! - shared: `checks` (what wharf serves, target lookup, the ECS service behind a resource id),
//!   `paging`, `errors`, `tag_rules`, `activities` (recording activities and
//!   DescribeScalingActivities)
//! - resources: `targets` (Register / Describe / DeregisterScalableTarget), `policies`
//!   (Put / Describe / DeleteScalingPolicy), `scheduled_actions` (Put / Describe /
//!   DeleteScheduledAction, running a due action), `tags`
//! - `invocation`: an alarm invoking a policy; `scaling_loop`: scheduled actions, targets of
//!   deleted services, activity retention
//! - this file: the [`AutoScaling`] service, the alarm action handler, the loop's entry point
//!   and the one-line delegation of each `AutoScalingApi` operation

pub mod activities;
pub mod checks;
pub mod cron;
pub mod errors;
pub mod generated;
pub mod invocation;
pub mod paging;
pub mod policies;
pub mod policy_config;
pub mod records;
pub mod scaling_loop;
pub mod scaling_math;
pub mod schedule;
pub mod scheduled_actions;
pub mod steps;
pub mod tag_rules;
pub mod tags;
pub mod targets;
pub mod tracking_alarms;

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
    /// AWS's periods in real time (`--metric-time-scale`): cooldowns, the loop's pace.
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

impl AlarmActionHandler for AutoScaling {
    fn handles(&self, action_arn: &str) -> bool {
        action_arn.starts_with("arn:aws:autoscaling:") && action_arn.contains(":scalingPolicy:")
    }

    fn invoke(&self, action_arn: &str, invocation: &AlarmInvocation) -> Result<(), String> {
        invocation::invoke(self, action_arn, invocation)
    }
}

/// Runs scheduled actions and removes the targets of deleted services until `stop` turns
/// true.
pub async fn run_scaling_loop(scaling: Arc<AutoScaling>, stop: tokio::sync::watch::Receiver<bool>) {
    scaling_loop::run(scaling, stop).await
}

impl AutoScalingApi for Arc<AutoScaling> {
    fn register_scalable_target(
        &self,
        ctx: &RequestContext,
        input: RegisterScalableTargetRequest,
    ) -> Result<RegisterScalableTargetResponse, Error> {
        targets::register(self, ctx, input)
    }

    fn describe_scalable_targets(
        &self,
        ctx: &RequestContext,
        input: DescribeScalableTargetsRequest,
    ) -> Result<DescribeScalableTargetsResponse, Error> {
        targets::describe(self, ctx, input)
    }

    fn deregister_scalable_target(
        &self,
        ctx: &RequestContext,
        input: DeregisterScalableTargetRequest,
    ) -> Result<DeregisterScalableTargetResponse, Error> {
        targets::deregister_request(self, ctx, input).map(|()| DeregisterScalableTargetResponse {})
    }

    fn put_scaling_policy(
        &self,
        ctx: &RequestContext,
        input: PutScalingPolicyRequest,
    ) -> Result<PutScalingPolicyResponse, Error> {
        policies::put(self, ctx, input)
    }

    fn describe_scaling_policies(
        &self,
        ctx: &RequestContext,
        input: DescribeScalingPoliciesRequest,
    ) -> Result<DescribeScalingPoliciesResponse, Error> {
        policies::describe(self, ctx, input)
    }

    fn delete_scaling_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteScalingPolicyRequest,
    ) -> Result<DeleteScalingPolicyResponse, Error> {
        policies::delete(self, ctx, input).map(|()| DeleteScalingPolicyResponse {})
    }

    fn put_scheduled_action(
        &self,
        ctx: &RequestContext,
        input: PutScheduledActionRequest,
    ) -> Result<PutScheduledActionResponse, Error> {
        scheduled_actions::put(self, ctx, input).map(|()| PutScheduledActionResponse {})
    }

    fn describe_scheduled_actions(
        &self,
        ctx: &RequestContext,
        input: DescribeScheduledActionsRequest,
    ) -> Result<DescribeScheduledActionsResponse, Error> {
        scheduled_actions::describe(self, ctx, input)
    }

    fn delete_scheduled_action(
        &self,
        ctx: &RequestContext,
        input: DeleteScheduledActionRequest,
    ) -> Result<DeleteScheduledActionResponse, Error> {
        scheduled_actions::delete(self, ctx, input).map(|()| DeleteScheduledActionResponse {})
    }

    fn describe_scaling_activities(
        &self,
        ctx: &RequestContext,
        input: DescribeScalingActivitiesRequest,
    ) -> Result<DescribeScalingActivitiesResponse, Error> {
        activities::describe(self, ctx, input)
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, Error> {
        tags::tag(self, ctx, input).map(|()| TagResourceResponse {})
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, Error> {
        tags::untag(self, ctx, input).map(|()| UntagResourceResponse {})
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, Error> {
        tags::list(self, ctx, &input.resource_arn)
    }
}
