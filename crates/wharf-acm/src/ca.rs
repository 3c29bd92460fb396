//! wharf's local certificate authority: the issuer of every certificate RequestCertificate
//! asks for. AWS validates domain ownership and signs with Amazon's public CAs; wharf cannot,
//! so it signs with a CA of its own that the user trusts once (`<data-dir>/ca.pem`, e.g.
//! `curl --cacert`, or the system / browser trust store).
//!
//! The CA is made on first use: an RSA 2048 key written to `<data-dir>/ca-key.pem` (mode
//! 0600, created before the certificate) and a ten-year self-signed certificate written to
//! `<data-dir>/ca.pem`. Both are written to a temporary file and renamed, so a crash never
//! leaves half a file; a key without its certificate is replaced on the next start. After a
//! restart the CA is loaded from those files, so certificates issued before stay valid.

use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The CA certificate's file name in the data directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// The CA private key's file name in the data directory.
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// The CA's common name.
const CA_COMMON_NAME: &str = "wharf local certificate authority";
/// The CA's organisation: what DescribeCertificate shows as `Issuer` (ACM shows `Amazon`).
pub const CA_ORGANIZATION: &str = "wharf";
/// How long the CA certificate is valid.
const CA_VALIDITY_DAYS: i64 = 3650;
/// How long an issued certificate is valid: 395 days, as ACM's.
pub const CERTIFICATE_VALIDITY_DAYS: i64 = 395;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Why the CA cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// Reading or writing a CA file failed.
    #[error("cannot use the certificate authority file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A CA file does not parse, or signing failed.
    #[error("certificate authority: {0}")]
    Crypto(String),
}

/// The key algorithms RequestCertificate can ask for that wharf issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// `RSA_2048` (ACM's default).
    Rsa2048,
    /// `RSA_3072`.
    Rsa3072,
    /// `RSA_4096`.
    Rsa4096,
    /// `EC_prime256v1`.
    EcP256,
    /// `EC_secp384r1`.
    EcP384,
}

impl KeyAlgorithm {
    /// From RequestCertificate's `KeyAlgorithm` (`None` = ACM's default, RSA_2048).
    pub fn from_request(value: Option<&str>) -> Result<Self, String> {
        match value.unwrap_or("RSA_2048") {
            "RSA_2048" => Ok(Self::Rsa2048),
            "RSA_3072" => Ok(Self::Rsa3072),
            "RSA_4096" => Ok(Self::Rsa4096),
            "EC_prime256v1" => Ok(Self::EcP256),
            "EC_secp384r1" => Ok(Self::EcP384),
            other => Err(format!(
                "Key algorithm {other} is not supported for RequestCertificate; use RSA_2048, RSA_3072, RSA_4096, EC_prime256v1 or EC_secp384r1."
            )),
        }
    }

    fn generate(self) -> Result<KeyPair, CaError> {
        let bits = match self {
            Self::EcP256 => return ec_key(&rcgen::PKCS_ECDSA_P256_SHA256),
            Self::EcP384 => return ec_key(&rcgen::PKCS_ECDSA_P384_SHA384),
            Self::Rsa2048 => 2048,
            Self::Rsa3072 => 3072,
            Self::Rsa4096 => 4096,
        };
        rsa_key(bits)
    }

    fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }
}

fn crypto(e: impl std::fmt::Display) -> CaError {
    CaError::Crypto(e.to_string())
}

fn ec_key(alg: &'static rcgen::SignatureAlgorithm) -> Result<KeyPair, CaError> {
    KeyPair::generate_for(alg).map_err(crypto)
}

/// A new RSA key of `bits` bits (ring signs with RSA keys but cannot make them).
fn rsa_key(bits: usize) -> Result<KeyPair, CaError> {
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits).map_err(crypto)?;
    let der = key.to_pkcs8_der().map_err(crypto)?;
    let pkcs8 = rustls_pki_types::PrivatePkcs8KeyDer::from(der.as_bytes());
    KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256).map_err(crypto)
}

fn datetime(millis: i64) -> Result<time::OffsetDateTime, CaError> {
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000)).map_err(crypto)
}

/// A positive random serial number of 16 bytes.
fn serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

/// A certificate the CA issued, with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The certificate (PEM).
    pub certificate_pem: String,
    /// Its private key (PKCS#8 PEM).
    pub private_key_pem: String,
}

/// The loaded certificate authority.
pub struct LocalCa {
    issuer: Issuer<'static, KeyPair>,
    /// `ca.pem`'s content: the chain of every issued certificate.
    cert_pem: String,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa").finish_non_exhaustive()
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CaError + '_ {
    move |source| CaError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `contents` to `path` through a temporary file and a rename, with `mode` on Unix.
fn write_atomically(path: &Path, contents: &str, mode: u32) -> Result<(), CaError> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp).map_err(io_error(&tmp))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))
}

