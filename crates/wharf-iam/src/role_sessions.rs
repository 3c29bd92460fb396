//! Role sessions: the temporary credentials a task with a `taskRoleArn` gets from its
//! credentials endpoint, and the lookup the API gateway does when a request is signed with them.
//!
//! As ECS does, a task's credentials are valid for 6 hours and rotated hourly: the endpoint
//! returns the current set until it is an hour old, then a new one (the previous set stays valid
//! until it expires, so a client that fetched it keeps working). Records are keyed by access key
//! id in `iam_role_sessions`; `iam_role_session_names` points from
//! `<account>/<role ARN>/<session name>` to the current key. Expired records are removed when a
//! new set is issued.

use crate::records::{session_name_key, SessionRecord, SESSIONS, SESSION_NAMES};
use crate::roles;
use std::sync::Arc;
use wharf_core::ids::UPPER_ALNUM;
use wharf_core::{Clock, IdGen, RoleCredentials, RoleSessions, Timestamp};
use wharf_store::{Store, StoreError, Tx};

/// How long a set of credentials is accepted.
pub const VALIDITY_MS: i64 = 6 * 3600 * 1000;
/// How old the current set may get before the endpoint hands out a new one.
pub const ROTATE_AFTER_MS: i64 = 3600 * 1000;
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A session the gateway accepts requests from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    pub secret_access_key: String,
    pub session_token: String,
    pub account: String,
    /// `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`
    pub principal_arn: String,
    /// `<role id>:<session name>`, as GetCallerIdentity reports it.
    pub user_id: String,
}

/// Issues and looks up role session credentials.
pub struct RoleSessionStore {
    store: Arc<Store>,
    ids: Arc<dyn IdGen>,
    clock: Arc<dyn Clock>,
}

impl RoleSessionStore {
    pub fn new(store: Arc<Store>, ids: Arc<dyn IdGen>, clock: Arc<dyn Clock>) -> Self {
        Self { store, ids, clock }
    }

    /// The session `access_key_id` belongs to, if it exists and has not expired.
    pub fn lookup(&self, access_key_id: &str) -> Result<Option<ActiveSession>, StoreError> {
        if !access_key_id.starts_with("ASIA") {
            return Ok(None);
        }
        let now = self.clock.now();
        let record: Option<SessionRecord> =
            self.store.read(|tx| tx.get(SESSIONS, access_key_id))?;
        Ok(record
            .filter(|r| r.expiration.millis > now.millis)
            .map(|r| ActiveSession {
                principal_arn: assumed_role_arn(&r.account, &r.role_arn, &r.session_name),
                user_id: format!("{}:{}", r.role_id, r.session_name),
                secret_access_key: r.secret_access_key,
                session_token: r.session_token,
                account: r.account,
            }))
    }

    fn issue(&self, role_id: String, account: &str, role_arn: &str, name: &str) -> SessionRecord {
        let now = self.clock.now();
        let token_bytes: String = self.ids.chars(356, SECRET_ALPHABET);
        SessionRecord {
            access_key_id: format!("ASIA{}", self.ids.chars(16, UPPER_ALNUM)),
            secret_access_key: self.ids.chars(40, SECRET_ALPHABET),
            session_token: format!("IQoJb3JpZ2luX2VjE{token_bytes}"),
            account: account.to_string(),
            role_arn: role_arn.to_string(),
            role_id,
            session_name: name.to_string(),
            issued: now,
            expiration: Timestamp::from_millis(now.millis + VALIDITY_MS),
        }
    }
}

/// `arn:aws:sts::<account>:assumed-role/<role name>/<session>` (the role's path is dropped).
fn assumed_role_arn(account: &str, role_arn: &str, session: &str) -> String {
    let role_name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}")
}

fn remove_expired(tx: &Tx<'_>, now: Timestamp) -> Result<(), StoreError> {
    let all: Vec<(String, SessionRecord)> = tx.list(SESSIONS, "")?;
    for (key, record) in all {
        if record.expiration.millis <= now.millis {
            tx.delete(SESSIONS, &key)?;
        }
    }
    Ok(())
}

