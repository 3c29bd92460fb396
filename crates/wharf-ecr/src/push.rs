//! The one manifest push flow, shared by the registry's `PUT /v2/<name>/manifests/<ref>` and the
//! ECR API's `PutImage`: size limit, parse, check that every referenced blob exists and is held
//! by the repository (and every child manifest is one of its images), store the manifest
//! bytes content-addressed, record the image.

use crate::images::{BlobRef, NewImage, RecordError, RepoRef};
use crate::manifest;
use crate::Ecr;
use wharf_core::Timestamp;

/// Why a manifest push was refused; each maps to a registry error code and an ECR API error.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Bigger than `manifest::MAX_MANIFEST_BYTES` (registry: MANIFEST_INVALID / 413-ish; API: InvalidParameterException).
    #[error("the manifest is {0} bytes, more than the 4 MiB allowed")]
    TooLarge(usize),
    /// Not a manifest we understand (MANIFEST_INVALID).
    #[error("invalid manifest: {0}")]
    Invalid(String),
    /// The digest in the URL does not match the body (DIGEST_INVALID).
    #[error("the manifest digest {actual} does not match the digest {expected} in the request")]
    DigestMismatch {
        /// From the request.
        expected: String,
        /// Computed.
        actual: String,
    },
    /// A referenced blob is not in the registry (MANIFEST_BLOB_UNKNOWN; API: LayersNotFoundException).
    #[error("blob unknown to registry: {0}")]
    BlobUnknown(String),
    /// A child manifest of an index is not in the repository (MANIFEST_UNKNOWN).
    #[error("manifest unknown: {0}")]
    ChildUnknown(String),
    /// Recording failed (repository missing, immutable tag, store).
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Writing the manifest bytes failed.
    #[error("cannot store the manifest: {0}")]
    Io(#[from] std::io::Error),
}

