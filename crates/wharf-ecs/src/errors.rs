//! ECS's answer to malformed input ([`invalid`]), and how failures underneath ECS reach the
//! caller: a store failure is logged in full and answered with AWS's generic `ServerException`,
//! never with its details.

use crate::generated::Error;
use wharf_store::StoreError;

/// An `InvalidParameterException` with `message`: what ECS answers malformed input with.
pub fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameterException(message.into())
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "ecs state store failure");
        Error::ServerException(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}
