//! What ECR keeps in the store: the record types it owns (never the generated wire types, so
//! that regenerating from a newer botocore cannot change what is on disk), their tables and
//! keys, and the conversions to and from the wire types used at the API's edge.
//!
//! Five store tables, all but tokens scoped by account and region:
//! - `ecr.repo`  keyed `account/region/name` -> [`StoredRepo`] (the repository as the API
//!   reports it, its resource tags, lifecycle policy and last lifecycle preview);
//! - `ecr.image` keyed `account/region/name\u{1}digest` -> [`StoredImage`] (media type, sizes,
//!   referenced blobs and child manifests, push time, tags);
//! - `ecr.tag`   keyed `account/region/name\u{1}tag` -> the digest the tag names;
//! - `ecr.bloblink` keyed `account/region/name\u{1}digest` -> `{}`: the config and layer blobs
//!   the repository may serve (see `images` for the rules);
//! - `ecr.token` keyed by the SHA-256 of a registry password -> [`StoredToken`].
//!
//! `\u{1}` cannot occur in a repository name, so one repository's images and tags are exactly
//! the keys under `account/region/name\u{1}`. Every type here serialises to the JSON wharf wrote
//! before the store was versioned (format 1 of each table): the repository's inner records
//! mirror the wire shapes field for field (`camelCase` names, absent options left out).

use crate::generated::{
    EncryptionConfiguration, ImageScanningConfiguration, ImageTagMutabilityExclusionFilter,
    LifecyclePolicyPreviewResult, LifecyclePolicyRuleAction, Repository, Tag,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wharf_core::Timestamp;
use wharf_store::{Table, TableFormat};

/// Store table of repositories.
pub const REPOS: Table<StoredRepo> = Table::new("ecr.repo", 1);
/// Store table of images (one record per manifest digest per repository).
pub const IMAGES: Table<StoredImage> = Table::new("ecr.image", 1);
/// Store table of tags (tag -> the digest it names).
pub const TAGS: Table<String> = Table::new("ecr.tag", 1);
/// Store table of blob links (repository + blob digest -> `{}`).
pub const BLOB_LINKS: Table<BlobLink> = Table::new("ecr.bloblink", 1);
/// Store table of issued registry tokens.
pub const TOKENS: Table<StoredToken> = Table::new("ecr.token", 1);

/// Store table of the registry-wide settings of each account and region.
pub const REGISTRIES: Table<RegistryRecord> = Table::new("ecr.registry", 1);

/// Every table of ECR, with the format this wharf writes (checked at start).
pub const TABLES: &[TableFormat] = &[
    REPOS.format(),
    IMAGES.format(),
    TAGS.format(),
    BLOB_LINKS.format(),
    TOKENS.format(),
    REGISTRIES.format(),
];

/// The registry of one account in one region: what is set for all its repositories.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryRecord {
    /// The registry policy text as the user gave it.
    #[serde(default)]
    pub policy: Option<String>,
    /// The scanning configuration's `scanType` (`BASIC` when never set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_type: Option<String>,
    /// The scanning configuration's rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scan_rules: Vec<StoredScanRule>,
}

/// A registry scanning rule: how often the repositories its filters name are scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredScanRule {
    /// `scanFrequency`.
    pub frequency: String,
    /// The `WILDCARD` repository filters.
    pub filters: Vec<String>,
}

/// The last scan asked for an image (StartImageScan, or a push to a repository that scans on
/// push).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredScan {
    /// `imageScanStatus.status`.
    pub status: String,
    /// `imageScanStatus.description`.
    pub description: String,
}

/// The key of the registry of `account` in `region`.
pub fn registry_key(account: &str, region: &str) -> String {
    format!("{account}/{region}")
}

// ---------------------------------------------------------------------------------------------
// Addresses and keys.

/// A repository as the registry addresses it: the token's account and region, and the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Repository name (may contain `/`).
    pub name: String,
}

