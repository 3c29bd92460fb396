//! The load balancers' `AWS/ApplicationELB` metrics: counted on the request path, read and
//! reset once per metric period by a publisher task, handed to a
//! [`MetricSink`](wharf_core::MetricSink) with the load balancer's account and region (from its
//! ARN), named and dimensioned as Elastic Load Balancing publishes them ("CloudWatch metrics for
//! your Application Load Balancer",
//! <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html>).
//!
//! Published, per load balancer (`LoadBalancer` = `app/<name>/<id>`; and with its
//! `AvailabilityZone`):
//! `RequestCount` (every request, whoever answered), `HTTPCode_ELB_2XX_Count` .. `5XX` and
//! `HTTPCode_ELB_500/502/503/504_Count` (answers the load balancer made itself: fixed responses,
//! redirects, errors), `HTTPCode_Target_2XX_Count` .. `5XX`, `TargetResponseTime` (seconds from
//! the request leaving the load balancer to the target's response head, a statistic set),
//! `NewConnectionCount`, `ActiveConnectionCount` (client connections open at some moment of the
//! period: open at its start plus opened during it) and `ProcessedBytes` (bytes read and
//! written on client connections); per target group (`TargetGroup` = `targetgroup/<name>/<id>`
//! with `LoadBalancer`, and with the `AvailabilityZone`): `RequestCount`, the target codes,
//! `TargetResponseTime`, `HealthyHostCount` / `UnHealthyHostCount`, and
//! `RequestCountPerTarget` (dimensions `TargetGroup`, and `TargetGroup` + `LoadBalancer`: the
//! group's requests over its healthy targets, over its registered ones when none is healthy).
//!
//! As AWS does, a count is published only for a period where it is not zero (no traffic, no
//! data point), while `HealthyHostCount` / `UnHealthyHostCount` are published every period.
//! Health checks are not requests and are not counted.
//!
//! wharf's load balancer is a single node in the load balancer's first Availability Zone, so
//! every per-zone data point carries that zone (as an ALB with one zone would). A target group
//! forwarded to by several load balancers has its counts published under the first of them.
//!
//! Cost on the request path: a few relaxed atomic additions on a shard chosen by worker thread
//! (no locks, no allocation, no cache line shared between workers), one clock read before and
//! one after the target's answer; nothing at all with [`PlaneConfig::metrics`](crate::PlaneConfig)
//! off.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use wharf_core::{MetricDatum, StatisticValues, Timestamp};

/// Counter shards (a power of two): each worker thread writes to its own.
const SHARDS: usize = 16;

/// The shard of the current thread, assigned round robin on first use.
fn shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    SHARD.with(|s| {
        let mut v = s.get();
        if v == usize::MAX {
            v = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
            s.set(v);
        }
        v
    })
}

/// `N` counters plus a response-time statistic set, on a cache line of its own.
#[repr(align(128))]
struct Shard<const N: usize> {
    counts: [AtomicU64; N],
    times_count: AtomicU64,
    times_sum_ns: AtomicU64,
    times_min_ns: AtomicU64,
    times_max_ns: AtomicU64,
}

impl<const N: usize> Default for Shard<N> {
    fn default() -> Self {
        Self {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            times_count: AtomicU64::new(0),
            times_sum_ns: AtomicU64::new(0),
            times_min_ns: AtomicU64::new(u64::MAX),
            times_max_ns: AtomicU64::new(0),
        }
    }
}

/// Sharded counters, read and reset together.
struct Sharded<const N: usize> {
    shards: Box<[Shard<N>]>,
}

impl<const N: usize> Default for Sharded<N> {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl<const N: usize> Sharded<N> {
    fn local(&self) -> &Shard<N> {
        &self.shards[shard() % self.shards.len()]
    }

