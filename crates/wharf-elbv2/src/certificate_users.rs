//! Which load balancers use an ACM certificate on one of their HTTPS listeners, for ACM's
//! `InUseBy` (AWS lists the load balancer ARNs) and its refusal to delete a certificate in use. [`ListenerCertificates`] reads the listener records directly,
//! so ACM can be built before ELBv2 (which needs ACM to check certificates) without a cycle.

use crate::records::{StoredListener, LISTENERS};
use std::sync::Arc;
use wharf_core::{Arn, CertificateUsers};
use wharf_store::Store;

/// [`CertificateUsers`] over ELBv2's listeners.
pub struct ListenerCertificates {
    store: Arc<Store>,
}

impl ListenerCertificates {
    /// Reads the listeners kept in `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }
}

impl CertificateUsers for ListenerCertificates {
    fn users(&self, certificate_arn: &str) -> Result<Vec<String>, String> {
        // A certificate is used only in its own account and region.
        let Some(arn) = Arn::parse(certificate_arn) else {
            return Ok(Vec::new());
        };
        let scope = crate::records::scope(&arn.account, &arn.region);
        let listeners: Vec<(String, StoredListener)> = self
            .store
            .read(|tx| tx.list(LISTENERS, &scope))
            .map_err(|e| e.to_string())?;
        let mut users: Vec<String> = listeners
            .into_iter()
            .map(|(_, l)| l)
            .filter(|l| {
                l.default_certificate.as_deref() == Some(certificate_arn)
                    || l.certificates.iter().any(|c| c == certificate_arn)
            })
            .map(|l| l.lb_arn)
            .collect();
        users.sort();
        users.dedup();
        Ok(users)
    }
}
