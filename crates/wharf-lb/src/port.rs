//! What one open port serves: the listeners of every load balancer on it ([`PortTable`], swapped
//! whole by `apply`), how a request or TLS connection picks one (`Host` / SNI), and the port's
//! own state every connection on it shares ([`PortShared`]).

use crate::config::Shared;
use crate::metrics::LbCounters;
use crate::routing::Rule;
use crate::tls::TlsListener;
use arc_swap::ArcSwap;
use http::HeaderValue;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wharf_core::ipv4::Ipv4Net;
use wharf_core::packet_filter::FilterRule;

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
    /// Who its security groups admit to this port (`None`: everyone).
    pub(crate) clients: Option<ClientFilter>,
}

impl LbListener {
    /// Whether a client at `ip` may use this listener.
    pub(crate) fn admits(&self, ip: IpAddr) -> bool {
        self.clients.as_ref().is_none_or(|c| c.admits(ip))
    }
}

/// The client addresses a load balancer's security groups admit to one listener port: the
/// ranges of every ingress rule that admits TCP to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ClientFilter {
    ranges: Vec<Ipv4Net>,
}

impl ClientFilter {
    /// The filter of port `port` from the load balancer's ingress rules.
    pub(crate) fn for_port(rules: &[FilterRule], port: u16) -> Self {
        let mut ranges: Vec<Ipv4Net> = rules
            .iter()
            .filter(|r| r.traffic.admits_tcp(port))
            .flat_map(|r| r.peers.iter().copied())
            .collect();
        ranges.sort_by_key(|n| (n.prefix, n.base));
        ranges.dedup();
        Self { ranges }
    }

    /// Whether a client at `ip` is admitted (IPv6 clients only as IPv4-mapped addresses: the
    /// groups' IPv6 rules are not served).
    pub(crate) fn admits(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(v4) => self.ranges.iter().any(|n| n.contains(v4)),
            IpAddr::V6(_) => false,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_core::packet_filter::Traffic;

    fn rule(traffic: Traffic, peers: &[&str]) -> FilterRule {
        FilterRule {
            traffic,
            peers: peers.iter().map(|p| Ipv4Net::parse(p).unwrap()).collect(),
        }
    }

    #[test]
    fn a_port_admits_the_ranges_of_the_rules_covering_it() {
        let rules = [
            rule(Traffic::Tcp { from: 80, to: 80 }, &["127.0.0.1/32"]),
            rule(Traffic::Tcp { from: 443, to: 443 }, &["0.0.0.0/0"]),
            rule(Traffic::Udp { from: 80, to: 80 }, &["10.0.0.0/8"]),
            rule(Traffic::All, &["192.168.1.0/24"]),
        ];
        let on_80 = ClientFilter::for_port(&rules, 80);
        assert!(on_80.admits("127.0.0.1".parse().unwrap()));
        assert!(on_80.admits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(on_80.admits("192.168.1.7".parse().unwrap()));
        assert!(!on_80.admits("127.0.0.2".parse().unwrap()));
        assert!(
            !on_80.admits("10.1.2.3".parse().unwrap()),
            "a UDP rule admits no TCP client"
        );
        assert!(!on_80.admits("::1".parse().unwrap()));
        assert!(ClientFilter::for_port(&rules, 443).admits("203.0.113.9".parse().unwrap()));
        assert!(!ClientFilter::for_port(&[], 80).admits("127.0.0.1".parse().unwrap()));
    }
}
