//! What Application Auto Scaling keeps in the store: its tables, keys and record types (owned
//! types, never the generated wire types, so a newer botocore cannot change what is on disk).
//!
//! Four tables, all format 1:
//! - `autoscaling.targets`: one [`TargetRecord`] per scalable target, keyed by [`target_key`]
//!   (`<account>/<region>/<namespace>/<dimension>/<resource id>`); its tags and the cooldown
//!   state of its last scaling activities live inside it;
//! - `autoscaling.policies`: one [`PolicyRecord`] per scaling policy, keyed
//!   `<target key>|<policy name>` ([`child_key`]);
//! - `autoscaling.scheduled_actions`: one [`ScheduledActionRecord`] per scheduled action, keyed
//!   `<target key>|<action name>`;
//! - `autoscaling.activities`: one [`ActivityRecord`] per scaling activity, keyed
//!   `<target key>|<start millis, 16 digits>|<activity id>`, so a target's activities list in
//!   time order.
//!
//! A target's children all start with `<target key>|`: deregistering lists them by that prefix.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use wharf_core::Timestamp;
use wharf_store::{Table, TableFormat};

/// Scalable targets, keyed by [`target_key`].
pub const TARGETS: Table<TargetRecord> = Table::new("autoscaling.targets", 1);
/// Scaling policies, keyed by [`child_key`] of their target.
pub const POLICIES: Table<PolicyRecord> = Table::new("autoscaling.policies", 1);
/// Scheduled actions, keyed by [`child_key`] of their target.
pub const SCHEDULED_ACTIONS: Table<ScheduledActionRecord> =
    Table::new("autoscaling.scheduled_actions", 1);
/// Scaling activities, keyed by [`activity_key`].
pub const ACTIVITIES: Table<ActivityRecord> = Table::new("autoscaling.activities", 1);

/// Every table of Application Auto Scaling, with the format this wharf writes (checked by the
/// server at start).
pub const TABLES: &[TableFormat] = &[
    TARGETS.format(),
    POLICIES.format(),
    SCHEDULED_ACTIONS.format(),
    ACTIVITIES.format(),
];

/// The prefix of every record of `account` in `region`.
pub fn scope_prefix(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

/// The key of the scalable target `namespace` / `dimension` / `resource_id`.
pub fn target_key(
    account: &str,
    region: &str,
    namespace: &str,
    dimension: &str,
    resource_id: &str,
) -> String {
    format!("{account}/{region}/{namespace}/{dimension}/{resource_id}")
}

/// The prefix of every policy, scheduled action and activity of the target `target_key`.
pub fn children_prefix(target_key: &str) -> String {
    format!("{target_key}|")
}

/// The key of the policy or scheduled action `name` of the target `target_key`.
pub fn child_key(target_key: &str, name: &str) -> String {
    format!("{target_key}|{name}")
}

/// The key of an activity of the target `target_key` started at `start`.
pub fn activity_key(target_key: &str, start: Timestamp, id: &str) -> String {
    format!("{target_key}|{:016}|{id}", start.millis.max(0))
}

/// Which of the target's dynamic and scheduled scaling is suspended (`SuspendedState`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    /// `DynamicScalingInSuspended`: policies do not scale in.
    pub dynamic_in: bool,
    /// `DynamicScalingOutSuspended`: policies do not scale out.
    pub dynamic_out: bool,
    /// `ScheduledScalingSuspended`: scheduled actions do not run.
    pub scheduled: bool,
}

/// The last scale-out of a target, which its scale-out cooldown is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleOutMark {
    /// When the scale-out was made.
    pub at: Timestamp,
    /// The capacity it started from (during the cooldown the next scale-out counts the
    /// capacity it added as already there).
    pub from: u32,
    /// The capacity it set.
    pub to: u32,
}

/// When the target last scaled, for the policies' cooldowns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CooldownState {
    /// The last scale-out made by a policy.
    pub last_scale_out: Option<ScaleOutMark>,
    /// When a policy last scaled in.
    pub last_scale_in: Option<Timestamp>,
}

/// A scalable target as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRecord {
    /// `ServiceNamespace` (`ecs`).
    pub namespace: String,
    /// `ScalableDimension` (`ecs:service:DesiredCount`).
    pub dimension: String,
    /// `ResourceId` (`service/<cluster>/<service>`).
    pub resource_id: String,
    /// `MinCapacity`.
    pub min_capacity: i32,
    /// `MaxCapacity`.
    pub max_capacity: i32,
    /// `RoleARN`.
    pub role_arn: String,
    /// `ScalableTargetARN`.
    pub arn: String,
    /// The uuid in the ARNs of the target's policies and scheduled actions (AWS gives all of
    /// a target's policies the same one: `scalingPolicy:<uuid>:resource/...`).
    pub resource_uuid: String,
    /// `CreationTime`.
    pub created: Timestamp,
    /// `SuspendedState`.
    pub suspended: Suspension,
    /// Tags, by key.
    pub tags: BTreeMap<String, String>,
    /// The last scaling activities, for cooldowns.
    pub cooldown: CooldownState,
}

/// A policy's target-tracking metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TrackedMetric {
    /// `PredefinedMetricSpecification`.
    Predefined {
        /// `PredefinedMetricType`.
        metric_type: String,
        /// `ResourceLabel` (ALBRequestCountPerTarget).
        resource_label: Option<String>,
    },
    /// `CustomizedMetricSpecification` (one metric; the `Metrics` math form is refused).
    Customized {
        /// `Namespace`.
        namespace: String,
        /// `MetricName`.
        metric_name: String,
        /// `Dimensions`, in the order given.
        dimensions: Vec<(String, String)>,
        /// `Statistic`.
        statistic: String,
        /// `Unit`.
        unit: Option<String>,
    },
}

