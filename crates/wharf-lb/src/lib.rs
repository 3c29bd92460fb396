//! The load balancer data plane: wharf's Application Load Balancer on the request path.
//!
//! The ELBv2 control plane hands a [`LbSnapshot`](wharf_core::lb_plane::LbSnapshot) to
//! [`LbPlane::apply`](wharf_core::lb_plane::LbPlane::apply) of [`LoadBalancerPlane`] after every
//! change; the plane then
//!
//! - **listens**: one socket per distinct listener port on the bind address (127.0.0.1 by
//!   default). Several load balancers may share a port: a plain HTTP request goes to the load
//!   balancer whose `DNSName` equals its `Host` header, a TLS connection to the one whose
//!   `DNSName` equals the SNI server name (or whose certificates cover it), otherwise to the first
//!   one. A port may even mix HTTP and HTTPS listeners: the first byte of a connection tells a
//!   TLS ClientHello (0x16) from an HTTP request line. Ports no longer used are closed; a port
//!   held by another program makes `apply` fail naming the port, and nothing changes;
//! - **routes**: each listener's rules in priority order with AWS's condition semantics
//!   (`path-pattern`, `host-header`, `http-header`, `http-request-method`, `query-string`,
//!   `source-ip`), then forwards (weighted across target groups, with group stickiness),
//!   redirects or answers a fixed response (`routing.rs`);
//! - **proxies** HTTP/1.1 and HTTP/2 (ALPN `h2` on HTTPS, prior-knowledge h2c on HTTP) to HTTP/1.1
//!   keep-alive connection pools per target (`upstream.rs`), WebSocket upgrades included, adding
//!   `X-Forwarded-For` / `-Proto` / `-Port` and `X-Amzn-Trace-Id`, answering 502 / 503 / 504 with
//!   ALB's bodies (`proxy.rs`);
//! - **health-checks** every target of every target group a listener uses and keeps AWS's target
//!   states (`initial`, `healthy`, `unhealthy`, `unused`, `draining`) with their reason codes
//!   (`health.rs`, `health_settings.rs`, `target_states.rs`); traffic goes to healthy targets; when none is healthy, to every
//!   unhealthy one (fail open, as ALB); a target still `initial` never gets traffic;
//! - **drains** deregistered targets: no new requests; requests and WebSocket connections in
//!   flight go on until `deregistration_delay`, then are cut; a target with nothing in flight is
//!   reported by [`LbPlane::drained`](wharf_core::lb_plane::LbPlane::drained) at once;
//! - **counts** requests, answers (the load balancer's and the targets'), target response
//!   times, connections and bytes per load balancer and target group on sharded per-thread
//!   atomics, and publishes them as `AWS/ApplicationELB` metrics once per metric period
//!   ([`LoadBalancerPlane::publish_metrics`], `metrics.rs`; off with [`PlaneConfig::metrics`]);
//! - **terminates TLS** with rustls: per-listener certificates from a
//!   [`CertificateSource`](wharf_core::lb_plane::CertificateSource) chosen by SNI (the first is
//!   the default), protocol versions from the listener's `ssl_policy` (`tls.rs`).
//!
//! # Modules, bottom to top
//!
//! - `pattern` (wildcards, CIDR blocks; pure), `tls` (rustls configs, certificates by SNI, TLS
//!   policies), `upstream` (connections and keep-alive pools to targets), `config`
//!   ([`PlaneConfig`] and what the whole plane shares), `metrics` (the counters and the data
//!   points built from them);
//! - `health_settings` (a health check's settings, matcher and results; pure),
//!   `target_states` (target groups at run time: target states, draining, target selection,
//!   DescribeTargetHealth reports), `health` (the health checker tasks);
//! - `routing` (listener rules compiled for the request path: conditions and actions), `port`
//!   (what an open port serves: its load balancers' listeners, picked by `Host` / SNI),
//!   `connection` (a client connection's context and activity), `body` (response bodies);
//! - `proxy` (the request path), `listener` (sockets and client connections), `plane`
//!   ([`LoadBalancerPlane`] and `apply`).
//!
//! Routing tables are swapped atomically (arc-swap): an `apply` never drops a request in
//! flight or refuses a connection on a port that stays open.
//!
//! # Ports below 1024 without root
//!
//! Linux lets only privileged processes bind ports below
//! `net.ipv4.ip_unprivileged_port_start` (1024 by default), so a listener on port 80 or 443
//! needs one of:
//!
//! - `sudo sysctl -w net.ipv4.ip_unprivileged_port_start=80` (persist it in
//!   `/etc/sysctl.d/50-wharf.conf`): every user may then bind 80 and above; the simplest choice
//!   on a developer machine;
//! - `sudo setcap cap_net_bind_service=+ep /path/to/wharf`: only the wharf binary may bind low
//!   ports (re-run after every rebuild);
//! - running wharf as root (or in a container, where port 80 is usually allowed).
//!
//! Without any of these, `apply` fails for such a port with "permission denied" naming it.
//! Listeners on ports 1024 and above need nothing; the tests use ephemeral ports.
//!
//! # Hostile input
//!
//! Each connection is its own task; a slow or malformed client affects nobody else. Request
//! heads are limited in size ([`PlaneConfig::max_header_bytes`], 431 beyond) and must arrive
//! within [`PlaneConfig::header_read_timeout`] (which also bounds how long a keep-alive
//! connection may wait for its next request). hyper answers 400 to conflicting `Content-Length`
//! values, an invalid `Transfer-Encoding` or a malformed head; a request carrying both
//! `Content-Length` and `Transfer-Encoding: chunked` is forwarded by its chunked framing with the
//! `Content-Length` removed and its connection closed after it, as ALB's default
//! ("defensive") desync mitigation does, so nothing can be smuggled behind it. The number of
//! open client connections is bounded ([`PlaneConfig::max_connections`]).

mod body;
mod config;
mod connection;
mod health;
mod health_settings;
mod listener;
mod metrics;
mod netns;
mod pattern;
mod plane;
mod port;
mod proxy;
mod routing;
mod source_address;
mod target_states;
mod tls;
mod upstream;

pub use config::PlaneConfig;
pub use plane::LoadBalancerPlane;
