//! AWS Systems Manager Parameter Store: String, StringList and SecureString parameters with
//! versions (up to 100 kept), labels, hierarchies (paths), tiers, policies and tags, and the
//! values tasks read through their containers' `secrets` ([`Ssm::value_for_task`]).
//!
//! Module map:
//! - `generated`: botocore-derived types and the `SsmApi` trait
//! - `names`: names, paths, selectors (`name:3`, `name:prod`), labels and ARNs (pure)
//! - `policies`: parameter policies (`Expiration` enforced) (pure)
//! - `filters`: `ParameterFilters` of DescribeParameters and GetParametersByPath (pure)
//! - `records`: the stored parameter records
//! - `parameters`: Put / Get / GetParameters / GetParametersByPath / Delete / History / Label
//! - `describe`: DescribeParameters
//! - `tags`: AddTagsToResource / RemoveTagsFromResource / ListTagsForResource
//!
//! Parameters are regional: keyed `<account>/<region>/<name>`. SecureString values are sealed
//! with the data directory's key ([`wharf_core::Sealer`]) before they reach the store, and are
//! shown only when the caller asks for decryption; wharf has no KMS, so a `KeyId` is checked
//! for form and reported, and every value is sealed with wharf's own key. Values are never
//! logged.

pub mod describe;
pub mod filters;
pub mod generated;
pub mod names;
pub mod parameters;
pub mod policies;
pub mod records;
pub mod tags;

use generated::*;
use records::{StoredParameter, StoredValue, StoredVersion, PARAMETERS};
use std::sync::Arc;
use wharf_core::{Clock, IdGen, RequestContext, Sealer, SecretValueError, Timestamp};
use wharf_store::{Store, StoreError, Tx};

/// The Parameter Store service.
pub struct Ssm {
    pub(crate) store: Arc<Store>,
    /// The time for callers without a request (tasks reading their secrets).
    pub(crate) clock: Arc<dyn Clock>,
    /// Seals SecureString values before they are stored, opens them for WithDecryption.
    pub(crate) sealer: Arc<Sealer>,
}

impl Ssm {
    /// Parameter Store over `store`, reading the time for task reads from `clock` and sealing
    /// SecureString values with `sealer`. (`ids` is taken as every service takes it;
    /// Parameter Store makes no random identifiers.)
    pub fn new(
        store: Arc<Store>,
        ids: Arc<dyn IdGen>,
        clock: Arc<dyn Clock>,
        sealer: Arc<Sealer>,
    ) -> Self {
        let _ = ids;
        Self {
            store,
            clock,
            sealer,
        }
    }

    /// For a task's `secrets[].valueFrom` that is an SSM parameter ARN
    /// (`arn:aws:ssm:<region>:<account>:parameter/<name without leading slash>`) or a parameter
    /// name (`/app/db/host`, `db-host`, optionally `:<version>` or `:<label>`): the current (or
    /// selected) value, decrypted.
    ///
    /// An ARN may name another region of the task's account; a name is looked up in the task's
    /// region. Failures read as the ECS agent reports them.
    pub fn value_for_task(
        &self,
        account: &str,
        region: &str,
        value_from: &str,
    ) -> Result<String, SecretValueError> {
        let invalid = || {
            SecretValueError(format!(
                "unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm parameters: {value_from}"
            ))
        };
        let reference =
            names::parse_reference(value_from, account, region).map_err(|_| invalid())?;
        if reference.account != account {
            // Parameters shared across accounts are not supported.
            return Err(invalid());
        }
        let now = self.clock.now();
        let found = self
            .store
            .read(|tx| find(tx, &reference.account, &reference.region, &reference.names, now))
            .map_err(|e| {
                tracing::error!(error = %e, "ssm state store failure while a task read a parameter");
                SecretValueError(
                    "unable to retrieve secrets from ssm: wharf could not read its state store"
                        .into(),
                )
            })?;
        let param = found.ok_or_else(invalid)?;
        let version =
            parameters::select(&param, reference.selector.as_ref()).map_err(|_| invalid())?;
        self.reveal(
            &reference.account,
            &reference.region,
            &param.name,
            version,
            true,
        )
        .map_err(|e| {
            SecretValueError(format!(
                "unable to retrieve secrets from ssm: {}",
                e.message()
            ))
        })
    }

    /// `plaintext` sealed as the value of `version` of `name`.
    pub(crate) fn seal(
        &self,
        account: &str,
        region: &str,
        name: &str,
        version: i64,
        plaintext: &str,
    ) -> Result<String, Error> {
        let context = records::seal_context(account, region, name, version);
        self.sealer
            .seal(&context, plaintext.as_bytes())
            .map_err(|e| {
                tracing::error!(error = %e, name, version, "cannot seal a SecureString value");
                Error::InternalServerError(format!(
                    "wharf could not encrypt the value of {name}: {e}"
                ))
            })
    }

