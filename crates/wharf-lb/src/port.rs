//! What one open port serves: the listeners of every load balancer on it ([`PortTable`], swapped
//! whole by `apply`), how a request or TLS connection picks one (`Host` / SNI), and the port's
//! own state every connection on it shares ([`PortShared`]).

use crate::config::Shared;
use crate::metrics::LbCounters;
use crate::routing::Rule;
use crate::tls::TlsListener;
use arc_swap::ArcSwap;
use http::HeaderValue;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One load balancer's listener on a port.
#[derive(Debug)]
pub(crate) struct LbListener {
    /// The load balancer's `DNSName`, lower-case: matched against `Host` / SNI.
    pub(crate) dns_name: String,
    /// `idle_timeout.timeout_seconds`: client connections and the target response timeout.
    pub(crate) idle_timeout: Duration,
    /// Rules in evaluation order, the default rule last.
    pub(crate) rules: Vec<Rule>,
    /// HTTPS: certificates and TLS versions.
    pub(crate) tls: Option<TlsListener>,
    /// The load balancer's metric counters (`None` with metrics off).
    pub(crate) metrics: Option<Arc<LbCounters>>,
}

/// The listeners on one port.
#[derive(Debug, Default)]
pub(crate) struct PortTable {
    pub(crate) http: Vec<Arc<LbListener>>,
    pub(crate) https: Vec<Arc<LbListener>>,
}

impl PortTable {
    /// The listener for a request: the load balancer whose `DNSName` is `name`, for TLS one
    /// whose certificates cover `name`, else the first.
    pub(crate) fn pick(&self, tls: bool, name: Option<&str>) -> Option<&Arc<LbListener>> {
        let list = if tls { &self.https } else { &self.http };
        if list.len() <= 1 {
            return list.first();
        }
        if let Some(name) = name {
            if let Some(l) = list.iter().find(|l| l.dns_name.eq_ignore_ascii_case(name)) {
                return Some(l);
            }
            if tls {
                let lower = name.to_ascii_lowercase();
                if let Some(l) = list
                    .iter()
                    .find(|l| l.tls.as_ref().is_some_and(|t| t.covers(&lower)))
                {
                    return Some(l);
                }
            }
        }
        list.first()
    }

    /// The idle timeout of the port's first listener (60 s when it has none).
    pub(crate) fn idle_timeout(&self) -> Duration {
        self.http
            .first()
            .or(self.https.first())
            .map_or(Duration::from_secs(60), |l| l.idle_timeout)
    }
}

/// One open port.
#[derive(Debug)]
pub(crate) struct PortShared {
    pub(crate) port: u16,
    /// The port as an `X-Forwarded-Port` value.
    pub(crate) port_value: HeaderValue,
    /// The routing table, swapped by `apply`.
    pub(crate) table: ArcSwap<PortTable>,
    pub(crate) shared: Arc<Shared>,
    /// Cancelled when the port closes: stop accepting, finish requests, close connections.
    pub(crate) cancel: CancellationToken,
}
