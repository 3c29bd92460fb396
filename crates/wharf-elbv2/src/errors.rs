//! The errors every resource module answers with: `ValidationError` for malformed input, the
//! `*NotFound` errors of each resource, and store and network failures as `InternalFailure`
//! (logged, never shown in detail to the caller).

use crate::generated::Error;
use wharf_store::StoreError;

/// A `ValidationError` with `message`.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::ValidationError(message.into())
}

/// A failed subnet / VPC / security group lookup through EC2.
pub(crate) fn network_error(e: String) -> Error {
    tracing::error!(error = %e, "network lookup failed");
    Error::InternalFailure(format!("wharf could not look up the network: {e}"))
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "elbv2 state store failure");
        Error::InternalFailure(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}

/// `LoadBalancerNotFound` for `arn`.
pub(crate) fn lb_not_found(arn: &str) -> Error {
    Error::LoadBalancerNotFoundException(format!("Load balancer '{arn}' not found"))
}

/// `TargetGroupNotFound` for `arn`.
pub(crate) fn tg_not_found(arn: &str) -> Error {
    Error::TargetGroupNotFoundException(format!("Target group '{arn}' not found"))
}

/// `ListenerNotFound` for `arn`.
pub(crate) fn listener_not_found(arn: &str) -> Error {
    Error::ListenerNotFoundException(format!("Listener '{arn}' not found"))
}

/// `RuleNotFound` for `arn`.
pub(crate) fn rule_not_found(arn: &str) -> Error {
    Error::RuleNotFoundException(format!("Rule '{arn}' not found"))
}
