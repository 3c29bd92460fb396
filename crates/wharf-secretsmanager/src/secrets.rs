//! The Secrets Manager operations over the store: secrets, their versions and values, deletion
//! with a recovery window, restore, tags.
//!
//! Every mutation is one store transaction. A secret whose recovery window has passed no longer
//! exists: reads skip it, and the next write that meets it (or its name) deletes its records —
//! there is no background purge. Values are sealed before they are written and opened only to
//! answer GetSecretValue (or a task), or to compare a retried request with the version it made.

use crate::filters;
use crate::generated::*;
use crate::names::{self, SecretRef};
use crate::records::{
    self, Deletion, StoredSecret, StoredTag, StoredValue, StoredVersion, AWSCURRENT, SECRETS,
    VALUES,
};
use crate::versions;
use crate::SecretsManager;
use std::collections::BTreeMap;
use wharf_core::pagination::paginate_ordered;
use wharf_core::tags as tag_rules;
use wharf_core::{Blob, RequestContext, Timestamp};
use wharf_store::{StoreError, Tx};

/// Largest secret value, in bytes.
pub const MAX_VALUE_BYTES: usize = 65536;
/// Most tags a secret can have.
pub use wharf_core::tags::MAX_TAGS;
/// `MaxResults` when none is given.
const DEFAULT_MAX_RESULTS: usize = 100;
/// Default `RecoveryWindowInDays`.
const DEFAULT_RECOVERY_DAYS: i64 = 30;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// `ResourceNotFoundException` for a secret that does not exist.
pub fn not_found() -> Error {
    Error::ResourceNotFoundException("Secrets Manager can't find the specified secret.".into())
}

/// `InvalidRequestException` for a secret scheduled for deletion.
pub fn marked_for_deletion() -> Error {
    Error::InvalidRequestException(
        "You can't perform this operation on the secret because it was marked for deletion.".into(),
    )
}

/// A secret value as a request carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue {
    /// `SecretBinary` (true) or `SecretString`.
    pub binary: bool,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretValue({} bytes)", self.bytes.len())
    }
}

/// The value of a request's `SecretString` / `SecretBinary`: at most one, at most 64 KiB.
fn value_of(string: Option<&String>, binary: Option<&Blob>) -> Result<Option<SecretValue>, Error> {
    let value = match (string, binary) {
        (Some(_), Some(_)) => {
            return Err(Error::InvalidParameterException(
                "You can't specify both a binary secret value and a string secret value in the same secret.".into(),
            ))
        }
        (Some(s), None) => SecretValue {
            binary: false,
            bytes: s.as_bytes().to_vec(),
        },
        (None, Some(b)) => SecretValue {
            binary: true,
            bytes: b.0.clone(),
        },
        (None, None) => return Ok(None),
    };
    let field = if value.binary {
        "SecretBinary"
    } else {
        "SecretString"
    };
    if value.bytes.is_empty() {
        return Err(Error::InvalidParameterException(format!(
            "{field} must not be empty."
        )));
    }
    if value.bytes.len() > MAX_VALUE_BYTES {
        return Err(Error::InvalidParameterException(format!(
            "{field} is {} bytes; a secret value can be at most {MAX_VALUE_BYTES} bytes.",
            value.bytes.len()
        )));
    }
    Ok(Some(value))
}

/// The secret `r` names among the records of `account` / `region`, expired or not.
fn lookup(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    r: &SecretRef,
) -> Result<Option<(String, StoredSecret)>, StoreError> {
    if !r.is_in(account, region) {
        return Ok(None);
    }
    for (name, arn) in r.candidates() {
        let key = records::key(account, region, &name);
        if let Some(secret) = tx.get::<StoredSecret>(SECRETS, &key)? {
            if arn.as_ref().is_none_or(|a| *a == secret.arn) {
                return Ok(Some((key, secret)));
            }
        }
    }
    Ok(None)
}

/// The live secret `secret_id` names, for a read.
pub(crate) fn find(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    secret_id: &str,
    now: Timestamp,
) -> Result<Option<(String, StoredSecret)>, StoreError> {
    let Some(r) = SecretRef::parse(secret_id) else {
        return Ok(None);
    };
    Ok(lookup(tx, account, region, &r)?.filter(|(_, s)| !s.expired(now)))
}

/// The live secret `secret_id` names, for a write: one whose recovery window has passed is
/// deleted now.
fn find_for_write(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    r: &SecretRef,
    now: Timestamp,
) -> Result<Option<(String, StoredSecret)>, StoreError> {
    match lookup(tx, account, region, r)? {
        Some((key, secret)) if secret.expired(now) => {
            purge(tx, &key, &secret)?;
            Ok(None)
        }
        found => Ok(found),
    }
}

/// Deletes `secret` (stored under `key`) and every value it has.
fn purge(tx: &Tx<'_>, key: &str, secret: &StoredSecret) -> Result<(), StoreError> {
    for v in &secret.versions {
        tx.delete(VALUES, &records::value_key(key, &v.id))?;
    }
    tx.delete(SECRETS, key)?;
    tracing::info!(arn = %secret.arn, "secret deleted permanently");
    Ok(())
}

/// The value of version `version_id` of `secret` (stored under `key`), opened.
fn open_value(
    sm: &SecretsManager,
    tx: &Tx<'_>,
    key: &str,
    secret: &StoredSecret,
    version_id: &str,
) -> Result<SecretValue, Error> {
    let stored: StoredValue = tx
        .get(VALUES, &records::value_key(key, version_id))?
        .ok_or_else(|| {
            tracing::error!(arn = %secret.arn, version_id, "secret version has no stored value");
            Error::InternalServiceError(format!(
                "the value of version {version_id} of secret {} is missing from wharf's state store",
                secret.name
            ))
        })?;
    let bytes = sm
        .sealer
        .open(&records::seal_context(&secret.arn, version_id), &stored.sealed)
        .map_err(|e| {
            tracing::error!(error = %e, arn = %secret.arn, version_id, "cannot open a secret value");
            Error::DecryptionFailure(
                "Secrets Manager can't decrypt the protected secret text: the value is damaged or was sealed with another secrets.key.".into(),
            )
        })?;
    Ok(SecretValue {
        binary: stored.binary,
        bytes,
    })
}

/// How a write that carries a value and a `ClientRequestToken` relates to existing versions.
enum NewVersion {
    /// No version has that id: make it.
    Create(String),
    /// A version with that id and the same value exists: the request was already done.
    Done(String),
}

/// Checks a request's `ClientRequestToken` against the versions of `secret`: the same token
/// with the same value is a retry; with a different value it is refused.
fn version_for(
    sm: &SecretsManager,
    tx: &Tx<'_>,
    key: &str,
    secret: &StoredSecret,
    token: Option<&String>,
    value: &SecretValue,
) -> Result<NewVersion, Error> {
    let Some(token) = token else {
        return Ok(NewVersion::Create(sm.ids.uuid()));
    };
    if secret.version(token).is_none() {
        return Ok(NewVersion::Create(token.clone()));
    }
    if open_value(sm, tx, key, secret, token)? == *value {
        Ok(NewVersion::Done(token.clone()))
    } else {
        Err(Error::ResourceExistsException(format!(
            "A version with VersionId (ClientRequestToken) {token} already exists with a different value: you can't modify an existing version, only create a new one."
        )))
    }
}

/// Seals `value` as version `id` of `secret`, attaches `stages` and writes the value; the
/// caller writes the secret record.
fn add_version(
    sm: &SecretsManager,
    tx: &Tx<'_>,
    key: &str,
    secret: &mut StoredSecret,
    id: &str,
    value: &SecretValue,
    stages: Option<&[String]>,
    now: Timestamp,
) -> Result<(), Error> {
    let sealed = sm
        .sealer
        .seal(&records::seal_context(&secret.arn, id), &value.bytes)
        .map_err(|e| {
            tracing::error!(error = %e, arn = %secret.arn, "cannot seal a secret value");
            Error::EncryptionFailure(format!("wharf could not encrypt the secret value: {e}"))
        })?;
    let version = StoredVersion {
        id: id.to_string(),
        stages: Vec::new(),
        created: now,
        last_accessed: None,
        kms_key_id: secret.kms_key_id.clone(),
    };
    let dropped = versions::add_version(secret, version, stages, now)?;
    tx.put(
        VALUES,
        &records::value_key(key, id),
        &StoredValue {
            binary: value.binary,
            sealed,
        },
    )?;
    for old in dropped {
        tx.delete(VALUES, &records::value_key(key, &old))?;
    }
    secret.last_changed = now;
    Ok(())
}

