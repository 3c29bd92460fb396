//! Registry authorization as ECR does it: `GetAuthorizationToken` hands out a base64
//! `AWS:<password>` token valid for 12 hours, and every `/v2/` request carries it back as HTTP
//! Basic credentials (`docker login --username AWS`, skopeo `--creds AWS:...`).
//!
//! Tokens are kept in the store table `ecr.token`, keyed by the SHA-256 of the password (the
//! password itself is never stored or logged), with the account and region they act in and
//! their expiry, so they survive restarts. Expired tokens are refused as `Expired` (Docker then
//! says "Your authorization token has expired") until [`Ecr::purge_expired_tokens`] drops them
//! a grace period later.

use crate::records::{token_key, StoredToken, TOKENS};
use crate::Ecr;
use base64::Engine;
use wharf_core::Timestamp;
use wharf_store::StoreError;

/// How long a token is valid: ECR's 12 hours.
pub const TOKEN_LIFETIME_MS: i64 = 12 * 60 * 60 * 1000;
/// How long an expired token is remembered (and answered with "expired" rather than
/// "invalid") before it is purged.
pub const EXPIRED_TOKEN_GRACE_MS: i64 = 12 * 60 * 60 * 1000;
/// Password length: 64 alphanumerics is about 380 random bits, and has no `:` (the AWS CLI
/// splits the decoded token on `:` into exactly two parts).
const PASSWORD_LEN: usize = 64;
const PASSWORD_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// The only user name ECR tokens carry.
pub const TOKEN_USER: &str = "AWS";

/// Who a valid registry token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryPrincipal {
    /// The account whose registry the token opens.
    pub account: String,
    /// The region the token was issued in (repositories are per region).
    pub region: String,
}

/// Why a registry request's credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header (registry: 401 UNAUTHORIZED with the Basic challenge).
    Missing,
    /// Not `Basic` credentials for user `AWS` with a token this registry issued (401
    /// UNAUTHORIZED). Also answered when the store cannot be read; the cause is logged.
    Invalid,
    /// A token this registry issued, past its 12 hours (401 DENIED "Your authorization token
    /// has expired. Reauthenticate and try again.").
    Expired,
}

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// `base64("AWS:" + password)`, GetAuthorizationToken's `authorizationToken`.
    pub token: String,
    /// The password alone (what `docker login --password-stdin` reads).
    pub password: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// The password in an `Authorization: Basic base64(AWS:password)` header.
fn basic_password(header: &str) -> Option<String> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let rest = rest.trim();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(rest))
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    (user == TOKEN_USER && !password.is_empty()).then(|| password.to_string())
}

impl Ecr {
    /// Issues a registry token for `account` in `region`, valid 12 hours from `now`
    /// (GetAuthorizationToken; also what the container runtime uses to pull).
    pub fn issue_token(
        &self,
        account: &str,
        region: &str,
        now: Timestamp,
    ) -> Result<IssuedToken, StoreError> {
        let password = self.ids.chars(PASSWORD_LEN, PASSWORD_ALPHABET);
        let expires_at = now.plus_millis(TOKEN_LIFETIME_MS);
        let record = StoredToken {
            account: account.to_string(),
            region: region.to_string(),
            issued_at: now,
            expires_at,
        };
        self.store
            .write(|tx| tx.put(TOKENS, &token_key(&password), &record))?;
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{TOKEN_USER}:{password}"));
        Ok(IssuedToken {
            token,
            password,
            expires_at,
        })
    }

    /// Checks a registry request's `Authorization` header: `Basic base64(AWS:<password>)` with a
    /// password this registry issued and that has not expired at `now`.
    pub fn authenticate_registry(
        &self,
        authorization: Option<&str>,
        now: Timestamp,
    ) -> Result<RegistryPrincipal, AuthFailure> {
        let header = authorization.ok_or(AuthFailure::Missing)?;
        let password = basic_password(header).ok_or(AuthFailure::Invalid)?;
        let key = token_key(&password);
        let record = self
            .store
            .read(|tx| tx.get::<StoredToken>(TOKENS, &key))
            .map_err(|e| {
                tracing::error!(error = %e, "cannot read registry tokens; refusing the request");
                AuthFailure::Invalid
            })?
            .ok_or(AuthFailure::Invalid)?;
        if now >= record.expires_at {
            return Err(AuthFailure::Expired);
        }
        Ok(RegistryPrincipal {
            account: record.account,
            region: record.region,
        })
    }