    /// The value of `version` of `name` as a caller sees it: String and StringList values as
    /// they are; SecureString values decrypted when `decrypt`, otherwise in their encrypted
    /// form (base64 ciphertext, as AWS shows the KMS ciphertext).
    pub(crate) fn reveal(
        &self,
        account: &str,
        region: &str,
        name: &str,
        version: &StoredVersion,
        decrypt: bool,
    ) -> Result<String, Error> {
        match &version.value {
            StoredValue::Plain(v) => Ok(v.clone()),
            StoredValue::Sealed(sealed) if !decrypt => {
                Ok(sealed.strip_prefix("v1:").unwrap_or(sealed).to_string())
            }
            StoredValue::Sealed(sealed) => {
                let context = records::seal_context(account, region, name, version.version);
                let failed = |reason: &str| {
                    tracing::error!(
                        name,
                        version = version.version,
                        reason,
                        "cannot decrypt a SecureString value"
                    );
                    Error::InternalServerError(format!(
                        "wharf could not decrypt version {} of {name}: {reason}",
                        version.version
                    ))
                };
                let plain = self
                    .sealer
                    .open(&context, sealed)
                    .map_err(|e| failed(&e.to_string()))?;
                String::from_utf8(plain).map_err(|_| failed("the decrypted value is not UTF-8"))
            }
        }
    }
}

/// The live parameter among `names` (the first that exists) of `account` in `region`: one
/// whose Expiration policy has passed at `now` is gone.
pub(crate) fn find(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    names: &[String],
    now: Timestamp,
) -> Result<Option<StoredParameter>, StoreError> {
    for name in names {
        if let Some(p) = load(tx, account, region, name, now)? {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// Parameter `name` of `account` in `region`, unless absent or expired at `now`.
pub(crate) fn load(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    name: &str,
    now: Timestamp,
) -> Result<Option<StoredParameter>, StoreError> {
    let found: Option<StoredParameter> =
        tx.get(PARAMETERS, &records::key(account, region, name))?;
    Ok(found.filter(|p| live(p, now)))
}

/// Whether `p` still exists at `now` (its Expiration policy, if any, has not passed).
pub(crate) fn live(p: &StoredParameter, now: Timestamp) -> bool {
    !policies::expired(&p.current().policies, now)
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "ssm state store failure");
        Error::InternalServerError(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}

impl SsmApi for Arc<Ssm> {
    fn put_parameter(
        &self,
        ctx: &RequestContext,
        input: PutParameterRequest,
    ) -> Result<PutParameterResult, Error> {
        parameters::put(self, ctx, input)
    }

    fn get_parameter(
        &self,
        ctx: &RequestContext,
        input: GetParameterRequest,
    ) -> Result<GetParameterResult, Error> {
        parameters::get(self, ctx, input)
    }

    fn get_parameters(
        &self,
        ctx: &RequestContext,
        input: GetParametersRequest,
    ) -> Result<GetParametersResult, Error> {
        parameters::get_many(self, ctx, input)
    }

    fn get_parameters_by_path(
        &self,
        ctx: &RequestContext,
        input: GetParametersByPathRequest,
    ) -> Result<GetParametersByPathResult, Error> {
        parameters::by_path(self, ctx, input)
    }

    fn delete_parameter(
        &self,
        ctx: &RequestContext,
        input: DeleteParameterRequest,
    ) -> Result<DeleteParameterResult, Error> {
        parameters::delete(self, ctx, &input.name)
    }

    fn delete_parameters(
        &self,
        ctx: &RequestContext,
        input: DeleteParametersRequest,
    ) -> Result<DeleteParametersResult, Error> {
        parameters::delete_many(self, ctx, &input.names)
    }

    fn describe_parameters(
        &self,
        ctx: &RequestContext,
        input: DescribeParametersRequest,
    ) -> Result<DescribeParametersResult, Error> {
        describe::describe(self, ctx, input)
    }

    fn get_parameter_history(
        &self,
        ctx: &RequestContext,
        input: GetParameterHistoryRequest,
    ) -> Result<GetParameterHistoryResult, Error> {
        parameters::history(self, ctx, input)
    }

    fn label_parameter_version(
        &self,
        ctx: &RequestContext,
        input: LabelParameterVersionRequest,
    ) -> Result<LabelParameterVersionResult, Error> {
        parameters::label(self, ctx, input)
    }

    fn add_tags_to_resource(
        &self,
        ctx: &RequestContext,
        input: AddTagsToResourceRequest,
    ) -> Result<AddTagsToResourceResult, Error> {
        tags::add(self, ctx, input)
    }

    fn remove_tags_from_resource(
        &self,
        ctx: &RequestContext,
        input: RemoveTagsFromResourceRequest,
    ) -> Result<RemoveTagsFromResourceResult, Error> {
        tags::remove(self, ctx, input)
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResult, Error> {
        tags::list(self, ctx, input)
    }
}
