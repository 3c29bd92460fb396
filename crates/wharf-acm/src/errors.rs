//! Failures underneath ACM as it answers them: the store and the local certificate authority
//! fail as `InternalFailure`, logged.

use crate::ca::CaError;
use crate::generated::Error;
use wharf_store::StoreError;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "acm state store failure");
        Error::InternalFailure(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}

impl From<CaError> for Error {
    fn from(e: CaError) -> Self {
        tracing::error!(error = %e, "acm certificate authority failure");
        Error::InternalFailure(format!("wharf's local certificate authority failed: {e}"))
    }
}
