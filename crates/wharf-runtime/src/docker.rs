//! The Docker Engine backend, on bollard (the Engine API over the local socket or TCP, as the
//! ECS agent itself drives Docker).
//!
//! A task is a sandbox plus its containers. The sandbox is a container running `/pause` from
//! `wharf/pause:<version>`, an image this module builds in code and imports (the engine has no
//! internet), attached to the VPC's bridge network with the task's own address; every container
//! of the task joins its network namespace (`network_mode: container:<sandbox>`), which gives
//! Fargate's shared `localhost`. Everything created carries [`labels::MANAGED`].
//!
//! API version: wharf speaks Engine API **1.41** (Docker 20.10, Debian 12's `docker.io`, the
//! engine the tests run against) whenever the engine supports it, also on newer engines (API
//! 1.41 is served by every Docker up to 28.x), so behaviour does not shift with the engine.
//! Engines that dropped 1.41 (Docker 29 raised the minimum to 1.44) get the highest version both
//! they and bollard know. bollard's own `negotiate_version` cannot be used: it asks
//! `/v<bollard's version>/version`, which a 20.10 engine refuses as "too new", so the engine's
//! range is read from the unversioned `GET /version` first.

use crate::logs::{parse_engine_time, FrameWindow, LineAssembler, Output};
use crate::{
    labels, rootfs, ContainerSpec, ContainerStatus, Health, ManagedContainer, NetworkSpec,
    RegistryAuth, Runtime, RuntimeError, Sandbox, SandboxSpec, VpcSandboxSpec,
};
use crate::{packet_filter, vpc_net};
use async_trait::async_trait;
use bollard::auth::DockerCredentials;
use bollard::container::LogOutput;
use bollard::errors::Error as EngineError;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum,
    ContainerSummaryStateEnum, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HealthStatusEnum, HostConfig, Ipam, IpamConfig, NetworkConnectRequest, NetworkCreateRequest,
    NetworkingConfig, ResourcesUlimits, SystemVersion,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, InspectContainerOptions,
    InspectNetworkOptions, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
    StartContainerOptions, StatsOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::{ClientVersion, Docker};
use futures::stream::{BoxStream, StreamExt};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wharf_core::ipv4::{parse_addr, Ipv4Net};
use wharf_core::{LogLine, Timestamp};

/// Where the engine is when `DOCKER_HOST` is not set.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";
/// The repository of the sandbox image; the tag is the crate version.
pub const PAUSE_REPOSITORY: &str = "wharf/pause";
/// The API version wharf is tested against (Docker Engine 20.10).
const PREFERRED_API: (usize, usize) = (1, 41);
/// How long `connect` waits for the engine's first answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Per-request limit (bollard's default); `stop_container` adds its stop timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How many addresses `create_sandbox` tries when others take them first.
const SANDBOX_ATTEMPTS: usize = 32;

/// Serialises the pause image import in this process (every runtime instance), so concurrent
/// first sandboxes import it once. Separate processes may still import it twice at the same
/// moment; the tag then moves to the second copy and the first stays as an untagged image.
static PAUSE_IMPORT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The sandbox image reference, `wharf/pause:<crate version>`.
pub fn pause_image() -> String {
    format!("{PAUSE_REPOSITORY}:{}", env!("CARGO_PKG_VERSION"))
}

/// A Docker Engine, reached over its API.
pub struct DockerRuntime {
    docker: Docker,
    /// `DOCKER_HOST` form of where the engine is, for messages.
    host: String,
    /// The engine's version, e.g. `20.10.24+dfsg1`.
    engine_version: String,
    /// The engine's architecture (`amd64`, `arm64`), which decides the pause binary.
    engine_arch: String,
    /// The API version in use.
    api: (usize, usize),
    /// Serialises network creation in this process (the engine itself accepts two networks
    /// with one name at API 1.41).
    network_create: tokio::sync::Mutex<()>,
    /// Serialises changes to VPC namespaces in this process (a sandbox joining one, the last
    /// one leaving removes it).
    vpc_ops: tokio::sync::Mutex<()>,
    /// Addresses handed to sandboxes being created by this process, per network: the engine
    /// only shows an address as used once the container has started.
    reserved: Arc<Mutex<HashSet<(String, Ipv4Addr)>>>,
}

impl std::fmt::Debug for DockerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerRuntime")
            .field("host", &self.host)
            .field("engine_version", &self.engine_version)
            .field("api", &self.api)
            .finish()
    }
}

/// Where an engine listens.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    /// A Unix socket path.
    Unix(String),
    /// `host:port` over plain HTTP.
    Tcp(String),
}

impl Endpoint {
    fn parse(host: &str) -> Option<Self> {
        if let Some(path) = host.strip_prefix("unix://") {
            return (!path.is_empty()).then(|| Endpoint::Unix(path.to_string()));
        }
        let rest = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))?;
        let addr = rest.trim_end_matches('/');
        (!addr.is_empty() && !addr.contains('/')).then(|| Endpoint::Tcp(addr.to_string()))
    }

    fn client(&self, api: (usize, usize)) -> Result<Docker, EngineError> {
        let version = ClientVersion {
            major_version: api.0,
            minor_version: api.1,
        };
        let timeout = REQUEST_TIMEOUT.as_secs();
        match self {
            Endpoint::Unix(path) => Docker::connect_with_unix(path, timeout, &version),
            Endpoint::Tcp(addr) => Docker::connect_with_http(addr, timeout, &version),
        }
    }

    /// `GET /version` without a version prefix (every engine answers it), over a bare HTTP/1.0
    /// exchange.
    async fn probe_version(&self) -> Result<SystemVersion, String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        const REQUEST: &[u8] = b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n";
        let mut response = Vec::new();
        async fn exchange<S: AsyncReadExt + AsyncWriteExt + Unpin>(
            mut s: S,
            response: &mut Vec<u8>,
        ) -> Result<(), String> {
            s.write_all(REQUEST).await.map_err(|e| e.to_string())?;
            s.read_to_end(response).await.map_err(|e| e.to_string())?;
            Ok(())
        }
        let cannot = |e: std::io::Error| format!("cannot connect: {e}");
        match self {
            Endpoint::Unix(path) => {
                let s = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(cannot)?;
                exchange(s, &mut response).await?;
            }
            Endpoint::Tcp(addr) => {
                let s = tokio::net::TcpStream::connect(addr).await.map_err(cannot)?;
                exchange(s, &mut response).await?;
            }
        }
        parse_version_response(&response)
    }
}

/// The JSON body of a `200` HTTP/1.x response to `GET /version`.
fn parse_version_response(response: &[u8]) -> Result<SystemVersion, String> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("not an HTTP answer")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.") {
        return Err("not an HTTP answer".into());
    }
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("GET /version answered '{status}'"));
    }
    serde_json::from_slice(&response[split + 4..])
        .map_err(|e| format!("GET /version answered something that is not an engine version: {e}"))
}

