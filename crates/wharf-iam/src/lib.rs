//! IAM and STS: roles with their attached managed policies, and the caller's identity.
//!
//! wharf does not evaluate IAM policies; it keeps roles so that tools which create them (and
//! services that are handed a role ARN, such as an ECS task's execution role) see AWS's answers
//! and errors. `iam_generated` and `sts_generated` are generated from botocore; `roles` and `sts`
//! implement their traits.

pub mod iam_generated;
pub mod managed_policies;
pub mod policy_document;
pub mod records;
pub mod role_sessions;
pub mod roles;
pub mod sts;
pub mod sts_generated;

pub use role_sessions::{ActiveSession, RoleSessionStore};
pub use roles::Iam;
pub use sts::Sts;

use wharf_store::StoreError;

impl From<StoreError> for iam_generated::Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "iam state store failure");
        iam_generated::Error::ServiceFailureException(
            "An internal error occurred in the state store; the request can be retried.".into(),
        )
    }
}

impl From<StoreError> for sts_generated::Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "sts state store failure");
        sts_generated::Error::InternalFailure(
            "An internal error occurred in the state store; the request can be retried.".into(),
        )
    }
}
