//! Target groups at run time: their targets with health state, requests in flight and
//! deregistration, the list of targets that may receive traffic (healthy ones, or every
//! unhealthy one when none is healthy: ALB's fail open; never one still `initial`), target
//! selection (round robin or
//! least outstanding requests, slow start, `AWSALB` stickiness), and the reports
//! DescribeTargetHealth shows.
//!
//! A target group's runtime object lives as long as the snapshot names its ARN, so health state
//! survives every `apply`; rules hold it by `Arc` so a request finds its group without a lookup.

use crate::health_settings::{CheckResult, Failure, HealthSettings};
use crate::metrics::{GroupCounters, HostCounts};
use crate::netns::ConnectFrom;
use crate::upstream::{Pool, Sender};
use arc_swap::ArcSwap;
use http::uri::Authority;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use wharf_core::lb_plane::{Algorithm, TargetGroupSpec, TargetHealthReport, TargetSpec};

/// `deregistered_at_ms` of a target that is not deregistered.
const REGISTERED: i64 = i64::MIN;

/// A stable 64-bit FNV-1a hash: stickiness cookie values name target groups and targets by it.
pub(crate) fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Monotonic nanoseconds since the first call (0 is reserved for "never").
fn mono_nanos() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The health-check state machine's states (draining and unused are derived, not stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HealthState {
    /// Registered, not yet `healthy_threshold` successes nor `unhealthy_threshold` failures.
    Initial,
    /// Passed `healthy_threshold` consecutive checks.
    Healthy,
    /// Failed `unhealthy_threshold` consecutive checks.
    Unhealthy,
}

#[derive(Debug)]
struct Health {
    state: HealthState,
    successes: u32,
    failures: u32,
    last_failure: Option<Failure>,
}

impl Health {
    fn new() -> Self {
        Self {
            state: HealthState::Initial,
            successes: 0,
            failures: 0,
            last_failure: None,
        }
    }
}

/// A registered (or draining) target.
#[derive(Debug)]
pub struct Target {
    /// IP address (or host name) as registered.
    pub(crate) id: String,
    /// Traffic port.
    pub(crate) port: u16,
    /// Stable identity for the `AWSALB` cookie.
    pub(crate) key: u64,
    /// `ip:port` (IPv6 in brackets), the authority of upstream request URIs.
    pub(crate) authority: Authority,
    /// Where connections to it are made from (its VPC's namespace, the load balancer's
    /// address).
    pub(crate) from: ConnectFrom,
    /// Requests (and WebSocket tunnels) in flight: least outstanding requests and draining.
    in_flight: AtomicUsize,
    /// Milliseconds since the epoch (the plane's clock) of deregistration, or [`REGISTERED`].
    deregistered_at_ms: AtomicI64,
    health: Mutex<Health>,
    /// When it last became healthy ([`mono_nanos`]; 0 = not healthy): the slow start ramp.
    healthy_since: AtomicU64,
    /// Cancelled when its deregistration delay is over: remaining requests and tunnels are cut.
    pub(crate) drain: CancellationToken,
    /// Cancelled when the target leaves the snapshot (or its group does): health checks stop.
    pub(crate) checks: CancellationToken,
    /// Pokes the health checker (the group became used, the target was re-registered).
    pub(crate) wake: Notify,
    /// Idle keep-alive connections to it.
    pub(crate) pool: Pool,
    /// Most idle connections kept in `pool`.
    max_idle: usize,
}

