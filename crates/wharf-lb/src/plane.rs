//! [`LoadBalancerPlane`]: the [`LbPlane`] the control plane drives. `apply` compiles a snapshot
//! into per-port routing tables (rules with their target groups resolved, TLS configs:
//! `target_groups`, `compile_tables`), binds the ports that are new (`bind_new_ports`, all or
//! nothing: a port in use fails the whole `apply` before anything changes), then commits:
//! target groups updated, health checks started / stopped (`commit_target_groups`), tables
//! swapped and ports no longer used closed (`install_tables`). It also runs the drain reaper.

use crate::config::{server_builder, PlaneConfig, Shared};
use crate::health;
use crate::listener;
use crate::metrics::{arn_parts, data_points, GroupTotals, LbCounters};
use crate::netns;
use crate::port::{ClientFilter, LbListener, PortShared, PortTable};
use crate::routing::Rule;
use crate::target_states::TargetGroup;
use crate::tls::{self, CertCache, TlsListener};
use crate::upstream::Connector;
use arc_swap::ArcSwap;
use http::HeaderValue;
use rustls::crypto::CryptoProvider;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use wharf_core::lb_plane::{
    Action, CertificateSource, LbPlane, LbSnapshot, ListenerProtocol, ListenerSpec,
    TargetHealthReport,
};
use wharf_core::{Clock, MetricDatum, MetricSink, MetricTime};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An open port.
struct OpenPort {
    shared: Arc<PortShared>,
    released: Arc<AtomicBool>,
}

#[derive(Default)]
struct State {
    ports: HashMap<u16, OpenPort>,
    /// Every load balancer's metric counters, by ARN (they outlive `apply`s).
    lb_counters: HashMap<String, Arc<LbCounters>>,
    /// Ports closed by an earlier `apply` whose sockets may not be released yet.
    closing: HashMap<u16, Arc<AtomicBool>>,
    certs: CertCache,
    /// The load balancers' own addresses target groups connect from, with their VPC's
    /// namespace (see `source_address`).
    source_addresses: BTreeMap<std::net::Ipv4Addr, Option<String>>,
}

struct Inner {
    handle: Handle,
    shared: Arc<Shared>,
    certs: Arc<dyn CertificateSource>,
    provider: Arc<CryptoProvider>,
    /// Serialises `apply`.
    state: Mutex<State>,
    groups: Arc<ArcSwap<HashMap<String, Arc<TargetGroup>>>>,
    /// What the metrics publisher reads: each load balancer's counters and target groups.
    metered: Arc<ArcSwap<Vec<Metered>>>,
    /// Cancelled by `shutdown`: listeners, connections, health checks, the drain reaper.
    shutdown: CancellationToken,
}

/// The load balancer data plane. Cheap to clone; the last clone dropped shuts it down.
#[derive(Clone)]
pub struct LoadBalancerPlane {
    inner: Arc<Inner>,
    _guard: Arc<ShutdownOnDrop>,
}

struct ShutdownOnDrop(CancellationToken);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl std::fmt::Debug for LoadBalancerPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadBalancerPlane")
            .field("config", &self.inner.shared.config)
            .finish_non_exhaustive()
    }
}

