//! Image and tag records in the store, and the functions the registry and the ECR API share:
//! record a pushed manifest (honouring tag immutability), resolve a tag or digest, list tags
//! and repositories, delete an image, and report every digest an image references (the garbage
//! collector's roots). The tables and record types are in `records`.
//!
//! A tag lives both in `ecr.tag` (for a point lookup by the registry) and in its image's `tags`
//! (for listing); every write keeps the two in step inside one transaction.
//!
//! Blob links. Blob bytes are shared by every repository (content addressing), but a
//! repository may only serve, mount from, or reference in a manifest the blobs it holds: those
//! uploaded into it, mounted into it, or referenced by one of its images (ECR's and
//! distribution's rule). A link is written when an upload into the repository finishes, when
//! a mount into it succeeds, and by [`Ecr::record_image`] for every config and layer blob of
//! the image (in the same transaction). [`Ecr::blob_linked`] also accepts a blob an image of
//! the repository references without a link, so images recorded before links existed keep
//! pulling. Links are not garbage collection roots (images are); deleting a repository
//! deletes its links, and the collector deletes the links of the blobs it sweeps. A link
//! never makes a blob readable by itself: every reader also needs the blob in the blob store.

use crate::records::{
    blob_link_key, image_key, region_prefix, repo_key, repo_prefix, tag_key, BlobLink, StoredImage,
    StoredRepo, StoredRepository, StoredScan, BLOB_LINKS, IMAGES, REPOS, TAGS,
};
use crate::syntax::wildcard_match;
use crate::Ecr;
use std::collections::HashSet;
use wharf_core::Timestamp;
use wharf_store::{StoreError, Tx};

pub use crate::records::{BlobRef, RepoRef};

/// How stale `lastRecordedPullTime` may get before a pull rewrites it (ECR refreshes it at
/// most about daily; an hour keeps pulls from turning into store writes).
const PULL_TIME_REFRESH_MS: i64 = 60 * 60 * 1000;

/// A verified manifest, ready to be recorded as an image.
#[derive(Debug, Clone)]
pub struct NewImage {
    /// The manifest's digest (`sha256:<hex>` of its exact bytes).
    pub digest: String,
    /// The manifest media type.
    pub media_type: String,
    /// The manifest's own size in bytes.
    pub manifest_size: i64,
    /// The config blob's media type, when the manifest has one (`artifactMediaType`).
    pub config_media_type: Option<String>,
    /// Config and layer blobs (empty for an index).
    pub blobs: Vec<BlobRef>,
    /// Child manifests of an index / manifest list.
    pub children: Vec<String>,
}

/// Why recording a push failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// No such repository (registry: NAME_UNKNOWN, API: RepositoryNotFoundException).
    #[error("the repository '{0}' does not exist")]
    RepositoryNotFound(String),
    /// The repository is IMMUTABLE and the tag already names another digest.
    #[error("the image tag '{tag}' already exists in the '{repository}' repository and cannot be overwritten because the repository is immutable")]
    TagImmutable {
        /// The tag.
        tag: String,
        /// The repository.
        repository: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The record of `image`, first pushed at `now`, untagged; `scan` when its repository scans
/// on push.
fn new_record(image: NewImage, now: Timestamp, scan: Option<StoredScan>) -> StoredImage {
    StoredImage {
        digest: image.digest,
        media_type: image.media_type,
        manifest_size: image.manifest_size,
        config_media_type: image.config_media_type,
        blobs: image.blobs,
        children: image.children,
        pushed_at: now,
        tags: Vec::new(),
        last_pull: None,
        scan,
    }
}

/// Whether pushing `tag` onto another digest is refused in `repo` (imageTagMutability, with the
/// WILDCARD exclusion filters of the `*_WITH_EXCLUSION` settings).
pub(crate) fn tag_is_immutable(repo: &StoredRepository, tag: &str) -> bool {
    let excluded = || {
        repo.image_tag_mutability_exclusion_filters
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|f| wildcard_match(&f.filter, tag))
    };
    match repo.image_tag_mutability.as_deref() {
        Some("IMMUTABLE") => true,
        Some("IMMUTABLE_WITH_EXCLUSION") => !excluded(),
        Some("MUTABLE_WITH_EXCLUSION") => excluded(),
        _ => false,
    }
}