impl Target {
    fn new(
        spec: &TargetSpec,
        group_key: u64,
        parent: &CancellationToken,
        max_idle: usize,
        from: ConnectFrom,
    ) -> Result<Self, String> {
        let host = match spec.id.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
            _ => spec.id.clone(),
        };
        let authority: Authority = format!("{host}:{}", spec.port)
            .parse()
            .map_err(|_| format!("target id {:?} is not an address", spec.id))?;
        Ok(Self {
            id: spec.id.clone(),
            port: spec.port,
            key: stable_hash(&[
                &group_key.to_le_bytes(),
                spec.id.as_bytes(),
                &spec.port.to_le_bytes(),
            ]),
            authority,
            from,
            in_flight: AtomicUsize::new(0),
            deregistered_at_ms: AtomicI64::new(spec.deregistered_at_ms.unwrap_or(REGISTERED)),
            health: Mutex::new(Health::new()),
            healthy_since: AtomicU64::new(0),
            drain: CancellationToken::new(),
            checks: parent.child_token(),
            wake: Notify::new(),
            pool: Pool::default(),
            max_idle,
        })
    }

    /// The host part of the authority (brackets kept for IPv6).
    pub(crate) fn host(&self) -> &str {
        self.authority
            .as_str()
            .rsplit_once(':')
            .map_or("", |(h, _)| h)
    }

    /// Deregistered: no new requests.
    pub(crate) fn is_draining(&self) -> bool {
        self.deregistered_at_ms.load(Ordering::Relaxed) != REGISTERED
    }

    /// Requests and tunnels in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(crate) fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn end(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn health_state(&self) -> HealthState {
        lock(&self.health).state
    }

    /// Records a health check; returns whether the state changed.
    pub(crate) fn record(&self, result: CheckResult, settings: &HealthSettings) -> bool {
        let mut h = lock(&self.health);
        let before = h.state;
        match result {
            CheckResult::Pass => {
                h.failures = 0;
                h.successes = h.successes.saturating_add(1);
                if h.state != HealthState::Healthy && h.successes >= settings.healthy_threshold {
                    h.state = HealthState::Healthy;
                    h.last_failure = None;
                    self.healthy_since.store(mono_nanos(), Ordering::Relaxed);
                }
            }
            CheckResult::Fail(f) => {
                h.successes = 0;
                h.failures = h.failures.saturating_add(1);
                h.last_failure = Some(f);
                if h.state != HealthState::Unhealthy && h.failures >= settings.unhealthy_threshold {
                    h.state = HealthState::Unhealthy;
                    self.healthy_since.store(0, Ordering::Relaxed);
                }
            }
        }
        h.state != before
    }

    fn reset_health(&self) {
        *lock(&self.health) = Health::new();
        self.healthy_since.store(0, Ordering::Relaxed);
    }

    /// Slow start weight in (0, 1]: linear from the moment it became healthy.
    fn weight(&self, slow_start: Duration) -> f64 {
        let since = self.healthy_since.load(Ordering::Relaxed);
        if slow_start.is_zero() || since == 0 {
            return 1.0;
        }
        let elapsed = mono_nanos().saturating_sub(since) as f64;
        (elapsed / slow_start.as_nanos() as f64).clamp(0.02, 1.0)
    }

    fn report(&self, used: bool) -> TargetHealthReport {
        let (state, reason, description) = if self.is_draining() {
            (
                "draining",
                Some("Target.DeregistrationInProgress"),
                Some("Target deregistration is in progress".to_string()),
            )
        } else if !used {
            (
                "unused",
                Some("Target.NotInUse"),
                Some(
                    "Target group is not configured to receive traffic from the load balancer"
                        .to_string(),
                ),
            )
        } else {
            let h = lock(&self.health);
            match h.state {
                HealthState::Initial => (
                    "initial",
                    Some("Elb.RegistrationInProgress"),
                    Some("Target registration is in progress".to_string()),
                ),
                HealthState::Healthy => ("healthy", None, None),
                HealthState::Unhealthy => match h.last_failure {
                    Some(Failure::Code(code)) => (
                        "unhealthy",
                        Some("Target.ResponseCodeMismatch"),
                        Some(format!("Health checks failed with these codes: [{code}]")),
                    ),
                    Some(Failure::Timeout) => (
                        "unhealthy",
                        Some("Target.Timeout"),
                        Some("Request timed out".to_string()),
                    ),
                    _ => (
                        "unhealthy",
                        Some("Target.FailedHealthChecks"),
                        Some("Health checks failed".to_string()),
                    ),
                },
            }
        };
        TargetHealthReport {
            id: self.id.clone(),
            port: self.port,
            state: state.to_string(),
            reason: reason.map(str::to_string),
            description,
        }
    }
}

/// A request (or tunnel) in flight to a target; dropping it ends it.
#[derive(Debug)]
pub(crate) struct InFlight {
    target: Arc<Target>,
    /// The client connection's counter (the idle timeout does not close a connection that
    /// waits for a target).
    conn: Arc<AtomicUsize>,
}

impl InFlight {
    pub(crate) fn new(target: Arc<Target>, conn: Arc<AtomicUsize>) -> Self {
        target.begin();
        conn.fetch_add(1, Ordering::Relaxed);
        Self { target, conn }
    }

    /// The target's deregistration delay is over: cut what is still in flight.
    pub(crate) fn cut(&self) -> bool {
        self.target.drain.is_cancelled()
    }

