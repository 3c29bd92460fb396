//! The ECR API (`EcrApi`, awsJson 1.1): repositories, images, tag mutability, scanning
//! configuration, lifecycle policies and their previews, authorization tokens and resource tags.
//! Implemented on `Arc<Ecr>` so the binary can hand the same `Arc` to the gateway (inside the
//! generated `Handler`) and to the registry.
//!
//! Everything an operation reads or changes happens in one store transaction; manifests are
//! read from the blob store (BatchGetImage) and written through the shared push flow
//! (`push::push_manifest`, PutImage). Errors are the generated `Error` variants with AWS's
//! wording. Only the caller's own registry is served: a `registryId` naming another account
//! finds no repositories.

use crate::generated::*;
use crate::images::{self, list_images, load_repo};
use crate::lifecycle::{self, parse_policy};
use crate::push::PushError;
use crate::records::{
    self, RepoRef, StoredImage, StoredPreview, StoredPreviewResult, StoredRepo, StoredRepository,
    StoredRuleAction, StoredScanningConfiguration, StoredTag, REPOS,
};
use crate::syntax::{valid_digest, valid_image_tag, valid_repository_name};
use crate::Ecr;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Arc;
use wharf_core::pagination::paginate;
use wharf_core::{tags, Arn, RequestContext, Timestamp};
use wharf_store::Tx;

/// ECR's pattern in its repository-name error message.
const NAME_PATTERN: &str = "(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*";
const DIGEST_PATTERN: &str = "[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+";

// ---------------------------------------------------------------------------------------------
// Messages, in AWS's words.

fn repo_not_found(name: &str, registry: &str) -> Error {
    Error::RepositoryNotFoundException(format!(
        "The repository with name '{name}' does not exist in the registry with id '{registry}'"
    ))
}

fn policy_not_found(repo: &RepoRef) -> Error {
    Error::LifecyclePolicyNotFoundException(format!(
        "Lifecycle policy does not exist for the repository with name '{}' in the registry with id '{}'",
        repo.name, repo.account
    ))
}

fn image_id_text(id: &ImageIdentifier) -> String {
    format!(
        "{{imageDigest:'{}', imageTag:'{}'}}",
        id.image_digest.as_deref().unwrap_or("null"),
        id.image_tag.as_deref().unwrap_or("null")
    )
}

fn image_not_found(repo: &RepoRef, id: &ImageIdentifier) -> Error {
    Error::ImageNotFoundException(format!(
        "The image with imageId {} does not exist within the repository with name '{}' in the registry with id '{}'",
        image_id_text(id),
        repo.name,
        repo.account
    ))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidParameterException(message.into())
}

fn invalid_token() -> Error {
    invalid("Invalid parameter at 'nextToken' failed to satisfy constraint: 'pass back the nextToken of a previous answer'")
}

// ---------------------------------------------------------------------------------------------
// Shared checks.

/// The repository `name` in the caller's registry. A `registryId` naming another account finds
/// nothing there.
fn repo_ref(ctx: &RequestContext, registry_id: Option<&str>, name: &str) -> Result<RepoRef, Error> {
    if let Some(r) = registry_id.filter(|r| *r != ctx.account_id) {
        return Err(repo_not_found(name, r));
    }
    Ok(RepoRef::new(&ctx.account_id, &ctx.region, name))
}

fn check_repository_name(name: &str) -> Result<(), Error> {
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

/// `maxResults` within `1..=limit`, `default` when absent.
fn page_size(max_results: Option<i32>, default: usize, limit: i32) -> Result<usize, Error> {
    match max_results {
        None => Ok(default),
        Some(n) if (1..=limit).contains(&n) => Ok(usize::try_from(n).unwrap_or(default)),
        Some(n) => Err(invalid(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {limit}"
        ))),
    }
}

/// Checks resource tags as ECR does (the rules of `wharf_core::tags`, in ECR's order and
/// words: the count, then per tag the key and value lengths before the `aws:` prefix).
fn check_tags(tags: &[StoredTag]) -> Result<(), Error> {
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

/// Checks imageTagMutability and its exclusion filters (required by, and only allowed with,
/// the `*_WITH_EXCLUSION` settings).
fn check_mutability(
    mutability: &str,
    filters: Option<&[ImageTagMutabilityExclusionFilter]>,
) -> Result<(), Error> {
    let with_exclusion = match mutability {
        "MUTABLE" | "IMMUTABLE" => false,
        "MUTABLE_WITH_EXCLUSION" | "IMMUTABLE_WITH_EXCLUSION" => true,
        other => {
            return Err(invalid(format!(
                "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]', got '{other}'"
            )))
        }
    };
    let filters = filters.unwrap_or_default();
    if with_exclusion && filters.is_empty() {
        return Err(invalid(format!(
            "imageTagMutabilityExclusionFilters are required when imageTagMutability is {mutability}"
        )));
    }
    if !with_exclusion && !filters.is_empty() {
        return Err(invalid(format!(
            "imageTagMutabilityExclusionFilters can only be used with IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not {mutability}"
        )));
    }
    if filters.len() > 5 {
        return Err(invalid(
            "imageTagMutabilityExclusionFilters can have at most 5 filters",
        ));
    }
    for f in filters {
        if f.filter_type != "WILDCARD" {
            return Err(invalid(format!(
                "Invalid exclusion filter type '{}': the only filter type is WILDCARD",
                f.filter_type
            )));
        }
        let ok = (1..=128).contains(&f.filter.len())
            && f.filter
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '*' | '-'));
        if !ok {
            return Err(invalid(format!(
                "Invalid exclusion filter '{}': 1 to 128 characters of letters, digits, '.', '_', '-' and '*'",
                f.filter
            )));
        }
    }
    Ok(())
}

/// The repository `repo`, or RepositoryNotFoundException.
fn require_repo(tx: &Tx<'_>, repo: &RepoRef) -> Result<StoredRepo, Error> {
    load_repo(tx, repo)?.ok_or_else(|| repo_not_found(&repo.name, &repo.account))
}

/// Which of a repository's images an `ImageIdentifier` names, or why none.
enum Lookup<'a> {
    Found(&'a StoredImage),
    /// failureCode MissingDigestAndTag.
    Empty,
    /// failureCode InvalidImageDigest.
    BadDigest,
    /// failureCode InvalidImageTag.
    BadTag,
    /// failureCode ImageTagDoesNotMatchDigest.
    Mismatch,
    /// failureCode ImageNotFound.
    Missing,
}

fn lookup<'a>(images: &'a [StoredImage], id: &ImageIdentifier) -> Lookup<'a> {
    let by_tag = |tag: &str| images.iter().find(|i| i.tags.iter().any(|t| t == tag));
    match (id.image_digest.as_deref(), id.image_tag.as_deref()) {
        (None, None) => Lookup::Empty,
        (Some(d), _) if !valid_digest(d) => Lookup::BadDigest,
        (_, Some(t)) if !valid_image_tag(t) => Lookup::BadTag,
        (None, Some(t)) => by_tag(t).map_or(Lookup::Missing, Lookup::Found),
        (Some(d), None) => images
            .iter()
            .find(|i| i.digest == d)
            .map_or(Lookup::Missing, Lookup::Found),
        (Some(d), Some(t)) => match images.iter().find(|i| i.digest == d) {
            Some(i) if i.tags.iter().any(|x| x == t) => Lookup::Found(i),
            Some(_) if by_tag(t).is_some() => Lookup::Mismatch,
            Some(_) => Lookup::Missing,
            None => Lookup::Missing,
        },
    }
}

fn failure(id: &ImageIdentifier, code: &str, reason: impl Into<String>) -> ImageFailure {
    ImageFailure {
        image_id: Some(id.clone()),
        failure_code: Some(code.to_string()),
        failure_reason: Some(reason.into()),
    }
}

/// The failure BatchGetImage / BatchDeleteImage report for a lookup that found nothing.
fn lookup_failure(id: &ImageIdentifier, l: &Lookup<'_>) -> Option<ImageFailure> {
    Some(match l {
        Lookup::Found(_) => return None,
        Lookup::Empty => failure(
            id,
            "MissingDigestAndTag",
            "Invalid request parameters: imageId must contain an imageDigest or an imageTag",
        ),
        Lookup::BadDigest => failure(
            id,
            "InvalidImageDigest",
            format!("Invalid request parameters: image digest should satisfy the regex '{DIGEST_PATTERN}'"),
        ),
        Lookup::BadTag => failure(id, "InvalidImageTag", "Invalid request parameters: invalid image tag"),
        Lookup::Mismatch => failure(
            id,
            "ImageTagDoesNotMatchDigest",
            "Invalid request parameters: the image tag does not match the image digest",
        ),
        Lookup::Missing => failure(id, "ImageNotFound", "Requested image not found"),
    })
}

/// `tagStatus` filter: TAGGED, UNTAGGED or ANY (default).
fn tag_status_matches(status: Option<&str>, image: &StoredImage) -> bool {
    match status {
        Some("TAGGED") => !image.tags.is_empty(),
        Some("UNTAGGED") => image.tags.is_empty(),
        _ => true,
    }
}

/// `imageStatus` filter: every wharf image is ACTIVE (there is no archive storage).
fn image_status_matches(status: Option<&str>) -> bool {
    matches!(status, None | Some("ACTIVE") | Some("ANY"))
}

/// `imageSizeInBytes`: the image's blobs; for an index, its children's blobs.
fn image_size(image: &StoredImage, all: &[StoredImage]) -> i64 {
    let own: i64 = image.blobs.iter().map(|b| b.size).sum();
    let children: i64 = image
        .children
        .iter()
        .filter_map(|c| all.iter().find(|i| &i.digest == c))
        .flat_map(|c| c.blobs.iter().map(|b| b.size))
        .sum();
    own + children
}

