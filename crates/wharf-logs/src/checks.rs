//! What every operation module shares: the errors CloudWatch Logs answers malformed input
//! with (`InvalidParameterException` in AWS's validation wording), page limits, and store
//! failures as `ServiceUnavailableException` (logged, never shown in detail).

use crate::generated::Error;
use wharf_store::StoreError;

/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "logs state store failure");
        Error::ServiceUnavailableException(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}

/// An `InvalidParameterException` with `message`.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameterException(message.into())
}

/// AWS's validation wording for a field that is out of its bounds.
pub(crate) fn invalid_field(value: impl std::fmt::Display, field: &str, constraint: &str) -> Error {
    invalid(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

/// `limit` within `1..=max` (`default` when absent).
pub(crate) fn page_limit(limit: Option<i32>, max: i32, default: usize) -> Result<usize, Error> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(usize::try_from(n).unwrap_or(default)),
        Some(n) => Err(invalid_field(
            n,
            "limit",
            &format!("Member must have value between 1 and {max}"),
        )),
    }
}