impl RepoRef {
    /// The repository `name` in `account` and `region`.
    pub fn new(account: &str, region: &str, name: &str) -> Self {
        Self {
            account: account.to_string(),
            region: region.to_string(),
            name: name.to_string(),
        }
    }
}

/// Store key of a repository.
pub(crate) fn repo_key(repo: &RepoRef) -> String {
    format!("{}/{}/{}", repo.account, repo.region, repo.name)
}

/// Key prefix of everything inside a repository (its images, tags or blob links).
pub(crate) fn repo_prefix(repo: &RepoRef) -> String {
    format!("{}\u{1}", repo_key(repo))
}

/// Key prefix of every repository of an account and region.
pub(crate) fn region_prefix(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

/// Store key of an image.
pub(crate) fn image_key(repo: &RepoRef, digest: &str) -> String {
    format!("{}{digest}", repo_prefix(repo))
}

/// Store key of a blob link.
pub(crate) fn blob_link_key(repo: &RepoRef, digest: &str) -> String {
    format!("{}{digest}", repo_prefix(repo))
}

/// Store key of a tag.
pub(crate) fn tag_key(repo: &RepoRef, tag: &str) -> String {
    format!("{}{tag}", repo_prefix(repo))
}

/// Store key of a registry token: the SHA-256 of its password, hex (the password itself is
/// never stored).
pub(crate) fn token_key(password: &str) -> String {
    hex::encode(Sha256::digest(password.as_bytes()))
}

// ---------------------------------------------------------------------------------------------
// Repositories.

/// A repository record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRepo {
    /// Account id (the registry id).
    pub account: String,
    /// Region.
    pub region: String,
    /// The repository as the API reports it. `repositoryUri` is recomputed on every answer
    /// from the configured registry host, so a changed port shows up in old repositories.
    pub repository: StoredRepository,
    /// Resource tags (TagResource), not image tags.
    #[serde(default)]
    pub tags: Vec<StoredTag>,
    /// The lifecycle policy text as the user gave it.
    #[serde(default)]
    pub lifecycle_policy: Option<String>,
    /// When the lifecycle policy was last applied (GetLifecyclePolicy `lastEvaluatedAt`).
    #[serde(default)]
    pub lifecycle_evaluated_at: Option<Timestamp>,
    /// The repository policy text as the user gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_policy: Option<String>,
    /// The last StartLifecyclePolicyPreview, computed when it was started.
    #[serde(default)]
    pub preview: Option<StoredPreview>,
}

impl StoredRepo {
    /// The repository's name.
    pub fn name(&self) -> &str {
        self.repository
            .repository_name
            .as_deref()
            .unwrap_or_default()
    }

    /// Its address in the store.
    pub fn repo_ref(&self) -> RepoRef {
        RepoRef::new(&self.account, &self.region, self.name())
    }
}

/// The repository's API fields (the wire `Repository`'s JSON shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredRepository {
    /// `repositoryArn`.
    #[serde(rename = "repositoryArn", skip_serializing_if = "Option::is_none")]
    pub repository_arn: Option<String>,
    /// `registryId` (the account).
    #[serde(rename = "registryId", skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    /// `repositoryName`.
    #[serde(rename = "repositoryName", skip_serializing_if = "Option::is_none")]
    pub repository_name: Option<String>,
    /// `repositoryUri`: never written (recomputed on every answer), read if an old record has it.
    #[serde(rename = "repositoryUri", skip_serializing_if = "Option::is_none")]
    pub repository_uri: Option<String>,
    /// `createdAt`.
    #[serde(rename = "createdAt", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// `imageTagMutability`: MUTABLE, IMMUTABLE or one of the `*_WITH_EXCLUSION` settings.
    #[serde(rename = "imageTagMutability", skip_serializing_if = "Option::is_none")]
    pub image_tag_mutability: Option<String>,
    /// `imageTagMutabilityExclusionFilters` of the `*_WITH_EXCLUSION` settings.
    #[serde(
        rename = "imageTagMutabilityExclusionFilters",
        skip_serializing_if = "Option::is_none"
    )]
    pub image_tag_mutability_exclusion_filters: Option<Vec<StoredExclusionFilter>>,
    /// `imageScanningConfiguration`.
    #[serde(
        rename = "imageScanningConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub image_scanning_configuration: Option<StoredScanningConfiguration>,
    /// `encryptionConfiguration`.
    #[serde(
        rename = "encryptionConfiguration",
        skip_serializing_if = "Option::is_none"
    )]
    pub encryption_configuration: Option<StoredEncryption>,
}