/// `TargetTrackingScalingPolicyConfiguration` as stored (as the caller gave it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackingConfig {
    /// `TargetValue`.
    pub target_value: f64,
    /// The metric kept at the target.
    pub metric: TrackedMetric,
    /// `ScaleOutCooldown`, in seconds, when given.
    pub scale_out_cooldown: Option<i32>,
    /// `ScaleInCooldown`, in seconds, when given.
    pub scale_in_cooldown: Option<i32>,
    /// `DisableScaleIn`, when given.
    pub disable_scale_in: Option<bool>,
}

/// One `StepAdjustment`: bounds relative to the alarm threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// `MetricIntervalLowerBound` (none: minus infinity).
    pub lower: Option<f64>,
    /// `MetricIntervalUpperBound` (none: plus infinity).
    pub upper: Option<f64>,
    /// `ScalingAdjustment`.
    pub adjustment: i32,
}

/// `StepScalingPolicyConfiguration` as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepConfig {
    /// `AdjustmentType`: ChangeInCapacity, PercentChangeInCapacity or ExactCapacity.
    pub adjustment_type: String,
    /// `StepAdjustments`, in the order given.
    pub steps: Vec<Step>,
    /// `MinAdjustmentMagnitude` (PercentChangeInCapacity).
    pub min_adjustment_magnitude: Option<i32>,
    /// `Cooldown`, in seconds, when given.
    pub cooldown: Option<i32>,
    /// `MetricAggregationType`, when given.
    pub metric_aggregation_type: Option<String>,
}

/// What a policy does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PolicyConfig {
    /// `TargetTrackingScaling`.
    TargetTracking(TrackingConfig),
    /// `StepScaling`.
    Step(StepConfig),
}

/// An alarm a policy owns (target tracking) as `Alarms` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmRef {
    /// `AlarmName`.
    pub name: String,
    /// `AlarmARN`.
    pub arn: String,
}

/// A scaling policy as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// `PolicyName`.
    pub name: String,
    /// `PolicyARN` (kept when the policy is replaced).
    pub arn: String,
    /// `ServiceNamespace`.
    pub namespace: String,
    /// `ScalableDimension`.
    pub dimension: String,
    /// `ResourceId`.
    pub resource_id: String,
    /// `CreationTime`.
    pub created: Timestamp,
    /// The policy's configuration.
    pub config: PolicyConfig,
    /// The alarms it owns (target tracking's AlarmHigh / AlarmLow).
    pub alarms: Vec<AlarmRef>,
}

/// A scheduled action as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledActionRecord {
    /// `ScheduledActionName`.
    pub name: String,
    /// `ScheduledActionARN`.
    pub arn: String,
    /// `ServiceNamespace`.
    pub namespace: String,
    /// `ScalableDimension`.
    pub dimension: String,
    /// `ResourceId`.
    pub resource_id: String,
    /// `Schedule`: `at(...)`, `rate(...)` or `cron(...)`.
    pub schedule: String,
    /// `Timezone` (IANA name), when given.
    pub timezone: Option<String>,
    /// `StartTime`.
    pub start: Option<Timestamp>,
    /// `EndTime`.
    pub end: Option<Timestamp>,
    /// `ScalableTargetAction.MinCapacity`.
    pub min_capacity: Option<i32>,
    /// `ScalableTargetAction.MaxCapacity`.
    pub max_capacity: Option<i32>,
    /// `CreationTime`.
    pub created: Timestamp,
    /// The scheduled instant it last ran for (so each instant runs once).
    pub last_run: Option<Timestamp>,
}

/// Why an activity did not scale (`NotScaledReason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotScaled {
    /// `Code`, e.g. `AlreadyAtMaxCapacity`.
    pub code: String,
    /// `MaxCapacity`.
    pub max_capacity: Option<i32>,
    /// `MinCapacity`.
    pub min_capacity: Option<i32>,
    /// `CurrentCapacity`.
    pub current_capacity: Option<i32>,
}

/// A scaling activity as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRecord {
    /// `ActivityId`.
    pub id: String,
    /// `ServiceNamespace`.
    pub namespace: String,
    /// `ScalableDimension`.
    pub dimension: String,
    /// `ResourceId`.
    pub resource_id: String,
    /// `Description`, e.g. `Setting desired count to 4.`.
    pub description: String,
    /// `Cause`, e.g. `monitor alarm ... in state ALARM triggered policy ...`.
    pub cause: String,
    /// `StartTime`.
    pub start: Timestamp,
    /// `EndTime`.
    pub end: Option<Timestamp>,
    /// `StatusCode`: `Successful`, `Failed`, ...
    pub status_code: String,
    /// `StatusMessage`.
    pub status_message: Option<String>,
    /// `NotScaledReasons` (a not scaled activity).
    pub not_scaled: Vec<NotScaled>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_of_a_target_share_its_prefix_and_no_other_target_does() {
        let a = target_key("1", "r", "ecs", "ecs:service:DesiredCount", "service/c/s");
        let b = target_key("1", "r", "ecs", "ecs:service:DesiredCount", "service/c/s2");
        assert!(child_key(&a, "p").starts_with(&children_prefix(&a)));
        assert!(!child_key(&b, "p").starts_with(&children_prefix(&a)));
        let early = activity_key(&a, Timestamp::from_millis(5), "x");
        let late = activity_key(&a, Timestamp::from_millis(10_000), "a");
        assert!(early < late);
    }
}
