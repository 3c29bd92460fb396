//! A CloudWatch alarm invoking a scaling policy (`AlarmActionHandler::invoke`): find the policy
//! by its ARN, read the service's desired count, let `scaling_math` decide (target tracking from
//! the alarm's newest datapoint, step scaling from the step its breach falls in), set the new
//! desired count through ECS, and record the activity and the target's cooldown state.
//!
//! CloudWatch invokes Auto Scaling actions again every period while an alarm stays in ALARM,
//! as AWS does; cooldowns keep that from scaling too far. A target-tracking policy acts only
//! on ALARM. When the alarm carries no datapoint (an alarm put in ALARM with SetAlarmState),
//! a target-tracking policy moves by one task in its alarm's direction (wharf's choice: AWS
//! would read the metric). Repeating the same not scaled activity (already at max or min) is
//! recorded once, not every period.

use crate::activities;
use crate::checks::{bounds_of, parse_service_resource, service_size};
use crate::generated::Error;
use crate::policy_config::DEFAULT_COOLDOWN_SECONDS;
use crate::records::{
    child_key, children_prefix, target_key, NotScaled, PolicyConfig, PolicyRecord, TargetRecord,
    ACTIVITIES, POLICIES, TARGETS,
};
use crate::scaling_math::{self, Outcome, Situation};
use crate::steps;
use crate::AutoScaling;
use wharf_core::AlarmInvocation;
use wharf_store::{StoreError, Tx};

/// The parts of a policy ARN,
/// `arn:aws:autoscaling:<region>:<account>:scalingPolicy:<uuid>:resource/<namespace>/<resource id>:policyName/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyArn {
    /// The region.
    pub region: String,
    /// The account.
    pub account: String,
    /// The service namespace.
    pub namespace: String,
    /// The resource id.
    pub resource_id: String,
    /// The policy name.
    pub name: String,
}

