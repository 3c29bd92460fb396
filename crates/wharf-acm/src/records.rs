//! What ACM keeps in the store: one record per certificate in `acm.certificates`, keyed
//! `<account>/<region>/<certificate id>` (the id is the UUID at the end of the ARN).
//!
//! The record holds the PEM material (certificate, chain, private key) next to the fields
//! DescribeCertificate shows, which are read from the certificate once, when it is issued or
//! imported. Private keys are kept in the state database in the clear, as wharf keeps every
//! other secret; the data directory is the trust boundary.

use serde::{Deserialize, Serialize};
use wharf_core::Timestamp;
use wharf_store::{Table, TableFormat};

/// Table of certificates.
pub const CERTIFICATES: Table<StoredCertificate> = Table::new("acm.certificates", 1);

/// Every table of ACM, with the format this wharf writes (checked at start).
pub const TABLES: &[TableFormat] = &[CERTIFICATES.format()];

/// `Type` of a certificate ACM issued.
pub const AMAZON_ISSUED: &str = "AMAZON_ISSUED";
/// `Type` of an imported certificate.
pub const IMPORTED: &str = "IMPORTED";

/// A certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCertificate {
    /// `CertificateArn`.
    pub arn: String,
    /// `DomainName`.
    pub domain_name: String,
    /// `SubjectAlternativeNames` (the domain name first).
    pub subject_alternative_names: Vec<String>,
    /// `Type`: `AMAZON_ISSUED` or `IMPORTED`.
    pub kind: String,
    /// `CreatedAt` (requested or first imported).
    pub created_at: Timestamp,
    /// `IssuedAt` (requested certificates).
    pub issued_at: Option<Timestamp>,
    /// `ImportedAt` (last import).
    pub imported_at: Option<Timestamp>,
    /// `NotBefore`.
    pub not_before: Timestamp,
    /// `NotAfter`: after it the status is `EXPIRED`.
    pub not_after: Timestamp,
    /// `Serial`.
    pub serial: String,
    /// `Subject`.
    pub subject: String,
    /// `Issuer`.
    pub issuer: String,
    /// `KeyAlgorithm` as DescribeCertificate shows it (`RSA-2048`).
    pub key_algorithm: String,
    /// `SignatureAlgorithm`.
    pub signature_algorithm: String,
    /// `KeyUsages` names.
    pub key_usages: Vec<String>,
    /// `ExtendedKeyUsages`: name and OID.
    pub extended_key_usages: Vec<(String, String)>,
    /// `DNS` or `EMAIL` for requested certificates.
    pub validation_method: Option<String>,
    /// One DNS validation record per domain (requested certificates).
    pub validations: Vec<StoredValidation>,
    /// `CertificateTransparencyLoggingPreference`.
    pub transparency_logging: Option<String>,
    /// The certificate (PEM).
    pub certificate_pem: String,
    /// Its chain (PEM, possibly empty).
    pub chain_pem: String,
    /// Its private key (PEM).
    pub private_key_pem: String,
    /// Resource tags, in the order they were added.
    pub tags: Vec<StoredTag>,
    /// RequestCertificate's `IdempotencyToken`: a repeated request within an hour gets the
    /// same certificate.
    pub idempotency_token: Option<String>,
}

/// The DNS record that would prove control of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredValidation {
    /// The domain (`DomainName` of the `DomainValidation`).
    pub domain: String,
    /// `ResourceRecord.Name`, e.g. `_3f0c....example.com.`.
    pub record_name: String,
    /// `ResourceRecord.Value`, e.g. `_9a1b....abcdefghij.acm-validations.aws.`.
    pub record_value: String,
}

/// A tag: ACM tags may have no value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTag {
    /// Key.
    pub key: String,
    /// Value, if any.
    pub value: Option<String>,
}

/// The store key of certificate `id` of `account` in `region`.
pub fn key(account: &str, region: &str, id: &str) -> String {
    format!("{account}/{region}/{id}")
}

/// The key prefix of every certificate of `account` in `region`.
pub fn prefix(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_keep_their_names_at_format_1() {
        let names: Vec<(&str, u32)> = TABLES.iter().map(|t| (t.name, t.version)).collect();
        assert_eq!(names, vec![("acm.certificates", 1),]);
    }
}
