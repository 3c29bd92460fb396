//! Reading certificates and keys: the fields DescribeCertificate shows (subject, issuer,
//! validity, serial, names, key and signature algorithms), and the checks ImportCertificate
//! makes before it accepts a certificate, its private key and its chain.
//!
//! Pure functions over PEM text; errors are the messages ACM answers with
//! (`ValidationException`).

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};

/// What ACM shows about one X.509 certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// `Subject`, e.g. `CN=example.com`.
    pub subject: String,
    /// `Issuer`: the issuer's organisation, else its common name (ACM shows `Amazon`).
    pub issuer: String,
    /// `NotBefore`, milliseconds since the epoch.
    pub not_before_ms: i64,
    /// `NotAfter`, milliseconds since the epoch.
    pub not_after_ms: i64,
    /// `Serial`, lower-case hex bytes separated by colons.
    pub serial: String,
    /// `KeyAlgorithm` as DescribeCertificate shows it: `RSA-2048`, `EC-prime256v1`, ...
    pub key_algorithm: String,
    /// `SignatureAlgorithm`: `SHA256WITHRSA`, `SHA256WITHECDSA`, ...
    pub signature_algorithm: String,
    /// `DomainName`: the subject's common name, else the first DNS name.
    pub domain_name: String,
    /// `SubjectAlternativeNames`: the DNS names, in certificate order.
    pub dns_names: Vec<String>,
    /// `KeyUsages`: ACM's names (`DIGITAL_SIGNATURE`, `KEY_ENCIPHERMENT`, ...).
    pub key_usages: Vec<String>,
    /// `ExtendedKeyUsages`: ACM's name and the OID of each.
    pub extended_key_usages: Vec<(String, String)>,
}

/// A certificate, its key and chain that ImportCertificate accepted, normalised to PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedMaterial {
    /// The certificate (one PEM block).
    pub certificate_pem: String,
    /// The chain (zero or more PEM blocks).
    pub chain_pem: String,
    /// The private key, as given (PEM).
    pub private_key_pem: String,
    /// What the certificate says.
    pub info: CertificateInfo,
}

/// AWS's answer to a certificate that does not parse.
pub const UNPARSABLE_CERTIFICATE: &str =
    "Unable to parse certificate. Please ensure the certificate is in PEM format.";
/// AWS's answer to more than one certificate in the `Certificate` field.
pub const MORE_THAN_ONE_CERTIFICATE: &str = "The certificate field contains more than one certificate. You can specify only one certificate in this field.";
/// A private key that does not parse or is of a kind ACM does not take.
pub const UNSUPPORTED_KEY: &str = "The private key is not supported.";
/// A private key that is not the certificate's.
pub const KEY_MISMATCH: &str = "The private key does not match the public key in the certificate.";
/// A chain that does not parse.
pub const UNPARSABLE_CHAIN: &str =
    "Unable to parse certificate chain. Please ensure the certificate chain is in PEM format.";

/// The DER certificates in `pem` (every `CERTIFICATE` block); `None` when a block is broken.
fn certificates(pem: &[u8]) -> Option<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .ok()
}

fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Some(cert),
        _ => None,
    }
}

/// `CN=a, O=b` in the order the name lists its attributes, as ACM prints names.
fn name_text(name: &X509Name<'_>) -> String {
    name.to_string().replace(", ", ",")
}

fn first_text<'a>(
    mut attrs: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>,
) -> Option<String> {
    attrs
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_string)
}

/// The OpenSSL-style upper-case names ACM shows for signature algorithms.
fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.5" => "SHA1WITHRSA",
        "1.2.840.113549.1.1.11" => "SHA256WITHRSA",
        "1.2.840.113549.1.1.12" => "SHA384WITHRSA",
        "1.2.840.113549.1.1.13" => "SHA512WITHRSA",
        "1.2.840.113549.1.1.10" => "SHA256WITHRSAANDMGF1",
        "1.2.840.10045.4.3.2" => "SHA256WITHECDSA",
        "1.2.840.10045.4.3.3" => "SHA384WITHECDSA",
        "1.2.840.10045.4.3.4" => "SHA512WITHECDSA",
        "1.3.101.112" => "ED25519",
        other => return other.to_string(),
    }
    .to_string()
}

