//! Registry garbage collection: mark every digest an image references
//! ([`Ecr::referenced_digests`]), sweep the blobs that are not marked and have not been
//! committed or claimed for a grace period, and remove abandoned upload sessions. Runs online,
//! beside pushes and pulls, as a background task ([`run_gc_loop`]).
//!
//! Why a concurrent push is safe. A blob's mtime is the last time the registry vouched for it:
//! set when an upload commits it and refreshed ([`BlobStore::claim`]) whenever a client is told
//! it exists (HEAD, cross-repository mount, an upload of content already stored) and whenever a
//! manifest push checks it. The collector deletes blob `B` only if `B` is not in the mark set
//! and, re-checked under the blob store's commit lock, `mtime(B) < start - grace`, where
//! `start` is read *before* the mark. Then for any image that uses `B`:
//! - recorded before the mark: `B` is marked;
//! - recorded after the mark: its push claimed `B` at some `t_c` (or failed with BLOB_UNKNOWN
//!   if the claim came after the delete: the lock orders the two). Deleting needs
//!   `t_c < start - grace`, i.e. one manifest push lasting longer than `grace`;
//! - not pushed yet (layers uploaded, manifest to come): the upload or the client's HEAD set
//!   `mtime(B)`, so `B` survives for `grace` after the client last heard about it.
//!
//! So `grace` must exceed the time between a client learning a blob exists and its manifest
//! push (the length of the slowest `docker push`): one hour by default. Blobs being uploaded are
//! not blobs yet (they live in `uploads/`) and are only removed after
//! [`DEFAULT_UPLOAD_EXPIRY`] of inactivity. mtimes are file-system (wall-clock) times, so the
//! sweep compares them with the wall clock, not the injected `Clock`.
//!
//! Blob links (`images`' `ecr.bloblink`: which repository may serve which blob) are not roots:
//! a blob uploaded into a repository but used by no image is garbage after `grace`, like any
//! other. After the sweep, the links to the swept blobs are deleted, each only if its blob is
//! still absent when the store write runs: an upload commits the bytes before writing its
//! link, so a blob re-uploaded meanwhile keeps its fresh link. (A leftover link would be
//! harmless anyway: every reader also needs the bytes in the blob store.)

use crate::blobs::BlobStore;
use crate::Ecr;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use wharf_store::StoreError;

/// How long an unreferenced blob is kept after it was last committed or vouched for.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60 * 60);
/// How long an upload session may sit idle before it is abandoned (distribution uses a week,
/// ECR's upload ids last about a day).
pub const DEFAULT_UPLOAD_EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);
/// How often [`run_gc_loop`] runs by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// What one collection did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs seen.
    pub blobs_scanned: usize,
    /// Blobs some image references.
    pub blobs_referenced: usize,
    /// Unreferenced blobs kept because they are younger than the grace period.
    pub blobs_kept_young: usize,
    /// Blobs deleted.
    pub blobs_removed: usize,
    /// Bytes freed by deleting blobs.
    pub bytes_reclaimed: u64,
    /// Abandoned upload sessions (and interrupted temporary files) removed.
    pub uploads_removed: usize,
    /// Repository links to removed blobs deleted.
    pub links_removed: usize,
}

/// Why a collection stopped.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    /// The mark phase could not read the image records.
    #[error("cannot read the image records to mark referenced blobs: {0}")]
    Store(#[from] StoreError),
    /// The blob directory could not be read or a file could not be removed.
    #[error("cannot sweep the blob directory: {0}")]
    Io(#[from] std::io::Error),
}

impl Ecr {
    /// Deletes unreferenced blobs not vouched for within `grace`, and upload sessions idle for
    /// longer than [`DEFAULT_UPLOAD_EXPIRY`]. Blocking: call from `spawn_blocking`.
    pub fn collect_garbage(&self, grace: Duration) -> Result<GcReport, GcError> {
        self.collect_garbage_with(grace, DEFAULT_UPLOAD_EXPIRY)
    }

    /// [`collect_garbage`](Self::collect_garbage) with an explicit upload expiry.
    pub fn collect_garbage_with(
        &self,
        grace: Duration,
        upload_expiry: Duration,
    ) -> Result<GcReport, GcError> {
        // Read before the mark: see the module comment.
        let start = SystemTime::now();
        let blob_cutoff = start.checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH);
        let upload_cutoff = start
            .checked_sub(upload_expiry)
            .unwrap_or(SystemTime::UNIX_EPOCH);

        let marked = self.referenced_digests()?;
        let mut removed = HashSet::new();
        let mut report = sweep(
            &self.blobs,
            &marked,
            blob_cutoff,
            upload_cutoff,
            &mut removed,
        )?;
        report.links_removed =
            self.unlink_swept_blobs(&removed, |d| self.blobs.size(d).is_some())?;
        Ok(report)
    }
}