/// Checks tags and merges them into `existing` (a key already there gets the new value): every
/// tag needs a key, none under `aws:`, at most 50 in all ([`tag_rules`], answered with
/// `InvalidParameterException`).
fn merged_tags(existing: &[StoredTag], tags: &[Tag]) -> Result<Vec<StoredTag>, Error> {
    let mut new = Vec::with_capacity(tags.len());
    for (i, tag) in tags.iter().enumerate() {
        let key = tag.key.as_deref().unwrap_or_default();
        if key.is_empty() {
            return Err(Error::InvalidParameterException(format!(
                "Tags.{}.Key is missing: every tag needs a key.",
                i + 1
            )));
        }
        if tag_rules::is_reserved_key(key) {
            return Err(Error::InvalidParameterException(format!(
                "Tag key '{key}' starts with 'aws:', a prefix reserved for AWS."
            )));
        }
        new.push(StoredTag {
            key: key.to_string(),
            value: tag.value.clone(),
        });
    }
    let mut out = existing.to_vec();
    tag_rules::merge(&mut out, new, |t| &t.key);
    if !tag_rules::count_ok(out.len()) {
        return Err(Error::InvalidParameterException(format!(
            "A secret can have at most {MAX_TAGS} tags; this request would give it {}.",
            out.len()
        )));
    }
    Ok(out)
}

fn api_tags(tags: &[StoredTag]) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|t| Tag {
                key: Some(t.key.clone()),
                value: t.value.clone(),
            })
            .collect()
    })
}

/// `VersionIdsToStages`: the versions that have staging labels.
fn versions_to_stages(secret: &StoredSecret) -> Option<BTreeMap<String, Vec<String>>> {
    let map: BTreeMap<String, Vec<String>> = secret
        .versions
        .iter()
        .filter(|v| !v.stages.is_empty())
        .map(|v| (v.id.clone(), v.stages.clone()))
        .collect();
    (!map.is_empty()).then_some(map)
}

/// CreateSecret.
pub fn create(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: CreateSecretRequest,
) -> Result<CreateSecretResponse, Error> {
    if !names::valid_name(&input.name) {
        return Err(Error::InvalidParameterException(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@".into(),
        ));
    }
    let value = value_of(input.secret_string.as_ref(), input.secret_binary.as_ref())?;
    if input
        .add_replica_regions
        .as_ref()
        .is_some_and(|r| !r.is_empty())
    {
        return Err(Error::InvalidParameterException(
            "AddReplicaRegions is not supported: wharf does not replicate secrets to other Regions.".into(),
        ));
    }
    let tags = merged_tags(&[], input.tags.as_deref().unwrap_or_default())?;
    let now = ctx.now;
    let key = records::key(&ctx.account_id, &ctx.region, &input.name);
    let name_ref = SecretRef::Name(input.name.clone());
    let response = sm.store.write(|tx| {
        if let Some((_, existing)) =
            find_for_write(tx, &ctx.account_id, &ctx.region, &name_ref, now)?
        {
            if existing.deletion.is_some() {
                return Err(Error::InvalidRequestException(
                    "You can't create this secret because a secret with this name is already scheduled for deletion.".into(),
                ));
            }
            // A retry of the request that created this secret (same token, same value).
            if let (Some(token), Some(value)) = (&input.client_request_token, &value) {
                if existing.version(token).is_some()
                    && open_value(sm, tx, &key, &existing, token)? == *value
                {
                    return Ok(CreateSecretResponse {
                        arn: Some(existing.arn.clone()),
                        name: Some(existing.name.clone()),
                        version_id: Some(token.clone()),
                        replication_status: None,
                    });
                }
            }
            return Err(Error::ResourceExistsException(format!(
                "The operation failed because the secret {} already exists.",
                input.name
            )));
        }
        let suffix = sm.ids.chars(names::SUFFIX_LEN, names::SUFFIX_ALPHABET);
        let arn = names::secret_arn(&ctx.region, &ctx.account_id, &input.name, &suffix);
        let mut secret = StoredSecret {
            arn: arn.clone(),
            name: input.name.clone(),
            description: input.description.clone(),
            kms_key_id: input.kms_key_id.clone().filter(|k| !k.is_empty()),
            kind: input.r#type.clone(),
            created: now,
            last_changed: now,
            last_accessed: None,
            deletion: None,
            tags: tags.clone(),
            versions: Vec::new(),
        };
        let mut version_id = None;
        if let Some(value) = &value {
            let id = input
                .client_request_token
                .clone()
                .unwrap_or_else(|| sm.ids.uuid());
            add_version(sm, tx, &key, &mut secret, &id, value, None, now)?;
            version_id = Some(id);
        }
        tx.put(SECRETS, &key, &secret)?;
        tracing::info!(%arn, "created secret");
        Ok(CreateSecretResponse {
            arn: Some(arn),
            name: Some(secret.name),
            version_id,
            replication_status: None,
        })
    })?;
    Ok(response)
}

/// A version of a secret and its opened value.
pub(crate) struct ReadValue {
    pub secret: StoredSecret,
    pub version: StoredVersion,
    pub value: SecretValue,
}

/// The version GetSecretValue's `VersionId` / `VersionStage` select (AWSCURRENT by default).
fn select_version<'a>(
    secret: &'a StoredSecret,
    version_id: Option<&str>,
    version_stage: Option<&str>,
) -> Result<&'a StoredVersion, Error> {
    match version_id {
        Some(id) => {
            let version = secret.version(id).ok_or_else(|| {
                Error::ResourceNotFoundException(format!(
                    "Secrets Manager can't find the specified secret value for VersionId: {id}"
                ))
            })?;
            if let Some(stage) = version_stage {
                if !version.stages.iter().any(|s| s == stage) {
                    return Err(Error::InvalidRequestException(
                        "You provided a VersionStage that is not associated to the provided VersionId.".into(),
                    ));
                }
            }
            Ok(version)
        }
        None => {
            let stage = version_stage.unwrap_or(AWSCURRENT);
            secret.version_with_stage(stage).ok_or_else(|| {
                Error::ResourceNotFoundException(format!(
                    "Secrets Manager can't find the specified secret value for staging label: {stage}"
                ))
            })
        }
    }
}

/// Reads a version's value, as GetSecretValue does, and records the access (the day) on the
/// secret and the version.
pub(crate) fn read_value(
    sm: &SecretsManager,
    account: &str,
    region: &str,
    secret_id: &str,
    version_id: Option<&str>,
    version_stage: Option<&str>,
    now: Timestamp,
) -> Result<ReadValue, Error> {
    let (key, read) = sm.store.read(|tx| {
        let (key, secret) = find(tx, account, region, secret_id, now)?.ok_or_else(not_found)?;
        if secret.deletion.is_some() {
            return Err(marked_for_deletion());
        }
        let version = select_version(&secret, version_id, version_stage)?.clone();
        let value = open_value(sm, tx, &key, &secret, &version.id)?;
        Ok((
            key,
            ReadValue {
                secret,
                version,
                value,
            },
        ))
    })?;
    let day = Timestamp::from_millis(now.millis - now.millis.rem_euclid(DAY_MS));
    if read.secret.last_accessed != Some(day) || read.version.last_accessed != Some(day) {
        let recorded: Result<(), Error> = sm.store.write(|tx| {
            if let Some(mut secret) = tx.get::<StoredSecret>(SECRETS, &key)? {
                if secret.arn == read.secret.arn {
                    secret.last_accessed = Some(day);
                    for v in secret
                        .versions
                        .iter_mut()
                        .filter(|v| v.id == read.version.id)
                    {
                        v.last_accessed = Some(day);
                    }
                    tx.put(SECRETS, &key, &secret)?;
                }
            }
            Ok(())
        });
        // The value was read; failing to note the access must not fail the read.
        if let Err(e) = recorded {
            tracing::warn!(error = %e, arn = %read.secret.arn, "cannot record the secret's last access");
        }
    }
    Ok(read)
}

