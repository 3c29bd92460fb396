//! Failures underneath Application Auto Scaling as it answers them: the store fails as
//! `InternalServiceException`, logged; a neighbour behind a boundary (ECS, CloudWatch) fails as
//! the error it gave, logged.

use crate::generated::Error;
use wharf_core::ServiceError;
use wharf_store::StoreError;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "application auto scaling state store failure");
        Error::InternalServiceException(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}

/// A failure of ECS or CloudWatch while Application Auto Scaling called it.
pub fn from_neighbour(what: &str, e: ServiceError) -> Error {
    tracing::warn!(error = %e, "{what} failed");
    Error::InternalServiceException(format!("{what} failed: {}", e.message))
}
