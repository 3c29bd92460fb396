//! The parameter operations: PutParameter, GetParameter, GetParameters, GetParametersByPath,
//! DeleteParameter, DeleteParameters, GetParameterHistory and LabelParameterVersion.
//!
//! Each PutParameter makes a new version (from 1); 100 are kept, the oldest dropped unless it
//! carries a label (`ParameterMaxVersionLimitExceeded`). What a new version does not set
//! (type, description, allowed pattern, key, data type, tier, policies) it inherits from the
//! current one. Tier: Standard holds values up to 4096 characters, Advanced up to 8192 (and
//! policies); Intelligent-Tiering picks the one the value needs; an Advanced parameter never
//! goes back to Standard.

use crate::filters::{self, Usage};
use crate::generated::*;
use crate::lookup::{find, live, load};
use crate::names::{self, NameError, Reference, ReferenceError, Selector, NAME_RULES};
use crate::policies::{self, PolicyError};
use crate::records::{
    self, StoredParameter, StoredPolicy, StoredTag, StoredValue, StoredVersion, ADVANCED,
    DEFAULT_KEY_ID, INTELLIGENT_TIERING, PARAMETERS, SECURE_STRING, STANDARD, STRING, TEXT,
};
use crate::tags::{check_tags, merge_tags};
use crate::{values, Ssm};
use regex::Regex;
use wharf_core::pagination::paginate;
use wharf_core::RequestContext;
use wharf_store::Tx;

/// Versions kept per parameter (AWS: 100).
pub const MAX_VERSIONS: usize = 100;
/// Labels per version (AWS: 10).
pub const MAX_LABELS_PER_VERSION: usize = 10;
/// Tags per parameter (AWS: 50).
pub use wharf_core::tags::MAX_TAGS;
/// Longest Standard-tier value, in characters.
pub const STANDARD_MAX_VALUE: usize = 4096;
/// Longest Advanced-tier value, in characters.
pub const ADVANCED_MAX_VALUE: usize = 8192;
/// GetParametersByPath's page size when `MaxResults` is not given.
const BY_PATH_DEFAULT_MAX: usize = 10;
/// GetParameterHistory's page size when `MaxResults` is not given.
const HISTORY_DEFAULT_MAX: usize = 50;
/// The data types Parameter Store knows.
const DATA_TYPES: &[&str] = &[TEXT, "aws:ec2:image", "aws:ssm:integration"];

/// `ParameterNotFound` for `name`.
pub(crate) fn not_found(name: &str) -> Error {
    Error::ParameterNotFound(format!("Parameter {name} not found."))
}

fn invalid_token() -> Error {
    Error::InvalidNextToken("The NextToken is not valid.".into())
}

/// The AWS error for a malformed name in a request that names a parameter.
pub(crate) fn name_error(name: &str, e: NameError) -> Error {
    match e {
        NameError::Malformed => Error::ValidationException(NAME_RULES.into()),
        NameError::Reserved if name.trim_start_matches('/').contains('/') => {
            Error::ValidationException(format!("No access to reserved parameter name: {name}."))
        }
        NameError::Reserved => Error::ValidationException(
            "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).".into(),
        ),
        NameError::TooManyLevels(n) => Error::HierarchyLevelLimitExceededException(format!(
            "Parameter name {name} has {n} levels: a hierarchy can have a maximum of {} levels.",
            names::MAX_LEVELS
        )),
    }
}

fn reference_error(text: &str, e: ReferenceError) -> Error {
    match e {
        ReferenceError::Name(NameError::TooManyLevels(_)) => not_found(text),
        ReferenceError::Name(e) => name_error(text, e),
        ReferenceError::Selector => Error::ValidationException(format!(
            "The selector in '{text}' is not valid: use name:version or name:label."
        )),
        ReferenceError::Arn => Error::ValidationException(format!(
            "'{text}' is not the ARN of an SSM parameter (arn:aws:ssm:<region>:<account>:parameter/<name>)."
        )),
    }
}

/// `text` (a name, `name:selector` or parameter ARN) as `ctx` reads it; an ARN of another
/// account or region names nothing here.
fn reference(ctx: &RequestContext, text: &str) -> Result<Option<Reference>, Error> {
    let r = names::parse_reference(text, &ctx.account_id, &ctx.region)
        .map_err(|e| reference_error(text, e))?;
    if r.account != ctx.account_id || r.region != ctx.region {
        return Ok(None);
    }
    Ok(Some(r))
}

/// A plain parameter name (no selector, no ARN) as DeleteParameter and LabelParameterVersion
/// take it.
fn plain_name(name: &str) -> Result<(), Error> {
    names::check_format(name).map_err(|e| match e {
        NameError::TooManyLevels(_) => not_found(name),
        e => name_error(name, e),
    })
}

/// The version of `param` that `selector` asks for (the current one without a selector).
pub(crate) fn select<'p>(
    param: &'p StoredParameter,
    selector: Option<&Selector>,
) -> Result<&'p StoredVersion, Error> {
    match selector {
        None => Ok(param.current()),
        Some(Selector::Version(v)) => param
            .versions
            .iter()
            .find(|x| x.version == *v)
            .ok_or_else(|| version_not_found(&param.name, &v.to_string())),
        Some(Selector::Label(l)) => param
            .versions
            .iter()
            .find(|x| x.labels.contains(l))
            .ok_or_else(|| {
                Error::ParameterVersionNotFound(format!(
                    "Systems Manager could not find a version of {} labelled {l}. Verify the label and try again.",
                    param.name
                ))
            }),
    }
}

fn version_not_found(name: &str, version: &str) -> Error {
    Error::ParameterVersionNotFound(format!(
        "Systems Manager could not find version {version} of {name}. Verify the version and try again."
    ))
}

/// The `Parameter` GetParameter(s) and GetParametersByPath show.
fn view(
    ssm: &Ssm,
    ctx: &RequestContext,
    param: &StoredParameter,
    version: &StoredVersion,
    selector: Option<&Selector>,
    decrypt: bool,
) -> Result<Parameter, Error> {
    Ok(Parameter {
        name: Some(param.name.clone()),
        r#type: Some(version.kind.clone()),
        value: Some(values::reveal(
            ssm,
            &ctx.account_id,
            &ctx.region,
            &param.name,
            version,
            decrypt,
        )?),
        version: Some(version.version),
        selector: selector.map(Selector::wire),
        source_result: None,
        last_modified_date: Some(version.last_modified),
        arn: Some(names::arn(&ctx.account_id, &ctx.region, &param.name)),
        data_type: Some(version.data_type.clone()),
    })
}

