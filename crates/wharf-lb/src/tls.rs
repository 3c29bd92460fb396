//! TLS for HTTPS listeners and HTTPS targets (rustls with the ring provider).
//!
//! - Certificates come from the [`CertificateSource`] by ARN at `apply` time, are parsed once
//!   and cached by ARN (re-parsed only when the material changes); a certificate that is missing,
//!   does not parse or does not match its key fails the `apply`, naming the ARN.
//! - Each HTTPS listener gets a rustls `ServerConfig` whose resolver picks, by SNI, the first of
//!   the listener's certificates whose DNS names (subject alternative names, `*.` wildcards for
//!   one label) cover the server name, else the default (first) certificate. ALPN offers `h2`
//!   and `http/1.1`.
//! - The listener's `ssl_policy` chooses protocol versions: `...TLS13-1-3...` policies allow
//!   TLS 1.3 only, other `...TLS13...` policies TLS 1.2 and 1.3, the older policies (e.g.
//!   `ELBSecurityPolicy-2016-08`, `...TLS-1-2-...`) TLS 1.2 (rustls has no TLS 1.0 / 1.1).
//!   Cipher suites are rustls's safe defaults whatever the policy.
//! - Targets and health checks over HTTPS do not verify the target's certificate, as ALB.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme, SupportedProtocolVersion,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::collections::HashMap;
use std::sync::Arc;
use wharf_core::lb_plane::{CertificateMaterial, CertificateSource};

/// The crypto provider every TLS config uses.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A parsed certificate with the DNS names it covers (lower-case).
#[derive(Debug)]
pub(crate) struct LoadedCert {
    key: Arc<CertifiedKey>,
    names: Vec<String>,
}

impl LoadedCert {
    /// Parses PEM material: the certificate chain and its private key, which must match.
    pub(crate) fn parse(
        arn: &str,
        m: &CertificateMaterial,
        provider: &CryptoProvider,
    ) -> Result<Self, String> {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(m.chain_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("certificate {arn} does not parse: {e}"))?;
        let Some(leaf) = chain.first() else {
            return Err(format!("certificate {arn} holds no certificate"));
        };
        let names = match webpki::EndEntityCert::try_from(leaf) {
            Ok(cert) => cert
                .valid_dns_names()
                .map(|n| n.to_ascii_lowercase())
                .collect(),
            Err(e) => return Err(format!("certificate {arn} does not parse: {e}")),
        };
        let key = PrivateKeyDer::from_pem_slice(m.key_pem.as_bytes())
            .map_err(|e| format!("the private key of certificate {arn} does not parse: {e}"))?;
        let key = CertifiedKey::from_der(chain, key, provider)
            .map_err(|e| format!("certificate {arn} does not match its private key: {e}"))?;
        Ok(Self {
            key: Arc::new(key),
            names,
        })
    }

    /// Whether the certificate covers `server_name` (lower-case).
    pub(crate) fn covers(&self, server_name: &str) -> bool {
        self.names.iter().any(|n| match n.strip_prefix("*.") {
            Some(suffix) => server_name
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
            None => n == server_name,
        })
    }
}

/// Certificates by ARN, reused across `apply` calls.
#[derive(Debug, Default)]
pub(crate) struct CertCache {
    by_arn: HashMap<String, (CertificateMaterial, Arc<LoadedCert>)>,
}

impl CertCache {
    /// The certificate `arn` names, from the cache when its material has not changed.
    pub(crate) fn get(
        &mut self,
        arn: &str,
        source: &dyn CertificateSource,
        provider: &CryptoProvider,
    ) -> Result<Arc<LoadedCert>, String> {
        let material = source
            .certificate(arn)
            .ok_or_else(|| format!("certificate {arn} is not found or not issued"))?;
        if let Some((cached, loaded)) = self.by_arn.get(arn) {
            if *cached == material {
                return Ok(Arc::clone(loaded));
            }
        }
        let loaded = Arc::new(LoadedCert::parse(arn, &material, provider)?);
        self.by_arn
            .insert(arn.to_string(), (material, Arc::clone(&loaded)));
        Ok(loaded)
    }

