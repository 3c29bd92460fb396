//! The boundaries of Application Auto Scaling, which sits between CloudWatch alarms and ECS
//! services without either crate knowing the other:
//! - [`ServiceCapacity`]: ECS services' `desiredCount`, read and set (implemented by
//!   `wharf-ecs`; a change goes through the service controller like an UpdateService);
//! - [`AlarmRegistry`]: the alarms another service creates and owns (target-tracking policies'
//!   `AlarmHigh` / `AlarmLow`; implemented by `wharf-cloudwatch`);
//! - [`AlarmActionHandler`]: where an alarm's actions go (scaling policy ARNs; implemented by
//!   `wharf-autoscaling`, invoked by CloudWatch's alarm loop).

use crate::{ServiceError, Timestamp};

/// An ECS service's size, as a scalable target sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSize {
    /// `desiredCount`.
    pub desired: u32,
    /// `runningCount`.
    pub running: u32,
}

/// ECS services' desired counts. `cluster` and `service` are names (not ARNs).
pub trait ServiceCapacity: Send + Sync {
    /// The size of the active service, or `None` when there is no such (active) service.
    fn size(
        &self,
        account: &str,
        region: &str,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceSize>, ServiceError>;

    /// Sets `desiredCount` to `desired` at `now` (the service controller starts or stops tasks;
    /// scale-in drains load balancer targets first).
    fn set_desired(
        &self,
        account: &str,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
        now: Timestamp,
    ) -> Result<(), ServiceError>;
}

/// One metric of a managed alarm (AWS's `MetricStat` of a single-metric alarm).
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmMetric {
    /// The namespace.
    pub namespace: String,
    /// The metric name.
    pub metric_name: String,
    /// `(Name, Value)` dimensions.
    pub dimensions: Vec<(String, String)>,
    /// `Average`, `Sum`, `SampleCount`, `Minimum`, `Maximum`.
    pub statistic: String,
    /// The metric's unit, when the policy names one.
    pub unit: Option<String>,
}

/// An alarm another service owns, as it asks CloudWatch to keep it.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedAlarm {
    /// `AlarmName`.
    pub name: String,
    /// `AlarmDescription`.
    pub description: String,
    /// The metric watched.
    pub metric: AlarmMetric,
    /// `Period`, in (AWS) seconds.
    pub period_seconds: u32,
    /// `EvaluationPeriods`.
    pub evaluation_periods: u32,
    /// `DatapointsToAlarm`.
    pub datapoints_to_alarm: u32,
    /// `Threshold`.
    pub threshold: f64,
    /// `ComparisonOperator`, e.g. `GreaterThanThreshold`.
    pub comparison_operator: String,
    /// `TreatMissingData`, e.g. `missing`.
    pub treat_missing_data: String,
    /// `AlarmActions` (the owning policy's ARN).
    pub alarm_actions: Vec<String>,
}

/// Alarms other services create and delete.
pub trait AlarmRegistry: Send + Sync {
    /// Creates or replaces `alarm` in `account` / `region`; returns its ARN.
    fn put_managed_alarm(
        &self,
        account: &str,
        region: &str,
        alarm: ManagedAlarm,
        now: Timestamp,
    ) -> Result<String, ServiceError>;

    /// Deletes the alarms named `names` (missing ones are ignored).
    fn delete_managed_alarms(
        &self,
        account: &str,
        region: &str,
        names: &[String],
    ) -> Result<(), ServiceError>;

    /// The `(AlarmName, AlarmArn)` of every alarm of `account` / `region` that has `action_arn`
    /// among its actions (a step scaling policy lists the user's alarms that invoke it). The
    /// default knows none.
    fn alarms_with_action(
        &self,
        _account: &str,
        _region: &str,
        _action_arn: &str,
    ) -> Result<Vec<(String, String)>, ServiceError> {
        Ok(Vec::new())
    }
}

/// An alarm invoking one of its actions.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmInvocation {
    /// The account and region of the alarm.
    pub account: String,
    /// The region.
    pub region: String,
    /// `AlarmName`.
    pub alarm_name: String,
    /// `AlarmArn`.
    pub alarm_arn: String,
    /// The state the alarm is in: `ALARM`, `OK` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// The alarm's threshold.
    pub threshold: f64,
    /// The newest evaluated data point (step scaling picks its step from `value - threshold`).
    pub value: Option<f64>,
    /// When the alarm acts.
    pub now: Timestamp,
}

/// Where alarm actions of one kind go.
pub trait AlarmActionHandler: Send + Sync {
    /// Whether `action_arn` is an action of this handler's kind.
    fn handles(&self, action_arn: &str) -> bool;

    /// Runs `action_arn` for `invocation`. The error is recorded in the alarm's history.
    fn invoke(&self, action_arn: &str, invocation: &AlarmInvocation) -> Result<(), String>;
}
