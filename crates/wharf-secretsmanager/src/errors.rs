//! Store failures as Secrets Manager answers them: `InternalServiceError`, logged, never shown
//! in detail to the caller.

use crate::generated::Error;
use wharf_store::StoreError;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "secrets manager state store failure");
        Error::InternalServiceError(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}