impl LoadBalancerPlane {
    /// A plane with no listeners yet; its tasks run on `handle`. Certificates for HTTPS
    /// listeners come from `certs`; `clock` dates deregistrations, trace ids and cookies.
    pub fn new(
        handle: Handle,
        config: PlaneConfig,
        certs: Arc<dyn CertificateSource>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let provider = tls::provider();
        let mut target_tls = tls::target_client_config(Arc::clone(&provider));
        target_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let connector = Connector::new(
            tokio_rustls::TlsConnector::from(Arc::new(target_tls)),
            config.target_connect_timeout,
        );
        let auto = server_builder(&config);
        let h1_only = server_builder(&config).http1_only();
        let h2_only = server_builder(&config).http2_only();
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared {
            connections: Arc::new(Semaphore::new(config.max_connections.max(1))),
            config,
            clock,
            connector,
            auto,
            h1_only,
            h2_only,
        });
        let groups: Arc<ArcSwap<HashMap<String, Arc<TargetGroup>>>> = Arc::default();
        handle.spawn(reap(
            Arc::clone(&groups),
            Arc::clone(&shared),
            shutdown.clone(),
        ));
        Self {
            inner: Arc::new(Inner {
                handle,
                shared,
                certs,
                provider,
                state: Mutex::new(State::default()),
                groups,
                metered: Arc::default(),
                shutdown: shutdown.clone(),
            }),
            _guard: Arc::new(ShutdownOnDrop(shutdown)),
        }
    }

    /// Stops everything: listeners close, connections finish their requests and close, health
    /// checks stop. Later `apply` calls fail.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }

    /// Publishes every load balancer's `AWS/ApplicationELB` metrics to `sink` once per
    /// `time.publish_interval()` until shutdown (nothing with [`PlaneConfig::metrics`] off).
    pub fn publish_metrics(&self, sink: Arc<dyn MetricSink>, time: MetricTime) {
        if !self.inner.shared.config.metrics {
            return;
        }
        self.inner.handle.spawn(publish(
            Arc::clone(&self.inner.metered),
            sink,
            time.publish_interval(),
            Arc::clone(&self.inner.shared.clock),
            self.inner.shutdown.clone(),
        ));
    }

    /// The ports listening now, ascending.
    pub fn ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = lock(&self.inner.state).ports.keys().copied().collect();
        ports.sort_unstable();
        ports
    }

    fn bind_port(&self, state: &mut State, port: u16) -> Result<std::net::TcpListener, String> {
        let ip = self.inner.shared.config.bind_address;
        let addr = SocketAddr::new(ip, port);
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            match listener::bind(addr) {
                Ok(l) => {
                    state.closing.remove(&port);
                    return Ok(l);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    let ours_closing = state
                        .closing
                        .get(&port)
                        .is_some_and(|released| !released.load(Ordering::Acquire));
                    if ours_closing && Instant::now() < deadline {
                        // Our own listener on this port is still shutting down.
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    return Err(format!("port {port} is already in use on {ip}"));
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(format!(
                        "port {port} on {ip}: permission denied (ports below 1024 need root, \
                         CAP_NET_BIND_SERVICE or sysctl net.ipv4.ip_unprivileged_port_start)"
                    ))
                }
                Err(e) => return Err(format!("port {port} on {ip}: {e}")),
            }
        }
    }

    /// The snapshot's target groups at run time: the existing object for an ARN already known
    /// (its health state survives), a new one otherwise. Fails, changing nothing, when one of
    /// them cannot be served.
    fn target_groups(
        &self,
        snapshot: &LbSnapshot,
        old_groups: &HashMap<String, Arc<TargetGroup>>,
    ) -> Result<HashMap<String, Arc<TargetGroup>>, String> {
        for tg in &snapshot.target_groups {
            TargetGroup::validate(tg).map_err(|e| format!("target group {}: {e}", tg.arn))?;
        }
        let inner = &self.inner;
        let mut groups: HashMap<String, Arc<TargetGroup>> = HashMap::new();
        for tg in &snapshot.target_groups {
            let g = old_groups.get(&tg.arn).cloned().unwrap_or_else(|| {
                Arc::new(TargetGroup::new(
                    &tg.arn,
                    &inner.shutdown,
                    inner.shared.config.max_idle_per_target,
                ))
            });
            groups.insert(tg.arn.clone(), g);
        }
        Ok(groups)
    }

    /// Every port's routing table, with the ARNs of the certificates the HTTPS listeners use.
    fn compile_tables(
        &self,
        state: &mut State,
        snapshot: &LbSnapshot,
        groups: &HashMap<String, Arc<TargetGroup>>,
        counters: &HashMap<String, Arc<LbCounters>>,
    ) -> Result<(BTreeMap<u16, PortTable>, HashSet<String>), String> {
        let mut tables: BTreeMap<u16, PortTable> = BTreeMap::new();
        let mut used_certs: HashSet<String> = HashSet::new();
        for lb in &snapshot.load_balancers {
            for l in &lb.listeners {
                let rules = l
                    .rules
                    .iter()
                    .map(|r| Rule::compile(r, &|arn| groups.get(arn).cloned()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("listener {}: {e}", l.arn))?;
                let tls = match l.protocol {
                    ListenerProtocol::Http => None,
                    ListenerProtocol::Https => {
                        Some(self.tls_listener(state, l, &mut used_certs)?)
                    }
                };
                let entry = Arc::new(LbListener {
                    dns_name: lb.dns_name.to_ascii_lowercase(),
                    idle_timeout: lb.idle_timeout.max(Duration::from_millis(100)),
                    rules,
                    tls,
                    metrics: counters.get(&lb.arn).cloned(),
                    clients: lb
                        .client_filter
                        .as_ref()
                        .map(|rules| ClientFilter::for_port(rules, l.port)),
                });
                let table = tables.entry(l.port).or_default();
                match l.protocol {
                    ListenerProtocol::Http => table.http.push(entry),
                    ListenerProtocol::Https => table.https.push(entry),
                }
            }
        }
        Ok((tables, used_certs))
    }

    /// The TLS side of HTTPS listener `l`: its certificates (loaded once, cached across
    /// applies; each ARN is added to `used_certs`) and its policy's protocol versions.
    fn tls_listener(
        &self,
        state: &mut State,
        l: &ListenerSpec,
        used_certs: &mut HashSet<String>,
    ) -> Result<TlsListener, String> {
        let inner = &self.inner;
        if l.certificate_arns.is_empty() {
            return Err(format!("HTTPS listener {} has no certificate", l.arn));
        }
        let mut certs = Vec::with_capacity(l.certificate_arns.len());
        for arn in &l.certificate_arns {
            certs.push(state.certs.get(arn, &*inner.certs, &inner.provider)?);
            used_certs.insert(arn.clone());
        }
        TlsListener::new(certs, l.ssl_policy.as_deref(), Arc::clone(&inner.provider))
            .map_err(|e| format!("listener {}: {e}", l.arn))
    }

    /// Binds every port of `tables` not open yet, all or nothing: when one fails, the sockets
    /// bound so far are dropped (closed) with the error.
    fn bind_new_ports(
        &self,
        state: &mut State,
        tables: &BTreeMap<u16, PortTable>,
    ) -> Result<HashMap<u16, std::net::TcpListener>, String> {
        let mut bound = HashMap::new();
        for port in tables.keys() {
            if !state.ports.contains_key(port) {
                bound.insert(*port, self.bind_port(state, *port)?);
            }
        }
        Ok(bound)
    }

    /// Makes `groups` the plane's target groups: groups no longer in the snapshot stop their
    /// health checks, the others take their new settings and targets (health checks started
    /// for new targets), then the set is swapped for the request path.
    fn commit_target_groups(
        &self,
        snapshot: &LbSnapshot,
        old_groups: &HashMap<String, Arc<TargetGroup>>,
        groups: HashMap<String, Arc<TargetGroup>>,
        used: &HashSet<&str>,
    ) {
        let inner = &self.inner;
        for (arn, g) in old_groups.iter() {
            if !groups.contains_key(arn) {
                g.cancel.cancel();
            }
        }
        for tg in &snapshot.target_groups {
            let Some(group) = groups.get(&tg.arn) else {
                continue;
            };
            for target in group.update(tg, used.contains(tg.arn.as_str())) {
                inner.handle.spawn(health::run(
                    inner.shared.connector.clone(),
                    Arc::clone(group),
                    target,
                ));
            }
        }
        inner.groups.store(Arc::new(groups));
    }

    /// Swaps the routing table of every port that stays open, starts the accept loops of the
    /// ports just `bound`, and closes the ports `tables` no longer has.
    fn install_tables(
        &self,
        state: &mut State,
        tables: BTreeMap<u16, PortTable>,
        mut bound: HashMap<u16, std::net::TcpListener>,
    ) {
        let inner = &self.inner;
        let keep: HashSet<u16> = tables.keys().copied().collect();
        for (port, table) in tables {
            if let Some(open) = state.ports.get(&port) {
                open.shared.table.store(Arc::new(table));
                continue;
            }
            let Some(socket) = bound.remove(&port) else {
                continue;
            };
            let shared = Arc::new(PortShared {
                port,
                port_value: HeaderValue::from(port),
                table: ArcSwap::from_pointee(table),
                shared: Arc::clone(&inner.shared),
                cancel: inner.shutdown.child_token(),
            });
            let released = Arc::new(AtomicBool::new(false));
            inner.handle.spawn(listener::accept_loop(
                socket,
                Arc::clone(&shared),
                Arc::clone(&released),
            ));
            tracing::info!(port, "load balancer listening");
            state.ports.insert(port, OpenPort { shared, released });
        }
        close_ports_except(state, &keep);
    }
}