    fn add(&self, counter: usize, n: u64) {
        if let Some(c) = self.local().counts.get(counter) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn time(&self, ns: u64) {
        let s = self.local();
        s.times_count.fetch_add(1, Ordering::Relaxed);
        s.times_sum_ns.fetch_add(ns, Ordering::Relaxed);
        s.times_min_ns.fetch_min(ns, Ordering::Relaxed);
        s.times_max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// The totals since the last take, resetting them; times in seconds.
    fn take(&self) -> ([u64; N], Option<StatisticValues>) {
        let mut counts = [0u64; N];
        let (mut n, mut sum, mut min, mut max) = (0u64, 0u64, u64::MAX, 0u64);
        for s in self.shards.iter() {
            for (total, c) in counts.iter_mut().zip(s.counts.iter()) {
                *total += c.swap(0, Ordering::Relaxed);
            }
            n += s.times_count.swap(0, Ordering::Relaxed);
            sum = sum.saturating_add(s.times_sum_ns.swap(0, Ordering::Relaxed));
            min = min.min(s.times_min_ns.swap(u64::MAX, Ordering::Relaxed));
            max = max.max(s.times_max_ns.swap(0, Ordering::Relaxed));
        }
        let secs = |ns: u64| ns as f64 / 1e9;
        let times = (n > 0).then(|| StatisticValues {
            sample_count: n as f64,
            sum: secs(sum),
            minimum: secs(min),
            maximum: secs(max),
        });
        (counts, times)
    }
}

/// Which counter of a load balancer.
mod lb {
    pub(super) const REQUESTS: usize = 0;
    /// `ELB_2XX + class - 2` for classes 2..=5.
    pub(super) const ELB_2XX: usize = 1;
    pub(super) const ELB_500: usize = 5;
    pub(super) const ELB_502: usize = 6;
    pub(super) const ELB_503: usize = 7;
    pub(super) const ELB_504: usize = 8;
    /// `TARGET_2XX + class - 2` for classes 2..=5.
    pub(super) const TARGET_2XX: usize = 9;
    pub(super) const NEW_CONNECTIONS: usize = 13;
    pub(super) const BYTES: usize = 14;
    pub(super) const COUNT: usize = 15;
}

/// Which counter of a target group.
mod tg {
    pub(super) const REQUESTS: usize = 0;
    pub(super) const TARGET_2XX: usize = 1;
    pub(super) const COUNT: usize = 5;
}

/// The status class index (0 for 2xx .. 3 for 5xx), `None` for 1xx and nonsense.
fn class(status: u16) -> Option<usize> {
    match status {
        200..=599 => Some(usize::from(status / 100 - 2)),
        _ => None,
    }
}

/// Who answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answered {
    /// The load balancer itself (fixed response, redirect, 4xx / 5xx of its own).
    Elb,
    /// A target, after this many nanoseconds.
    Target(u64),
}

/// A load balancer's counters.
#[derive(Default)]
pub(crate) struct LbCounters {
    counts: Sharded<{ lb::COUNT }>,
    /// Client connections open now (one atomic per connection opened or closed).
    open: AtomicU64,
    /// `open` when the counters were last taken: the connections the next period starts with.
    open_at_take: AtomicU64,
}

impl std::fmt::Debug for LbCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LbCounters").finish_non_exhaustive()
    }
}

/// A target group's counters.
#[derive(Default)]
pub(crate) struct GroupCounters {
    counts: Sharded<{ tg::COUNT }>,
}

impl std::fmt::Debug for GroupCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCounters").finish_non_exhaustive()
    }
}

impl LbCounters {
    /// Counts one request answered with `status` by `answered`, routed to `group` if any.
    pub(crate) fn request(&self, status: u16, answered: Answered, group: Option<&GroupCounters>) {
        self.counts.add(lb::REQUESTS, 1);
        if let Some(g) = group {
            g.counts.add(tg::REQUESTS, 1);
        }
        let Some(class) = class(status) else {
            return;
        };
        match answered {
            Answered::Target(ns) => {
                self.counts.add(lb::TARGET_2XX + class, 1);
                self.counts.time(ns);
                if let Some(g) = group {
                    g.counts.add(tg::TARGET_2XX + class, 1);
                    g.counts.time(ns);
                }
            }
            Answered::Elb => {
                self.counts.add(lb::ELB_2XX + class, 1);
                let specific = match status {
                    500 => Some(lb::ELB_500),
                    502 => Some(lb::ELB_502),
                    503 => Some(lb::ELB_503),
                    504 => Some(lb::ELB_504),
                    _ => None,
                };
                if let Some(c) = specific {
                    self.counts.add(c, 1);
                }
            }
        }
    }