/// `"1.41"` -> `(1, 41)`.
fn parse_api_version(text: &str) -> Option<(usize, usize)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The API version to use with an engine serving `min..=max` (see the module docs).
fn choose_api_version(
    min: (usize, usize),
    max: (usize, usize),
    client_max: (usize, usize),
) -> Result<(usize, usize), String> {
    if max < PREFERRED_API {
        return Err(format!(
            "the engine speaks Engine API up to {}.{}; wharf needs {}.{} (Docker Engine 20.10) or newer",
            max.0, max.1, PREFERRED_API.0, PREFERRED_API.1
        ));
    }
    if min <= PREFERRED_API {
        return Ok(PREFERRED_API);
    }
    Ok(max.min(client_max))
}

impl DockerRuntime {
    /// Connects to the engine named by `DOCKER_HOST` (`unix://...` or `tcp://...`), else
    /// [`DEFAULT_DOCKER_HOST`], and checks that it answers.
    pub async fn connect() -> Result<Self, RuntimeError> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_DOCKER_HOST.to_string());
        Self::connect_to(&host).await
    }

    /// Connects to the engine at `host` (`unix:///path` or `tcp://host:port`) and checks that it
    /// answers; [`RuntimeError::Unavailable`] says where it looked and what to do otherwise.
    pub async fn connect_to(host: &str) -> Result<Self, RuntimeError> {
        let unavailable = |why: &str| {
            RuntimeError::Unavailable(format!(
                "no Docker Engine answers on {host} ({why}): start dockerd \
                 (scripts/ensure-docker.sh) or set DOCKER_HOST"
            ))
        };
        let endpoint = Endpoint::parse(host).ok_or_else(|| {
            RuntimeError::Unavailable(format!(
                "DOCKER_HOST '{host}' is not supported: use unix:///path/to/docker.sock or \
                 tcp://host:port"
            ))
        })?;
        let version = tokio::time::timeout(PROBE_TIMEOUT, endpoint.probe_version())
            .await
            .map_err(|_| unavailable(&format!("no answer within {PROBE_TIMEOUT:?}")))?
            .map_err(|e| unavailable(&e))?;
        let max = version
            .api_version
            .as_deref()
            .and_then(parse_api_version)
            .ok_or_else(|| unavailable("the engine did not say which API version it speaks"))?;
        let min = version
            .min_api_version
            .as_deref()
            .and_then(parse_api_version)
            .unwrap_or((1, 12));
        let client_max = (
            bollard::API_DEFAULT_VERSION.major_version,
            bollard::API_DEFAULT_VERSION.minor_version,
        );
        let api = choose_api_version(min, max, client_max).map_err(|why| {
            RuntimeError::Unavailable(format!("the Docker Engine on {host} is too old: {why}"))
        })?;
        let docker = endpoint
            .client(api)
            .map_err(|e| unavailable(&e.to_string()))?;
        tokio::time::timeout(PROBE_TIMEOUT, docker.ping())
            .await
            .map_err(|_| unavailable(&format!("no answer within {PROBE_TIMEOUT:?}")))?
            .map_err(|e| unavailable(&message(&e)))?;
        let engine_version = version
            .version
            .unwrap_or_else(|| "(unknown version)".into());
        let engine_arch = version.arch.unwrap_or_default();
        tracing::info!(%host, version = %engine_version, api = %format!("{}.{}", api.0, api.1),
            "connected to the Docker Engine");
        Ok(Self {
            docker,
            host: host.to_string(),
            engine_version,
            engine_arch,
            api,
            network_create: tokio::sync::Mutex::new(()),
            vpc_ops: tokio::sync::Mutex::new(()),
            reserved: Arc::new(Mutex::new(HashSet::new())),
        })
    }

    /// Where the engine is, in `DOCKER_HOST` form.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The engine's version, e.g. `20.10.24+dfsg1`.
    pub fn engine_version(&self) -> &str {
        &self.engine_version
    }

    /// Imports a root file system (an uncompressed tar, see [`rootfs::TarBuilder`]) as image
    /// `reference`, like `docker import`.
    pub async fn import_image(
        &self,
        reference: &str,
        rootfs_tar: Vec<u8>,
    ) -> Result<(), RuntimeError> {
        let (repo, tag) = split_reference(reference);
        let options = CreateImageOptionsBuilder::new()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .build();
        let body = bollard::body_full(bytes::Bytes::from(rootfs_tar));
        let mut progress = self.docker.create_image(Some(options), Some(body), None);
        while let Some(item) = progress.next().await {
            item.map_err(|e| {
                self.failure(
                    e,
                    RuntimeError::Other,
                    &format!("cannot import image {reference}"),
                )
            })?;
        }
        Ok(())
    }

    /// Removes image `reference` (forced: also when containers still use it). Succeeds when
    /// it is missing.
    pub async fn remove_image(&self, reference: &str) -> Result<(), RuntimeError> {
        let options = RemoveImageOptionsBuilder::new().force(true).build();
        match self
            .docker
            .remove_image(reference, Some(options), None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if status_code(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.failure(
                e,
                RuntimeError::Other,
                &format!("cannot remove image {reference}"),
            )),
        }
    }

    /// Removes network `name`. Succeeds when it is missing; fails while containers use it.
    pub async fn remove_network(&self, name: &str) -> Result<(), RuntimeError> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if status_code(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.failure(
                e,
                RuntimeError::Network,
                &format!("cannot remove network {name}"),
            )),
        }
    }

    /// Every network carrying [`labels::MANAGED`], with its first IPv4 subnet as `cidr`.
    pub async fn managed_networks(&self) -> Result<Vec<NetworkSpec>, RuntimeError> {
        let filters = HashMap::from([("label", vec![format!("{}=true", labels::MANAGED)])]);
        let options = ListNetworksOptionsBuilder::new().filters(&filters).build();
        let list = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| self.failure(e, RuntimeError::Network, "cannot list networks"))?;
        Ok(list
            .into_iter()
            .filter_map(|n| {
                let cidr = n
                    .ipam
                    .and_then(|i| i.config)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.subnet)
                    .find(|s| Ipv4Net::parse(s).is_some())
                    .unwrap_or_default();
                Some(NetworkSpec {
                    name: n.name?,
                    cidr,
                    labels: n.labels.unwrap_or_default().into_iter().collect(),
                })
            })
            .collect())
    }

    /// Maps an engine error: lost connections become [`RuntimeError::Unavailable`], the rest
    /// `kind("<context>: <engine message>")`.
    fn failure(
        &self,
        e: EngineError,
        kind: fn(String) -> RuntimeError,
        context: &str,
    ) -> RuntimeError {
        if is_connection_error(&e) {
            return self.lost(&e);
        }
        kind(format!("{context}: {}", message(&e)))
    }

    fn lost(&self, e: &EngineError) -> RuntimeError {
        RuntimeError::Unavailable(format!(
            "the Docker Engine on {} stopped answering ({e}): start dockerd \
             (scripts/ensure-docker.sh) or set DOCKER_HOST",
            self.host
        ))
    }

    /// The subnets of network `name`, or `None` when it does not exist.
    async fn network_subnets(&self, name: &str) -> Result<Option<Vec<String>>, RuntimeError> {
        match self
            .docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
        {
            Ok(n) => Ok(Some(
                n.ipam
                    .and_then(|i| i.config)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.subnet)
                    .collect(),
            )),
            Err(e) if status_code(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.failure(
                e,
                RuntimeError::Network,
                &format!("cannot inspect network {name}"),
            )),
        }
    }

    /// The addresses of the endpoints on network `name`.
    async fn used_addresses(&self, name: &str) -> Result<HashSet<Ipv4Addr>, RuntimeError> {
        let n = self
            .docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
            .map_err(|e| {
                self.failure(
                    e,
                    RuntimeError::Network,
                    &format!("cannot inspect network {name}"),
                )
            })?;
        Ok(n.containers
            .unwrap_or_default()
            .values()
            .filter_map(|c| c.ipv4_address.as_deref().and_then(parse_addr))
            .collect())
    }

    /// Makes sure the pause image is in the engine (importing it on first use).
    async fn ensure_pause_image(&self) -> Result<String, RuntimeError> {
        let reference = pause_image();
        let _one_import = PAUSE_IMPORT.lock().await;
        if self.image_present(&reference).await? {
            return Ok(reference);
        }
        let tar = match self.engine_arch.as_str() {
            "amd64" | "x86_64" => rootfs::pause_rootfs_x86_64()
                .map_err(|e| RuntimeError::Other(format!("cannot build the pause image: {e}")))?,
            other => {
                return Err(RuntimeError::Unavailable(format!(
                    "the Docker Engine on {} runs on '{other}': wharf's task sandbox (pause) image \
                     exists for amd64 (x86_64) engines only",
                    self.host
                )))
            }
        };
        tracing::info!(image = %reference, "importing the sandbox image");
        self.import_image(&reference, tar).await?;
        Ok(reference)
    }

    /// The sandbox of a VPC namespace: created on the public network (or none), started, then
    /// wired into the VPC's bridge with its address. Returns it, or the error after removing
    /// the container.
    async fn vpc_sandbox(
        &self,
        spec: &VpcSandboxSpec,
        image: &str,
    ) -> Result<Sandbox, RuntimeError> {
        let network_mode = spec
            .public_network
            .as_ref()
            .map_or_else(|| "none".to_string(), |p| p.name.clone());
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            entrypoint: Some(vec!["/pause".to_string()]),
            hostname: spec.hostname.clone(),
            labels: Some(managed_labels(&spec.labels)),
            host_config: Some(HostConfig {
                network_mode: Some(network_mode),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let id = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| {
                self.failure(
                    e,
                    RuntimeError::Network,
                    &format!("cannot create sandbox {}", spec.name),
                )
            })?
            .id;
        let wired = self.wire_vpc_sandbox(spec, &id).await;
        if wired.is_err() {
            if let Err(e) = self.remove_container(&id).await {
                tracing::warn!(sandbox = %spec.name, error = %e, "cannot remove a failed sandbox");
            }
        }
        wired
    }

    async fn wire_vpc_sandbox(
        &self,
        spec: &VpcSandboxSpec,
        id: &str,
    ) -> Result<Sandbox, RuntimeError> {
        let failed = |e: EngineError, what: &str| {
            self.failure(
                e,
                RuntimeError::Network,
                &format!("cannot {what} sandbox {}", spec.name),
            )
        };
        self.docker
            .start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(|e| failed(e, "start"))?;
        let inspected = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| failed(e, "inspect"))?;
        let pid = inspected
            .state
            .as_ref()
            .and_then(|s| s.pid)
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                RuntimeError::Network(format!("sandbox {} has no process", spec.name))
            })?;
        let public_ip = match &spec.public_network {
            None => None,
            Some(p) => Some(
                inspected
                    .network_settings
                    .and_then(|n| n.networks)
                    .and_then(|n| n.get(&p.name).and_then(|e| e.ip_address.clone()))
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| {
                        RuntimeError::Network(format!(
                            "sandbox {} got no address on public network {}",
                            spec.name, p.name
                        ))
                    })?,
            ),
        };
        let mac = vpc_net::mac_for(spec.address, &spec.name);
        let link = sandbox_link(id);
        let ifname = if public_ip.is_some() { "eth1" } else { "eth0" };
        vpc_net::attach(
            &spec.vpc.namespace,
            pid,
            &link,
            ifname,
            spec.address,
            &spec.vpc.subnet_cidr,
            &spec.vpc_cidr,
            &mac,
            public_ip.is_none(),
        )
        .await?;
        Ok(Sandbox {
            container_id: id.to_string(),
            private_ip: spec.address.to_string(),
            mac_address: mac,
            public_ip,
        })
    }

    /// One attempt at the sandbox with address `ip`: create, connect, start, inspect. Removes
    /// the container on failure.
    async fn try_sandbox(
        &self,
        spec: &SandboxSpec,
        image: &str,
        ip: Ipv4Addr,
    ) -> Result<Sandbox, SandboxAttempt> {
        let network = &spec.network.name;
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            entrypoint: Some(vec!["/pause".to_string()]),
            hostname: spec.hostname.clone(),
            labels: Some(managed_labels(&spec.labels)),
            host_config: Some(HostConfig {
                network_mode: Some(network.clone()),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.clone(),
                    EndpointSettings {
                        ipam_config: Some(EndpointIpamConfig {
                            ipv4_address: Some(ip.to_string()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| {
                SandboxAttempt::Failed(self.failure(
                    e,
                    RuntimeError::Network,
                    &format!("cannot create sandbox {}", spec.name),
                ))
            })?;
        let id = created.id;
        match self.finish_sandbox(spec, &id, ip).await {
            Ok(sandbox) => Ok(sandbox),
            Err(failure) => {
                if let Err(e) = self.remove_container(&id).await {
                    tracing::warn!(sandbox = %spec.name, error = %e, "cannot remove a failed sandbox");
                }
                Err(failure)
            }
        }
    }

    async fn finish_sandbox(
        &self,
        spec: &SandboxSpec,
        id: &str,
        ip: Ipv4Addr,
    ) -> Result<Sandbox, SandboxAttempt> {
        let failed = |e: EngineError, what: &str| {
            SandboxAttempt::Failed(self.failure(
                e,
                RuntimeError::Network,
                &format!("cannot {what} sandbox {}", spec.name),
            ))
        };
        if let Some(public) = &spec.public_network {
            let request = NetworkConnectRequest {
                container: id.to_string(),
                endpoint_config: Some(EndpointSettings::default()),
            };
            self.docker
                .connect_network(&public.name, request)
                .await
                .map_err(|e| failed(e, &format!("connect network {} to", public.name)))?;
        }
        if let Err(e) = self
            .docker
            .start_container(id, None::<StartContainerOptions>)
            .await
        {
            if is_address_conflict(&e) {
                return Err(SandboxAttempt::AddressInUse);
            }
            return Err(failed(e, "start"));
        }
        let inspected = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| failed(e, "inspect"))?;
        let networks = inspected
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default();
        let private = networks.get(&spec.network.name);
        let private_ip = private
            .and_then(|e| e.ip_address.as_deref())
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                SandboxAttempt::Failed(RuntimeError::Network(format!(
                    "sandbox {} has no address on network {} (asked for {ip})",
                    spec.name, spec.network.name
                )))
            })?;
        let mac_address = private
            .and_then(|e| e.mac_address.clone())
            .unwrap_or_default();
        let public_ip = match &spec.public_network {
            None => None,
            Some(p) => Some(
                networks
                    .get(&p.name)
                    .and_then(|e| e.ip_address.clone())
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| {
                        SandboxAttempt::Failed(RuntimeError::Network(format!(
                            "sandbox {} got no address on public network {}",
                            spec.name, p.name
                        )))
                    })?,
            ),
        };
        Ok(Sandbox {
            container_id: id.to_string(),
            private_ip,
            mac_address,
            public_ip,
        })
    }
}