    /// Forgets certificates no listener uses any more.
    pub(crate) fn retain(&mut self, used: &std::collections::HashSet<String>) {
        self.by_arn.retain(|arn, _| used.contains(arn));
    }
}

/// Chooses the listener's certificate by SNI.
#[derive(Debug)]
struct SniResolver {
    certs: Vec<Arc<LoadedCert>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = hello
            .server_name()
            .map(str::to_ascii_lowercase)
            .and_then(|sni| self.certs.iter().find(|c| c.covers(&sni)))
            .or_else(|| self.certs.first())?;
        Some(Arc::clone(&chosen.key))
    }
}

/// An HTTPS listener's TLS side.
#[derive(Debug)]
pub(crate) struct TlsListener {
    pub(crate) config: Arc<ServerConfig>,
    certs: Vec<Arc<LoadedCert>>,
}

impl TlsListener {
    /// A server config over `certs` (the default first) with the policy's versions.
    pub(crate) fn new(
        certs: Vec<Arc<LoadedCert>>,
        policy: Option<&str>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, String> {
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions(policy))
            .map_err(|e| format!("tls policy {policy:?}: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SniResolver {
                certs: certs.clone(),
            }));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            certs,
        })
    }

    /// Whether one of the listener's certificates covers `server_name` (lower-case).
    pub(crate) fn covers(&self, server_name: &str) -> bool {
        self.certs.iter().any(|c| c.covers(server_name))
    }
}

/// The protocol versions of an ELB security policy.
pub(crate) fn versions(policy: Option<&str>) -> &'static [&'static SupportedProtocolVersion] {
    static TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
    static TLS12_13: &[&SupportedProtocolVersion] =
        &[&rustls::version::TLS13, &rustls::version::TLS12];
    static TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
    match policy {
        None => TLS12_13,
        Some(p) => {
            let p = p.to_ascii_uppercase();
            if p.contains("TLS13-1-3") {
                TLS13_ONLY
            } else if p.contains("TLS13") {
                TLS12_13
            } else {
                TLS12
            }
        }
    }
}

/// Accepts any server certificate: ALB does not verify its targets.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client config for HTTPS targets and health checks: no certificate verification (the
/// caller sets ALPN).
pub(crate) fn target_client_config(provider: Arc<CryptoProvider>) -> ClientConfig {
    let verifier = Arc::new(NoVerification(Arc::clone(&provider)));
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_map_to_versions() {
        assert_eq!(
            versions(Some("ELBSecurityPolicy-TLS13-1-3-2021-06")).len(),
            1
        );
        assert_eq!(
            versions(Some("ELBSecurityPolicy-TLS13-1-2-2021-06")).len(),
            2
        );
        assert_eq!(versions(None).len(), 2);
        let old = versions(Some("ELBSecurityPolicy-2016-08"));
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].version, rustls::ProtocolVersion::TLSv1_2);
    }

    #[test]
    fn names_cover_exact_and_one_label_wildcards() {
        let c = LoadedCert {
            key: Arc::new(CertifiedKey::new(vec![], Arc::new(NoKey))),
            names: vec!["app.example.com".into(), "*.svc.example.com".into()],
        };
        assert!(c.covers("app.example.com"));
        assert!(c.covers("a.svc.example.com"));
        assert!(!c.covers("a.b.svc.example.com"));
        assert!(!c.covers("svc.example.com"));
        assert!(!c.covers("other.example.com"));
    }

    #[derive(Debug)]
    struct NoKey;
    impl rustls::sign::SigningKey for NoKey {
        fn choose_scheme(&self, _: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
            None
        }
        fn algorithm(&self) -> rustls::SignatureAlgorithm {
            rustls::SignatureAlgorithm::ECDSA
        }
    }
}