/// The ARNs of the target groups some listener rule forwards to (the others are `unused`).
fn used_target_groups(snapshot: &LbSnapshot) -> HashSet<&str> {
    let mut used: HashSet<&str> = HashSet::new();
    for lb in &snapshot.load_balancers {
        for l in &lb.listeners {
            for r in &l.rules {
                if let Action::Forward { target_groups, .. } = &r.action {
                    used.extend(target_groups.iter().map(|(arn, _)| arn.as_str()));
                }
            }
        }
    }
    used
}

/// Closes every open port not in `keep` (its socket is released once its accept loop ends)
/// and forgets closed ports whose sockets are released.
fn close_ports_except(state: &mut State, keep: &HashSet<u16>) {
    let closed: Vec<u16> = state
        .ports
        .keys()
        .filter(|p| !keep.contains(p))
        .copied()
        .collect();
    for port in closed {
        if let Some(open) = state.ports.remove(&port) {
            open.shared.cancel.cancel();
            state.closing.insert(port, open.released);
            tracing::info!(port, "load balancer port closed");
        }
    }
    state
        .closing
        .retain(|_, released| !released.load(Ordering::Acquire));
}

/// The metric counters of every load balancer of `snapshot` (the existing ones kept), none
/// with metrics off.
fn lb_counters(state: &State, snapshot: &LbSnapshot, on: bool) -> HashMap<String, Arc<LbCounters>> {
    if !on {
        return HashMap::new();
    }
    snapshot
        .load_balancers
        .iter()
        .map(|lb| {
            let c = state.lb_counters.get(&lb.arn).cloned().unwrap_or_default();
            (lb.arn.clone(), c)
        })
        .collect()
}