impl StoredRepository {
    /// The wire `Repository` (without `repositoryUri`, which the caller sets).
    pub fn to_wire(&self) -> Repository {
        Repository {
            repository_arn: self.repository_arn.clone(),
            registry_id: self.registry_id.clone(),
            repository_name: self.repository_name.clone(),
            repository_uri: self.repository_uri.clone(),
            created_at: self.created_at,
            image_tag_mutability: self.image_tag_mutability.clone(),
            image_tag_mutability_exclusion_filters: self
                .image_tag_mutability_exclusion_filters
                .as_deref()
                .map(exclusion_filters_to_wire),
            image_scanning_configuration: self
                .image_scanning_configuration
                .as_ref()
                .map(StoredScanningConfiguration::to_wire),
            encryption_configuration: self
                .encryption_configuration
                .as_ref()
                .map(StoredEncryption::to_wire),
        }
    }
}

/// A tag mutability exclusion filter (the wire `ImageTagMutabilityExclusionFilter`'s shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredExclusionFilter {
    /// `filterType`: WILDCARD.
    #[serde(rename = "filterType")]
    pub filter_type: String,
    /// `filter`: the pattern (`*` wildcards).
    #[serde(rename = "filter")]
    pub filter: String,
}

impl From<&ImageTagMutabilityExclusionFilter> for StoredExclusionFilter {
    fn from(f: &ImageTagMutabilityExclusionFilter) -> Self {
        Self {
            filter_type: f.filter_type.clone(),
            filter: f.filter.clone(),
        }
    }
}

/// Stored exclusion filters from the wire's.
pub fn exclusion_filters_from_wire(
    filters: &[ImageTagMutabilityExclusionFilter],
) -> Vec<StoredExclusionFilter> {
    filters.iter().map(StoredExclusionFilter::from).collect()
}

/// The wire exclusion filters from stored ones.
pub fn exclusion_filters_to_wire(
    filters: &[StoredExclusionFilter],
) -> Vec<ImageTagMutabilityExclusionFilter> {
    filters
        .iter()
        .map(|f| ImageTagMutabilityExclusionFilter {
            filter_type: f.filter_type.clone(),
            filter: f.filter.clone(),
        })
        .collect()
}

/// The scanning configuration (the wire `ImageScanningConfiguration`'s shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredScanningConfiguration {
    /// `scanOnPush` (recorded; wharf does not scan).
    #[serde(rename = "scanOnPush", skip_serializing_if = "Option::is_none")]
    pub scan_on_push: Option<bool>,
}

impl StoredScanningConfiguration {
    /// The wire form.
    pub fn to_wire(&self) -> ImageScanningConfiguration {
        ImageScanningConfiguration {
            scan_on_push: self.scan_on_push,
        }
    }
}

/// The encryption configuration (the wire `EncryptionConfiguration`'s shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredEncryption {
    /// `encryptionType`: AES256, KMS or KMS_DSSE.
    #[serde(rename = "encryptionType")]
    pub encryption_type: String,
    /// `kmsKey`.
    #[serde(rename = "kmsKey", skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
}

