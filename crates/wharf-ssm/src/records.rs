//! What Parameter Store keeps in the store: one record per parameter in `ssm.parameters`,
//! keyed `<account>/<region>/<name>` (so a hierarchy is a key-prefix range), holding every
//! version still kept (at most 100, oldest first) and the parameter's tags.
//!
//! SecureString values are kept only sealed ([`wharf_core::Sealer`], bound to
//! [`seal_context`]): [`StoredValue::Sealed`]. String and StringList values are kept as
//! they are ([`StoredValue::Plain`]).

use serde::{Deserialize, Serialize};
use wharf_core::Timestamp;
use wharf_store::{Table, TableFormat};

/// Table of parameters.
pub const PARAMETERS: Table<StoredParameter> = Table::new("ssm.parameters", 1);

/// Every table of Parameter Store, with the format this wharf writes (checked at start).
pub const TABLES: &[TableFormat] = &[PARAMETERS.format()];

/// `Type` String.
pub const STRING: &str = "String";
/// `Type` StringList.
pub const STRING_LIST: &str = "StringList";
/// `Type` SecureString.
pub const SECURE_STRING: &str = "SecureString";

/// `Tier` Standard.
pub const STANDARD: &str = "Standard";
/// `Tier` Advanced.
pub const ADVANCED: &str = "Advanced";
/// `Tier` Intelligent-Tiering (requested only; a version is Standard or Advanced).
pub const INTELLIGENT_TIERING: &str = "Intelligent-Tiering";

/// The KMS key SecureString parameters use unless told otherwise.
pub const DEFAULT_KEY_ID: &str = "alias/aws/ssm";
/// `DataType` unless told otherwise.
pub const TEXT: &str = "text";

/// A parameter: its versions and tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredParameter {
    /// `Name`, exactly as created.
    pub name: String,
    /// The versions kept, oldest first; the last is the current one. Never empty.
    pub versions: Vec<StoredVersion>,
    /// Resource tags, in the order they were added.
    pub tags: Vec<StoredTag>,
}

impl StoredParameter {
    /// The current (latest) version.
    pub fn current(&self) -> &StoredVersion {
        // `versions` is never empty: a parameter is created with its first version and
        // deleted whole.
        &self.versions[self.versions.len() - 1]
    }
}

/// One version of a parameter, with everything PutParameter set for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredVersion {
    /// `Version`, from 1.
    pub version: i64,
    /// `Type`: String, StringList or SecureString.
    pub kind: String,
    /// `Value` (sealed for SecureString).
    pub value: StoredValue,
    /// `KeyId` (SecureString only).
    pub key_id: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `AllowedPattern`: the value matched it when it was put.
    pub allowed_pattern: Option<String>,
    /// `Tier`: Standard or Advanced.
    pub tier: String,
    /// `Policies`, as given (each policy's JSON text and type).
    pub policies: Vec<StoredPolicy>,
    /// `DataType`: `text`, `aws:ec2:image`, `aws:ssm:integration`.
    pub data_type: String,
    /// `Labels` attached to this version.
    pub labels: Vec<String>,
    /// `LastModifiedDate`: when this version was put.
    pub last_modified: Timestamp,
    /// `LastModifiedUser`: the principal ARN that put it.
    pub last_modified_user: String,
}

/// A value as stored.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredValue {
    /// String / StringList: the value itself.
    Plain(String),
    /// SecureString: `Sealer::seal(seal_context(..), value)`.
    Sealed(String),
}

impl std::fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print values, not even in debug output.
        match self {
            StoredValue::Plain(_) => f.write_str("Plain(..)"),
            StoredValue::Sealed(_) => f.write_str("Sealed(..)"),
        }
    }
}

/// A parameter policy (Advanced tier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPolicy {
    /// `PolicyType`: Expiration, ExpirationNotification or NoChangeNotification.
    pub kind: String,
    /// `PolicyText`: the policy's JSON.
    pub text: String,
    /// For Expiration: when the parameter is deleted.
    pub expires_at: Option<Timestamp>,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// The store key of parameter `name` of `account` in `region`.
pub fn key(account: &str, region: &str, name: &str) -> String {
    format!("{account}/{region}/{name}")
}

/// The key prefix of every parameter of `account` in `region`.
pub fn prefix(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

/// What a SecureString value of version `version` of `name` is sealed to: a sealed value
/// copied into another parameter or version does not open.
pub fn seal_context(account: &str, region: &str, name: &str, version: i64) -> String {
    format!("ssm/{account}/{region}/{name}/{version}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_keep_their_names_at_format_1() {
        let names: Vec<(&str, u32)> = TABLES.iter().map(|t| (t.name, t.version)).collect();
        assert_eq!(names, vec![("ssm.parameters", 1),]);
    }
}
