//! The ACM operations: RequestCertificate (issued at once by the local CA), ImportCertificate,
//! DescribeCertificate, ListCertificates, GetCertificate, DeleteCertificate and the tag
//! operations.
//!
//! A requested certificate is `ISSUED` when RequestCertificate returns: wharf cannot prove
//! domain ownership, so it shows the DNS (or email) validation AWS would ask for as already
//! `SUCCESS`. Imported certificates are checked (one certificate, a supported private key that
//! matches it, a parsable chain) and read for the fields DescribeCertificate shows. Either kind
//! is `EXPIRED` after its `NotAfter`.

use crate::ca::KeyAlgorithm;
use crate::generated::*;
use crate::inspect::{self, CertificateInfo};
use crate::records::{
    self, StoredCertificate, StoredTag, StoredValidation, AMAZON_ISSUED, CERTIFICATES, IMPORTED,
};
use crate::Acm;
use std::collections::BTreeMap;
use wharf_core::lb_plane::CertificateMaterial;
use wharf_core::pagination::paginate_ordered;
use wharf_core::tags as tag_rules;
use wharf_core::{Arn, RequestContext, Timestamp};
use wharf_store::StoreError;

/// How long a RequestCertificate `IdempotencyToken` is remembered (AWS: one hour).
const IDEMPOTENCY_WINDOW_MS: i64 = 60 * 60 * 1000;
/// `MaxItems` when the caller gives none.
const DEFAULT_MAX_ITEMS: usize = 1000;
/// The key types ListCertificates returns when `Includes.keyTypes` is not given (AWS's
/// default filter).
const DEFAULT_KEY_TYPES: &[&str] = &["RSA_1024", "RSA_2048"];
/// The addresses EMAIL validation would write to, per domain.
const VALIDATION_MAILBOXES: &[&str] = &[
    "admin",
    "administrator",
    "hostmaster",
    "postmaster",
    "webmaster",
];

fn not_found(arn: &str) -> Error {
    Error::ResourceNotFoundException(format!("Could not find certificate {arn}."))
}

/// `(account, region, id)` of a certificate ARN, `None` when it is not one.
fn parse_arn(arn: &str) -> Option<(String, String, String)> {
    let parsed = Arn::parse(arn)?;
    if parsed.service != "acm" {
        return None;
    }
    let id = parsed.resource.strip_prefix("certificate/")?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    Some((parsed.account, parsed.region, id.to_string()))
}

/// The certificate `arn` names, wherever it is (the data plane asks without a request).
pub(crate) fn load_by_arn(acm: &Acm, arn: &str) -> Result<Option<StoredCertificate>, StoreError> {
    let Some((account, region, id)) = parse_arn(arn) else {
        return Ok(None);
    };
    let found: Option<StoredCertificate> = acm
        .store
        .read(|tx| tx.get(CERTIFICATES, &records::key(&account, &region, &id)))?;
    Ok(found.filter(|c| c.arn == arn))
}

/// The store key of `arn` if it names a certificate of the caller's account and region.
fn key_of(ctx: &RequestContext, arn: &str) -> Result<String, Error> {
    let (account, region, id) = parse_arn(arn)
        .ok_or_else(|| Error::InvalidArnException(format!("String '{arn}' is not a valid ARN.")))?;
    if account != ctx.account_id || region != ctx.region {
        return Err(not_found(arn));
    }
    Ok(records::key(&account, &region, &id))
}

fn load(acm: &Acm, ctx: &RequestContext, arn: &str) -> Result<StoredCertificate, Error> {
    let key = key_of(ctx, arn)?;
    acm.store
        .read(|tx| tx.get::<StoredCertificate>(CERTIFICATES, &key))?
        .filter(|c| c.arn == arn)
        .ok_or_else(|| not_found(arn))
}

/// `Status` at `now`: `ISSUED`, or `EXPIRED` after `NotAfter`.
pub(crate) fn status(cert: &StoredCertificate, now: Timestamp) -> &'static str {
    if now > cert.not_after {
        "EXPIRED"
    } else {
        "ISSUED"
    }
}

