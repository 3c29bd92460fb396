//! AWS Systems Manager Parameter Store: String, StringList and SecureString parameters with
//! versions (up to 100 kept), labels, hierarchies (paths), tiers, policies and tags, and the
//! values tasks read through their containers' `secrets` ([`Ssm::value_for_task`]).
//!
//! Modules, bottom to top:
//! - `generated`: wire types and the `SsmApi` trait (never stored)
//! - `records`: the stored parameter records, their table ([`records::TABLES`]) and keys
//! - `names`: names, paths, selectors (`name:3`, `name:prod`), labels and ARNs (pure)
//! - `policies`: parameter policies (`Expiration` enforced) (pure)
//! - `filters`: `ParameterFilters` of DescribeParameters and GetParametersByPath (pure)
//! - `errors`: store failures as `InternalServerError`
//! - `lookup`: parameters read as every operation sees them (expired ones are gone)
//! - `values`: SecureString values sealed before they are stored, opened (or shown encrypted)
//!   when read
//! - `parameters`: Put / Get / GetParameters / GetParametersByPath / Delete / History / Label
//! - `describe`: DescribeParameters
//! - `tags`: AddTagsToResource / RemoveTagsFromResource / ListTagsForResource, and the tag
//!   rules PutParameter applies too
//! - `task_values`: the values tasks read through their containers' `secrets`
//! - `lib.rs`: the [`Ssm`] service and one-line delegation of each API operation
//!
//! Parameters are regional: keyed `<account>/<region>/<name>`. SecureString values are sealed
//! with the data directory's key ([`wharf_core::Sealer`]) before they reach the store, and are
//! shown only when the caller asks for decryption; wharf has no KMS, so a `KeyId` is checked
//! for form and reported, and every value is sealed with wharf's own key. Values are never
//! logged.

pub mod describe;
pub mod errors;
pub mod filters;
pub mod generated;
pub mod lookup;
pub mod names;
pub mod parameters;
pub mod policies;
pub mod records;
pub mod tags;
pub mod task_values;
pub mod values;

use generated::*;
use std::sync::Arc;
use wharf_core::{Clock, IdGen, RequestContext, Sealer, SecretValueError};
use wharf_store::Store;

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
        task_values::value_for_task(self, account, region, value_from)
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