/// Loads repository `repo`.
pub(crate) fn load_repo(tx: &Tx<'_>, repo: &RepoRef) -> Result<Option<StoredRepo>, StoreError> {
    tx.get(REPOS, &repo_key(repo))
}

/// Every image of `repo`, in digest order.
pub(crate) fn list_images(tx: &Tx<'_>, repo: &RepoRef) -> Result<Vec<StoredImage>, StoreError> {
    Ok(tx
        .list::<StoredImage>(IMAGES, &repo_prefix(repo))?
        .into_iter()
        .map(|(_, i)| i)
        .collect())
}

/// Deletes image `digest` of `repo` and every tag naming it; returns the deleted record.
pub(crate) fn delete_image_tx(
    tx: &Tx<'_>,
    repo: &RepoRef,
    digest: &str,
) -> Result<Option<StoredImage>, StoreError> {
    let key = image_key(repo, digest);
    let Some(image) = tx.get::<StoredImage>(IMAGES, &key)? else {
        return Ok(None);
    };
    for tag in &image.tags {
        let tkey = tag_key(repo, tag);
        if tx.get::<String>(TAGS, &tkey)?.as_deref() == Some(digest) {
            tx.delete(TAGS, &tkey)?;
        }
    }
    tx.delete(IMAGES, &key)?;
    Ok(Some(image))
}

/// Removes `tag` from `repo`; the image it named stays (untagged if that was its last tag).
/// Returns the digest the tag named.
pub(crate) fn untag_tx(
    tx: &Tx<'_>,
    repo: &RepoRef,
    tag: &str,
) -> Result<Option<String>, StoreError> {
    let tkey = tag_key(repo, tag);
    let Some(digest) = tx.get::<String>(TAGS, &tkey)? else {
        return Ok(None);
    };
    tx.delete(TAGS, &tkey)?;
    let ikey = image_key(repo, &digest);
    if let Some(mut image) = tx.get::<StoredImage>(IMAGES, &ikey)? {
        image.tags.retain(|t| t != tag);
        tx.put(IMAGES, &ikey, &image)?;
    }
    Ok(Some(digest))
}

/// Links blob `digest` to `repo` (idempotent).
pub(crate) fn link_blob_tx(tx: &Tx<'_>, repo: &RepoRef, digest: &str) -> Result<(), StoreError> {
    tx.insert(BLOB_LINKS, &blob_link_key(repo, digest), &BlobLink {})?;
    Ok(())
}

/// Whether `repo` holds blob `digest`: linked, or referenced by one of its images as a config
/// or layer (images recorded before links existed have none). Says nothing about whether the
/// bytes are still in the blob store.
pub(crate) fn blob_linked_tx(
    tx: &Tx<'_>,
    repo: &RepoRef,
    digest: &str,
) -> Result<bool, StoreError> {
    if tx.exists(BLOB_LINKS, &blob_link_key(repo, digest))? {
        return Ok(true);
    }
    Ok(list_images(tx, repo)?
        .iter()
        .any(|i| i.blobs.iter().any(|b| b.digest == digest)))
}

/// Deletes every blob link of `repo`; returns how many.
pub(crate) fn delete_blob_links_tx(tx: &Tx<'_>, repo: &RepoRef) -> Result<usize, StoreError> {
    let links = tx.list::<BlobLink>(BLOB_LINKS, &repo_prefix(repo))?;
    for (key, _) in &links {
        tx.delete(BLOB_LINKS, key)?;
    }
    Ok(links.len())
}

/// Deletes every image and tag of `repo` (the repository record stays).
pub(crate) fn delete_all_images_tx(tx: &Tx<'_>, repo: &RepoRef) -> Result<usize, StoreError> {
    let prefix = repo_prefix(repo);
    let images = tx.list::<StoredImage>(IMAGES, &prefix)?;
    for (key, _) in &images {
        tx.delete(IMAGES, key)?;
    }
    for (key, _) in tx.list::<String>(TAGS, &prefix)? {
        tx.delete(TAGS, &key)?;
    }
    Ok(images.len())
}

