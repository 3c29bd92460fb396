//! An in-memory [`Runtime`] for the agent's unit tests: no engine, no sleeps, fully
//! deterministic. It records every call, allocates sandbox addresses from the range as the
//! Docker backend does (lowest free, skipping AWS's reserved ones), and its containers run until
//! the test says otherwise ([`FakeRuntime::exit`], [`FakeRuntime::oom`]). Output is what the test
//! pushes ([`FakeRuntime::push_log`]); `follow_logs` streams it and ends when the container has
//! exited. Failures are configured up front ([`FakeRuntime::fail_pull`],
//! [`FakeRuntime::fail_create`], ...). Tests wait for the code under test with
//! [`FakeRuntime::wait_for`], which wakes on every change.
//!
//! Containers are addressed by a *key*: the engine id, the engine-side name, or the task
//! definition's container name (label [`labels::CONTAINER_NAME`]; the newest such container).
//! The fake mirrors the engine where tests could notice: unknown networks, images and sandboxes
//! are errors, names are unique, a container whose start failed reports exit code 128 and the
//! error, and a stopped sandbox's addresses are free again.

use crate::{
    engine_stats_document, labels, ContainerSpec, ContainerStatus, ContainerUsage, Health,
    ManagedContainer, NetworkSpec, RegistryAuth, Runtime, RuntimeError, Sandbox, SandboxSpec,
};
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use wharf_core::ipv4::{parse_addr, Ipv4Net};
use wharf_core::packet_filter::{NetworkFilter, NetworkMember};
use wharf_core::{Clock, LogLine, Timestamp};

/// One call the code under test made (`inspect_container` is not recorded: agents poll it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `ensure_network(name)`.
    EnsureNetwork(String),
    /// `create_sandbox(name)`.
    CreateSandbox(String),
    /// `image_present(reference)`.
    ImagePresent(String),
    /// `pull_image(reference, auth)`.
    PullImage {
        /// The image.
        reference: String,
        /// The credentials given.
        auth: Option<RegistryAuth>,
    },
    /// `create_container` of the spec with this engine-side name.
    CreateContainer(String),
    /// `apply_network_filter`, by namespace (`None`: the machine's).
    ApplyNetworkFilter(Option<String>),
    /// `start_container`, by engine-side name (the id when unknown).
    StartContainer(String),
    /// `stop_container`, by engine-side name (the id when unknown).
    StopContainer {
        /// Which container.
        name: String,
        /// The grace period given.
        timeout: Duration,
    },
    /// `remove_container`, by engine-side name (the id when unknown).
    RemoveContainer(String),
    /// `follow_logs`, by engine-side name (the id when unknown).
    FollowLogs {
        /// Which container.
        name: String,
        /// From when.
        since: Option<Timestamp>,
    },
    /// `list_managed()`.
    ListManaged,
}

/// What a fake container is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeRole {
    /// A task sandbox.
    Sandbox {
        /// What was asked for.
        spec: SandboxSpec,
        /// What was answered.
        sandbox: Sandbox,
    },
    /// A task container.
    Container {
        /// What was asked for.
        spec: ContainerSpec,
        /// The sandbox whose namespace it joined.
        sandbox_id: String,
    },
}

/// A snapshot of one fake container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeContainer {
    /// Engine id (64 hex digits, counting up).
    pub id: String,
    /// Engine-side name.
    pub name: String,
    /// Its labels, the managed label included.
    pub labels: BTreeMap<String, String>,
    /// Sandbox or container, with its spec.
    pub role: FakeRole,
    /// What `inspect_container` answers.
    pub status: ContainerStatus,
    /// Every line pushed so far.
    pub logs: Vec<LogLine>,
    /// The exit code a stop gives it (0 unless set with `set_stop_exit_code`).
    pub stop_exit_code: i64,
}

#[derive(Default)]
struct State {
    next_id: u64,
    calls: Vec<Call>,
    networks: BTreeMap<String, NetworkSpec>,
    images: BTreeSet<String>,
    /// By id, in creation order (ids count up).
    containers: BTreeMap<String, FakeContainer>,
    pull_failures: HashMap<String, String>,
    create_failures: HashMap<String, RuntimeError>,
    start_failures: HashMap<String, String>,
    stop_exit_codes: HashMap<String, i64>,
    sandbox_failure: Option<String>,
    unavailable: Option<String>,
    /// Usage counters set by the test, by container id: what `container_stats` answers for a
    /// running container (in the engine's format, with some page cache to leave out).
    usage: HashMap<String, ContainerUsage>,
    /// How many `container_stats` calls were answered.
    stats_calls: u64,
    /// The network filter last applied in each namespace (`None`: the machine's), with its
    /// table.
    network_filters: HashMap<Option<String>, (String, NetworkFilter)>,
    /// Why this fake cannot filter, when a test says so.
    cannot_filter: Option<String>,
}