impl StoredEncryption {
    /// The wire form.
    pub fn to_wire(&self) -> EncryptionConfiguration {
        EncryptionConfiguration {
            encryption_type: self.encryption_type.clone(),
            kms_key: self.kms_key.clone(),
        }
    }
}

impl From<EncryptionConfiguration> for StoredEncryption {
    fn from(e: EncryptionConfiguration) -> Self {
        Self {
            encryption_type: e.encryption_type,
            kms_key: e.kms_key,
        }
    }
}

/// A resource tag (the wire `Tag`'s shape: `Key`, `Value`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredTag {
    /// `Key`.
    #[serde(rename = "Key")]
    pub key: String,
    /// `Value`.
    #[serde(rename = "Value")]
    pub value: String,
}

impl From<&Tag> for StoredTag {
    fn from(t: &Tag) -> Self {
        Self {
            key: t.key.clone(),
            value: t.value.clone(),
        }
    }
}

impl StoredTag {
    /// The wire form.
    pub fn to_wire(&self) -> Tag {
        Tag {
            key: self.key.clone(),
            value: self.value.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle previews.

/// A lifecycle policy preview: the policy it ran and the images it would expire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPreview {
    /// The policy text previewed.
    pub policy_text: String,
    /// One entry per image that would expire, sorted by digest.
    pub results: Vec<StoredPreviewResult>,
}

/// One image a preview expires (the wire `LifecyclePolicyPreviewResult`'s shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredPreviewResult {
    /// `imageTags`.
    #[serde(rename = "imageTags", skip_serializing_if = "Option::is_none")]
    pub image_tags: Option<Vec<String>>,
    /// `imageDigest`.
    #[serde(rename = "imageDigest", skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// `imagePushedAt`.
    #[serde(rename = "imagePushedAt", skip_serializing_if = "Option::is_none")]
    pub image_pushed_at: Option<Timestamp>,
    /// `action`: what the rule does (always EXPIRE).
    #[serde(rename = "action", skip_serializing_if = "Option::is_none")]
    pub action: Option<StoredRuleAction>,
    /// `appliedRulePriority`.
    #[serde(
        rename = "appliedRulePriority",
        skip_serializing_if = "Option::is_none"
    )]
    pub applied_rule_priority: Option<i32>,
    /// `storageClass`.
    #[serde(rename = "storageClass", skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

impl StoredPreviewResult {
    /// The wire form.
    pub fn to_wire(&self) -> LifecyclePolicyPreviewResult {
        LifecyclePolicyPreviewResult {
            image_tags: self.image_tags.clone(),
            image_digest: self.image_digest.clone(),
            image_pushed_at: self.image_pushed_at,
            action: self.action.as_ref().map(|a| LifecyclePolicyRuleAction {
                r#type: a.r#type.clone(),
                target_storage_class: a.target_storage_class.clone(),
            }),
            applied_rule_priority: self.applied_rule_priority,
            storage_class: self.storage_class.clone(),
        }
    }
}

/// A preview result's action (the wire `LifecyclePolicyRuleAction`'s shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredRuleAction {
    /// `type`: EXPIRE.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// `targetStorageClass` (transitions only, which wharf does not do).
    #[serde(rename = "targetStorageClass", skip_serializing_if = "Option::is_none")]
    pub target_storage_class: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Images, blob links and tokens.

/// A content descriptor: what a manifest points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: i64,
}

/// An image record: one manifest in one repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredImage {
    /// `sha256:<hex>` of the manifest bytes (which live in the blob store under that digest).
    pub digest: String,
    /// The manifest media type (`imageManifestMediaType`).
    pub media_type: String,
    /// The manifest's size in bytes.
    pub manifest_size: i64,
    /// The config media type (`artifactMediaType`).
    #[serde(default)]
    pub config_media_type: Option<String>,
    /// Config and layer blobs; their sizes add up to `imageSizeInBytes`.
    #[serde(default)]
    pub blobs: Vec<BlobRef>,
    /// Child manifests of an index; they must stay while the index does.
    #[serde(default)]
    pub children: Vec<String>,
    /// First push of this digest to this repository (`imagePushedAt`; lifecycle age and order).
    pub pushed_at: Timestamp,
    /// The tags naming this image, sorted.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `lastRecordedPullTime`, refreshed at most hourly.
    #[serde(default)]
    pub last_pull: Option<Timestamp>,
    /// The last scan asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<StoredScan>,
}