/// Whether `name` is a domain name ACM accepts: labels of letters, digits and hyphens (not at
/// either end), at least two of them, an optional leading `*.`, 253 characters at most.
fn valid_domain(name: &str) -> bool {
    let bare = name.strip_prefix("*.").unwrap_or(name);
    let labels: Vec<&str> = bare.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn invalid_domain(name: &str, field: &str) -> Error {
    Error::ValidationException(format!(
        "1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\*\\.)?(((?!-)[A-Za-z0-9-]{{0,62}}[A-Za-z0-9])\\.)+((?!-)[A-Za-z0-9-]{{1,62}}[A-Za-z0-9])"
    ))
}

/// Refuses a tag key under `aws:` (`InvalidTagException`), the rule of [`tag_rules`].
fn check_tags(tags: &[Tag]) -> Result<(), Error> {
    match tags.iter().find(|t| tag_rules::is_reserved_key(&t.key)) {
        Some(tag) => Err(Error::InvalidTagException(format!(
            "Tag key '{}' uses the reserved prefix 'aws:'.",
            tag.key
        ))),
        None => Ok(()),
    }
}

/// `existing` with `tags` added (a key already present gets the new value); at most 50
/// (`TooManyTagsException`).
fn merged_tags(existing: &[StoredTag], tags: &[Tag]) -> Result<Vec<StoredTag>, Error> {
    check_tags(tags)?;
    let mut out = existing.to_vec();
    let new = tags.iter().map(|t| StoredTag {
        key: t.key.clone(),
        value: t.value.clone(),
    });
    tag_rules::merge(&mut out, new, |t| &t.key);
    if !tag_rules::count_ok(out.len()) {
        return Err(Error::TooManyTagsException(format!(
            "the TagList contains too many Tags: a certificate can have at most {}.",
            tag_rules::MAX_TAGS
        )));
    }
    Ok(out)
}

fn stored_from_info(info: &CertificateInfo) -> (Timestamp, Timestamp) {
    (
        Timestamp::from_millis(info.not_before_ms),
        Timestamp::from_millis(info.not_after_ms),
    )
}

/// The DNS validation record of `domain` (shared by `example.com` and `*.example.com`).
fn validation_record(acm: &Acm, domain: &str) -> StoredValidation {
    let base = domain.strip_prefix("*.").unwrap_or(domain);
    StoredValidation {
        domain: domain.to_string(),
        record_name: format!("_{}.{}.", acm.ids.hex(32), base.to_ascii_lowercase()),
        record_value: format!(
            "_{}.{}.acm-validations.aws.",
            acm.ids.hex(32),
            acm.ids.chars(10, b"abcdefghijklmnopqrstuvwxyz")
        ),
    }
}

/// The certificate's names: `DomainName`, then each new `SubjectAlternativeNames` entry (names
/// compared without regard to case), each checked; every `DomainValidationOptions` entry must
/// name one of them.
fn requested_names(input: &RequestCertificateRequest) -> Result<Vec<String>, Error> {
    if !valid_domain(&input.domain_name) {
        return Err(invalid_domain(&input.domain_name, "domainName"));
    }
    let mut names = vec![input.domain_name.clone()];
    for (i, san) in input.subject_alternative_names.iter().flatten().enumerate() {
        if !valid_domain(san) {
            return Err(invalid_domain(
                san,
                &format!("subjectAlternativeNames.{}.member", i + 1),
            ));
        }
        if !names.iter().any(|n| n.eq_ignore_ascii_case(san)) {
            names.push(san.clone());
        }
    }
    for option in input.domain_validation_options.iter().flatten() {
        if !names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&option.domain_name))
        {
            return Err(Error::InvalidDomainValidationOptionsException(format!(
                "DomainValidationOption {} is not one of the certificate's domain names.",
                option.domain_name
            )));
        }
    }
    Ok(names)
}

/// The ARN of the certificate an earlier request with the same `IdempotencyToken` and domain
/// made within the hour, if any: a repeated request gets the same certificate.
fn earlier_request(
    acm: &Acm,
    ctx: &RequestContext,
    input: &RequestCertificateRequest,
) -> Result<Option<String>, Error> {
    let Some(token) = &input.idempotency_token else {
        return Ok(None);
    };
    let prefix = records::prefix(&ctx.account_id, &ctx.region);
    let existing: Vec<(String, StoredCertificate)> =
        acm.store.read(|tx| tx.list(CERTIFICATES, &prefix))?;
    Ok(existing
        .into_iter()
        .find(|(_, c)| {
            c.idempotency_token.as_deref() == Some(token)
                && c.domain_name == input.domain_name
                && ctx.now.millis - c.created_at.millis < IDEMPOTENCY_WINDOW_MS
        })
        .map(|(_, c)| c.arn))
}

/// The DNS validation record of each name: one record per base domain, as ACM shows the same
/// CNAME for `a.com` and `*.a.com`.
fn validations_for(acm: &Acm, names: &[String]) -> Vec<StoredValidation> {
    let mut by_base: BTreeMap<String, StoredValidation> = BTreeMap::new();
    names
        .iter()
        .map(|name| {
            let base = name.strip_prefix("*.").unwrap_or(name).to_ascii_lowercase();
            let record = by_base
                .entry(base)
                .or_insert_with(|| validation_record(acm, name))
                .clone();
            StoredValidation {
                domain: name.clone(),
                ..record
            }
        })
        .collect()
}

