//! AWS Certificate Manager as HTTPS load balancers need it: certificates requested from ACM
//! (issued at once by wharf's local certificate authority, with DNS validation shown as
//! `SUCCESS`), imported certificates, and the certificates' keys for the data plane
//! ([`wharf_core::lb_plane::CertificateSource`]).
//!
//! Modules, bottom to top:
//! - `generated`: botocore-derived wire types and the `AcmApi` trait (never stored)
//! - `records`: the stored certificate records, their table ([`records::TABLES`]) and keys
//! - `ca`: the local certificate authority (`<data-dir>/ca.pem`, `<data-dir>/ca-key.pem`)
//! - `inspect`: reading certificates and checking imported ones (pure)
//! - `errors`: store and certificate authority failures as `InternalFailure`
//! - `certificates`: the operations, and the certificate material the data plane serves
//! - `lib.rs`: the [`Acm`] service (with its CA, loaded on first use) and one-line delegation
//!   of each API operation and of [`CertificateSource`]
//!
//! ACM is regional: certificates are keyed `<account>/<region>/<id>` and an ARN from another
//! account or region is not found. Which load balancers use a certificate on a listener
//! (`InUseBy`, and the refusal to delete one in use) comes from Elastic Load Balancing through
//! [`wharf_core::CertificateUsers`].

pub mod ca;
pub mod certificates;
pub mod errors;
pub mod generated;
pub mod inspect;
pub mod records;

use ca::{CaError, LocalCa};
use generated::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use wharf_core::lb_plane::{CertificateMaterial, CertificateSource};
use wharf_core::{CertificateUsers, Clock, IdGen, NoCertificateUsers, RequestContext};
use wharf_store::Store;

/// The ACM service.
pub struct Acm {
    pub(crate) store: Arc<Store>,
    pub(crate) ids: Arc<dyn IdGen>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Where the CA's files live.
    data_dir: PathBuf,
    /// The CA, loaded (or created) on first use.
    ca: Mutex<Option<Arc<LocalCa>>>,
    /// Who uses a certificate (load balancers, through their HTTPS listeners).
    pub(crate) users: Arc<dyn CertificateUsers>,
}

impl Acm {
    /// ACM over `store`, making certificate ids with `ids`, reading the time (for the status of
    /// expired certificates) from `clock`, and keeping its certificate authority in `data_dir`.
    pub fn new(
        store: Arc<Store>,
        ids: Arc<dyn IdGen>,
        clock: Arc<dyn Clock>,
        data_dir: &Path,
    ) -> Self {
        Self {
            store,
            ids,
            clock,
            data_dir: data_dir.to_path_buf(),
            ca: Mutex::new(None),
            users: Arc::new(NoCertificateUsers),
        }
    }

    /// The same service asking `users` which resources use a certificate.
    pub fn with_users(mut self, users: Arc<dyn CertificateUsers>) -> Self {
        self.users = users;
        self
    }

    /// The path of the CA certificate users trust (`<data-dir>/ca.pem`); it exists once the
    /// first certificate was requested (or after [`Acm::certificate_authority_pem`]).
    pub fn ca_path(&self) -> PathBuf {
        self.data_dir.join(ca::CA_CERT_FILE)
    }

    /// The local CA, created now if it does not exist yet.
    pub(crate) fn local_ca(&self) -> Result<Arc<LocalCa>, CaError> {
        let mut slot = self.ca.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ca) = slot.as_ref() {
            return Ok(ca.clone());
        }
        let ca = Arc::new(LocalCa::load_or_create(
            &self.data_dir,
            self.clock.now().millis,
        )?);
        *slot = Some(ca.clone());
        Ok(ca)
    }

    /// The CA certificate (PEM), creating the CA if needed.
    pub fn certificate_authority_pem(&self) -> Result<String, CaError> {
        Ok(self.local_ca()?.certificate_pem().to_string())
    }
}

impl AcmApi for Arc<Acm> {
    fn import_certificate(
        &self,
        ctx: &RequestContext,
        input: ImportCertificateRequest,
    ) -> Result<ImportCertificateResponse, Error> {
        certificates::import(self, ctx, input)
    }

    fn request_certificate(
        &self,
        ctx: &RequestContext,
        input: RequestCertificateRequest,
    ) -> Result<RequestCertificateResponse, Error> {
        certificates::request(self, ctx, input)
    }

    fn describe_certificate(
        &self,
        ctx: &RequestContext,
        input: DescribeCertificateRequest,
    ) -> Result<DescribeCertificateResponse, Error> {
        certificates::describe(self, ctx, &input.certificate_arn)
    }

    fn list_certificates(
        &self,
        ctx: &RequestContext,
        input: ListCertificatesRequest,
    ) -> Result<ListCertificatesResponse, Error> {
        certificates::list(self, ctx, input)
    }

    fn get_certificate(
        &self,
        ctx: &RequestContext,
        input: GetCertificateRequest,
    ) -> Result<GetCertificateResponse, Error> {
        certificates::get(self, ctx, &input.certificate_arn)
    }

    fn delete_certificate(
        &self,
        ctx: &RequestContext,
        input: DeleteCertificateRequest,
    ) -> Result<(), Error> {
        certificates::delete(self, ctx, &input.certificate_arn)
    }

    fn add_tags_to_certificate(
        &self,
        ctx: &RequestContext,
        input: AddTagsToCertificateRequest,
    ) -> Result<(), Error> {
        certificates::add_tags(self, ctx, &input.certificate_arn, &input.tags)
    }

    fn remove_tags_from_certificate(
        &self,
        ctx: &RequestContext,
        input: RemoveTagsFromCertificateRequest,
    ) -> Result<(), Error> {
        certificates::remove_tags(self, ctx, &input.certificate_arn, &input.tags)
    }

    fn list_tags_for_certificate(
        &self,
        ctx: &RequestContext,
        input: ListTagsForCertificateRequest,
    ) -> Result<ListTagsForCertificateResponse, Error> {
        certificates::list_tags(self, ctx, &input.certificate_arn)
    }
}

impl CertificateSource for Acm {
    fn certificate(&self, arn: &str) -> Option<CertificateMaterial> {
        certificates::material(self, arn)
    }
}