impl Ecr {
    /// The repository as the API reports it.
    fn present(&self, r: &StoredRepo) -> Repository {
        let mut out = r.repository.to_wire();
        out.repository_uri = Some(format!("{}/{}", self.config.registry_host, r.name()));
        out
    }

    fn detail(&self, repo: &RepoRef, image: &StoredImage, all: &[StoredImage]) -> ImageDetail {
        ImageDetail {
            registry_id: Some(repo.account.clone()),
            repository_name: Some(repo.name.clone()),
            image_digest: Some(image.digest.clone()),
            image_tags: (!image.tags.is_empty()).then(|| image.tags.clone()),
            image_size_in_bytes: Some(image_size(image, all)),
            image_pushed_at: Some(image.pushed_at),
            image_manifest_media_type: Some(image.media_type.clone()),
            artifact_media_type: image.config_media_type.clone(),
            last_recorded_pull_time: image.last_pull,
            ..Default::default()
        }
    }

    /// The lifecycle preview of `policy` over `images` at `now`.
    fn preview(
        policy: &lifecycle::LifecyclePolicy,
        images: &[StoredImage],
        now: Timestamp,
    ) -> Vec<StoredPreviewResult> {
        let plan = lifecycle::evaluate(policy, &lifecycle::candidates(images), now);
        let mut results: Vec<StoredPreviewResult> = plan
            .into_iter()
            .filter_map(|e| {
                let image = images.iter().find(|i| i.digest == e.digest)?;
                Some(StoredPreviewResult {
                    image_tags: Some(image.tags.clone()),
                    image_digest: Some(image.digest.clone()),
                    image_pushed_at: Some(image.pushed_at),
                    action: Some(StoredRuleAction {
                        r#type: Some("EXPIRE".into()),
                        target_storage_class: None,
                    }),
                    applied_rule_priority: Some(i32::try_from(e.rule_priority).unwrap_or(i32::MAX)),
                    storage_class: None,
                })
            })
            .collect();
        results.sort_by(|a, b| a.image_digest.cmp(&b.image_digest));
        results
    }
}

fn map_push_error(repo: &RepoRef, e: PushError) -> Error {
    match e {
        PushError::TooLarge(n) => invalid(format!(
            "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Member must have length less than or equal to 4194304' (the manifest is {n} bytes)"
        )),
        PushError::Invalid(m) => invalid(format!(
            "Invalid parameter at 'ImageManifest' failed to satisfy constraint: '{m}'"
        )),
        PushError::DigestMismatch { expected, actual } => {
            Error::ImageDigestDoesNotMatchException(format!(
                "Provided digest '{expected}' does not match the digest of the image manifest '{actual}'"
            ))
        }
        PushError::BlobUnknown(d) => Error::LayersNotFoundException(format!(
            "Layers with digests '[{d}]' required for pushing image into repository with name '{}' in the registry with id '{}' do not exist",
            repo.name, repo.account
        )),
        PushError::ChildUnknown(d) => Error::ReferencedImagesNotFoundException(format!(
            "Images with digests '[{d}]' referenced by the manifest do not exist in the repository with name '{}' in the registry with id '{}'",
            repo.name, repo.account
        )),
        PushError::Record(images::RecordError::RepositoryNotFound(n)) => {
            repo_not_found(&n, &repo.account)
        }
        PushError::Record(images::RecordError::TagImmutable { tag, repository }) => {
            Error::ImageTagAlreadyExistsException(format!(
                "The image tag '{tag}' already exists in the '{repository}' repository and cannot be overwritten because the repository is immutable."
            ))
        }
        PushError::Record(images::RecordError::Store(e)) => e.into(),
        PushError::Io(e) => {
            tracing::error!(error = %e, repository = %repo.name, "cannot store a manifest");
            Error::ServerException(
                "wharf could not store the manifest; see the server log".into(),
            )
        }
    }
}

