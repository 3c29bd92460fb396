//! What Secrets Manager keeps in the store.
//!
//! - `secretsmanager.secrets`, keyed `<account>/<region>/<name>`: one record per secret with
//!   everything DescribeSecret shows and the metadata of every version (id, staging labels,
//!   dates), but never a value. Names are unique per account and Region, so the name is the key;
//!   the ARN (with its random suffix) tells two secrets of the same name apart over time.
//! - `secretsmanager.values`, keyed `<account>/<region>/<name>:<version id>` (a name cannot
//!   contain `:`): the value of one version, sealed with [`wharf_core::Sealer`] bound to
//!   `<secret ARN>/<version id>`. Values are kept out of the secret record so that describing and
//!   listing never read them, and a value record copied under another secret does not open.

use serde::{Deserialize, Serialize};
use wharf_core::Timestamp;
use wharf_store::{Table, TableFormat};

/// Table of secrets (metadata and versions, no values).
pub const SECRETS: Table<StoredSecret> = Table::new("secretsmanager.secrets", 1);
/// Table of sealed version values.
pub const VALUES: Table<StoredValue> = Table::new("secretsmanager.values", 1);

/// Every table of Secrets Manager, with the format this wharf writes (checked at start).
pub const TABLES: &[TableFormat] = &[SECRETS.format(), VALUES.format()];

/// The staging label of the current version.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The staging label of the version AWSCURRENT was last moved away from.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// A secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSecret {
    /// `ARN`: `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>`.
    pub arn: String,
    /// `Name`.
    pub name: String,
    /// `Description`.
    pub description: Option<String>,
    /// `KmsKeyId` as given; `None` means the AWS managed key `aws/secretsmanager`.
    pub kms_key_id: Option<String>,
    /// `Type` (managed external secrets), shown as given.
    pub kind: Option<String>,
    /// `CreatedDate`.
    pub created: Timestamp,
    /// `LastChangedDate`: any change to the secret, its versions, labels or tags.
    pub last_changed: Timestamp,
    /// `LastAccessedDate`: the day (midnight UTC) of the last GetSecretValue.
    pub last_accessed: Option<Timestamp>,
    /// Set while the secret is scheduled for deletion.
    pub deletion: Option<Deletion>,
    /// Resource tags, in the order they were added.
    pub tags: Vec<StoredTag>,
    /// Every version, oldest first.
    pub versions: Vec<StoredVersion>,
}

/// A scheduled deletion (DeleteSecret with a recovery window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    /// When DeleteSecret was called.
    pub requested: Timestamp,
    /// `DeletionDate` / `DeletedDate`: the end of the recovery window, after which the secret
    /// is gone for good.
    pub at: Timestamp,
}

/// The metadata of one version of a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVersion {
    /// `VersionId` (the request's `ClientRequestToken`, or a UUID).
    pub id: String,
    /// `VersionStages`: at most 20 labels, each attached to one version of the secret at most.
    /// A version without labels is deprecated.
    pub stages: Vec<String>,
    /// `CreatedDate`.
    pub created: Timestamp,
    /// `LastAccessedDate` of this version (a day, as for the secret).
    pub last_accessed: Option<Timestamp>,
    /// The KMS key the secret named when this version was made (`None`: the AWS managed key).
    pub kms_key_id: Option<String>,
}

/// The value of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredValue {
    /// `SecretBinary` (true) or `SecretString` (false).
    pub binary: bool,
    /// The value's bytes sealed with context [`seal_context`].
    pub sealed: String,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTag {
    /// Key.
    pub key: String,
    /// Value, as given (a tag may be sent without one).
    pub value: Option<String>,
}

impl StoredSecret {
    /// The version `id`.
    pub fn version(&self, id: &str) -> Option<&StoredVersion> {
        self.versions.iter().find(|v| v.id == id)
    }

    /// The version the staging label `stage` is attached to.
    pub fn version_with_stage(&self, stage: &str) -> Option<&StoredVersion> {
        self.versions
            .iter()
            .find(|v| v.stages.iter().any(|s| s == stage))
    }

    /// Whether the recovery window of a scheduled deletion has passed at `now`: the secret no
    /// longer exists.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.deletion.is_some_and(|d| d.at <= now)
    }
}

/// The store key of secret `name` of `account` in `region`.
pub fn key(account: &str, region: &str, name: &str) -> String {
    format!("{account}/{region}/{name}")
}

/// The key prefix of every secret of `account` in `region`.
pub fn prefix(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

/// The store key of the value of version `version_id` of the secret stored under `secret_key`.
pub fn value_key(secret_key: &str, version_id: &str) -> String {
    format!("{secret_key}:{version_id}")
}

/// What a version's value is sealed to: the secret's ARN and the version id.
pub fn seal_context(arn: &str, version_id: &str) -> String {
    format!("{arn}/{version_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_keep_their_names_at_format_1() {
        let names: Vec<(&str, u32)> = TABLES.iter().map(|t| (t.name, t.version)).collect();
        assert_eq!(
            names,
            vec![("secretsmanager.secrets", 1), ("secretsmanager.values", 1),]
        );
    }
}