/// RequestCertificate: the request checked, an earlier identical request answered again, else a
/// certificate issued by the local CA and stored with its validation records.
pub fn request(
    acm: &Acm,
    ctx: &RequestContext,
    input: RequestCertificateRequest,
) -> Result<RequestCertificateResponse, Error> {
    let names = requested_names(&input)?;
    if input.certificate_authority_arn.is_some() {
        return Err(Error::ValidationException(
            "wharf has no AWS Private CA: omit CertificateAuthorityArn to have wharf's local certificate authority issue the certificate.".into(),
        ));
    }
    if input.managed_by.is_some() {
        return Err(Error::ValidationException(
            "ManagedBy is not supported by wharf (there is no CloudFront).".into(),
        ));
    }
    let algorithm = KeyAlgorithm::from_request(input.key_algorithm.as_deref())
        .map_err(Error::ValidationException)?;
    let tags = merged_tags(&[], input.tags.as_deref().unwrap_or_default())?;
    let validation_method = input
        .validation_method
        .clone()
        .unwrap_or_else(|| "EMAIL".into());
    if validation_method == "HTTP" {
        return Err(Error::ValidationException(
            "HTTP validation is only available for certificates managed by CloudFront.".into(),
        ));
    }

    if let Some(arn) = earlier_request(acm, ctx, &input)? {
        return Ok(RequestCertificateResponse {
            certificate_arn: Some(arn),
        });
    }

    let ca = acm.local_ca()?;
    let issued = ca.issue(&names, algorithm, ctx.now.millis)?;
    let info = inspect::describe(&issued.certificate_pem).map_err(|e| {
        Error::InternalFailure(format!("the issued certificate does not parse: {e}"))
    })?;
    let (not_before, not_after) = stored_from_info(&info);

    let validations = validations_for(acm, &names);

    let id = acm.ids.uuid();
    let arn = Arn::new(
        "acm",
        &ctx.region,
        &ctx.account_id,
        &format!("certificate/{id}"),
    )
    .to_string();
    let record = StoredCertificate {
        arn: arn.clone(),
        domain_name: input.domain_name.clone(),
        subject_alternative_names: names,
        kind: AMAZON_ISSUED.into(),
        created_at: ctx.now,
        issued_at: Some(ctx.now),
        imported_at: None,
        not_before,
        not_after,
        serial: info.serial,
        subject: info.subject,
        issuer: info.issuer,
        key_algorithm: info.key_algorithm,
        signature_algorithm: info.signature_algorithm,
        key_usages: info.key_usages,
        extended_key_usages: info.extended_key_usages,
        validation_method: Some(validation_method),
        validations,
        transparency_logging: Some(
            input
                .options
                .and_then(|o| o.certificate_transparency_logging_preference)
                .unwrap_or_else(|| "ENABLED".into()),
        ),
        certificate_pem: issued.certificate_pem,
        chain_pem: ca.certificate_pem().to_string(),
        private_key_pem: issued.private_key_pem,
        tags,
        idempotency_token: input.idempotency_token,
    };
    let key = records::key(&ctx.account_id, &ctx.region, &id);
    acm.store.write(|tx| tx.put(CERTIFICATES, &key, &record))?;
    tracing::info!(%arn, domain = %record.domain_name, "issued certificate");
    Ok(RequestCertificateResponse {
        certificate_arn: Some(arn),
    })
}

/// ImportCertificate (and re-import over `CertificateArn`).
pub fn import(
    acm: &Acm,
    ctx: &RequestContext,
    input: ImportCertificateRequest,
) -> Result<ImportCertificateResponse, Error> {
    let material = inspect::check_import(
        &input.certificate.0,
        &input.private_key.0,
        input.certificate_chain.as_ref().map(|c| c.0.as_slice()),
    )
    .map_err(|m| Error::ValidationException(m.to_string()))?;
    let info = material.info.clone();
    let (not_before, not_after) = stored_from_info(&info);
    let mut names = Vec::new();
    for n in std::iter::once(&info.domain_name).chain(info.dns_names.iter()) {
        if !n.is_empty() && !names.contains(n) {
            names.push(n.clone());
        }
    }

    let (key, existing, arn) = match &input.certificate_arn {
        Some(arn) => {
            let existing = load(acm, ctx, arn)?;
            if existing.kind != IMPORTED {
                return Err(Error::ValidationException(format!(
                    "Certificate {arn} was not imported; only imported certificates can be re-imported."
                )));
            }
            if input.tags.as_ref().is_some_and(|t| !t.is_empty()) {
                return Err(Error::InvalidParameterException(
                    "Tags cannot be applied when reimporting a certificate.".into(),
                ));
            }
            (key_of(ctx, arn)?, Some(existing), arn.clone())
        }
        None => {
            let id = acm.ids.uuid();
            let arn = Arn::new(
                "acm",
                &ctx.region,
                &ctx.account_id,
                &format!("certificate/{id}"),
            )
            .to_string();
            (records::key(&ctx.account_id, &ctx.region, &id), None, arn)
        }
    };
    let tags = match &existing {
        Some(e) => e.tags.clone(),
        None => merged_tags(&[], input.tags.as_deref().unwrap_or_default())?,
    };
    let record = StoredCertificate {
        arn: arn.clone(),
        domain_name: info.domain_name,
        subject_alternative_names: names,
        kind: IMPORTED.into(),
        created_at: existing.as_ref().map_or(ctx.now, |e| e.created_at),
        issued_at: None,
        imported_at: Some(ctx.now),
        not_before,
        not_after,
        serial: info.serial,
        subject: info.subject,
        issuer: info.issuer,
        key_algorithm: info.key_algorithm,
        signature_algorithm: info.signature_algorithm,
        key_usages: info.key_usages,
        extended_key_usages: info.extended_key_usages,
        validation_method: None,
        validations: Vec::new(),
        transparency_logging: None,
        certificate_pem: material.certificate_pem,
        chain_pem: material.chain_pem,
        private_key_pem: material.private_key_pem,
        tags,
        idempotency_token: None,
    };
    acm.store.write(|tx| tx.put(CERTIFICATES, &key, &record))?;
    tracing::info!(%arn, domain = %record.domain_name, "imported certificate");
    Ok(ImportCertificateResponse {
        certificate_arn: Some(arn),
    })
}

