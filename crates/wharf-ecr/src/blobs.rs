//! Content-addressed blob storage on disk: `<root>/blobs/sha256/<hh>/<hex>`, written through
//! upload files in `<root>/uploads/` that are verified and renamed into place, so a reader never
//! sees a partial blob. Identical content is stored once across repositories.
//!
//! Layout under `root`:
//! - `blobs/sha256/<first two hex digits>/<64 hex digits>`: one file per blob, never modified
//!   after it appears (a rename of a fully written, fsynced file).
//! - `uploads/<id>/data` and `uploads/<id>/state.json`: an upload session (OCI "blob upload"):
//!   the bytes received so far and which repository it belongs to and when it started.
//! - `tmp/`: manifests being written by [`BlobStore::put`] before their rename.
//!
//! A blob's modification time means "last vouched for": it is set when the blob is committed
//! and refreshed by [`BlobStore::claim`] whenever the registry tells a client (or a manifest
//! push) that the blob exists. The garbage collector deletes only unreferenced blobs whose
//! mtime is older than its grace period, re-checked under the same lock that commits and claims
//! take, so a blob cannot be deleted between "yes, it exists" and the manifest that uses it
//! (see `gc.rs` for the full argument).
//!
//! Everything here is blocking file I/O: the registry calls it from `spawn_blocking`.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;
use wharf_core::Timestamp;

/// The only digest algorithm the registry stores (as ECR).
pub const SHA256_PREFIX: &str = "sha256:";

/// Why a digest string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// A well-formed digest of another algorithm (`sha512:...`).
    #[error("unsupported digest algorithm")]
    Unsupported,
    /// Not `sha256:` followed by 64 lowercase hex digits.
    #[error("invalid digest")]
    Invalid,
}

/// Checks `digest` strictly (`sha256:` + 64 lowercase hex digits) and returns its hex part.
pub fn parse_digest(digest: &str) -> Result<&str, DigestError> {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return Err(DigestError::Invalid);
    };
    if algorithm == "sha256" {
        let ok = encoded.len() == 64
            && encoded
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        return if ok {
            Ok(encoded)
        } else {
            Err(DigestError::Invalid)
        };
    }
    // OCI grammar: algorithm-component ([+._-] algorithm-component)* ":" [a-zA-Z0-9=_-]+
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['+', '.', '_', '-']).all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    let encoded_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b'_' || b == b'-');
    if algorithm_ok && encoded_ok {
        Err(DigestError::Unsupported)
    } else {
        Err(DigestError::Invalid)
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("{SHA256_PREFIX}{}", hex::encode(Sha256::digest(bytes)))
}

/// Why a blob or upload operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The digest is malformed (registry: DIGEST_INVALID).
    #[error("invalid digest '{0}': expected sha256: followed by 64 lowercase hex digits")]
    InvalidDigest(String),
    /// The digest names another algorithm (registry: DIGEST_INVALID / UNSUPPORTED).
    #[error("unsupported digest algorithm in '{0}': only sha256 is supported")]
    UnsupportedDigest(String),
    /// The uploaded bytes hash to another digest; the upload was discarded (DIGEST_INVALID).
    #[error("the uploaded content has digest {actual}, not {expected}")]
    DigestMismatch {
        /// The digest the client claimed.
        expected: String,
        /// The digest of what it sent.
        actual: String,
    },
    /// No such upload session (BLOB_UPLOAD_UNKNOWN).
    #[error("blob upload {0} is unknown")]
    UploadUnknown(String),
    /// A chunk that does not start where the upload ends (RANGE_INVALID).
    #[error("blob upload {id} holds {size} bytes; a chunk starting at {offset} is out of order")]
    RangeInvalid {
        /// The upload.
        id: String,
        /// Bytes received so far.
        size: u64,
        /// Where the refused chunk started.
        offset: u64,
    },
    /// Another request is writing to the same upload right now.
    #[error("blob upload {0} is being written by another request")]
    UploadBusy(String),
    /// The file system failed, or the request body broke off.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl BlobError {
    fn from_digest(digest: &str, e: DigestError) -> Self {
        match e {
            DigestError::Unsupported => BlobError::UnsupportedDigest(digest.to_string()),
            DigestError::Invalid => BlobError::InvalidDigest(digest.to_string()),
        }
    }
}