    /// A client connection's first request came to this load balancer.
    pub(crate) fn connection_opened(&self) {
        self.counts.add(lb::NEW_CONNECTIONS, 1);
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    /// That connection closed.
    pub(crate) fn connection_closed(&self) {
        let _ = self
            .open
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Bytes read from and written to a client connection.
    pub(crate) fn bytes(&self, n: u64) {
        if n > 0 {
            self.counts.add(lb::BYTES, n);
        }
    }

    /// The totals since the last take, resetting them.
    pub(crate) fn take(&self) -> LbTotals {
        let (c, response_times) = self.counts.take();
        let open_now = self.open.load(Ordering::Relaxed);
        let open_before = self.open_at_take.swap(open_now, Ordering::Relaxed);
        LbTotals {
            requests: c[lb::REQUESTS],
            elb_classes: [
                c[lb::ELB_2XX],
                c[lb::ELB_2XX + 1],
                c[lb::ELB_2XX + 2],
                c[lb::ELB_2XX + 3],
            ],
            elb_500: c[lb::ELB_500],
            elb_502: c[lb::ELB_502],
            elb_503: c[lb::ELB_503],
            elb_504: c[lb::ELB_504],
            target_classes: [
                c[lb::TARGET_2XX],
                c[lb::TARGET_2XX + 1],
                c[lb::TARGET_2XX + 2],
                c[lb::TARGET_2XX + 3],
            ],
            response_times,
            new_connections: c[lb::NEW_CONNECTIONS],
            active_connections: open_before + c[lb::NEW_CONNECTIONS],
            processed_bytes: c[lb::BYTES],
        }
    }
}

impl GroupCounters {
    /// The totals since the last take, resetting them; `health` is the group's targets now.
    pub(crate) fn take(&self, health: HostCounts) -> GroupTotals {
        let (c, response_times) = self.counts.take();
        GroupTotals {
            requests: c[tg::REQUESTS],
            target_classes: [
                c[tg::TARGET_2XX],
                c[tg::TARGET_2XX + 1],
                c[tg::TARGET_2XX + 2],
                c[tg::TARGET_2XX + 3],
            ],
            response_times,
            health,
        }
    }
}

/// A target group's registered (not draining) targets by health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HostCounts {
    /// `healthy`.
    pub(crate) healthy: u64,
    /// `unhealthy`.
    pub(crate) unhealthy: u64,
    /// Every registered target not draining (`initial` ones included).
    pub(crate) registered: u64,
}

/// A load balancer's totals over one period.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LbTotals {
    pub(crate) requests: u64,
    /// Answers of its own by class, 2xx .. 5xx.
    pub(crate) elb_classes: [u64; 4],
    pub(crate) elb_500: u64,
    pub(crate) elb_502: u64,
    pub(crate) elb_503: u64,
    pub(crate) elb_504: u64,
    /// Targets' answers by class, 2xx .. 5xx.
    pub(crate) target_classes: [u64; 4],
    pub(crate) response_times: Option<StatisticValues>,
    pub(crate) new_connections: u64,
    pub(crate) active_connections: u64,
    pub(crate) processed_bytes: u64,
}

/// A target group's totals over one period.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GroupTotals {
    pub(crate) requests: u64,
    pub(crate) target_classes: [u64; 4],
    pub(crate) response_times: Option<StatisticValues>,
    pub(crate) health: HostCounts,
}

/// `account`, `region` and the dimension value of an ELBv2 ARN of resource type `kind`:
/// `LoadBalancer` = `app/<name>/<id>` (the resource after `loadbalancer/`), `TargetGroup` =
/// `targetgroup/<name>/<id>` (the whole resource), as AWS writes them.
pub(crate) fn arn_parts(arn: &str, kind: &str) -> Option<(String, String, String)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, _, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let rest = resource.strip_prefix(kind)?.strip_prefix('/')?;
    let value = if kind == "loadbalancer" {
        rest
    } else {
        resource
    };
    (!region.is_empty() && !account.is_empty() && !rest.is_empty())
        .then(|| (account.to_string(), region.to_string(), value.to_string()))
}

/// Builds data points for one period.
struct Points {
    timestamp: Timestamp,
    out: Vec<MetricDatum>,
}

impl Points {
    fn push(
        &mut self,
        name: &str,
        dims: &[(&str, &str)],
        values: StatisticValues,
        unit: &'static str,
    ) {
        self.out.push(MetricDatum {
            namespace: "AWS/ApplicationELB".to_string(),
            metric_name: name.to_string(),
            dimensions: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            timestamp: self.timestamp,
            values,
            unit,
        });
    }

    /// A count under each of `dim_sets`, only when not zero (AWS's reporting criterion).
    fn count(&mut self, name: &str, dim_sets: &[&[(&str, &str)]], n: u64, unit: &'static str) {
        if n == 0 {
            return;
        }
        for dims in dim_sets {
            self.push(name, dims, StatisticValues::single(n as f64), unit);
        }
    }

