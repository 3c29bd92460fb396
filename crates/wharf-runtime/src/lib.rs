//! The container runtime under ECS tasks: a narrow [`Runtime`] interface (task sandboxes that own
//! a network namespace, images, containers, their logs) with a Docker Engine backend
//! ([`docker::DockerRuntime`], on bollard, as the ECS agent itself uses the Engine API) and an
//! in-memory fake for controller tests ([`fake::FakeRuntime`]). A containerd backend would
//! implement the same trait.
//!
//! Every container and network a backend creates carries the [`labels`] below, so wharf can
//! find (and adopt or remove) what it made after a restart, and never touches anything else.

pub mod docker;
pub mod fake;

mod logs;
pub mod packet_filter;
pub mod rootfs;
pub mod spec;
pub mod unavailable;
mod usage;
pub mod vpc_net;

pub use spec::*;
pub use usage::{engine_stats_document, ContainerUsage};

use async_trait::async_trait;
use futures::stream::BoxStream;
use std::time::Duration;
use wharf_core::{LogLine, Timestamp};

/// Label keys on every container and network wharf creates.
pub mod labels {
    /// Present (value `true`) on everything wharf manages.
    pub const MANAGED: &str = "wharf.managed";
    /// The task's ARN.
    pub const TASK_ARN: &str = "wharf.task-arn";
    /// The container's name in the task definition (absent on the sandbox).
    pub const CONTAINER_NAME: &str = "wharf.container-name";
    /// The cluster's ARN.
    pub const CLUSTER: &str = "wharf.cluster";
    /// The wharf instance (data directory) that made it: an instance only adopts or removes its
    /// own containers, so several wharfs can share one engine.
    pub const INSTANCE: &str = "wharf.instance";
    /// `sandbox` for the container that owns the task's network namespace, `container` otherwise.
    pub const ROLE: &str = "wharf.role";
}

/// What a runtime operation can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The engine cannot be reached; the message says where wharf looked and what to do.
    #[error("{0}")]
    Unavailable(String),
    /// The image could not be pulled (missing, unauthorised, registry unreachable); the message
    /// is the engine's, for `CannotPullContainerError: ...`.
    #[error("{0}")]
    Pull(String),
    /// The sandbox or its network could not be set up (address exhausted, network clash...).
    #[error("{0}")]
    Network(String),
    /// A container could not be created or started (bad user, bad working directory...).
    #[error("{0}")]
    Container(String),
    /// Anything else the engine refused.
    #[error("{0}")]
    Other(String),
}