impl Ecr {
    /// Whether the repository exists.
    pub fn repository_exists(&self, repo: &RepoRef) -> Result<bool, StoreError> {
        self.store.read(|tx| tx.exists(REPOS, &repo_key(repo)))
    }

    /// Records `image` in `repo` (idempotent for the same digest) and points `tag` at it.
    /// A tag that named another digest moves (MUTABLE) or is refused (IMMUTABLE).
    pub fn record_image(
        &self,
        repo: &RepoRef,
        tag: Option<&str>,
        image: NewImage,
        now: Timestamp,
    ) -> Result<(), RecordError> {
        self.store.write(|tx| {
            let stored = load_repo(tx, repo)?
                .ok_or_else(|| RecordError::RepositoryNotFound(repo.name.clone()))?;
            let ikey = image_key(repo, &image.digest);
            let digest = image.digest.clone();
            let mut record = match tx.get::<StoredImage>(IMAGES, &ikey)? {
                Some(existing) => existing,
                None => {
                    let scans = crate::scanning::scans_on_push(tx, repo, &stored.repository)?;
                    new_record(image, now, scans.then(crate::scanning::no_scan))
                }
            };
            for blob in &record.blobs {
                link_blob_tx(tx, repo, &blob.digest)?;
            }
            if let Some(tag) = tag {
                let tkey = tag_key(repo, tag);
                match tx.get::<String>(TAGS, &tkey)? {
                    Some(current) if current == digest => {}
                    Some(current) => {
                        if tag_is_immutable(&stored.repository, tag) {
                            return Err(RecordError::TagImmutable {
                                tag: tag.to_string(),
                                repository: repo.name.clone(),
                            });
                        }
                        let okey = image_key(repo, &current);
                        if let Some(mut previous) = tx.get::<StoredImage>(IMAGES, &okey)? {
                            previous.tags.retain(|t| t != tag);
                            tx.put(IMAGES, &okey, &previous)?;
                        }
                        tx.put(TAGS, &tkey, &digest)?;
                    }
                    None => tx.put(TAGS, &tkey, &digest)?,
                }
                if !record.tags.iter().any(|t| t == tag) {
                    record.tags.push(tag.to_string());
                    record.tags.sort();
                }
            }
            tx.put(IMAGES, &ikey, &record)?;
            Ok(())
        })
    }

    /// Links blob `digest` to `repo`: an upload into it finished, or a mount into it succeeded.
    pub fn link_blob(&self, repo: &RepoRef, digest: &str) -> Result<(), StoreError> {
        self.store.write(|tx| link_blob_tx(tx, repo, digest))
    }

    /// Whether `repo` may serve blob `digest` (linked, or referenced by one of its images);
    /// the caller still checks that the blob store has it.
    pub fn blob_linked(&self, repo: &RepoRef, digest: &str) -> Result<bool, StoreError> {
        self.store.read(|tx| blob_linked_tx(tx, repo, digest))
    }