fn repo_from_arn(ctx: &RequestContext, arn: &str) -> Result<RepoRef, Error> {
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

impl EcrApi for Arc<Ecr> {
    fn get_authorization_token(
        &self,
        ctx: &RequestContext,
        _input: GetAuthorizationTokenRequest,
    ) -> Result<GetAuthorizationTokenResponse, Error> {
        let t = self.issue_token(&ctx.account_id, &ctx.region, ctx.now)?;
        Ok(GetAuthorizationTokenResponse {
            authorization_data: Some(vec![AuthorizationData {
                authorization_token: Some(t.token),
                expires_at: Some(t.expires_at),
                proxy_endpoint: Some(format!("http://{}", self.config.registry_host)),
            }]),
        })
    }

    fn create_repository(
        &self,
        ctx: &RequestContext,
        input: CreateRepositoryRequest,
    ) -> Result<CreateRepositoryResponse, Error> {
        let name = input.repository_name;
        if let Some(r) = input
            .registry_id
            .as_deref()
            .filter(|r| *r != ctx.account_id)
        {
            return Err(invalid(format!(
                "Invalid parameter at 'registryId' failed to satisfy constraint: 'wharf creates repositories only in the caller's own registry {}, not {r}'",
                ctx.account_id
            )));
        }
        check_repository_name(&name)?;
        let mutability = input
            .image_tag_mutability
            .unwrap_or_else(|| "MUTABLE".into());
        check_mutability(
            &mutability,
            input.image_tag_mutability_exclusion_filters.as_deref(),
        )?;
        let encryption =
            input
                .encryption_configuration
                .unwrap_or_else(|| EncryptionConfiguration {
                    encryption_type: "AES256".into(),
                    kms_key: None,
                });
        match encryption.encryption_type.as_str() {
            "AES256" if encryption.kms_key.is_some() => {
                return Err(invalid(
                    "Invalid parameter at 'encryptionConfiguration' failed to satisfy constraint: 'kmsKey can only be specified with encryptionType KMS or KMS_DSSE'",
                ))
            }
            "AES256" | "KMS" | "KMS_DSSE" => {}
            other => {
                return Err(invalid(format!(
                    "Invalid parameter at 'encryptionType' failed to satisfy constraint: 'Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]', got '{other}'"
                )))
            }
        }
        let tags: Vec<StoredTag> = input
            .tags
            .unwrap_or_default()
            .iter()
            .map(StoredTag::from)
            .collect();
        check_tags(&tags)?;
        let repo = RepoRef::new(&ctx.account_id, &ctx.region, &name);
        let record = StoredRepo {
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            repository: StoredRepository {
                repository_arn: Some(
                    Arn::new(
                        "ecr",
                        &ctx.region,
                        &ctx.account_id,
                        &format!("repository/{name}"),
                    )
                    .to_string(),
                ),
                registry_id: Some(ctx.account_id.clone()),
                repository_name: Some(name.clone()),
                repository_uri: None,
                created_at: Some(ctx.now),
                image_tag_mutability: Some(mutability),
                image_tag_mutability_exclusion_filters: input
                    .image_tag_mutability_exclusion_filters
                    .as_deref()
                    .map(records::exclusion_filters_from_wire),
                image_scanning_configuration: Some(StoredScanningConfiguration {
                    scan_on_push: Some(
                        input
                            .image_scanning_configuration
                            .and_then(|c| c.scan_on_push)
                            .unwrap_or(false),
                    ),
                }),
                encryption_configuration: Some(encryption.into()),
            },
            tags,
            lifecycle_policy: None,
            lifecycle_evaluated_at: None,
            preview: None,
        };
        let created = self
            .store
            .write(|tx| tx.insert(REPOS, &records::repo_key(&repo), &record))?;
        if !created {
            return Err(Error::RepositoryAlreadyExistsException(format!(
                "The repository with name '{name}' already exists in the registry with id '{}'",
                ctx.account_id
            )));
        }
        Ok(CreateRepositoryResponse {
            repository: Some(self.present(&record)),
        })
    }

    fn describe_repositories(
        &self,
        ctx: &RequestContext,
        input: DescribeRepositoriesRequest,
    ) -> Result<DescribeRepositoriesResponse, Error> {
        let names = input.repository_names.unwrap_or_default();
        if !names.is_empty() {
            if input.max_results.is_some() || input.next_token.is_some() {
                return Err(invalid(
                    "maxResults and nextToken cannot be used together with repositoryNames",
                ));
            }
            let repos = self.store.read(|tx| {
                names
                    .iter()
                    .map(|n| {
                        let repo = repo_ref(ctx, input.registry_id.as_deref(), n)?;
                        require_repo(tx, &repo).map(|r| self.present(&r))
                    })
                    .collect::<Result<Vec<_>, Error>>()
            })?;
            return Ok(DescribeRepositoriesResponse {
                repositories: Some(repos),
                next_token: None,
            });
        }
        let max = page_size(input.max_results, 100, 1000)?;
        if input
            .registry_id
            .as_deref()
            .is_some_and(|r| r != ctx.account_id)
        {
            return Ok(DescribeRepositoriesResponse {
                repositories: Some(vec![]),
                next_token: None,
            });
        }
        let prefix = format!("{}/{}/", ctx.account_id, ctx.region);
        let all: Vec<(String, StoredRepo)> = self.store.read(|tx| tx.list(REPOS, &prefix))?;
        let mut all: Vec<StoredRepo> = all.into_iter().map(|(_, r)| r).collect();
        all.sort_by(|a, b| a.name().cmp(b.name()));
        let (page, next) = paginate(
            all,
            |r| r.name().to_string(),
            input.next_token.as_deref(),
            max,
        )
        .map_err(|_| invalid_token())?;
        Ok(DescribeRepositoriesResponse {
            repositories: Some(page.iter().map(|r| self.present(r)).collect()),
            next_token: next,
        })
    }

    fn delete_repository(
        &self,
        ctx: &RequestContext,
        input: DeleteRepositoryRequest,
    ) -> Result<DeleteRepositoryResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        let force = input.force.unwrap_or(false);
        let deleted = self.store.write(|tx| {
            let record = require_repo(tx, &repo)?;
            if !force && !tx.list::<StoredImage>(records::IMAGES, &records::repo_prefix(&repo))?.is_empty() {
                return Err(Error::RepositoryNotEmptyException(format!(
                    "The repository with name '{}' in registry with id '{}' cannot be deleted because it still contains images",
                    repo.name, repo.account
                )));
            }
            let n = images::delete_all_images_tx(tx, &repo)?;
            // Its blob links go too: a repository re-created under the name starts empty.
            images::delete_blob_links_tx(tx, &repo)?;
            tx.delete(REPOS, &records::repo_key(&repo))?;
            if n > 0 {
                tracing::info!(repository = %repo.name, images = n, "deleted a repository and its images");
            }
            Ok(record)
        })?;
        Ok(DeleteRepositoryResponse {
            repository: Some(self.present(&deleted)),
        })
    }

    fn list_images(
        &self,
        ctx: &RequestContext,
        input: ListImagesRequest,
    ) -> Result<ListImagesResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        let max = page_size(input.max_results, 100, 1000)?;
        let filter = input.filter.unwrap_or_default();
        let all = self.store.read(|tx| {
            require_repo(tx, &repo)?;
            Ok::<_, Error>(list_images(tx, &repo)?)
        })?;
        let mut entries: Vec<(String, ImageIdentifier)> = vec![];
        if image_status_matches(filter.image_status.as_deref()) {
            let status = filter.tag_status.as_deref();
            for image in &all {
                if image.tags.is_empty() {
                    if status != Some("TAGGED") {
                        entries.push((
                            image.digest.clone(),
                            ImageIdentifier {
                                image_digest: Some(image.digest.clone()),
                                image_tag: None,
                            },
                        ));
                    }
                } else if status != Some("UNTAGGED") {
                    for tag in &image.tags {
                        entries.push((
                            format!("{}\u{1}{tag}", image.digest),
                            ImageIdentifier {
                                image_digest: Some(image.digest.clone()),
                                image_tag: Some(tag.clone()),
                            },
                        ));
                    }
                }
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let (page, next) = paginate(entries, |e| e.0.clone(), input.next_token.as_deref(), max)
            .map_err(|_| invalid_token())?;
        Ok(ListImagesResponse {
            image_ids: Some(page.into_iter().map(|(_, id)| id).collect()),
            next_token: next,
        })
    }

    fn describe_images(
        &self,
        ctx: &RequestContext,
        input: DescribeImagesRequest,
    ) -> Result<DescribeImagesResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        let ids = input.image_ids.unwrap_or_default();
        if !ids.is_empty() && (input.max_results.is_some() || input.next_token.is_some()) {
            return Err(invalid(
                "maxResults and nextToken cannot be used together with imageIds",
            ));
        }
        let max = page_size(input.max_results, 100, 1000)?;
        let filter = input.filter.unwrap_or_default();
        let all = self.store.read(|tx| {
            require_repo(tx, &repo)?;
            Ok::<_, Error>(list_images(tx, &repo)?)
        })?;
        let keep = |i: &StoredImage| {
            tag_status_matches(filter.tag_status.as_deref(), i)
                && image_status_matches(filter.image_status.as_deref())
        };
        if !ids.is_empty() {
            let mut seen = HashSet::new();
            let mut details = vec![];
            for id in &ids {
                let image = match lookup(&all, id) {
                    Lookup::Found(i) => i,
                    Lookup::Empty => {
                        return Err(invalid(
                            "Invalid request parameters: imageId must contain an imageDigest or an imageTag",
                        ))
                    }
                    Lookup::BadDigest => {
                        return Err(invalid(format!(
                            "Invalid parameter at 'imageDigest' failed to satisfy constraint: 'must satisfy regular expression '{DIGEST_PATTERN}''"
                        )))
                    }
                    Lookup::BadTag | Lookup::Mismatch | Lookup::Missing => {
                        return Err(image_not_found(&repo, id))
                    }
                };
                if seen.insert(image.digest.as_str()) && keep(image) {
                    details.push(self.detail(&repo, image, &all));
                }
            }
            return Ok(DescribeImagesResponse {
                image_details: Some(details),
                next_token: None,
            });
        }
        let selected: Vec<&StoredImage> = all.iter().filter(|i| keep(i)).collect();
        let (page, next) = paginate(
            selected,
            |i| i.digest.clone(),
            input.next_token.as_deref(),
            max,
        )
        .map_err(|_| invalid_token())?;
        Ok(DescribeImagesResponse {
            image_details: Some(page.iter().map(|i| self.detail(&repo, i, &all)).collect()),
            next_token: next,
        })
    }

    fn batch_get_image(
        &self,
        ctx: &RequestContext,
        input: BatchGetImageRequest,
    ) -> Result<BatchGetImageResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        let all = self.store.read(|tx| {
            require_repo(tx, &repo)?;
            Ok::<_, Error>(list_images(tx, &repo)?)
        })?;
        let accepted = input.accepted_media_types.unwrap_or_default();
        let mut images = vec![];
        let mut failures = vec![];
        let mut done: Vec<&ImageIdentifier> = vec![];
        for id in &input.image_ids {
            if done.contains(&id) {
                continue;
            }
            done.push(id);
            let l = lookup(&all, id);
            if let Some(f) = lookup_failure(id, &l) {
                failures.push(f);
                continue;
            }
            let Lookup::Found(image) = l else {
                continue;
            };
            if !accepted.is_empty() && !accepted.contains(&image.media_type) {
                failures.push(failure(
                    id,
                    "ImageNotFound",
                    format!(
                        "The image's manifest media type {} is not in acceptedMediaTypes",
                        image.media_type
                    ),
                ));
                continue;
            }
            let bytes = self.blobs.read(&image.digest).map_err(|e| {
                tracing::error!(error = %e, digest = %image.digest, "cannot read a manifest");
                Error::ServerException(
                    "wharf could not read the manifest; see the server log".into(),
                )
            })?;
            let Some(manifest) = bytes.and_then(|b| String::from_utf8(b).ok()) else {
                tracing::error!(digest = %image.digest, repository = %repo.name, "an image's manifest is missing from the blob store");
                failures.push(failure(id, "ImageNotFound", "Requested image not found"));
                continue;
            };
            images.push(Image {
                registry_id: Some(repo.account.clone()),
                repository_name: Some(repo.name.clone()),
                image_id: Some(ImageIdentifier {
                    image_digest: Some(image.digest.clone()),
                    image_tag: id.image_tag.clone(),
                }),
                image_manifest: Some(manifest),
                image_manifest_media_type: Some(image.media_type.clone()),
            });
        }
        Ok(BatchGetImageResponse {
            images: Some(images),
            failures: Some(failures),
        })
    }

    fn batch_delete_image(
        &self,
        ctx: &RequestContext,
        input: BatchDeleteImageRequest,
    ) -> Result<BatchDeleteImageResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        self.store.write(|tx| {
            require_repo(tx, &repo)?;
            let mut deleted = vec![];
            let mut failures = vec![];
            for id in &input.image_ids {
                // Re-read each time: earlier ids of this request may have changed the images.
                let all = list_images(tx, &repo)?;
                let l = lookup(&all, id);
                if let Some(f) = lookup_failure(id, &l) {
                    failures.push(f);
                    continue;
                }
                let Lookup::Found(image) = l else {
                    continue;
                };
                let referrers: Vec<&str> = all
                    .iter()
                    .filter(|i| i.children.contains(&image.digest))
                    .map(|i| i.digest.as_str())
                    .collect();
                if let Some(tag) = id.image_tag.as_deref() {
                    // By tag: the tag goes; the image goes with its last tag.
                    images::untag_tx(tx, &repo, tag)?;
                    if image.tags.len() == 1 && referrers.is_empty() {
                        images::delete_image_tx(tx, &repo, &image.digest)?;
                    }
                    deleted.push(ImageIdentifier {
                        image_digest: Some(image.digest.clone()),
                        image_tag: Some(tag.to_string()),
                    });
                    continue;
                }
                if !referrers.is_empty() {
                    failures.push(failure(
                        id,
                        "ImageReferencedByManifestList",
                        format!(
                            "Requested image is referenced by an image index: [{}]",
                            referrers.join(", ")
                        ),
                    ));
                    continue;
                }
                images::delete_image_tx(tx, &repo, &image.digest)?;
                if image.tags.is_empty() {
                    deleted.push(ImageIdentifier {
                        image_digest: Some(image.digest.clone()),
                        image_tag: None,
                    });
                }
                for tag in &image.tags {
                    deleted.push(ImageIdentifier {
                        image_digest: Some(image.digest.clone()),
                        image_tag: Some(tag.clone()),
                    });
                }
            }
            Ok(BatchDeleteImageResponse {
                image_ids: Some(deleted),
                failures: Some(failures),
            })
        })
    }

    fn put_image(
        &self,
        ctx: &RequestContext,
        input: PutImageRequest,
    ) -> Result<PutImageResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        if let Some(tag) = input.image_tag.as_deref().filter(|t| !valid_image_tag(t)) {
            return Err(invalid(format!(
                "Invalid parameter at 'imageTag' failed to satisfy constraint: 'tag '{tag}' must be 1 to 300 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-''"
            )));
        }
        if let Some(d) = input.image_digest.as_deref().filter(|d| !valid_digest(d)) {
            return Err(invalid(format!(
                "Invalid parameter at 'imageDigest' failed to satisfy constraint: 'digest '{d}' must satisfy regular expression '{DIGEST_PATTERN}''"
            )));
        }
        let body = input.image_manifest.as_bytes();
        let actual = format!("sha256:{}", hex::encode(Sha256::digest(body)));
        if let Some(d) = input.image_digest.as_deref().filter(|d| *d != actual) {
            return Err(Error::ImageDigestDoesNotMatchException(format!(
                "Provided digest '{d}' does not match the digest of the image manifest '{actual}'"
            )));
        }
        self.store.read(|tx| {
            require_repo(tx, &repo)?;
            let exists = match input.image_tag.as_deref() {
                Some(tag) => {
                    tx.get::<String>(records::TAGS, &records::tag_key(&repo, tag))?.as_deref()
                        == Some(actual.as_str())
                }
                None => tx.exists(records::IMAGES, &records::image_key(&repo, &actual))?,
            };
            if exists {
                let tag_part = input
                    .image_tag
                    .as_deref()
                    .map(|t| format!(" and tag '{t}'"))
                    .unwrap_or_default();
                return Err(Error::ImageAlreadyExistsException(format!(
                    "Image with digest '{actual}'{tag_part} already exists in the repository with name '{}' in registry with id '{}'",
                    repo.name, repo.account
                )));
            }
            Ok(())
        })?;
        let reference = input.image_tag.as_deref().or(input.image_digest.as_deref());
        let digest = self
            .push_manifest(
                &repo,
                reference,
                input.image_manifest_media_type.as_deref(),
                body,
                ctx.now,
            )
            .map_err(|e| map_push_error(&repo, e))?;
        let media_type = self
            .resolve_reference(&repo, &digest)?
            .map(|(_, m)| m)
            .or(input.image_manifest_media_type);
        Ok(PutImageResponse {
            image: Some(Image {
                registry_id: Some(repo.account.clone()),
                repository_name: Some(repo.name.clone()),
                image_id: Some(ImageIdentifier {
                    image_digest: Some(digest),
                    image_tag: input.image_tag,
                }),
                image_manifest: Some(input.image_manifest),
                image_manifest_media_type: media_type,
            }),
        })
    }

    fn batch_check_layer_availability(
        &self,
        ctx: &RequestContext,
        input: BatchCheckLayerAvailabilityRequest,
    ) -> Result<BatchCheckLayerAvailabilityResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        self.store.read(|tx| require_repo(tx, &repo).map(|_| ()))?;
        let mut layers = vec![];
        let mut failures = vec![];
        for d in &input.layer_digests {
            if d.is_empty() {
                failures.push(LayerFailure {
                    layer_digest: Some(d.clone()),
                    failure_code: Some("MissingLayerDigest".into()),
                    failure_reason: Some("Missing layer digest".into()),
                });
                continue;
            }
            if !valid_digest(d) {
                failures.push(LayerFailure {
                    layer_digest: Some(d.clone()),
                    failure_code: Some("InvalidLayerDigest".into()),
                    failure_reason: Some(format!(
                        "Invalid layer digest: it must satisfy the regular expression '{DIGEST_PATTERN}'"
                    )),
                });
                continue;
            }
            // Available only if this repository holds the blob (uploaded, mounted, or used by
            // one of its images), not merely because some repository stored the bytes.
            let size = if self.blob_linked(&repo, d)? {
                self.blobs.claim(d)
            } else {
                None
            };
            layers.push(Layer {
                layer_digest: Some(d.clone()),
                layer_availability: Some(
                    if size.is_some() {
                        "AVAILABLE"
                    } else {
                        "UNAVAILABLE"
                    }
                    .into(),
                ),
                layer_size: size.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
                media_type: None,
            });
        }
        Ok(BatchCheckLayerAvailabilityResponse {
            layers: Some(layers),
            failures: Some(failures),
        })
    }

    fn put_image_tag_mutability(
        &self,
        ctx: &RequestContext,
        input: PutImageTagMutabilityRequest,
    ) -> Result<PutImageTagMutabilityResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        check_mutability(
            &input.image_tag_mutability,
            input.image_tag_mutability_exclusion_filters.as_deref(),
        )?;
        self.store.write(|tx| {
            let mut r = require_repo(tx, &repo)?;
            r.repository.image_tag_mutability = Some(input.image_tag_mutability.clone());
            r.repository.image_tag_mutability_exclusion_filters = input
                .image_tag_mutability_exclusion_filters
                .as_deref()
                .map(records::exclusion_filters_from_wire);
            tx.put(REPOS, &records::repo_key(&repo), &r)?;
            Ok::<_, Error>(())
        })?;
        Ok(PutImageTagMutabilityResponse {
            registry_id: Some(repo.account),
            repository_name: Some(repo.name),
            image_tag_mutability: Some(input.image_tag_mutability),
            image_tag_mutability_exclusion_filters: input.image_tag_mutability_exclusion_filters,
        })
    }

    fn put_image_scanning_configuration(
        &self,
        ctx: &RequestContext,
        input: PutImageScanningConfigurationRequest,
    ) -> Result<PutImageScanningConfigurationResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        let config = ImageScanningConfiguration {
            scan_on_push: Some(
                input
                    .image_scanning_configuration
                    .scan_on_push
                    .unwrap_or(false),
            ),
        };
        self.store.write(|tx| {
            let mut r = require_repo(tx, &repo)?;
            r.repository.image_scanning_configuration = Some(StoredScanningConfiguration {
                scan_on_push: config.scan_on_push,
            });
            tx.put(REPOS, &records::repo_key(&repo), &r)?;
            Ok::<_, Error>(())
        })?;
        Ok(PutImageScanningConfigurationResponse {
            registry_id: Some(repo.account),
            repository_name: Some(repo.name),
            image_scanning_configuration: Some(config),
        })
    }

    fn put_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: PutLifecyclePolicyRequest,
    ) -> Result<PutLifecyclePolicyResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        parse_policy(&input.lifecycle_policy_text).map_err(|e| invalid(e.to_string()))?;
        self.store.write(|tx| {
            let mut r = require_repo(tx, &repo)?;
            r.lifecycle_policy = Some(input.lifecycle_policy_text.clone());
            tx.put(REPOS, &records::repo_key(&repo), &r)?;
            Ok::<_, Error>(())
        })?;
        Ok(PutLifecyclePolicyResponse {
            registry_id: Some(repo.account),
            repository_name: Some(repo.name),
            lifecycle_policy_text: Some(input.lifecycle_policy_text),
        })
    }

    fn get_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: GetLifecyclePolicyRequest,
    ) -> Result<GetLifecyclePolicyResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        let r = self.store.read(|tx| require_repo(tx, &repo))?;
        let text = r.lifecycle_policy.ok_or_else(|| policy_not_found(&repo))?;
        Ok(GetLifecyclePolicyResponse {
            registry_id: Some(repo.account),
            repository_name: Some(repo.name),
            lifecycle_policy_text: Some(text),
            last_evaluated_at: r.lifecycle_evaluated_at,
        })
    }

    fn delete_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteLifecyclePolicyRequest,
    ) -> Result<DeleteLifecyclePolicyResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        let (text, evaluated) = self.store.write(|tx| {
            let mut r = require_repo(tx, &repo)?;
            let text = r
                .lifecycle_policy
                .take()
                .ok_or_else(|| policy_not_found(&repo))?;
            let evaluated = r.lifecycle_evaluated_at.take();
            tx.put(REPOS, &records::repo_key(&repo), &r)?;
            Ok::<_, Error>((text, evaluated))
        })?;
        Ok(DeleteLifecyclePolicyResponse {
            registry_id: Some(repo.account),
            repository_name: Some(repo.name),
            lifecycle_policy_text: Some(text),
            last_evaluated_at: evaluated,
        })
    }

    fn start_lifecycle_policy_preview(
        &self,
        ctx: &RequestContext,
        input: StartLifecyclePolicyPreviewRequest,
    ) -> Result<StartLifecyclePolicyPreviewResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        let text = self.store.write(|tx| {
            let mut r = require_repo(tx, &repo)?;
            let text = match input.lifecycle_policy_text.clone() {
                Some(t) => t,
                None => r
                    .lifecycle_policy
                    .clone()
                    .ok_or_else(|| policy_not_found(&repo))?,
            };
            let policy = parse_policy(&text).map_err(|e| invalid(e.to_string()))?;
            let all = list_images(tx, &repo)?;
            r.preview = Some(StoredPreview {
                policy_text: text.clone(),
                results: Ecr::preview(&policy, &all, ctx.now),
            });
            tx.put(REPOS, &records::repo_key(&repo), &r)?;
            Ok::<_, Error>(text)
        })?;
        Ok(StartLifecyclePolicyPreviewResponse {
            registry_id: Some(repo.account),
            repository_name: Some(repo.name),
            lifecycle_policy_text: Some(text),
            status: Some("COMPLETE".into()),
        })
    }

    fn get_lifecycle_policy_preview(
        &self,
        ctx: &RequestContext,
        input: GetLifecyclePolicyPreviewRequest,
    ) -> Result<GetLifecyclePolicyPreviewResponse, Error> {
        let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
        let ids = input.image_ids.unwrap_or_default();
        if !ids.is_empty() && (input.max_results.is_some() || input.next_token.is_some()) {
            return Err(invalid(
                "maxResults and nextToken cannot be used together with imageIds",
            ));
        }
        let max = page_size(input.max_results, 100, 100)?;
        let r = self.store.read(|tx| require_repo(tx, &repo))?;
        let preview = r.preview.ok_or_else(|| {
            Error::LifecyclePolicyPreviewNotFoundException(format!(
                "Lifecycle policy preview does not exist for the repository with name '{}' in the registry with id '{}'",
                repo.name, repo.account
            ))
        })?;
        let total = preview.results.len();
        let status = input.filter.and_then(|f| f.tag_status);
        let tags_of = |p: &StoredPreviewResult| p.image_tags.clone().unwrap_or_default();
        let selected: Vec<StoredPreviewResult> = preview
            .results
            .into_iter()
            .filter(|p| match status.as_deref() {
                Some("TAGGED") => !tags_of(p).is_empty(),
                Some("UNTAGGED") => tags_of(p).is_empty(),
                _ => true,
            })
            .filter(|p| {
                ids.is_empty()
                    || ids.iter().any(|id| {
                        id.image_digest
                            .as_ref()
                            .is_none_or(|d| p.image_digest.as_ref() == Some(d))
                            && id.image_tag.as_ref().is_none_or(|t| tags_of(p).contains(t))
                            && (id.image_digest.is_some() || id.image_tag.is_some())
                    })
            })
            .collect();
        let (page, next) = paginate(
            selected,
            |p| p.image_digest.clone().unwrap_or_default(),
            input.next_token.as_deref(),
            max,
        )
        .map_err(|_| invalid_token())?;
        Ok(GetLifecyclePolicyPreviewResponse {
            registry_id: Some(repo.account),
            repository_name: Some(repo.name),
            lifecycle_policy_text: Some(preview.policy_text),
            status: Some("COMPLETE".into()),
            next_token: next,
            preview_results: Some(page.iter().map(StoredPreviewResult::to_wire).collect()),
            summary: Some(LifecyclePolicyPreviewSummary {
                expiring_image_total_count: Some(i32::try_from(total).unwrap_or(i32::MAX)),
                transitioning_image_total_counts: None,
            }),
        })
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, Error> {
        let repo = repo_from_arn(ctx, &input.resource_arn)?;
        let new: Vec<StoredTag> = input.tags.iter().map(StoredTag::from).collect();
        check_tags(&new)?;
        self.store.write(|tx| {
            let mut r = require_repo(tx, &repo)?;
            tags::merge(&mut r.tags, new, |t| &t.key);
            check_tags(&r.tags)?;
            tx.put(REPOS, &records::repo_key(&repo), &r)?;
            Ok(TagResourceResponse {})
        })
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, Error> {
        let repo = repo_from_arn(ctx, &input.resource_arn)?;
        self.store.write(|tx| {
            let mut r = require_repo(tx, &repo)?;
            tags::remove(&mut r.tags, &input.tag_keys, |t| &t.key);
            tx.put(REPOS, &records::repo_key(&repo), &r)?;
            Ok(UntagResourceResponse {})
        })
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, Error> {
        let repo = repo_from_arn(ctx, &input.resource_arn)?;
        let r = self.store.read(|tx| require_repo(tx, &repo))?;
        Ok(ListTagsForResourceResponse {
            tags: Some(r.tags.iter().map(StoredTag::to_wire).collect()),
        })
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A fresh ECR over a temp-dir store and blob directory, and a fixed request context.
    use super::*;
    use crate::EcrConfig;
    use std::path::Path;
    use wharf_core::ids::RandomIds;
    use wharf_core::FakeClock;
    use wharf_store::Store;

    /// The instant every test request happens at.
    pub const NOW: i64 = 1_700_000_000_000;

    pub fn ctx() -> RequestContext {
        RequestContext::for_tests("us-east-1", "123456789012", Timestamp::from_millis(NOW))
    }

    pub fn ctx_at(millis: i64) -> RequestContext {
        RequestContext::for_tests("us-east-1", "123456789012", Timestamp::from_millis(millis))
    }

    /// ECR whose store and blobs live in `dir` (reopening the same `dir` is a restart).
    pub fn ecr_with_clock(dir: &Path, clock: Arc<FakeClock>) -> Arc<Ecr> {
        let store = Arc::new(Store::open(&dir.join("state.db")).unwrap());
        let config = EcrConfig {
            root: dir.join("registry"),
            registry_host: "127.0.0.1:4566".into(),
        };
        Arc::new(Ecr::new(store, Arc::new(RandomIds), clock, config).unwrap())
    }

    pub fn ecr_in(dir: &Path) -> Arc<Ecr> {
        ecr_with_clock(dir, Arc::new(FakeClock::new(Timestamp::from_millis(NOW))))
    }

    pub fn ecr() -> (tempfile::TempDir, Arc<Ecr>) {
        let dir = tempfile::tempdir().unwrap();
        let ecr = ecr_in(dir.path());
        (dir, ecr)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{ctx, ctx_at, ecr, NOW};
    use super::*;
    use crate::images::tests::{create, new_image};
    use wharf_core::Clock;

    fn id(digest: Option<&str>, tag: Option<&str>) -> ImageIdentifier {
        ImageIdentifier {
            image_digest: digest.map(str::to_string),
            image_tag: tag.map(str::to_string),
        }
    }

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    /// Stores a config blob and a layer, and returns a schema 2 manifest referencing them.
    fn manifest(ecr: &Ecr, seed: &str) -> String {
        let config = format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"seed\":\"{seed}\"}}");
        let layer = format!("layer {seed}");
        let cd = ecr.blobs.put(config.as_bytes()).unwrap();
        let ld = ecr.blobs.put(layer.as_bytes()).unwrap();
        // Uploaded into "app" (where the tests using this push it).
        let app = RepoRef::new("123456789012", "us-east-1", "app");
        ecr.link_blob(&app, &cd).unwrap();
        ecr.link_blob(&app, &ld).unwrap();
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"{cd}"}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{},"digest":"{ld}"}}]}}"#,
            config.len(),
            layer.len()
        )
    }

    fn put(ecr: &Arc<Ecr>, repo: &str, tag: Option<&str>, manifest: &str) -> Result<String, Error> {
        ecr.put_image(
            &ctx(),
            PutImageRequest {
                repository_name: repo.into(),
                image_manifest: manifest.into(),
                image_tag: tag.map(str::to_string),
                ..Default::default()
            },
        )
        .map(|r| r.image.unwrap().image_id.unwrap().image_digest.unwrap())
    }

    #[test]
    fn create_describe_and_delete_repositories() {
        let (_d, ecr) = ecr();
        let r = ecr
            .create_repository(
                &ctx(),
                CreateRepositoryRequest {
                    repository_name: "blog-api".into(),
                    image_scanning_configuration: Some(ImageScanningConfiguration {
                        scan_on_push: Some(true),
                    }),
                    tags: Some(vec![tag("team", "web")]),
                    ..Default::default()
                },
            )
            .unwrap()
            .repository
            .unwrap();
        assert_eq!(
            r.repository_arn.as_deref(),
            Some("arn:aws:ecr:us-east-1:123456789012:repository/blog-api")
        );
        assert_eq!(r.registry_id.as_deref(), Some("123456789012"));
        assert_eq!(r.repository_uri.as_deref(), Some("127.0.0.1:4566/blog-api"));
        assert_eq!(r.image_tag_mutability.as_deref(), Some("MUTABLE"));
        assert_eq!(r.created_at, Some(Timestamp::from_millis(NOW)));
        assert_eq!(
            r.image_scanning_configuration.unwrap().scan_on_push,
            Some(true)
        );
        assert_eq!(
            r.encryption_configuration.unwrap().encryption_type,
            "AES256"
        );
        let again = ecr.create_repository(
            &ctx(),
            CreateRepositoryRequest {
                repository_name: "blog-api".into(),
                ..Default::default()
            },
        );
        assert_eq!(
            again.unwrap_err(),
            Error::RepositoryAlreadyExistsException(
                "The repository with name 'blog-api' already exists in the registry with id '123456789012'".into()
            )
        );
        for n in ["c", "b/nested", "a"] {
            create(&ecr, &format!("{n}-repo"), None);
        }
        // Paginate two at a time through all four.
        let mut seen = vec![];
        let mut token = None;
        loop {
            let page = ecr
                .describe_repositories(
                    &ctx(),
                    DescribeRepositoriesRequest {
                        max_results: Some(2),
                        next_token: token.clone(),
                        ..Default::default()
                    },
                )
                .unwrap();
            seen.extend(
                page.repositories
                    .unwrap()
                    .into_iter()
                    .map(|r| r.repository_name.unwrap()),
            );
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen, vec!["a-repo", "b/nested-repo", "blog-api", "c-repo"]);
        let missing = ecr.describe_repositories(
            &ctx(),
            DescribeRepositoriesRequest {
                repository_names: Some(vec!["blog-api".into(), "nope".into()]),
                ..Default::default()
            },
        );
        assert_eq!(
            missing.unwrap_err(),
            Error::RepositoryNotFoundException(
                "The repository with name 'nope' does not exist in the registry with id '123456789012'".into()
            )
        );
        // Another region sees none of them.
        let other = RequestContext::for_tests("eu-west-1", "123456789012", ctx().now);
        let l = ecr
            .describe_repositories(&other, DescribeRepositoriesRequest::default())
            .unwrap();
        assert!(l.repositories.unwrap().is_empty());
        let d = ecr
            .delete_repository(
                &ctx(),
                DeleteRepositoryRequest {
                    repository_name: "a-repo".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            d.repository.unwrap().repository_name.as_deref(),
            Some("a-repo")
        );
        assert!(matches!(
            ecr.delete_repository(
                &ctx(),
                DeleteRepositoryRequest {
                    repository_name: "a-repo".into(),
                    ..Default::default()
                },
            ),
            Err(Error::RepositoryNotFoundException(_))
        ));
    }

    #[test]
    fn bad_create_requests_are_refused() {
        let (_d, ecr) = ecr();
        let create_with = |req: CreateRepositoryRequest| ecr.create_repository(&ctx(), req);
        let named = |n: &str| CreateRepositoryRequest {
            repository_name: n.into(),
            ..Default::default()
        };
        let e = create_with(named("Blog_API")).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidParameterException(m) if m.contains("repositoryName") && m.contains(NAME_PATTERN)),
            "{e}"
        );
        assert!(
            matches!(create_with(named("a")), Err(Error::InvalidParameterException(m)) if m.contains("length"))
        );
        let mut r = named("ok-name");
        r.image_tag_mutability = Some("SOMETIMES".into());
        assert!(matches!(
            create_with(r),
            Err(Error::InvalidParameterException(_))
        ));
        let mut r = named("ok-name");
        r.image_tag_mutability = Some("IMMUTABLE_WITH_EXCLUSION".into());
        assert!(
            matches!(create_with(r), Err(Error::InvalidParameterException(m)) if m.contains("required"))
        );
        let mut r = named("ok-name");
        r.tags = Some(vec![tag("aws:owner", "x")]);
        assert!(matches!(
            create_with(r),
            Err(Error::InvalidTagParameterException(_))
        ));
        let mut r = named("ok-name");
        r.tags = Some((0..51).map(|i| tag(&format!("k{i}"), "v")).collect());
        assert!(matches!(
            create_with(r),
            Err(Error::TooManyTagsException(_))
        ));
        let mut r = named("ok-name");
        r.encryption_configuration = Some(EncryptionConfiguration {
            encryption_type: "AES256".into(),
            kms_key: Some("arn:aws:kms:us-east-1:123456789012:key/x".into()),
        });
        assert!(matches!(
            create_with(r),
            Err(Error::InvalidParameterException(_))
        ));
        let mut r = named("ok-name");
        r.registry_id = Some("999999999999".into());
        assert!(matches!(
            create_with(r),
            Err(Error::InvalidParameterException(_))
        ));
        // Nothing was created by the refused requests.
        assert!(ecr
            .repository_names("123456789012", "us-east-1")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn delete_repository_needs_force_when_images_remain() {
        let (_d, ecr) = ecr();
        let repo = create(&ecr, "busy", None);
        ecr.record_image(&repo, Some("v1"), new_image(1), ctx().now)
            .unwrap();
        let req = |force| DeleteRepositoryRequest {
            repository_name: "busy".into(),
            force,
            ..Default::default()
        };
        assert!(matches!(
            ecr.delete_repository(&ctx(), req(None)),
            Err(Error::RepositoryNotEmptyException(m)) if m.contains("'busy'")
        ));
        let uploaded = format!("sha256:{}", "c".repeat(64));
        ecr.link_blob(&repo, &uploaded).unwrap();
        let layer = new_image(1).blobs[0].digest.clone();
        assert!(ecr.blob_linked(&repo, &layer).unwrap());
        // Another repository's links are its own.
        let bystander = create(&ecr, "busy/child", None);
        ecr.link_blob(&bystander, &uploaded).unwrap();
        ecr.delete_repository(&ctx(), req(Some(true))).unwrap();
        assert!(ecr.referenced_digests().unwrap().is_empty());
        assert!(ecr.tags(&repo).unwrap().is_empty());
        let links = ecr
            .store
            .read(|tx| tx.list::<records::BlobLink>(records::BLOB_LINKS, ""))
            .unwrap();
        assert_eq!(links.len(), 1, "{links:?}");
        assert!(ecr.blob_linked(&bystander, &uploaded).unwrap());
        // Re-created, it is empty and holds no blobs.
        create(&ecr, "busy", None);
        assert!(ecr.tags(&repo).unwrap().is_empty());
        assert!(!ecr.blob_linked(&repo, &uploaded).unwrap());
        assert!(!ecr.blob_linked(&repo, &layer).unwrap());
    }

    #[test]
    fn list_and_describe_images_with_filters_and_pages() {
        let (_d, ecr) = ecr();
        let repo = create(&ecr, "app", None);
        ecr.record_image(&repo, Some("v1"), new_image(1), ctx_at(1_000).now)
            .unwrap();
        ecr.record_image(&repo, Some("latest"), new_image(1), ctx_at(1_000).now)
            .unwrap();
        ecr.record_image(&repo, Some("v2"), new_image(2), ctx_at(2_000).now)
            .unwrap();
        ecr.record_image(&repo, None, new_image(3), ctx_at(3_000).now)
            .unwrap();
        let list = |status: Option<&str>, max: Option<i32>, token: Option<String>| {
            ecr.list_images(
                &ctx(),
                ListImagesRequest {
                    repository_name: "app".into(),
                    filter: Some(ListImagesFilter {
                        tag_status: status.map(str::to_string),
                        image_status: None,
                    }),
                    max_results: max,
                    next_token: token,
                    ..Default::default()
                },
            )
            .unwrap()
        };
        let all = list(None, None, None).image_ids.unwrap();
        assert_eq!(all.len(), 4, "{all:?}");
        assert_eq!(list(Some("TAGGED"), None, None).image_ids.unwrap().len(), 3);
        let untagged = list(Some("UNTAGGED"), None, None).image_ids.unwrap();
        assert_eq!(untagged, vec![id(Some(&new_image(3).digest), None)]);
        let p1 = list(None, Some(3), None);
        let p2 = list(None, Some(3), p1.next_token.clone());
        assert_eq!(p1.image_ids.unwrap().len() + p2.image_ids.unwrap().len(), 4);
        assert!(p2.next_token.is_none());

        let describe = |ids: Option<Vec<ImageIdentifier>>, status: Option<&str>| {
            ecr.describe_images(
                &ctx(),
                DescribeImagesRequest {
                    repository_name: "app".into(),
                    image_ids: ids,
                    filter: Some(DescribeImagesFilter {
                        tag_status: status.map(str::to_string),
                        image_status: None,
                    }),
                    ..Default::default()
                },
            )
        };
        let details = describe(None, None).unwrap().image_details.unwrap();
        assert_eq!(details.len(), 3);
        let first = &details[0];
        assert_eq!(
            first.image_digest.as_deref(),
            Some(new_image(1).digest.as_str())
        );
        assert_eq!(
            first.image_tags,
            Some(vec!["latest".to_string(), "v1".to_string()])
        );
        assert_eq!(first.image_size_in_bytes, Some(110));
        assert_eq!(first.image_pushed_at, Some(Timestamp::from_millis(1_000)));
        assert_eq!(
            first.image_manifest_media_type.as_deref(),
            Some("application/vnd.oci.image.manifest.v1+json")
        );
        assert_eq!(
            first.artifact_media_type.as_deref(),
            Some("application/vnd.oci.image.config.v1+json")
        );
        assert_eq!(first.registry_id.as_deref(), Some("123456789012"));
        assert_eq!(first.repository_name.as_deref(), Some("app"));
        assert_eq!(details[2].image_tags, None);
        assert_eq!(
            describe(None, Some("UNTAGGED"))
                .unwrap()
                .image_details
                .unwrap()
                .len(),
            1
        );
        // By id: a tag and a digest naming the same image give it once.
        let by_id = describe(
            Some(vec![
                id(None, Some("v1")),
                id(Some(&new_image(1).digest), None),
            ]),
            None,
        )
        .unwrap()
        .image_details
        .unwrap();
        assert_eq!(by_id.len(), 1);
        let missing = describe(Some(vec![id(None, Some("v9"))]), None).unwrap_err();
        assert_eq!(
            missing,
            Error::ImageNotFoundException(
                "The image with imageId {imageDigest:'null', imageTag:'v9'} does not exist within the repository with name 'app' in the registry with id '123456789012'".into()
            )
        );
        assert!(matches!(
            describe(Some(vec![id(Some(&new_image(2).digest), Some("v1"))]), None),
            Err(Error::ImageNotFoundException(_))
        ));
        assert!(matches!(
            ecr.list_images(
                &ctx(),
                ListImagesRequest {
                    repository_name: "ghost".into(),
                    ..Default::default()
                }
            ),
            Err(Error::RepositoryNotFoundException(_))
        ));
    }

    #[test]
    fn batch_delete_by_tag_by_digest_and_failures() {
        let (_d, ecr) = ecr();
        let repo = create(&ecr, "app", None);
        let t = ctx().now;
        ecr.record_image(&repo, Some("v1"), new_image(1), t)
            .unwrap();
        ecr.record_image(&repo, Some("latest"), new_image(1), t)
            .unwrap();
        ecr.record_image(&repo, Some("v2"), new_image(2), t)
            .unwrap();
        ecr.record_image(&repo, Some("v3"), new_image(3), t)
            .unwrap();
        let del = |ids: Vec<ImageIdentifier>| {
            ecr.batch_delete_image(
                &ctx(),
                BatchDeleteImageRequest {
                    repository_name: "app".into(),
                    image_ids: ids,
                    ..Default::default()
                },
            )
            .unwrap()
        };
        // Removing one of two tags keeps the image.
        let r = del(vec![id(None, Some("v1"))]);
        assert_eq!(
            r.image_ids.unwrap(),
            vec![id(Some(&new_image(1).digest), Some("v1"))]
        );
        assert!(ecr
            .resolve_reference(&repo, &new_image(1).digest)
            .unwrap()
            .is_some());
        // Removing the last tag deletes it.
        del(vec![id(None, Some("latest"))]);
        assert!(ecr
            .resolve_reference(&repo, &new_image(1).digest)
            .unwrap()
            .is_none());
        // By digest: the image and all its tags.
        let r = del(vec![id(Some(&new_image(2).digest), None)]);
        assert_eq!(
            r.image_ids.unwrap(),
            vec![id(Some(&new_image(2).digest), Some("v2"))]
        );
        assert_eq!(ecr.tags(&repo).unwrap(), vec!["v3"]);
        let r = del(vec![
            id(None, Some("nope")),
            id(Some("sha256:zz"), None),
            id(None, None),
            id(Some(&new_image(3).digest), Some("v9")),
        ]);
        let codes: Vec<String> = r
            .failures
            .unwrap()
            .into_iter()
            .map(|f| f.failure_code.unwrap())
            .collect();
        assert_eq!(
            codes,
            vec![
                "ImageNotFound",
                "InvalidImageDigest",
                "MissingDigestAndTag",
                "ImageNotFound"
            ]
        );
        assert!(r.image_ids.unwrap().is_empty());
        assert_eq!(ecr.tags(&repo).unwrap(), vec!["v3"]);
    }

    #[test]
    fn children_of_an_index_cannot_be_deleted_alone() {
        let (_d, ecr) = ecr();
        let repo = create(&ecr, "multi", None);
        let mut index = new_image(9);
        index.blobs.clear();
        index.children = vec![new_image(1).digest];
        ecr.record_image(&repo, None, new_image(1), ctx().now)
            .unwrap();
        ecr.record_image(&repo, Some("v1"), index, ctx().now)
            .unwrap();
        let r = ecr
            .batch_delete_image(
                &ctx(),
                BatchDeleteImageRequest {
                    repository_name: "multi".into(),
                    image_ids: vec![id(Some(&new_image(1).digest), None)],
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            r.failures.unwrap()[0].failure_code.as_deref(),
            Some("ImageReferencedByManifestList")
        );
        // The index reports its children's size.
        let d = ecr
            .describe_images(
                &ctx(),
                DescribeImagesRequest {
                    repository_name: "multi".into(),
                    image_ids: Some(vec![id(None, Some("v1"))]),
                    ..Default::default()
                },
            )
            .unwrap()
            .image_details
            .unwrap();
        assert_eq!(d[0].image_size_in_bytes, Some(110));
    }

    #[test]
    fn put_image_get_it_back_and_retag() {
        let (_d, ecr) = ecr();
        create(&ecr, "app", Some("IMMUTABLE"));
        let m = manifest(&ecr, "one");
        let digest = put(&ecr, "app", Some("v1"), &m).unwrap();
        assert_eq!(
            digest,
            format!("sha256:{}", hex::encode(Sha256::digest(m.as_bytes())))
        );
        // Same manifest, same tag: ImageAlreadyExists.
        assert!(matches!(
            put(&ecr, "app", Some("v1"), &m),
            Err(Error::ImageAlreadyExistsException(msg)) if msg.contains("and tag 'v1'")
        ));
        // Retag (the batch-get-image / put-image idiom) works even when immutable.
        let got = ecr
            .batch_get_image(
                &ctx(),
                BatchGetImageRequest {
                    repository_name: "app".into(),
                    image_ids: vec![id(None, Some("v1")), id(None, Some("v404"))],
                    ..Default::default()
                },
            )
            .unwrap();
        let image = &got.images.unwrap()[0];
        assert_eq!(image.image_manifest.as_deref(), Some(m.as_str()));
        assert_eq!(
            image.image_manifest_media_type.as_deref(),
            Some("application/vnd.docker.distribution.manifest.v2+json")
        );
        assert_eq!(image.image_id, Some(id(Some(&digest), Some("v1"))));
        assert_eq!(
            got.failures.unwrap()[0].failure_code.as_deref(),
            Some("ImageNotFound")
        );
        // The re-tag needs no new upload: the blobs are the existing image's (even for an
        // image recorded before blob links existed, simulated by dropping its links).
        let app = RepoRef::new("123456789012", "us-east-1", "app");
        ecr.store
            .write(|tx| images::delete_blob_links_tx(tx, &app))
            .unwrap();
        put(&ecr, "app", Some("prod"), &m).unwrap();
        // The same manifest in another repository needs its blobs there first.
        create(&ecr, "copy", None);
        assert!(matches!(
            put(&ecr, "copy", Some("v1"), &m),
            Err(Error::LayersNotFoundException(_))
        ));
        // Another manifest under an existing tag of an immutable repository: refused.
        let other = manifest(&ecr, "two");
        assert_eq!(
            put(&ecr, "app", Some("v1"), &other).unwrap_err(),
            Error::ImageTagAlreadyExistsException(
                "The image tag 'v1' already exists in the 'app' repository and cannot be overwritten because the repository is immutable.".into()
            )
        );
        // Media types the caller does not accept are failures.
        let got = ecr
            .batch_get_image(
                &ctx(),
                BatchGetImageRequest {
                    repository_name: "app".into(),
                    image_ids: vec![id(None, Some("v1"))],
                    accepted_media_types: Some(vec![
                        "application/vnd.oci.image.manifest.v1+json".into()
                    ]),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(got.images.unwrap().is_empty());
        assert_eq!(got.failures.unwrap().len(), 1);
    }

    #[test]
    fn put_image_refusals_map_to_ecr_errors() {
        let (_d, ecr) = ecr();
        create(&ecr, "app", None);
        let m = manifest(&ecr, "one");
        let wrong = format!("sha256:{}", "0".repeat(64));
        let r = ecr.put_image(
            &ctx(),
            PutImageRequest {
                repository_name: "app".into(),
                image_manifest: m.clone(),
                image_digest: Some(wrong),
                ..Default::default()
            },
        );
        assert!(matches!(r, Err(Error::ImageDigestDoesNotMatchException(_))));
        let missing_layer = m.replace(
            &m[m.rfind("sha256:").unwrap()..m.rfind('"').unwrap()],
            &format!("sha256:{}", "a".repeat(64)),
        );
        assert!(matches!(
            put(&ecr, "app", Some("v1"), &missing_layer),
            Err(Error::LayersNotFoundException(_))
        ));
        assert!(matches!(
            put(&ecr, "app", Some("v1"), "not a manifest"),
            Err(Error::InvalidParameterException(_))
        ));
        assert!(matches!(
            put(&ecr, "app", Some("bad tag"), &m),
            Err(Error::InvalidParameterException(_))
        ));
        assert!(matches!(
            put(&ecr, "ghost", Some("v1"), &m),
            Err(Error::RepositoryNotFoundException(_))
        ));
        // Nothing was recorded by any of these.
        let repo = RepoRef::new("123456789012", "us-east-1", "app");
        assert!(ecr.tags(&repo).unwrap().is_empty());
    }

    #[test]
    fn layer_availability_comes_from_the_blob_store() {
        let (_d, ecr) = ecr();
        let app = create(&ecr, "app", None);
        let present = ecr.blobs.put(b"hello").unwrap();
        ecr.link_blob(&app, &present).unwrap();
        // Stored, but uploaded into another repository only.
        let elsewhere = ecr.blobs.put(b"someone else's").unwrap();
        let other = create(&ecr, "other", None);
        ecr.link_blob(&other, &elsewhere).unwrap();
        let absent = format!("sha256:{}", "b".repeat(64));
        let r = ecr
            .batch_check_layer_availability(
                &ctx(),
                BatchCheckLayerAvailabilityRequest {
                    repository_name: "app".into(),
                    layer_digests: vec![
                        present.clone(),
                        absent.clone(),
                        "nope".into(),
                        elsewhere.clone(),
                    ],
                    ..Default::default()
                },
            )
            .unwrap();
        let layers = r.layers.unwrap();
        assert_eq!(layers[0].layer_availability.as_deref(), Some("AVAILABLE"));
        assert_eq!(layers[0].layer_size, Some(5));
        assert_eq!(layers[1].layer_availability.as_deref(), Some("UNAVAILABLE"));
        assert_eq!(layers[2].layer_availability.as_deref(), Some("UNAVAILABLE"));
        assert_eq!(layers[2].layer_size, None);
        assert_eq!(
            r.failures.unwrap()[0].failure_code.as_deref(),
            Some("InvalidLayerDigest")
        );
    }

    #[test]
    fn mutability_and_scanning_can_change() {
        let (_d, ecr) = ecr();
        let repo = create(&ecr, "app", None);
        let r = ecr
            .put_image_tag_mutability(
                &ctx(),
                PutImageTagMutabilityRequest {
                    repository_name: "app".into(),
                    image_tag_mutability: "IMMUTABLE_WITH_EXCLUSION".into(),
                    image_tag_mutability_exclusion_filters: Some(vec![
                        ImageTagMutabilityExclusionFilter {
                            filter_type: "WILDCARD".into(),
                            filter: "latest".into(),
                        },
                    ]),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            r.image_tag_mutability.as_deref(),
            Some("IMMUTABLE_WITH_EXCLUSION")
        );
        let t = ctx().now;
        ecr.record_image(&repo, Some("latest"), new_image(1), t)
            .unwrap();
        ecr.record_image(&repo, Some("latest"), new_image(2), t)
            .unwrap();
        ecr.record_image(&repo, Some("v1"), new_image(1), t)
            .unwrap();
        assert!(ecr
            .record_image(&repo, Some("v1"), new_image(2), t)
            .is_err());
        let s = ecr
            .put_image_scanning_configuration(
                &ctx(),
                PutImageScanningConfigurationRequest {
                    repository_name: "app".into(),
                    image_scanning_configuration: ImageScanningConfiguration {
                        scan_on_push: Some(true),
                    },
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            s.image_scanning_configuration.unwrap().scan_on_push,
            Some(true)
        );
        let d = ecr
            .describe_repositories(
                &ctx(),
                DescribeRepositoriesRequest {
                    repository_names: Some(vec!["app".into()]),
                    ..Default::default()
                },
            )
            .unwrap()
            .repositories
            .unwrap();
        assert_eq!(
            d[0].image_scanning_configuration
                .as_ref()
                .unwrap()
                .scan_on_push,
            Some(true)
        );
        assert!(matches!(
            ecr.put_image_tag_mutability(
                &ctx(),
                PutImageTagMutabilityRequest {
                    repository_name: "app".into(),
                    image_tag_mutability: "MUTABLE".into(),
                    image_tag_mutability_exclusion_filters: Some(vec![
                        ImageTagMutabilityExclusionFilter {
                            filter_type: "WILDCARD".into(),
                            filter: "x".into(),
                        },
                    ]),
                    ..Default::default()
                },
            ),
            Err(Error::InvalidParameterException(_))
        ));
    }

    const KEEP_TWO: &str = r#"{"rules": [{"rulePriority": 1, "description": "keep two", "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 2}, "action": {"type": "expire"}}]}"#;

    #[test]
    fn lifecycle_policy_crud_preview_and_expiry() {
        let (_d, ecr) = ecr();
        let repo = create(&ecr, "app", None);
        let get = || {
            ecr.get_lifecycle_policy(
                &ctx(),
                GetLifecyclePolicyRequest {
                    repository_name: "app".into(),
                    ..Default::default()
                },
            )
        };
        assert_eq!(
            get().unwrap_err(),
            Error::LifecyclePolicyNotFoundException(
                "Lifecycle policy does not exist for the repository with name 'app' in the registry with id '123456789012'".into()
            )
        );
        let bad = ecr.put_lifecycle_policy(
            &ctx(),
            PutLifecyclePolicyRequest {
                repository_name: "app".into(),
                lifecycle_policy_text: KEEP_TWO.replace("\"any\"", "\"tagged\""),
                ..Default::default()
            },
        );
        assert!(
            matches!(bad, Err(Error::InvalidParameterException(m)) if m.contains("tagPrefixList or tagPatternList"))
        );
        ecr.put_lifecycle_policy(
            &ctx(),
            PutLifecyclePolicyRequest {
                repository_name: "app".into(),
                lifecycle_policy_text: KEEP_TWO.into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            get().unwrap().lifecycle_policy_text.as_deref(),
            Some(KEEP_TWO)
        );
        for n in 1..=4u32 {
            let tag = format!("v{n}");
            ecr.record_image(
                &repo,
                Some(&tag),
                new_image(n),
                ctx_at(i64::from(n) * 1_000).now,
            )
            .unwrap();
        }
        let get_preview = |filter: Option<&str>| {
            ecr.get_lifecycle_policy_preview(
                &ctx(),
                GetLifecyclePolicyPreviewRequest {
                    repository_name: "app".into(),
                    filter: filter.map(|f| LifecyclePolicyPreviewFilter {
                        tag_status: Some(f.into()),
                    }),
                    ..Default::default()
                },
            )
        };
        assert!(matches!(
            get_preview(None),
            Err(Error::LifecyclePolicyPreviewNotFoundException(_))
        ));
        let started = ecr
            .start_lifecycle_policy_preview(
                &ctx(),
                StartLifecyclePolicyPreviewRequest {
                    repository_name: "app".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(started.status.as_deref(), Some("COMPLETE"));
        let p = get_preview(None).unwrap();
        assert_eq!(p.status.as_deref(), Some("COMPLETE"));
        assert_eq!(p.summary.unwrap().expiring_image_total_count, Some(2));
        let results = p.preview_results.unwrap();
        let digests: Vec<String> = results
            .iter()
            .map(|r| r.image_digest.clone().unwrap())
            .collect();
        assert_eq!(digests, vec![new_image(1).digest, new_image(2).digest]);
        assert_eq!(results[0].image_tags, Some(vec!["v1".to_string()]));
        assert_eq!(results[0].applied_rule_priority, Some(1));
        assert_eq!(
            results[0].action.as_ref().unwrap().r#type.as_deref(),
            Some("EXPIRE")
        );
        assert!(get_preview(Some("UNTAGGED"))
            .unwrap()
            .preview_results
            .unwrap()
            .is_empty());
        // The preview changed nothing; applying the policy does.
        assert_eq!(ecr.tags(&repo).unwrap().len(), 4);
        let later = Timestamp::from_millis(NOW + 5_000);
        assert_eq!(ecr.apply_lifecycle_policies(later).unwrap(), 2);
        assert_eq!(ecr.tags(&repo).unwrap(), vec!["v3", "v4"]);
        assert_eq!(get().unwrap().last_evaluated_at, Some(later));
        assert_eq!(ecr.apply_lifecycle_policies(later).unwrap(), 0);
        let d = ecr
            .delete_lifecycle_policy(
                &ctx(),
                DeleteLifecyclePolicyRequest {
                    repository_name: "app".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(d.lifecycle_policy_text.as_deref(), Some(KEEP_TWO));
        assert!(matches!(
            get(),
            Err(Error::LifecyclePolicyNotFoundException(_))
        ));
        // A preview of an explicit policy text works without a stored policy.
        let s = ecr
            .start_lifecycle_policy_preview(
                &ctx(),
                StartLifecyclePolicyPreviewRequest {
                    repository_name: "app".into(),
                    lifecycle_policy_text: Some(
                        KEEP_TWO.replace("\"countNumber\": 2", "\"countNumber\": 1"),
                    ),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(s.status.as_deref(), Some("COMPLETE"));
        assert_eq!(get_preview(None).unwrap().preview_results.unwrap().len(), 1);
        assert!(matches!(
            ecr.start_lifecycle_policy_preview(
                &ctx(),
                StartLifecyclePolicyPreviewRequest {
                    repository_name: "app".into(),
                    ..Default::default()
                },
            ),
            Err(Error::LifecyclePolicyNotFoundException(_))
        ));
    }

    #[test]
    fn lifecycle_loop_expires_images_as_the_fake_clock_moves() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(wharf_core::FakeClock::new(Timestamp::from_millis(NOW)));
        let ecr = super::testing::ecr_with_clock(dir.path(), clock.clone());
        let repo = create(&ecr, "app", None);
        let policy = r#"{"rules": [{"rulePriority": 1, "description": "untagged after a day", "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}, "action": {"type": "expire"}}]}"#;
        ecr.put_lifecycle_policy(
            &ctx(),
            PutLifecyclePolicyRequest {
                repository_name: "app".into(),
                lifecycle_policy_text: policy.into(),
                ..Default::default()
            },
        )
        .unwrap();
        ecr.record_image(&repo, None, new_image(1), clock.now())
            .unwrap();
        ecr.record_image(&repo, Some("v1"), new_image(2), clock.now())
            .unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        rt.block_on(async {
            let task = tokio::spawn(crate::lifecycle::run_lifecycle_loop(
                ecr.clone(),
                std::time::Duration::from_millis(10),
                stopped,
            ));
            let exists = |n: u32| {
                ecr.resolve_reference(&repo, &new_image(n).digest)
                    .unwrap()
                    .is_some()
            };
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert!(exists(1), "nothing is a day old yet");
            clock.advance(24 * 60 * 60 * 1000 + 1);
            let mut waited = 0;
            while exists(1) && waited < 200 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                waited += 1;
            }
            assert!(!exists(1), "the untagged image expired");
            assert!(exists(2), "the tagged image stays");
            stop.send(true).unwrap();
            tokio::time::timeout(std::time::Duration::from_secs(5), task)
                .await
                .expect("the loop stops on shutdown")
                .unwrap();
        });
        let gc_roots = ecr.referenced_digests().unwrap();
        assert!(!gc_roots.contains(&new_image(1).blobs[0].digest));
    }

    #[test]
    fn resource_tags_on_repository_arns() {
        let (_d, ecr) = ecr();
        create(&ecr, "team/app", None);
        let arn = "arn:aws:ecr:us-east-1:123456789012:repository/team/app".to_string();
        ecr.tag_resource(
            &ctx(),
            TagResourceRequest {
                resource_arn: arn.clone(),
                tags: vec![tag("env", "dev"), tag("team", "a")],
            },
        )
        .unwrap();
        ecr.tag_resource(
            &ctx(),
            TagResourceRequest {
                resource_arn: arn.clone(),
                tags: vec![tag("env", "prod")],
            },
        )
        .unwrap();
        ecr.untag_resource(
            &ctx(),
            UntagResourceRequest {
                resource_arn: arn.clone(),
                tag_keys: vec!["team".into()],
            },
        )
        .unwrap();
        let l = ecr
            .list_tags_for_resource(&ctx(), ListTagsForResourceRequest { resource_arn: arn })
            .unwrap();
        assert_eq!(l.tags.unwrap(), vec![tag("env", "prod")]);
        let missing = ecr.list_tags_for_resource(
            &ctx(),
            ListTagsForResourceRequest {
                resource_arn: "arn:aws:ecr:us-east-1:123456789012:repository/none".into(),
            },
        );
        assert!(matches!(
            missing,
            Err(Error::RepositoryNotFoundException(_))
        ));
        let bad = ecr.list_tags_for_resource(
            &ctx(),
            ListTagsForResourceRequest {
                resource_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/x".into(),
            },
        );
        assert!(matches!(bad, Err(Error::InvalidParameterException(_))));
    }

    #[test]
    fn other_registry_ids_find_nothing() {
        let (_d, ecr) = ecr();
        create(&ecr, "app", None);
        let r = ecr.list_images(
            &ctx(),
            ListImagesRequest {
                repository_name: "app".into(),
                registry_id: Some("999999999999".into()),
                ..Default::default()
            },
        );
        assert_eq!(
            r.unwrap_err(),
            Error::RepositoryNotFoundException(
                "The repository with name 'app' does not exist in the registry with id '999999999999'".into()
            )
        );
    }
}