/// GetSecretValue.
pub fn get_value(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: GetSecretValueRequest,
) -> Result<GetSecretValueResponse, Error> {
    let read = read_value(
        sm,
        &ctx.account_id,
        &ctx.region,
        &input.secret_id,
        input.version_id.as_deref(),
        input.version_stage.as_deref(),
        ctx.now,
    )?;
    let (secret_string, secret_binary) = if read.value.binary {
        (None, Some(Blob(read.value.bytes)))
    } else {
        (
            Some(String::from_utf8_lossy(&read.value.bytes).into_owned()),
            None,
        )
    };
    Ok(GetSecretValueResponse {
        arn: Some(read.secret.arn),
        name: Some(read.secret.name),
        version_id: Some(read.version.id),
        secret_binary,
        secret_string,
        version_stages: Some(read.version.stages),
        created_date: Some(read.version.created),
    })
}

/// PutSecretValue.
pub fn put_value(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: PutSecretValueRequest,
) -> Result<PutSecretValueResponse, Error> {
    let value =
        value_of(input.secret_string.as_ref(), input.secret_binary.as_ref())?.ok_or_else(|| {
            Error::InvalidParameterException(
                "You must provide either SecretString or SecretBinary.".into(),
            )
        })?;
    let r = SecretRef::parse(&input.secret_id).ok_or_else(not_found)?;
    let now = ctx.now;
    sm.store.write(|tx| {
        let (key, mut secret) =
            find_for_write(tx, &ctx.account_id, &ctx.region, &r, now)?.ok_or_else(not_found)?;
        if secret.deletion.is_some() {
            return Err(marked_for_deletion());
        }
        let id = match version_for(
            sm,
            tx,
            &key,
            &secret,
            input.client_request_token.as_ref(),
            &value,
        )? {
            NewVersion::Done(id) => id,
            NewVersion::Create(id) => {
                add_version(
                    sm,
                    tx,
                    &key,
                    &mut secret,
                    &id,
                    &value,
                    input.version_stages.as_deref(),
                    now,
                )?;
                tx.put(SECRETS, &key, &secret)?;
                tracing::info!(arn = %secret.arn, version_id = %id, "new secret version");
                id
            }
        };
        let stages = secret.version(&id).map(|v| v.stages.clone());
        Ok(PutSecretValueResponse {
            arn: Some(secret.arn.clone()),
            name: Some(secret.name.clone()),
            version_id: Some(id),
            version_stages: stages,
        })
    })
}

/// UpdateSecret.
pub fn update(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: UpdateSecretRequest,
) -> Result<UpdateSecretResponse, Error> {
    let value = value_of(input.secret_string.as_ref(), input.secret_binary.as_ref())?;
    let r = SecretRef::parse(&input.secret_id).ok_or_else(not_found)?;
    let now = ctx.now;
    sm.store.write(|tx| {
        let (key, mut secret) =
            find_for_write(tx, &ctx.account_id, &ctx.region, &r, now)?.ok_or_else(not_found)?;
        if secret.deletion.is_some() {
            return Err(marked_for_deletion());
        }
        let mut changed = false;
        if let Some(d) = &input.description {
            secret.description = Some(d.clone());
            changed = true;
        }
        if let Some(k) = &input.kms_key_id {
            // An empty KmsKeyId goes back to the AWS managed key.
            secret.kms_key_id = Some(k.clone()).filter(|k| !k.is_empty());
            changed = true;
        }
        if let Some(t) = &input.r#type {
            secret.kind = Some(t.clone());
            changed = true;
        }
        let mut version_id = None;
        if let Some(value) = &value {
            match version_for(
                sm,
                tx,
                &key,
                &secret,
                input.client_request_token.as_ref(),
                value,
            )? {
                NewVersion::Done(id) => version_id = Some(id),
                NewVersion::Create(id) => {
                    add_version(sm, tx, &key, &mut secret, &id, value, None, now)?;
                    tracing::info!(arn = %secret.arn, version_id = %id, "new secret version");
                    version_id = Some(id);
                    changed = true;
                }
            }
        }
        if changed {
            secret.last_changed = now;
            tx.put(SECRETS, &key, &secret)?;
        }
        Ok(UpdateSecretResponse {
            arn: Some(secret.arn.clone()),
            name: Some(secret.name.clone()),
            version_id,
        })
    })
}

/// DescribeSecret (never the value).
pub fn describe(
    sm: &SecretsManager,
    ctx: &RequestContext,
    secret_id: &str,
) -> Result<DescribeSecretResponse, Error> {
    let (_, s) = sm
        .store
        .read(|tx| find(tx, &ctx.account_id, &ctx.region, secret_id, ctx.now))?
        .ok_or_else(not_found)?;
    Ok(DescribeSecretResponse {
        arn: Some(s.arn.clone()),
        name: Some(s.name.clone()),
        r#type: s.kind.clone(),
        description: s.description.clone(),
        kms_key_id: s.kms_key_id.clone(),
        rotation_enabled: Some(false),
        last_changed_date: Some(s.last_changed),
        last_accessed_date: s.last_accessed,
        deleted_date: s.deletion.map(|d| d.at),
        tags: api_tags(&s.tags),
        version_ids_to_stages: versions_to_stages(&s),
        created_date: Some(s.created),
        primary_region: Some(ctx.region.clone()),
        ..DescribeSecretResponse::default()
    })
}

/// The sort key of `s` for ListSecrets' `SortBy`.
fn sort_key(s: &StoredSecret, sort_by: &str) -> String {
    let at = |t: Timestamp| format!("{:020}/{}", t.millis.max(0), s.name);
    match sort_by {
        "name" => s.name.clone(),
        "last-accessed-date" => at(s.last_accessed.unwrap_or_default()),
        "last-changed-date" => at(s.last_changed),
        _ => at(s.created),
    }
}

/// ListSecrets.
pub fn list(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: ListSecretsRequest,
) -> Result<ListSecretsResponse, Error> {
    let filters = filters::parse(input.filters.as_deref().unwrap_or_default())?;
    let max = input
        .max_results
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_MAX_RESULTS);
    let include_deleted = input.include_planned_deletion.unwrap_or(false);
    let sort_by = input
        .sort_by
        .clone()
        .unwrap_or_else(|| "created-date".into());
    let descending = input.sort_order.as_deref() == Some("desc");
    let prefix = records::prefix(&ctx.account_id, &ctx.region);
    let all: Vec<(String, StoredSecret)> = sm.store.read(|tx| tx.list(SECRETS, &prefix))?;
    let mut secrets: Vec<StoredSecret> = all
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| !s.expired(ctx.now))
        .filter(|s| include_deleted || s.deletion.is_none())
        .filter(|s| filters::matches(s, &ctx.region, &filters))
        .collect();
    secrets.sort_by_key(|s| sort_key(s, &sort_by));
    if descending {
        secrets.reverse();
    }
    let (page, next_token) = paginate_ordered(
        secrets,
        |s| sort_key(s, &sort_by),
        input.next_token.as_deref(),
        max,
        descending,
    )
    .map_err(|_| {
        Error::InvalidNextTokenException(
            "The NextToken is not valid: pass the NextToken of a previous ListSecrets answer."
                .into(),
        )
    })?;
    let secret_list = page
        .iter()
        .map(|s| SecretListEntry {
            arn: Some(s.arn.clone()),
            name: Some(s.name.clone()),
            r#type: s.kind.clone(),
            description: s.description.clone(),
            kms_key_id: s.kms_key_id.clone(),
            rotation_enabled: Some(false),
            last_changed_date: Some(s.last_changed),
            last_accessed_date: s.last_accessed,
            deleted_date: s.deletion.map(|d| d.at),
            tags: api_tags(&s.tags),
            secret_versions_to_stages: versions_to_stages(s),
            created_date: Some(s.created),
            primary_region: Some(ctx.region.clone()),
            ..SecretListEntry::default()
        })
        .collect();
    Ok(ListSecretsResponse {
        secret_list: Some(secret_list),
        next_token,
    })
}

