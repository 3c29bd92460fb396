//! Repository policies (SetRepositoryPolicy, GetRepositoryPolicy, DeleteRepositoryPolicy) and
//! the registry policy (PutRegistryPolicy, GetRegistryPolicy, DeleteRegistryPolicy): checked as
//! resource-based policies (`wharf_core::resource_policy`) and kept as the caller wrote them.
//! They take effect with IAM policy evaluation; until then every caller is the account's root,
//! which they cannot restrict.

use super::checks::{invalid, repo_ref, require_repo};
use crate::generated::*;
use crate::records::{self, RegistryRecord, RepoRef, REGISTRIES, REPOS};
use crate::Ecr;
use wharf_core::{resource_policy, RequestContext};

/// InvalidParameterException for a policy that is not a resource-based policy.
fn invalid_policy(what: &str, why: String) -> Error {
    invalid(format!(
        "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid {what} policy provided': {why}"
    ))
}

fn repository_policy_not_found(repo: &RepoRef) -> Error {
    Error::RepositoryPolicyNotFoundException(format!(
        "Repository policy does not exist for the repository with name '{}' in the registry with id '{}'",
        repo.name, repo.account
    ))
}

fn registry_policy_not_found(ctx: &RequestContext) -> Error {
    Error::RegistryPolicyNotFoundException(format!(
        "Registry policy does not exist in the registry with id '{}'",
        ctx.account_id
    ))
}

/// `SetRepositoryPolicy` (`force` is accepted: without policy evaluation no policy can lock
/// the caller out).
pub(crate) fn set_repository_policy(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: SetRepositoryPolicyRequest,
) -> Result<SetRepositoryPolicyResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    resource_policy::check(&input.policy_text).map_err(|why| invalid_policy("repository", why))?;
    ecr.store.write(|tx| {
        let mut r = require_repo(tx, &repo)?;
        r.repository_policy = Some(input.policy_text.clone());
        tx.put(REPOS, &records::repo_key(&repo), &r)?;
        Ok::<_, Error>(())
    })?;
    Ok(SetRepositoryPolicyResponse {
        registry_id: Some(repo.account),
        repository_name: Some(repo.name),
        policy_text: Some(input.policy_text),
    })
}

/// `GetRepositoryPolicy`.
pub(crate) fn get_repository_policy(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: GetRepositoryPolicyRequest,
) -> Result<GetRepositoryPolicyResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    let r = ecr.store.read(|tx| require_repo(tx, &repo))?;
    let text = r
        .repository_policy
        .ok_or_else(|| repository_policy_not_found(&repo))?;
    Ok(GetRepositoryPolicyResponse {
        registry_id: Some(repo.account),
        repository_name: Some(repo.name),
        policy_text: Some(text),
    })
}

/// `DeleteRepositoryPolicy`: answers the policy it removed.
pub(crate) fn delete_repository_policy(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: DeleteRepositoryPolicyRequest,
) -> Result<DeleteRepositoryPolicyResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    let text = ecr.store.write(|tx| {
        let mut r = require_repo(tx, &repo)?;
        let text = r
            .repository_policy
            .take()
            .ok_or_else(|| repository_policy_not_found(&repo))?;
        tx.put(REPOS, &records::repo_key(&repo), &r)?;
        Ok::<_, Error>(text)
    })?;
    Ok(DeleteRepositoryPolicyResponse {
        registry_id: Some(repo.account),
        repository_name: Some(repo.name),
        policy_text: Some(text),
    })
}

/// `PutRegistryPolicy`.
pub(crate) fn put_registry_policy(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: PutRegistryPolicyRequest,
) -> Result<PutRegistryPolicyResponse, Error> {
    resource_policy::check(&input.policy_text).map_err(|why| invalid_policy("registry", why))?;
    let key = records::registry_key(&ctx.account_id, &ctx.region);
    ecr.store.write(|tx| {
        let mut registry: RegistryRecord = tx.get(REGISTRIES, &key)?.unwrap_or_default();
        registry.policy = Some(input.policy_text.clone());
        tx.put(REGISTRIES, &key, &registry)
    })?;
    Ok(PutRegistryPolicyResponse {
        registry_id: Some(ctx.account_id.clone()),
        policy_text: Some(input.policy_text),
    })
}

/// `GetRegistryPolicy`.
pub(crate) fn get_registry_policy(
    ecr: &Ecr,
    ctx: &RequestContext,
) -> Result<GetRegistryPolicyResponse, Error> {
    let key = records::registry_key(&ctx.account_id, &ctx.region);
    let record: Option<RegistryRecord> = ecr.store.read(|tx| tx.get(REGISTRIES, &key))?;
    let text = record
        .and_then(|r| r.policy)
        .ok_or_else(|| registry_policy_not_found(ctx))?;
    Ok(GetRegistryPolicyResponse {
        registry_id: Some(ctx.account_id.clone()),
        policy_text: Some(text),
    })
}

/// `DeleteRegistryPolicy`: answers the policy it removed.
pub(crate) fn delete_registry_policy(
    ecr: &Ecr,
    ctx: &RequestContext,
) -> Result<DeleteRegistryPolicyResponse, Error> {
    let key = records::registry_key(&ctx.account_id, &ctx.region);
    let text = ecr.store.write(|tx| {
        let mut record: RegistryRecord = tx
            .get(REGISTRIES, &key)?
            .ok_or_else(|| registry_policy_not_found(ctx))?;
        let text = record
            .policy
            .take()
            .ok_or_else(|| registry_policy_not_found(ctx))?;
        tx.put(REGISTRIES, &key, &record)?;
        Ok::<_, Error>(text)
    })?;
    Ok(DeleteRegistryPolicyResponse {
        registry_id: Some(ctx.account_id.clone()),
        policy_text: Some(text),
    })
}