/// The bridge end of sandbox `id`'s interface in its VPC namespace: `t` + 12 characters of its
/// id (interface names have at most 15).
fn sandbox_link(id: &str) -> String {
    format!("t{}", id.get(..12).unwrap_or(id))
}

/// How one sandbox attempt ended.
enum SandboxAttempt {
    /// Someone else took the address between the network inspect and the start: try another.
    AddressInUse,
    /// Anything else: give up.
    Failed(RuntimeError),
}

/// Holds an address for a sandbox being created; released when dropped (also when the
/// creating future is cancelled).
struct Reservation {
    set: Arc<Mutex<HashSet<(String, Ipv4Addr)>>>,
    key: (String, Ipv4Addr),
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.key);
        }
    }
}

#[async_trait]
impl Runtime for DockerRuntime {
    fn describe(&self) -> String {
        format!(
            "Docker Engine {} at {} (API {}.{})",
            self.engine_version, self.host, self.api.0, self.api.1
        )
    }

    async fn ensure_network(&self, net: &NetworkSpec) -> Result<(), RuntimeError> {
        let want = Ipv4Net::parse(&net.cidr).ok_or_else(|| {
            RuntimeError::Network(format!(
                "network {} has an invalid IPv4 range '{}'",
                net.name, net.cidr
            ))
        })?;
        let check = |subnets: Vec<String>| {
            if subnets.iter().any(|s| Ipv4Net::parse(s) == Some(want)) {
                Ok(())
            } else {
                Err(RuntimeError::Network(format!(
                    "network {} exists with subnet [{}], not {want}: remove it (docker network rm {}) \
                     or choose another range",
                    net.name,
                    subnets.join(", "),
                    net.name
                )))
            }
        };
        let _one_create = self.network_create.lock().await;
        if let Some(subnets) = self.network_subnets(&net.name).await? {
            return check(subnets);
        }
        let request = NetworkCreateRequest {
            name: net.name.clone(),
            driver: Some("bridge".into()),
            ipam: Some(Ipam {
                driver: Some("default".into()),
                config: Some(vec![IpamConfig {
                    subnet: Some(want.to_string()),
                    gateway: Some(want.gateway().to_string()),
                    ..Default::default()
                }]),
                options: None,
            }),
            labels: Some(managed_labels(&net.labels)),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => {
                tracing::info!(network = %net.name, cidr = %want, "created network");
                Ok(())
            }
            Err(e) => {
                if is_connection_error(&e) {
                    return Err(self.lost(&e));
                }
                // Another process may have created it in the meantime.
                match self.network_subnets(&net.name).await? {
                    Some(subnets) => check(subnets),
                    None => Err(RuntimeError::Network(format!(
                        "cannot create network {} ({want}): {}",
                        net.name,
                        message(&e)
                    ))),
                }
            }
        }
    }