impl LocalCa {
    /// Loads the CA of `data_dir`, creating it (at instant `now_ms`) if it does not exist yet.
    pub fn load_or_create(data_dir: &Path, now_ms: i64) -> Result<Self, CaError> {
        let cert_path = data_dir.join(CA_CERT_FILE);
        let key_path = data_dir.join(CA_KEY_FILE);
        if cert_path.exists() && key_path.exists() {
            let cert_pem = std::fs::read_to_string(&cert_path).map_err(io_error(&cert_path))?;
            let key_pem = std::fs::read_to_string(&key_path).map_err(io_error(&key_path))?;
            let key = KeyPair::from_pem(&key_pem).map_err(|e| {
                CaError::Crypto(format!("{} does not parse: {e}", key_path.display()))
            })?;
            let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| {
                CaError::Crypto(format!("{} does not parse: {e}", cert_path.display()))
            })?;
            return Ok(Self { issuer, cert_pem });
        }
        std::fs::create_dir_all(data_dir).map_err(io_error(data_dir))?;
        let key = rsa_key(2048)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, CA_ORGANIZATION);
        params
            .distinguished_name
            .push(DnType::CommonName, CA_COMMON_NAME);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = datetime(now_ms - DAY_MS)?;
        params.not_after = datetime(now_ms + CA_VALIDITY_DAYS * DAY_MS)?;
        params.serial_number = Some(serial());
        let cert = params.self_signed(&key).map_err(crypto)?;
        let cert_pem = cert.pem();
        write_atomically(&key_path, &key.serialize_pem(), 0o600)?;
        write_atomically(&cert_path, &cert_pem, 0o644)?;
        tracing::info!(path = %cert_path.display(), "created wharf's local certificate authority");
        Ok(Self {
            issuer: Issuer::new(params, key),
            cert_pem,
        })
    }

    /// The CA certificate (PEM), the chain of every certificate it issues.
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Issues a certificate for `names` (the first is the subject's common name) with a new
    /// key of `algorithm`, valid from `now_ms` for [`CERTIFICATE_VALIDITY_DAYS`].
    pub fn issue(
        &self,
        names: &[String],
        algorithm: KeyAlgorithm,
        now_ms: i64,
    ) -> Result<Issued, CaError> {
        let key = algorithm.generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        if let Some(first) = names.first() {
            params
                .distinguished_name
                .push(DnType::CommonName, first.as_str());
        }
        params.subject_alt_names = names
            .iter()
            .map(|n| n.clone().try_into().map(SanType::DnsName).map_err(crypto))
            .collect::<Result<_, _>>()?;
        params.key_usages = if algorithm.is_rsa() {
            vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ]
        } else {
            vec![KeyUsagePurpose::DigitalSignature]
        };
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.not_before = datetime(now_ms)?;
        params.not_after = datetime(now_ms + CERTIFICATE_VALIDITY_DAYS * DAY_MS)?;
        params.serial_number = Some(serial());
        let cert = params.signed_by(&key, &self.issuer).map_err(crypto)?;
        Ok(Issued {
            certificate_pem: cert.pem(),
            private_key_pem: key.serialize_pem(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect;

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn creates_once_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(dir.path(), NOW).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(CA_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = LocalCa::load_or_create(dir.path(), NOW + 1000).unwrap();
        assert_eq!(ca.certificate_pem(), again.certificate_pem());
        let info = inspect::describe(ca.certificate_pem()).unwrap();
        assert_eq!(info.issuer, CA_ORGANIZATION);
        assert_eq!(info.key_algorithm, "RSA-2048");
    }

    #[test]
    fn issues_certificates_for_every_name() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::load_or_create(dir.path(), NOW).unwrap();
        let names = vec!["app.example.com".to_string(), "*.example.com".to_string()];
        let issued = ca.issue(&names, KeyAlgorithm::EcP256, NOW).unwrap();
        let info = inspect::describe(&issued.certificate_pem).unwrap();
        assert_eq!(info.subject, "CN=app.example.com");
        assert_eq!(info.dns_names, names);
        assert_eq!(info.issuer, CA_ORGANIZATION);
        assert_eq!(info.key_algorithm, "EC-prime256v1");
        assert_eq!(info.signature_algorithm, "SHA256WITHRSA");
        assert_eq!(info.not_before_ms, NOW);
        assert_eq!(info.not_after_ms, NOW + CERTIFICATE_VALIDITY_DAYS * DAY_MS);
        // The key is the certificate's.
        inspect::check_import(
            issued.certificate_pem.as_bytes(),
            issued.private_key_pem.as_bytes(),
            Some(ca.certificate_pem().as_bytes()),
        )
        .unwrap();
        // A reloaded CA signs with the same key.
        let again = LocalCa::load_or_create(dir.path(), NOW).unwrap();
        let second = again.issue(&names, KeyAlgorithm::Rsa2048, NOW).unwrap();
        assert_eq!(
            inspect::describe(&second.certificate_pem)
                .unwrap()
                .key_algorithm,
            "RSA-2048"
        );
    }

    #[test]
    fn unsupported_algorithms_are_named() {
        assert!(KeyAlgorithm::from_request(Some("EC_secp521r1"))
            .unwrap_err()
            .contains("EC_secp521r1"));
        assert_eq!(KeyAlgorithm::from_request(None), Ok(KeyAlgorithm::Rsa2048));
    }
}