    /// Drops tokens that expired more than [`EXPIRED_TOKEN_GRACE_MS`] before `now`; returns
    /// how many. The lifecycle loop calls it on every step.
    pub fn purge_expired_tokens(&self, now: Timestamp) -> Result<usize, StoreError> {
        let cutoff = now.plus_millis(-EXPIRED_TOKEN_GRACE_MS);
        self.store.write(|tx| {
            let mut purged = 0;
            for (key, token) in tx.list::<StoredToken>(TOKENS, "")? {
                if token.expires_at <= cutoff {
                    tx.delete(TOKENS, &key)?;
                    purged += 1;
                }
            }
            Ok(purged)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing::{ctx, ecr};
    use crate::generated::{EcrApi, GetAuthorizationTokenRequest};

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[test]
    fn get_authorization_token_works_for_docker_login() {
        let (_d, ecr) = ecr();
        let out = ecr
            .get_authorization_token(&ctx(), GetAuthorizationTokenRequest::default())
            .unwrap();
        let data = &out.authorization_data.unwrap()[0];
        assert_eq!(
            data.expires_at,
            Some(ctx().now.plus_millis(TOKEN_LIFETIME_MS))
        );
        assert_eq!(
            data.proxy_endpoint.as_deref(),
            Some("http://127.0.0.1:4566")
        );
        let token = data.authorization_token.clone().unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&token)
            .unwrap();
        let decoded = String::from_utf8(decoded).unwrap();
        // What `aws ecr get-login-password` does: split on ':' into exactly two parts.
        let parts: Vec<&str> = decoded.split(':').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], "AWS");
        assert!(parts[1].len() >= 32 && parts[1].chars().all(|c| c.is_ascii_alphanumeric()));
        let header = format!("Basic {token}");
        let p = ecr
            .authenticate_registry(Some(&header), ctx().now.plus_millis(1))
            .unwrap();
        assert_eq!(
            p,
            RegistryPrincipal {
                account: "123456789012".into(),
                region: "us-east-1".into()
            }
        );
    }

    #[test]
    fn bad_missing_and_expired_credentials_are_refused() {
        let (_d, ecr) = ecr();
        let now = Timestamp::from_millis(1_000_000);
        let t = ecr.issue_token("123456789012", "eu-west-1", now).unwrap();
        let ok = basic("AWS", &t.password);
        assert!(ecr.authenticate_registry(Some(&ok), now).is_ok());
        assert_eq!(
            ecr.authenticate_registry(None, now),
            Err(AuthFailure::Missing)
        );
        for bad in [
            basic("admin", &t.password),
            basic("AWS", "not-a-token"),
            basic("AWS", ""),
            "Bearer abc".to_string(),
            "Basic %%%".to_string(),
            "Basic".to_string(),
        ] {
            assert_eq!(
                ecr.authenticate_registry(Some(&bad), now),
                Err(AuthFailure::Invalid),
                "{bad}"
            );
        }
        // Scheme is case-insensitive.
        let lower = ok.replacen("Basic", "basic", 1);
        assert!(ecr.authenticate_registry(Some(&lower), now).is_ok());
        let later = now.plus_millis(TOKEN_LIFETIME_MS);
        assert_eq!(
            ecr.authenticate_registry(Some(&ok), later),
            Err(AuthFailure::Expired)
        );
        // Kept through the grace period, then purged: afterwards it is merely invalid.
        assert_eq!(ecr.purge_expired_tokens(later).unwrap(), 0);
        let purge_at = later.plus_millis(EXPIRED_TOKEN_GRACE_MS);
        assert_eq!(ecr.purge_expired_tokens(purge_at).unwrap(), 1);
        assert_eq!(
            ecr.authenticate_registry(Some(&ok), purge_at),
            Err(AuthFailure::Invalid)
        );
    }

    #[test]
    fn tokens_survive_a_restart_and_passwords_are_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let now = Timestamp::from_millis(5_000);
        let t = {
            let ecr = crate::api::testing::ecr_in(dir.path());
            ecr.issue_token("123456789012", "us-east-1", now).unwrap()
        };
        let ecr = crate::api::testing::ecr_in(dir.path());
        let header = basic("AWS", &t.password);
        assert!(ecr.authenticate_registry(Some(&header), now).is_ok());
        let rows = ecr.store.read(|tx| tx.list(TOKENS, "")).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(!rows[0].0.contains(&t.password));
        assert!(!serde_json::to_string(&rows[0].1)
            .unwrap()
            .contains(&t.password));
    }
}
