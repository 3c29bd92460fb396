//! Store failures as Parameter Store answers them: `InternalServerError`, logged, never shown
//! in detail to the caller.

use crate::generated::Error;
use wharf_store::StoreError;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "ssm state store failure");
        Error::InternalServerError(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}