    async fn create_sandbox(&self, spec: &SandboxSpec) -> Result<Sandbox, RuntimeError> {
        let network = Ipv4Net::parse(&spec.network.cidr).ok_or_else(|| {
            RuntimeError::Network(format!(
                "network {} has an invalid IPv4 range '{}'",
                spec.network.name, spec.network.cidr
            ))
        })?;
        let range = Ipv4Net::parse(&spec.ip_range).ok_or_else(|| {
            RuntimeError::Network(format!(
                "sandbox {} has an invalid IPv4 range '{}'",
                spec.name, spec.ip_range
            ))
        })?;
        if !network.contains_net(&range) {
            return Err(RuntimeError::Network(format!(
                "address range {range} of sandbox {} is not inside network {} ({network})",
                spec.name, spec.network.name
            )));
        }
        let image = self.ensure_pause_image().await?;
        let mut tried = HashSet::new();
        for _ in 0..SANDBOX_ATTEMPTS {
            let used = self.used_addresses(&spec.network.name).await?;
            let reservation = {
                let mut reserved = self
                    .reserved
                    .lock()
                    .map_err(|_| RuntimeError::Other("address reservations are poisoned".into()))?;
                let free = range.task_addresses().find(|a| {
                    *a != network.gateway()
                        && !used.contains(a)
                        && !tried.contains(a)
                        && !reserved.contains(&(spec.network.name.clone(), *a))
                });
                let Some(ip) = free else {
                    return Err(RuntimeError::Network(format!(
                        "no free address left in {range} on network {} for sandbox {}",
                        spec.network.name, spec.name
                    )));
                };
                let key = (spec.network.name.clone(), ip);
                reserved.insert(key.clone());
                Reservation {
                    set: self.reserved.clone(),
                    key,
                }
            };
            let ip = reservation.key.1;
            tried.insert(ip);
            match self.try_sandbox(spec, &image, ip).await {
                Ok(sandbox) => {
                    tracing::debug!(sandbox = %spec.name, ip = %sandbox.private_ip, "sandbox started");
                    return Ok(sandbox);
                }
                Err(SandboxAttempt::AddressInUse) => {
                    tracing::debug!(sandbox = %spec.name, %ip, "address taken meanwhile; trying the next");
                }
                Err(SandboxAttempt::Failed(e)) => return Err(e),
            }
        }
        Err(RuntimeError::Network(format!(
            "sandbox {}: {SANDBOX_ATTEMPTS} addresses in {range} were taken by others while it \
             started",
            spec.name
        )))
    }