fn users_of(acm: &Acm, arn: &str) -> Result<Vec<String>, Error> {
    acm.users.users(arn).map_err(|e| {
        tracing::error!(error = %e, arn, "cannot tell which resources use a certificate");
        Error::InternalFailure(format!("cannot tell which resources use {arn}: {e}"))
    })
}

fn domain_validations(cert: &StoredCertificate) -> Option<Vec<DomainValidation>> {
    let method = cert.validation_method.as_deref()?;
    Some(
        cert.validations
            .iter()
            .map(|v| {
                let base = v.domain.strip_prefix("*.").unwrap_or(&v.domain).to_string();
                if method == "EMAIL" {
                    DomainValidation {
                        domain_name: v.domain.clone(),
                        validation_emails: Some(
                            VALIDATION_MAILBOXES
                                .iter()
                                .map(|m| format!("{m}@{base}"))
                                .collect(),
                        ),
                        validation_domain: Some(v.domain.clone()),
                        validation_status: Some("SUCCESS".into()),
                        validation_method: Some("EMAIL".into()),
                        ..DomainValidation::default()
                    }
                } else {
                    DomainValidation {
                        domain_name: v.domain.clone(),
                        validation_domain: Some(v.domain.clone()),
                        validation_status: Some("SUCCESS".into()),
                        resource_record: Some(ResourceRecord {
                            name: v.record_name.clone(),
                            r#type: "CNAME".into(),
                            value: v.record_value.clone(),
                        }),
                        validation_method: Some("DNS".into()),
                        ..DomainValidation::default()
                    }
                }
            })
            .collect(),
    )
}

fn renewal_eligibility(cert: &StoredCertificate, in_use: bool) -> &'static str {
    if cert.kind == AMAZON_ISSUED && in_use {
        "ELIGIBLE"
    } else {
        "INELIGIBLE"
    }
}

/// DescribeCertificate.
pub fn describe(
    acm: &Acm,
    ctx: &RequestContext,
    arn: &str,
) -> Result<DescribeCertificateResponse, Error> {
    let cert = load(acm, ctx, arn)?;
    let in_use_by = users_of(acm, arn)?;
    let detail = CertificateDetail {
        certificate_arn: Some(cert.arn.clone()),
        domain_name: Some(cert.domain_name.clone()),
        subject_alternative_names: Some(cert.subject_alternative_names.clone()),
        domain_validation_options: domain_validations(&cert),
        serial: Some(cert.serial.clone()),
        subject: Some(cert.subject.clone()),
        issuer: Some(cert.issuer.clone()),
        created_at: Some(cert.created_at),
        issued_at: cert.issued_at,
        imported_at: cert.imported_at,
        status: Some(status(&cert, ctx.now).into()),
        not_before: Some(cert.not_before),
        not_after: Some(cert.not_after),
        key_algorithm: Some(cert.key_algorithm.clone()),
        signature_algorithm: Some(cert.signature_algorithm.clone()),
        renewal_eligibility: Some(renewal_eligibility(&cert, !in_use_by.is_empty()).into()),
        in_use_by: Some(in_use_by),
        r#type: Some(cert.kind.clone()),
        key_usages: Some(
            cert.key_usages
                .iter()
                .map(|k| KeyUsage {
                    name: Some(k.clone()),
                })
                .collect(),
        ),
        extended_key_usages: Some(
            cert.extended_key_usages
                .iter()
                .map(|(name, oid)| ExtendedKeyUsage {
                    name: Some(name.clone()),
                    oid: Some(oid.clone()),
                })
                .collect(),
        ),
        options: Some(CertificateOptions {
            certificate_transparency_logging_preference: cert
                .transparency_logging
                .clone()
                .or_else(|| Some("ENABLED".into()))
                .filter(|_| cert.kind == AMAZON_ISSUED),
            export: Some("DISABLED".into()),
        }),
        ..CertificateDetail::default()
    };
    Ok(DescribeCertificateResponse {
        certificate: Some(detail),
    })
}

