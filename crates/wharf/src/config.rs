//! The server's configuration: one struct, every key a flag with an environment variable
//! (documented in README.md's configuration table).

use clap::Args;
use std::net::IpAddr;
use std::path::PathBuf;

/// `--security-groups`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityGroups {
    /// Filter as AWS does.
    Enforce,
    /// Store rules without effect.
    Off,
}

/// `wharf server` flags.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Port for every AWS API (0 picks a free one; see <data-dir>/endpoint).
    #[arg(long, env = "WHARF_PORT", default_value_t = 4566)]
    pub port: u16,

    /// Address to listen on. Loopback by default: wharf's root credentials guard it, but expose
    /// it deliberately.
    #[arg(long, env = "WHARF_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// Directory for all state (SQLite database, credentials, endpoint file).
    /// Default: $XDG_DATA_HOME/wharf, else ~/.local/share/wharf.
    #[arg(long, env = "WHARF_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// The AWS account id that resources belong to.
    #[arg(long, env = "WHARF_ACCOUNT_ID", default_value = "123456789012")]
    pub account_id: String,

    /// Accept any access key and skip signature checks (LocalStack-style local use).
    #[arg(long, env = "WHARF_ACCEPT_ANY_CREDENTIALS")]
    pub accept_any_credentials: bool,

    /// Largest API request body, in bytes.
    #[arg(long, env = "WHARF_MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// `host:port` the registry is reached at, used in every `repositoryUri`
    /// (default: the bound address, 127.0.0.1 when bound to all interfaces).
    #[arg(long, env = "WHARF_REGISTRY_HOST")]
    pub registry_host: Option<String>,

    /// How often ECR lifecycle policies are applied, in seconds.
    #[arg(
        long,
        env = "WHARF_ECR_LIFECYCLE_INTERVAL_SECONDS",
        default_value_t = 600
    )]
    pub ecr_lifecycle_interval_seconds: u64,

    /// How often the registry reclaims unreferenced blobs, in seconds.
    #[arg(
        long,
        env = "WHARF_REGISTRY_GC_INTERVAL_SECONDS",
        default_value_t = 3600
    )]
    pub registry_gc_interval_seconds: u64,

    /// Blobs younger than this are never reclaimed (a push in progress may still reference
    /// them), in seconds.
    #[arg(long, env = "WHARF_REGISTRY_GC_GRACE_SECONDS", default_value_t = 3600)]
    pub registry_gc_grace_seconds: u64,

    /// Range of the public addresses tasks get with `assignPublicIp=ENABLED` (a Docker bridge
    /// network reachable from this machine).
    #[arg(long, env = "WHARF_TASK_PUBLIC_CIDR", default_value = "100.64.0.0/16")]
    pub task_public_cidr: String,

    /// How long a task stays PENDING when its subnet cannot reach what it needs to start (ECR,
    /// secrets, log streams: no internet gateway route with a public address, no NAT gateway,
    /// no VPC endpoint) before it stops with Fargate's reason, in seconds. Fargate's retries
    /// take about a minute; tests shorten it.
    #[arg(long, env = "WHARF_TASK_NETWORK_TIMEOUT_SECONDS", default_value_t = 60)]
    pub task_network_timeout_seconds: u64,

    /// Whether security groups filter tasks' traffic, as on AWS (`enforce`: in the kernel, in
    /// each task's own network namespace; needs root and nftables, and says once at start when
    /// it cannot) or not at all (`off`: rules are stored and described only).
    #[arg(long, env = "WHARF_SECURITY_GROUPS", value_enum, default_value_t = SecurityGroups::Enforce)]
    pub security_groups: SecurityGroups,

    /// Address load balancer listeners listen on (any 127.0.0.0/8 address is this machine;
    /// ports below 1024 need root or `sysctl net.ipv4.ip_unprivileged_port_start=80`).
    #[arg(long, env = "WHARF_LB_BIND", default_value = "127.0.0.1")]
    pub lb_bind: IpAddr,

    /// How fast metric time runs against AWS's clock, for demos and tests: 1 is AWS's (a
    /// 60-second metric period lasts 60 s); 0.05 makes it last 3 s. Every interval derived from
    /// the metric period scales with it: how often wharf publishes its own metrics, alarm
    /// periods, scaling cooldowns. Between 0.001 and 1.
    #[arg(long, env = "WHARF_METRIC_TIME_SCALE", default_value_t = 1.0)]
    pub metric_time_scale: f64,

    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `wharf_api=debug`.
    #[arg(long, env = "WHARF_LOG", default_value = "info")]
    pub log: String,
}

impl ServerArgs {
    /// The data directory, resolved.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(d) = &self.data_dir {
            return d.clone();
        }
        if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(x).join("wharf");
        }
        match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".local/share/wharf"),
            None => PathBuf::from("wharf-data"),
        }
    }
}