impl State {
    /// The id of the container `key` names (id, engine name, or newest with that
    /// container-name label).
    fn resolve(&self, key: &str) -> Option<String> {
        if self.containers.contains_key(key) {
            return Some(key.to_string());
        }
        if let Some(c) = self.containers.values().find(|c| c.name == key) {
            return Some(c.id.clone());
        }
        self.containers
            .values()
            .rev()
            .find(|c| c.labels.get(labels::CONTAINER_NAME).map(String::as_str) == Some(key))
            .map(|c| c.id.clone())
    }

    fn name_of(&self, id: &str) -> String {
        self.resolve(id)
            .and_then(|id| self.containers.get(&id))
            .map(|c| c.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    fn check_available(&self) -> Result<(), RuntimeError> {
        match &self.unavailable {
            Some(msg) => Err(RuntimeError::Unavailable(msg.clone())),
            None => Ok(()),
        }
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:064x}", self.next_id)
    }

    /// Addresses held on `network` by running sandboxes (private and public).
    fn used_on(&self, network: &str) -> Vec<Ipv4Addr> {
        let mut used = Vec::new();
        for c in self.containers.values() {
            if let FakeRole::Sandbox { spec, sandbox } = &c.role {
                if !c.status.running {
                    continue;
                }
                if spec.network.name == network {
                    used.extend(parse_addr(&sandbox.private_ip));
                }
                if spec.public_network.as_ref().map(|p| p.name.as_str()) == Some(network) {
                    used.extend(sandbox.public_ip.as_deref().and_then(parse_addr));
                }
            }
        }
        used
    }

    /// Whether a failure key (engine name or task-definition container name) matches `spec`.
    fn create_failure(&self, spec: &ContainerSpec) -> Option<RuntimeError> {
        self.create_failures.get(&spec.name).cloned().or_else(|| {
            spec.labels
                .get(labels::CONTAINER_NAME)
                .and_then(|n| self.create_failures.get(n).cloned())
        })
    }

    fn start_failure(&self, c: &FakeContainer) -> Option<String> {
        self.start_failures.get(&c.name).cloned().or_else(|| {
            c.labels
                .get(labels::CONTAINER_NAME)
                .and_then(|n| self.start_failures.get(n).cloned())
        })
    }

    fn stop_exit_code(&self, c: &FakeContainer) -> i64 {
        self.stop_exit_codes
            .get(&c.name)
            .or_else(|| {
                c.labels
                    .get(labels::CONTAINER_NAME)
                    .and_then(|n| self.stop_exit_codes.get(n))
            })
            .copied()
            .unwrap_or(c.stop_exit_code)
    }
}

struct Inner {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    /// Bumped on every change; `follow_logs` and `wait_for` wake on it.
    changed: watch::Sender<u64>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already; keep the state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }
}

/// The in-memory runtime. Cheap to clone (clones share state).
#[derive(Clone)]
pub struct FakeRuntime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeRuntime").finish_non_exhaustive()
    }
}