/// The `KeyAlgorithm` enum value (`RSA_2048`) of a shown algorithm (`RSA-2048`).
fn key_type(shown: &str) -> String {
    shown.replace('-', "_")
}

/// ListCertificates.
pub fn list(
    acm: &Acm,
    ctx: &RequestContext,
    input: ListCertificatesRequest,
) -> Result<ListCertificatesResponse, Error> {
    let max = match input.max_items {
        None => DEFAULT_MAX_ITEMS,
        Some(n) => usize::try_from(n).unwrap_or(DEFAULT_MAX_ITEMS).max(1),
    };
    let key_types: Vec<String> = input
        .includes
        .as_ref()
        .and_then(|i| i.key_types.clone())
        .unwrap_or_else(|| DEFAULT_KEY_TYPES.iter().map(|s| s.to_string()).collect());
    let statuses = input.certificate_statuses.clone().unwrap_or_default();
    let prefix = records::prefix(&ctx.account_id, &ctx.region);
    let all: Vec<(String, StoredCertificate)> =
        acm.store.read(|tx| tx.list(CERTIFICATES, &prefix))?;
    let descending = input.sort_order.as_deref() == Some("DESCENDING");
    let mut certs: Vec<StoredCertificate> = all
        .into_iter()
        .map(|(_, c)| c)
        .filter(|c| key_types.contains(&key_type(&c.key_algorithm)))
        .filter(|c| statuses.is_empty() || statuses.iter().any(|s| s == status(c, ctx.now)))
        .collect();
    let sort_key = |c: &StoredCertificate| format!("{:020}/{}", c.created_at.millis, c.arn);
    certs.sort_by_key(sort_key);
    if descending {
        certs.reverse();
    }
    let (page, next) = paginate_ordered(
        certs,
        sort_key,
        input.next_token.as_deref(),
        max,
        descending,
    )
    .map_err(|_| Error::InvalidArgsException("The NextToken is not valid.".into()))?;
    let mut summaries = Vec::with_capacity(page.len());
    for c in page {
        let in_use = !users_of(acm, &c.arn)?.is_empty();
        summaries.push(CertificateSummary {
            certificate_arn: Some(c.arn.clone()),
            domain_name: Some(c.domain_name.clone()),
            subject_alternative_name_summaries: Some(c.subject_alternative_names.clone()),
            has_additional_subject_alternative_names: Some(false),
            status: Some(status(&c, ctx.now).into()),
            r#type: Some(c.kind.clone()),
            key_algorithm: Some(c.key_algorithm.clone()),
            key_usages: Some(c.key_usages.clone()),
            extended_key_usages: Some(
                c.extended_key_usages
                    .iter()
                    .map(|(n, _)| n.clone())
                    .collect(),
            ),
            export_option: Some("DISABLED".into()),
            in_use: Some(in_use),
            renewal_eligibility: Some(renewal_eligibility(&c, in_use).into()),
            not_before: Some(c.not_before),
            not_after: Some(c.not_after),
            created_at: Some(c.created_at),
            issued_at: c.issued_at,
            imported_at: c.imported_at,
            ..CertificateSummary::default()
        });
    }
    Ok(ListCertificatesResponse {
        next_token: next,
        certificate_summary_list: Some(summaries),
    })
}

/// GetCertificate: the certificate and its chain.
pub fn get(acm: &Acm, ctx: &RequestContext, arn: &str) -> Result<GetCertificateResponse, Error> {
    let cert = load(acm, ctx, arn)?;
    Ok(GetCertificateResponse {
        certificate: Some(cert.certificate_pem.clone()),
        certificate_chain: (!cert.chain_pem.is_empty()).then(|| cert.chain_pem.clone()),
    })
}

/// DeleteCertificate: refused while a listener uses the certificate.
pub fn delete(acm: &Acm, ctx: &RequestContext, arn: &str) -> Result<(), Error> {
    let key = key_of(ctx, arn)?;
    load(acm, ctx, arn)?;
    if !users_of(acm, arn)?.is_empty() {
        return Err(Error::ResourceInUseException(format!(
            "Certificate {arn} in use."
        )));
    }
    acm.store.write(|tx| tx.delete(CERTIFICATES, &key))?;
    tracing::info!(%arn, "deleted certificate");
    Ok(())
}