impl RoleSessions for RoleSessionStore {
    fn credentials_for(
        &self,
        account: &str,
        role_arn: &str,
        session_name: &str,
    ) -> Result<RoleCredentials, String> {
        let store_error = |e: StoreError| format!("wharf's state store failed: {e}");
        let role_id = roles::role_id(&self.store, account, role_arn)
            .map_err(store_error)?
            .ok_or_else(|| {
                format!("Role {role_arn} does not exist: it cannot be assumed (create it with aws iam create-role)")
            })?;
        let name_key = session_name_key(account, role_arn, session_name);
        let now = self.clock.now();
        let record = self
            .store
            .write(|tx| {
                let current: Option<String> = tx.get(SESSION_NAMES, &name_key)?;
                if let Some(key) = current {
                    if let Some(r) = tx.get(SESSIONS, &key)? {
                        if now.millis - r.issued.millis < ROTATE_AFTER_MS
                            && r.expiration.millis > now.millis
                        {
                            return Ok(r);
                        }
                    }
                }
                remove_expired(tx, now)?;
                let fresh = self.issue(role_id.clone(), account, role_arn, session_name);
                tx.put(SESSIONS, &fresh.access_key_id, &fresh)?;
                tx.put(SESSION_NAMES, &name_key, &fresh.access_key_id)?;
                Ok(fresh)
            })
            .map_err(store_error)?;
        Ok(RoleCredentials {
            role_arn: record.role_arn,
            access_key_id: record.access_key_id,
            secret_access_key: record.secret_access_key,
            session_token: record.session_token,
            expiration: record.expiration,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam_generated::{CreateRoleRequest, IamApi};
    use crate::Iam;
    use wharf_core::ids::RandomIds;
    use wharf_core::{FakeClock, RequestContext};

    const ACCOUNT: &str = "123456789012";
    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn setup() -> (RoleSessionStore, Arc<FakeClock>, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("db")).expect("store"));
        std::mem::forget(dir);
        let clock = Arc::new(FakeClock::new(Timestamp::from_millis(1_700_000_000_000)));
        let ids: Arc<dyn IdGen> = Arc::new(RandomIds);
        let iam = Iam::new(store.clone(), ids.clone());
        let ctx = RequestContext::for_tests("us-east-1", ACCOUNT, clock.now());
        let role = iam
            .create_role(
                &ctx,
                CreateRoleRequest {
                    role_name: "app-task-role".into(),
                    assume_role_policy_document: TRUST.into(),
                    ..Default::default()
                },
            )
            .expect("role")
            .role
            .arn;
        (
            RoleSessionStore::new(store, ids, clock.clone()),
            clock,
            role,
        )
    }

    #[test]
    fn credentials_rotate_hourly_and_expire_after_six_hours() {
        let (sessions, clock, role) = setup();
        let first = sessions
            .credentials_for(ACCOUNT, &role, "task-1")
            .expect("issued");
        assert!(first.access_key_id.starts_with("ASIA") && first.access_key_id.len() == 20);
        assert_eq!(first.secret_access_key.len(), 40);
        assert_eq!(first.expiration.millis, clock.now().millis + VALIDITY_MS);
        // Within the hour: the same set.
        clock.advance(ROTATE_AFTER_MS - 1);
        let again = sessions
            .credentials_for(ACCOUNT, &role, "task-1")
            .expect("reused");
        assert_eq!(again, first);
        // After an hour: a new set; the old one is still accepted.
        clock.advance(1);
        let rotated = sessions
            .credentials_for(ACCOUNT, &role, "task-1")
            .expect("rotated");
        assert_ne!(rotated.access_key_id, first.access_key_id);
        let old = sessions
            .lookup(&first.access_key_id)
            .unwrap()
            .expect("still valid");
        assert_eq!(old.session_token, first.session_token);
        assert_eq!(
            old.principal_arn,
            format!("arn:aws:sts::{ACCOUNT}:assumed-role/app-task-role/task-1")
        );
        assert!(old.user_id.starts_with("AROA") && old.user_id.ends_with(":task-1"));
        // Six hours after issue: the first set is refused.
        clock.advance(VALIDITY_MS - ROTATE_AFTER_MS);
        assert!(sessions.lookup(&first.access_key_id).unwrap().is_none());
        assert!(sessions.lookup(&rotated.access_key_id).unwrap().is_some());
        // Other sessions get their own keys; unknown keys are nobody.
        let other = sessions
            .credentials_for(ACCOUNT, &role, "task-2")
            .expect("issued");
        assert_ne!(other.access_key_id, rotated.access_key_id);
        assert!(sessions.lookup("ASIANOTAKEY00000000").unwrap().is_none());
        assert!(sessions.lookup("AKIAROOTKEY").unwrap().is_none());
    }

    #[test]
    fn a_missing_role_cannot_be_assumed() {
        let (sessions, _, _) = setup();
        let err = sessions
            .credentials_for(ACCOUNT, &format!("arn:aws:iam::{ACCOUNT}:role/nope"), "t")
            .unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        let err = sessions
            .credentials_for(
                "999999999999",
                &format!("arn:aws:iam::{ACCOUNT}:role/app-task-role"),
                "t",
            )
            .unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
    }
}
