//! AWS Secrets Manager: secrets with versions and staging labels, values sealed at rest, recovery
//! windows — and the values of secrets tasks name in `secrets[].valueFrom`.
//!
//! Module map:
//! - `generated`: botocore-derived types and the `SecretsManagerApi` trait
//! - `names`: secret names, ARNs and the `SecretId` forms (name, full or partial ARN)
//! - `records`: the stored secret and value records
//! - `versions`: staging labels (pure)
//! - `filters`: ListSecrets filters (pure)
//! - `password`: GetRandomPassword (pure)
//! - `secrets`: the operations
//! - `task_secrets`: `valueFrom` references as the ECS agent reads them
//!
//! Secrets are regional: they are keyed `<account>/<region>/<name>`, and an ARN of another
//! account or Region is not found. Values are stored only sealed ([`wharf_core::Sealer`], bound
//! to `<secret ARN>/<version id>`) and are never logged.

pub mod filters;
pub mod generated;
pub mod names;
pub mod password;
pub mod records;
pub mod secrets;
pub mod task_secrets;
pub mod versions;

use generated::*;
use std::sync::Arc;
use wharf_core::{Clock, IdGen, RequestContext, Sealer, SecretValueError};
use wharf_store::{Store, StoreError};

/// The Secrets Manager service.
pub struct SecretsManager {
    pub(crate) store: Arc<Store>,
    pub(crate) ids: Arc<dyn IdGen>,
    /// The time tasks read secrets at (API calls use the request's time).
    pub(crate) clock: Arc<dyn Clock>,
    /// Seals values before they reach the store and opens them for GetSecretValue.
    pub(crate) sealer: Arc<Sealer>,
}

impl SecretsManager {
    /// Secrets Manager over `store`, making ARN suffixes and version ids with `ids`, reading the
    /// time of task secret reads from `clock`, and sealing values with `sealer`.
    pub fn new(
        store: Arc<Store>,
        ids: Arc<dyn IdGen>,
        clock: Arc<dyn Clock>,
        sealer: Arc<Sealer>,
    ) -> Self {
        Self {
            store,
            ids,
            clock,
            sealer,
        }
    }

    /// The value a task's `secrets[].valueFrom` names, read as a task of `account` in `region`:
    /// a secret ARN (full or partial; the secret may be in another Region of the account),
    /// optionally followed by `:<json-key>:<version-stage>:<version-id>` (each part may be
    /// empty; AWSCURRENT by default). Errors are the ECS agent's messages.
    pub fn value_for_task(
        &self,
        account: &str,
        _region: &str,
        value_from: &str,
    ) -> Result<String, SecretValueError> {
        let not_found = |arn: &str| {
            SecretValueError(task_secrets::fetch_error(
                arn,
                &secrets::not_found().to_string(),
            ))
        };
        let Some(reference) = task_secrets::parse(value_from) else {
            return Err(not_found(value_from));
        };
        if reference.account != account {
            return Err(not_found(&reference.arn));
        }
        let read = secrets::read_value(
            self,
            account,
            &reference.region,
            &reference.arn,
            reference.version_id.as_deref(),
            reference.version_stage.as_deref(),
            self.clock.now(),
        )
        .map_err(|e| SecretValueError(task_secrets::fetch_error(&reference.arn, &e.to_string())))?;
        // The agent reads SecretString only: a binary secret is empty text to it.
        let text = if read.value.binary {
            String::new()
        } else {
            String::from_utf8_lossy(&read.value.bytes).into_owned()
        };
        match &reference.json_key {
            None => Ok(text),
            Some(key) => task_secrets::json_member(&text, key).map_err(SecretValueError),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "secrets manager state store failure");
        Error::InternalServiceError(
            "wharf could not read or write its state store; see the server log".into(),
        )
    }
}

impl SecretsManagerApi for Arc<SecretsManager> {
    fn create_secret(
        &self,
        ctx: &RequestContext,
        input: CreateSecretRequest,
    ) -> Result<CreateSecretResponse, Error> {
        secrets::create(self, ctx, input)
    }

    fn get_secret_value(
        &self,
        ctx: &RequestContext,
        input: GetSecretValueRequest,
    ) -> Result<GetSecretValueResponse, Error> {
        secrets::get_value(self, ctx, input)
    }

    fn put_secret_value(
        &self,
        ctx: &RequestContext,
        input: PutSecretValueRequest,
    ) -> Result<PutSecretValueResponse, Error> {
        secrets::put_value(self, ctx, input)
    }

    fn update_secret(
        &self,
        ctx: &RequestContext,
        input: UpdateSecretRequest,
    ) -> Result<UpdateSecretResponse, Error> {
        secrets::update(self, ctx, input)
    }

    fn describe_secret(
        &self,
        ctx: &RequestContext,
        input: DescribeSecretRequest,
    ) -> Result<DescribeSecretResponse, Error> {
        secrets::describe(self, ctx, &input.secret_id)
    }

    fn list_secrets(
        &self,
        ctx: &RequestContext,
        input: ListSecretsRequest,
    ) -> Result<ListSecretsResponse, Error> {
        secrets::list(self, ctx, input)
    }

    fn delete_secret(
        &self,
        ctx: &RequestContext,
        input: DeleteSecretRequest,
    ) -> Result<DeleteSecretResponse, Error> {
        secrets::delete(self, ctx, input)
    }

    fn restore_secret(
        &self,
        ctx: &RequestContext,
        input: RestoreSecretRequest,
    ) -> Result<RestoreSecretResponse, Error> {
        secrets::restore(self, ctx, &input.secret_id)
    }

    fn list_secret_version_ids(
        &self,
        ctx: &RequestContext,
        input: ListSecretVersionIdsRequest,
    ) -> Result<ListSecretVersionIdsResponse, Error> {
        secrets::list_versions(self, ctx, input)
    }

    fn update_secret_version_stage(
        &self,
        ctx: &RequestContext,
        input: UpdateSecretVersionStageRequest,
    ) -> Result<UpdateSecretVersionStageResponse, Error> {
        secrets::update_stage(self, ctx, input)
    }

    fn get_random_password(
        &self,
        _ctx: &RequestContext,
        input: GetRandomPasswordRequest,
    ) -> Result<GetRandomPasswordResponse, Error> {
        Ok(GetRandomPasswordResponse {
            random_password: Some(password::generate(&input, &mut rand::rngs::OsRng)?),
        })
    }

    fn tag_resource(&self, ctx: &RequestContext, input: TagResourceRequest) -> Result<(), Error> {
        secrets::tag(self, ctx, input)
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<(), Error> {
        secrets::untag(self, ctx, input)
    }
}