/// What an upload session holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadStatus {
    /// The upload id.
    pub id: String,
    /// The repository key given to [`BlobStore::start_upload`].
    pub repository: String,
    /// Bytes received so far.
    pub size: u64,
    /// When the upload started.
    pub started_at: Timestamp,
}

/// `uploads/<id>/state.json`.
#[derive(Debug, Serialize, Deserialize)]
struct UploadState {
    repository: String,
    started_at_millis: i64,
}

/// What the store remembers in memory about an upload between requests.
enum UploadSlot {
    /// A request is appending to or finishing the upload.
    Busy,
    /// The running hash of the first `size` bytes, so finishing needs no second read.
    Idle { size: u64, hasher: Sha256 },
}

/// The blob store.
pub struct BlobStore {
    root: PathBuf,
    /// `<root>/blobs/sha256`.
    blobs_dir: PathBuf,
    /// `<root>/uploads`.
    uploads_dir: PathBuf,
    /// `<root>/tmp`.
    tmp_dir: PathBuf,
    /// Serialises the short steps that make a blob visible, refresh its age or delete it, so
    /// the collector's "still old?" re-check and its delete are atomic with respect to them.
    commit: Mutex<()>,
    /// Uploads in use (one request at a time per upload) and running hashes of idle ones.
    uploads: Mutex<HashMap<String, UploadSlot>>,
    /// Makes temporary file names unique within the process.
    tmp_seq: AtomicU64,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("root", &self.root)
            .finish()
    }
}

/// Read buffer for hashing and copying files.
const IO_BUFFER: usize = 1 << 20;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

/// Upload ids are ours (UUIDs) but arrive in URLs: keep them path-safe.
fn valid_upload_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Flushes a directory entry change (create, rename, unlink) to disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Sets a file's modification time to now.
fn touch(path: &Path) -> io::Result<()> {
    File::open(path)?.set_modified(SystemTime::now())
}

/// Holds an upload exclusively; puts the running hash back (or forgets it) on drop.
struct UploadLease<'a> {
    store: &'a BlobStore,
    id: String,
    /// The running hash and the size it covers, when known.
    hash: Option<(u64, Sha256)>,
    /// The upload is gone (finished, cancelled, discarded): forget it.
    gone: bool,
}

impl Drop for UploadLease<'_> {
    fn drop(&mut self) {
        let mut uploads = lock(&self.store.uploads);
        match (self.gone, self.hash.take()) {
            (false, Some((size, hasher))) => {
                uploads.insert(self.id.clone(), UploadSlot::Idle { size, hasher });
            }
            _ => {
                uploads.remove(&self.id);
            }
        }
    }
}

impl BlobStore {
    /// Opens (creating) the store under `root`.
    pub fn open(root: &Path) -> std::io::Result<Self> {
        let blobs_dir = root.join("blobs").join("sha256");
        let uploads_dir = root.join("uploads");
        let tmp_dir = root.join("tmp");
        for dir in [&blobs_dir, &uploads_dir, &tmp_dir] {
            fs::create_dir_all(dir)?;
        }
        Ok(Self {
            root: root.to_path_buf(),
            blobs_dir,
            uploads_dir,
            tmp_dir,
            commit: Mutex::new(()),
            uploads: Mutex::new(HashMap::new()),
            tmp_seq: AtomicU64::new(0),
        })
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path_hex(&self, hex: &str) -> PathBuf {
        self.blobs_dir.join(&hex[..2]).join(hex)
    }

    fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        parse_digest(digest).ok().map(|hex| self.blob_path_hex(hex))
    }

    fn upload_dir(&self, id: &str) -> Result<PathBuf, BlobError> {
        if valid_upload_id(id) {
            Ok(self.uploads_dir.join(id))
        } else {
            Err(BlobError::UploadUnknown(id.to_string()))
        }
    }

    /// The size of blob `digest` (`sha256:<hex>`), if present.
    pub fn size(&self, digest: &str) -> Option<u64> {
        let path = self.blob_path(digest)?;
        fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }

    /// The size of blob `digest` if present, refreshing its age so that the garbage collector
    /// keeps it for another grace period: call this whenever a client or a manifest is told
    /// the blob exists (HEAD during a push, cross-repository mount, manifest push).
    pub fn claim(&self, digest: &str) -> Option<u64> {
        let path = self.blob_path(digest)?;
        let _commit = lock(&self.commit);
        let meta = fs::metadata(&path).ok().filter(|m| m.is_file())?;
        if let Err(e) = touch(&path) {
            tracing::warn!(digest, error = %e, "cannot refresh a blob's age; the collector may reclaim it early");
        }
        Some(meta.len())
    }

