//! Running an alarm's actions: each ARN of the list of the state the alarm is in goes to the
//! registered [`wharf_core::AlarmActionHandler`] that handles it (Application Auto Scaling's
//! policies). wharf has no SNS, EC2 or Systems Manager actions: those are kept and listed, and
//! their runs are recorded as not delivered. Every run is an Action history item; a failure is
//! recorded, never raised.

use super::history::{self, ActionResult};
use crate::records::AlarmRecord;
use crate::CloudWatch;
use wharf_core::{AlarmActionHandler, AlarmInvocation, Timestamp};

/// Whether `arn` is an Auto Scaling action (a scaling policy): AWS runs those again every
/// period while the alarm stays in ALARM; other actions run only on a state change.
pub fn is_auto_scaling(arn: &str) -> bool {
    arn.starts_with("arn:aws:autoscaling:") || arn.starts_with("arn:aws:application-autoscaling:")
}

/// The actions of the state `alarm` is in.
pub fn of_state(alarm: &AlarmRecord) -> &[String] {
    match alarm.state_value.as_str() {
        "ALARM" => &alarm.alarm_actions,
        "OK" => &alarm.ok_actions,
        _ => &alarm.insufficient_data_actions,
    }
}

/// Runs the actions of `alarm`'s state (only the Auto Scaling ones when `auto_scaling_only`)
/// if its actions are enabled, and records each run. Returns how many ran.
pub fn run(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    alarm: &AlarmRecord,
    value: Option<f64>,
    now: Timestamp,
    auto_scaling_only: bool,
) -> usize {
    if !alarm.actions_enabled {
        return 0;
    }
    let arns: Vec<&String> = of_state(alarm)
        .iter()
        .filter(|a| !auto_scaling_only || is_auto_scaling(a))
        .collect();
    if arns.is_empty() {
        return 0;
    }
    let handlers: Vec<std::sync::Arc<dyn AlarmActionHandler>> = cw
        .action_handlers
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let invocation = AlarmInvocation {
        account: account.to_string(),
        region: region.to_string(),
        alarm_name: alarm.name.clone(),
        alarm_arn: alarm.arn.clone(),
        state: alarm.state_value.clone(),
        threshold: alarm.threshold,
        value: value.or(alarm.last_value),
        now,
    };
    let results: Vec<(&String, ActionResult)> = arns
        .iter()
        .map(|arn| {
            let result = match handlers.iter().find(|h| h.handles(arn)) {
                Some(h) => match h.invoke(arn, &invocation) {
                    Ok(()) => ActionResult::Succeeded,
                    Err(e) => ActionResult::Failed(e),
                },
                None if is_auto_scaling(arn) => {
                    ActionResult::Failed(format!("no scaling policy {arn} exists in this wharf"))
                }
                None => ActionResult::NotDelivered,
            };
            (*arn, result)
        })
        .collect();
    let written = cw.store.write(|tx| {
        for (arn, result) in &results {
            history::record(
                tx,
                cw.ids.as_ref(),
                account,
                region,
                &alarm.name,
                now,
                history::action(arn, alarm.state_updated, result),
            )?;
        }
        Ok::<(), wharf_store::StoreError>(())
    });
    if let Err(e) = written {
        tracing::warn!(alarm = %alarm.name, error = %e, "cannot record the alarm's action history");
    }
    results.len()
}
