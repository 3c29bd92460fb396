//! GetAuthorizationToken in the ECR API: a registry token for the caller's account and region
//! (issued and checked by `auth`) and the endpoint Docker logs in to.

use crate::generated::*;
use crate::Ecr;
use wharf_core::RequestContext;

pub(crate) fn get_authorization_token(
    ecr: &Ecr,
    ctx: &RequestContext,
    _input: GetAuthorizationTokenRequest,
) -> Result<GetAuthorizationTokenResponse, Error> {
    let t = ecr.issue_token(&ctx.account_id, &ctx.region, ctx.now)?;
    Ok(GetAuthorizationTokenResponse {
        authorization_data: Some(vec![AuthorizationData {
            authorization_token: Some(t.token),
            expires_at: Some(t.expires_at),
            proxy_endpoint: Some(format!("http://{}", ecr.config.registry_host)),
        }]),
    })
}