impl FakeRuntime {
    /// An empty fake whose timestamps (start, exit, log lines) come from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let (changed, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                clock,
                state: Mutex::new(State::default()),
                changed,
            }),
        }
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Changes the state of the container `key` names; `false` when there is none.
    fn update(&self, key: &str, f: impl FnOnce(&mut FakeContainer, Timestamp)) -> bool {
        let now = self.now();
        let found = {
            let mut st = self.inner.lock();
            match st.resolve(key) {
                Some(id) => match st.containers.get_mut(&id) {
                    Some(c) => {
                        f(c, now);
                        true
                    }
                    None => false,
                },
                None => false,
            }
        };
        if found {
            self.inner.notify();
        }
        found
    }

    // ---- set-up -------------------------------------------------------------------------

    /// Puts `reference` in the image store (as if pulled earlier).
    pub fn add_image(&self, reference: &str) {
        self.inner.lock().images.insert(reference.to_string());
        self.inner.notify();
    }

    /// Makes every pull of `reference` fail with `RuntimeError::Pull(message)`.
    pub fn fail_pull(&self, reference: &str, message: &str) {
        self.inner
            .lock()
            .pull_failures
            .insert(reference.to_string(), message.to_string());
    }

    /// Makes `create_container` fail with `error` for specs whose engine name or task-definition
    /// container name is `key`.
    pub fn fail_create(&self, key: &str, error: RuntimeError) {
        self.inner
            .lock()
            .create_failures
            .insert(key.to_string(), error);
    }

    /// Makes `start_container` fail with `RuntimeError::Container(message)` for containers whose
    /// engine name or task-definition container name is `key` (the container then reports the
    /// error and exit code 128, as the engine does).
    pub fn fail_start(&self, key: &str, message: &str) {
        self.inner
            .lock()
            .start_failures
            .insert(key.to_string(), message.to_string());
    }

    /// Makes every `create_sandbox` fail with `RuntimeError::Network(message)`.
    pub fn fail_sandbox(&self, message: &str) {
        self.inner.lock().sandbox_failure = Some(message.to_string());
    }

    /// Makes every call fail with `RuntimeError::Unavailable(message)` (the engine went away);
    /// `None` brings it back.
    pub fn set_unavailable(&self, message: Option<&str>) {
        self.inner.lock().unavailable = message.map(str::to_string);
        self.inner.notify();
    }

    /// Forgets every configured failure.
    pub fn clear_failures(&self) {
        let mut st = self.inner.lock();
        st.pull_failures.clear();
        st.create_failures.clear();
        st.start_failures.clear();
        st.sandbox_failure = None;
        st.unavailable = None;
    }

    /// The exit code `stop_container` gives containers named `key` (engine or task-definition
    /// name), e.g. 137 for one that ignores SIGTERM; 0 otherwise.
    pub fn set_stop_exit_code(&self, key: &str, code: i64) {
        self.inner
            .lock()
            .stop_exit_codes
            .insert(key.to_string(), code);
    }

    // ---- driving containers -------------------------------------------------------------

    /// The container exits with `code` now; `false` when `key` names no container.
    pub fn exit(&self, key: &str, code: i64) -> bool {
        self.update(key, |c, now| {
            c.status.running = false;
            c.status.exit_code = Some(code);
            c.status.finished_at = Some(now);
        })
    }

    /// The kernel kills the container for exceeding its memory limit (exit code 137).
    pub fn oom(&self, key: &str) -> bool {
        self.update(key, |c, now| {
            c.status.running = false;
            c.status.oom_killed = true;
            c.status.exit_code = Some(137);
            c.status.finished_at = Some(now);
        })
    }

    /// Sets what the container's health check reports.
    pub fn set_health(&self, key: &str, health: Health) -> bool {
        self.update(key, |c, _| c.status.health = Some(health))
    }

    /// Appends a line of output, stamped with the clock's time.
    pub fn push_log(&self, key: &str, line: &str) -> bool {
        let now = self.now();
        self.push_log_at(key, now, line)
    }

    /// Appends a line of output with an explicit timestamp.
    pub fn push_log_at(&self, key: &str, timestamp: Timestamp, line: &str) -> bool {
        self.update(key, |c, _| {
            c.logs.push(LogLine {
                timestamp,
                message: line.to_string(),
            })
        })
    }

    // ---- looking ------------------------------------------------------------------------

    /// Sets the usage counters the container `key` names reports from now on (CPU time in
    /// nanoseconds since it started, memory in use without page cache); `false` when there is
    /// no such container.
    pub fn set_usage(&self, key: &str, cpu_total_ns: u64, memory_used_bytes: u64) -> bool {
        let read_at = Some(self.now());
        let found = {
            let mut st = self.inner.lock();
            match st.resolve(key) {
                Some(id) => {
                    st.usage.insert(
                        id,
                        ContainerUsage {
                            read_at,
                            cpu_total_ns,
                            memory_used_bytes,
                        },
                    );
                    true
                }
                None => false,
            }
        };
        self.inner.notify();
        found
    }

    /// How many times `container_stats` (and so `container_usage`) was answered.
    pub fn stats_calls(&self) -> u64 {
        self.inner.lock().stats_calls
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().calls.clone()
    }

    /// The container `key` names (id, engine name, or task-definition container name).
    pub fn container(&self, key: &str) -> Option<FakeContainer> {
        let st = self.inner.lock();
        st.resolve(key)
            .and_then(|id| st.containers.get(&id).cloned())
    }

    /// Every container not removed, sandboxes included, oldest first.
    pub fn containers(&self) -> Vec<FakeContainer> {
        self.inner.lock().containers.values().cloned().collect()
    }

    /// Makes `packet_filtering` answer that this machine cannot filter, saying `why`
    /// (`None`: it can again).
    pub fn set_cannot_filter(&self, why: Option<&str>) {
        self.inner.lock().cannot_filter = why.map(str::to_string);
    }

    /// The network filter last applied in `namespace` (`None`: the machine's), if any.
    pub fn network_filter(&self, namespace: Option<&str>) -> Option<NetworkFilter> {
        self.inner
            .lock()
            .network_filters
            .get(&namespace.map(str::to_string))
            .map(|(_, f)| f.clone())
    }

    /// The rules that filter traffic to `address` (the member of a filter that has it).
    pub fn filter_of_address(&self, address: std::net::Ipv4Addr) -> Option<NetworkMember> {
        self.inner
            .lock()
            .network_filters
            .values()
            .flat_map(|(_, f)| f.members.iter())
            .find(|m| m.addresses.contains(&address))
            .cloned()
    }

    /// The networks ensured so far.
    pub fn networks(&self) -> Vec<NetworkSpec> {
        self.inner.lock().networks.values().cloned().collect()
    }

    /// Whether `reference` is in the image store.
    pub fn has_image(&self, reference: &str) -> bool {
        self.inner.lock().images.contains(reference)
    }

    /// Waits until `probe` answers `Some`, re-asking after every change to the fake. Wrap it in
    /// `tokio::time::timeout` so a test that waits for something that never happens fails.
    pub async fn wait_for<T>(&self, mut probe: impl FnMut(&FakeRuntime) -> Option<T>) -> T {
        let mut changes = self.inner.changed.subscribe();
        loop {
            changes.borrow_and_update();
            if let Some(t) = probe(self) {
                return t;
            }
            if changes.changed().await.is_err() {
                // Cannot happen while `self` holds the sender; wait for nothing rather than
                // spin.
                futures::future::pending::<()>().await;
            }
        }
    }

    /// Waits until the container `key` names is running, and returns it.
    pub async fn wait_running(&self, key: &str) -> FakeContainer {
        self.wait_for(|f| f.container(key).filter(|c| c.status.running))
            .await
    }

    fn sandbox_addresses(
        st: &State,
        spec: &SandboxSpec,
    ) -> Result<(Ipv4Addr, Option<Ipv4Addr>), RuntimeError> {
        let net = st.networks.get(&spec.network.name).ok_or_else(|| {
            RuntimeError::Network(format!("network {} not found", spec.network.name))
        })?;
        let cidr = Ipv4Net::parse(&net.cidr).ok_or_else(|| {
            RuntimeError::Network(format!(
                "network {} has an invalid IPv4 range '{}'",
                net.name, net.cidr
            ))
        })?;
        let range = Ipv4Net::parse(&spec.ip_range)
            .filter(|r| cidr.contains_net(r))
            .ok_or_else(|| {
                RuntimeError::Network(format!(
                    "address range {} of sandbox {} is not inside network {} ({})",
                    spec.ip_range, spec.name, net.name, net.cidr
                ))
            })?;
        let used = st.used_on(&net.name);
        let private = range
            .task_addresses()
            .find(|a| *a != cidr.gateway() && !used.contains(a))
            .ok_or_else(|| {
                RuntimeError::Network(format!(
                    "no free address left in {} on network {} for sandbox {}",
                    spec.ip_range, net.name, spec.name
                ))
            })?;
        let public = match &spec.public_network {
            None => None,
            Some(p) => {
                let pnet = st.networks.get(&p.name).ok_or_else(|| {
                    RuntimeError::Network(format!("network {} not found", p.name))
                })?;
                let pcidr = Ipv4Net::parse(&pnet.cidr).ok_or_else(|| {
                    RuntimeError::Network(format!(
                        "network {} has an invalid IPv4 range '{}'",
                        pnet.name, pnet.cidr
                    ))
                })?;
                let used = st.used_on(&pnet.name);
                // Engine-assigned: the lowest free address after the gateway.
                let first = u64::from(u32::from(pcidr.gateway())) + 1;
                let addr = (first..u64::from(pcidr.last()))
                    .filter_map(|a| u32::try_from(a).ok().map(Ipv4Addr::from))
                    .find(|a| !used.contains(a))
                    .ok_or_else(|| {
                        RuntimeError::Network(format!(
                            "no free address left on network {}",
                            pnet.name
                        ))
                    })?;
                Some(addr)
            }
        };
        Ok((private, public))
    }
}

