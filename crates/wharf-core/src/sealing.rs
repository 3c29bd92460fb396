//! Values sealed at rest: secret values and SecureString parameters are encrypted with
//! AES-256-GCM before they are written to the state store, with a key kept in
//! `<data-dir>/secrets.key` (created on first start, owner-only permissions).
//!
//! A sealed value is `v1:<base64(nonce || ciphertext || tag)>`; the nonce is random per value.
//! The record's key (e.g. the secret's ARN and version id) is bound as associated data, so a
//! sealed value copied into another record does not open.

use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use std::path::{Path, PathBuf};

/// The file, in the data directory, that holds the sealing key.
pub const KEY_FILE: &str = "secrets.key";

const PREFIX: &str = "v1:";
const KEY_LEN: usize = 32;

/// Why the key could not be loaded or a value not opened.
#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    #[error("cannot read or create the sealing key {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the sealing key {0} is not 32 bytes; restore it from a backup")]
    KeyLength(PathBuf),
    #[error("the system random number generator failed")]
    Random,
    #[error("a sealed value is damaged or was sealed with another key")]
    Open,
}

/// Seals and opens values with the data directory's key.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// The sealer whose key is `<data_dir>/secrets.key`, creating the key (mode 0600) if the
    /// file does not exist.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, SealingError> {
        let path = data_dir.join(KEY_FILE);
        let key_error = |source| SealingError::KeyFile {
            path: path.clone(),
            source,
        };
        let rng = SystemRandom::new();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut fresh = [0u8; KEY_LEN];
                rng.fill(&mut fresh).map_err(|_| SealingError::Random)?;
                write_owner_only(&path, &fresh).map_err(key_error)?;
                fresh.to_vec()
            }
            Err(e) => return Err(key_error(e)),
        };
        Self::from_key(&bytes).ok_or(SealingError::KeyLength(path.clone()))
    }

    /// A sealer over raw key bytes (32), for tests.
    pub fn from_key(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).ok()?;
        Some(Self {
            key: LessSafeKey::new(key),
            rng: SystemRandom::new(),
        })
    }

    /// `plaintext` sealed, bound to `context` (the identity of the record holding it).
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealingError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| SealingError::Random)?;
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| SealingError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// The plaintext of a value [`Sealer::seal`] made with the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, SealingError> {
        let encoded = sealed.strip_prefix(PREFIX).ok_or(SealingError::Open)?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| SealingError::Open)?;
        if raw.len() < NONCE_LEN {
            return Err(SealingError::Open);
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealingError::Open)?;
        let mut buffer = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer)
            .map_err(|_| SealingError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(unix)]
fn write_owner_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_owner_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_context_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sealer = Sealer::load_or_create(dir.path()).expect("key");
        let sealed = sealer.seal("arn:a/v1", b"hunter2").expect("seal");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(sealer.open("arn:a/v1", &sealed).expect("open"), b"hunter2");
        assert!(sealer.open("arn:b/v1", &sealed).is_err());
        // The same key file gives the same key after a restart.
        let again = Sealer::load_or_create(dir.path()).expect("reload");
        assert_eq!(again.open("arn:a/v1", &sealed).expect("open"), b"hunter2");
        let other = Sealer::from_key(&[7u8; 32]).expect("key");
        assert!(other.open("arn:a/v1", &sealed).is_err());
        assert!(sealer.open("arn:a/v1", "v1:%%%").is_err());
        assert!(sealer.open("arn:a/v1", "v1:AAAA").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        Sealer::load_or_create(dir.path()).expect("key");
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_truncated_key_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(KEY_FILE), b"short").expect("write");
        assert!(matches!(
            Sealer::load_or_create(dir.path()),
            Err(SealingError::KeyLength(_))
        ));
    }
}