/// AddTagsToCertificate.
pub fn add_tags(acm: &Acm, ctx: &RequestContext, arn: &str, tags: &[Tag]) -> Result<(), Error> {
    let key = key_of(ctx, arn)?;
    acm.store.write(|tx| {
        let mut cert: StoredCertificate = tx
            .get(CERTIFICATES, &key)?
            .filter(|c: &StoredCertificate| c.arn == arn)
            .ok_or_else(|| not_found(arn))?;
        cert.tags = merged_tags(&cert.tags, tags)?;
        tx.put(CERTIFICATES, &key, &cert)?;
        Ok(())
    })
}

/// RemoveTagsFromCertificate: a tag given with a value is removed only if the value matches.
pub fn remove_tags(acm: &Acm, ctx: &RequestContext, arn: &str, tags: &[Tag]) -> Result<(), Error> {
    check_tags(tags)?;
    let key = key_of(ctx, arn)?;
    acm.store.write(|tx| {
        let mut cert: StoredCertificate = tx
            .get(CERTIFICATES, &key)?
            .filter(|c: &StoredCertificate| c.arn == arn)
            .ok_or_else(|| not_found(arn))?;
        cert.tags.retain(|t| {
            !tags
                .iter()
                .any(|r| r.key == t.key && (r.value.is_none() || r.value == t.value))
        });
        tx.put(CERTIFICATES, &key, &cert)?;
        Ok(())
    })
}

/// ListTagsForCertificate.
pub fn list_tags(
    acm: &Acm,
    ctx: &RequestContext,
    arn: &str,
) -> Result<ListTagsForCertificateResponse, Error> {
    let cert = load(acm, ctx, arn)?;
    Ok(ListTagsForCertificateResponse {
        tags: Some(
            cert.tags
                .iter()
                .map(|t| Tag {
                    key: t.key.clone(),
                    value: t.value.clone(),
                })
                .collect(),
        ),
    })
}