    /// Returns the connection the request used to the target's pool.
    pub(crate) fn release_connection(&self, sender: Sender) {
        if !self.target.is_draining() {
            self.target.pool.put(sender, self.target.max_idle);
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.target.end();
        self.conn.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The settings of a target group that requests and health checks read.
#[derive(Debug, Clone)]
pub(crate) struct GroupSettings {
    /// Talk TLS to the targets.
    pub(crate) https: bool,
    pub(crate) health: HealthSettings,
    pub(crate) deregistration_delay: Duration,
    /// Target stickiness (`AWSALB` cookie) duration.
    pub(crate) stickiness: Option<Duration>,
}

/// The targets of a group and the subset that may receive new requests.
#[derive(Debug, Default)]
struct Members {
    all: Vec<Arc<Target>>,
    /// Healthy non-draining targets, or (fail open) every unhealthy non-draining target.
    routable: Vec<Arc<Target>>,
    /// `routable` is the fail-open set: slow start does not apply.
    fail_open: bool,
    algorithm: Option<Algorithm>,
    slow_start: Duration,
}

impl Members {
    /// The members `all`, with the routable subset computed from their current state.
    fn build(all: Vec<Arc<Target>>, algorithm: Algorithm, slow_start: Duration) -> Self {
        let healthy: Vec<Arc<Target>> = all
            .iter()
            .filter(|t| !t.is_draining() && t.health_state() == HealthState::Healthy)
            .cloned()
            .collect();
        let (routable, fail_open) = if healthy.is_empty() {
            // ALB fails open when a group holds only unhealthy targets; a target still in
            // `initial` never gets traffic before it passes its health checks.
            let open: Vec<Arc<Target>> = all
                .iter()
                .filter(|t| !t.is_draining() && t.health_state() == HealthState::Unhealthy)
                .cloned()
                .collect();
            (open, true)
        } else {
            (healthy, false)
        };
        Self {
            all,
            routable,
            fail_open,
            algorithm: Some(algorithm),
            slow_start,
        }
    }
}

/// A target group at run time.
#[derive(Debug)]
pub struct TargetGroup {
    /// Its ARN.
    pub(crate) arn: String,
    /// Stable identity for the `AWSALBTG` cookie.
    pub(crate) key: u64,
    settings: ArcSwap<GroupSettings>,
    members: ArcSwap<Members>,
    /// Round-robin cursor.
    rr: AtomicUsize,
    /// A listener rule forwards to it (else its targets are `unused` and not checked).
    used: AtomicBool,
    /// Serialises recomputations of `routable` (health tasks and `apply` race).
    recompute_lock: Mutex<()>,
    /// Cancelled when the group leaves the snapshot: its health checks stop.
    pub(crate) cancel: CancellationToken,
    /// Most idle keep-alive connections per target.
    max_idle: usize,
    /// Its metric counters (requests, target answers, response times).
    pub(crate) counters: GroupCounters,
}

impl TargetGroup {
    /// An empty group (no targets yet) named `arn`; its targets keep up to `max_idle` idle
    /// connections each.
    pub(crate) fn new(arn: &str, parent: &CancellationToken, max_idle: usize) -> Self {
        Self {
            arn: arn.to_string(),
            key: stable_hash(&[arn.as_bytes()]),
            settings: ArcSwap::from_pointee(GroupSettings {
                https: false,
                health: HealthSettings::default(),
                deregistration_delay: Duration::from_secs(300),
                stickiness: None,
            }),
            members: ArcSwap::from_pointee(Members::default()),
            rr: AtomicUsize::new(0),
            used: AtomicBool::new(false),
            recompute_lock: Mutex::new(()),
            cancel: parent.child_token(),
            max_idle,
            counters: GroupCounters::default(),
        }
    }

    /// Its registered (not draining) targets by health state, for `HealthyHostCount` /
    /// `UnHealthyHostCount`.
    pub(crate) fn host_counts(&self) -> HostCounts {
        let mut counts = HostCounts::default();
        for t in self.members.load().all.iter().filter(|t| !t.is_draining()) {
            counts.registered += 1;
            match t.health_state() {
                HealthState::Healthy => counts.healthy += 1,
                HealthState::Unhealthy => counts.unhealthy += 1,
                HealthState::Initial => {}
            }
        }
        counts
    }

    /// The current settings.
    pub(crate) fn settings(&self) -> Arc<GroupSettings> {
        self.settings.load_full()
    }

    /// Whether a listener forwards to it.
    pub(crate) fn is_used(&self) -> bool {
        self.used.load(Ordering::Relaxed)
    }

    /// Checks what `update` would refuse, without changing anything.
    pub(crate) fn validate(spec: &TargetGroupSpec) -> Result<(), String> {
        HealthSettings::from_spec(&spec.health_check)?;
        let scratch = CancellationToken::new();
        for t in &spec.targets {
            Target::new(t, 0, &scratch, 0, ConnectFrom::default())?;
        }
        Ok(())
    }

    /// Applies `spec`: new settings, targets added / removed / (de)registered. Returns the
    /// targets that are new, whose health checks the caller starts.
    pub(crate) fn update(&self, spec: &TargetGroupSpec, used: bool) -> Vec<Arc<Target>> {
        let health = HealthSettings::from_spec(&spec.health_check).unwrap_or_default();
        self.settings.store(Arc::new(GroupSettings {
            https: spec.protocol.eq_ignore_ascii_case("HTTPS"),
            health,
            deregistration_delay: spec.deregistration_delay,
            stickiness: spec.stickiness,
        }));
        let was_used = self.used.swap(used, Ordering::Relaxed);
        let old = self.members.load_full();
        let mut by_key: HashMap<(&str, u16), &Arc<Target>> = old
            .all
            .iter()
            .map(|t| ((t.id.as_str(), t.port), t))
            .collect();
        let mut all = Vec::with_capacity(spec.targets.len());
        let mut fresh = Vec::new();
        let from = ConnectFrom {
            namespace: spec.network_namespace.as_deref().map(Arc::from),
            source: spec.source_address,
        };
        for t in &spec.targets {
            match by_key.remove(&(t.id.as_str(), t.port)) {
                Some(existing) if existing.from == from => {
                    let dereg = t.deregistered_at_ms.unwrap_or(REGISTERED);
                    let before = existing.deregistered_at_ms.swap(dereg, Ordering::Relaxed);
                    if before != REGISTERED && dereg == REGISTERED {
                        // Registered again while draining: a new registration starts over.
                        existing.reset_health();
                        existing.wake.notify_one();
                    }
                    all.push(Arc::clone(existing));
                }
                other => {
                    // New, or now reached from elsewhere (its pooled connections are not).
                    if let Some(moved) = other {
                        moved.checks.cancel();
                    }
                    match Target::new(t, self.key, &self.cancel, self.max_idle, from.clone()) {
                        Ok(target) => {
                            let target = Arc::new(target);
                            fresh.push(Arc::clone(&target));
                            all.push(target);
                        }
                        Err(e) => tracing::warn!(target_group = %self.arn, "{e}"),
                    }
                }
            }
        }
        for (_, gone) in by_key {
            gone.checks.cancel();
        }
        if used && !was_used {
            for t in &all {
                t.reset_health();
                t.wake.notify_one();
            }
        }
        {
            let _g = lock(&self.recompute_lock);
            self.members.store(Arc::new(Members::build(
                all,
                spec.algorithm,
                spec.slow_start,
            )));
        }
        fresh
    }

    /// Recomputes the routable targets after a health or membership change.
    pub(crate) fn recompute(&self) {
        let _g = lock(&self.recompute_lock);
        let m = self.members.load();
        let algorithm = m.algorithm.unwrap_or(Algorithm::RoundRobin);
        self.members.store(Arc::new(Members::build(
            m.all.clone(),
            algorithm,
            m.slow_start,
        )));
    }

    /// Picks a target for a new request: the sticky one (`AWSALB` cookie) if still routable,
    /// else by the group's algorithm. `None`: no registered, non-draining target (503).
    pub(crate) fn pick(&self, sticky: Option<u64>) -> Option<Arc<Target>> {
        let m = self.members.load();
        let list = &m.routable;
        let n = list.len();
        if n == 0 {
            return None;
        }
        if let Some(key) = sticky {
            if let Some(t) = list.iter().find(|t| t.key == key) {
                return Some(Arc::clone(t));
            }
        }
        let start = self.rr.fetch_add(1, Ordering::Relaxed);
        if n == 1 {
            return Some(Arc::clone(&list[0]));
        }
        let slow_start = if m.fail_open {
            Duration::ZERO
        } else {
            m.slow_start
        };
        match m.algorithm.unwrap_or(Algorithm::RoundRobin) {
            Algorithm::RoundRobin => {
                if !slow_start.is_zero() {
                    for i in 0..n {
                        let t = &list[(start + i) % n];
                        let w = t.weight(slow_start);
                        if w >= 1.0 || rand::random::<f64>() < w {
                            return Some(Arc::clone(t));
                        }
                    }
                }
                Some(Arc::clone(&list[start % n]))
            }
            Algorithm::LeastOutstandingRequests => {
                let mut best: Option<(&Arc<Target>, f64)> = None;
                for i in 0..n {
                    let t = &list[(start + i) % n];
                    let score = (t.in_flight() as f64 + 1.0) / t.weight(slow_start);
                    if best.is_none_or(|(_, s)| score < s) {
                        best = Some((t, score));
                    }
                }
                best.map(|(t, _)| Arc::clone(t))
            }
        }
    }

    /// Every target.
    #[cfg(test)]
    pub(crate) fn targets(&self) -> Vec<Arc<Target>> {
        self.members.load().all.clone()
    }

    /// DescribeTargetHealth's view of every target.
    pub(crate) fn reports(&self) -> Vec<TargetHealthReport> {
        let used = self.is_used();
        self.members
            .load()
            .all
            .iter()
            .map(|t| t.report(used))
            .collect()
    }

    /// Closes idle connections older than `keep_alive` (and every idle connection of a
    /// draining target).
    pub(crate) fn sweep_pools(&self, keep_alive: Duration) {
        for t in self.members.load().all.iter() {
            t.pool.sweep(if t.is_draining() {
                Duration::ZERO
            } else {
                keep_alive
            });
        }
    }

    /// Deregistered targets whose draining is complete at `now_ms`: nothing in flight, or the
    /// deregistration delay is over (their remaining requests are then cut).
    pub(crate) fn drained(&self, now_ms: i64) -> Vec<(String, u16)> {
        let delay = i64::try_from(self.settings.load().deregistration_delay.as_millis())
            .unwrap_or(i64::MAX);
        let mut out = Vec::new();
        for t in self.members.load().all.iter() {
            let at = t.deregistered_at_ms.load(Ordering::Relaxed);
            if at == REGISTERED {
                continue;
            }
            let expired = now_ms >= at.saturating_add(delay);
            if expired {
                t.drain.cancel();
            }
            if expired || t.in_flight() == 0 {
                out.push((t.id.clone(), t.port));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_core::lb_plane::HealthCheckSpec;

    fn spec(targets: Vec<TargetSpec>) -> TargetGroupSpec {
        TargetGroupSpec {
            arn: "arn:tg/a".into(),
            protocol: "HTTP".into(),
            port: 80,
            health_check: HealthCheckSpec {
                protocol: "HTTP".into(),
                port: None,
                path: "/health".into(),
                interval: Duration::from_secs(5),
                timeout: Duration::from_secs(2),
                healthy_threshold: 2,
                unhealthy_threshold: 2,
                matcher: "200".into(),
            },
            deregistration_delay: Duration::from_secs(10),
            algorithm: Algorithm::RoundRobin,
            slow_start: Duration::ZERO,
            stickiness: None,
            targets,
            network_namespace: None,
            source_address: None,
        }
    }

    fn target(id: &str, port: u16, dereg: Option<i64>) -> TargetSpec {
        TargetSpec {
            id: id.into(),
            port,
            deregistered_at_ms: dereg,
        }
    }

    #[test]
    fn states_follow_thresholds_and_fail_open() {
        let g = TargetGroup::new("arn:tg/a", &CancellationToken::new(), 8);
        let fresh = g.update(
            &spec(vec![
                target("10.0.0.1", 80, None),
                target("10.0.0.2", 80, None),
            ]),
            true,
        );
        assert_eq!(fresh.len(), 2);
        let reports = g.reports();
        assert_eq!(reports[0].state, "initial");
        assert_eq!(
            reports[0].reason.as_deref(),
            Some("Elb.RegistrationInProgress")
        );
        // Nobody healthy yet, nobody unhealthy: no traffic before the first checks pass.
        assert!(g.pick(None).is_none());
        let hs = g.settings().health.clone();
        let (a, b) = (&fresh[0], &fresh[1]);
        assert!(!a.record(CheckResult::Pass, &hs));
        assert!(a.record(CheckResult::Pass, &hs));
        g.recompute();
        // `a` healthy: `b` (initial) gets nothing.
        for _ in 0..10 {
            assert_eq!(g.pick(None).unwrap().id, "10.0.0.1");
        }
        b.record(CheckResult::Fail(Failure::Code(500)), &hs);
        b.record(CheckResult::Fail(Failure::Code(500)), &hs);
        g.recompute();
        assert_eq!(g.pick(None).unwrap().id, "10.0.0.1");
        let r = &g.reports()[1];
        assert_eq!(r.state, "unhealthy");
        assert_eq!(r.reason.as_deref(), Some("Target.ResponseCodeMismatch"));
        assert_eq!(
            r.description.as_deref(),
            Some("Health checks failed with these codes: [500]")
        );
        a.record(CheckResult::Fail(Failure::Timeout), &hs);
        a.record(CheckResult::Fail(Failure::Timeout), &hs);
        g.recompute();
        assert_eq!(g.reports()[0].reason.as_deref(), Some("Target.Timeout"));
        // Both unhealthy: fail open to both.
        assert_eq!(g.members.load().routable.len(), 2);
        assert!(g.members.load().fail_open);
    }

    #[test]
    fn unused_and_draining_reports_and_drained() {
        let g = TargetGroup::new("arn:tg/a", &CancellationToken::new(), 8);
        g.update(&spec(vec![target("10.0.0.1", 80, None)]), false);
        assert_eq!(g.reports()[0].state, "unused");
        assert_eq!(g.reports()[0].reason.as_deref(), Some("Target.NotInUse"));
        let fresh = g.update(&spec(vec![target("10.0.0.1", 80, Some(1_000))]), true);
        assert!(fresh.is_empty());
        assert_eq!(g.reports()[0].state, "draining");
        assert!(
            g.pick(None).is_none(),
            "a draining target gets no new requests"
        );
        let t = g.targets()[0].clone();
        t.begin();
        assert!(g.drained(2_000).is_empty(), "a request is in flight");
        assert_eq!(g.drained(11_000), vec![("10.0.0.1".to_string(), 80)]);
        assert!(t.drain.is_cancelled());
        t.end();
    }

    #[test]
    fn round_robin_and_least_outstanding() {
        let g = TargetGroup::new("arn:tg/a", &CancellationToken::new(), 8);
        let fresh = g.update(
            &spec(vec![
                target("10.0.0.1", 80, None),
                target("10.0.0.2", 80, None),
            ]),
            true,
        );
        let hs = g.settings().health.clone();
        for t in &fresh {
            t.record(CheckResult::Pass, &hs);
            t.record(CheckResult::Pass, &hs);
        }
        g.recompute();
        let ids: Vec<String> = (0..4).map(|_| g.pick(None).unwrap().id.clone()).collect();
        assert_ne!(ids[0], ids[1]);
        assert_eq!(ids[0], ids[2]);
        let mut s = spec(vec![
            target("10.0.0.1", 80, None),
            target("10.0.0.2", 80, None),
        ]);
        s.algorithm = Algorithm::LeastOutstandingRequests;
        g.update(&s, true);
        let busy = g.targets()[0].clone();
        busy.begin();
        for _ in 0..5 {
            assert_eq!(g.pick(None).unwrap().id, "10.0.0.2");
        }
        busy.end();
        let key = g.targets()[0].key;
        assert_eq!(g.pick(Some(key)).unwrap().id, "10.0.0.1");
    }

    #[test]
    fn slow_start_ramps_a_new_target_up() {
        let g = TargetGroup::new("arn:tg/a", &CancellationToken::new(), 8);
        let mut s = spec(vec![
            target("10.0.0.1", 80, None),
            target("10.0.0.2", 80, None),
        ]);
        s.slow_start = Duration::from_millis(300);
        let fresh = g.update(&s, true);
        let hs = g.settings().health.clone();
        // The first target is past its slow start; the second just became healthy.
        fresh[0].record(CheckResult::Pass, &hs);
        fresh[0].record(CheckResult::Pass, &hs);
        std::thread::sleep(Duration::from_millis(350));
        fresh[1].record(CheckResult::Pass, &hs);
        fresh[1].record(CheckResult::Pass, &hs);
        g.recompute();
        let new = (0..400)
            .filter(|_| g.pick(None).unwrap().id == "10.0.0.2")
            .count();
        assert!(
            new < 60,
            "a target in slow start gets little traffic: {new}/400"
        );
    }
}