/// The wire form of stored policies (`PolicyStatus` stays `Pending`: see `policies`).
pub(crate) fn policies_view(policies: &[StoredPolicy]) -> Vec<ParameterInlinePolicy> {
    policies
        .iter()
        .map(|p| ParameterInlinePolicy {
            policy_text: Some(p.text.clone()),
            policy_type: Some(p.kind.clone()),
            policy_status: Some("Pending".into()),
        })
        .collect()
}

fn policy_error(e: PolicyError) -> Error {
    match e {
        PolicyError::Type(m) => Error::InvalidPolicyTypeException(m),
        PolicyError::Attribute(m) => Error::InvalidPolicyAttributeException(m),
        PolicyError::Incompatible(m) => Error::IncompatiblePolicyException(m),
        PolicyError::Limit(m) => Error::PoliciesLimitExceededException(m),
    }
}

/// Whether `key_id` has the form of a KMS key: `alias/<name>`, a key id (UUID or
/// `mrk-<hex>`), or a key / alias ARN.
fn valid_key_id(key_id: &str) -> bool {
    let alias_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
    };
    let key_uuid = |s: &str| {
        let parts: Vec<&str> = s.split('-').collect();
        parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
            && parts
                .iter()
                .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
    };
    let multi_region = |s: &str| {
        s.strip_prefix("mrk-")
            .is_some_and(|h| h.len() == 32 && h.chars().all(|c| c.is_ascii_hexdigit()))
    };
    if let Some(name) = key_id.strip_prefix("alias/") {
        return alias_name(name);
    }
    if let Some(arn) = wharf_core::Arn::parse(key_id) {
        if arn.service != "kms" || arn.region.is_empty() || arn.account.is_empty() {
            return false;
        }
        return match arn.resource_type_and_id() {
            ("key", id) => key_uuid(id) || multi_region(id),
            ("alias", name) => alias_name(name),
            _ => false,
        };
    }
    key_uuid(key_id) || multi_region(key_id)
}

/// The tier a new version gets, and its checks: `requested` (the request's `Tier`),
/// `previous` (the current version's tier, if any).
fn resolve_tier(
    requested: Option<&str>,
    previous: Option<&str>,
    value_chars: usize,
    has_policies: bool,
) -> Result<&'static str, Error> {
    let was_advanced = previous == Some(ADVANCED);
    let tier = match requested {
        Some(ADVANCED) => ADVANCED,
        Some(STANDARD) if was_advanced => {
            return Err(Error::ValidationException(
                "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.".into(),
            ))
        }
        Some(INTELLIGENT_TIERING)
            if was_advanced || value_chars > STANDARD_MAX_VALUE || has_policies =>
        {
            ADVANCED
        }
        None if was_advanced => ADVANCED,
        _ => STANDARD,
    };
    if tier == STANDARD && value_chars > STANDARD_MAX_VALUE {
        return Err(Error::ValidationException(format!(
            "Standard tier parameters support a maximum parameter value of {STANDARD_MAX_VALUE} characters; this value has {value_chars}. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier (Tier Advanced or Intelligent-Tiering)."
        )));
    }
    if tier == STANDARD && has_policies {
        return Err(Error::ValidationException(
            "Parameter policies are supported only for parameters in the advanced-parameter tier: set Tier to Advanced or Intelligent-Tiering.".into(),
        ));
    }
    if value_chars > ADVANCED_MAX_VALUE {
        return Err(Error::ValidationException(format!(
            "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to {ADVANCED_MAX_VALUE} (the value has {value_chars} characters)."
        )));
    }
    Ok(tier)
}

/// Compiles an `AllowedPattern`.
fn compile_pattern(pattern: &str) -> Result<Regex, Error> {
    Regex::new(pattern).map_err(|e| {
        let reason = match e {
            regex::Error::Syntax(s) => s.lines().last().unwrap_or_default().to_string(),
            other => other.to_string(),
        };
        Error::InvalidAllowedPatternException(format!(
            "AllowedPattern {pattern} is not a valid regular expression: {reason}"
        ))
    })
}

/// PutParameter: checks the request, then in one write finds the parameter, resolves what the
/// new version sets or inherits from the current one, makes room for it and stores it.
pub fn put(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: PutParameterRequest,
) -> Result<PutParameterResult, Error> {
    let name = input.name.as_str();
    let checked = check_put_request(ctx, &input)?;
    let key = records::key(&ctx.account_id, &ctx.region, name);
    ssm.store.write(|tx| {
        let existing = existing_for_put(tx, ctx, &key, name, checked.overwrite)?;
        let previous = existing.as_ref().map(StoredParameter::current);
        let settings = VersionSettings::resolve(name, &input, checked.policies, previous)?;
        let mut param = existing.unwrap_or_else(|| StoredParameter {
            name: name.to_string(),
            versions: Vec::new(),
            tags: checked.tags,
        });
        let version = make_room_for_version(&mut param, name)?;
        let value = if settings.kind == SECURE_STRING {
            StoredValue::Sealed(values::seal(
                ssm,
                &ctx.account_id,
                &ctx.region,
                name,
                version,
                &input.value,
            )?)
        } else {
            StoredValue::Plain(input.value.clone())
        };
        let tier = settings.tier;
        param
            .versions
            .push(settings.into_version(version, value, ctx));
        tx.put(PARAMETERS, &key, &param)?;
        tracing::info!(name, version, tier, "parameter put");
        Ok(PutParameterResult {
            version: Some(version),
            tier: Some(tier.to_string()),
        })
    })
}

/// What PutParameter's request gives once its stateless checks pass.
struct CheckedPut {
    /// `Overwrite`.
    overwrite: bool,
    /// `Tags` (only when creating).
    tags: Vec<StoredTag>,
    /// `Policies`, parsed; `None` keeps the current version's.
    policies: Option<Vec<StoredPolicy>>,
}