/// A container engine that runs ECS tasks.
///
/// Every method is idempotent where it can be: ensuring a network that exists, stopping a
/// stopped container and removing a missing one all succeed.
#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// A short name for logs and errors, e.g. `docker 20.10.24 (unix:///var/run/docker.sock)`.
    fn describe(&self) -> String;

    /// Makes sure the bridge network `net` exists with its CIDR (created labelled if missing).
    async fn ensure_network(&self, net: &NetworkSpec) -> Result<(), RuntimeError>;

    /// Creates and starts the task's sandbox: a minimal container that owns the task's network
    /// namespace, attached to `spec.network` with a free address from `spec.ip_range` (and to
    /// `spec.public_network`, when given, for the public address). Removing the sandbox
    /// releases its addresses. The containers that join it share its host name. Its process
    /// ignores SIGTERM, so remove it with [`Runtime::remove_container`] rather than stopping it
    /// (a stop waits the whole timeout). Nothing is left behind when it fails.
    async fn create_sandbox(&self, spec: &SandboxSpec) -> Result<Sandbox, RuntimeError>;

    /// Makes sure the network namespace of a VPC other than the default one exists, with the
    /// router address of `spec`'s subnet (see [`vpc_net`]).
    async fn ensure_vpc_namespace(
        &self,
        spec: &vpc_net::VpcNamespaceSpec,
    ) -> Result<(), RuntimeError> {
        let _ = spec;
        Err(RuntimeError::Unavailable(
            "this runtime cannot build VPC network namespaces".into(),
        ))
    }

    /// Creates and starts a sandbox in a VPC namespace made by
    /// [`Runtime::ensure_vpc_namespace`], with the address EC2 gave it (and a public address
    /// from `spec.public_network`). Nothing is left behind when it fails.
    async fn create_vpc_sandbox(&self, spec: &VpcSandboxSpec) -> Result<Sandbox, RuntimeError> {
        let _ = spec;
        Err(RuntimeError::Unavailable(
            "this runtime cannot build VPC network namespaces".into(),
        ))
    }

    /// Takes sandbox `sandbox_id`'s interface out of VPC namespace `namespace` (when it was
    /// there), then removes the namespace if no sandbox uses it any more.
    async fn release_vpc_namespace(
        &self,
        namespace: &str,
        sandbox_id: Option<&str>,
    ) -> Result<(), RuntimeError> {
        let _ = (namespace, sandbox_id);
        Ok(())
    }

    /// Whether this runtime can filter sandboxes' traffic by their security groups; the error
    /// says why not (not root, no nftables...).
    async fn packet_filtering(&self) -> Result<(), String> {
        Err("this runtime cannot filter traffic".into())
    }

    /// Makes table `table` of network namespace `namespace` (the machine's own when `None`)
    /// filter exactly `filter`'s interfaces (see [`packet_filter`]), in one step; an empty
    /// filter removes the table.
    async fn apply_network_filter(
        &self,
        table: &str,
        namespace: Option<&str>,
        filter: &wharf_core::packet_filter::NetworkFilter,
    ) -> Result<(), RuntimeError> {
        let _ = (table, namespace, filter);
        Err(RuntimeError::Unavailable(
            "this runtime cannot filter traffic".into(),
        ))
    }

    /// Whether `reference` is present in the engine's image store.
    async fn image_present(&self, reference: &str) -> Result<bool, RuntimeError>;

    /// Pulls `reference` (with `auth` when the registry needs it).
    async fn pull_image(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<(), RuntimeError>;

    /// Creates (does not start) a container in `sandbox`'s network namespace; returns its id.
    /// No restart policy: a container that exits stays exited. Errors are
    /// [`RuntimeError::Container`] with the engine's own words (e.g. `No such image: ...`).
    async fn create_container(
        &self,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError>;

    /// Starts a created container. A failed start ([`RuntimeError::Container`], the engine's
    /// words, e.g. a missing executable) leaves the container created, with
    /// [`ContainerStatus::error`] and an exit code set.
    async fn start_container(&self, id: &str) -> Result<(), RuntimeError>;

    /// The container's state, or `None` when it no longer exists. `exit_code` is `None` until
    /// the container has exited (or failed to start); a memory-limit kill shows as
    /// `oom_killed` with exit code 137.
    async fn inspect_container(&self, id: &str) -> Result<Option<ContainerStatus>, RuntimeError>;

    /// One sample of the container's resource usage in the Docker Engine's stats format (what
    /// the task metadata endpoint's `stats` documents show), or `None` when the container is
    /// gone or the runtime keeps no statistics.
    async fn container_stats(&self, _id: &str) -> Result<Option<serde_json::Value>, RuntimeError> {
        Ok(None)
    }

    /// The container's usage counters (cumulative CPU time, memory without page cache) from one
    /// one-shot stats sample, or `None` when the container is gone, not running, or the runtime
    /// keeps no statistics. Cheap enough to call for every running container once a minute.
    async fn container_usage(&self, id: &str) -> Result<Option<ContainerUsage>, RuntimeError> {
        Ok(self
            .container_stats(id)
            .await?
            .as_ref()
            .and_then(ContainerUsage::from_engine_stats))
    }

    /// Sends SIGTERM (or the image's stop signal), then SIGKILL after `timeout`; returns when the
    /// container has exited. Succeeds for stopped or missing containers.
    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), RuntimeError>;

    /// Removes the container (killing it if running). Succeeds for missing containers.
    async fn remove_container(&self, id: &str) -> Result<(), RuntimeError>;

    /// The container's stdout and stderr, line by line with the engine's timestamps, from
    /// `since` (exclusive; `None` = from the start), following until the container exits and
    /// its last line has been delivered; then the stream ends.
    ///
    /// Call it after [`Runtime::start_container`]: for a container that is not running it
    /// delivers what was written and ends at once (as the engine does). Timestamps have
    /// millisecond precision, so resuming with `since` = the last delivered line's timestamp
    /// skips lines written in that same millisecond. Lines keep their order within stdout and
    /// within stderr; between the two the order follows the engine's timestamps only roughly.
    /// A line longer than the engine's 16 KiB buffer arrives whole; output that ends without a
    /// newline arrives as a last line. An error item (the engine went away) ends the stream;
    /// follow again with `since` to resume.
    fn follow_logs(
        &self,
        id: &str,
        since: Option<Timestamp>,
    ) -> BoxStream<'static, Result<LogLine, RuntimeError>>;

    /// Every container carrying the [`labels::MANAGED`] label, running or not.
    async fn list_managed(&self) -> Result<Vec<ManagedContainer>, RuntimeError>;
}