/// What the publisher reads per load balancer: its counters and the target groups its rules
/// forward to (a group forwarded to by several load balancers under the first only).
fn metered(
    snapshot: &LbSnapshot,
    groups: &HashMap<String, Arc<TargetGroup>>,
    counters: &HashMap<String, Arc<LbCounters>>,
) -> Vec<Metered> {
    let mut claimed: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for lb in &snapshot.load_balancers {
        let Some(c) = counters.get(&lb.arn) else {
            continue;
        };
        let mut own = Vec::new();
        for l in &lb.listeners {
            for r in &l.rules {
                if let Action::Forward { target_groups, .. } = &r.action {
                    for (arn, _) in target_groups {
                        if claimed.insert(arn.as_str()) {
                            own.extend(groups.get(arn).cloned());
                        }
                    }
                }
            }
        }
        out.push(Metered {
            arn: lb.arn.clone(),
            zone: lb.availability_zones.first().cloned(),
            counters: Arc::clone(c),
            groups: own,
        });
    }
    out
}

impl LbPlane for LoadBalancerPlane {
    fn apply(&self, snapshot: LbSnapshot) -> Result<(), String> {
        if self.inner.shutdown.is_cancelled() {
            return Err("the load balancer data plane is shut down".to_string());
        }
        let mut state = lock(&self.inner.state);
        // 1. Compile everything; nothing changes yet.
        let used = used_target_groups(&snapshot);
        let old_groups = self.inner.groups.load_full();
        let groups = self.target_groups(&snapshot, &old_groups)?;
        let counters = lb_counters(&state, &snapshot, self.inner.shared.config.metrics);
        let (tables, used_certs) =
            self.compile_tables(&mut state, &snapshot, &groups, &counters)?;
        let metered = metered(&snapshot, &groups, &counters);
        // 2. Bind the new ports (dropping what was bound if one fails).
        let bound = self.bind_new_ports(&mut state, &tables)?;
        // 3. Commit: target groups, then routing tables, then closures.
        self.commit_target_groups(&snapshot, &old_groups, groups, &used);
        self.install_tables(&mut state, tables, bound);
        state.certs.retain(&used_certs);
        let sources = snapshot
            .target_groups
            .iter()
            .filter_map(|tg| {
                // The default VPC's namespace does not exist: its bridge is the machine's.
                let namespace = tg.network_namespace.clone().filter(|ns| netns::exists(ns));
                Some((tg.source_address?, namespace))
            })
            .collect();
        crate::source_address::retain(&mut state.source_addresses, sources, &self.inner.handle);
        state.lb_counters = counters;
        self.inner.metered.store(Arc::new(metered));
        Ok(())
    }