/// The checks of a PutParameter request that need no stored state, in AWS's order: the name,
/// the value, tags with overwrite, the tags, the data type, the allowed pattern, the policies,
/// the key id.
fn check_put_request(
    ctx: &RequestContext,
    input: &PutParameterRequest,
) -> Result<CheckedPut, Error> {
    let name = input.name.as_str();
    names::check_new_name(name).map_err(|e| name_error(name, e))?;
    if input.value.is_empty() {
        return Err(Error::ValidationException(
            "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.".into(),
        ));
    }
    let overwrite = input.overwrite.unwrap_or(false);
    let new_tags = input.tags.as_deref().unwrap_or_default();
    if overwrite && !new_tags.is_empty() {
        return Err(Error::ValidationException(
            "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.".into(),
        ));
    }
    let tags = merge_tags(&[], new_tags);
    check_tags(&tags)?;
    if let Some(dt) = input.data_type.as_deref() {
        if !DATA_TYPES.contains(&dt) {
            return Err(Error::ValidationException(format!(
                "The following data type is not supported: {dt} (Data type names are all lowercase.)"
            )));
        }
    }
    if let Some(pattern) = input.allowed_pattern.as_deref() {
        compile_pattern(pattern)?;
    }
    let policies = input
        .policies
        .as_deref()
        .map(|text| policies::parse(text, ctx.now))
        .transpose()
        .map_err(policy_error)?;
    if let Some(key_id) = input.key_id.as_deref() {
        if !valid_key_id(key_id) {
            return Err(Error::InvalidKeyId(format!(
                "KeyId {key_id} is not a KMS key id, key ARN, alias name (alias/<name>) or alias ARN."
            )));
        }
    }
    Ok(CheckedPut {
        overwrite,
        tags,
        policies,
    })
}

/// The live parameter stored under `key`, if any; `ParameterAlreadyExists` unless `overwrite`.
/// An expired parameter is gone: the put creates it anew.
fn existing_for_put(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    key: &str,
    name: &str,
    overwrite: bool,
) -> Result<Option<StoredParameter>, Error> {
    let existing = tx.get(PARAMETERS, key)?.filter(|p| live(p, ctx.now));
    if existing.is_some() && !overwrite {
        return Err(Error::ParameterAlreadyExists(format!(
            "The parameter {name} already exists. To overwrite this value, set the overwrite option in the request to true."
        )));
    }
    Ok(existing)
}

/// The settings of a new version: each is the request's, or else the current version's.
struct VersionSettings {
    kind: String,
    key_id: Option<String>,
    description: Option<String>,
    allowed_pattern: Option<String>,
    data_type: String,
    policies: Vec<StoredPolicy>,
    tier: &'static str,
}