    async fn ensure_vpc_namespace(
        &self,
        spec: &vpc_net::VpcNamespaceSpec,
    ) -> Result<(), RuntimeError> {
        let _ops = self.vpc_ops.lock().await;
        vpc_net::ensure(spec).await
    }

    async fn create_vpc_sandbox(&self, spec: &VpcSandboxSpec) -> Result<Sandbox, RuntimeError> {
        let image = self.ensure_pause_image().await?;
        let _ops = self.vpc_ops.lock().await;
        // Made again in case the last task of the VPC released it meanwhile.
        vpc_net::ensure(&spec.vpc).await?;
        self.vpc_sandbox(spec, &image).await
    }

    async fn release_vpc_namespace(
        &self,
        namespace: &str,
        sandbox_id: Option<&str>,
    ) -> Result<(), RuntimeError> {
        let _ops = self.vpc_ops.lock().await;
        let link = sandbox_id.map(sandbox_link);
        vpc_net::release(namespace, link.as_deref())
            .await
            .map(|_| ())
    }

    async fn packet_filtering(&self) -> Result<(), String> {
        packet_filter::available().await
    }

    async fn apply_network_filter(
        &self,
        table: &str,
        namespace: Option<&str>,
        filter: &wharf_core::packet_filter::NetworkFilter,
    ) -> Result<(), RuntimeError> {
        packet_filter::apply(namespace, packet_filter::script(table, filter)).await
    }

    async fn image_present(&self, reference: &str) -> Result<bool, RuntimeError> {
        match self.docker.inspect_image(reference).await {
            Ok(_) => Ok(true),
            Err(e) if status_code(&e) == Some(404) => Ok(false),
            Err(e) => Err(self.failure(
                e,
                RuntimeError::Other,
                &format!("cannot inspect image {reference}"),
            )),
        }
    }

    async fn pull_image(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<(), RuntimeError> {
        let (name, tag) = split_reference(reference);
        let options = CreateImageOptionsBuilder::new()
            .from_image(name)
            .tag(tag)
            .build();
        let credentials = auth.map(|a| DockerCredentials {
            username: Some(a.username.clone()),
            password: Some(a.password.clone()),
            serveraddress: Some(a.server_address.clone()),
            ..Default::default()
        });
        let mut progress = self.docker.create_image(Some(options), None, credentials);
        while let Some(item) = progress.next().await {
            if let Err(e) = item {
                if is_connection_error(&e) {
                    return Err(self.lost(&e));
                }
                return Err(RuntimeError::Pull(message(&e)));
            }
        }
        Ok(())
    }

    async fn create_container(
        &self,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError> {
        let body = container_body(sandbox, spec);
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        match self.docker.create_container(Some(options), body).await {
            Ok(created) => Ok(created.id),
            Err(e) if is_connection_error(&e) => Err(self.lost(&e)),
            Err(e) => Err(RuntimeError::Container(message(&e))),
        }
    }

    async fn start_container(&self, id: &str) -> Result<(), RuntimeError> {
        match self
            .docker
            .start_container(id, None::<StartContainerOptions>)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if is_connection_error(&e) => Err(self.lost(&e)),
            Err(e) => Err(RuntimeError::Container(message(&e))),
        }
    }

    async fn inspect_container(&self, id: &str) -> Result<Option<ContainerStatus>, RuntimeError> {
        match self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
        {
            Ok(c) => Ok(Some(container_status(id, c))),
            Err(e) if status_code(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.failure(
                e,
                RuntimeError::Other,
                &format!("cannot inspect container {id}"),
            )),
        }
    }

    async fn container_stats(&self, id: &str) -> Result<Option<serde_json::Value>, RuntimeError> {
        let options = StatsOptionsBuilder::new()
            .stream(false)
            .one_shot(true)
            .build();
        let mut samples = self.docker.stats(id, Some(options));
        match samples.next().await {
            None => Ok(None),
            Some(Ok(sample)) => Ok(serde_json::to_value(sample).ok()),
            Some(Err(e)) if status_code(&e) == Some(404) => Ok(None),
            Some(Err(e)) => Err(self.failure(
                e,
                RuntimeError::Other,
                &format!("cannot read the statistics of container {id}"),
            )),
        }
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), RuntimeError> {
        let secs = i32::try_from(timeout.as_millis().div_ceil(1000)).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::new().t(secs).build();
        // The engine answers once the container has exited, up to `timeout` plus the kill.
        let docker = self.docker.clone().with_timeout(REQUEST_TIMEOUT + timeout);
        match docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if matches!(status_code(&e), Some(304 | 404)) => Ok(()),
            Err(e) => Err(self.failure(
                e,
                RuntimeError::Container,
                &format!("cannot stop container {id}"),
            )),
        }
    }