    fn times(&mut self, dim_sets: &[&[(&str, &str)]], times: Option<StatisticValues>) {
        if let Some(t) = times {
            for dims in dim_sets {
                self.push("TargetResponseTime", dims, t, "Seconds");
            }
        }
    }

    fn target_codes(&mut self, dim_sets: &[&[(&str, &str)]], classes: &[u64; 4]) {
        for (name, n) in TARGET_CODES.iter().zip(classes) {
            self.count(name, dim_sets, *n, "Count");
        }
    }
}

const TARGET_CODES: [&str; 4] = [
    "HTTPCode_Target_2XX_Count",
    "HTTPCode_Target_3XX_Count",
    "HTTPCode_Target_4XX_Count",
    "HTTPCode_Target_5XX_Count",
];
const ELB_CODES: [&str; 4] = [
    "HTTPCode_ELB_2XX_Count",
    "HTTPCode_ELB_3XX_Count",
    "HTTPCode_ELB_4XX_Count",
    "HTTPCode_ELB_5XX_Count",
];

/// The data points of one load balancer (`lb` = its `LoadBalancer` dimension value, `zone` its
/// node's zone) and the target groups it forwards to (`TargetGroup` dimension value, totals)
/// for the period starting at `timestamp`.
pub(crate) fn data_points(
    lb: &str,
    zone: Option<&str>,
    totals: &LbTotals,
    groups: &[(String, GroupTotals)],
    timestamp: Timestamp,
) -> Vec<MetricDatum> {
    let mut p = Points {
        timestamp,
        out: Vec::new(),
    };
    let by_lb: [(&str, &str); 1] = [("LoadBalancer", lb)];
    let by_zone: Vec<(&str, &str)> = zone
        .map(|z| vec![("LoadBalancer", lb), ("AvailabilityZone", z)])
        .unwrap_or_default();
    let lb_sets: Vec<&[(&str, &str)]> = if zone.is_some() {
        vec![&by_lb, &by_zone]
    } else {
        vec![&by_lb]
    };
    p.count("RequestCount", &lb_sets, totals.requests, "Count");
    for (name, n) in ELB_CODES.iter().zip(&totals.elb_classes) {
        p.count(name, &lb_sets, *n, "Count");
    }
    for (name, n) in [
        ("HTTPCode_ELB_500_Count", totals.elb_500),
        ("HTTPCode_ELB_502_Count", totals.elb_502),
        ("HTTPCode_ELB_503_Count", totals.elb_503),
        ("HTTPCode_ELB_504_Count", totals.elb_504),
    ] {
        p.count(name, &lb_sets, n, "Count");
    }
    p.target_codes(&lb_sets, &totals.target_classes);
    p.times(&lb_sets, totals.response_times);
    p.count(
        "NewConnectionCount",
        &lb_sets,
        totals.new_connections,
        "Count",
    );
    p.count(
        "ActiveConnectionCount",
        &lb_sets,
        totals.active_connections,
        "Count",
    );
    p.count("ProcessedBytes", &lb_sets, totals.processed_bytes, "Bytes");
    for (group, g) in groups {
        let by_group = [("TargetGroup", group.as_str()), ("LoadBalancer", lb)];
        let by_group_zone: Vec<(&str, &str)> = zone
            .map(|z| {
                vec![
                    ("TargetGroup", group.as_str()),
                    ("LoadBalancer", lb),
                    ("AvailabilityZone", z),
                ]
            })
            .unwrap_or_default();
        let sets: Vec<&[(&str, &str)]> = if zone.is_some() {
            vec![&by_group, &by_group_zone]
        } else {
            vec![&by_group]
        };
        p.count("RequestCount", &sets, g.requests, "Count");
        p.target_codes(&sets, &g.target_classes);
        p.times(&sets, g.response_times);
        if g.requests > 0 {
            let per = if g.health.healthy > 0 {
                g.health.healthy
            } else {
                g.health.registered
            };
            if per > 0 {
                let value = StatisticValues::single(g.requests as f64 / per as f64);
                let only_group = [("TargetGroup", group.as_str())];
                p.push("RequestCountPerTarget", &only_group, value, "Count");
                p.push("RequestCountPerTarget", &by_group, value, "Count");
            }
        }
        // Health is reported every period, traffic or not.
        for dims in &sets {
            p.push(
                "HealthyHostCount",
                dims,
                StatisticValues::single(g.health.healthy as f64),
                "Count",
            );
            p.push(
                "UnHealthyHostCount",
                dims,
                StatisticValues::single(g.health.unhealthy as f64),
                "Count",
            );
        }
    }
    p.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(
        data: &'a [MetricDatum],
        name: &str,
        dims: &[(&str, &str)],
    ) -> Option<&'a MetricDatum> {
        data.iter().find(|d| {
            d.metric_name == name
                && d.dimensions.len() == dims.len()
                && dims
                    .iter()
                    .all(|(k, v)| d.dimensions.iter().any(|(dk, dv)| dk == k && dv == v))
        })
    }

    #[test]
    fn requests_are_counted_by_who_answered() {
        let lb = LbCounters::default();
        let g = GroupCounters::default();
        lb.request(200, Answered::Target(2_000_000), Some(&g));
        lb.request(201, Answered::Target(4_000_000), Some(&g));
        lb.request(500, Answered::Target(1_000_000), Some(&g));
        lb.request(502, Answered::Elb, Some(&g));
        lb.request(404, Answered::Elb, None);
        lb.request(301, Answered::Elb, None);
        let t = lb.take();
        assert_eq!(t.requests, 6);
        assert_eq!(t.target_classes, [2, 0, 0, 1]);
        assert_eq!(t.elb_classes, [0, 1, 1, 1]);
        assert_eq!((t.elb_500, t.elb_502, t.elb_503, t.elb_504), (0, 1, 0, 0));
        let times = t.response_times.unwrap();
        assert_eq!(times.sample_count, 3.0);
        assert!((times.sum - 0.007).abs() < 1e-12);
        assert!((times.minimum - 0.001).abs() < 1e-12);
        assert!((times.maximum - 0.004).abs() < 1e-12);
        let gt = g.take(HostCounts::default());
        assert_eq!(gt.requests, 4, "the group's requests include the 502");
        assert_eq!(gt.target_classes, [2, 0, 0, 1]);
        // Taking resets.
        assert_eq!(lb.take().requests, 0);
        assert_eq!(lb.take().response_times, None);
        assert_eq!(g.take(HostCounts::default()).requests, 0);
    }

    #[test]
    fn counts_from_many_threads_add_up() {
        let lb = std::sync::Arc::new(LbCounters::default());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let lb = lb.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        lb.request(200, Answered::Target(1), None);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let t = lb.take();
        assert_eq!(t.requests, 8000);
        assert_eq!(t.target_classes[0], 8000);
    }

    /// What counting adds to one proxied request, in nanoseconds: the two clock reads around the
    /// target's answer, the request's counters and the connection's bytes, from two threads at
    /// once. A measurement, not a check: `cargo test --release -p wharf-lb --lib
    /// counting_cost -- --ignored --nocapture` (docs/benchmarks.md).
    #[test]
    #[ignore]
    fn counting_cost() {
        let lb = std::sync::Arc::new(LbCounters::default());
        let group = std::sync::Arc::new(GroupCounters::default());
        const N: u64 = 5_000_000;
        let start = std::time::Instant::now();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (lb, group) = (lb.clone(), group.clone());
                std::thread::spawn(move || {
                    for i in 0..N {
                        let sent = std::time::Instant::now();
                        let ns = u64::try_from(sent.elapsed().as_nanos()).unwrap_or(0);
                        lb.request(200, Answered::Target(ns + (i & 7)), Some(&group));
                        lb.bytes(std::hint::black_box(512));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let per = start.elapsed().as_nanos() as f64 / N as f64;
        assert_eq!(lb.take().requests, 2 * N);
        println!("counting cost: {per:.1} ns per request (2 threads, {N} requests each)");
    }

    #[test]
    fn active_connections_are_those_open_at_some_moment_of_the_period() {
        let lb = LbCounters::default();
        lb.connection_opened();
        lb.connection_opened();
        lb.connection_closed();
        lb.bytes(100);
        let t = lb.take();
        assert_eq!((t.new_connections, t.active_connections), (2, 2));
        assert_eq!(t.processed_bytes, 100);
        // One is still open: active in the next period without any new one.
        let t = lb.take();
        assert_eq!((t.new_connections, t.active_connections), (0, 1));
        lb.connection_closed();
        lb.take();
        assert_eq!(lb.take().active_connections, 0);
    }

    #[test]
    fn arns_give_account_region_and_dimension() {
        assert_eq!(
            arn_parts(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
                "loadbalancer"
            ),
            Some((
                "123456789012".into(),
                "us-east-1".into(),
                "app/web/50dc6c495c0c9188".into()
            ))
        );
        assert_eq!(
            arn_parts(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/73e2d6bc24d8a067",
                "targetgroup"
            )
            .map(|p| p.2),
            Some("targetgroup/tg/73e2d6bc24d8a067".into())
        );
        assert_eq!(arn_parts("arn:loadbalancer/app/a", "loadbalancer"), None);
    }

    #[test]
    fn data_points_have_aws_names_dimensions_and_reporting() {
        let lb = "app/web/1";
        let group = "targetgroup/tg/2";
        let totals = LbTotals {
            requests: 10,
            elb_classes: [0, 0, 0, 2],
            elb_503: 2,
            target_classes: [8, 0, 0, 0],
            response_times: StatisticValues::of(&[0.1, 0.3]),
            new_connections: 3,
            active_connections: 3,
            processed_bytes: 4096,
            ..LbTotals::default()
        };
        let g = GroupTotals {
            requests: 8,
            target_classes: [8, 0, 0, 0],
            response_times: StatisticValues::of(&[0.1, 0.3]),
            health: HostCounts {
                healthy: 2,
                unhealthy: 1,
                registered: 3,
            },
        };
        let at = Timestamp::from_millis(120_000);
        let data = data_points(lb, Some("us-east-1a"), &totals, &[(group.into(), g)], at);
        assert!(data
            .iter()
            .all(|d| d.namespace == "AWS/ApplicationELB" && d.timestamp == at));
        let requests = find(&data, "RequestCount", &[("LoadBalancer", lb)]).unwrap();
        assert_eq!(requests.values.sum, 10.0);
        assert_eq!(requests.unit, "Count");
        assert!(find(
            &data,
            "RequestCount",
            &[("LoadBalancer", lb), ("AvailabilityZone", "us-east-1a")]
        )
        .is_some());
        assert_eq!(
            find(
                &data,
                "RequestCount",
                &[("TargetGroup", group), ("LoadBalancer", lb)]
            )
            .unwrap()
            .values
            .sum,
            8.0
        );
        assert!(find(
            &data,
            "RequestCount",
            &[
                ("TargetGroup", group),
                ("LoadBalancer", lb),
                ("AvailabilityZone", "us-east-1a")
            ]
        )
        .is_some());
        assert_eq!(
            find(&data, "HTTPCode_ELB_503_Count", &[("LoadBalancer", lb)])
                .unwrap()
                .values
                .sum,
            2.0
        );
        assert!(
            find(&data, "HTTPCode_Target_4XX_Count", &[("LoadBalancer", lb)]).is_none(),
            "zero counts are not published"
        );
        let rt = find(
            &data,
            "TargetResponseTime",
            &[("TargetGroup", group), ("LoadBalancer", lb)],
        )
        .unwrap();
        assert_eq!(rt.values.sample_count, 2.0);
        assert_eq!(rt.unit, "Seconds");
        assert_eq!(
            find(&data, "RequestCountPerTarget", &[("TargetGroup", group)])
                .unwrap()
                .values
                .sum,
            4.0,
            "8 requests over 2 healthy targets"
        );
        assert_eq!(
            find(&data, "ProcessedBytes", &[("LoadBalancer", lb)])
                .unwrap()
                .unit,
            "Bytes"
        );
        let healthy = find(
            &data,
            "HealthyHostCount",
            &[("TargetGroup", group), ("LoadBalancer", lb)],
        )
        .unwrap();
        assert_eq!(healthy.values.sum, 2.0);
        assert_eq!(
            find(
                &data,
                "UnHealthyHostCount",
                &[("TargetGroup", group), ("LoadBalancer", lb)]
            )
            .unwrap()
            .values
            .sum,
            1.0
        );

        // No traffic: only the host counts.
        let quiet = GroupTotals {
            health: HostCounts {
                healthy: 2,
                unhealthy: 0,
                registered: 2,
            },
            ..GroupTotals::default()
        };
        let data = data_points(
            lb,
            Some("us-east-1a"),
            &LbTotals::default(),
            &[(group.into(), quiet)],
            at,
        );
        let mut names: Vec<&str> = data.iter().map(|d| d.metric_name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names, vec!["HealthyHostCount", "UnHealthyHostCount"]);
        assert_eq!(data.len(), 4, "per group and per group and zone");
    }
}
