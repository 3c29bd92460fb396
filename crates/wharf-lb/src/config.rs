//! The data plane's settings ([`PlaneConfig`]: what the ELBv2 API does not carry) and what every
//! port, connection and request of the plane shares ([`Shared`]: the settings, the clock, the
//! connector to targets, the HTTP server builders and the connection limit), built once by
//! [`LoadBalancerPlane::new`](crate::LoadBalancerPlane::new).

use crate::upstream::Connector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use wharf_core::Clock;

/// Settings of the data plane that the ELBv2 API does not carry.
#[derive(Debug, Clone)]
pub struct PlaneConfig {
    /// Address every listener binds (default 127.0.0.1; `0.0.0.0` to serve other machines).
    pub bind_address: IpAddr,
    /// A client must send a complete request head within this (default 60 s); it also bounds
    /// how long a keep-alive connection waits for its next request.
    pub header_read_timeout: Duration,
    /// Largest request head accepted (default 64 KiB; larger heads get 431).
    pub max_header_bytes: usize,
    /// Most client connections open at once across all listeners (default 50,000); further
    /// connections are closed at once.
    pub max_connections: usize,
    /// Connection timeout to a target (default 10 s, as ALB); beyond it the request gets 504.
    pub target_connect_timeout: Duration,
    /// How long an idle keep-alive connection to a target is kept for reuse (default 4 s:
    /// shorter than common application servers' own keep-alive timeouts, e.g. uvicorn's 5 s, so
    /// the load balancer never reuses a connection the target is closing).
    pub target_keep_alive: Duration,
    /// Most idle keep-alive connections kept per target (default 1024).
    pub max_idle_per_target: usize,
    /// Count requests, answers, response times, connections and bytes for the load balancers'
    /// `AWS/ApplicationELB` metrics (default on; off for the benchmark's comparison).
    pub metrics: bool,
}

impl Default for PlaneConfig {
    fn default() -> Self {
        Self {
            bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            header_read_timeout: Duration::from_secs(60),
            max_header_bytes: 64 * 1024,
            max_connections: 50_000,
            target_connect_timeout: Duration::from_secs(10),
            target_keep_alive: Duration::from_secs(4),
            max_idle_per_target: 1024,
            metrics: true,
        }
    }
}

/// What every connection and request of the plane shares.
pub(crate) struct Shared {
    pub(crate) config: PlaneConfig,
    pub(crate) clock: Arc<dyn Clock>,
    /// Opens connections to targets (pooled per target, see `upstream.rs`).
    pub(crate) connector: Connector,
    /// Plain HTTP: HTTP/1.1 or prior-knowledge h2c.
    pub(crate) auto: auto::Builder<TokioExecutor>,
    /// TLS without ALPN `h2`.
    pub(crate) h1_only: auto::Builder<TokioExecutor>,
    /// TLS with ALPN `h2`.
    pub(crate) h2_only: auto::Builder<TokioExecutor>,
    /// Permits for client connections.
    pub(crate) connections: Arc<Semaphore>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// An HTTP server connection builder with the plane's limits and timeouts.
pub(crate) fn server_builder(config: &PlaneConfig) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(8192))
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX))
        // No RFC 8441 extended CONNECT: browsers then open WebSockets over HTTP/1.1, which
        // the proxy upgrades.
        .max_concurrent_streams(128);
    b
}