    async fn remove_container(&self, id: &str) -> Result<(), RuntimeError> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if status_code(&e) == Some(404) => Ok(()),
            // A concurrent removal of the same container: it is going away.
            Err(e)
                if status_code(&e) == Some(409) && message(&e).contains("already in progress") =>
            {
                Ok(())
            }
            Err(e) => Err(self.failure(
                e,
                RuntimeError::Container,
                &format!("cannot remove container {id}"),
            )),
        }
    }

    fn follow_logs(
        &self,
        id: &str,
        since: Option<Timestamp>,
    ) -> BoxStream<'static, Result<LogLine, RuntimeError>> {
        // The engine filters by whole seconds; the assembler drops the rest up to `since`.
        let engine_since = since
            .map(|t| t.millis.div_euclid(1000))
            .unwrap_or(0)
            .clamp(0, i64::from(i32::MAX));
        let state = LogState {
            frames: log_frames(&self.docker, id, true, engine_since),
            phase: LogPhase::Follow,
            window: FrameWindow::default(),
            engine_since,
            lines: LineAssembler::new(since),
            pending: VecDeque::new(),
            docker: self.docker.clone(),
            id: id.to_string(),
            host: self.host.clone(),
        };
        futures::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(line) = st.pending.pop_front() {
                    return Some((Ok(line), st));
                }
                if matches!(st.phase, LogPhase::Done) {
                    return None;
                }
                let mut out = Vec::new();
                match st.frames.next().await {
                    Some(Ok(frame)) => {
                        let (output, bytes) = match frame {
                            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                                (Output::Stdout, message)
                            }
                            LogOutput::StdErr { message } => (Output::Stderr, message),
                            LogOutput::StdIn { .. } => continue,
                        };
                        match &mut st.phase {
                            LogPhase::Follow => st.window.observe(&bytes),
                            LogPhase::CatchUp { skip } if *skip > 0 => {
                                *skip -= 1;
                                continue;
                            }
                            _ => {}
                        }
                        st.lines.push(output, &bytes, &mut out);
                    }
                    Some(Err(e)) => {
                        let phase = std::mem::replace(&mut st.phase, LogPhase::Done);
                        // The container went away between the two reads: what it wrote is gone.
                        if matches!(phase, LogPhase::CatchUp { .. }) && status_code(&e) == Some(404)
                        {
                            st.lines.finish(&mut out);
                            st.pending.extend(out);
                            continue;
                        }
                        // Fragments not yet ended by a newline are not delivered: a caller
                        // resuming from its last line's timestamp gets them whole.
                        return Some((Err(log_error(&e, &st.id, &st.host)), st));
                    }
                    None => match st.phase {
                        LogPhase::Follow => {
                            // Engine 20.10 can end a follow request before the last message
                            // is in (see FrameWindow): read again, without following, from a
                            // little before the last frame, skipping what was delivered.
                            let (since, skip) = st.window.catch_up(st.engine_since);
                            st.frames = log_frames(&st.docker, &st.id, false, since);
                            st.phase = LogPhase::CatchUp { skip };
                        }
                        LogPhase::CatchUp { .. } | LogPhase::Done => {
                            st.phase = LogPhase::Done;
                            st.lines.finish(&mut out);
                        }
                    },
                }
                st.pending.extend(out);
            }
        })
        .boxed()
    }

    async fn list_managed(&self) -> Result<Vec<ManagedContainer>, RuntimeError> {
        let filters = HashMap::from([("label", vec![format!("{}=true", labels::MANAGED)])]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.failure(e, RuntimeError::Other, "cannot list containers"))?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                let id = c.id?;
                let name = c
                    .names
                    .unwrap_or_default()
                    .into_iter()
                    .next()
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default();
                Some(ManagedContainer {
                    id,
                    name,
                    labels: c.labels.unwrap_or_default().into_iter().collect(),
                    running: c.state == Some(ContainerSummaryStateEnum::RUNNING),
                })
            })
            .collect())
    }
}

/// The state `follow_logs` carries between lines.
struct LogState {
    /// The engine's frames of the current request.
    frames: BoxStream<'static, Result<LogOutput, EngineError>>,
    phase: LogPhase,
    /// What the follow request delivered, for the catch-up read.
    window: FrameWindow,
    /// The `since` (Unix seconds) of the follow request.
    engine_since: i64,
    lines: LineAssembler,
    /// Complete lines not yet handed out.
    pending: VecDeque<LogLine>,
    docker: Docker,
    id: String,
    host: String,
}

/// Which request `follow_logs` is reading.
enum LogPhase {
    /// The following request, until the engine ends it (the container exited).
    Follow,
    /// The plain read after it, whose first `skip` frames were delivered already.
    CatchUp {
        /// Frames still to skip.
        skip: usize,
    },
    /// Everything delivered (or failed).
    Done,
}

/// The container's output frames with timestamps, from `since` (Unix seconds).
fn log_frames(
    docker: &Docker,
    id: &str,
    follow: bool,
    since: i64,
) -> BoxStream<'static, Result<LogOutput, EngineError>> {
    let options = LogsOptionsBuilder::new()
        .follow(follow)
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .since(i32::try_from(since).unwrap_or(i32::MAX))
        .build();
    docker.logs(id, Some(options)).boxed()
}

fn log_error(e: &EngineError, id: &str, host: &str) -> RuntimeError {
    if is_connection_error(e) {
        RuntimeError::Unavailable(format!(
            "the Docker Engine on {host} stopped answering while following the output of \
             container {id} ({e})"
        ))
    } else if status_code(e) == Some(404) {
        RuntimeError::Container(format!("no such container: {id}"))
    } else {
        RuntimeError::Other(format!(
            "cannot follow the output of container {id}: {}",
            message(e)
        ))
    }
}

