//! AWS Secrets Manager: secrets with versions and staging labels, values sealed at rest, recovery
//! windows — and the values of secrets tasks name in `secrets[].valueFrom`.
//!
//! Modules, bottom to top:
//! - `generated`: botocore-derived wire types and the `SecretsManagerApi` trait (never stored)
//! - `records`: the stored secret and value records, their tables ([`records::TABLES`]) and keys
//! - `names`: secret names, ARNs and the `SecretId` forms (name, full or partial ARN)
//! - `errors`: store failures as `InternalServiceError`
//! - `versions`: staging labels (pure)
//! - `filters`: ListSecrets filters (pure)
//! - `password`: GetRandomPassword (pure)
//! - `secrets`: the operations
//! - `task_secrets`: `valueFrom` references as the ECS agent reads them
//! - `lib.rs`: the [`SecretsManager`] service and one-line delegation of each API operation
//!
//! Secrets are regional: they are keyed `<account>/<region>/<name>`, and an ARN of another
//! account or Region is not found. Values are stored only sealed ([`wharf_core::Sealer`], bound
//! to `<secret ARN>/<version id>`) and are never logged.

pub mod errors;
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
use wharf_store::Store;

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
        region: &str,
        value_from: &str,
    ) -> Result<String, SecretValueError> {
        task_secrets::value_for_task(self, account, region, value_from)
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
        password::get_random_password(&input)
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