/// Docker's MAC address for an IPv4 endpoint: `02:42` and the four address bytes.
fn mac_for(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

fn with_managed(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut all = labels.clone();
    all.insert(labels::MANAGED.to_string(), "true".to_string());
    all
}

fn new_status(id: &str) -> ContainerStatus {
    ContainerStatus {
        id: id.to_string(),
        running: false,
        started: false,
        exit_code: None,
        oom_killed: false,
        health: None,
        started_at: None,
        finished_at: None,
        error: None,
    }
}

fn name_conflict(name: &str, id: &str) -> String {
    format!(
        "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". \
         You have to remove (or rename) that container to be able to reuse that name."
    )
}

#[async_trait]
impl Runtime for FakeRuntime {
    fn describe(&self) -> String {
        "fake runtime (in memory)".to_string()
    }

    async fn ensure_network(&self, net: &NetworkSpec) -> Result<(), RuntimeError> {
        {
            let mut st = self.inner.lock();
            st.calls.push(Call::EnsureNetwork(net.name.clone()));
            st.check_available()?;
            if Ipv4Net::parse(&net.cidr).is_none() {
                return Err(RuntimeError::Network(format!(
                    "network {} has an invalid IPv4 range '{}'",
                    net.name, net.cidr
                )));
            }
            if let Some(existing) = st.networks.get(&net.name) {
                if Ipv4Net::parse(&existing.cidr) != Ipv4Net::parse(&net.cidr) {
                    return Err(RuntimeError::Network(format!(
                        "network {} exists with subnet [{}], not {}",
                        net.name, existing.cidr, net.cidr
                    )));
                }
            } else {
                let mut net = net.clone();
                net.labels = with_managed(&net.labels);
                st.networks.insert(net.name.clone(), net);
            }
        }
        self.inner.notify();
        Ok(())
    }

    async fn create_sandbox(&self, spec: &SandboxSpec) -> Result<Sandbox, RuntimeError> {
        let now = self.now();
        let sandbox = {
            let mut st = self.inner.lock();
            st.calls.push(Call::CreateSandbox(spec.name.clone()));
            st.check_available()?;
            if let Some(msg) = &st.sandbox_failure {
                return Err(RuntimeError::Network(msg.clone()));
            }
            if let Some(other) = st.containers.values().find(|c| c.name == spec.name) {
                return Err(RuntimeError::Network(name_conflict(&spec.name, &other.id)));
            }
            let (private, public) = Self::sandbox_addresses(&st, spec)?;
            let id = st.new_id();
            let sandbox = Sandbox {
                container_id: id.clone(),
                private_ip: private.to_string(),
                mac_address: mac_for(private),
                public_ip: public.map(|a| a.to_string()),
            };
            let mut status = new_status(&id);
            status.running = true;
            status.started = true;
            status.started_at = Some(now);
            st.containers.insert(
                id.clone(),
                FakeContainer {
                    id,
                    name: spec.name.clone(),
                    labels: with_managed(&spec.labels),
                    role: FakeRole::Sandbox {
                        spec: spec.clone(),
                        sandbox: sandbox.clone(),
                    },
                    status,
                    logs: Vec::new(),
                    // The pause process ignores SIGTERM and is killed.
                    stop_exit_code: 137,
                },
            );
            sandbox
        };
        self.inner.notify();
        Ok(sandbox)
    }

    async fn packet_filtering(&self) -> Result<(), String> {
        match &self.inner.lock().cannot_filter {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        }
    }

    async fn apply_network_filter(
        &self,
        table: &str,
        namespace: Option<&str>,
        filter: &NetworkFilter,
    ) -> Result<(), RuntimeError> {
        let mut state = self.inner.lock();
        let namespace = namespace.map(str::to_string);
        state
            .calls
            .push(Call::ApplyNetworkFilter(namespace.clone()));
        if filter.members.is_empty() {
            state.network_filters.remove(&namespace);
        } else {
            state
                .network_filters
                .insert(namespace, (table.to_string(), filter.clone()));
        }
        Ok(())
    }

    async fn image_present(&self, reference: &str) -> Result<bool, RuntimeError> {
        let mut st = self.inner.lock();
        st.calls.push(Call::ImagePresent(reference.to_string()));
        st.check_available()?;
        Ok(st.images.contains(reference))
    }

    async fn pull_image(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<(), RuntimeError> {
        {
            let mut st = self.inner.lock();
            st.calls.push(Call::PullImage {
                reference: reference.to_string(),
                auth: auth.cloned(),
            });
            st.check_available()?;
            if let Some(msg) = st.pull_failures.get(reference) {
                return Err(RuntimeError::Pull(msg.clone()));
            }
            st.images.insert(reference.to_string());
        }
        self.inner.notify();
        Ok(())
    }

    async fn create_container(
        &self,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError> {
        let id = {
            let mut st = self.inner.lock();
            st.calls.push(Call::CreateContainer(spec.name.clone()));
            st.check_available()?;
            if let Some(err) = st.create_failure(spec) {
                return Err(err);
            }
            if !st.images.contains(&spec.image) {
                return Err(RuntimeError::Container(format!(
                    "No such image: {}",
                    spec.image
                )));
            }
            if !st.containers.contains_key(&sandbox.container_id) {
                return Err(RuntimeError::Container(format!(
                    "No such container: {}",
                    sandbox.container_id
                )));
            }
            if let Some(other) = st.containers.values().find(|c| c.name == spec.name) {
                return Err(RuntimeError::Container(name_conflict(
                    &spec.name, &other.id,
                )));
            }
            let id = st.new_id();
            st.containers.insert(
                id.clone(),
                FakeContainer {
                    id: id.clone(),
                    name: spec.name.clone(),
                    labels: with_managed(&spec.labels),
                    role: FakeRole::Container {
                        spec: spec.clone(),
                        sandbox_id: sandbox.container_id.clone(),
                    },
                    status: new_status(&id),
                    logs: Vec::new(),
                    stop_exit_code: 0,
                },
            );
            id
        };
        self.inner.notify();
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<(), RuntimeError> {
        let now = self.now();
        let result = {
            let mut st = self.inner.lock();
            let name = st.name_of(id);
            st.calls.push(Call::StartContainer(name));
            st.check_available()?;
            let key = st
                .resolve(id)
                .ok_or_else(|| RuntimeError::Container(format!("No such container: {id}")))?;
            let failure = st.containers.get(&key).and_then(|c| st.start_failure(c));
            let sandbox_running = match st.containers.get(&key).map(|c| &c.role) {
                Some(FakeRole::Container { sandbox_id, .. }) => st
                    .containers
                    .get(sandbox_id)
                    .is_some_and(|s| s.status.running),
                _ => true,
            };
            let Some(c) = st.containers.get_mut(&key) else {
                return Err(RuntimeError::Container(format!("No such container: {id}")));
            };
            if c.status.running {
                Ok(())
            } else if let Some(msg) = failure {
                c.status.error = Some(msg.clone());
                c.status.exit_code = Some(128);
                Err(RuntimeError::Container(msg))
            } else if !sandbox_running {
                let msg = "cannot join network of a non running container".to_string();
                c.status.error = Some(msg.clone());
                c.status.exit_code = Some(128);
                Err(RuntimeError::Container(msg))
            } else {
                c.status.running = true;
                c.status.started = true;
                c.status.started_at = Some(now);
                c.status.finished_at = None;
                c.status.exit_code = None;
                c.status.error = None;
                c.status.oom_killed = false;
                if let FakeRole::Container { spec, .. } = &c.role {
                    if spec.health_check.is_some() {
                        c.status.health = Some(Health::Starting);
                    }
                }
                Ok(())
            }
        };
        self.inner.notify();
        result
    }

    async fn inspect_container(&self, id: &str) -> Result<Option<ContainerStatus>, RuntimeError> {
        let st = self.inner.lock();
        st.check_available()?;
        Ok(st
            .resolve(id)
            .and_then(|key| st.containers.get(&key))
            .map(|c| c.status.clone()))
    }

    async fn container_stats(&self, id: &str) -> Result<Option<serde_json::Value>, RuntimeError> {
        let mut st = self.inner.lock();
        st.check_available()?;
        st.stats_calls += 1;
        let Some(key) = st.resolve(id) else {
            return Ok(None);
        };
        let running = st.containers.get(&key).is_some_and(|c| c.status.running);
        Ok(st
            .usage
            .get(&key)
            .filter(|_| running)
            .map(|u| engine_stats_document(u, 16 << 20)))
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), RuntimeError> {
        let now = self.now();
        {
            let mut st = self.inner.lock();
            let name = st.name_of(id);
            st.calls.push(Call::StopContainer { name, timeout });
            st.check_available()?;
            let Some(key) = st.resolve(id) else {
                return Ok(());
            };
            let code = st.containers.get(&key).map(|c| st.stop_exit_code(c));
            if let (Some(c), Some(code)) = (st.containers.get_mut(&key), code) {
                if c.status.running {
                    c.status.running = false;
                    c.status.exit_code = Some(code);
                    c.status.finished_at = Some(now);
                }
            }
        }
        self.inner.notify();
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<(), RuntimeError> {
        {
            let mut st = self.inner.lock();
            let name = st.name_of(id);
            st.calls.push(Call::RemoveContainer(name));
            st.check_available()?;
            if let Some(key) = st.resolve(id) {
                st.containers.remove(&key);
            }
        }
        self.inner.notify();
        Ok(())
    }

    fn follow_logs(
        &self,
        id: &str,
        since: Option<Timestamp>,
    ) -> BoxStream<'static, Result<LogLine, RuntimeError>> {
        let start = {
            let mut st = self.inner.lock();
            let name = st.name_of(id);
            st.calls.push(Call::FollowLogs { name, since });
            match st.check_available() {
                Err(e) => Err(e),
                Ok(()) => st
                    .resolve(id)
                    .ok_or_else(|| RuntimeError::Container(format!("No such container: {id}"))),
            }
        };
        let key = match start {
            Ok(key) => key,
            Err(e) => return futures::stream::once(async move { Err(e) }).boxed(),
        };
        // Following a container that is not running delivers what it wrote and ends (as the
        // engine does).
        let follow = self.container(&key).is_some_and(|c| c.status.running);
        let state = FollowState {
            inner: self.inner.clone(),
            changes: self.inner.changed.subscribe(),
            key,
            next: 0,
            since,
            follow,
        };
        futures::stream::unfold(state, |mut st| async move {
            loop {
                st.changes.borrow_and_update();
                let step = {
                    let s = st.inner.lock();
                    match s.containers.get(&st.key) {
                        None => Step::End,
                        Some(c) => {
                            let fresh = c.logs[st.next.min(c.logs.len())..]
                                .iter()
                                .position(|l| st.since.is_none_or(|t| l.timestamp > t));
                            match fresh {
                                Some(offset) => {
                                    let at = st.next + offset;
                                    st.next = at + 1;
                                    match c.logs.get(at) {
                                        Some(line) => Step::Line(line.clone()),
                                        None => Step::End,
                                    }
                                }
                                None => {
                                    st.next = c.logs.len();
                                    if st.follow && c.status.running {
                                        Step::Wait
                                    } else {
                                        Step::End
                                    }
                                }
                            }
                        }
                    }
                };
                match step {
                    Step::Line(line) => return Some((Ok(line), st)),
                    Step::End => return None,
                    Step::Wait => {
                        if st.changes.changed().await.is_err() {
                            return None;
                        }
                    }
                }
            }
        })
        .boxed()
    }

    async fn list_managed(&self) -> Result<Vec<ManagedContainer>, RuntimeError> {
        let mut st = self.inner.lock();
        st.calls.push(Call::ListManaged);
        st.check_available()?;
        Ok(st
            .containers
            .values()
            .map(|c| ManagedContainer {
                id: c.id.clone(),
                name: c.name.clone(),
                labels: c.labels.clone(),
                running: c.status.running,
            })
            .collect())
    }
}

struct FollowState {
    inner: Arc<Inner>,
    changes: watch::Receiver<u64>,
    /// The container's id.
    key: String,
    /// Index of the next line to look at.
    next: usize,
    since: Option<Timestamp>,
    /// Whether to wait for more output (the container ran when following began).
    follow: bool,
}

enum Step {
    Line(LogLine),
    Wait,
    End,
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use wharf_core::FakeClock;

    fn fake() -> (FakeRuntime, Arc<FakeClock>) {
        let clock = Arc::new(FakeClock::new(Timestamp::from_millis(1_700_000_000_000)));
        (FakeRuntime::new(clock.clone()), clock)
    }

    fn net(name: &str, cidr: &str) -> NetworkSpec {
        NetworkSpec {
            name: name.into(),
            cidr: cidr.into(),
            labels: BTreeMap::new(),
        }
    }

    fn sandbox_spec(name: &str, public: bool) -> SandboxSpec {
        SandboxSpec {
            name: name.into(),
            network: net("vpc", "172.31.0.0/16"),
            ip_range: "172.31.16.0/20".into(),
            public_network: public.then(|| net("public", "100.64.0.0/16")),
            hostname: None,
            labels: BTreeMap::from([(labels::ROLE.to_string(), "sandbox".to_string())]),
        }
    }

    fn container_spec(name: &str, def_name: &str) -> ContainerSpec {
        ContainerSpec {
            name: name.into(),
            image: "app:1".into(),
            labels: BTreeMap::from([(labels::CONTAINER_NAME.to_string(), def_name.to_string())]),
            ..Default::default()
        }
    }

    async fn task(f: &FakeRuntime, n: u32) -> (Sandbox, String) {
        f.ensure_network(&net("vpc", "172.31.0.0/16"))
            .await
            .expect("network");
        let sb = f
            .create_sandbox(&sandbox_spec(&format!("t{n}-sandbox"), false))
            .await
            .expect("sandbox");
        f.add_image("app:1");
        let id = f
            .create_container(&sb, &container_spec(&format!("t{n}-web"), "web"))
            .await
            .expect("create");
        f.start_container(&id).await.expect("start");
        (sb, id)
    }

    #[tokio::test]
    async fn sandboxes_get_the_lowest_free_addresses_and_release_them() {
        let (f, _) = fake();
        f.ensure_network(&net("vpc", "172.31.0.0/16"))
            .await
            .expect("vpc");
        f.ensure_network(&net("public", "100.64.0.0/16"))
            .await
            .expect("public");
        let a = f.create_sandbox(&sandbox_spec("a", true)).await.expect("a");
        let b = f
            .create_sandbox(&sandbox_spec("b", false))
            .await
            .expect("b");
        assert_eq!(a.private_ip, "172.31.16.4");
        assert_eq!(a.mac_address, "02:42:ac:1f:10:04");
        assert_eq!(a.public_ip.as_deref(), Some("100.64.0.2"));
        assert_eq!(b.private_ip, "172.31.16.5");
        assert_eq!(b.public_ip, None);
        f.remove_container(&a.container_id).await.expect("remove");
        let c = f.create_sandbox(&sandbox_spec("c", true)).await.expect("c");
        assert_eq!(c.private_ip, "172.31.16.4");
        assert_eq!(c.public_ip.as_deref(), Some("100.64.0.2"));
        // Unknown networks and name clashes are errors, as in the engine.
        let mut orphan = sandbox_spec("d", false);
        orphan.network = net("nowhere", "10.0.0.0/16");
        orphan.ip_range = "10.0.0.0/24".into();
        assert!(matches!(
            f.create_sandbox(&orphan).await,
            Err(RuntimeError::Network(_))
        ));
        assert!(matches!(
            f.create_sandbox(&sandbox_spec("c", false)).await,
            Err(RuntimeError::Network(m)) if m.contains("already in use")
        ));
    }

    #[tokio::test]
    async fn containers_run_until_the_test_exits_them() {
        let (f, clock) = fake();
        let (_, id) = task(&f, 1).await;
        let s = f.inspect_container(&id).await.expect("ok").expect("exists");
        assert!(s.running && s.started);
        assert_eq!(
            s.started_at,
            Some(Timestamp::from_millis(1_700_000_000_000))
        );
        clock.advance(5_000);
        assert!(f.exit("web", 3));
        let s = f
            .inspect_container("t1-web")
            .await
            .expect("ok")
            .expect("exists");
        assert!(!s.running);
        assert_eq!(s.exit_code, Some(3));
        assert_eq!(
            s.finished_at,
            Some(Timestamp::from_millis(1_700_000_005_000))
        );
        assert!(!f.exit("nothing", 1));

        let (_, id2) = task(&f, 2).await;
        assert!(f.oom(&id2));
        let s = f
            .inspect_container(&id2)
            .await
            .expect("ok")
            .expect("exists");
        assert!(s.oom_killed);
        assert_eq!(s.exit_code, Some(137));
    }

    #[tokio::test]
    async fn failures_are_configurable() {
        let (f, _) = fake();
        f.fail_pull("app:2", "pull access denied");
        assert_eq!(
            f.pull_image("app:2", None).await,
            Err(RuntimeError::Pull("pull access denied".into()))
        );
        let auth = RegistryAuth {
            username: "AWS".into(),
            password: "pw".into(),
            server_address: "127.0.0.1:1".into(),
        };
        f.pull_image("app:1", Some(&auth)).await.expect("pull");
        assert!(f.has_image("app:1"));
        assert!(f.calls().contains(&Call::PullImage {
            reference: "app:1".into(),
            auth: Some(auth)
        }));

        f.ensure_network(&net("vpc", "172.31.0.0/16"))
            .await
            .expect("net");
        let sb = f
            .create_sandbox(&sandbox_spec("s", false))
            .await
            .expect("sb");
        f.fail_create("sidecar", RuntimeError::Container("bad user".into()));
        assert_eq!(
            f.create_container(&sb, &container_spec("t-sidecar", "sidecar"))
                .await,
            Err(RuntimeError::Container("bad user".into()))
        );
        f.fail_start("web", "exec: \"/nope\": not found");
        let id = f
            .create_container(&sb, &container_spec("t-web", "web"))
            .await
            .expect("create");
        assert!(f.start_container(&id).await.is_err());
        let s = f.inspect_container(&id).await.expect("ok").expect("exists");
        assert!(!s.started);
        assert_eq!(s.exit_code, Some(128));
        assert!(s.error.is_some());

        f.set_unavailable(Some("engine gone"));
        assert!(matches!(
            f.list_managed().await,
            Err(RuntimeError::Unavailable(_))
        ));
        f.clear_failures();
        assert!(f.list_managed().await.is_ok());
        f.fail_sandbox("no addresses");
        assert!(f.create_sandbox(&sandbox_spec("s2", false)).await.is_err());
    }

    #[tokio::test]
    async fn follow_logs_streams_pushed_lines_until_exit() {
        let (f, clock) = fake();
        let (_, id) = task(&f, 1).await;
        f.push_log("web", "one");
        let mut logs = f.follow_logs(&id, None);
        let first = logs.next().await;
        assert_eq!(
            first.map(|l| l.map(|l| l.message)),
            Some(Ok("one".to_string()))
        );
        let f2 = f.clone();
        let writer = tokio::spawn(async move {
            clock.advance(1);
            f2.push_log("web", "two");
            clock.advance(1);
            f2.push_log("web", "three");
            f2.exit("web", 0);
        });
        let rest: Vec<String> = logs
            .map(|l| l.map(|l| l.message).unwrap_or_default())
            .collect()
            .await;
        assert_eq!(rest, vec!["two", "three"]);
        writer.await.expect("writer");

        // Resuming after a timestamp skips what was delivered; an exited container's stream
        // ends after its output.
        let since = f
            .container("web")
            .and_then(|c| c.logs.first().map(|l| l.timestamp));
        let again: Vec<String> = f
            .follow_logs(&id, since)
            .map(|l| l.map(|l| l.message).unwrap_or_default())
            .collect()
            .await;
        assert_eq!(again, vec!["two", "three"]);
        assert!(f.calls().contains(&Call::FollowLogs {
            name: "t1-web".into(),
            since
        }));
    }

    #[tokio::test]
    async fn follow_logs_ends_when_removed_and_errs_when_missing() {
        let (f, _) = fake();
        let (_, id) = task(&f, 1).await;
        let logs = f.follow_logs(&id, None);
        let f2 = f.clone();
        let remover = tokio::spawn(async move { f2.remove_container("t1-web").await });
        let lines: Vec<_> = logs.collect().await;
        assert!(lines.is_empty());
        remover.await.expect("join").expect("removed");
        let missing: Vec<_> = f.follow_logs("nope", None).collect().await;
        assert!(matches!(
            missing.as_slice(),
            [Err(RuntimeError::Container(_))]
        ));
    }

    #[tokio::test]
    async fn stop_remove_and_list() {
        let (f, _) = fake();
        let (sb, id) = task(&f, 1).await;
        let managed = f.list_managed().await.expect("list");
        assert_eq!(managed.len(), 2);
        assert!(managed.iter().all(
            |m| m.running && m.labels.get(labels::MANAGED).map(String::as_str) == Some("true")
        ));
        f.set_stop_exit_code("web", 143);
        f.stop_container(&id, Duration::from_secs(30))
            .await
            .expect("stop");
        let s = f.inspect_container(&id).await.expect("ok").expect("exists");
        assert_eq!((s.running, s.exit_code), (false, Some(143)));
        f.stop_container(&id, Duration::from_secs(30))
            .await
            .expect("again");
        f.stop_container("missing", Duration::ZERO)
            .await
            .expect("missing");
        f.remove_container(&id).await.expect("remove");
        f.remove_container(&id).await.expect("idempotent");
        assert_eq!(f.inspect_container(&id).await, Ok(None));
        f.remove_container(&sb.container_id).await.expect("sandbox");
        assert!(f.list_managed().await.expect("list").is_empty());
        assert!(f.calls().contains(&Call::StopContainer {
            name: "t1-web".into(),
            timeout: Duration::from_secs(30)
        }));
    }

    #[tokio::test]
    async fn wait_for_wakes_on_changes() {
        let (f, _) = fake();
        let f2 = f.clone();
        let waiter = tokio::spawn(async move { f2.wait_running("web").await.name });
        let (_, _) = task(&f, 7).await;
        let name = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woke")
            .expect("join");
        assert_eq!(name, "t7-web");
        assert!(f.set_health("web", Health::Healthy));
        assert_eq!(
            f.container("t7-web").and_then(|c| c.status.health),
            Some(Health::Healthy)
        );
    }
}