/// The parts of a scaling policy ARN, if `arn` is one.
pub fn parse_policy_arn(arn: &str) -> Option<PolicyArn> {
    let rest = arn.strip_prefix("arn:aws:autoscaling:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("scalingPolicy:")?;
    let (_uuid, rest) = rest.split_once(":resource/")?;
    let (resource, name) = rest.split_once(":policyName/")?;
    let name = name.split(":createdBy/").next().unwrap_or(name);
    let (namespace, resource_id) = resource.split_once('/')?;
    Some(PolicyArn {
        region: region.into(),
        account: account.into(),
        namespace: namespace.into(),
        resource_id: resource_id.into(),
        name: name.into(),
    })
}

/// Runs the policy `action_arn` for `invocation`.
pub fn invoke(
    scaling: &AutoScaling,
    action_arn: &str,
    invocation: &AlarmInvocation,
) -> Result<(), String> {
    let parsed = parse_policy_arn(action_arn)
        .ok_or_else(|| format!("{action_arn} is not a scaling policy ARN"))?;
    let dimension = crate::checks::DESIRED_COUNT;
    let key = target_key(
        &parsed.account,
        &parsed.region,
        &parsed.namespace,
        dimension,
        &parsed.resource_id,
    );
    let (target, policy) = scaling
        .store
        .read(|tx| {
            Ok::<_, StoreError>((
                tx.get(TARGETS, &key)?,
                tx.get(POLICIES, &child_key(&key, &parsed.name))?,
            ))
        })
        .map_err(|e| e.to_string())?;
    let (Some(target), Some(policy)) = (target, policy.filter(|p| action_arn.starts_with(&p.arn)))
    else {
        return Err(format!(
            "No scaling policy found for service namespace: {}, resource ID: {}, scalable \
             dimension: {dimension}, policy name: {}",
            parsed.namespace, parsed.resource_id, parsed.name
        ));
    };
    let tracking = matches!(policy.config, PolicyConfig::TargetTracking(_));
    if tracking && invocation.state != "ALARM" {
        return Ok(());
    }
    let service = parse_service_resource(&target.resource_id)
        .ok_or_else(|| format!("{} is not an ECS service", target.resource_id))?;
    let size = service_size(
        scaling,
        &parsed.account,
        &parsed.region,
        &target.resource_id,
        &service,
    )
    .map_err(|e: Error| e.message().to_string())?;
    let situation = situation(scaling, &target, &policy, size.desired, invocation);
    let outcome = match capacity_rule(&policy, invocation) {
        Some(rule) => scaling_math::decide(&situation, rule),
        None => Outcome::Nothing("no step adjustment matches the breach"),
    };
    let cause = format!(
        "monitor alarm {} in state {} triggered policy {}",
        invocation.alarm_name, invocation.state, policy.name
    );
    let activity = match outcome {
        Outcome::Scale { to, .. } => activities::change_desired(
            scaling,
            &target,
            &service,
            &parsed.account,
            &parsed.region,
            to,
            cause,
            invocation.now,
        ),
        Outcome::NotScaled { wanted, code } => {
            let (min, max) = bounds_of(&target);
            let reason = NotScaled {
                code: code.into(),
                max_capacity: (code == "AlreadyAtMaxCapacity").then_some(max as i32),
                min_capacity: (code == "AlreadyAtMinCapacity").then_some(min as i32),
                current_capacity: Some(size.desired as i32),
            };
            activities::not_scaled(scaling, &target, wanted, reason, cause, invocation.now)
        }
        Outcome::Nothing(why) => {
            tracing::debug!(policy = %policy.name, why, "scaling policy invoked: no change");
            return Ok(());
        }
    };
    let succeeded = activity.status_code == "Successful";
    scaling
        .store
        .write(|tx| {
            if !activity.not_scaled.is_empty() && repeats_latest(tx, &key, &activity)? {
                return Ok(());
            }
            activities::store(tx, &key, &activity)?;
            if succeeded {
                if let Some(mut t) = tx.get(TARGETS, &key)? {
                    t.cooldown =
                        scaling_math::after(t.cooldown, outcome, size.desired, invocation.now);
                    tx.put(TARGETS, &key, &t)?;
                }
            }
            Ok::<_, StoreError>(())
        })
        .map_err(|e| e.to_string())?;
    if succeeded || !activity.not_scaled.is_empty() {
        tracing::info!(policy = %policy.name, activity = %activity.description, "scaling policy acted");
        Ok(())
    } else {
        Err(activity
            .status_message
            .unwrap_or_else(|| activity.description.clone()))
    }
}

/// Whether `activity` says again what the target's latest activity said.
fn repeats_latest(
    tx: &Tx<'_>,
    target_key: &str,
    activity: &crate::records::ActivityRecord,
) -> Result<bool, StoreError> {
    let prefix = children_prefix(target_key);
    let latest = tx.range(ACTIVITIES, &prefix, &format!("{prefix}\u{10FFFF}"), 1, true)?;
    Ok(latest.first().is_some_and(|(_, a)| {
        a.description == activity.description
            && a.cause == activity.cause
            && a.not_scaled == activity.not_scaled
    }))
}

/// The decision's inputs for `policy` of `target` at a desired count of `current`.
fn situation(
    scaling: &AutoScaling,
    target: &TargetRecord,
    policy: &PolicyRecord,
    current: u32,
    invocation: &AlarmInvocation,
) -> Situation {
    let (min, max) = bounds_of(target);
    let seconds = |v: Option<i32>| f64::from(v.unwrap_or(DEFAULT_COOLDOWN_SECONDS).max(0));
    let (out_s, in_s, scale_in_disabled) = match &policy.config {
        PolicyConfig::TargetTracking(t) => (
            seconds(t.scale_out_cooldown),
            seconds(t.scale_in_cooldown),
            t.disable_scale_in.unwrap_or(false),
        ),
        PolicyConfig::Step(s) => (seconds(s.cooldown), seconds(s.cooldown), false),
    };
    let real = |s: f64| {
        if s <= 0.0 {
            0
        } else {
            scaling.time.real_millis(s)
        }
    };
    Situation {
        current,
        min,
        max,
        now: invocation.now,
        cooldown: target.cooldown,
        scale_out_cooldown_ms: real(out_s),
        scale_in_cooldown_ms: real(in_s),
        suspended: target.suspended,
        scale_in_disabled,
    }
}

/// The capacity `policy` asks for from a base capacity, for this invocation (`None`: no step
/// matches the breach).
fn capacity_rule<'a>(
    policy: &'a PolicyRecord,
    invocation: &'a AlarmInvocation,
) -> Option<Box<dyn Fn(u32) -> u32 + 'a>> {
    match &policy.config {
        PolicyConfig::TargetTracking(t) => match invocation.value {
            Some(value) => Some(Box::new(move |base| {
                scaling_math::tracking_capacity(base, value, t.target_value)
            })),
            None => {
                let low = policy
                    .alarms
                    .iter()
                    .any(|a| a.name == invocation.alarm_name && a.name.contains("-AlarmLow-"));
                Some(Box::new(move |base| {
                    if low {
                        base.saturating_sub(1)
                    } else {
                        base.saturating_add(1)
                    }
                }))
            }
        },
        PolicyConfig::Step(s) => {
            let step = match invocation.value {
                Some(value) => steps::select(&s.steps, value - invocation.threshold),
                None => steps::select(&s.steps, 0.0)
                    .or_else(|| s.steps.iter().find(|st| st.upper == Some(0.0))),
            }?;
            let adjustment = step.adjustment;
            Some(Box::new(move |base| {
                scaling_math::step_capacity(
                    base,
                    &s.adjustment_type,
                    adjustment,
                    s.min_adjustment_magnitude,
                )
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_arns_parse_back_to_their_target_and_name() {
        let arn = "arn:aws:autoscaling:us-west-2:012345678910:scalingPolicy:6d8972f3-efc8-437c-92d1-6270f29a66e7:resource/ecs/service/default/web-app:policyName/cpu75-target-tracking-scaling-policy";
        assert_eq!(
            parse_policy_arn(arn),
            Some(PolicyArn {
                region: "us-west-2".into(),
                account: "012345678910".into(),
                namespace: "ecs".into(),
                resource_id: "service/default/web-app".into(),
                name: "cpu75-target-tracking-scaling-policy".into(),
            })
        );
        let created_by = format!("{arn}:createdBy/7d1b6eec-6f00-4db9-bcec-9d160a413e87");
        assert_eq!(
            parse_policy_arn(&created_by).map(|p| p.name),
            Some("cpu75-target-tracking-scaling-policy".into())
        );
        assert_eq!(parse_policy_arn("arn:aws:sns:us-east-1:1:topic"), None);
    }
}
