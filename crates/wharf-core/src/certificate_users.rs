//! Which resources use an ACM certificate. ACM shows them as `InUseBy` (for a certificate on
//! an HTTPS listener AWS lists the load balancer's ARN) and refuses to delete a certificate
//! while the list is not empty; the listeners are kept by Elastic Load Balancing, which
//! implements this trait, so ACM never reads ELBv2's tables and the two crates stay independent.

/// Lookup of a certificate's users.
pub trait CertificateUsers: Send + Sync + 'static {
    /// ARNs of the resources (load balancers, through their HTTPS listeners) that use
    /// certificate `certificate_arn`, as a default certificate or as an extra (SNI) one;
    /// sorted, without duplicates.
    fn users(&self, certificate_arn: &str) -> Result<Vec<String>, String>;
}

/// Nobody uses any certificate: ACM on its own, before a load balancer is wired in.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCertificateUsers;

impl CertificateUsers for NoCertificateUsers {
    fn users(&self, _certificate_arn: &str) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }
}