impl VersionSettings {
    /// Resolves every setting of the version `input` puts over `previous` (the current
    /// version, if the parameter exists), checking the value against them, in AWS's order:
    /// type, key id, allowed pattern, data type, tier.
    fn resolve(
        name: &str,
        input: &PutParameterRequest,
        new_policies: Option<Vec<StoredPolicy>>,
        previous: Option<&StoredVersion>,
    ) -> Result<Self, Error> {
        let kind = resolve_kind(name, input.r#type.as_deref(), previous)?;
        let key_id = resolve_key_id(name, input.key_id.clone(), &kind, previous)?;
        let description = input
            .description
            .clone()
            .or_else(|| previous.and_then(|p| p.description.clone()));
        let allowed_pattern = input
            .allowed_pattern
            .clone()
            .or_else(|| previous.and_then(|p| p.allowed_pattern.clone()));
        if let Some(pattern) = allowed_pattern.as_deref() {
            if !compile_pattern(pattern)?.is_match(&input.value) {
                return Err(Error::ParameterPatternMismatchException(format!(
                    "Parameter value failed to satisfy constraint specified by allowed pattern: {pattern}"
                )));
            }
        }
        let data_type = input
            .data_type
            .clone()
            .or_else(|| previous.map(|p| p.data_type.clone()))
            .unwrap_or_else(|| TEXT.to_string());
        check_data_type(&data_type, &kind, &input.value)?;
        let policies = match new_policies {
            Some(p) => p,
            None => previous.map(|p| p.policies.clone()).unwrap_or_default(),
        };
        let tier = resolve_tier(
            input.tier.as_deref(),
            previous.map(|p| p.tier.as_str()),
            input.value.chars().count(),
            !policies.is_empty(),
        )?;
        Ok(Self {
            kind,
            key_id,
            description,
            allowed_pattern,
            data_type,
            policies,
            tier,
        })
    }

    /// Version `version` with these settings and `value`, put now by the caller.
    fn into_version(self, version: i64, value: StoredValue, ctx: &RequestContext) -> StoredVersion {
        StoredVersion {
            version,
            kind: self.kind,
            value,
            key_id: self.key_id,
            description: self.description,
            allowed_pattern: self.allowed_pattern,
            tier: self.tier.to_string(),
            policies: self.policies,
            data_type: self.data_type,
            labels: Vec::new(),
            last_modified: ctx.now,
            last_modified_user: ctx.principal_arn.clone(),
        }
    }
}

/// `Type`: the requested one, which must be the current one's if the parameter exists, or
/// the current one's; required when creating.
fn resolve_kind(
    name: &str,
    requested: Option<&str>,
    previous: Option<&StoredVersion>,
) -> Result<String, Error> {
    match (requested, previous) {
        (Some(t), Some(p)) if t != p.kind => Err(Error::HierarchyTypeMismatchException(format!(
            "Parameter Store doesn't support changing a parameter type: {name} is a {} parameter, not {t}. Delete it and create it again to change its type.",
            p.kind
        ))),
        (Some(t), _) => Ok(t.to_string()),
        (None, Some(p)) => Ok(p.kind.clone()),
        (None, None) => Err(Error::ValidationException(format!(
            "A parameter type is required when you create a parameter: set Type (String, StringList or SecureString) for {name}."
        ))),
    }
}

/// `KeyId`: SecureString only; the requested one, else the current one's, else the default
/// key.
fn resolve_key_id(
    name: &str,
    requested: Option<String>,
    kind: &str,
    previous: Option<&StoredVersion>,
) -> Result<Option<String>, Error> {
    let secure = kind == SECURE_STRING;
    match requested {
        Some(_) if !secure => Err(Error::ValidationException(format!(
            "KeyId can be used only with SecureString parameters; {name} is a {kind} parameter."
        ))),
        Some(k) => Ok(Some(k)),
        None if secure => Ok(Some(
            previous
                .and_then(|p| p.key_id.clone())
                .unwrap_or_else(|| DEFAULT_KEY_ID.to_string()),
        )),
        None => Ok(None),
    }
}

/// The number of the version about to be added to `param`; drops the oldest version when
/// [`MAX_VERSIONS`] are kept, unless it carries a label (`ParameterMaxVersionLimitExceeded`).
fn make_room_for_version(param: &mut StoredParameter, name: &str) -> Result<i64, Error> {
    let version = param.versions.last().map_or(1, |v| v.version + 1);
    if param.versions.len() >= MAX_VERSIONS {
        let oldest = &param.versions[0];
        if !oldest.labels.is_empty() {
            return Err(Error::ParameterMaxVersionLimitExceeded(format!(
                "You attempted to create a new version of {name} by calling the PutParameter API with the overwrite flag. Version {}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.",
                oldest.version
            )));
        }
        param.versions.remove(0);
    }
    Ok(version)
}

/// `aws:ec2:image` parameters hold an AMI id (AWS checks that the image exists, which wharf
/// cannot; it checks the form).
fn check_data_type(data_type: &str, kind: &str, value: &str) -> Result<(), Error> {
    if data_type != "aws:ec2:image" {
        return Ok(());
    }
    if kind != STRING {
        return Err(Error::ValidationException(format!(
            "The data type aws:ec2:image is supported only for String parameters, not {kind}."
        )));
    }
    let ami = value.strip_prefix("ami-").is_some_and(|h| {
        (h.len() == 8 || h.len() == 17) && h.chars().all(|c| c.is_ascii_hexdigit())
    });
    if !ami {
        return Err(Error::ValidationException(format!(
            "Parameter value {value} is not a valid Amazon Machine Image (AMI) id such as ami-0123456789abcdef0: data type aws:ec2:image needs one."
        )));
    }
    Ok(())
}

/// GetParameter.
pub fn get(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: GetParameterRequest,
) -> Result<GetParameterResult, Error> {
    let decrypt = input.with_decryption.unwrap_or(false);
    let Some(r) = reference(ctx, &input.name)? else {
        return Err(not_found(&input.name));
    };
    let param = ssm
        .store
        .read(|tx| find(tx, &r.account, &r.region, &r.names, ctx.now))?
        .ok_or_else(|| not_found(r.name()))?;
    let version = select(&param, r.selector.as_ref())?;
    Ok(GetParameterResult {
        parameter: Some(view(
            ssm,
            ctx,
            &param,
            version,
            r.selector.as_ref(),
            decrypt,
        )?),
    })
}

/// GetParameters: what is found, and the names that are not (or whose selector selects
/// nothing) as `InvalidParameters`.
pub fn get_many(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: GetParametersRequest,
) -> Result<GetParametersResult, Error> {
    let decrypt = input.with_decryption.unwrap_or(false);
    let mut wanted: Vec<&String> = Vec::new();
    for name in &input.names {
        if !wanted.contains(&name) {
            wanted.push(name);
        }
    }
    let mut parameters = Vec::new();
    let mut invalid = Vec::new();
    ssm.store.read(|tx| {
        for text in wanted {
            let found = match reference(ctx, text) {
                Ok(Some(r)) => find(tx, &r.account, &r.region, &r.names, ctx.now)?.map(|p| (r, p)),
                Ok(None) | Err(_) => None,
            };
            let Some((r, param)) = found else {
                invalid.push(text.clone());
                continue;
            };
            match select(&param, r.selector.as_ref()) {
                Ok(version) => parameters.push(view(
                    ssm,
                    ctx,
                    &param,
                    version,
                    r.selector.as_ref(),
                    decrypt,
                )?),
                Err(_) => invalid.push(text.clone()),
            }
        }
        Ok::<(), Error>(())
    })?;
    Ok(GetParametersResult {
        parameters: Some(parameters),
        invalid_parameters: Some(invalid),
    })
}

/// GetParametersByPath.
pub fn by_path(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: GetParametersByPathRequest,
) -> Result<GetParametersByPathResult, Error> {
    let path = names::normalize_path(&input.path)
        .ok_or_else(|| Error::ValidationException(names::PATH_RULES.into()))?;
    let recursive = input.recursive.unwrap_or(false);
    let decrypt = input.with_decryption.unwrap_or(false);
    let filters = filters::check(
        input.parameter_filters.as_deref().unwrap_or_default(),
        Usage::ByPath,
    )?;
    let label_filter = filters.iter().find(|f| f.key == filters::Key::Label);
    let max = match input.max_results {
        Some(n) => usize::try_from(n).unwrap_or(BY_PATH_DEFAULT_MAX),
        None => BY_PATH_DEFAULT_MAX,
    };
    let base = records::prefix(&ctx.account_id, &ctx.region);
    let prefix = if path == "/" {
        base
    } else {
        format!("{base}{path}/")
    };
    let all: Vec<(String, StoredParameter)> = ssm.store.read(|tx| tx.list(PARAMETERS, &prefix))?;
    // (parameter, index of the version shown): the current one, or with a Label filter the
    // version carrying one of its labels.
    let mut matching: Vec<(StoredParameter, usize)> = Vec::new();
    for (_, param) in all {
        if !live(&param, ctx.now) || !names::under_path(&param.name, &path, recursive) {
            continue;
        }
        let index = match label_filter {
            Some(f) => match param
                .versions
                .iter()
                .position(|v| v.labels.iter().any(|l| f.values.contains(l)))
            {
                Some(i) => i,
                None => continue,
            },
            None => param.versions.len() - 1,
        };
        if filters
            .iter()
            .all(|f| f.matches(&param, &param.versions[index]))
        {
            matching.push((param, index));
        }
    }
    let (page, next) = paginate(
        matching,
        |(p, _)| p.name.clone(),
        input.next_token.as_deref(),
        max,
    )
    .map_err(|_| invalid_token())?;
    let parameters = page
        .iter()
        .map(|(p, i)| view(ssm, ctx, p, &p.versions[*i], None, decrypt))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(GetParametersByPathResult {
        parameters: Some(parameters),
        next_token: next,
    })
}

/// DeleteParameter.
pub fn delete(ssm: &Ssm, ctx: &RequestContext, name: &str) -> Result<DeleteParameterResult, Error> {
    plain_name(name)?;
    let key = records::key(&ctx.account_id, &ctx.region, name);
    ssm.store.write(|tx| {
        if load(tx, &ctx.account_id, &ctx.region, name, ctx.now)?.is_none() {
            return Err(not_found(name));
        }
        tx.delete(PARAMETERS, &key)?;
        tracing::info!(name, "parameter deleted");
        Ok(DeleteParameterResult {})
    })
}

/// DeleteParameters: the names deleted, and those that name no parameter.
pub fn delete_many(
    ssm: &Ssm,
    ctx: &RequestContext,
    names_given: &[String],
) -> Result<DeleteParametersResult, Error> {
    let mut deleted = Vec::new();
    let mut invalid = Vec::new();
    ssm.store.write(|tx| {
        for name in names_given {
            if deleted.contains(name) || invalid.contains(name) {
                continue;
            }
            if names::check_format(name).is_err() {
                invalid.push(name.clone());
                continue;
            }
            let key = records::key(&ctx.account_id, &ctx.region, name);
            match tx.get::<StoredParameter>(PARAMETERS, &key)? {
                Some(param) => {
                    tx.delete(PARAMETERS, &key)?;
                    if live(&param, ctx.now) {
                        deleted.push(name.clone());
                    } else {
                        invalid.push(name.clone());
                    }
                }
                None => invalid.push(name.clone()),
            }
        }
        Ok::<(), Error>(())
    })?;
    tracing::info!(deleted = deleted.len(), "parameters deleted");
    Ok(DeleteParametersResult {
        deleted_parameters: Some(deleted),
        invalid_parameters: Some(invalid),
    })
}

/// GetParameterHistory: every version kept, oldest first.
pub fn history(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: GetParameterHistoryRequest,
) -> Result<GetParameterHistoryResult, Error> {
    let decrypt = input.with_decryption.unwrap_or(false);
    let Some(r) = reference(ctx, &input.name)? else {
        return Err(not_found(&input.name));
    };
    if r.selector.is_some() {
        return Err(Error::ValidationException(format!(
            "GetParameterHistory takes a parameter name without a version or label: {}",
            input.name
        )));
    }
    let param = ssm
        .store
        .read(|tx| find(tx, &r.account, &r.region, &r.names, ctx.now))?
        .ok_or_else(|| not_found(r.name()))?;
    let max = match input.max_results {
        Some(n) => usize::try_from(n).unwrap_or(HISTORY_DEFAULT_MAX),
        None => HISTORY_DEFAULT_MAX,
    };
    let (page, next) = paginate(
        param.versions.clone(),
        |v| format!("{:020}", v.version),
        input.next_token.as_deref(),
        max,
    )
    .map_err(|_| invalid_token())?;
    let parameters = page
        .iter()
        .map(|v| {
            Ok(ParameterHistory {
                name: Some(param.name.clone()),
                r#type: Some(v.kind.clone()),
                key_id: v.key_id.clone(),
                last_modified_date: Some(v.last_modified),
                last_modified_user: Some(v.last_modified_user.clone()),
                description: v.description.clone(),
                value: Some(values::reveal(
                    ssm,
                    &ctx.account_id,
                    &ctx.region,
                    &param.name,
                    v,
                    decrypt,
                )?),
                allowed_pattern: v.allowed_pattern.clone(),
                version: Some(v.version),
                labels: Some(v.labels.clone()),
                tier: Some(v.tier.clone()),
                policies: Some(policies_view(&v.policies)),
                data_type: Some(v.data_type.clone()),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(GetParameterHistoryResult {
        parameters: Some(parameters),
        next_token: next,
    })
}

/// LabelParameterVersion: attaches the valid labels to the version (moving any that another
/// version carries) and returns the invalid ones.
pub fn label(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: LabelParameterVersionRequest,
) -> Result<LabelParameterVersionResult, Error> {
    let name = input.name.as_str();
    plain_name(name)?;
    let mut valid: Vec<String> = Vec::new();
    let mut invalid: Vec<String> = Vec::new();
    for l in &input.labels {
        if !names::valid_label(l) {
            if !invalid.contains(l) {
                invalid.push(l.clone());
            }
        } else if !valid.contains(l) {
            valid.push(l.clone());
        }
    }
    ssm.store.write(|tx| {
        let mut param = load(tx, &ctx.account_id, &ctx.region, name, ctx.now)?
            .ok_or_else(|| not_found(name))?;
        let target = input
            .parameter_version
            .unwrap_or_else(|| param.current().version);
        let index = param
            .versions
            .iter()
            .position(|v| v.version == target)
            .ok_or_else(|| version_not_found(name, &target.to_string()))?;
        let mut labels = param.versions[index].labels.clone();
        for l in &valid {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        if labels.len() > MAX_LABELS_PER_VERSION {
            return Err(Error::ParameterVersionLabelLimitExceeded(format!(
                "A parameter version can have maximum {MAX_LABELS_PER_VERSION} labels: version {target} of {name} would have {}. Move one or more labels to another version and try again.",
                labels.len()
            )));
        }
        for v in param.versions.iter_mut() {
            v.labels.retain(|l| !valid.contains(l));
        }
        param.versions[index].labels = labels;
        tx.put(
            PARAMETERS,
            &records::key(&ctx.account_id, &ctx.region, name),
            &param,
        )?;
        Ok(LabelParameterVersionResult {
            invalid_labels: Some(invalid.clone()),
            parameter_version: Some(target),
        })
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;
    use wharf_core::ids::RandomIds;
    use wharf_core::{Clock, FakeClock, Sealer, Timestamp};
    use wharf_store::Store;

    pub(crate) const NOW: i64 = 1_700_000_000_000;

    pub(crate) fn setup() -> (tempfile::TempDir, Arc<Ssm>, Arc<FakeClock>, RequestContext) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("state.db")).unwrap());
        let clock = Arc::new(FakeClock::new(Timestamp::from_millis(NOW)));
        let sealer = Arc::new(Sealer::from_key(&[9u8; 32]).unwrap());
        let ssm = Arc::new(Ssm::new(store, Arc::new(RandomIds), clock.clone(), sealer));
        let ctx =
            RequestContext::for_tests("us-east-1", "123456789012", Timestamp::from_millis(NOW));
        (dir, ssm, clock, ctx)
    }

    pub(crate) fn put_req(name: &str, value: &str, kind: Option<&str>) -> PutParameterRequest {
        PutParameterRequest {
            name: name.into(),
            value: value.into(),
            r#type: kind.map(str::to_string),
            ..Default::default()
        }
    }

    fn get_value(
        ssm: &Ssm,
        ctx: &RequestContext,
        name: &str,
        decrypt: bool,
    ) -> Result<Parameter, Error> {
        get(
            ssm,
            ctx,
            GetParameterRequest {
                name: name.into(),
                with_decryption: Some(decrypt),
            },
        )
        .map(|r| r.parameter.unwrap())
    }

    #[test]
    fn versions_count_from_one_and_overwrite_is_required() {
        let (_d, ssm, _c, ctx) = setup();
        let r = put(&ssm, &ctx, put_req("/app/db", "one", Some("String"))).unwrap();
        assert_eq!((r.version, r.tier.as_deref()), (Some(1), Some("Standard")));
        assert!(matches!(
            put(&ssm, &ctx, put_req("/app/db", "two", Some("String"))),
            Err(Error::ParameterAlreadyExists(_))
        ));
        let mut again = put_req("/app/db", "two", None);
        again.overwrite = Some(true);
        assert_eq!(put(&ssm, &ctx, again).unwrap().version, Some(2));
        let p = get_value(&ssm, &ctx, "/app/db", false).unwrap();
        assert_eq!(p.value.as_deref(), Some("two"));
        assert_eq!(p.r#type.as_deref(), Some("String"));
        assert_eq!(p.version, Some(2));
        assert_eq!(p.last_modified_date, Some(Timestamp::from_millis(NOW)));
        assert_eq!(
            p.arn.as_deref(),
            Some("arn:aws:ssm:us-east-1:123456789012:parameter/app/db")
        );
        assert_eq!(p.data_type.as_deref(), Some("text"));
        assert_eq!(p.selector, None);
    }

    #[test]
    fn put_refuses_what_aws_refuses() {
        let (_d, ssm, _c, ctx) = setup();
        let cases: Vec<(PutParameterRequest, &str)> = vec![
            (put_req("aws-x", "v", Some("String")), "ValidationException"),
            (put_req("/ssm/x", "v", Some("String")), "ValidationException"),
            (put_req("a/b", "v", Some("String")), "ValidationException"),
            (put_req("a b", "v", Some("String")), "ValidationException"),
            (put_req("new", "v", None), "ValidationException"),
            (put_req("empty", "", Some("String")), "ValidationException"),
            (
                put_req(&"/l".repeat(16), "v", Some("String")),
                "HierarchyLevelLimitExceededException",
            ),
            (
                PutParameterRequest {
                    overwrite: Some(true),
                    tags: Some(vec![Tag {
                        key: "a".into(),
                        value: "b".into(),
                    }]),
                    ..put_req("t", "v", Some("String"))
                },
                "ValidationException",
            ),
            (
                PutParameterRequest {
                    key_id: Some("alias/mine".into()),
                    ..put_req("k", "v", Some("String"))
                },
                "ValidationException",
            ),
            (
                PutParameterRequest {
                    key_id: Some("not a key".into()),
                    ..put_req("k", "v", Some("SecureString"))
                },
                "InvalidKeyId",
            ),
            (
                PutParameterRequest {
                    allowed_pattern: Some("^\\d+$".into()),
                    ..put_req("p", "abc", Some("String"))
                },
                "ParameterPatternMismatchException",
            ),
            (
                PutParameterRequest {
                    allowed_pattern: Some("(".into()),
                    ..put_req("p", "abc", Some("String"))
                },
                "InvalidAllowedPatternException",
            ),
            (
                PutParameterRequest {
                    data_type: Some("Text".into()),
                    ..put_req("d", "abc", Some("String"))
                },
                "ValidationException",
            ),
            (
                PutParameterRequest {
                    data_type: Some("aws:ec2:image".into()),
                    ..put_req("d", "abc", Some("String"))
                },
                "ValidationException",
            ),
            (
                put_req("big", &"x".repeat(4097), Some("String")),
                "ValidationException",
            ),
            (
                PutParameterRequest {
                    tier: Some("Advanced".into()),
                    ..put_req("huge", &"x".repeat(8193), Some("String"))
                },
                "ValidationException",
            ),
            (
                PutParameterRequest {
                    policies: Some(r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00Z"}}]"#.into()),
                    ..put_req("pol", "v", Some("String"))
                },
                "ValidationException",
            ),
        ];
        for (req, code) in cases {
            let name = req.name.clone();
            let err = put(&ssm, &ctx, req).expect_err(&name);
            assert_eq!(err.shape(), code, "{name}: {err}");
        }
        // None of them was created.
        let all: Vec<(String, StoredParameter)> =
            ssm.store.read(|tx| tx.list(PARAMETERS, "")).unwrap();
        assert!(all.is_empty());
    }

    #[test]
    fn tiers_and_intelligent_tiering() {
        let (_d, ssm, _c, ctx) = setup();
        let small = PutParameterRequest {
            tier: Some("Intelligent-Tiering".into()),
            ..put_req("it", "v", Some("String"))
        };
        assert_eq!(
            put(&ssm, &ctx, small).unwrap().tier.as_deref(),
            Some("Standard")
        );
        let big = PutParameterRequest {
            tier: Some("Intelligent-Tiering".into()),
            overwrite: Some(true),
            ..put_req("it", &"x".repeat(5000), None)
        };
        assert_eq!(
            put(&ssm, &ctx, big).unwrap().tier.as_deref(),
            Some("Advanced")
        );
        // Advanced stays Advanced without a Tier; Standard is refused.
        let keep = PutParameterRequest {
            overwrite: Some(true),
            ..put_req("it", "small", None)
        };
        assert_eq!(
            put(&ssm, &ctx, keep).unwrap().tier.as_deref(),
            Some("Advanced")
        );
        let down = PutParameterRequest {
            overwrite: Some(true),
            tier: Some("Standard".into()),
            ..put_req("it", "small", None)
        };
        assert_eq!(
            put(&ssm, &ctx, down).unwrap_err().shape(),
            "ValidationException"
        );
        let adv = PutParameterRequest {
            tier: Some("Advanced".into()),
            ..put_req("adv", &"y".repeat(8192), Some("String"))
        };
        assert_eq!(
            put(&ssm, &ctx, adv).unwrap().tier.as_deref(),
            Some("Advanced")
        );
    }

    #[test]
    fn secure_strings_are_sealed_and_shown_only_decrypted() {
        let (_d, ssm, _c, ctx) = setup();
        put(
            &ssm,
            &ctx,
            put_req("/s/pw", "hunter2-secret", Some("SecureString")),
        )
        .unwrap();
        let raw: StoredParameter = ssm
            .store
            .read(|tx| tx.get(PARAMETERS, "123456789012/us-east-1//s/pw"))
            .unwrap()
            .unwrap();
        let text = serde_json::to_string(&raw).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(matches!(raw.current().value, StoredValue::Sealed(_)));
        assert_eq!(raw.current().key_id.as_deref(), Some("alias/aws/ssm"));
        let hidden = get_value(&ssm, &ctx, "/s/pw", false)
            .unwrap()
            .value
            .unwrap();
        assert!(
            !hidden.contains("hunter2") && !hidden.is_empty(),
            "{hidden}"
        );
        let shown = get_value(&ssm, &ctx, "/s/pw", true).unwrap().value.unwrap();
        assert_eq!(shown, "hunter2-secret");
        // Changing the type is refused.
        let change = PutParameterRequest {
            overwrite: Some(true),
            ..put_req("/s/pw", "x", Some("String"))
        };
        assert_eq!(
            put(&ssm, &ctx, change).unwrap_err().shape(),
            "HierarchyTypeMismatchException"
        );
        // A custom key is kept by later versions.
        let custom = PutParameterRequest {
            overwrite: Some(true),
            key_id: Some("alias/app".into()),
            ..put_req("/s/pw", "v2", None)
        };
        put(&ssm, &ctx, custom).unwrap();
        let v3 = PutParameterRequest {
            overwrite: Some(true),
            ..put_req("/s/pw", "v3", None)
        };
        put(&ssm, &ctx, v3).unwrap();
        let raw: StoredParameter = ssm
            .store
            .read(|tx| tx.get(PARAMETERS, "123456789012/us-east-1//s/pw"))
            .unwrap()
            .unwrap();
        assert_eq!(raw.current().key_id.as_deref(), Some("alias/app"));
        assert_eq!(raw.current().kind, "SecureString");
    }

    #[test]
    fn selectors_by_version_and_label() {
        let (_d, ssm, _c, ctx) = setup();
        put(&ssm, &ctx, put_req("/app/v", "one", Some("String"))).unwrap();
        for value in ["two", "three"] {
            let req = PutParameterRequest {
                overwrite: Some(true),
                ..put_req("/app/v", value, None)
            };
            put(&ssm, &ctx, req).unwrap();
        }
        let p = get_value(&ssm, &ctx, "/app/v:1", false).unwrap();
        assert_eq!(
            (p.value.as_deref(), p.version, p.selector.as_deref()),
            (Some("one"), Some(1), Some(":1"))
        );
        assert_eq!(
            get_value(&ssm, &ctx, "/app/v:9", false)
                .unwrap_err()
                .shape(),
            "ParameterVersionNotFound"
        );
        let labelled = label(
            &ssm,
            &ctx,
            LabelParameterVersionRequest {
                name: "/app/v".into(),
                parameter_version: Some(2),
                labels: vec!["prod".into(), "1bad".into(), "awsx".into()],
            },
        )
        .unwrap();
        assert_eq!(labelled.parameter_version, Some(2));
        assert_eq!(
            labelled.invalid_labels,
            Some(vec!["1bad".to_string(), "awsx".to_string()])
        );
        let p = get_value(&ssm, &ctx, "/app/v:prod", false).unwrap();
        assert_eq!(
            (p.value.as_deref(), p.selector.as_deref()),
            (Some("two"), Some(":prod"))
        );
        // The label moves to the current version when no version is given.
        label(
            &ssm,
            &ctx,
            LabelParameterVersionRequest {
                name: "/app/v".into(),
                parameter_version: None,
                labels: vec!["prod".into()],
            },
        )
        .unwrap();
        assert_eq!(
            get_value(&ssm, &ctx, "/app/v:prod", false).unwrap().version,
            Some(3)
        );
        let h = history(
            &ssm,
            &ctx,
            GetParameterHistoryRequest {
                name: "/app/v".into(),
                ..Default::default()
            },
        )
        .unwrap()
        .parameters
        .unwrap();
        let labels: Vec<Vec<String>> = h.iter().map(|v| v.labels.clone().unwrap()).collect();
        assert_eq!(labels, vec![vec![], vec![], vec!["prod".to_string()]]);
        assert_eq!(
            get_value(&ssm, &ctx, "/app/v:staging", false)
                .unwrap_err()
                .shape(),
            "ParameterVersionNotFound"
        );
        assert_eq!(
            get_value(&ssm, &ctx, "/nope", false).unwrap_err().shape(),
            "ParameterNotFound"
        );
        // Ten labels per version at most.
        let many: Vec<String> = (0..10).map(|i| format!("l{i}")).collect();
        let err = label(
            &ssm,
            &ctx,
            LabelParameterVersionRequest {
                name: "/app/v".into(),
                parameter_version: Some(3),
                labels: many,
            },
        )
        .unwrap_err();
        assert_eq!(err.shape(), "ParameterVersionLabelLimitExceeded");
    }

    #[test]
    fn one_hundred_versions_then_the_oldest_goes_unless_labelled() {
        let (_d, ssm, _c, ctx) = setup();
        put(&ssm, &ctx, put_req("many", "0", Some("String"))).unwrap();
        label(
            &ssm,
            &ctx,
            LabelParameterVersionRequest {
                name: "many".into(),
                parameter_version: Some(1),
                labels: vec!["first".into()],
            },
        )
        .unwrap();
        let over = |v: usize| PutParameterRequest {
            overwrite: Some(true),
            ..put_req("many", &v.to_string(), None)
        };
        for v in 2..=100 {
            put(&ssm, &ctx, over(v)).unwrap();
        }
        assert_eq!(
            put(&ssm, &ctx, over(101)).unwrap_err().shape(),
            "ParameterMaxVersionLimitExceeded"
        );
        label(
            &ssm,
            &ctx,
            LabelParameterVersionRequest {
                name: "many".into(),
                parameter_version: Some(50),
                labels: vec!["first".into()],
            },
        )
        .unwrap();
        assert_eq!(put(&ssm, &ctx, over(101)).unwrap().version, Some(101));
        assert_eq!(
            get_value(&ssm, &ctx, "many:1", false).unwrap_err().shape(),
            "ParameterVersionNotFound"
        );
        assert_eq!(
            get_value(&ssm, &ctx, "many:2", false)
                .unwrap()
                .value
                .as_deref(),
            Some("2")
        );
    }

    #[test]
    fn paths_recursive_and_one_level_with_pages() {
        let (_d, ssm, _c, ctx) = setup();
        for name in ["/app/a", "/app/b", "/app/db/host", "/application/x", "root"] {
            put(&ssm, &ctx, put_req(name, "v", Some("String"))).unwrap();
        }
        let names_of = |r: GetParametersByPathResult| -> Vec<String> {
            r.parameters
                .unwrap()
                .into_iter()
                .map(|p| p.name.unwrap())
                .collect()
        };
        let one = by_path(
            &ssm,
            &ctx,
            GetParametersByPathRequest {
                path: "/app".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(names_of(one), vec!["/app/a", "/app/b"]);
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = by_path(
                &ssm,
                &ctx,
                GetParametersByPathRequest {
                    path: "/app/".into(),
                    recursive: Some(true),
                    max_results: Some(2),
                    next_token: token.clone(),
                    ..Default::default()
                },
            )
            .unwrap();
            token = page.next_token.clone();
            seen.extend(names_of(page));
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen, vec!["/app/a", "/app/b", "/app/db/host"]);
        let root = by_path(
            &ssm,
            &ctx,
            GetParametersByPathRequest {
                path: "/".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(names_of(root), vec!["root"]);
        let bad = by_path(
            &ssm,
            &ctx,
            GetParametersByPathRequest {
                path: "app".into(),
                ..Default::default()
            },
        );
        assert_eq!(bad.unwrap_err().shape(), "ValidationException");
    }

    #[test]
    fn expiration_policies_delete_the_parameter() {
        let (_d, ssm, clock, ctx) = setup();
        let req = PutParameterRequest {
            tier: Some("Advanced".into()),
            policies: Some(
                r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2023-11-15T00:00:00.000Z"}}]"#
                    .into(),
            ),
            ..put_req("/temp", "v", Some("String"))
        };
        put(&ssm, &ctx, req).unwrap();
        assert!(get_value(&ssm, &ctx, "/temp", false).is_ok());
        clock.advance(2 * 24 * 3600 * 1000);
        let later = RequestContext::for_tests("us-east-1", "123456789012", clock.now());
        assert_eq!(
            get_value(&ssm, &later, "/temp", false).unwrap_err().shape(),
            "ParameterNotFound"
        );
        // The name is free again: a new parameter starts at version 1.
        let again = put(&ssm, &later, put_req("/temp", "new", Some("String"))).unwrap();
        assert_eq!(again.version, Some(1));
    }

    #[test]
    fn get_and_delete_many() {
        let (_d, ssm, _c, ctx) = setup();
        put(&ssm, &ctx, put_req("a", "1", Some("String"))).unwrap();
        put(&ssm, &ctx, put_req("b", "2", Some("StringList"))).unwrap();
        let got = get_many(
            &ssm,
            &ctx,
            GetParametersRequest {
                names: vec![
                    "a".into(),
                    "missing".into(),
                    "b:1".into(),
                    "a:7".into(),
                    "a".into(),
                ],
                with_decryption: None,
            },
        )
        .unwrap();
        let found: Vec<String> = got
            .parameters
            .unwrap()
            .into_iter()
            .map(|p| p.name.unwrap())
            .collect();
        assert_eq!(found, vec!["a", "b"]);
        assert_eq!(got.invalid_parameters.unwrap(), vec!["missing", "a:7"]);
        let del = delete_many(&ssm, &ctx, &["a".into(), "nope".into(), "b".into()]).unwrap();
        assert_eq!(del.deleted_parameters.unwrap(), vec!["a", "b"]);
        assert_eq!(del.invalid_parameters.unwrap(), vec!["nope"]);
        assert_eq!(
            delete(&ssm, &ctx, "a").unwrap_err().shape(),
            "ParameterNotFound"
        );
    }

    #[test]
    fn parameters_are_per_account_and_region() {
        let (_d, ssm, _c, ctx) = setup();
        put(&ssm, &ctx, put_req("/x", "v", Some("String"))).unwrap();
        let other_region = RequestContext::for_tests("eu-west-1", "123456789012", ctx.now);
        assert_eq!(
            get_value(&ssm, &other_region, "/x", false)
                .unwrap_err()
                .shape(),
            "ParameterNotFound"
        );
        let other_account = RequestContext::for_tests("us-east-1", "210987654321", ctx.now);
        assert_eq!(
            get_value(&ssm, &other_account, "/x", false)
                .unwrap_err()
                .shape(),
            "ParameterNotFound"
        );
        let by_arn = get_value(
            &ssm,
            &ctx,
            "arn:aws:ssm:us-east-1:123456789012:parameter/x",
            false,
        )
        .unwrap();
        assert_eq!(by_arn.name.as_deref(), Some("/x"));
    }

    #[test]
    fn task_reads() {
        let (_d, ssm, clock, ctx) = setup();
        put(
            &ssm,
            &ctx,
            put_req("/app/db/password", "s3cret", Some("SecureString")),
        )
        .unwrap();
        put(&ssm, &ctx, put_req("db-host", "db.local", Some("String"))).unwrap();
        assert_eq!(
            ssm.value_for_task("123456789012", "us-east-1", "/app/db/password")
                .unwrap(),
            "s3cret"
        );
        assert_eq!(
            ssm.value_for_task(
                "123456789012",
                "us-west-2",
                "arn:aws:ssm:us-east-1:123456789012:parameter/app/db/password"
            )
            .unwrap(),
            "s3cret"
        );
        assert_eq!(
            ssm.value_for_task(
                "123456789012",
                "us-east-1",
                "arn:aws:ssm:us-east-1:123456789012:parameter/db-host"
            )
            .unwrap(),
            "db.local"
        );
        assert_eq!(
            ssm.value_for_task("123456789012", "us-east-1", "/missing").unwrap_err().0,
            "unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm parameters: /missing"
        );
        assert!(ssm
            .value_for_task("210987654321", "us-east-1", "db-host")
            .is_err());
        assert_eq!(
            ssm.value_for_task("123456789012", "us-east-1", "db-host:1")
                .unwrap(),
            "db.local"
        );
        // A task reads with the service's clock: an expired parameter is gone for it too.
        let expiring = PutParameterRequest {
            tier: Some("Advanced".into()),
            policies: Some(
                r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2023-11-15T00:00:00Z"}}]"#
                    .into(),
            ),
            ..put_req("/app/token", "t", Some("SecureString"))
        };
        put(&ssm, &ctx, expiring).unwrap();
        assert_eq!(
            ssm.value_for_task("123456789012", "us-east-1", "/app/token")
                .unwrap(),
            "t"
        );
        clock.advance(24 * 3600 * 1000);
        assert!(ssm
            .value_for_task("123456789012", "us-east-1", "/app/token")
            .is_err());
    }
}