/// DeleteSecret: scheduled after a recovery window (7-30 days, 30 by default), or at once with
/// ForceDeleteWithoutRecovery (which also answers for a secret that does not exist).
pub fn delete(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: DeleteSecretRequest,
) -> Result<DeleteSecretResponse, Error> {
    if let Some(days) = input.recovery_window_in_days {
        if !(7..=30).contains(&days) {
            return Err(Error::InvalidParameterException(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).".into(),
            ));
        }
    }
    let force = input.force_delete_without_recovery.unwrap_or(false);
    if force && input.recovery_window_in_days.is_some() {
        return Err(Error::InvalidParameterException(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
                .into(),
        ));
    }
    let r = SecretRef::parse(&input.secret_id).ok_or_else(not_found)?;
    let now = ctx.now;
    sm.store.write(|tx| {
        let Some((key, mut secret)) = find_for_write(tx, &ctx.account_id, &ctx.region, &r, now)?
        else {
            if !force {
                return Err(not_found());
            }
            let arn = match &r {
                SecretRef::Arn { arn, .. } => arn.clone(),
                SecretRef::Name(name) => names::secret_arn(
                    &ctx.region,
                    &ctx.account_id,
                    name,
                    &sm.ids.chars(names::SUFFIX_LEN, names::SUFFIX_ALPHABET),
                ),
            };
            return Ok(DeleteSecretResponse {
                arn: Some(arn),
                name: Some(r.display_name().to_string()),
                deletion_date: Some(now),
            });
        };
        if force {
            purge(tx, &key, &secret)?;
            return Ok(DeleteSecretResponse {
                arn: Some(secret.arn),
                name: Some(secret.name),
                deletion_date: Some(now),
            });
        }
        if secret.deletion.is_some() {
            return Err(Error::InvalidRequestException(
                "You can't perform this operation on the secret because it was already scheduled for deletion.".into(),
            ));
        }
        let days = input
            .recovery_window_in_days
            .unwrap_or(DEFAULT_RECOVERY_DAYS);
        let at = now.plus_millis(days * DAY_MS);
        secret.deletion = Some(Deletion { requested: now, at });
        secret.last_changed = now;
        tx.put(SECRETS, &key, &secret)?;
        tracing::info!(arn = %secret.arn, days, "secret scheduled for deletion");
        Ok(DeleteSecretResponse {
            arn: Some(secret.arn),
            name: Some(secret.name),
            deletion_date: Some(at),
        })
    })
}

/// RestoreSecret: cancels a scheduled deletion.
pub fn restore(
    sm: &SecretsManager,
    ctx: &RequestContext,
    secret_id: &str,
) -> Result<RestoreSecretResponse, Error> {
    let r = SecretRef::parse(secret_id).ok_or_else(not_found)?;
    sm.store.write(|tx| {
        let (key, mut secret) =
            find_for_write(tx, &ctx.account_id, &ctx.region, &r, ctx.now)?.ok_or_else(not_found)?;
        if secret.deletion.take().is_some() {
            secret.last_changed = ctx.now;
            tx.put(SECRETS, &key, &secret)?;
            tracing::info!(arn = %secret.arn, "secret restored");
        }
        Ok(RestoreSecretResponse {
            arn: Some(secret.arn),
            name: Some(secret.name),
        })
    })
}

/// ListSecretVersionIds.
pub fn list_versions(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: ListSecretVersionIdsRequest,
) -> Result<ListSecretVersionIdsResponse, Error> {
    let (_, secret) = sm
        .store
        .read(|tx| find(tx, &ctx.account_id, &ctx.region, &input.secret_id, ctx.now))?
        .ok_or_else(not_found)?;
    let include_deprecated = input.include_deprecated.unwrap_or(false);
    let max = input
        .max_results
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_MAX_RESULTS);
    let key = |v: &StoredVersion| format!("{:020}/{}", v.created.millis.max(0), v.id);
    let mut listed: Vec<StoredVersion> = secret
        .versions
        .iter()
        .filter(|v| include_deprecated || !v.stages.is_empty())
        .cloned()
        .collect();
    listed.sort_by_key(key);
    let (page, next_token) =
        paginate_ordered(listed, key, input.next_token.as_deref(), max, false).map_err(|_| {
            Error::InvalidNextTokenException(
                "The NextToken is not valid: pass the NextToken of a previous ListSecretVersionIds answer.".into(),
            )
        })?;
    Ok(ListSecretVersionIdsResponse {
        versions: Some(
            page.into_iter()
                .map(|v| SecretVersionsListEntry {
                    version_id: Some(v.id),
                    version_stages: Some(v.stages),
                    last_accessed_date: v.last_accessed,
                    created_date: Some(v.created),
                    kms_key_ids: Some(vec![v
                        .kms_key_id
                        .unwrap_or_else(|| "DefaultEncryptionKey".into())]),
                })
                .collect(),
        ),
        next_token,
        arn: Some(secret.arn),
        name: Some(secret.name),
    })
}

/// Runs `change` on the live, not deleted secret `secret_id` names and writes it back with a
/// new LastChangedDate.
fn modify<T>(
    sm: &SecretsManager,
    ctx: &RequestContext,
    secret_id: &str,
    change: impl FnOnce(&mut StoredSecret) -> Result<T, Error>,
) -> Result<(StoredSecret, T), Error> {
    let r = SecretRef::parse(secret_id).ok_or_else(not_found)?;
    sm.store.write(|tx| {
        let (key, mut secret) =
            find_for_write(tx, &ctx.account_id, &ctx.region, &r, ctx.now)?.ok_or_else(not_found)?;
        if secret.deletion.is_some() {
            return Err(marked_for_deletion());
        }
        let out = change(&mut secret)?;
        secret.last_changed = ctx.now;
        tx.put(SECRETS, &key, &secret)?;
        Ok((secret, out))
    })
}

/// UpdateSecretVersionStage.
pub fn update_stage(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: UpdateSecretVersionStageRequest,
) -> Result<UpdateSecretVersionStageResponse, Error> {
    let (secret, ()) = modify(sm, ctx, &input.secret_id, |s| {
        versions::move_label(
            s,
            &input.version_stage,
            input.remove_from_version_id.as_deref(),
            input.move_to_version_id.as_deref(),
        )
    })?;
    tracing::info!(arn = %secret.arn, label = %input.version_stage, "moved staging label");
    Ok(UpdateSecretVersionStageResponse {
        arn: Some(secret.arn),
        name: Some(secret.name),
    })
}

/// TagResource.
pub fn tag(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: TagResourceRequest,
) -> Result<(), Error> {
    modify(sm, ctx, &input.secret_id, |s| {
        s.tags = merged_tags(&s.tags, &input.tags)?;
        Ok(())
    })?;
    Ok(())
}