/// The engine request for `spec` in `sandbox`'s network namespace.
fn container_body(sandbox: &Sandbox, spec: &ContainerSpec) -> ContainerCreateBody {
    let ulimits = spec
        .ulimits
        .iter()
        .map(|u| ResourcesUlimits {
            name: Some(u.name.clone()),
            soft: Some(u.soft),
            hard: Some(u.hard),
        })
        .collect::<Vec<_>>();
    let healthcheck = spec.health_check.as_ref().map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(nanos(h.interval)),
        timeout: Some(nanos(h.timeout)),
        retries: Some(i64::from(h.retries)),
        start_period: Some(nanos(h.start_period)),
        start_interval: None,
    });
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint: spec.entry_point.clone(),
        cmd: spec.command.clone(),
        env: Some(
            spec.environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        working_dir: spec.working_directory.clone(),
        user: spec.user.clone(),
        labels: Some(managed_labels(&spec.labels)),
        healthcheck,
        host_config: Some(HostConfig {
            network_mode: Some(format!("container:{}", sandbox.container_id)),
            cpu_shares: spec.cpu_shares.map(|c| c.max(2)),
            nano_cpus: spec.nano_cpus,
            memory: spec.memory_bytes,
            // Swap equal to the limit: no swap, so the limit is a real one (OOM kill).
            memory_swap: spec.memory_bytes,
            memory_reservation: spec.memory_reservation_bytes,
            readonly_rootfs: Some(spec.readonly_rootfs),
            ulimits: (!ulimits.is_empty()).then_some(ulimits),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The runtime's view of an inspected container.
fn container_status(id: &str, c: ContainerInspectResponse) -> ContainerStatus {
    let state = c.state.unwrap_or_default();
    let running = state.running.unwrap_or(false);
    let started_at = state.started_at.as_deref().and_then(parse_engine_time);
    // The engine stamps StartedAt when it learns the process started, FinishedAt from the exit
    // event: for a process that exits at once, FinishedAt can come out a millisecond earlier.
    let finished_at = state
        .finished_at
        .as_deref()
        .and_then(parse_engine_time)
        .map(|f| started_at.map_or(f, |s| f.max(s)));
    let error = state.error.filter(|e| !e.is_empty());
    let code = state.exit_code.unwrap_or(0);
    let exited = matches!(
        state.status,
        Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
    );
    // A container whose start failed stays "created" with the error and exit code 127/128.
    let exit_code = if !running && (exited || (error.is_some() && code != 0)) {
        Some(code)
    } else {
        None
    };
    let health = state.health.and_then(|h| h.status).and_then(|s| match s {
        HealthStatusEnum::STARTING => Some(Health::Starting),
        HealthStatusEnum::HEALTHY => Some(Health::Healthy),
        HealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
        HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => None,
    });
    ContainerStatus {
        id: c.id.unwrap_or_else(|| id.to_string()),
        running,
        started: started_at.is_some(),
        exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        health,
        started_at,
        finished_at,
        error,
    }
}

/// `labels` plus the managed label, as the engine takes them.
fn managed_labels(labels: &BTreeMap<String, String>) -> HashMap<String, String> {
    let mut all: HashMap<String, String> = labels.clone().into_iter().collect();
    all.insert(labels::MANAGED.to_string(), "true".to_string());
    all
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// `name[:tag]` or `name@digest` -> (name, tag or digest), with `latest` when neither is
/// given (a pull without a tag would fetch every tag).
fn split_reference(reference: &str) -> (&str, &str) {
    if let Some((name, digest)) = reference.split_once('@') {
        return (name, digest);
    }
    let last_part = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
    match reference[last_part..].rfind(':') {
        Some(i) => (&reference[..last_part + i], &reference[last_part + i + 1..]),
        None => (reference, "latest"),
    }
}

/// The engine's own words for an error.
fn message(e: &EngineError) -> String {
    match e {
        EngineError::DockerResponseServerError { message, .. } => message.trim().to_string(),
        EngineError::DockerStreamError { error } => error.trim().to_string(),
        other => other.to_string(),
    }
}

fn status_code(e: &EngineError) -> Option<u16> {
    match e {
        EngineError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Whether the engine could not be reached at all (as opposed to refusing a request).
fn is_connection_error(e: &EngineError) -> bool {
    matches!(
        e,
        EngineError::HyperLegacyError { .. }
            | EngineError::IOError { .. }
            | EngineError::SocketNotFoundError(_)
    )
}

/// The start failed because the static address is taken (libnetwork's "Address already in
/// use", HTTP 403 on Engine 20.10).
fn is_address_conflict(e: &EngineError) -> bool {
    let m = message(e).to_ascii_lowercase();
    m.contains("address already in use") || m.contains("already allocated")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerState, Health as EngineHealth};

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::parse("unix:///var/run/docker.sock"),
            Some(Endpoint::Unix("/var/run/docker.sock".into()))
        );
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:2375"),
            Some(Endpoint::Tcp("127.0.0.1:2375".into()))
        );
        assert_eq!(
            Endpoint::parse("http://localhost:2375/"),
            Some(Endpoint::Tcp("localhost:2375".into()))
        );
        assert_eq!(Endpoint::parse("ssh://host"), None);
        assert_eq!(Endpoint::parse("unix://"), None);
        assert_eq!(Endpoint::parse("/var/run/docker.sock"), None);
    }

    #[test]
    fn api_version_choice() {
        let client = (1, 53);
        // Debian's 20.10.
        assert_eq!(choose_api_version((1, 12), (1, 41), client), Ok((1, 41)));
        // Docker 28: still serves 1.41.
        assert_eq!(choose_api_version((1, 24), (1, 50), client), Ok((1, 41)));
        // Docker 29: 1.41 is gone.
        assert_eq!(choose_api_version((1, 44), (1, 52), client), Ok((1, 52)));
        assert_eq!(choose_api_version((1, 44), (1, 60), client), Ok((1, 53)));
        assert!(choose_api_version((1, 12), (1, 40), client).is_err());
        assert_eq!(parse_api_version("1.41"), Some((1, 41)));
        assert_eq!(parse_api_version("x"), None);
    }

    #[test]
    fn version_response() {
        let ok = b"HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n\r\n\
            {\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\",\"Arch\":\"amd64\"}";
        let v = parse_version_response(ok).expect("parses");
        assert_eq!(v.api_version.as_deref(), Some("1.41"));
        assert_eq!(v.min_api_version.as_deref(), Some("1.12"));
        assert_eq!(v.arch.as_deref(), Some("amd64"));
        assert!(parse_version_response(b"HTTP/1.0 404 Not Found\r\n\r\n{}").is_err());
        assert!(parse_version_response(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse_version_response(b"HTTP/1.0 200 OK\r\n\r\nnot json").is_err());
    }

    #[test]
    fn references() {
        assert_eq!(split_reference("busybox"), ("busybox", "latest"));
        assert_eq!(split_reference("busybox:1.36"), ("busybox", "1.36"));
        assert_eq!(
            split_reference("127.0.0.1:5000/team/app"),
            ("127.0.0.1:5000/team/app", "latest")
        );
        assert_eq!(
            split_reference("127.0.0.1:5000/team/app:v2"),
            ("127.0.0.1:5000/team/app", "v2")
        );
        assert_eq!(
            split_reference("host/app@sha256:abcd"),
            ("host/app", "sha256:abcd")
        );
    }

    fn sandbox() -> Sandbox {
        Sandbox {
            container_id: "abc123".into(),
            private_ip: "10.0.0.4".into(),
            mac_address: "02:42:0a:00:00:04".into(),
            public_ip: None,
        }
    }

    #[test]
    fn container_body_maps_every_field() {
        let spec = ContainerSpec {
            name: "wharf-t-web".into(),
            image: "app:1".into(),
            entry_point: Some(vec!["/bin/sh".into(), "-c".into()]),
            command: Some(vec!["echo hi".into()]),
            environment: vec![("A".into(), "1".into()), ("B".into(), "x=y".into())],
            working_directory: Some("/srv".into()),
            user: Some("1000:1000".into()),
            cpu_shares: Some(0),
            nano_cpus: Some(250_000_000),
            memory_bytes: Some(64 << 20),
            memory_reservation_bytes: Some(32 << 20),
            readonly_rootfs: true,
            ulimits: vec![crate::Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 4096,
            }],
            health_check: Some(crate::HealthCheckSpec {
                test: vec!["CMD-SHELL".into(), "true".into()],
                interval: Duration::from_secs(5),
                timeout: Duration::from_millis(1500),
                retries: 3,
                start_period: Duration::from_secs(10),
            }),
            labels: BTreeMap::from([("wharf.task-arn".into(), "arn".into())]),
        };
        let body = container_body(&sandbox(), &spec);
        assert_eq!(body.image.as_deref(), Some("app:1"));
        assert_eq!(body.entrypoint, spec.entry_point);
        assert_eq!(body.cmd, spec.command);
        assert_eq!(body.env, Some(vec!["A=1".to_string(), "B=x=y".to_string()]));
        assert_eq!(body.working_dir.as_deref(), Some("/srv"));
        assert_eq!(body.user.as_deref(), Some("1000:1000"));
        let labels = body.labels.unwrap_or_default();
        assert_eq!(
            labels.get("wharf.managed").map(String::as_str),
            Some("true")
        );
        assert_eq!(
            labels.get("wharf.task-arn").map(String::as_str),
            Some("arn")
        );
        let hc = body.healthcheck.unwrap_or_default();
        assert_eq!(
            hc.test,
            Some(vec!["CMD-SHELL".to_string(), "true".to_string()])
        );
        assert_eq!(hc.interval, Some(5_000_000_000));
        assert_eq!(hc.timeout, Some(1_500_000_000));
        assert_eq!(hc.retries, Some(3));
        assert_eq!(hc.start_period, Some(10_000_000_000));
        let host = body.host_config.unwrap_or_default();
        assert_eq!(host.network_mode.as_deref(), Some("container:abc123"));
        assert_eq!(host.cpu_shares, Some(2), "at least 2");
        assert_eq!(host.nano_cpus, Some(250_000_000));
        assert_eq!(host.memory, Some(64 << 20));
        assert_eq!(host.memory_swap, Some(64 << 20));
        assert_eq!(host.memory_reservation, Some(32 << 20));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.restart_policy, None);
        let ulimits = host.ulimits.unwrap_or_default();
        assert_eq!(ulimits.len(), 1);
        assert_eq!(ulimits[0].name.as_deref(), Some("nofile"));
        assert_eq!((ulimits[0].soft, ulimits[0].hard), (Some(1024), Some(4096)));
    }

    #[test]
    fn minimal_container_body_leaves_image_defaults() {
        let spec = ContainerSpec {
            name: "c".into(),
            image: "app".into(),
            ..Default::default()
        };
        let body = container_body(&sandbox(), &spec);
        assert_eq!(body.entrypoint, None);
        assert_eq!(body.cmd, None);
        assert_eq!(body.healthcheck, None);
        let host = body.host_config.unwrap_or_default();
        assert_eq!(host.memory, None);
        assert_eq!(host.memory_swap, None);
        assert_eq!(host.ulimits, None);
        assert_eq!(host.cpu_shares, None);
    }

    fn inspected(state: ContainerState) -> ContainerInspectResponse {
        ContainerInspectResponse {
            id: Some("full-id".into()),
            state: Some(state),
            ..Default::default()
        }
    }

    #[test]
    fn status_of_a_running_healthy_container() {
        let s = container_status(
            "x",
            inspected(ContainerState {
                status: Some(ContainerStateStatusEnum::RUNNING),
                running: Some(true),
                exit_code: Some(0),
                started_at: Some("2024-05-01T10:00:00.123456789Z".into()),
                finished_at: Some("0001-01-01T00:00:00Z".into()),
                health: Some(EngineHealth {
                    status: Some(HealthStatusEnum::HEALTHY),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        );
        assert_eq!(s.id, "full-id");
        assert!(s.running && s.started);
        assert_eq!(s.exit_code, None);
        assert_eq!(s.health, Some(Health::Healthy));
        assert_eq!(
            s.started_at,
            Some(Timestamp::from_millis(1_714_557_600_123))
        );
        assert_eq!(s.finished_at, None);
        assert_eq!(s.error, None);
    }

    #[test]
    fn status_of_exited_oom_and_failed_starts() {
        let oom = container_status(
            "x",
            inspected(ContainerState {
                status: Some(ContainerStateStatusEnum::EXITED),
                running: Some(false),
                oom_killed: Some(true),
                exit_code: Some(137),
                started_at: Some("2024-05-01T10:00:00Z".into()),
                finished_at: Some("2024-05-01T10:00:02Z".into()),
                error: Some(String::new()),
                ..Default::default()
            }),
        );
        assert!(!oom.running && oom.started && oom.oom_killed);
        assert_eq!(oom.exit_code, Some(137));
        assert_eq!(oom.error, None);
        assert!(oom.finished_at > oom.started_at);

        let instant = container_status(
            "x",
            inspected(ContainerState {
                status: Some(ContainerStateStatusEnum::EXITED),
                running: Some(false),
                exit_code: Some(0),
                started_at: Some("2024-05-01T10:00:00.925Z".into()),
                finished_at: Some("2024-05-01T10:00:00.924Z".into()),
                ..Default::default()
            }),
        );
        assert_eq!(
            instant.finished_at, instant.started_at,
            "never before the start"
        );

        let failed = container_status(
            "x",
            inspected(ContainerState {
                status: Some(ContainerStateStatusEnum::CREATED),
                running: Some(false),
                exit_code: Some(127),
                error: Some("exec: \"/nope\": no such file".into()),
                started_at: Some("0001-01-01T00:00:00Z".into()),
                ..Default::default()
            }),
        );
        assert!(!failed.started);
        assert_eq!(failed.exit_code, Some(127));
        assert!(failed.error.is_some());

        let created = container_status(
            "x",
            inspected(ContainerState {
                status: Some(ContainerStateStatusEnum::CREATED),
                running: Some(false),
                exit_code: Some(0),
                ..Default::default()
            }),
        );
        assert_eq!(created.exit_code, None);
        assert!(!created.started);

        let empty = container_status("x", ContainerInspectResponse::default());
        assert_eq!(empty.id, "x");
        assert!(!empty.running);
    }

    #[test]
    fn engine_errors() {
        let conflict = EngineError::DockerResponseServerError {
            status_code: 403,
            message: "Address already in use".into(),
        };
        assert!(is_address_conflict(&conflict));
        assert_eq!(status_code(&conflict), Some(403));
        assert_eq!(message(&conflict), "Address already in use");
        assert!(!is_connection_error(&conflict));
        let other = EngineError::DockerResponseServerError {
            status_code: 500,
            message: "something else".into(),
        };
        assert!(!is_address_conflict(&other));
        assert!(is_connection_error(&EngineError::SocketNotFoundError(
            "/x".into()
        )));
    }

    #[tokio::test]
    async fn connect_to_nothing_says_where_and_what_to_do() {
        let err = DockerRuntime::connect_to("unix:///nonexistent/wharf-test.sock")
            .await
            .err();
        let Some(RuntimeError::Unavailable(msg)) = err else {
            panic!("expected Unavailable, got {err:?}");
        };
        assert!(msg.contains("unix:///nonexistent/wharf-test.sock"), "{msg}");
        assert!(msg.contains("scripts/ensure-docker.sh"), "{msg}");
        assert!(msg.contains("DOCKER_HOST"), "{msg}");
        let err = DockerRuntime::connect_to("ssh://somewhere").await.err();
        assert!(matches!(err, Some(RuntimeError::Unavailable(m)) if m.contains("not supported")));
    }
}