/// The value of a blob link: nothing (the key says it all); stored as `{}`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct BlobLink {}

/// A registry token record: the password's hash is the key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredToken {
    /// The account whose registry the token opens.
    pub account: String,
    /// The region it was issued in.
    pub region: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository record as the binary before versioning wrote it, byte for byte.
    const OLD_REPO: &str = r#"{"account":"123456789012","region":"us-east-1","repository":{"repositoryArn":"arn:aws:ecr:us-east-1:123456789012:repository/app","registryId":"123456789012","repositoryName":"app","createdAt":1700000000.0,"imageTagMutability":"IMMUTABLE_WITH_EXCLUSION","imageTagMutabilityExclusionFilters":[{"filterType":"WILDCARD","filter":"latest*"}],"imageScanningConfiguration":{"scanOnPush":false},"encryptionConfiguration":{"encryptionType":"AES256"}},"tags":[{"Key":"team","Value":"web"}],"lifecycle_policy":"{}","lifecycle_evaluated_at":null,"preview":{"policy_text":"{}","results":[{"imageTags":["v1"],"imageDigest":"sha256:01","imagePushedAt":1700000000.0,"action":{"type":"EXPIRE"},"appliedRulePriority":1}]}}"#;

    #[test]
    fn stored_records_keep_the_json_of_the_wire_types_they_replace() {
        let stored: StoredRepo = serde_json::from_str(OLD_REPO).unwrap();
        let again = serde_json::to_value(&stored).unwrap();
        let old: serde_json::Value = serde_json::from_str(OLD_REPO).unwrap();
        assert_eq!(again, old);
        // The wire types give the same JSON as the stored ones.
        let wire = serde_json::to_value(stored.repository.to_wire()).unwrap();
        assert_eq!(wire, old["repository"]);
        let tag = serde_json::to_value(stored.tags[0].to_wire()).unwrap();
        assert_eq!(tag, old["tags"][0]);
        let preview = stored.preview.unwrap();
        let result = serde_json::to_value(preview.results[0].to_wire()).unwrap();
        assert_eq!(result, old["preview"]["results"][0]);
    }

    #[test]
    fn image_and_token_records_written_before_versioning_read_back_identically() {
        let image = r#"{"digest":"sha256:67","media_type":"application/vnd.oci.image.manifest.v1+json","manifest_size":502,"config_media_type":"application/vnd.oci.image.config.v1+json","blobs":[{"digest":"sha256:e7","size":338}],"children":[],"pushed_at":1796649244.666,"tags":["v1"],"last_pull":null}"#;
        let token = r#"{"account":"123456789012","region":"us-east-1","issued_at":1796649244.635,"expires_at":1796692444.635}"#;
        let value = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        let i: StoredImage = serde_json::from_str(image).unwrap();
        assert_eq!(serde_json::to_value(&i).unwrap(), value(image));
        let t: StoredToken = serde_json::from_str(token).unwrap();
        assert_eq!(serde_json::to_value(&t).unwrap(), value(token));
        assert_eq!(serde_json::to_string(&BlobLink {}).unwrap(), "{}");
    }

    #[test]
    fn every_table_is_listed_at_format_1() {
        let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        assert_eq!(
            names,
            [
                "ecr.repo",
                "ecr.image",
                "ecr.tag",
                "ecr.bloblink",
                "ecr.token",
                "ecr.registry"
            ]
        );
        assert!(TABLES.iter().all(|t| t.version == 1));
    }
}
