//! CloudWatch metric alarms, behind the operations of `alarms_api`:
//! - `evaluation`: AWS's evaluation, pure (M out of N, missing data, state reasons);
//! - `config`: PutMetricAlarm's validation, turning its input (or a managed alarm) into a record;
//! - `wire`: records as DescribeAlarms shows them, and filters on them;
//! - `history`: the history items (ConfigurationUpdate / StateUpdate / Action) and their query;
//! - `state`: state changes, shared by SetAlarmState and the evaluation loop;
//! - `actions`: invoking an alarm's actions through the registered handlers;
//! - `runner`: the loop evaluating every alarm once per (scaled) minute.

pub mod actions;
pub mod config;
pub mod evaluation;
pub mod history;
pub mod runner;
pub mod state;
pub mod wire;

#[cfg(test)]
mod tests;

use crate::generated::Error;
use crate::records::{alarm_key, AlarmRecord, ALARMS};
use wharf_store::{StoreError, Tx};

/// A failure inside a store transaction: the store's own, or the API error to answer.
#[derive(Debug)]
pub enum Refused {
    /// The store failed.
    Store(StoreError),
    /// The request is refused with this error (nothing written).
    Api(Error),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Store(e)
    }
}

impl From<Error> for Refused {
    fn from(e: Error) -> Self {
        Refused::Api(e)
    }
}

impl From<Refused> for Error {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Store(e) => store_failure(e),
            Refused::Api(e) => e,
        }
    }
}

/// A store failure as the client sees it (logged; details stay in the server log).
pub(crate) fn store_failure(e: StoreError) -> Error {
    tracing::error!(error = %e, "cloudwatch alarms: state store failure");
    Error::InternalServiceFault(
        "wharf could not read or write its state store; see the server log".into(),
    )
}

/// The alarm `name` of `account` / `region`, if it exists.
pub(crate) fn find(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Option<AlarmRecord>, StoreError> {
    tx.get(ALARMS, &alarm_key(account, region, name))
}

/// The alarm ARN of `name`.
pub(crate) fn alarm_arn(account: &str, region: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}")
}
