//! An alarm's state changes, written in one transaction with their StateUpdate history item:
//! SetAlarmState and the evaluation loop both go through [`set`].

use super::{find, history, Refused};
use crate::records::{alarm_key, AlarmRecord, ALARMS};
use crate::CloudWatch;
use wharf_core::Timestamp;

/// The state an alarm is set to.
#[derive(Debug, Clone, PartialEq)]
pub struct NewState {
    /// `StateValue`.
    pub value: String,
    /// `StateReason`.
    pub reason: String,
    /// `StateReasonData` (JSON text).
    pub reason_data: Option<String>,
    /// The newest evaluated value, when an evaluation set it.
    pub newest_value: Option<f64>,
}

/// What [`set`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The alarm after the change.
    pub alarm: AlarmRecord,
    /// Whether the state value changed (actions run only then).
    pub transitioned: bool,
}

/// Sets alarm `name` to `new` at `now`. `None` when the alarm does not exist, or (with
/// `configured_at`) when its configuration changed since it was read: the evaluation of an
/// older configuration is dropped.
pub fn set(
    cw: &CloudWatch,
    account: &str,
    region: &str,
    name: &str,
    new: NewState,
    now: Timestamp,
    configured_at: Option<Timestamp>,
) -> Result<Option<Applied>, Refused> {
    cw.store.write(|tx| {
        let Some(before) = find(tx, account, region, name)? else {
            return Ok(None);
        };
        if configured_at.is_some_and(|at| at != before.configuration_updated) {
            return Ok(None);
        }
        let transitioned = before.state_value != new.value;
        let mut after = before.clone();
        after.state_value = new.value;
        after.state_reason = new.reason;
        after.state_reason_data = new.reason_data;
        after.state_updated = now;
        if transitioned {
            after.state_transitioned = now;
        }
        if new.newest_value.is_some() {
            after.last_value = new.newest_value;
        }
        tx.put(ALARMS, &alarm_key(account, region, name), &after)?;
        history::record(
            tx,
            cw.ids.as_ref(),
            account,
            region,
            name,
            now,
            history::state_update(&before, &after),
        )?;
        Ok(Some(Applied {
            alarm: after,
            transitioned,
        }))
    })
}
