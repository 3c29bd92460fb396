//! STS `GetCallerIdentity`: who the verified signature says the caller is. The gateway has
//! already resolved the access key to an account and principal, so this only reports them.

use crate::sts_generated::{Error, GetCallerIdentityRequest, GetCallerIdentityResponse, StsApi};
use wharf_core::RequestContext;

/// The STS service.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sts;

impl Sts {
    /// STS; it keeps no state of its own.
    pub fn new() -> Self {
        Self
    }
}

impl StsApi for Sts {
    fn get_caller_identity(
        &self,
        ctx: &RequestContext,
        _input: GetCallerIdentityRequest,
    ) -> Result<GetCallerIdentityResponse, Error> {
        Ok(GetCallerIdentityResponse {
            user_id: Some(ctx.user_id.clone()),
            account: Some(ctx.account_id.clone()),
            arn: Some(ctx.principal_arn.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_core::Timestamp;

    #[test]
    fn reports_the_caller_from_the_context() {
        let ctx = RequestContext::for_tests("us-east-1", "123456789012", Timestamp::from_millis(0));
        let who = Sts::new()
            .get_caller_identity(&ctx, GetCallerIdentityRequest::default())
            .unwrap();
        assert_eq!(who.account.as_deref(), Some("123456789012"));
        assert_eq!(who.arn.as_deref(), Some("arn:aws:iam::123456789012:root"));
        assert_eq!(who.user_id.as_deref(), Some("123456789012"));
    }
}
