//! The boundary between the Elastic Load Balancing API (the control plane, which keeps load
//! balancers, listeners, rules and target groups in the store) and the load balancer data plane
//! (which listens, routes, health-checks and drains). The control plane turns its records into a
//! [`LbSnapshot`] after every change and hands it to the data plane ([`LbPlane::apply`]); the
//! data plane reports target health back ([`LbPlane::target_health`]) for DescribeTargetHealth
//! and says when a draining target is gone ([`LbPlane::drained`]). Neither side knows the
//! other's crate. Certificates come by ARN through [`CertificateSource`].

use std::time::Duration;

/// Everything the data plane should be serving now. Applying a snapshot is idempotent and live:
/// unchanged listeners keep their sockets and connections.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LbSnapshot {
    /// Active load balancers.
    pub load_balancers: Vec<LoadBalancerSpec>,
    /// Target groups (those used by a listener or rule, and those only registered to).
    pub target_groups: Vec<TargetGroupSpec>,
}

/// A load balancer.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerSpec {
    /// Its ARN.
    pub arn: String,
    /// The `DNSName` the API returned; requests are matched to the load balancer by it (Host
    /// header / SNI) when several share a port.
    pub dns_name: String,
    /// `idle_timeout.timeout_seconds`.
    pub idle_timeout: Duration,
    /// Its Availability Zones, in order (the `AvailabilityZone` dimension of its metrics).
    pub availability_zones: Vec<String>,
    /// Its listeners.
    pub listeners: Vec<ListenerSpec>,
    /// Who may connect to its listeners: its security groups' ingress rules (a client is
    /// served when a rule admits TCP to the listener's port from its address). `None` admits
    /// everyone (security groups not enforced).
    pub client_filter: Option<Vec<crate::packet_filter::FilterRule>>,
}

/// Listener protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerProtocol {
    /// Plain HTTP/1.1 (and h2c prior knowledge).
    Http,
    /// TLS, then HTTP/1.1 or HTTP/2 by ALPN.
    Https,
}

/// A listener.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerSpec {
    /// Its ARN.
    pub arn: String,
    /// The port it listens on.
    pub port: u16,
    /// HTTP or HTTPS.
    pub protocol: ListenerProtocol,
    /// Certificate ARNs: the default first, then the SNI ones.
    pub certificate_arns: Vec<String>,
    /// The TLS policy name (e.g. `ELBSecurityPolicy-TLS13-1-2-2021-06`).
    pub ssl_policy: Option<String>,
    /// Rules in evaluation order (ascending priority); the default rule last.
    pub rules: Vec<RuleSpec>,
}

/// A rule: all conditions must match.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    /// The rule's ARN.
    pub arn: String,
    /// `None` for the listener's default rule.
    pub priority: Option<u32>,
    /// Conditions (empty for the default rule).
    pub conditions: Vec<Condition>,
    /// What to do.
    pub action: Action,
}

/// A rule condition, with AWS's matching semantics (case-insensitive host and method,
/// case-sensitive path with `*` and `?` wildcards, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Any of these path patterns.
    PathPattern(Vec<String>),
    /// Any of these host patterns.
    HostHeader(Vec<String>),
    /// Header `name` matches any of the value patterns.
    HttpHeader {
        /// Header name (case-insensitive).
        name: String,
        /// Value patterns.
        values: Vec<String>,
    },
    /// Any of these methods.
    HttpRequestMethod(Vec<String>),
    /// Any of these key/value pairs (a `None` key matches any key).
    QueryString(Vec<(Option<String>, String)>),
    /// The client address is in any of these CIDRs.
    SourceIp(Vec<String>),
}

/// A rule action.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Forward to target groups by weight.
    Forward {
        /// `(target group ARN, weight)`.
        target_groups: Vec<(String, u32)>,
        /// Group-level stickiness duration, when enabled.
        stickiness: Option<Duration>,
    },
    /// Redirect; `#{protocol}`, `#{host}`, `#{port}`, `#{path}`, `#{query}` placeholders as in
    /// AWS.
    Redirect {
        /// `HTTP`, `HTTPS` or `#{protocol}`.
        protocol: String,
        /// Host.
        host: String,
        /// Port.
        port: String,
        /// Path.
        path: String,
        /// Query.
        query: String,
        /// 301 or 302.
        status_code: u16,
    },
    /// Answer directly.
    FixedResponse {
        /// Status code.
        status_code: u16,
        /// Content type.
        content_type: Option<String>,
        /// Body.
        body: Option<String>,
    },
}

