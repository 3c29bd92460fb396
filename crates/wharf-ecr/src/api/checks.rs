//! The checks and error messages the ECR API's resources share, in AWS's words: the caller's
//! repository (by name or ARN; a `registryId` naming another account finds nothing), the
//! repository name, resource tags (the rules of `wharf_core::tags`), and the patterns ECR's
//! messages quote.

use crate::generated::Error;
use crate::images::load_repo;
use crate::records::{RepoRef, StoredRepo, StoredTag};
use crate::syntax::valid_repository_name;
use wharf_core::{tags, Arn, RequestContext};
use wharf_store::Tx;

/// ECR's pattern in its repository-name error message.
pub(crate) const NAME_PATTERN: &str =
    "(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*";

pub(crate) const DIGEST_PATTERN: &str = "[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+";

pub(crate) fn repo_not_found(name: &str, registry: &str) -> Error {
    Error::RepositoryNotFoundException(format!(
        "The repository with name '{name}' does not exist in the registry with id '{registry}'"
    ))
}

pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameterException(message.into())
}

/// The repository `name` in the caller's registry. A `registryId` naming another account finds
/// nothing there.
pub(crate) fn repo_ref(
    ctx: &RequestContext,
    registry_id: Option<&str>,
    name: &str,
) -> Result<RepoRef, Error> {
    if let Some(r) = registry_id.filter(|r| *r != ctx.account_id) {
        return Err(repo_not_found(name, r));
    }
    Ok(RepoRef::new(&ctx.account_id, &ctx.region, name))
}

pub(crate) fn repo_from_arn(ctx: &RequestContext, arn: &str) -> Result<RepoRef, Error> {
    let bad = || {
        invalid(format!(
            "Invalid parameter at 'resourceArn' failed to satisfy constraint: '{arn}' is not a repository ARN (arn:aws:ecr:<region>:<account>:repository/<name>)"
        ))
    };
    let a = Arn::parse(arn)
        .filter(|a| a.service == "ecr")
        .ok_or_else(bad)?;
    let (kind, name) = a.resource_type_and_id();
    if kind != "repository" || name.is_empty() {
        return Err(bad());
    }
    if a.account != ctx.account_id || a.region != ctx.region {
        return Err(repo_not_found(name, &a.account));
    }
    Ok(RepoRef::new(&a.account, &a.region, name))
}

/// The repository `repo`, or RepositoryNotFoundException.
pub(crate) fn require_repo(tx: &Tx<'_>, repo: &RepoRef) -> Result<StoredRepo, Error> {
    load_repo(tx, repo)?.ok_or_else(|| repo_not_found(&repo.name, &repo.account))
}

pub(crate) fn check_repository_name(name: &str) -> Result<(), Error> {
    if name.len() < 2 || name.len() > 256 {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'repositoryName' failed to satisfy constraint: Member must have length between 2 and 256"
        )));
    }
    if !valid_repository_name(name) {
        return Err(invalid(format!(
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '{NAME_PATTERN}''"
        )));
    }
    Ok(())
}

/// Checks resource tags as ECR does (the rules of `wharf_core::tags`, in ECR's order and
/// words: the count, then per tag the key and value lengths before the `aws:` prefix).
pub(crate) fn check_tags(tags: &[StoredTag]) -> Result<(), Error> {
    if !tags::count_ok(tags.len()) {
        return Err(Error::TooManyTagsException(format!(
            "The number of tags ({}) exceeds the limit of {} tags per repository",
            tags.len(),
            tags::MAX_TAGS
        )));
    }
    for t in tags {
        if !tags::key_length_ok(&t.key) || !tags::value_length_ok(&t.value) {
            return Err(Error::InvalidTagParameterException(format!(
                "An invalid parameter has been specified. Tag keys can have a maximum character length of 128 characters, and tag values can have a maximum length of 256 characters (tag key '{}').",
                t.key
            )));
        }
        if tags::is_reserved_key(&t.key) {
            return Err(Error::InvalidTagParameterException(format!(
                "Tag key '{}' uses the reserved prefix 'aws:'.",
                t.key
            )));
        }
    }
    Ok(())
}