impl Ecr {
    /// Pushes manifest `body` into `repo`. `reference` is the tag or digest from the URL (for
    /// PutImage: the imageTag or imageDigest); a digest reference must match the body.
    /// Returns the manifest digest.
    ///
    /// Every config and layer blob must be in the blob store and held by `repo` (uploaded or
    /// mounted into it, or used by one of its images: [`Ecr::blob_linked`]; foreign layers
    /// excepted), and
    /// every child of an index must already be an image of `repo`. Checking a blob also
    /// refreshes its age ([`BlobStore::claim`](crate::blobs::BlobStore::claim)), which is what
    /// keeps the garbage collector from reclaiming it before the image is recorded.
    /// Blocking (files and the store): call from `spawn_blocking` in async code.
    pub fn push_manifest(
        &self,
        repo: &RepoRef,
        reference: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<String, PushError> {
        if body.len() > manifest::MAX_MANIFEST_BYTES {
            return Err(PushError::TooLarge(body.len()));
        }
        if !self.repository_exists(repo).map_err(RecordError::Store)? {
            return Err(RecordError::RepositoryNotFound(repo.name.clone()).into());
        }
        let digest = manifest::digest_of(body);
        let tag = match reference {
            Some(r) if is_digest_reference(r) => {
                if r != digest {
                    return Err(PushError::DigestMismatch {
                        expected: r.to_string(),
                        actual: digest,
                    });
                }
                None
            }
            Some(tag) => Some(tag),
            None => None,
        };
        let parsed =
            manifest::parse(content_type, body).map_err(|e| PushError::Invalid(e.to_string()))?;

        let mut blobs = Vec::with_capacity(parsed.layers.len() + 1);
        for descriptor in parsed.blobs() {
            if descriptor.foreign {
                continue;
            }
            // Only blobs this repository holds (uploaded, mounted, or used by one of its
            // images), never another repository's, even though the bytes are shared.
            if !self
                .blob_linked(repo, &descriptor.digest)
                .map_err(RecordError::Store)?
            {
                return Err(PushError::BlobUnknown(descriptor.digest.clone()));
            }
            let Some(size) = self.blobs.claim(&descriptor.digest) else {
                return Err(PushError::BlobUnknown(descriptor.digest.clone()));
            };
            if i64::try_from(size).ok() != Some(descriptor.size) {
                return Err(PushError::Invalid(format!(
                    "the descriptor of {} says {} bytes but the blob has {size}",
                    descriptor.digest, descriptor.size
                )));
            }
            if !blobs
                .iter()
                .any(|b: &BlobRef| b.digest == descriptor.digest)
            {
                blobs.push(BlobRef {
                    digest: descriptor.digest.clone(),
                    size: descriptor.size,
                });
            }
        }
        let mut children = Vec::with_capacity(parsed.manifests.len());
        for child in &parsed.manifests {
            let known = self
                .resolve_reference(repo, &child.digest)
                .map_err(RecordError::Store)?;
            if known.is_none() {
                return Err(PushError::ChildUnknown(child.digest.clone()));
            }
            if !children.contains(&child.digest) {
                children.push(child.digest.clone());
            }
        }

        let stored = self.blobs.put(body)?;
        debug_assert_eq!(stored, digest);
        let config_media_type = parsed.config_media_type().map(str::to_string);
        self.record_image(
            repo,
            tag,
            NewImage {
                digest: digest.clone(),
                media_type: parsed.media_type,
                manifest_size: i64::try_from(body.len()).unwrap_or(i64::MAX),
                config_media_type,
                blobs,
                children,
            },
            now,
        )?;
        Ok(digest)
    }
}

/// Whether a manifest reference is a digest (`algorithm:encoded`) rather than a tag (tags
/// cannot contain `:`).
pub fn is_digest_reference(reference: &str) -> bool {
    reference.contains(':')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::generated::{CreateRepositoryRequest, EcrApi};
    use crate::manifest::{DOCKER_MANIFEST_V2, OCI_INDEX, OCI_MANIFEST};
    use crate::EcrConfig;
    use std::sync::Arc;
    use wharf_core::ids::RandomIds;
    use wharf_core::{Clock, FakeClock, RequestContext};
    use wharf_store::Store;

    pub(crate) const ACCOUNT: &str = "123456789012";
    pub(crate) const REGION: &str = "us-east-1";

    /// An ECR over a temporary directory, with a fake clock.
    pub(crate) struct Fixture {
        pub _dir: tempfile::TempDir,
        pub ecr: Arc<Ecr>,
        pub clock: Arc<FakeClock>,
    }

    pub(crate) fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("state.db")).unwrap());
        let clock = Arc::new(FakeClock::new(Timestamp::from_millis(1_700_000_000_000)));
        let ecr = Ecr::new(
            store,
            Arc::new(RandomIds),
            clock.clone(),
            EcrConfig {
                root: dir.path().join("registry"),
                registry_host: "127.0.0.1:4566".into(),
            },
        )
        .unwrap();
        Fixture {
            _dir: dir,
            ecr: Arc::new(ecr),
            clock,
        }
    }

    impl Fixture {
        /// Creates repository `name` through the API (IMMUTABLE tags when asked).
        pub(crate) fn create_repo(&self, name: &str, immutable: bool) -> RepoRef {
            let ctx = RequestContext::for_tests(REGION, ACCOUNT, self.clock.now());
            self.ecr
                .create_repository(
                    &ctx,
                    CreateRepositoryRequest {
                        repository_name: name.into(),
                        image_tag_mutability: immutable.then(|| "IMMUTABLE".to_string()),
                        ..Default::default()
                    },
                )
                .unwrap();
            RepoRef::new(ACCOUNT, REGION, name)
        }

        pub(crate) fn now(&self) -> Timestamp {
            self.clock.now()
        }
    }

    /// A Docker schema2 manifest over a config and layers, stored in the blob store and
    /// linked to `repo` (as if uploaded into it).
    pub(crate) fn image_manifest(
        ecr: &Ecr,
        repo: &RepoRef,
        config: &[u8],
        layers: &[&[u8]],
    ) -> Vec<u8> {
        let descriptor = |media: &str, bytes: &[u8]| {
            let digest = ecr.blobs.put(bytes).unwrap();
            ecr.link_blob(repo, &digest).unwrap();
            serde_json::json!({ "mediaType": media, "size": bytes.len(), "digest": digest })
        };
        let layers: Vec<_> = layers
            .iter()
            .map(|l| descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", l))
            .collect();
        serde_json::to_vec_pretty(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST_V2,
            "config": descriptor("application/vnd.docker.container.image.v1+json", config),
            "layers": layers,
        }))
        .unwrap()
    }

    fn index_of(children: &[(&str, usize)]) -> Vec<u8> {
        let manifests: Vec<_> = children
            .iter()
            .map(|(d, size)| serde_json::json!({"mediaType": OCI_MANIFEST, "size": size, "digest": d}))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests
        }))
        .unwrap()
    }

    #[test]
    fn pushes_and_resolves_by_tag_and_digest() {
        let f = fixture();
        let repo = f.create_repo("team/app", false);
        let body = image_manifest(
            &f.ecr,
            &repo,
            b"{\"config\":1}",
            &[b"layer one", b"layer two"],
        );
        let digest = f
            .ecr
            .push_manifest(&repo, Some("v1"), Some(DOCKER_MANIFEST_V2), &body, f.now())
            .unwrap();
        assert_eq!(digest, manifest::digest_of(&body));
        assert_eq!(
            f.ecr.resolve_reference(&repo, "v1").unwrap(),
            Some((digest.clone(), DOCKER_MANIFEST_V2.to_string()))
        );
        assert!(f.ecr.resolve_reference(&repo, &digest).unwrap().is_some());
        assert_eq!(f.ecr.blobs.read(&digest).unwrap().unwrap(), body);
        // By digest: no tag; pushing the same bytes again is idempotent.
        let again = f
            .ecr
            .push_manifest(&repo, Some(&digest), None, &body, f.now())
            .unwrap();
        assert_eq!(again, digest);
        assert_eq!(f.ecr.tags(&repo).unwrap(), vec!["v1".to_string()]);
        let referenced = f.ecr.referenced_digests().unwrap();
        assert!(referenced.contains(&digest));
        assert!(referenced.contains(&crate::blobs::sha256_digest(b"layer two")));
        assert!(referenced.contains(&crate::blobs::sha256_digest(b"{\"config\":1}")));
    }

    #[test]
    fn refusals() {
        let f = fixture();
        let repo = f.create_repo("app", false);
        let body = image_manifest(&f.ecr, &repo, b"cfg", &[b"l1"]);

        let missing = RepoRef::new(ACCOUNT, REGION, "nope");
        assert!(matches!(
            f.ecr
                .push_manifest(&missing, Some("v1"), None, &body, f.now()),
            Err(PushError::Record(RecordError::RepositoryNotFound(_)))
        ));
        let other = format!("sha256:{}", "0".repeat(64));
        assert!(matches!(
            f.ecr
                .push_manifest(&repo, Some(&other), None, &body, f.now()),
            Err(PushError::DigestMismatch { .. })
        ));
        assert!(matches!(
            f.ecr.push_manifest(&repo, Some("v1"), None, b"{}", f.now()),
            Err(PushError::Invalid(_))
        ));
        let huge = vec![b' '; manifest::MAX_MANIFEST_BYTES + 1];
        assert!(matches!(
            f.ecr.push_manifest(&repo, Some("v1"), None, &huge, f.now()),
            Err(PushError::TooLarge(_))
        ));
        // A layer that was never uploaded.
        let text = String::from_utf8(body.clone()).unwrap();
        let unknown = crate::blobs::sha256_digest(b"never uploaded");
        let bad = text.replace(&crate::blobs::sha256_digest(b"l1"), &unknown);
        match f
            .ecr
            .push_manifest(&repo, Some("v1"), None, bad.as_bytes(), f.now())
        {
            Err(PushError::BlobUnknown(d)) => assert_eq!(d, unknown),
            other => panic!("{other:?}"),
        }
        // A descriptor whose size lies.
        let lying = text.replace("\"size\": 2", "\"size\": 3");
        assert!(matches!(
            f.ecr
                .push_manifest(&repo, Some("v1"), None, lying.as_bytes(), f.now()),
            Err(PushError::Invalid(_))
        ));
        // Nothing was recorded, and no refused manifest was stored.
        assert!(f.ecr.tags(&repo).unwrap().is_empty());
        assert!(f
            .ecr
            .blobs
            .size(&manifest::digest_of(bad.as_bytes()))
            .is_none());
    }

    #[test]
    fn index_children_must_be_images_of_the_repository() {
        let f = fixture();
        let repo = f.create_repo("multi", false);
        let other = f.create_repo("other", false);
        let amd = image_manifest(&f.ecr, &repo, b"cfg-amd64", &[b"amd64"]);
        let arm = image_manifest(&f.ecr, &other, b"cfg-arm64", &[b"arm64"]);
        let amd_digest = f
            .ecr
            .push_manifest(&repo, None, None, &amd, f.now())
            .unwrap();
        let arm_digest = f
            .ecr
            .push_manifest(&other, None, None, &arm, f.now())
            .unwrap();
        let index = index_of(&[(&amd_digest, amd.len()), (&arm_digest, arm.len())]);
        match f
            .ecr
            .push_manifest(&repo, Some("latest"), None, &index, f.now())
        {
            Err(PushError::ChildUnknown(d)) => assert_eq!(d, arm_digest),
            other => panic!("{other:?}"),
        }
        // The arm64 blobs are `other`'s: `repo` must hold them (here: upload them) first.
        assert!(matches!(
            f.ecr.push_manifest(&repo, None, None, &arm, f.now()),
            Err(PushError::BlobUnknown(_))
        ));
        assert_eq!(
            image_manifest(&f.ecr, &repo, b"cfg-arm64", &[b"arm64"]),
            arm
        );
        f.ecr
            .push_manifest(&repo, None, None, &arm, f.now())
            .unwrap();
        let digest = f
            .ecr
            .push_manifest(&repo, Some("latest"), None, &index, f.now())
            .unwrap();
        assert_eq!(
            f.ecr.resolve_reference(&repo, "latest").unwrap(),
            Some((digest, OCI_INDEX.to_string()))
        );
    }

    #[test]
    fn immutable_tags_keep_the_old_image() {
        let f = fixture();
        let repo = f.create_repo("locked", true);
        let one = image_manifest(&f.ecr, &repo, b"cfg", &[b"one"]);
        let two = image_manifest(&f.ecr, &repo, b"cfg", &[b"two"]);
        let first = f
            .ecr
            .push_manifest(&repo, Some("v1"), None, &one, f.now())
            .unwrap();
        // The same digest again is fine.
        f.ecr
            .push_manifest(&repo, Some("v1"), None, &one, f.now())
            .unwrap();
        assert!(matches!(
            f.ecr.push_manifest(&repo, Some("v1"), None, &two, f.now()),
            Err(PushError::Record(RecordError::TagImmutable { .. }))
        ));
        assert_eq!(
            f.ecr.resolve_reference(&repo, "v1").unwrap().unwrap().0,
            first
        );
    }
}
