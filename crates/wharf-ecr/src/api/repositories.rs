//! Repositories in the ECR API: CreateRepository, DescribeRepositories, DeleteRepository, and
//! the settings a repository carries (PutImageTagMutability with its exclusion filters,
//! PutImageScanningConfiguration). Repository records are `records::StoredRepo`.

use super::checks::{check_repository_name, check_tags, invalid, repo_ref, require_repo};
use super::paging::{page, page_size};
use crate::generated::*;
use crate::images;
use crate::records::{
    self, RepoRef, StoredImage, StoredRepo, StoredRepository, StoredScanningConfiguration,
    StoredTag, REPOS,
};
use crate::Ecr;
use wharf_core::{Arn, RequestContext};

/// The repository as the API reports it: `repositoryUri` from the configured registry host.
pub(crate) fn present(ecr: &Ecr, r: &StoredRepo) -> Repository {
    let mut out = r.repository.to_wire();
    out.repository_uri = Some(format!("{}/{}", ecr.config.registry_host, r.name()));
    out
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

pub(crate) fn create_repository(
    ecr: &Ecr,
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
    let encryption = input
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
        repository_policy: None,
        preview: None,
    };
    let created = ecr
        .store
        .write(|tx| tx.insert(REPOS, &records::repo_key(&repo), &record))?;
    if !created {
        return Err(Error::RepositoryAlreadyExistsException(format!(
            "The repository with name '{name}' already exists in the registry with id '{}'",
            ctx.account_id
        )));
    }
    Ok(CreateRepositoryResponse {
        repository: Some(present(ecr, &record)),
    })
}

pub(crate) fn describe_repositories(
    ecr: &Ecr,
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
        let repos = ecr.store.read(|tx| {
            names
                .iter()
                .map(|n| {
                    let repo = repo_ref(ctx, input.registry_id.as_deref(), n)?;
                    require_repo(tx, &repo).map(|r| present(ecr, &r))
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
    let all: Vec<(String, StoredRepo)> = ecr.store.read(|tx| tx.list(REPOS, &prefix))?;
    let mut all: Vec<StoredRepo> = all.into_iter().map(|(_, r)| r).collect();
    all.sort_by(|a, b| a.name().cmp(b.name()));
    let (page, next) = page(
        all,
        |r| r.name().to_string(),
        input.next_token.as_deref(),
        max,
    )?;
    Ok(DescribeRepositoriesResponse {
        repositories: Some(page.iter().map(|r| present(ecr, r)).collect()),
        next_token: next,
    })
}

pub(crate) fn delete_repository(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: DeleteRepositoryRequest,
) -> Result<DeleteRepositoryResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    let force = input.force.unwrap_or(false);
    let deleted = ecr.store.write(|tx| {
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
        repository: Some(present(ecr, &deleted)),
    })
}

pub(crate) fn put_image_tag_mutability(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: PutImageTagMutabilityRequest,
) -> Result<PutImageTagMutabilityResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    check_mutability(
        &input.image_tag_mutability,
        input.image_tag_mutability_exclusion_filters.as_deref(),
    )?;
    ecr.store.write(|tx| {
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

pub(crate) fn put_image_scanning_configuration(
    ecr: &Ecr,
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
    ecr.store.write(|tx| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::checks::NAME_PATTERN;
    use crate::api::testing::*;
    use crate::images::tests::{create, new_image};
    use wharf_core::{RequestContext, Timestamp};

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
