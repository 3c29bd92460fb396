//! What the ECS task runtime asks a [`crate::Runtime`] for, and what it answers.

use std::collections::BTreeMap;
use std::time::Duration;
use wharf_core::Timestamp;

/// A bridge network: one per VPC (all of the VPC's subnets share it, so tasks in different
/// subnets reach each other as in a VPC), plus one for public addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// Engine-side name, e.g. `wharf-vpc-0a1b2c3d`.
    pub name: String,
    /// Its IPv4 range, e.g. `172.31.0.0/16`.
    pub cidr: String,
    /// Labels besides the managed label.
    pub labels: BTreeMap<String, String>,
}

/// A task's network sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSpec {
    /// Engine-side container name, e.g. `wharf-<task-id>-sandbox`.
    pub name: String,
    /// The VPC network to attach to.
    pub network: NetworkSpec,
    /// The subnet's range inside the network; the address is the lowest free one, skipping the
    /// first four and the last address as AWS reserves them.
    pub ip_range: String,
    /// Also attach to this network, for the task's public address.
    pub public_network: Option<NetworkSpec>,
    /// Host name inside the task (AWS: `ip-172-31-3-4.ec2.internal`-like).
    pub hostname: Option<String>,
    /// Labels (task ARN, cluster, role `sandbox`).
    pub labels: BTreeMap<String, String>,
}

/// A task's network sandbox in a VPC that is its own network namespace (every VPC but the
/// default one): no Docker network gives its private address; wharf wires it (see `vpc_net`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcSandboxSpec {
    /// Engine-side container name, e.g. `wharf-<task-id>-sandbox`.
    pub name: String,
    /// The VPC's namespace, its subnet and VPC ranges.
    pub vpc: crate::vpc_net::VpcNamespaceSpec,
    /// The VPC's primary range.
    pub vpc_cidr: String,
    /// The address EC2 gave the task's interface.
    pub address: std::net::Ipv4Addr,
    /// Also attach to this Docker network, for the task's public address (its default route).
    pub public_network: Option<NetworkSpec>,
    /// Host name inside the task.
    pub hostname: Option<String>,
    /// Labels (task ARN, cluster, role `sandbox`).
    pub labels: BTreeMap<String, String>,
}

/// A running sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    /// The engine's container id.
    pub container_id: String,
    /// The task's private IPv4 address.
    pub private_ip: String,
    /// The MAC address of its interface.
    pub mac_address: String,
    /// Its public address, when a public network was asked for.
    pub public_ip: Option<String>,
}

/// Credentials for a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// `host:port` of the registry.
    pub server_address: String,
}

/// A ulimit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// E.g. `nofile`.
    pub name: String,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// A container health check (Docker's HEALTHCHECK semantics, which ECS uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckSpec {
    /// `["CMD", ...]` or `["CMD-SHELL", "..."]`.
    pub test: Vec<String>,
    /// Between checks.
    pub interval: Duration,
    /// Per check.
    pub timeout: Duration,
    /// Consecutive failures before unhealthy.
    pub retries: u32,
    /// Failures during this time do not count.
    pub start_period: Duration,
}

/// One container of a task.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSpec {
    /// Engine-side name, e.g. `wharf-<task-id>-<container>`.
    pub name: String,
    /// The image reference to run (already pulled or present).
    pub image: String,
    /// Replaces the image's entrypoint.
    pub entry_point: Option<Vec<String>>,
    /// Replaces the image's command.
    pub command: Option<Vec<String>>,
    /// `NAME=value` pairs, in order.
    pub environment: Vec<(String, String)>,
    /// Working directory.
    pub working_directory: Option<String>,
    /// `user`, `user:group`, `uid`, `uid:gid`.
    pub user: Option<String>,
    /// Relative CPU weight (ECS cpu units; Docker CpuShares, at least 2).
    pub cpu_shares: Option<i64>,
    /// Hard CPU cap in billionths of a CPU (the task's cpu / 1024).
    pub nano_cpus: Option<i64>,
    /// Hard memory limit in bytes; exceeding it gets the container OOM-killed.
    pub memory_bytes: Option<i64>,
    /// Soft memory reservation in bytes.
    pub memory_reservation_bytes: Option<i64>,
    /// Read-only root file system.
    pub readonly_rootfs: bool,
    /// Ulimits.
    pub ulimits: Vec<Ulimit>,
    /// Health check.
    pub health_check: Option<HealthCheckSpec>,
    /// Labels (task ARN, cluster, container name, role `container`).
    pub labels: BTreeMap<String, String>,
}

/// Docker's view of a container's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Within the start period or before the first result.
    Starting,
    /// Passing.
    Healthy,
    /// Failed `retries` times in a row.
    Unhealthy,
}

/// A container's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatus {
    /// The engine's id.
    pub id: String,
    /// Whether it runs now.
    pub running: bool,
    /// Whether it has ever been started.
    pub started: bool,
    /// Exit code once it has exited.
    pub exit_code: Option<i64>,
    /// Whether the kernel killed it for exceeding its memory limit.
    pub oom_killed: bool,
    /// Health, when it has a health check.
    pub health: Option<Health>,
    /// When it started.
    pub started_at: Option<Timestamp>,
    /// When it exited.
    pub finished_at: Option<Timestamp>,
    /// The engine's error text, if starting it failed.
    pub error: Option<String>,
}

/// A container wharf created, found by its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedContainer {
    /// The engine's id.
    pub id: String,
    /// Engine-side name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Whether it runs now.
    pub running: bool,
}