/// `RSA-2048`, `EC-prime256v1`, `EC-secp384r1`, `EC-secp521r1`.
fn key_algorithm(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    match spki.algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.1" => {
            let bits = match spki.parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => rsa.key_size(),
                _ => 0,
            };
            format!("RSA-{bits}")
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string())
                .unwrap_or_default();
            match curve.as_str() {
                "1.2.840.10045.3.1.7" => "EC-prime256v1".into(),
                "1.3.132.0.34" => "EC-secp384r1".into(),
                "1.3.132.0.35" => "EC-secp521r1".into(),
                other => format!("EC-{other}"),
            }
        }
        other => other.to_string(),
    }
}

/// ACM's names of the key usages the certificate allows.
fn key_usages(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ext)) = cert.key_usage() else {
        return Vec::new();
    };
    let ku = ext.value;
    [
        (ku.digital_signature(), "DIGITAL_SIGNATURE"),
        (ku.non_repudiation(), "NON_REPUDIATION"),
        (ku.key_encipherment(), "KEY_ENCIPHERMENT"),
        (ku.data_encipherment(), "DATA_ENCIPHERMENT"),
        (ku.key_agreement(), "KEY_AGREEMENT"),
        (ku.key_cert_sign(), "CERTIFICATE_SIGNING"),
        (ku.crl_sign(), "CRL_SIGNING"),
        (ku.encipher_only(), "ENCIPHER_ONLY"),
        (ku.decipher_only(), "DECIPHER_ONLY"),
    ]
    .into_iter()
    .filter(|(set, _)| *set)
    .map(|(_, name)| name.to_string())
    .collect()
}

/// ACM's names and the OIDs of the extended key usages the certificate allows.
fn extended_key_usages(cert: &X509Certificate<'_>) -> Vec<(String, String)> {
    let Ok(Some(ext)) = cert.extended_key_usage() else {
        return Vec::new();
    };
    let eku = ext.value;
    let mut out: Vec<(String, String)> = [
        (
            eku.server_auth,
            "TLS_WEB_SERVER_AUTHENTICATION",
            "1.3.6.1.5.5.7.3.1",
        ),
        (
            eku.client_auth,
            "TLS_WEB_CLIENT_AUTHENTICATION",
            "1.3.6.1.5.5.7.3.2",
        ),
        (eku.code_signing, "CODE_SIGNING", "1.3.6.1.5.5.7.3.3"),
        (
            eku.email_protection,
            "EMAIL_PROTECTION",
            "1.3.6.1.5.5.7.3.4",
        ),
        (eku.time_stamping, "TIME_STAMPING", "1.3.6.1.5.5.7.3.8"),
        (eku.ocsp_signing, "OCSP_SIGNING", "1.3.6.1.5.5.7.3.9"),
        (eku.any, "ANY", "2.5.29.37.0"),
    ]
    .into_iter()
    .filter(|(set, ..)| *set)
    .map(|(_, name, oid)| (name.to_string(), oid.to_string()))
    .collect();
    out.extend(
        eku.other
            .iter()
            .map(|oid| ("CUSTOM".to_string(), oid.to_id_string())),
    );
    out
}

fn info_of(cert: &X509Certificate<'_>) -> CertificateInfo {
    let dns_names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some((*d).to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let common_name = first_text(cert.subject().iter_common_name());
    let issuer = first_text(cert.issuer().iter_organization())
        .or_else(|| first_text(cert.issuer().iter_common_name()))
        .unwrap_or_else(|| name_text(cert.issuer()));
    CertificateInfo {
        subject: name_text(cert.subject()),
        issuer,
        not_before_ms: cert.validity().not_before.timestamp().saturating_mul(1000),
        not_after_ms: cert.validity().not_after.timestamp().saturating_mul(1000),
        serial: cert.raw_serial_as_string(),
        key_algorithm: key_algorithm(cert),
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        domain_name: common_name
            .or_else(|| dns_names.first().cloned())
            .unwrap_or_default(),
        dns_names,
        key_usages: key_usages(cert),
        extended_key_usages: extended_key_usages(cert),
    }
}

/// What the (single) certificate in `pem` says.
pub fn describe(pem: &str) -> Result<CertificateInfo, &'static str> {
    let certs = certificates(pem.as_bytes()).ok_or(UNPARSABLE_CERTIFICATE)?;
    let first = certs.first().ok_or(UNPARSABLE_CERTIFICATE)?;
    let cert = parse(first).ok_or(UNPARSABLE_CERTIFICATE)?;
    Ok(info_of(&cert))
}

/// The DER of the one certificate in `pem`.
fn one_certificate(pem: &[u8]) -> Result<CertificateDer<'static>, &'static str> {
    let mut certs = certificates(pem).ok_or(UNPARSABLE_CERTIFICATE)?;
    match certs.len() {
        0 => Err(UNPARSABLE_CERTIFICATE),
        1 => Ok(certs.remove(0)),
        _ => Err(MORE_THAN_ONE_CERTIFICATE),
    }
}

