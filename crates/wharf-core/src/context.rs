//! What a service operation knows about the request that called it.

use crate::Timestamp;

/// The caller and the place of one API request, filled in by the API gateway from the verified
/// signature.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The region from the SigV4 credential scope (`--region`).
    pub region: String,
    /// The account the caller acts in.
    pub account_id: String,
    /// The caller's principal ARN (root user or an assumed role).
    pub principal_arn: String,
    /// The caller's unique id as STS GetCallerIdentity reports it.
    pub user_id: String,
    /// The access key id the request was signed with.
    pub access_key_id: String,
    /// The request id echoed in the answer.
    pub request_id: String,
    /// When the request arrived, from the injected clock.
    pub now: Timestamp,
}

impl RequestContext {
    /// A context for tests and internal calls.
    pub fn for_tests(region: &str, account_id: &str, now: Timestamp) -> Self {
        Self {
            region: region.into(),
            account_id: account_id.into(),
            principal_arn: format!("arn:aws:iam::{account_id}:root"),
            user_id: account_id.into(),
            access_key_id: "AKIDTEST".into(),
            request_id: "00000000-0000-4000-8000-000000000000".into(),
            now,
        }
    }
}
