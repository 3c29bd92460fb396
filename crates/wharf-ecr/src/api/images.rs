//! Images in the ECR API: ListImages, DescribeImages, BatchGetImage, BatchDeleteImage,
//! PutImage (through the shared push flow, `push`) and BatchCheckLayerAvailability; how an
//! `ImageIdentifier` names an image of a repository and the per-image failures AWS reports.

use super::checks::{invalid, repo_not_found, repo_ref, require_repo, DIGEST_PATTERN};
use super::paging::{page, page_size};
use crate::generated::*;
use crate::images::{self, RecordError};
use crate::push::PushError;
use crate::records::{self, RepoRef, StoredImage};
use crate::syntax::{valid_digest, valid_image_tag};
use crate::Ecr;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use wharf_core::RequestContext;

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

/// The image `id` names among `images` of `repo`, or the error a single-image call answers.
pub(crate) fn find_image<'a>(
    images: &'a [StoredImage],
    repo: &RepoRef,
    id: &ImageIdentifier,
) -> Result<&'a StoredImage, Error> {
    match lookup(images, id) {
        Lookup::Found(image) => Ok(image),
        Lookup::Empty => Err(invalid("imageId needs an imageDigest or an imageTag")),
        Lookup::BadDigest => Err(invalid(format!(
            "Invalid parameter at 'imageDigest' failed to satisfy constraint: 'must satisfy regular expression '{DIGEST_PATTERN}''"
        ))),
        Lookup::BadTag => Err(invalid(
            "Invalid parameter at 'imageTag' failed to satisfy constraint: 'must be 1 to 300 characters'",
        )),
        Lookup::Mismatch | Lookup::Missing => Err(image_not_found(repo, id)),
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

/// The `ImageDetail` of `image`, whose size counts its children among `all`.
fn detail(repo: &RepoRef, image: &StoredImage, all: &[StoredImage]) -> ImageDetail {
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
        image_scan_status: image.scan.as_ref().map(|s| ImageScanStatus {
            status: Some(s.status.clone()),
            description: Some(s.description.clone()),
        }),
        ..Default::default()
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
        PushError::Record(RecordError::RepositoryNotFound(n)) => {
            repo_not_found(&n, &repo.account)
        }
        PushError::Record(RecordError::TagImmutable { tag, repository }) => {
            Error::ImageTagAlreadyExistsException(format!(
                "The image tag '{tag}' already exists in the '{repository}' repository and cannot be overwritten because the repository is immutable."
            ))
        }
        PushError::Record(RecordError::Store(e)) => e.into(),
        PushError::Io(e) => {
            tracing::error!(error = %e, repository = %repo.name, "cannot store a manifest");
            Error::ServerException(
                "wharf could not store the manifest; see the server log".into(),
            )
        }
    }
}

pub(crate) fn list_images(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: ListImagesRequest,
) -> Result<ListImagesResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    let max = page_size(input.max_results, 100, 1000)?;
    let filter = input.filter.unwrap_or_default();
    let all = ecr.store.read(|tx| {
        require_repo(tx, &repo)?;
        Ok::<_, Error>(images::list_images(tx, &repo)?)
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
    let (page, next) = page(entries, |e| e.0.clone(), input.next_token.as_deref(), max)?;
    Ok(ListImagesResponse {
        image_ids: Some(page.into_iter().map(|(_, id)| id).collect()),
        next_token: next,
    })
}

pub(crate) fn describe_images(
    ecr: &Ecr,
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
    let all = ecr.store.read(|tx| {
        require_repo(tx, &repo)?;
        Ok::<_, Error>(images::list_images(tx, &repo)?)
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
                details.push(detail(&repo, image, &all));
            }
        }
        return Ok(DescribeImagesResponse {
            image_details: Some(details),
            next_token: None,
        });
    }
    let selected: Vec<&StoredImage> = all.iter().filter(|i| keep(i)).collect();
    let (page, next) = page(
        selected,
        |i| i.digest.clone(),
        input.next_token.as_deref(),
        max,
    )?;
    Ok(DescribeImagesResponse {
        image_details: Some(page.iter().map(|i| detail(&repo, i, &all)).collect()),
        next_token: next,
    })
}

pub(crate) fn batch_get_image(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: BatchGetImageRequest,
) -> Result<BatchGetImageResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    let all = ecr.store.read(|tx| {
        require_repo(tx, &repo)?;
        Ok::<_, Error>(images::list_images(tx, &repo)?)
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
        let bytes = ecr.blobs.read(&image.digest).map_err(|e| {
            tracing::error!(error = %e, digest = %image.digest, "cannot read a manifest");
            Error::ServerException("wharf could not read the manifest; see the server log".into())
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

pub(crate) fn batch_delete_image(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: BatchDeleteImageRequest,
) -> Result<BatchDeleteImageResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    ecr.store.write(|tx| {
        require_repo(tx, &repo)?;
        let mut deleted = vec![];
        let mut failures = vec![];
        for id in &input.image_ids {
            // Re-read each time: earlier ids of this request may have changed the images.
            let all = images::list_images(tx, &repo)?;
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

pub(crate) fn put_image(
    ecr: &Ecr,
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
    ecr.store.read(|tx| {
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
    let digest = ecr
        .push_manifest(
            &repo,
            reference,
            input.image_manifest_media_type.as_deref(),
            body,
            ctx.now,
        )
        .map_err(|e| map_push_error(&repo, e))?;
    let media_type = ecr
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

pub(crate) fn batch_check_layer_availability(
    ecr: &Ecr,
    ctx: &RequestContext,
    input: BatchCheckLayerAvailabilityRequest,
) -> Result<BatchCheckLayerAvailabilityResponse, Error> {
    let repo = repo_ref(ctx, input.registry_id.as_deref(), &input.repository_name)?;
    ecr.store.read(|tx| require_repo(tx, &repo).map(|_| ()))?;
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
        let size = if ecr.blob_linked(&repo, d)? {
            ecr.blobs.claim(d)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing::*;
    use crate::images::tests::{create, new_image};
    use crate::records::RepoRef;
    use wharf_core::Timestamp;

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
}