    /// Deletes the links to `digests` (blobs the garbage collector swept) of every repository,
    /// except links to a blob that is back in the blob store by the time of the write (an
    /// upload commits the bytes before it writes its link, so a fresh link is never lost).
    pub(crate) fn unlink_swept_blobs(
        &self,
        digests: &HashSet<String>,
        still_present: impl Fn(&str) -> bool,
    ) -> Result<usize, StoreError> {
        if digests.is_empty() {
            return Ok(0);
        }
        self.store.write(|tx| {
            let mut removed = 0;
            for (key, _) in tx.list::<BlobLink>(BLOB_LINKS, "")? {
                let Some((_, digest)) = key.rsplit_once('\u{1}') else {
                    continue;
                };
                if digests.contains(digest) && !still_present(digest) {
                    tx.delete(BLOB_LINKS, &key)?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
    }

    /// The digest and media type a tag or digest reference names in `repo`.
    pub fn resolve_reference(
        &self,
        repo: &RepoRef,
        reference: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        self.store.read(|tx| {
            let digest = if reference.contains(':') {
                reference.to_string()
            } else {
                match tx.get::<String>(TAGS, &tag_key(repo, reference))? {
                    Some(d) => d,
                    None => return Ok(None),
                }
            };
            Ok(tx
                .get::<StoredImage>(IMAGES, &image_key(repo, &digest))?
                .map(|i| (i.digest, i.media_type)))
        })
    }

    /// Deletes the image `digest` and every tag pointing at it; false when absent.
    pub fn delete_image(&self, repo: &RepoRef, digest: &str) -> Result<bool, StoreError> {
        self.store
            .write(|tx| Ok(delete_image_tx(tx, repo, digest)?.is_some()))
    }

    /// The repository's tags, sorted.
    pub fn tags(&self, repo: &RepoRef) -> Result<Vec<String>, StoreError> {
        let prefix = repo_prefix(repo);
        let rows: Vec<(String, String)> = self.store.read(|tx| tx.list(TAGS, &prefix))?;
        let mut tags: Vec<String> = rows
            .into_iter()
            .filter_map(|(k, _)| k.strip_prefix(&prefix).map(str::to_string))
            .collect();
        tags.sort();
        Ok(tags)
    }

    /// Repository names of an account and region, sorted.
    pub fn repository_names(&self, account: &str, region: &str) -> Result<Vec<String>, StoreError> {
        let prefix = region_prefix(account, region);
        let rows: Vec<(String, StoredRepo)> = self.store.read(|tx| tx.list(REPOS, &prefix))?;
        let mut names: Vec<String> = rows
            .into_iter()
            .map(|(_, r)| r.name().to_string())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Every manifest, config and layer digest referenced by any image anywhere (GC roots).
    pub fn referenced_digests(&self) -> Result<HashSet<String>, StoreError> {
        let images: Vec<(String, StoredImage)> = self.store.read(|tx| tx.list(IMAGES, ""))?;
        let mut out = HashSet::new();
        for (_, image) in images {
            out.extend(image.blobs.into_iter().map(|b| b.digest));
            out.extend(image.children);
            out.insert(image.digest);
        }
        Ok(out)
    }

    /// Notes a pull of `digest` from `repo` (`lastRecordedPullTime`); writes at most hourly per
    /// image, so pulls do not become store writes. Absent images are ignored.
    pub fn record_pull(
        &self,
        repo: &RepoRef,
        digest: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let key = image_key(repo, digest);
        let stale = |i: &StoredImage| {
            i.last_pull
                .is_none_or(|t| now.millis.saturating_sub(t.millis) >= PULL_TIME_REFRESH_MS)
        };
        let needs_write = self.store.read(|tx| {
            Ok::<_, StoreError>(
                tx.get::<StoredImage>(IMAGES, &key)?
                    .is_some_and(|i| stale(&i)),
            )
        })?;
        if !needs_write {
            return Ok(());
        }
        self.store.write(|tx| {
            if let Some(mut image) = tx.get::<StoredImage>(IMAGES, &key)? {
                if stale(&image) {
                    image.last_pull = Some(now);
                    tx.put(IMAGES, &key, &image)?;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::testing::{ctx, ecr};
    use crate::generated::{CreateRepositoryRequest, EcrApi};

    /// A manifest record with one layer whose digest is derived from `n`.
    pub(crate) fn new_image(n: u32) -> NewImage {
        NewImage {
            digest: format!("sha256:{n:064x}"),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            manifest_size: 300,
            config_media_type: Some("application/vnd.oci.image.config.v1+json".into()),
            blobs: vec![
                BlobRef {
                    digest: format!("sha256:{:064x}", 1_000_000 + n),
                    size: 10,
                },
                BlobRef {
                    digest: format!("sha256:{:064x}", 2_000_000 + n),
                    size: 100,
                },
            ],
            children: vec![],
        }
    }

    pub(crate) fn create(
        ecr: &std::sync::Arc<Ecr>,
        name: &str,
        mutability: Option<&str>,
    ) -> RepoRef {
        ecr.create_repository(
            &ctx(),
            CreateRepositoryRequest {
                repository_name: name.into(),
                image_tag_mutability: mutability.map(str::to_string),
                ..Default::default()
            },
        )
        .unwrap();
        RepoRef::new("123456789012", "us-east-1", name)
    }

    #[test]
    fn record_moves_a_mutable_tag_and_keeps_the_old_image_untagged() {
        let (_d, ecr) = ecr();
        let repo = create(&ecr, "app", None);
        let t = Timestamp::from_millis(1_000);
        ecr.record_image(&repo, Some("v1"), new_image(1), t)
            .unwrap();
        ecr.record_image(&repo, Some("latest"), new_image(1), t)
            .unwrap();
        ecr.record_image(&repo, Some("latest"), new_image(2), t)
            .unwrap();
        assert_eq!(ecr.tags(&repo).unwrap(), vec!["latest", "v1"]);
        let (d, mt) = ecr.resolve_reference(&repo, "latest").unwrap().unwrap();
        assert_eq!(d, new_image(2).digest);
        assert_eq!(mt, "application/vnd.oci.image.manifest.v1+json");
        let images = ecr.store.read(|tx| list_images(tx, &repo)).unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].tags, vec!["v1"]);
        assert_eq!(images[1].tags, vec!["latest"]);
        assert!(ecr
            .resolve_reference(&repo, &new_image(1).digest)
            .unwrap()
            .is_some());
        assert!(ecr.resolve_reference(&repo, "nope").unwrap().is_none());
    }

    #[test]
    fn immutable_tags_are_refused_but_same_digest_is_fine() {
        let (_d, ecr) = ecr();
        let repo = create(&ecr, "frozen", Some("IMMUTABLE"));
        let t = Timestamp::from_millis(1_000);
        ecr.record_image(&repo, Some("v1"), new_image(1), t)
            .unwrap();
        ecr.record_image(&repo, Some("v1"), new_image(1), t)
            .unwrap();
        let r = ecr.record_image(&repo, Some("v1"), new_image(2), t);
        assert!(matches!(r, Err(RecordError::TagImmutable { ref tag, .. }) if tag == "v1"));
        // Nothing of the refused push was recorded.
        let (d, _) = ecr.resolve_reference(&repo, "v1").unwrap().unwrap();
        assert_eq!(d, new_image(1).digest);
        assert!(ecr
            .resolve_reference(&repo, &new_image(2).digest)
            .unwrap()
            .is_none());
    }

    #[test]
    fn exclusion_filters_flip_mutability_for_matching_tags() {
        let mut r = StoredRepository {
            image_tag_mutability: Some("IMMUTABLE_WITH_EXCLUSION".into()),
            image_tag_mutability_exclusion_filters: Some(vec![
                crate::records::StoredExclusionFilter {
                    filter_type: "WILDCARD".into(),
                    filter: "latest*".into(),
                },
            ]),
            ..Default::default()
        };
        assert!(!tag_is_immutable(&r, "latest"));
        assert!(!tag_is_immutable(&r, "latest-dev"));
        assert!(tag_is_immutable(&r, "v1"));
        r.image_tag_mutability = Some("MUTABLE_WITH_EXCLUSION".into());
        assert!(tag_is_immutable(&r, "latest"));
        assert!(!tag_is_immutable(&r, "v1"));
        r.image_tag_mutability = Some("MUTABLE".into());
        assert!(!tag_is_immutable(&r, "latest"));
    }

    #[test]
    fn recording_into_a_missing_repository_fails() {
        let (_d, ecr) = ecr();
        let repo = RepoRef::new("123456789012", "us-east-1", "ghost");
        let r = ecr.record_image(&repo, Some("v1"), new_image(1), Timestamp::default());
        assert!(matches!(r, Err(RecordError::RepositoryNotFound(n)) if n == "ghost"));
        assert!(!ecr.repository_exists(&repo).unwrap());
    }

    #[test]
    fn delete_image_removes_its_tags_and_gc_roots_cover_everything() {
        let (_d, ecr) = ecr();
        let a = create(&ecr, "aa", None);
        let b = create(&ecr, "team/b", None);
        let t = Timestamp::from_millis(1_000);
        ecr.record_image(&a, Some("v1"), new_image(1), t).unwrap();
        ecr.record_image(&a, Some("v2"), new_image(1), t).unwrap();
        let mut index = new_image(3);
        index.blobs.clear();
        index.children = vec![new_image(2).digest];
        ecr.record_image(&b, None, new_image(2), t).unwrap();
        ecr.record_image(&b, Some("multi"), index, t).unwrap();
        let roots = ecr.referenced_digests().unwrap();
        for d in [
            new_image(1).digest,
            new_image(2).digest,
            new_image(3).digest,
            new_image(1).blobs[0].digest.clone(),
            new_image(2).blobs[1].digest.clone(),
        ] {
            assert!(roots.contains(&d), "{d}");
        }
        assert!(ecr.delete_image(&a, &new_image(1).digest).unwrap());
        assert!(!ecr.delete_image(&a, &new_image(1).digest).unwrap());
        assert!(ecr.tags(&a).unwrap().is_empty());
        assert!(!ecr
            .referenced_digests()
            .unwrap()
            .contains(&new_image(1).digest));
        assert_eq!(
            ecr.repository_names("123456789012", "us-east-1").unwrap(),
            vec!["aa", "team/b"]
        );
        assert!(ecr
            .repository_names("123456789012", "eu-west-1")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn record_image_links_its_blobs_and_links_are_per_repository() {
        let (_d, ecr) = ecr();
        let a = create(&ecr, "aa", None);
        let b = create(&ecr, "bb", None);
        let t = Timestamp::from_millis(1_000);
        ecr.record_image(&a, Some("v1"), new_image(1), t).unwrap();
        for blob in &new_image(1).blobs {
            assert!(ecr
                .store
                .read(|tx| tx.exists(BLOB_LINKS, &blob_link_key(&a, &blob.digest)))
                .unwrap());
            assert!(ecr.blob_linked(&a, &blob.digest).unwrap());
            assert!(!ecr.blob_linked(&b, &blob.digest).unwrap());
        }
        // The manifest itself is an image, not a blob link.
        assert!(!ecr.blob_linked(&a, &new_image(1).digest).unwrap());
        ecr.link_blob(&b, "sha256:01").unwrap();
        ecr.link_blob(&b, "sha256:01").unwrap();
        assert!(ecr.blob_linked(&b, "sha256:01").unwrap());
        assert!(!ecr.blob_linked(&a, "sha256:01").unwrap());
        // An image recorded before links existed still vouches for its blobs.
        let layer = new_image(1).blobs[1].digest.clone();
        ecr.store
            .write(|tx| tx.delete(BLOB_LINKS, &blob_link_key(&a, &layer)))
            .unwrap();
        assert!(ecr.blob_linked(&a, &layer).unwrap());
        assert_eq!(
            ecr.store.write(|tx| delete_blob_links_tx(tx, &a)).unwrap(),
            1
        );
        assert!(ecr.blob_linked(&b, "sha256:01").unwrap());
    }

    #[test]
    fn pulls_are_recorded_at_most_hourly() {
        let (_d, ecr) = ecr();
        let repo = create(&ecr, "app", None);
        let d = new_image(1).digest;
        ecr.record_image(&repo, None, new_image(1), Timestamp::from_millis(0))
            .unwrap();
        let pull = |ms| {
            ecr.record_pull(&repo, &d, Timestamp::from_millis(ms))
                .unwrap();
            ecr.store
                .read(|tx| tx.get::<StoredImage>(IMAGES, &image_key(&repo, &d)))
                .unwrap()
                .unwrap()
                .last_pull
        };
        assert_eq!(pull(10), Some(Timestamp::from_millis(10)));
        assert_eq!(pull(20), Some(Timestamp::from_millis(10)));
        assert_eq!(
            pull(10 + PULL_TIME_REFRESH_MS),
            Some(Timestamp::from_millis(10 + PULL_TIME_REFRESH_MS))
        );
        ecr.record_pull(&repo, "sha256:00", Timestamp::default())
            .unwrap();
    }
}