/// Load-balancing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `round_robin`.
    RoundRobin,
    /// `least_outstanding_requests`.
    LeastOutstandingRequests,
}

/// A target group's health check.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheckSpec {
    /// `HTTP` or `HTTPS`.
    pub protocol: String,
    /// `None` = the traffic port.
    pub port: Option<u16>,
    /// Path, e.g. `/health`.
    pub path: String,
    /// Between checks.
    pub interval: Duration,
    /// Per check.
    pub timeout: Duration,
    /// Consecutive successes to become healthy.
    pub healthy_threshold: u32,
    /// Consecutive failures to become unhealthy.
    pub unhealthy_threshold: u32,
    /// Matcher, e.g. `200`, `200,202`, `200-299`.
    pub matcher: String,
}

/// A target group.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetGroupSpec {
    /// Its ARN.
    pub arn: String,
    /// `HTTP` or `HTTPS` to the targets.
    pub protocol: String,
    /// Default target port.
    pub port: u16,
    /// Its health check.
    pub health_check: HealthCheckSpec,
    /// `deregistration_delay.timeout_seconds`.
    pub deregistration_delay: Duration,
    /// `load_balancing.algorithm.type`.
    pub algorithm: Algorithm,
    /// `slow_start.duration_seconds` (zero = off).
    pub slow_start: Duration,
    /// `stickiness.lb_cookie.duration_seconds` when `stickiness.enabled`.
    pub stickiness: Option<Duration>,
    /// Its targets.
    pub targets: Vec<TargetSpec>,
    /// The network namespace its VPC lives in on this machine
    /// ([`crate::subnet_network::vpc_namespace`]); connections to its targets are made from
    /// inside it when it exists (every VPC but the default one), from the machine otherwise.
    pub network_namespace: Option<String>,
    /// The address connections to its targets (requests and health checks) come from: the
    /// private address of the network interface of the load balancer that forwards to it, so
    /// the targets' security groups can admit that load balancer and nothing else. `None`
    /// lets the kernel choose (no load balancer forwards to it yet).
    pub source_address: Option<std::net::Ipv4Addr>,
}

/// A registered (or deregistering) target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    /// The IP address (target type `ip`) or instance id.
    pub id: String,
    /// Its port.
    pub port: u16,
    /// Deregistered at this instant (milliseconds since the epoch): draining, no new requests.
    pub deregistered_at_ms: Option<i64>,
}

/// A target's health as DescribeTargetHealth reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealthReport {
    /// Target id.
    pub id: String,
    /// Target port.
    pub port: u16,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining`, `unavailable`.
    pub state: String,
    /// AWS reason code, e.g. `Elb.RegistrationInProgress`, `Target.ResponseCodeMismatch`.
    pub reason: Option<String>,
    /// AWS description.
    pub description: Option<String>,
}

/// The data plane as the control plane sees it.
pub trait LbPlane: Send + Sync + 'static {
    /// Serves `snapshot` from now on (opening and closing listeners as needed). Errors name
    /// what could not be applied, e.g. a port already in use.
    fn apply(&self, snapshot: LbSnapshot) -> Result<(), String>;

    /// The health of every target of target group `arn` the plane knows.
    fn target_health(&self, arn: &str) -> Vec<TargetHealthReport>;

    /// Targets of `arn` whose deregistration is complete (drained or delay over), to be
    /// forgotten by the control plane.
    fn drained(&self, arn: &str) -> Vec<(String, u16)>;
}

/// A certificate and its key, for HTTPS listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateMaterial {
    /// PEM certificate followed by its chain.
    pub chain_pem: String,
    /// PEM private key.
    pub key_pem: String,
}

/// Where HTTPS listeners get certificates (ACM).
pub trait CertificateSource: Send + Sync + 'static {
    /// The certificate `arn` names, if it exists and is issued.
    fn certificate(&self, arn: &str) -> Option<CertificateMaterial>;
}
