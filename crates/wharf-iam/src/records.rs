//! What IAM keeps in the store, and how a stored role becomes the `Role` IAM answers with.
//!
//! Three tables, all format 1 (the shapes written before the store was versioned):
//! - `iam_roles`: one [`RoleRecord`] per role, keyed `<account>/<lower-case role name>` (IAM is
//!   global, so no region; names are unique per account regardless of case). The attached
//!   managed policy ARNs live inside the record, so attach, detach and "detach before delete"
//!   are single-record updates;
//! - `iam_role_sessions`: one [`SessionRecord`] per set of role credentials, keyed by access
//!   key id;
//! - `iam_role_session_names`: `<account>/<role ARN>/<session name>` -> the access key id of
//!   that session's current credentials.
//!
//! The records are owned types, never the generated wire types: regenerating `iam_generated`
//! cannot change what is on disk.

use crate::iam_generated::{AttachedPermissionsBoundary, Role, RoleLastUsed, Tag};
use crate::policy_document;
use serde::{Deserialize, Serialize};
use wharf_core::Timestamp;
use wharf_store::{Table, TableFormat};

/// Roles, keyed by [`role_key`].
pub const ROLES: Table<RoleRecord> = Table::new("iam_roles", 1);
/// Role session credentials, keyed by access key id.
pub const SESSIONS: Table<SessionRecord> = Table::new("iam_role_sessions", 1);
/// The current access key id of each session, keyed by [`session_name_key`].
pub const SESSION_NAMES: Table<String> = Table::new("iam_role_session_names", 1);

/// Every table of IAM, with the format this wharf writes (checked by the server at start).
pub const TABLES: &[TableFormat] = &[ROLES.format(), SESSIONS.format(), SESSION_NAMES.format()];

/// The key of role `name` of `account`: the name lower-cased, as role names are unique
/// regardless of case.
pub fn role_key(account: &str, name: &str) -> String {
    format!("{account}/{}", name.to_lowercase())
}

/// The key of the session `session_name` of `role_arn` in `account`.
pub fn session_name_key(account: &str, role_arn: &str, session_name: &str) -> String {
    format!("{account}/{role_arn}/{session_name}")
}

/// A role as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleRecord {
    /// `RoleName` as the caller wrote it.
    pub name: String,
    /// `Path`, `/` or `/a/b/`.
    pub path: String,
    /// `AROA` + 17 characters: the unique id AWS reports as `RoleId`.
    pub id: String,
    /// `Arn`.
    pub arn: String,
    /// `CreateDate`.
    pub created: Timestamp,
    /// The trust policy exactly as the caller sent it (JSON text, not encoded).
    pub assume_role_policy: String,
    /// `Description` (never empty).
    pub description: Option<String>,
    /// `MaxSessionDuration`, in seconds.
    pub max_session_duration: i32,
    /// ARN of the permissions boundary policy.
    pub permissions_boundary: Option<String>,
    /// Tags, in the order given.
    pub tags: Vec<RoleTag>,
    /// ARNs of the attached managed policies, in attach order.
    pub attached_policies: Vec<String>,
}

/// A role's tag as stored: `{"Key": .., "Value": ..}`, the JSON the wire `Tag` was stored as
/// before records were owned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoleTag {
    /// The tag key.
    #[serde(rename = "Key")]
    pub key: String,
    /// The tag value.
    #[serde(rename = "Value")]
    pub value: String,
}

impl From<Tag> for RoleTag {
    fn from(tag: Tag) -> Self {
        Self {
            key: tag.key,
            value: tag.value,
        }
    }
}

impl From<&RoleTag> for Tag {
    fn from(tag: &RoleTag) -> Self {
        Self {
            key: tag.key.clone(),
            value: tag.value.clone(),
        }
    }
}

impl RoleRecord {
    /// The role as `CreateRole` answers: no session limit, no last-used block.
    pub fn to_created(&self) -> Role {
        Role {
            path: self.path.clone(),
            role_name: self.name.clone(),
            role_id: self.id.clone(),
            arn: self.arn.clone(),
            create_date: self.created,
            assume_role_policy_document: Some(policy_document::encode(&self.assume_role_policy)),
            description: self.description.clone(),
            permissions_boundary: self.boundary(),
            tags: (!self.tags.is_empty()).then(|| self.tags.iter().map(Tag::from).collect()),
            ..Role::default()
        }
    }

    /// The role as `GetRole` answers: everything.
    pub fn to_full(&self) -> Role {
        Role {
            max_session_duration: Some(self.max_session_duration),
            role_last_used: Some(RoleLastUsed::default()),
            ..self.to_created()
        }
    }

    /// The role as `ListRoles` answers: no tags, boundary or last-used information.
    pub fn to_listed(&self) -> Role {
        Role {
            max_session_duration: Some(self.max_session_duration),
            permissions_boundary: None,
            tags: None,
            ..self.to_created()
        }
    }

    fn boundary(&self) -> Option<AttachedPermissionsBoundary> {
        self.permissions_boundary
            .as_ref()
            .map(|arn| AttachedPermissionsBoundary {
                permissions_boundary_type: Some("PermissionsBoundaryPolicy".into()),
                permissions_boundary_arn: Some(arn.clone()),
            })
    }
}

/// One set of role credentials as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// `ASIA` + 16 characters; the record's key.
    pub access_key_id: String,
    /// The secret key (40 characters).
    pub secret_access_key: String,
    /// The session token the client sends as `X-Amz-Security-Token`.
    pub session_token: String,
    /// The account of the role.
    pub account: String,
    /// The role the credentials are for.
    pub role_arn: String,
    /// `AROA...` of the role.
    pub role_id: String,
    /// The session's name (e.g. the ECS task id).
    pub session_name: String,
    /// When the set was issued (a new set is handed out an hour later).
    pub issued: Timestamp,
    /// When the set stops being accepted.
    pub expiration: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records read and written by this wharf have exactly the JSON of the records written
    /// before they were owned types (taken from tests/e2e/fixtures/datadir-v1).
    #[test]
    fn format_1_json_round_trips_unchanged() {
        let role = r#"{"name":"fixtureTaskRole","path":"/","id":"AROAA2CSO7KUET3UOZS4R","arn":"arn:aws:iam::123456789012:role/fixtureTaskRole","created":1796649244.361,"assume_role_policy":"{\"Version\":\"2012-10-17\"}","description":"fixture","max_session_duration":3600,"permissions_boundary":null,"tags":[{"Key":"team","Value":"platform"}],"attached_policies":["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]}"#;
        let record: RoleRecord = serde_json::from_str(role).expect("role");
        assert_eq!(serde_json::to_string(&record).expect("json"), role);
        assert_eq!(
            record.to_created().tags,
            Some(vec![Tag {
                key: "team".into(),
                value: "platform".into()
            }])
        );

        let session = r#"{"access_key_id":"ASIAAAAAAAAAAAAAAAAA","secret_access_key":"s","session_token":"t","account":"123456789012","role_arn":"arn:aws:iam::123456789012:role/r","role_id":"AROAX","session_name":"task","issued":1700000000.0,"expiration":1700021600.0}"#;
        let record: SessionRecord = serde_json::from_str(session).expect("session");
        assert_eq!(serde_json::to_string(&record).expect("json"), session);
    }
}