    /// The whole content of blob `digest` (for manifests; layers are streamed by the registry).
    pub fn read(&self, digest: &str) -> std::io::Result<Option<Vec<u8>>> {
        let Some(path) = self.blob_path(digest) else {
            return Ok(None);
        };
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens blob `digest` for streaming: the file and its size. The file stays readable even
    /// if the blob is deleted meanwhile.
    pub fn open_blob(&self, digest: &str) -> io::Result<Option<(File, u64)>> {
        let Some(path) = self.blob_path(digest) else {
            return Ok(None);
        };
        match File::open(path) {
            Ok(file) => {
                let meta = file.metadata()?;
                if !meta.is_file() {
                    return Ok(None);
                }
                Ok(Some((file, meta.len())))
            }
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores `bytes` and returns their digest (idempotent; refreshes the age of an existing
    /// copy as [`claim`](Self::claim) does).
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let digest = sha256_digest(bytes);
        let hex = &digest[SHA256_PREFIX.len()..];
        let target = self.blob_path_hex(hex);
        if target.is_file() && self.claim(&digest).is_some() {
            return Ok(digest);
        }
        let seq = self.tmp_seq.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .tmp_dir
            .join(format!("{hex}.{}.{seq}", std::process::id()));
        let written = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        let committed = self.commit_file(&tmp, &target);
        if committed.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        committed.map(|_| digest)
    }

    /// Moves the fully written, fsynced file `source` to `target` unless `target` already
    /// exists (then `source` is removed and `target` refreshed). Returns whether it moved.
    fn commit_file(&self, source: &Path, target: &Path) -> io::Result<bool> {
        let _commit = lock(&self.commit);
        if target.is_file() {
            touch(target)?;
            fs::remove_file(source)?;
            return Ok(false);
        }
        let parent = target
            .parent()
            .ok_or_else(|| io::Error::other("blob path has no parent directory"))?;
        fs::create_dir_all(parent)?;
        // The upload's last write may be old; the blob's age starts now.
        touch(source)?;
        fs::rename(source, target)?;
        sync_dir(parent)?;
        Ok(true)
    }

    /// Deletes blob `digest`; false when it was absent.
    pub fn delete(&self, digest: &str) -> io::Result<bool> {
        let Some(path) = self.blob_path(digest) else {
            return Ok(false);
        };
        let _commit = lock(&self.commit);
        match fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes blob `digest` only if it was last committed or claimed before `cutoff` (checked
    /// under the commit lock); returns the bytes freed, `None` when kept or absent.
    pub fn delete_if_older(&self, digest: &str, cutoff: SystemTime) -> io::Result<Option<u64>> {
        let Some(path) = self.blob_path(digest) else {
            return Ok(None);
        };
        let _commit = lock(&self.commit);
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        if meta.modified()? >= cutoff {
            return Ok(None);
        }
        match fs::remove_file(&path) {
            Ok(()) => Ok(Some(meta.len())),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every stored blob: its digest and when it was last committed or claimed.
    pub fn list(&self) -> io::Result<Vec<(String, SystemTime)>> {
        let mut out = Vec::new();
        for prefix in fs::read_dir(&self.blobs_dir)? {
            let prefix = prefix?;
            if !prefix.file_type()?.is_dir() {
                continue;
            }
            let prefix_name = prefix.file_name();
            let entries = match fs::read_dir(prefix.path()) {
                Ok(entries) => entries,
                Err(e) if not_found(&e) => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let digest = format!("{SHA256_PREFIX}{name}");
                if parse_digest(&digest).is_err() || prefix_name.to_str() != Some(&name[..2]) {
                    continue;
                }
                let meta = match entry.metadata() {
                    Ok(m) => m,
                    Err(e) if not_found(&e) => continue,
                    Err(e) => return Err(e),
                };
                if meta.is_file() {
                    out.push((digest, meta.modified()?));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    // ----- uploads -----

    /// Starts upload session `id` (a fresh UUID from the caller) for `repository`, an opaque
    /// key the registry checks on every later request of the session.
    pub fn start_upload(
        &self,
        id: &str,
        repository: &str,
        now: Timestamp,
    ) -> Result<(), BlobError> {
        let dir = self.upload_dir(id)?;
        fs::create_dir(&dir)?;
        let result = (|| {
            File::create(dir.join("data"))?;
            let state = UploadState {
                repository: repository.to_string(),
                started_at_millis: now.millis,
            };
            let json = serde_json::to_vec(&state).map_err(io::Error::other)?;
            let tmp = dir.join("state.json.tmp");
            fs::write(&tmp, json)?;
            fs::rename(tmp, dir.join("state.json"))
        })();
        if let Err(e) = result {
            let _ = fs::remove_dir_all(&dir);
            return Err(e.into());
        }
        lock(&self.uploads).insert(
            id.to_string(),
            UploadSlot::Idle {
                size: 0,
                hasher: Sha256::new(),
            },
        );
        Ok(())
    }

    /// What upload `id` holds.
    pub fn upload_status(&self, id: &str) -> Result<UploadStatus, BlobError> {
        let dir = self.upload_dir(id)?;
        let unknown = || BlobError::UploadUnknown(id.to_string());
        let state = match fs::read(dir.join("state.json")) {
            Ok(bytes) => bytes,
            Err(e) if not_found(&e) => return Err(unknown()),
            Err(e) => return Err(e.into()),
        };
        let state: UploadState = serde_json::from_slice(&state).map_err(|_| unknown())?;
        let size = match fs::metadata(dir.join("data")) {
            Ok(m) => m.len(),
            Err(e) if not_found(&e) => return Err(unknown()),
            Err(e) => return Err(e.into()),
        };
        Ok(UploadStatus {
            id: id.to_string(),
            repository: state.repository,
            size,
            started_at: Timestamp::from_millis(state.started_at_millis),
        })
    }

    /// Takes upload `id` for exclusive use.
    fn lease(&self, id: &str) -> Result<UploadLease<'_>, BlobError> {
        let dir = self.upload_dir(id)?;
        let mut uploads = lock(&self.uploads);
        let hash = match uploads.insert(id.to_string(), UploadSlot::Busy) {
            Some(UploadSlot::Busy) => return Err(BlobError::UploadBusy(id.to_string())),
            Some(UploadSlot::Idle { size, hasher }) => Some((size, hasher)),
            None => None,
        };
        let lease = UploadLease {
            store: self,
            id: id.to_string(),
            hash,
            gone: false,
        };
        drop(uploads);
        if !dir.join("state.json").is_file() {
            let mut lease = lease;
            lease.gone = true;
            return Err(BlobError::UploadUnknown(id.to_string()));
        }
        Ok(lease)
    }

    /// Appends `bytes` to upload `id`, which must hold exactly `expected_offset` bytes
    /// (RANGE_INVALID otherwise); returns the new size.
    pub fn append(&self, id: &str, expected_offset: u64, bytes: &[u8]) -> Result<u64, BlobError> {
        self.append_chunks(
            id,
            Some(expected_offset),
            std::iter::once(Ok(Bytes::copy_from_slice(bytes))),
        )
    }

    /// Appends a stream of chunks (a request body) to upload `id`. With `expected_offset` the
    /// upload must hold exactly that many bytes; without, the chunks go at the end. All or
    /// nothing: if a chunk is an error (the body broke off) or a write fails, the upload is
    /// cut back to its previous size. Returns the new size.
    pub fn append_chunks<I>(
        &self,
        id: &str,
        expected_offset: Option<u64>,
        chunks: I,
    ) -> Result<u64, BlobError>
    where
        I: IntoIterator<Item = io::Result<Bytes>>,
    {
        let mut lease = self.lease(id)?;
        self.append_leased(&mut lease, expected_offset, chunks)
    }

    fn append_leased<I>(
        &self,
        lease: &mut UploadLease<'_>,
        expected_offset: Option<u64>,
        chunks: I,
    ) -> Result<u64, BlobError>
    where
        I: IntoIterator<Item = io::Result<Bytes>>,
    {
        let data = self.upload_dir(&lease.id)?.join("data");
        let file = match OpenOptions::new().write(true).open(&data) {
            Ok(f) => f,
            Err(e) if not_found(&e) => {
                lease.gone = true;
                return Err(BlobError::UploadUnknown(lease.id.clone()));
            }
            Err(e) => return Err(e.into()),
        };
        let start = file.metadata()?.len();
        if let Some(offset) = expected_offset {
            if offset != start {
                return Err(BlobError::RangeInvalid {
                    id: lease.id.clone(),
                    size: start,
                    offset,
                });
            }
        }
        let mut hasher = match lease.hash.take() {
            Some((size, hasher)) if size == start => Some(hasher),
            _ if start == 0 => Some(Sha256::new()),
            _ => None,
        };
        let mut file = file;
        io::Seek::seek(&mut file, io::SeekFrom::Start(start))?;
        let mut writer = BufWriter::with_capacity(IO_BUFFER, file);
        let mut size = start;
        let written: io::Result<()> = (|| {
            for chunk in chunks {
                let chunk = chunk?;
                writer.write_all(&chunk)?;
                if let Some(h) = hasher.as_mut() {
                    h.update(&chunk);
                }
                size += chunk.len() as u64;
            }
            writer.flush()
        })();
        match written {
            Ok(()) => {
                lease.hash = hasher.map(|h| (size, h));
                Ok(size)
            }
            Err(e) => {
                // All or nothing: drop the partial chunk (the running hash is lost with it).
                if let Ok(file) = writer.into_inner().map_err(|e| e.into_error()) {
                    let _ = file.set_len(start);
                }
                Err(e.into())
            }
        }
    }

    /// Cancels upload `id`, discarding what it holds.
    pub fn cancel(&self, id: &str) -> Result<(), BlobError> {
        let mut lease = self.lease(id)?;
        lease.gone = true;
        fs::remove_dir_all(self.upload_dir(id)?)?;
        Ok(())
    }

    /// Finishes upload `id` with `final_bytes` appended: verifies that the content hashes to
    /// `digest` and moves it into place atomically (fsynced; an existing identical blob is
    /// kept and the upload dropped). On a digest mismatch the upload is discarded and nothing
    /// is stored. Returns the blob's size.
    pub fn finish(&self, id: &str, digest: &str, final_bytes: &[u8]) -> Result<u64, BlobError> {
        let chunks = if final_bytes.is_empty() {
            None
        } else {
            Some(Ok(Bytes::copy_from_slice(final_bytes)))
        };
        self.finish_chunks(id, digest, None, chunks)
    }

    /// [`finish`](Self::finish) with a streamed final body (see
    /// [`append_chunks`](Self::append_chunks) for `expected_offset`).
    pub fn finish_chunks<I>(
        &self,
        id: &str,
        digest: &str,
        expected_offset: Option<u64>,
        chunks: I,
    ) -> Result<u64, BlobError>
    where
        I: IntoIterator<Item = io::Result<Bytes>>,
    {
        let hex = parse_digest(digest).map_err(|e| BlobError::from_digest(digest, e))?;
        let mut lease = self.lease(id)?;
        let size = self.append_leased(&mut lease, expected_offset, chunks)?;
        let dir = self.upload_dir(id)?;
        let data = dir.join("data");
        let actual = match lease.hash.take() {
            Some((hashed, hasher)) if hashed == size => hex::encode(hasher.finalize()),
            _ => hash_file(&data)?,
        };
        // From here on the upload is consumed, whatever happens.
        lease.gone = true;
        if actual != hex {
            let _ = fs::remove_dir_all(&dir);
            return Err(BlobError::DigestMismatch {
                expected: digest.to_string(),
                actual: format!("{SHA256_PREFIX}{actual}"),
            });
        }
        let committed = (|| {
            File::open(&data)?.sync_all()?;
            self.commit_file(&data, &self.blob_path_hex(hex))
        })();
        let _ = fs::remove_dir_all(&dir);
        committed?;
        Ok(size)
    }

    /// Every upload session and its last activity (the last write, else its creation).
    pub fn list_uploads(&self) -> io::Result<Vec<(String, SystemTime)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.uploads_dir)? {
            let entry = entry?;
            let Some(id) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let data = entry.path().join("data");
            let modified = match fs::metadata(&data).or_else(|_| entry.metadata()) {
                Ok(m) => m.modified()?,
                Err(e) if not_found(&e) => continue,
                Err(e) => return Err(e),
            };
            out.push((id, modified));
        }
        out.sort();
        Ok(out)
    }

    /// Ids of uploads with no activity since `cutoff`.
    pub fn stale_uploads(&self, cutoff: SystemTime) -> io::Result<Vec<String>> {
        Ok(self
            .list_uploads()?
            .into_iter()
            .filter(|(_, at)| *at < cutoff)
            .map(|(id, _)| id)
            .collect())
    }

    /// Removes upload `id` if it is idle and has seen no activity since `cutoff`; true when
    /// removed. Also removes debris that is not a valid upload (a crash mid-start).
    pub fn remove_stale_upload(&self, id: &str, cutoff: SystemTime) -> io::Result<bool> {
        if !valid_upload_id(id) {
            let path = self.uploads_dir.join(id);
            let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
            return Ok(true);
        }
        let mut lease = match self.lease(id) {
            Ok(lease) => lease,
            Err(BlobError::UploadBusy(_)) => return Ok(false),
            // A directory without state: debris of an interrupted start.
            Err(BlobError::UploadUnknown(_)) => {
                let dir = self.uploads_dir.join(id);
                return match fs::remove_dir_all(dir) {
                    Ok(()) => Ok(true),
                    Err(e) if not_found(&e) => Ok(false),
                    Err(e) => Err(e),
                };
            }
            Err(BlobError::Io(e)) => return Err(e),
            Err(e) => return Err(io::Error::other(e.to_string())),
        };
        let dir = self.uploads_dir.join(id);
        let last = fs::metadata(dir.join("data"))
            .or_else(|_| fs::metadata(&dir))
            .and_then(|m| m.modified());
        match last {
            Ok(at) if at >= cutoff => return Ok(false),
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        lease.gone = true;
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes temporary files (interrupted [`put`](Self::put)s) older than `cutoff`;
    /// returns how many.
    pub fn remove_stale_tmp(&self, cutoff: SystemTime) -> io::Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(&self.tmp_dir)? {
            let entry = entry?;
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|at| at < cutoff)
                .unwrap_or(false);
            if old && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Hex sha256 of a file's content.
fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; IO_BUFFER];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        (dir, store)
    }

    fn now() -> Timestamp {
        Timestamp::from_millis(1_700_000_000_000)
    }

    fn count_files(dir: &Path) -> usize {
        let mut n = 0;
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                n += count_files(&entry.path());
            } else {
                n += 1;
            }
        }
        n
    }

    #[test]
    fn digests_are_checked_strictly() {
        let good = format!("sha256:{}", "a".repeat(64));
        assert_eq!(parse_digest(&good), Ok("a".repeat(64).as_str()));
        assert_eq!(
            parse_digest(&format!("sha256:{}", "A".repeat(64))),
            Err(DigestError::Invalid)
        );
        assert_eq!(
            parse_digest(&format!("sha256:{}", "a".repeat(63))),
            Err(DigestError::Invalid)
        );
        assert_eq!(
            parse_digest(&format!("sha512:{}", "a".repeat(128))),
            Err(DigestError::Unsupported)
        );
        assert_eq!(
            parse_digest("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"),
            Err(DigestError::Unsupported)
        );
        for bad in [
            "",
            "sha256",
            "sha256:",
            ":abc",
            "SHA256:abc",
            "sha256:../../etc",
            "a:b/c",
        ] {
            assert_eq!(parse_digest(bad), Err(DigestError::Invalid), "{bad}");
        }
    }

    #[test]
    fn put_is_content_addressed_and_idempotent() {
        let (dir, store) = store();
        let d1 = store.put(b"hello").unwrap();
        assert_eq!(d1, sha256_digest(b"hello"));
        let d2 = store.put(b"hello").unwrap();
        assert_eq!(d1, d2);
        assert_eq!(store.size(&d1), Some(5));
        assert_eq!(store.read(&d1).unwrap().unwrap(), b"hello");
        let hex = &d1[7..];
        assert!(dir
            .path()
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .is_file());
        assert_eq!(store.list().unwrap().len(), 1);
        assert_eq!(count_files(&dir.path().join("tmp")), 0);
    }

    #[test]
    fn bad_digests_read_as_absent() {
        let (_dir, store) = store();
        assert_eq!(store.size("sha256:../../x"), None);
        assert!(store.read("nonsense").unwrap().is_none());
        assert!(store.open_blob("sha512:abc").unwrap().is_none());
        assert!(!store.delete("sha256:zz").unwrap());
        assert_eq!(store.claim(&sha256_digest(b"absent")), None);
    }

    #[test]
    fn chunked_upload_commits_atomically() {
        let (dir, store) = store();
        store.start_upload("u-1", "repo", now()).unwrap();
        let status = store.upload_status("u-1").unwrap();
        assert_eq!((status.size, status.repository.as_str()), (0, "repo"));
        assert_eq!(status.started_at, now());
        assert_eq!(store.append("u-1", 0, b"hello ").unwrap(), 6);
        // Out of order: refused, nothing written.
        match store.append("u-1", 3, b"xx") {
            Err(BlobError::RangeInvalid {
                size: 6, offset: 3, ..
            }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(store.upload_status("u-1").unwrap().size, 6);
        assert_eq!(store.append("u-1", 6, b"world").unwrap(), 11);
        let digest = sha256_digest(b"hello world!");
        // Nothing visible before finishing.
        assert_eq!(store.size(&digest), None);
        assert_eq!(store.finish("u-1", &digest, b"!").unwrap(), 12);
        assert_eq!(store.read(&digest).unwrap().unwrap(), b"hello world!");
        assert!(matches!(
            store.upload_status("u-1"),
            Err(BlobError::UploadUnknown(_))
        ));
        assert_eq!(count_files(&dir.path().join("uploads")), 0);
    }

    #[test]
    fn wrong_digest_discards_the_upload_and_stores_nothing() {
        let (dir, store) = store();
        store.start_upload("u-2", "repo", now()).unwrap();
        store.append("u-2", 0, b"some bytes").unwrap();
        let wrong = sha256_digest(b"other bytes");
        match store.finish("u-2", &wrong, b"") {
            Err(BlobError::DigestMismatch { expected, actual }) => {
                assert_eq!(expected, wrong);
                assert_eq!(actual, sha256_digest(b"some bytes"));
            }
            other => panic!("{other:?}"),
        }
        assert!(store.list().unwrap().is_empty());
        assert_eq!(count_files(&dir.path().join("uploads")), 0);
        assert_eq!(count_files(&dir.path().join("blobs")), 0);
        assert!(matches!(
            store.append("u-2", 10, b"x"),
            Err(BlobError::UploadUnknown(_))
        ));
    }

    #[test]
    fn malformed_or_unsupported_digest_keeps_the_upload() {
        let (_dir, store) = store();
        store.start_upload("u-3", "repo", now()).unwrap();
        store.append("u-3", 0, b"abc").unwrap();
        assert!(matches!(
            store.finish("u-3", "sha256:nothex", b""),
            Err(BlobError::InvalidDigest(_))
        ));
        assert!(matches!(
            store.finish("u-3", &format!("sha512:{}", "a".repeat(128)), b""),
            Err(BlobError::UnsupportedDigest(_))
        ));
        assert_eq!(store.upload_status("u-3").unwrap().size, 3);
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn finishing_an_existing_blob_drops_the_upload() {
        let (dir, store) = store();
        let digest = store.put(b"layer").unwrap();
        store.start_upload("u-4", "repo", now()).unwrap();
        assert_eq!(store.finish("u-4", &digest, b"layer").unwrap(), 5);
        assert_eq!(store.list().unwrap().len(), 1);
        assert_eq!(count_files(&dir.path().join("uploads")), 0);
    }

    #[test]
    fn broken_body_leaves_the_upload_as_it_was() {
        let (_dir, store) = store();
        store.start_upload("u-5", "repo", now()).unwrap();
        store.append("u-5", 0, b"abc").unwrap();
        let chunks = vec![
            Ok(Bytes::from_static(b"def")),
            Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "client went away",
            )),
        ];
        assert!(matches!(
            store.append_chunks("u-5", Some(3), chunks),
            Err(BlobError::Io(_))
        ));
        assert_eq!(store.upload_status("u-5").unwrap().size, 3);
        // The running hash was dropped; finishing rehashes the file.
        let digest = sha256_digest(b"abcdef");
        assert_eq!(store.finish("u-5", &digest, b"def").unwrap(), 6);
        assert_eq!(store.read(&digest).unwrap().unwrap(), b"abcdef");
    }

    #[test]
    fn uploads_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = BlobStore::open(dir.path()).unwrap();
            store.start_upload("u-6", "repo", now()).unwrap();
            store.append("u-6", 0, b"first ").unwrap();
        }
        let store = BlobStore::open(dir.path()).unwrap();
        assert_eq!(store.append("u-6", 6, b"second").unwrap(), 12);
        let digest = sha256_digest(b"first second");
        store.finish("u-6", &digest, b"").unwrap();
        assert_eq!(store.size(&digest), Some(12));
    }

    #[test]
    fn cancel_and_unknown_uploads() {
        let (dir, store) = store();
        store.start_upload("u-7", "repo", now()).unwrap();
        store.append("u-7", 0, b"abc").unwrap();
        store.cancel("u-7").unwrap();
        assert_eq!(count_files(&dir.path().join("uploads")), 0);
        for id in ["u-7", "../blobs", "", "a/b"] {
            assert!(matches!(
                store.upload_status(id),
                Err(BlobError::UploadUnknown(_))
            ));
            assert!(matches!(store.cancel(id), Err(BlobError::UploadUnknown(_))));
            assert!(matches!(
                store.append(id, 0, b"x"),
                Err(BlobError::UploadUnknown(_))
            ));
        }
        assert!(store.start_upload("../escape", "repo", now()).is_err());
        // Starting the same id twice is refused.
        store.start_upload("u-8", "repo", now()).unwrap();
        assert!(store.start_upload("u-8", "repo", now()).is_err());
    }

    #[test]
    fn a_busy_upload_refuses_a_second_writer() {
        let (_dir, store) = store();
        store.start_upload("u-9", "repo", now()).unwrap();
        let lease = store.lease("u-9").unwrap();
        assert!(matches!(
            store.append("u-9", 0, b"x"),
            Err(BlobError::UploadBusy(_))
        ));
        drop(lease);
        assert_eq!(store.append("u-9", 0, b"x").unwrap(), 1);
    }

    #[test]
    fn open_blob_reads_ranges() {
        let (_dir, store) = store();
        let digest = store.put(b"0123456789").unwrap();
        let (mut file, size) = store.open_blob(&digest).unwrap().unwrap();
        assert_eq!(size, 10);
        io::Seek::seek(&mut file, io::SeekFrom::Start(3)).unwrap();
        let mut buf = [0u8; 4];
        file.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"3456");
    }

    #[test]
    fn delete_if_older_respects_claims() {
        let (_dir, store) = store();
        let digest = store.put(b"blob").unwrap();
        let past = SystemTime::now() - Duration::from_secs(3600);
        // Committed just now: younger than the cutoff.
        assert_eq!(store.delete_if_older(&digest, past).unwrap(), None);
        File::open(store.blob_path(&digest).unwrap())
            .unwrap()
            .set_modified(past - Duration::from_secs(60))
            .unwrap();
        // A claim makes it young again.
        assert_eq!(store.claim(&digest), Some(4));
        assert_eq!(store.delete_if_older(&digest, past).unwrap(), None);
        let future = SystemTime::now() + Duration::from_secs(60);
        assert_eq!(store.delete_if_older(&digest, future).unwrap(), Some(4));
        assert_eq!(store.size(&digest), None);
        assert_eq!(store.delete_if_older(&digest, future).unwrap(), None);
    }

    #[test]
    fn stale_uploads_are_listed_and_removed() {
        let (dir, store) = store();
        store.start_upload("old", "repo", now()).unwrap();
        store.start_upload("busy", "repo", now()).unwrap();
        fs::create_dir(dir.path().join("uploads/debris")).unwrap();
        let future = SystemTime::now() + Duration::from_secs(60);
        let past = SystemTime::now() - Duration::from_secs(60);
        assert!(store.stale_uploads(past).unwrap().is_empty());
        assert_eq!(store.stale_uploads(future).unwrap().len(), 3);
        assert!(!store.remove_stale_upload("old", past).unwrap());
        let _lease = store.lease("busy").unwrap();
        assert!(!store.remove_stale_upload("busy", future).unwrap());
        assert!(store.remove_stale_upload("old", future).unwrap());
        assert!(store.remove_stale_upload("debris", future).unwrap());
        let left: Vec<String> = store
            .list_uploads()
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(left, vec!["busy".to_string()]);
    }

    #[test]
    fn large_upload_in_many_chunks_hashes_incrementally() {
        let (_dir, store) = store();
        store.start_upload("big", "repo", now()).unwrap();
        let chunk = vec![7u8; 64 * 1024];
        let mut all = Vec::new();
        let chunks: Vec<io::Result<Bytes>> = (0..40)
            .map(|_| {
                all.extend_from_slice(&chunk);
                Ok(Bytes::from(chunk.clone()))
            })
            .collect();
        let size = store.append_chunks("big", None, chunks).unwrap();
        assert_eq!(size, all.len() as u64);
        let digest = sha256_digest(&all);
        assert_eq!(store.finish("big", &digest, b"").unwrap(), size);
        assert_eq!(store.size(&digest), Some(size));
    }
}