    fn target_health(&self, arn: &str) -> Vec<TargetHealthReport> {
        self.inner
            .groups
            .load()
            .get(arn)
            .map(|g| g.reports())
            .unwrap_or_default()
    }

    fn drained(&self, arn: &str) -> Vec<(String, u16)> {
        let now = self.inner.shared.clock.now().millis;
        self.inner
            .groups
            .load()
            .get(arn)
            .map(|g| g.drained(now))
            .unwrap_or_default()
    }
}

/// Cuts what is still in flight to targets whose deregistration delay is over, and closes
/// expired idle connections to targets.
async fn reap(
    groups: Arc<ArcSwap<HashMap<String, Arc<TargetGroup>>>>,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let mut ticks: u32 = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        ticks = ticks.wrapping_add(1);
        let now = shared.clock.now().millis;
        for g in groups.load().values() {
            g.drained(now);
            if ticks.is_multiple_of(5) {
                g.sweep_pools(shared.config.target_keep_alive);
            }
        }
    }
}

/// One load balancer as the metrics publisher sees it.
struct Metered {
    arn: String,
    /// Its first Availability Zone: wharf's single load balancer node.
    zone: Option<String>,
    counters: Arc<LbCounters>,
    groups: Vec<Arc<TargetGroup>>,
}

/// Every `period`: reads and resets each load balancer's counters and hands the data points to
/// `sink`, per account and region (from the load balancer's ARN).
async fn publish(
    metered: Arc<ArcSwap<Vec<Metered>>>,
    sink: Arc<dyn MetricSink>,
    period: Duration,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once: it starts the first period.
    ticks.tick().await;
    let mut start = clock.now();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let now = clock.now();
        let mut batches: BTreeMap<(String, String), Vec<MetricDatum>> = BTreeMap::new();
        for m in metered.load().iter() {
            let totals = m.counters.take();
            let groups: Vec<(String, GroupTotals)> = m
                .groups
                .iter()
                .map(|g| {
                    let name = arn_parts(&g.arn, "targetgroup").map(|p| p.2);
                    (name, g.counters.take(g.host_counts()))
                })
                .filter_map(|(name, t)| Some((name?, t)))
                .collect();
            let Some((account, region, lb)) = arn_parts(&m.arn, "loadbalancer") else {
                continue;
            };
            let data = data_points(&lb, m.zone.as_deref(), &totals, &groups, start);
            batches.entry((account, region)).or_default().extend(data);
        }
        start = now;
        for ((account, region), data) in batches {
            if data.is_empty() {
                continue;
            }
            let sink = Arc::clone(&sink);
            // The sink writes to the store: off the async workers.
            let _ = tokio::task::spawn_blocking(move || sink.put(&account, &region, data)).await;
        }
    }
}
