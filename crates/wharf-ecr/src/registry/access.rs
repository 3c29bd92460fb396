//! Who may use the registry: every request carries an ECR token as HTTP Basic credentials
//! (checked by `auth`), and a request naming a repository needs a valid name of a repository
//! that exists in the token's account and region. Refusals are 401 with the Basic challenge
//! (DENIED for an expired token, as ECR answers) before anything else is looked at.

use super::errors::{store_error, RegistryError};
use super::responses::CHALLENGE;
use crate::auth::{AuthFailure, RegistryPrincipal};
use crate::records::RepoRef;
use crate::syntax::valid_repository_name;
use crate::Ecr;
use http::header;
use http::StatusCode;

/// ECR's message for an expired token (what Docker prints).
pub const EXPIRED_TOKEN_MESSAGE: &str =
    "Your authorization token has expired. Reauthenticate and try again.";

pub(super) fn auth_error(failure: AuthFailure) -> RegistryError {
    match failure {
        AuthFailure::Missing => RegistryError::unauthorized("authentication required"),
        AuthFailure::Invalid => RegistryError::unauthorized(
            "authentication required: the credentials are not a valid ECR authorization token (run aws ecr get-login-password and log in again)",
        ),
        AuthFailure::Expired => {
            RegistryError::new(StatusCode::UNAUTHORIZED, "DENIED", EXPIRED_TOKEN_MESSAGE)
                .header(header::WWW_AUTHENTICATE, CHALLENGE)
        }
    }
}

/// Checks the credentials and, for a repository route, the name and that the repository
/// exists (in the token's account and region).
pub(super) fn authorize(
    ecr: &Ecr,
    authorization: Option<&str>,
    name: Option<&str>,
) -> Result<(RegistryPrincipal, Option<RepoRef>), RegistryError> {
    let principal = ecr
        .authenticate_registry(authorization, ecr.clock.now())
        .map_err(auth_error)?;
    let Some(name) = name else {
        return Ok((principal, None));
    };
    if !valid_repository_name(name) {
        return Err(RegistryError::name_invalid(name));
    }
    let repo = RepoRef::new(&principal.account, &principal.region, name);
    if !ecr.repository_exists(&repo).map_err(store_error)? {
        return Err(RegistryError::name_unknown(&repo));
    }
    Ok((principal, Some(repo)))
}