/// The sweep: deletes blobs not in `marked` last vouched for before `blob_cutoff` (adding
/// their digests to `removed`), uploads idle since `upload_cutoff`.
fn sweep(
    blobs: &BlobStore,
    marked: &HashSet<String>,
    blob_cutoff: SystemTime,
    upload_cutoff: SystemTime,
    removed: &mut HashSet<String>,
) -> std::io::Result<GcReport> {
    let mut report = GcReport::default();
    for (digest, modified) in blobs.list()? {
        report.blobs_scanned += 1;
        if marked.contains(&digest) {
            report.blobs_referenced += 1;
            continue;
        }
        if modified >= blob_cutoff {
            report.blobs_kept_young += 1;
            continue;
        }
        match blobs.delete_if_older(&digest, blob_cutoff)? {
            Some(bytes) => {
                tracing::debug!(%digest, bytes, "garbage collector removed a blob");
                report.blobs_removed += 1;
                report.bytes_reclaimed += bytes;
                removed.insert(digest);
            }
            // Claimed (or removed) since the listing.
            None => report.blobs_kept_young += 1,
        }
    }

    for id in blobs.stale_uploads(upload_cutoff)? {
        if blobs.remove_stale_upload(&id, upload_cutoff)? {
            tracing::debug!(upload = %id, "garbage collector removed an abandoned upload");
            report.uploads_removed += 1;
        }
    }
    report.uploads_removed += blobs.remove_stale_tmp(upload_cutoff)?;
    Ok(report)
}