/// UntagResource: keys that are not there are ignored.
pub fn untag(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: UntagResourceRequest,
) -> Result<(), Error> {
    modify(sm, ctx, &input.secret_id, |s| {
        tag_rules::remove(&mut s.tags, &input.tag_keys, |t| &t.key);
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use wharf_core::ids::RandomIds;
    use wharf_core::{FakeClock, Sealer};
    use wharf_store::Store;

    const NOW: i64 = 1_700_000_123_456;
    const ACCOUNT: &str = "123456789012";

    struct Env {
        _dir: tempfile::TempDir,
        sm: SecretsManager,
        clock: Arc<FakeClock>,
    }

    impl Env {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(Store::open(&dir.path().join("wharf.db")).unwrap());
            let clock = Arc::new(FakeClock::new(Timestamp::from_millis(NOW)));
            let sm = SecretsManager::new(
                store,
                Arc::new(RandomIds),
                clock.clone(),
                Arc::new(Sealer::from_key(&[9u8; 32]).unwrap()),
            );
            Self {
                _dir: dir,
                sm,
                clock,
            }
        }

        fn ctx(&self) -> RequestContext {
            self.ctx_in("us-east-1")
        }

        fn ctx_in(&self, region: &str) -> RequestContext {
            RequestContext::for_tests(region, ACCOUNT, wharf_core::Clock::now(&*self.clock))
        }

        fn create(&self, name: &str, value: &str) -> CreateSecretResponse {
            create(
                &self.sm,
                &self.ctx(),
                CreateSecretRequest {
                    name: name.into(),
                    secret_string: Some(value.into()),
                    ..CreateSecretRequest::default()
                },
            )
            .unwrap()
        }

        fn get(&self, id: &str) -> Result<GetSecretValueResponse, Error> {
            self.get_version(id, None, None)
        }

        fn get_version(
            &self,
            id: &str,
            version_id: Option<&str>,
            stage: Option<&str>,
        ) -> Result<GetSecretValueResponse, Error> {
            get_value(
                &self.sm,
                &self.ctx(),
                GetSecretValueRequest {
                    secret_id: id.into(),
                    version_id: version_id.map(str::to_string),
                    version_stage: stage.map(str::to_string),
                },
            )
        }

        fn put(
            &self,
            id: &str,
            value: &str,
            token: Option<&str>,
        ) -> Result<PutSecretValueResponse, Error> {
            put_value(
                &self.sm,
                &self.ctx(),
                PutSecretValueRequest {
                    secret_id: id.into(),
                    secret_string: Some(value.into()),
                    client_request_token: token.map(str::to_string),
                    ..PutSecretValueRequest::default()
                },
            )
        }

        fn describe(&self, id: &str) -> Result<DescribeSecretResponse, Error> {
            describe(&self.sm, &self.ctx(), id)
        }

        fn delete(
            &self,
            id: &str,
            days: Option<i64>,
            force: Option<bool>,
        ) -> Result<DeleteSecretResponse, Error> {
            delete(
                &self.sm,
                &self.ctx(),
                DeleteSecretRequest {
                    secret_id: id.into(),
                    recovery_window_in_days: days,
                    force_delete_without_recovery: force,
                },
            )
        }

        fn list(&self, input: ListSecretsRequest) -> Vec<String> {
            list(&self.sm, &self.ctx(), input)
                .unwrap()
                .secret_list
                .unwrap()
                .into_iter()
                .filter_map(|s| s.name)
                .collect()
        }

        /// Every record of both tables, as the JSON they are stored as.
        fn raw_records(&self) -> String {
            let prefix = format!("{ACCOUNT}/");
            let secrets: Vec<(String, serde_json::Value)> = self
                .sm
                .store
                .read(|tx| tx.list(SECRETS, &prefix))
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k, serde_json::to_value(v).unwrap()))
                .collect();
            let values: Vec<(String, serde_json::Value)> = self
                .sm
                .store
                .read(|tx| tx.list(VALUES, &prefix))
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k, serde_json::to_value(v).unwrap()))
                .collect();
            format!("{secrets:?}{values:?}")
        }

        fn value_count(&self) -> usize {
            let values: Vec<(String, StoredValue)> = self
                .sm
                .store
                .read(|tx| tx.list(VALUES, &format!("{ACCOUNT}/")))
                .unwrap();
            values.len()
        }
    }

    fn string(r: &GetSecretValueResponse) -> &str {
        r.secret_string.as_deref().unwrap()
    }

    #[test]
    fn create_and_read_by_name_full_and_partial_arn() {
        let env = Env::new();
        let created = env.create("prod/db", "s3cr3t-value");
        let arn = created.arn.clone().unwrap();
        let prefix = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-";
        assert!(arn.starts_with(prefix), "{arn}");
        let suffix = &arn[prefix.len()..];
        assert_eq!(suffix.len(), 6);
        assert!(suffix.bytes().all(|b| b.is_ascii_alphanumeric()));
        let version = created.version_id.unwrap();

        for id in [
            "prod/db",
            arn.as_str(),
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db",
        ] {
            let got = env.get(id).unwrap();
            assert_eq!(string(&got), "s3cr3t-value", "{id}");
            assert_eq!(got.arn.as_deref(), Some(arn.as_str()));
            assert_eq!(got.version_id.as_deref(), Some(version.as_str()));
            assert_eq!(got.version_stages, Some(vec!["AWSCURRENT".to_string()]));
            assert_eq!(got.created_date, Some(Timestamp::from_millis(NOW)));
        }
        // Wrong suffix, other Region or account, other names: not found.
        for id in [
            "prod/DB",
            "prod",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-ZZZZZZ",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db",
            "arn:aws:secretsmanager:us-east-1:999999999999:secret:prod/db",
            "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db",
        ] {
            assert_eq!(env.get(id).unwrap_err(), not_found(), "{id}");
        }
        let other_region = get_value(
            &env.sm,
            &env.ctx_in("eu-west-1"),
            GetSecretValueRequest {
                secret_id: "prod/db".into(),
                ..GetSecretValueRequest::default()
            },
        );
        assert_eq!(other_region.unwrap_err(), not_found());

        let d = env.describe(&arn).unwrap();
        assert_eq!(d.name.as_deref(), Some("prod/db"));
        assert_eq!(d.rotation_enabled, Some(false));
        assert_eq!(d.created_date, Some(Timestamp::from_millis(NOW)));
        assert_eq!(
            d.version_ids_to_stages.unwrap(),
            BTreeMap::from([(version, vec!["AWSCURRENT".to_string()])])
        );
        // Read today: LastAccessedDate is the day, at midnight UTC.
        assert_eq!(
            d.last_accessed_date,
            Some(Timestamp::from_millis(NOW - NOW % DAY_MS))
        );
        assert!(d.deleted_date.is_none());
    }

    #[test]
    fn create_refuses_bad_names_duplicates_and_two_values() {
        let env = Env::new();
        for bad in ["has space", "a:b", "bang!", ""] {
            let err = create(
                &env.sm,
                &env.ctx(),
                CreateSecretRequest {
                    name: bad.into(),
                    ..CreateSecretRequest::default()
                },
            )
            .unwrap_err();
            assert!(
                matches!(err, Error::InvalidParameterException(ref m) if m.starts_with("Invalid name")),
                "{bad}: {err}"
            );
        }
        env.create("dup", "v");
        let err = create(
            &env.sm,
            &env.ctx(),
            CreateSecretRequest {
                name: "dup".into(),
                secret_string: Some("w".into()),
                ..CreateSecretRequest::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::ResourceExistsException(
                "The operation failed because the secret dup already exists.".into()
            )
        );
        let err = create(
            &env.sm,
            &env.ctx(),
            CreateSecretRequest {
                name: "both".into(),
                secret_string: Some("w".into()),
                secret_binary: Some(Blob(vec![1])),
                ..CreateSecretRequest::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameterException(m) if m.contains("both a binary secret value and a string"))
        );
        let err = create(
            &env.sm,
            &env.ctx(),
            CreateSecretRequest {
                name: "big".into(),
                secret_string: Some("é".repeat(MAX_VALUE_BYTES / 2 + 1)),
                ..CreateSecretRequest::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidParameterException(m) if m.contains("65536")));
        // Exactly 64 KiB is fine.
        env.create("max", &"x".repeat(MAX_VALUE_BYTES));
        assert_eq!(string(&env.get("max").unwrap()).len(), MAX_VALUE_BYTES);
    }

    #[test]
    fn create_is_idempotent_with_the_same_token_and_value() {
        let env = Env::new();
        let token = "a".repeat(32);
        let req = CreateSecretRequest {
            name: "idem".into(),
            secret_string: Some("v1".into()),
            client_request_token: Some(token.clone()),
            ..CreateSecretRequest::default()
        };
        let first = create(&env.sm, &env.ctx(), req.clone()).unwrap();
        assert_eq!(first.version_id.as_deref(), Some(token.as_str()));
        let again = create(&env.sm, &env.ctx(), req.clone()).unwrap();
        assert_eq!(again.arn, first.arn);
        let err = create(
            &env.sm,
            &env.ctx(),
            CreateSecretRequest {
                secret_string: Some("other".into()),
                ..req
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::ResourceExistsException(_)));
    }

    #[test]
    fn a_secret_without_a_value_has_no_current_version() {
        let env = Env::new();
        let created = create(
            &env.sm,
            &env.ctx(),
            CreateSecretRequest {
                name: "empty".into(),
                description: Some("later".into()),
                kms_key_id: Some("alias/mine".into()),
                ..CreateSecretRequest::default()
            },
        )
        .unwrap();
        assert!(created.version_id.is_none());
        assert_eq!(
            env.get("empty").unwrap_err(),
            Error::ResourceNotFoundException(
                "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT".into()
            )
        );
        let d = env.describe("empty").unwrap();
        assert!(d.version_ids_to_stages.is_none());
        assert_eq!(d.kms_key_id.as_deref(), Some("alias/mine"));
        // The first value becomes AWSCURRENT even if asked for another label only.
        let put = put_value(
            &env.sm,
            &env.ctx(),
            PutSecretValueRequest {
                secret_id: "empty".into(),
                secret_string: Some("now".into()),
                version_stages: Some(vec!["blue".into()]),
                ..PutSecretValueRequest::default()
            },
        )
        .unwrap();
        assert_eq!(
            put.version_stages,
            Some(vec!["blue".to_string(), "AWSCURRENT".to_string()])
        );
        assert_eq!(string(&env.get("empty").unwrap()), "now");
    }

    #[test]
    fn put_rotates_current_and_previous() {
        let env = Env::new();
        let v1 = env.create("rot", "one").version_id.unwrap();
        env.clock.advance(1000);
        let v2 = env.put("rot", "two", None).unwrap();
        assert_eq!(v2.version_stages, Some(vec!["AWSCURRENT".to_string()]));
        let v2 = v2.version_id.unwrap();
        env.clock.advance(1000);
        let v3 = env.put("rot", "three", None).unwrap().version_id.unwrap();
        assert_eq!(string(&env.get("rot").unwrap()), "three");
        let prev = env.get_version("rot", None, Some("AWSPREVIOUS")).unwrap();
        assert_eq!(string(&prev), "two");
        assert_eq!(prev.version_id.as_deref(), Some(v2.as_str()));
        assert_eq!(prev.created_date, Some(Timestamp::from_millis(NOW + 1000)));
        // v1 lost every label but can still be read by id.
        let old = env.get_version("rot", Some(&v1), None).unwrap();
        assert_eq!(string(&old), "one");
        assert_eq!(old.version_stages, Some(vec![]));
        assert_eq!(
            env.get_version("rot", Some(&v3), Some("AWSPREVIOUS"))
                .unwrap_err(),
            Error::InvalidRequestException(
                "You provided a VersionStage that is not associated to the provided VersionId."
                    .into()
            )
        );
        assert_eq!(
            string(
                &env.get_version("rot", Some(&v3), Some("AWSCURRENT"))
                    .unwrap()
            ),
            "three"
        );
        let missing = "0".repeat(32);
        assert_eq!(
            env.get_version("rot", Some(&missing), None).unwrap_err(),
            Error::ResourceNotFoundException(format!(
                "Secrets Manager can't find the specified secret value for VersionId: {missing}"
            ))
        );
        assert_eq!(
            env.get_version("rot", None, Some("blue")).unwrap_err(),
            Error::ResourceNotFoundException(
                "Secrets Manager can't find the specified secret value for staging label: blue"
                    .into()
            )
        );

        // Described: only labelled versions; listed: deprecated ones on request.
        let d = env.describe("rot").unwrap().version_ids_to_stages.unwrap();
        assert_eq!(d.len(), 2);
        let versions = |deprecated: bool| {
            list_versions(
                &env.sm,
                &env.ctx(),
                ListSecretVersionIdsRequest {
                    secret_id: "rot".into(),
                    include_deprecated: Some(deprecated),
                    ..ListSecretVersionIdsRequest::default()
                },
            )
            .unwrap()
            .versions
            .unwrap()
        };
        let labelled: Vec<String> = versions(false)
            .into_iter()
            .filter_map(|v| v.version_id)
            .collect();
        assert_eq!(labelled, vec![v2.clone(), v3.clone()]);
        let all = versions(true);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].version_id.as_deref(), Some(v1.as_str()));
        assert_eq!(
            all[0].kms_key_ids,
            Some(vec!["DefaultEncryptionKey".to_string()])
        );
        // Paged one by one.
        let page = list_versions(
            &env.sm,
            &env.ctx(),
            ListSecretVersionIdsRequest {
                secret_id: "rot".into(),
                include_deprecated: Some(true),
                max_results: Some(2),
                ..ListSecretVersionIdsRequest::default()
            },
        )
        .unwrap();
        assert_eq!(page.versions.unwrap().len(), 2);
        let rest = list_versions(
            &env.sm,
            &env.ctx(),
            ListSecretVersionIdsRequest {
                secret_id: "rot".into(),
                include_deprecated: Some(true),
                next_token: page.next_token,
                ..ListSecretVersionIdsRequest::default()
            },
        )
        .unwrap();
        assert_eq!(
            rest.versions.unwrap()[0].version_id.as_deref(),
            Some(v3.as_str())
        );
        assert!(rest.next_token.is_none());
    }

    #[test]
    fn put_is_idempotent_per_client_request_token() {
        let env = Env::new();
        env.create("tok", "one");
        let token = "b".repeat(36);
        let first = env.put("tok", "two", Some(&token)).unwrap();
        assert_eq!(first.version_id.as_deref(), Some(token.as_str()));
        let again = env.put("tok", "two", Some(&token)).unwrap();
        assert_eq!(again.version_id, first.version_id);
        assert_eq!(again.version_stages, Some(vec!["AWSCURRENT".to_string()]));
        // Not a new version: AWSPREVIOUS is still the first one.
        assert_eq!(
            string(&env.get_version("tok", None, Some("AWSPREVIOUS")).unwrap()),
            "one"
        );
        let err = env.put("tok", "different", Some(&token)).unwrap_err();
        assert!(matches!(err, Error::ResourceExistsException(m) if m.contains(&token)));
        let err = put_value(
            &env.sm,
            &env.ctx(),
            PutSecretValueRequest {
                secret_id: "tok".into(),
                ..PutSecretValueRequest::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidParameterException(_)));
        assert_eq!(env.put("nope", "x", None).unwrap_err(), not_found());
    }

    #[test]
    fn update_changes_metadata_and_makes_versions() {
        let env = Env::new();
        let arn = env.create("upd", "one").arn.unwrap();
        env.clock.advance(5000);
        let out = update(
            &env.sm,
            &env.ctx(),
            UpdateSecretRequest {
                secret_id: arn.clone(),
                description: Some("new description".into()),
                kms_key_id: Some("alias/custom".into()),
                ..UpdateSecretRequest::default()
            },
        )
        .unwrap();
        assert!(out.version_id.is_none());
        let d = env.describe("upd").unwrap();
        assert_eq!(d.description.as_deref(), Some("new description"));
        assert_eq!(d.kms_key_id.as_deref(), Some("alias/custom"));
        assert_eq!(
            d.last_changed_date,
            Some(Timestamp::from_millis(NOW + 5000))
        );
        let out = update(
            &env.sm,
            &env.ctx(),
            UpdateSecretRequest {
                secret_id: "upd".into(),
                secret_binary: Some(Blob(vec![0, 159, 146, 150])),
                kms_key_id: Some(String::new()),
                ..UpdateSecretRequest::default()
            },
        )
        .unwrap();
        let got = env.get("upd").unwrap();
        assert_eq!(got.version_id, out.version_id);
        assert_eq!(got.secret_binary, Some(Blob(vec![0, 159, 146, 150])));
        assert!(got.secret_string.is_none());
        assert_eq!(
            string(&env.get_version("upd", None, Some("AWSPREVIOUS")).unwrap()),
            "one"
        );
        // An empty KmsKeyId is the AWS managed key again.
        assert!(env.describe("upd").unwrap().kms_key_id.is_none());
    }

    #[test]
    fn deletion_recovery_window_restore_and_purge() {
        let env = Env::new();
        let arn = env.create("gone", "bye").arn.unwrap();
        let out = env.delete("gone", None, None).unwrap();
        let window_end = Timestamp::from_millis(NOW + 30 * DAY_MS);
        assert_eq!(out.deletion_date, Some(window_end));
        assert_eq!(env.get("gone").unwrap_err(), marked_for_deletion());
        assert_eq!(
            env.put("gone", "x", None).unwrap_err(),
            marked_for_deletion()
        );
        let d = env.describe("gone").unwrap();
        assert_eq!(d.deleted_date, Some(window_end));
        // Not listed unless asked for.
        assert!(env.list(ListSecretsRequest::default()).is_empty());
        assert_eq!(
            env.list(ListSecretsRequest {
                include_planned_deletion: Some(true),
                ..ListSecretsRequest::default()
            }),
            vec!["gone".to_string()]
        );
        let err = create(
            &env.sm,
            &env.ctx(),
            CreateSecretRequest {
                name: "gone".into(),
                ..CreateSecretRequest::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidRequestException(
                "You can't create this secret because a secret with this name is already scheduled for deletion.".into()
            )
        );
        assert!(matches!(
            env.delete("gone", Some(7), None),
            Err(Error::InvalidRequestException(_))
        ));

        // Restored: readable again.
        let restored = restore(&env.sm, &env.ctx(), &arn).unwrap();
        assert_eq!(restored.arn.as_deref(), Some(arn.as_str()));
        assert_eq!(string(&env.get("gone").unwrap()), "bye");
        assert!(env.describe("gone").unwrap().deleted_date.is_none());

        // Deleted again with a 7 day window; once it passed, the secret is gone.
        let out = env.delete(&arn, Some(7), None).unwrap();
        assert_eq!(
            out.deletion_date,
            Some(Timestamp::from_millis(NOW + 7 * DAY_MS))
        );
        env.clock.advance(7 * DAY_MS - 1);
        assert_eq!(env.get("gone").unwrap_err(), marked_for_deletion());
        env.clock.advance(1);
        assert_eq!(env.describe("gone").unwrap_err(), not_found());
        assert_eq!(env.get("gone").unwrap_err(), not_found());
        assert!(env
            .list(ListSecretsRequest {
                include_planned_deletion: Some(true),
                ..ListSecretsRequest::default()
            })
            .is_empty());
        assert_eq!(
            env.value_count(),
            1,
            "purged lazily: the value is still there"
        );
        // The name is free again; the new secret has another ARN and the old values are gone.
        let again = env.create("gone", "hello again");
        assert_ne!(again.arn.as_deref(), Some(arn.as_str()));
        assert_eq!(env.value_count(), 1);
        assert_eq!(env.get(&arn).unwrap_err(), not_found());
        assert_eq!(string(&env.get("gone").unwrap()), "hello again");
    }

    #[test]
    fn delete_parameters_and_forced_deletion() {
        let env = Env::new();
        env.create("f", "v");
        for days in [6, 31, 0] {
            let err = env.delete("f", Some(days), None).unwrap_err();
            assert_eq!(
                err,
                Error::InvalidParameterException(
                    "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
                        .into()
                )
            );
        }
        let err = env.delete("f", Some(7), Some(true)).unwrap_err();
        assert_eq!(
            err,
            Error::InvalidParameterException(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.".into()
            )
        );
        let out = env.delete("f", None, Some(true)).unwrap();
        assert_eq!(out.deletion_date, Some(Timestamp::from_millis(NOW)));
        assert_eq!(env.describe("f").unwrap_err(), not_found());
        assert_eq!(env.value_count(), 0);
        // Forcing the deletion of a secret that does not exist succeeds.
        let out = env.delete("never-was", None, Some(true)).unwrap();
        assert_eq!(out.name.as_deref(), Some("never-was"));
        assert!(out
            .arn
            .unwrap()
            .starts_with("arn:aws:secretsmanager:us-east-1:123456789012:secret:never-was-"));
        assert_eq!(
            env.delete("never-was", None, None).unwrap_err(),
            not_found()
        );
        // A secret already scheduled for deletion can be forced out.
        env.create("sched", "v");
        env.delete("sched", None, None).unwrap();
        env.delete("sched", None, Some(true)).unwrap();
        assert_eq!(env.describe("sched").unwrap_err(), not_found());
        assert_eq!(
            restore(&env.sm, &env.ctx(), "sched").unwrap_err(),
            not_found()
        );
    }

    #[test]
    fn values_are_only_stored_sealed() {
        let env = Env::new();
        env.create("sealed", "plaintext-canary-4711");
        env.put("sealed", "second-canary-0815", None).unwrap();
        update(
            &env.sm,
            &env.ctx(),
            UpdateSecretRequest {
                secret_id: "sealed".into(),
                secret_binary: Some(Blob(b"binary-canary-4242".to_vec())),
                ..UpdateSecretRequest::default()
            },
        )
        .unwrap();
        let raw = env.raw_records();
        assert!(raw.contains("v1:"), "{raw}");
        for canary in ["plaintext-canary", "second-canary", "binary-canary"] {
            assert!(!raw.contains(canary), "{canary} in {raw}");
        }
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"binary-canary-4242");
        assert!(!raw.contains(&b64));
        // A value record copied under another secret does not open.
        let prefix = format!("{ACCOUNT}/");
        let values: Vec<(String, StoredValue)> =
            env.sm.store.read(|tx| tx.list(VALUES, &prefix)).unwrap();
        let target = env.create("other", "x");
        let other_key = records::key(ACCOUNT, "us-east-1", "other");
        env.sm
            .store
            .write(|tx| {
                tx.put(
                    VALUES,
                    &records::value_key(&other_key, target.version_id.as_deref().unwrap()),
                    &values[0].1,
                )
            })
            .unwrap();
        assert!(matches!(env.get("other"), Err(Error::DecryptionFailure(_))));
    }

    #[test]
    fn list_filters_sorting_and_pages() {
        let env = Env::new();
        for (i, (name, desc, tag)) in [
            ("prod/db", "Primary database", ("team", "payments")),
            ("prod/api-key", "API key for partners", ("team", "growth")),
            ("dev/db", "Scratch database", ("env", "dev")),
        ]
        .into_iter()
        .enumerate()
        {
            env.clock.advance(1000 * (i as i64 + 1));
            create(
                &env.sm,
                &env.ctx(),
                CreateSecretRequest {
                    name: name.into(),
                    description: Some(desc.into()),
                    secret_string: Some("v".into()),
                    tags: Some(vec![Tag {
                        key: Some(tag.0.into()),
                        value: Some(tag.1.into()),
                    }]),
                    ..CreateSecretRequest::default()
                },
            )
            .unwrap();
        }
        let f = |key: &str, values: &[&str]| ListSecretsRequest {
            filters: Some(vec![Filter {
                key: Some(key.into()),
                values: Some(values.iter().map(|v| v.to_string()).collect()),
            }]),
            ..ListSecretsRequest::default()
        };
        assert_eq!(
            env.list(ListSecretsRequest::default()),
            vec!["prod/db", "prod/api-key", "dev/db"]
        );
        assert_eq!(
            env.list(ListSecretsRequest {
                sort_order: Some("desc".into()),
                ..ListSecretsRequest::default()
            }),
            vec!["dev/db", "prod/api-key", "prod/db"]
        );
        assert_eq!(
            env.list(ListSecretsRequest {
                sort_by: Some("name".into()),
                ..ListSecretsRequest::default()
            }),
            vec!["dev/db", "prod/api-key", "prod/db"]
        );
        assert_eq!(
            env.list(f("name", &["prod/"])),
            vec!["prod/db", "prod/api-key"]
        );
        assert_eq!(env.list(f("name", &["!prod/"])), vec!["dev/db"]);
        assert_eq!(env.list(f("name", &["Prod"])), Vec::<String>::new());
        assert_eq!(
            env.list(f("description", &["database"])),
            vec!["prod/db", "dev/db"]
        );
        assert_eq!(
            env.list(f("tag-key", &["team"])),
            vec!["prod/db", "prod/api-key"]
        );
        assert_eq!(
            env.list(f("tag-value", &["pay", "gro"])),
            vec!["prod/db", "prod/api-key"]
        );
        assert_eq!(env.list(f("all", &["partners"])), vec!["prod/api-key"]);
        assert_eq!(env.list(f("primary-region", &["us-east-1"])).len(), 3);

        // Pages of one, in order, then no token.
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = list(
                &env.sm,
                &env.ctx(),
                ListSecretsRequest {
                    max_results: Some(1),
                    next_token: token.clone(),
                    ..ListSecretsRequest::default()
                },
            )
            .unwrap();
            seen.extend(page.secret_list.unwrap().into_iter().filter_map(|s| s.name));
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, vec!["prod/db", "prod/api-key", "dev/db"]);
        let err = list(
            &env.sm,
            &env.ctx(),
            ListSecretsRequest {
                next_token: Some("garbage".into()),
                ..ListSecretsRequest::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidNextTokenException(_)));
        // Never a value in a listing.
        let entry = &list(&env.sm, &env.ctx(), ListSecretsRequest::default())
            .unwrap()
            .secret_list
            .unwrap()[0];
        assert_eq!(entry.secret_versions_to_stages.as_ref().unwrap().len(), 1);
        assert_eq!(entry.tags.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn tags_and_labels() {
        let env = Env::new();
        let v1 = env.create("t", "one").version_id.unwrap();
        let v2 = env.put("t", "two", None).unwrap().version_id.unwrap();
        let tag_req = |tags: Vec<(&str, &str)>| TagResourceRequest {
            secret_id: "t".into(),
            tags: tags
                .into_iter()
                .map(|(k, v)| Tag {
                    key: Some(k.into()),
                    value: Some(v.into()),
                })
                .collect(),
        };
        tag(&env.sm, &env.ctx(), tag_req(vec![("a", "1"), ("b", "2")])).unwrap();
        tag(&env.sm, &env.ctx(), tag_req(vec![("a", "3")])).unwrap();
        let tags = env.describe("t").unwrap().tags.unwrap();
        assert_eq!(
            tags.iter()
                .map(|t| (t.key.clone().unwrap(), t.value.clone().unwrap()))
                .collect::<Vec<_>>(),
            vec![("a".into(), "3".into()), ("b".into(), "2".into())]
        );
        let err = tag(&env.sm, &env.ctx(), tag_req(vec![("aws:x", "1")])).unwrap_err();
        assert!(matches!(err, Error::InvalidParameterException(m) if m.contains("aws:")));
        let many: Vec<(String, String)> = (0..49).map(|i| (format!("k{i}"), "v".into())).collect();
        let err = tag(
            &env.sm,
            &env.ctx(),
            tag_req(many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()),
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidParameterException(m) if m.contains("50 tags")));
        untag(
            &env.sm,
            &env.ctx(),
            UntagResourceRequest {
                secret_id: "t".into(),
                tag_keys: vec!["a".into(), "missing".into()],
            },
        )
        .unwrap();
        assert_eq!(env.describe("t").unwrap().tags.unwrap().len(), 1);

        // Roll back with UpdateSecretVersionStage.
        let stage = |label: &str, rm: Option<&str>, mv: Option<&str>| {
            update_stage(
                &env.sm,
                &env.ctx(),
                UpdateSecretVersionStageRequest {
                    secret_id: "t".into(),
                    version_stage: label.into(),
                    remove_from_version_id: rm.map(str::to_string),
                    move_to_version_id: mv.map(str::to_string),
                },
            )
        };
        assert!(matches!(
            stage("AWSCURRENT", None, Some(&v1)),
            Err(Error::InvalidParameterException(_))
        ));
        stage("AWSCURRENT", Some(&v2), Some(&v1)).unwrap();
        assert_eq!(string(&env.get("t").unwrap()), "one");
        assert_eq!(
            string(&env.get_version("t", None, Some("AWSPREVIOUS")).unwrap()),
            "two"
        );
        // Deleted secrets can't be changed.
        env.delete("t", None, None).unwrap();
        assert_eq!(
            tag(&env.sm, &env.ctx(), tag_req(vec![("c", "1")])).unwrap_err(),
            marked_for_deletion()
        );
        assert_eq!(
            stage("AWSCURRENT", Some(&v1), Some(&v2)).unwrap_err(),
            marked_for_deletion()
        );
    }

    #[test]
    fn value_for_task_reads_like_the_ecs_agent() {
        let env = Env::new();
        let arn = env
            .create(
                "app/db",
                r#"{"username":"admin","password":"pw-1","port":5432}"#,
            )
            .arn
            .unwrap();
        let v2 = env
            .put("app/db", r#"{"username":"admin","password":"pw-2"}"#, None)
            .unwrap()
            .version_id
            .unwrap();
        let read = |value_from: &str| env.sm.value_for_task(ACCOUNT, "us-east-1", value_from);
        assert_eq!(
            read(&arn).unwrap(),
            r#"{"username":"admin","password":"pw-2"}"#
        );
        assert_eq!(read(&format!("{arn}:password::")).unwrap(), "pw-2");
        assert_eq!(
            read(&format!("{arn}:password:AWSPREVIOUS:")).unwrap(),
            "pw-1"
        );
        assert_eq!(read(&format!("{arn}:port:AWSPREVIOUS:")).unwrap(), "5432");
        assert_eq!(read(&format!("{arn}:password::{v2}")).unwrap(), "pw-2");
        // A partial ARN works too; the task's Region does not matter, the ARN's does.
        assert_eq!(
            env.sm
                .value_for_task(
                    ACCOUNT,
                    "eu-west-1",
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db:username::"
                )
                .unwrap(),
            "admin"
        );

        let missing_key = read(&format!("{arn}:nope::")).unwrap_err();
        assert_eq!(
            missing_key.0,
            "unable to retrieve secret from asm: retrieved secret from Secrets Manager did not contain json key nope"
        );
        let stage_missing = read(&format!("{arn}::blue:")).unwrap_err();
        assert_eq!(
            stage_missing.0,
            format!("unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {arn} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret value for staging label: blue")
        );
        let absent = "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-AbC123";
        assert_eq!(
            read(&format!("{absent}:k::")).unwrap_err().0,
            format!("unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {absent} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.")
        );
        // Another account's secret is not found.
        assert!(env
            .sm
            .value_for_task("999999999999", "us-east-1", &arn)
            .unwrap_err()
            .0
            .contains("ResourceNotFoundException"));

        env.create("plain", "not json");
        let plain_arn = env.describe("plain").unwrap().arn.unwrap();
        assert_eq!(read(&plain_arn).unwrap(), "not json");
        assert_eq!(
            read(&format!("{plain_arn}:k::")).unwrap_err().0,
            "unable to retrieve secret from asm: retrieved secret from Secrets Manager did not contain json key k"
        );

        env.delete("app/db", None, None).unwrap();
        assert_eq!(
            read(&arn).unwrap_err().0,
            format!("unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {arn} from secrets manager: InvalidRequestException: You can't perform this operation on the secret because it was marked for deletion.")
        );
    }

    #[test]
    fn last_accessed_is_the_day_of_the_last_read() {
        let env = Env::new();
        env.create("acc", "v");
        assert!(env.describe("acc").unwrap().last_accessed_date.is_none());
        env.get("acc").unwrap();
        let day = NOW - NOW % DAY_MS;
        assert_eq!(
            env.describe("acc").unwrap().last_accessed_date,
            Some(Timestamp::from_millis(day))
        );
        env.clock.advance(2 * DAY_MS);
        env.get("acc").unwrap();
        assert_eq!(
            env.describe("acc").unwrap().last_accessed_date,
            Some(Timestamp::from_millis(day + 2 * DAY_MS))
        );
        let versions = list_versions(
            &env.sm,
            &env.ctx(),
            ListSecretVersionIdsRequest {
                secret_id: "acc".into(),
                ..ListSecretVersionIdsRequest::default()
            },
        )
        .unwrap()
        .versions
        .unwrap();
        assert_eq!(
            versions[0].last_accessed_date,
            Some(Timestamp::from_millis(day + 2 * DAY_MS))
        );
    }
}