/// `der` as one PEM block labelled `label`, 64 characters a line.
pub fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Checks what ImportCertificate was given: one certificate, a private key ACM can use that
/// matches it, and a chain of certificates (possibly empty). Returns the material in PEM.
pub fn check_import(
    certificate: &[u8],
    private_key: &[u8],
    chain: Option<&[u8]>,
) -> Result<ImportedMaterial, &'static str> {
    let cert_der = one_certificate(certificate)?;
    let cert = parse(&cert_der).ok_or(UNPARSABLE_CERTIFICATE)?;
    let info = info_of(&cert);

    let key = PrivateKeyDer::from_pem_slice(private_key).map_err(|_| UNSUPPORTED_KEY)?;
    let signing =
        rustls::crypto::ring::sign::any_supported_type(&key).map_err(|_| UNSUPPORTED_KEY)?;
    let public = signing.public_key().ok_or(UNSUPPORTED_KEY)?;
    if public.as_ref() != cert.public_key().raw {
        return Err(KEY_MISMATCH);
    }

    let mut chain_pem = String::new();
    if let Some(chain) = chain.filter(|c| !c.iter().all(u8::is_ascii_whitespace)) {
        let certs = certificates(chain).ok_or(UNPARSABLE_CHAIN)?;
        if certs.is_empty() {
            return Err(UNPARSABLE_CHAIN);
        }
        for der in &certs {
            parse(der).ok_or(UNPARSABLE_CHAIN)?;
            chain_pem.push_str(&pem_block("CERTIFICATE", der));
        }
    }
    let private_key_pem = String::from_utf8(private_key.to_vec()).map_err(|_| UNSUPPORTED_KEY)?;
    Ok(ImportedMaterial {
        certificate_pem: pem_block("CERTIFICATE", &cert_der),
        chain_pem,
        private_key_pem,
        info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(names: &[&str]) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0]);
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn describes_a_certificate() {
        let (cert, _) = self_signed(&["example.com", "www.example.com"]);
        let info = describe(&cert).unwrap();
        assert_eq!(info.subject, "CN=example.com");
        assert_eq!(info.issuer, "example.com");
        assert_eq!(info.domain_name, "example.com");
        assert_eq!(info.dns_names, vec!["example.com", "www.example.com"]);
        assert_eq!(info.key_algorithm, "EC-prime256v1");
        assert_eq!(info.signature_algorithm, "SHA256WITHECDSA");
        assert!(info.not_after_ms > info.not_before_ms);
        assert!(info.serial.contains(':'), "{}", info.serial);
    }

    #[test]
    fn import_accepts_a_matching_pair_and_a_chain() {
        let (cert, key) = self_signed(&["a.example.com"]);
        let (other, _) = self_signed(&["ca.example.com"]);
        let got = check_import(cert.as_bytes(), key.as_bytes(), Some(other.as_bytes())).unwrap();
        assert_eq!(got.info.domain_name, "a.example.com");
        assert_eq!(got.chain_pem.matches("BEGIN CERTIFICATE").count(), 1);
        assert!(got
            .certificate_pem
            .starts_with("-----BEGIN CERTIFICATE-----\n"));
        // The normalised PEM is the same certificate.
        assert_eq!(describe(&got.certificate_pem).unwrap(), got.info);
    }

    #[test]
    fn import_refuses_what_aws_refuses() {
        let (cert, key) = self_signed(&["a.example.com"]);
        let (other_cert, other_key) = self_signed(&["b.example.com"]);
        assert_eq!(
            check_import(cert.as_bytes(), other_key.as_bytes(), None),
            Err(KEY_MISMATCH)
        );
        assert_eq!(
            check_import(b"not a certificate", key.as_bytes(), None),
            Err(UNPARSABLE_CERTIFICATE)
        );
        let two = format!("{cert}{other_cert}");
        assert_eq!(
            check_import(two.as_bytes(), key.as_bytes(), None),
            Err(MORE_THAN_ONE_CERTIFICATE)
        );
        assert_eq!(
            check_import(
                cert.as_bytes(),
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                None
            ),
            Err(UNSUPPORTED_KEY)
        );
        assert_eq!(
            check_import(cert.as_bytes(), key.as_bytes(), Some(b"garbage")),
            Err(UNPARSABLE_CHAIN)
        );
        let broken = cert.replace("MII", "MIX");
        assert!(check_import(broken.as_bytes(), key.as_bytes(), None).is_err());
    }
}