/// The chain (certificate, then its chain) and key the data plane serves for `arn`, if it
/// names an `ISSUED` certificate ([`wharf_core::lb_plane::CertificateSource`]).
pub fn material(acm: &Acm, arn: &str) -> Option<CertificateMaterial> {
    let record = match load_by_arn(acm, arn) {
        Ok(found) => found?,
        Err(e) => {
            tracing::warn!(error = %e, arn, "cannot read certificate");
            return None;
        }
    };
    if status(&record, acm.clock.now()) != "ISSUED" {
        return None;
    }
    let mut chain_pem = record.certificate_pem.clone();
    if !chain_pem.ends_with('\n') {
        chain_pem.push('\n');
    }
    chain_pem.push_str(&record.chain_pem);
    Some(CertificateMaterial {
        chain_pem,
        key_pem: record.private_key_pem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use wharf_core::ids::RandomIds;
    use wharf_core::lb_plane::CertificateSource;
    use wharf_core::{Blob, CertificateUsers, FakeClock};
    use wharf_store::Store;

    const NOW: i64 = 1_700_000_000_000;

    /// Certificate users the test sets.
    #[derive(Default)]
    struct Users(Mutex<Vec<String>>);

    impl CertificateUsers for Users {
        fn users(&self, _arn: &str) -> Result<Vec<String>, String> {
            Ok(self.0.lock().unwrap().clone())
        }
    }

    fn setup() -> (tempfile::TempDir, Acm, Arc<Users>, RequestContext) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("state.db")).unwrap());
        let users = Arc::new(Users::default());
        let acm = Acm::new(
            store,
            Arc::new(RandomIds),
            Arc::new(FakeClock::new(Timestamp::from_millis(NOW))),
            dir.path(),
        )
        .with_users(users.clone());
        let ctx =
            RequestContext::for_tests("us-east-1", "123456789012", Timestamp::from_millis(NOW));
        (dir, acm, users, ctx)
    }

    fn request_ec(acm: &Acm, ctx: &RequestContext, domain: &str, sans: &[&str]) -> String {
        request(
            acm,
            ctx,
            RequestCertificateRequest {
                domain_name: domain.into(),
                validation_method: Some("DNS".into()),
                subject_alternative_names: Some(sans.iter().map(|s| s.to_string()).collect()),
                key_algorithm: Some("EC_prime256v1".into()),
                ..RequestCertificateRequest::default()
            },
        )
        .unwrap()
        .certificate_arn
        .unwrap()
    }

    #[test]
    fn requested_certificates_are_issued_at_once() {
        let (dir, acm, _, ctx) = setup();
        let arn = request_ec(&acm, &ctx, "example.com", &["*.example.com", "example.com"]);
        assert!(arn.starts_with("arn:aws:acm:us-east-1:123456789012:certificate/"));
        assert!(dir.path().join("ca.pem").exists());
        let d = describe(&acm, &ctx, &arn).unwrap().certificate.unwrap();
        assert_eq!(d.status.as_deref(), Some("ISSUED"));
        assert_eq!(d.r#type.as_deref(), Some("AMAZON_ISSUED"));
        assert_eq!(
            d.subject_alternative_names.unwrap(),
            vec!["example.com", "*.example.com"]
        );
        assert_eq!(d.subject.as_deref(), Some("CN=example.com"));
        assert_eq!(d.issuer.as_deref(), Some("wharf"));
        assert_eq!(d.key_algorithm.as_deref(), Some("EC-prime256v1"));
        assert_eq!(d.in_use_by, Some(vec![]));
        let dvo = d.domain_validation_options.unwrap();
        assert_eq!(dvo.len(), 2);
        assert_eq!(dvo[0].validation_status.as_deref(), Some("SUCCESS"));
        let rr = dvo[0].resource_record.clone().unwrap();
        assert_eq!(rr.r#type, "CNAME");
        assert!(rr.name.ends_with(".example.com."), "{}", rr.name);
        assert!(rr.value.ends_with(".acm-validations.aws."), "{}", rr.value);
        // example.com and *.example.com share one record, as in ACM.
        assert_eq!(dvo[1].resource_record, Some(rr));

        let got = get(&acm, &ctx, &arn).unwrap();
        assert!(got.certificate.unwrap().contains("BEGIN CERTIFICATE"));
        assert_eq!(
            got.certificate_chain.unwrap(),
            std::fs::read_to_string(dir.path().join("ca.pem")).unwrap()
        );
        let material = acm.certificate(&arn).unwrap();
        assert_eq!(material.chain_pem.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(material.key_pem.contains("PRIVATE KEY"));
        assert!(acm
            .certificate("arn:aws:acm:us-east-1:123456789012:certificate/nope")
            .is_none());
    }

    #[test]
    fn default_is_rsa_2048_and_listed_by_default() {
        let (_dir, acm, _, ctx) = setup();
        let rsa = request(
            &acm,
            &ctx,
            RequestCertificateRequest {
                domain_name: "rsa.example.com".into(),
                ..RequestCertificateRequest::default()
            },
        )
        .unwrap()
        .certificate_arn
        .unwrap();
        let ec = request_ec(&acm, &ctx, "ec.example.com", &[]);
        let d = describe(&acm, &ctx, &rsa).unwrap().certificate.unwrap();
        assert_eq!(d.key_algorithm.as_deref(), Some("RSA-2048"));
        assert_eq!(
            d.domain_validation_options.unwrap()[0]
                .validation_method
                .as_deref(),
            Some("EMAIL")
        );
        let listed: Vec<String> = list(&acm, &ctx, ListCertificatesRequest::default())
            .unwrap()
            .certificate_summary_list
            .unwrap()
            .into_iter()
            .filter_map(|s| s.certificate_arn)
            .collect();
        assert_eq!(listed, vec![rsa.clone()]);
        let all = list(
            &acm,
            &ctx,
            ListCertificatesRequest {
                includes: Some(Filters {
                    key_types: Some(vec!["RSA_2048".into(), "EC_prime256v1".into()]),
                    ..Filters::default()
                }),
                max_items: Some(1),
                ..ListCertificatesRequest::default()
            },
        )
        .unwrap();
        assert_eq!(all.certificate_summary_list.unwrap().len(), 1);
        let next = all.next_token.unwrap();
        let rest = list(
            &acm,
            &ctx,
            ListCertificatesRequest {
                includes: Some(Filters {
                    key_types: Some(vec!["RSA_2048".into(), "EC_prime256v1".into()]),
                    ..Filters::default()
                }),
                next_token: Some(next),
                ..ListCertificatesRequest::default()
            },
        )
        .unwrap();
        assert_eq!(rest.certificate_summary_list.unwrap().len(), 1);
        assert!(rest.next_token.is_none());
        let _ = ec;
    }

    #[test]
    fn idempotency_token_returns_the_same_certificate() {
        let (_dir, acm, _, ctx) = setup();
        let req = RequestCertificateRequest {
            domain_name: "a.example.com".into(),
            idempotency_token: Some("tok1".into()),
            key_algorithm: Some("EC_prime256v1".into()),
            ..RequestCertificateRequest::default()
        };
        let a = request(&acm, &ctx, req.clone()).unwrap().certificate_arn;
        let b = request(&acm, &ctx, req).unwrap().certificate_arn;
        assert_eq!(a, b);
    }

    #[test]
    fn bad_requests_are_refused() {
        let (_dir, acm, _, ctx) = setup();
        for bad in [
            "localhost",
            "-a.example.com",
            "a..example.com",
            "a_b.example.com",
        ] {
            let err = request(
                &acm,
                &ctx,
                RequestCertificateRequest {
                    domain_name: bad.into(),
                    ..RequestCertificateRequest::default()
                },
            )
            .unwrap_err();
            assert!(matches!(err, Error::ValidationException(_)), "{bad}: {err}");
        }
        let err = request(
            &acm,
            &ctx,
            RequestCertificateRequest {
                domain_name: "a.example.com".into(),
                key_algorithm: Some("EC_secp521r1".into()),
                ..RequestCertificateRequest::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, Error::ValidationException(_)));
    }

    #[test]
    fn import_describe_reimport_and_delete() {
        let (_dir, acm, users, ctx) = setup();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["imported.example.com".to_string()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "imported.example.com");
        let cert = params.self_signed(&key).unwrap();
        let arn = import(
            &acm,
            &ctx,
            ImportCertificateRequest {
                certificate: Blob(cert.pem().into_bytes()),
                private_key: Blob(key.serialize_pem().into_bytes()),
                tags: Some(vec![Tag {
                    key: "env".into(),
                    value: Some("dev".into()),
                }]),
                ..ImportCertificateRequest::default()
            },
        )
        .unwrap()
        .certificate_arn
        .unwrap();
        let d = describe(&acm, &ctx, &arn).unwrap().certificate.unwrap();
        assert_eq!(d.r#type.as_deref(), Some("IMPORTED"));
        assert_eq!(d.domain_name.as_deref(), Some("imported.example.com"));
        assert!(d.domain_validation_options.is_none());
        assert!(d.imported_at.is_some());

        // A key that is not the certificate's.
        let other = rcgen::KeyPair::generate().unwrap();
        let err = import(
            &acm,
            &ctx,
            ImportCertificateRequest {
                certificate: Blob(cert.pem().into_bytes()),
                private_key: Blob(other.serialize_pem().into_bytes()),
                ..ImportCertificateRequest::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::ValidationException(inspect::KEY_MISMATCH.into())
        );

        // Re-import keeps the ARN and the tags.
        let again = import(
            &acm,
            &ctx,
            ImportCertificateRequest {
                certificate_arn: Some(arn.clone()),
                certificate: Blob(cert.pem().into_bytes()),
                private_key: Blob(key.serialize_pem().into_bytes()),
                ..ImportCertificateRequest::default()
            },
        )
        .unwrap();
        assert_eq!(again.certificate_arn.as_deref(), Some(arn.as_str()));
        assert_eq!(list_tags(&acm, &ctx, &arn).unwrap().tags.unwrap().len(), 1);

        users.0.lock().unwrap().push("arn:listener".into());
        assert!(matches!(
            delete(&acm, &ctx, &arn),
            Err(Error::ResourceInUseException(_))
        ));
        assert_eq!(
            describe(&acm, &ctx, &arn)
                .unwrap()
                .certificate
                .unwrap()
                .in_use_by,
            Some(vec!["arn:listener".to_string()])
        );
        users.0.lock().unwrap().clear();
        delete(&acm, &ctx, &arn).unwrap();
        assert!(matches!(
            describe(&acm, &ctx, &arn),
            Err(Error::ResourceNotFoundException(_))
        ));
    }

    #[test]
    fn tags_and_foreign_arns() {
        let (_dir, acm, _, ctx) = setup();
        let arn = request_ec(&acm, &ctx, "t.example.com", &[]);
        add_tags(
            &acm,
            &ctx,
            &arn,
            &[
                Tag {
                    key: "a".into(),
                    value: Some("1".into()),
                },
                Tag {
                    key: "b".into(),
                    value: None,
                },
            ],
        )
        .unwrap();
        remove_tags(
            &acm,
            &ctx,
            &arn,
            &[Tag {
                key: "a".into(),
                value: Some("2".into()),
            }],
        )
        .unwrap();
        assert_eq!(list_tags(&acm, &ctx, &arn).unwrap().tags.unwrap().len(), 2);
        remove_tags(
            &acm,
            &ctx,
            &arn,
            &[Tag {
                key: "a".into(),
                value: None,
            }],
        )
        .unwrap();
        assert_eq!(list_tags(&acm, &ctx, &arn).unwrap().tags.unwrap().len(), 1);
        assert!(matches!(
            add_tags(
                &acm,
                &ctx,
                &arn,
                &[Tag {
                    key: "aws:x".into(),
                    value: None
                }]
            ),
            Err(Error::InvalidTagException(_))
        ));
        let other =
            RequestContext::for_tests("eu-west-1", "123456789012", Timestamp::from_millis(NOW));
        assert!(matches!(
            describe(&acm, &other, &arn),
            Err(Error::ResourceNotFoundException(_))
        ));
    }
}