/// Runs [`Ecr::collect_garbage`] every `every` (first at start, which also clears what a
/// crash left behind) until `shutdown` turns true or its sender goes away. A collection in
/// progress finishes before the loop stops.
pub async fn run_gc_loop(
    ecr: Arc<Ecr>,
    every: Duration,
    grace: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every.max(Duration::from_secs(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            _ = ticker.tick() => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
                continue;
            }
        }
        let span = tracing::info_span!("registry_gc");
        let ecr = ecr.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            ecr.collect_garbage(grace)
        })
        .await;
        match outcome {
            Ok(Ok(report)) if report.blobs_removed > 0 || report.uploads_removed > 0 => {
                tracing::info!(
                    blobs_removed = report.blobs_removed,
                    bytes_reclaimed = report.bytes_reclaimed,
                    uploads_removed = report.uploads_removed,
                    blobs_kept_young = report.blobs_kept_young,
                    blobs_referenced = report.blobs_referenced,
                    "registry garbage collection reclaimed space"
                );
            }
            Ok(Ok(report)) => {
                tracing::debug!(
                    blobs_scanned = report.blobs_scanned,
                    "registry garbage collection found nothing to reclaim"
                );
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "registry garbage collection failed"),
            Err(e) => tracing::error!(error = %e, "registry garbage collection panicked"),
        }
    }
    tracing::debug!("registry garbage collector stopped");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::blobs::sha256_digest;
    use crate::push::tests::{fixture, image_manifest};
    use std::fs::File;
    use wharf_core::Timestamp;

    const HOUR: Duration = Duration::from_secs(3600);

    /// Makes blob `digest` look last vouched for `age` ago.
    fn age(blobs: &BlobStore, digest: &str, age: Duration) {
        let hex = &digest["sha256:".len()..];
        let path = blobs.root().join("blobs/sha256").join(&hex[..2]).join(hex);
        File::open(path)
            .unwrap()
            .set_modified(SystemTime::now() - age)
            .unwrap();
    }

    #[test]
    fn sweep_keeps_referenced_and_young_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let referenced = blobs.put(b"referenced").unwrap();
        let young = blobs.put(b"young").unwrap();
        let old = blobs.put(b"old and unreferenced").unwrap();
        age(&blobs, &referenced, 3 * HOUR);
        age(&blobs, &old, 3 * HOUR);
        let marked: HashSet<String> = [referenced.clone()].into();
        let now = SystemTime::now();
        let report = sweep(
            &blobs,
            &marked,
            now - HOUR,
            now - 24 * HOUR,
            &mut HashSet::new(),
        )
        .unwrap();
        assert_eq!(
            report,
            GcReport {
                blobs_scanned: 3,
                blobs_referenced: 1,
                blobs_kept_young: 1,
                blobs_removed: 1,
                bytes_reclaimed: 20,
                uploads_removed: 0,
                links_removed: 0,
            }
        );
        assert!(blobs.size(&referenced).is_some());
        assert!(blobs.size(&young).is_some());
        assert!(blobs.size(&old).is_none());
    }

    #[test]
    fn a_claim_rescues_an_old_blob() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let digest = blobs.put(b"layer").unwrap();
        age(&blobs, &digest, 3 * HOUR);
        // A client HEADs it (or a manifest push checks it) before the sweep reaches it.
        assert!(blobs.claim(&digest).is_some());
        let now = SystemTime::now();
        let report = sweep(
            &blobs,
            &HashSet::new(),
            now - HOUR,
            now - HOUR,
            &mut HashSet::new(),
        )
        .unwrap();
        assert_eq!(report.blobs_removed, 0);
        assert!(blobs.size(&digest).is_some());
    }

    #[test]
    fn abandoned_uploads_go_and_active_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let t = Timestamp::from_millis(0);
        blobs.start_upload("abandoned", "r", t).unwrap();
        blobs.append("abandoned", 0, b"partial").unwrap();
        blobs.start_upload("active", "r", t).unwrap();
        let old = SystemTime::now() - 48 * HOUR;
        File::options()
            .write(true)
            .open(dir.path().join("uploads/abandoned/data"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let now = SystemTime::now();
        let report = sweep(
            &blobs,
            &HashSet::new(),
            now - HOUR,
            now - 24 * HOUR,
            &mut HashSet::new(),
        )
        .unwrap();
        assert_eq!(report.uploads_removed, 1);
        assert!(blobs.upload_status("abandoned").is_err());
        assert!(blobs.upload_status("active").is_ok());
    }

    #[test]
    fn collects_what_deleted_images_leave_behind() {
        let f = fixture();
        let repo = f.create_repo("app", false);
        let keep = image_manifest(
            &f.ecr,
            &repo,
            b"shared config",
            &[b"shared layer", b"kept layer"],
        );
        let drop = image_manifest(
            &f.ecr,
            &repo,
            b"shared config",
            &[b"shared layer", b"dropped layer"],
        );
        f.ecr
            .push_manifest(&repo, Some("keep"), None, &keep, f.now())
            .unwrap();
        let dropped = f
            .ecr
            .push_manifest(&repo, Some("drop"), None, &drop, f.now())
            .unwrap();
        // Nothing is garbage while every image exists, whatever the grace.
        let report = f.ecr.collect_garbage(Duration::ZERO).unwrap();
        assert_eq!(report.blobs_removed, 0);
        assert_eq!(report.blobs_referenced, 6);

        // A layer uploaded for a push whose manifest has not arrived yet.
        let pending = f.ecr.blobs.put(b"pending layer").unwrap();

        assert!(f.ecr.delete_image(&repo, &dropped).unwrap());
        for digest in f.ecr.blobs.list().unwrap().into_iter().map(|(d, _)| d) {
            age(&f.ecr.blobs, &digest, 2 * HOUR);
        }
        // The client HEADs it again just before pushing.
        assert!(f.ecr.blobs.claim(&pending).is_some());
        let report = f.ecr.collect_garbage(HOUR).unwrap();
        // The dropped manifest and its own layer; the shared config and layer stay.
        assert_eq!(report.blobs_removed, 2);
        assert_eq!(report.blobs_kept_young, 1);
        assert!(f.ecr.blobs.size(&dropped).is_none());
        assert!(f.ecr.blobs.size(&sha256_digest(b"dropped layer")).is_none());
        for kept in [
            &b"shared config"[..],
            b"shared layer",
            b"kept layer",
            b"pending layer",
        ] {
            assert!(f.ecr.blobs.size(&sha256_digest(kept)).is_some());
        }
        assert!(f.ecr.blobs.size(&pending).is_some());
        // The links to the swept blobs are gone; the others stay.
        assert_eq!(report.links_removed, 1);
        assert!(!f
            .ecr
            .blob_linked(&repo, &sha256_digest(b"dropped layer"))
            .unwrap());
        assert!(f
            .ecr
            .blob_linked(&repo, &sha256_digest(b"kept layer"))
            .unwrap());
        // The remaining image still pulls.
        let (digest, _) = f.ecr.resolve_reference(&repo, "keep").unwrap().unwrap();
        assert_eq!(f.ecr.blobs.read(&digest).unwrap().unwrap(), keep);
    }

    #[test]
    fn links_are_not_roots_and_a_returning_blob_keeps_its_link() {
        let f = fixture();
        let repo = f.create_repo("app", false);
        let other = f.create_repo("other", false);
        let orphan = f.ecr.blobs.put(b"uploaded, never used").unwrap();
        let back = f.ecr.blobs.put(b"uploaded again").unwrap();
        for d in [&orphan, &back] {
            f.ecr.link_blob(&repo, d).unwrap();
            f.ecr.link_blob(&other, d).unwrap();
            age(&f.ecr.blobs, d, 2 * HOUR);
        }
        let report = f.ecr.collect_garbage(HOUR).unwrap();
        assert_eq!(report.blobs_removed, 2);
        assert_eq!(report.links_removed, 4);
        assert!(!f.ecr.blob_linked(&repo, &orphan).unwrap());
        // A link whose blob is back (re-uploaded) by the time the links are cleaned is kept.
        f.ecr.link_blob(&repo, &back).unwrap();
        let removed: HashSet<String> = [back.clone()].into();
        assert_eq!(f.ecr.unlink_swept_blobs(&removed, |_| true).unwrap(), 0);
        assert!(f.ecr.blob_linked(&repo, &back).unwrap());
        assert_eq!(f.ecr.unlink_swept_blobs(&removed, |_| false).unwrap(), 1);
    }

    #[tokio::test]
    async fn the_loop_stops_on_shutdown() {
        let f = fixture();
        let (tx, rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(run_gc_loop(
            f.ecr.clone(),
            Duration::from_secs(3600),
            DEFAULT_GRACE,
            rx,
        ));
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
