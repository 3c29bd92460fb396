//! IAM and STS: roles with their attached managed policies, and the caller's identity.
//!
//! wharf does not evaluate IAM policies; it keeps roles so that tools which create them (and
//! services that are handed a role ARN, such as an ECS task's execution role) see AWS's answers
//! and errors.
//!
//! Module map, bottom to top:
//! - `iam_generated`, `sts_generated`: botocore-derived wire types and the `IamApi` / `StsApi`
//!   traits (never stored)
//! - `records`: the stored roles and role sessions, their tables and keys, and the role's
//!   conversion to the wire `Role`
//! - `policy_document`, `managed_policies`: policy documents as text and the catalogue of
//!   AWS-managed policies (pure)
//! - `checks`, `paging`: the role lookup, tag rules and `Marker` / `MaxItems` paging the
//!   operations share
//! - `roles`: CreateRole, GetRole, DeleteRole, ListRoles, and the role lookup other services use
//! - `role_policies`: attaching, detaching and listing a role's managed policies
//! - `role_sessions`: the temporary credentials of tasks with a task role
//! - `sts`: GetCallerIdentity
//! - this file: the [`Iam`] service and the one-line delegation of each `IamApi` operation

pub mod checks;
pub mod iam_generated;
pub mod managed_policies;
pub mod paging;
pub mod policy_document;
pub mod records;
pub mod role_policies;
pub mod role_sessions;
pub mod roles;
pub mod sts;
pub mod sts_generated;

pub use role_sessions::{ActiveSession, RoleSessionStore};
pub use sts::Sts;

use iam_generated::{
    AttachRolePolicyRequest, CreateRoleRequest, CreateRoleResponse, DeleteRoleRequest,
    DetachRolePolicyRequest, Error, GetRoleRequest, GetRoleResponse, IamApi,
    ListAttachedRolePoliciesRequest, ListAttachedRolePoliciesResponse, ListRolesRequest,
    ListRolesResponse,
};
use std::sync::Arc;
use wharf_core::{IdGen, RequestContext};
use wharf_store::{Store, StoreError};

/// The IAM service: roles and managed-policy attachments.
pub struct Iam {
    pub(crate) store: Arc<Store>,
    /// Makes role ids (`AROA...`).
    pub(crate) ids: Arc<dyn IdGen>,
}

impl Iam {
    /// IAM over `store`, making role ids with `ids`.
    pub fn new(store: Arc<Store>, ids: Arc<dyn IdGen>) -> Self {
        Self { store, ids }
    }

    /// Whether `role_arn` names a role that exists in `account` (path included).
    pub fn role_exists(&self, account: &str, role_arn: &str) -> Result<bool, StoreError> {
        Ok(self.role_id(account, role_arn)?.is_some())
    }

    /// The unique id (`AROA...`) of the role `role_arn` names in `account`, if it exists.
    pub fn role_id(&self, account: &str, role_arn: &str) -> Result<Option<String>, StoreError> {
        roles::role_id(&self.store, account, role_arn)
    }
}

impl IamApi for Iam {
    fn create_role(
        &self,
        ctx: &RequestContext,
        input: CreateRoleRequest,
    ) -> Result<CreateRoleResponse, Error> {
        roles::create(self, ctx, input)
    }

    fn get_role(
        &self,
        ctx: &RequestContext,
        input: GetRoleRequest,
    ) -> Result<GetRoleResponse, Error> {
        roles::get(self, ctx, &input.role_name)
    }

    fn delete_role(&self, ctx: &RequestContext, input: DeleteRoleRequest) -> Result<(), Error> {
        roles::delete(self, ctx, &input.role_name)
    }

    fn list_roles(
        &self,
        ctx: &RequestContext,
        input: ListRolesRequest,
    ) -> Result<ListRolesResponse, Error> {
        roles::list(self, ctx, input)
    }

    fn attach_role_policy(
        &self,
        ctx: &RequestContext,
        input: AttachRolePolicyRequest,
    ) -> Result<(), Error> {
        role_policies::attach(self, ctx, &input.role_name, &input.policy_arn)
    }

    fn detach_role_policy(
        &self,
        ctx: &RequestContext,
        input: DetachRolePolicyRequest,
    ) -> Result<(), Error> {
        role_policies::detach(self, ctx, &input.role_name, &input.policy_arn)
    }

    fn list_attached_role_policies(
        &self,
        ctx: &RequestContext,
        input: ListAttachedRolePoliciesRequest,
    ) -> Result<ListAttachedRolePoliciesResponse, Error> {
        role_policies::list(self, ctx, input)
    }
}

impl From<StoreError> for iam_generated::Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "iam state store failure");
        iam_generated::Error::ServiceFailureException(
            "An internal error occurred in the state store; the request can be retried.".into(),
        )
    }
}

impl From<StoreError> for sts_generated::Error {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "sts state store failure");
        sts_generated::Error::InternalFailure(
            "An internal error occurred in the state store; the request can be retried.".into(),
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::iam_generated::Role;
    use wharf_core::ids::RandomIds;
    use wharf_core::Timestamp;

    pub(crate) const ACCOUNT: &str = "123456789012";
    pub(crate) const TRUST: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
  ]
}"#;

    /// IAM over a fresh store in a temp dir, and a fixed request context.
    pub(crate) fn setup() -> (tempfile::TempDir, Iam, RequestContext) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("state.db")).unwrap());
        let iam = Iam::new(store, Arc::new(RandomIds));
        let ctx = RequestContext::for_tests(
            "us-east-1",
            ACCOUNT,
            Timestamp::from_millis(1_700_000_000_000),
        );
        (dir, iam, ctx)
    }

    /// Creates role `name` with the ECS tasks trust policy.
    pub(crate) fn create(iam: &Iam, ctx: &RequestContext, name: &str) -> Role {
        iam.create_role(
            ctx,
            CreateRoleRequest {
                role_name: name.into(),
                assume_role_policy_document: TRUST.into(),
                ..Default::default()
            },
        )
        .unwrap()
        .role
    }
}
