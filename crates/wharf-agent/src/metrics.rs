//! `AWS/ECS` `CPUUtilization` and `MemoryUtilization` of running tasks, measured from the
//! container engine's stats and published every metric period, as the ECS agent reports them
//! ("Amazon ECS service utilization metrics",
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service_utilization.html>):
//!
//! ```text
//! Service CPU utilization    = CPU units used by the service's tasks x 100
//!                              / (CPU units of the task definition x number of tasks)
//! Service memory utilization = MiB used by the service's tasks x 100
//!                              / (MiB of the task definition x number of tasks)
//! ```
//!
//! Each task is one sample: its CPU units used over the interval (CPU time / interval x 1024)
//! over its reserved units, its memory in use (without page cache, as the Docker CLI counts it)
//! over its reserved MiB. The data point of a service is the statistic set over its tasks
//! (SampleCount = tasks, Sum, Minimum, Maximum), so `Average` is the formula above and
//! `Minimum` / `Maximum` the least and most loaded task, as the AWS page describes them. The
//! reservation is the task-level `cpu` / `memory` (always set on Fargate); a task without one
//! uses the sum of its containers' (`cpu`; `memoryReservation`, else `memory`: "If you specify
//! a soft limit (memoryReservation), it's used to calculate the amount of reserved memory.
//! Otherwise, the hard limit (memory) is used."); a task with no reservation at all has no
//! utilization and is left out. CPU may exceed 100 % (a task can use more than it reserved where
//! the engine lets it), memory may not exceed the hard limit.
//!
//! Dimensions: `ClusterName` + `ServiceName` for the tasks of a service (task `group` =
//! `service:<name>`), and `ClusterName` alone for every running task of a cluster, unit
//! `Percent`. Like AWS, nothing is published for a cluster or service without running tasks.
//! A task's first sample only primes its CPU counter (a one-shot sample carries no previous
//! reading), so a task is counted from its second interval on.
//!
//! Cost: one one-shot stats call per running container per interval, at most
//! [`CONCURRENT_STATS`] at once, each bounded by [`STATS_TIMEOUT`]; the sampler is its own task
//! and never holds up the agent's reconcile loop.

use crate::Agent;
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use wharf_core::{MetricDatum, MetricSink, MetricTime, StatisticValues, Timestamp};
use wharf_ecs::fargate::{parse_cpu, parse_memory};
use wharf_ecs::records::TaskRecord;
use wharf_runtime::{ContainerUsage, Runtime};

/// Most stats calls in flight at once. A one-shot call costs the engine little CPU but, on
/// Docker 20.10 and later, waits for the engine's next stats collection (once a second) except
/// for a container's first call: calls in flight together share one wait, so 64 at once sample
/// 100 containers in about two seconds.
pub const CONCURRENT_STATS: usize = 64;
/// A stats call that takes longer is skipped for this interval.
pub const STATS_TIMEOUT: Duration = Duration::from_secs(5);
/// The namespace of the metrics.
const NAMESPACE: &str = "AWS/ECS";

/// What a task reserved: the denominators of its utilization.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reservation {
    /// CPU units (1 vCPU = 1024), when any.
    pub cpu_units: Option<f64>,
    /// Memory in MiB, when any.
    pub memory_mib: Option<f64>,
}

/// The reservation of `task`: task-level `cpu` / `memory`, else the sum of its containers'
/// (`memoryReservation` before `memory`); `None` for a zero total.
pub fn reservation(task: &TaskRecord) -> Reservation {
    let t = &task.task;
    let containers = t.containers.as_deref().unwrap_or_default();
    let number = |v: &Option<String>| {
        v.as_deref()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let positive = |v: f64| (v > 0.0).then_some(v);
    let cpu_units = t
        .cpu
        .as_deref()
        .and_then(parse_cpu)
        .map(f64::from)
        .and_then(positive)
        .or_else(|| positive(containers.iter().map(|c| number(&c.cpu)).sum()));
    let memory_mib = t
        .memory
        .as_deref()
        .and_then(parse_memory)
        .map(f64::from)
        .and_then(positive)
        .or_else(|| {
            positive(
                containers
                    .iter()
                    .map(|c| {
                        let soft = number(&c.memory_reservation);
                        if soft > 0.0 {
                            soft
                        } else {
                            number(&c.memory)
                        }
                    })
                    .sum(),
            )
        });
    Reservation {
        cpu_units,
        memory_mib,
    }
}

/// One reading of a task's containers.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskReading {
    /// When it was taken (milliseconds).
    pub at_ms: i64,
    /// Cumulative CPU nanoseconds per container id.
    pub cpu_ns: BTreeMap<String, u64>,
    /// Memory in use by all its containers, in bytes.
    pub memory_bytes: u64,
}

/// A task's utilization over one interval, in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Utilization {
    /// CPU used over reserved (absent without a CPU reservation).
    pub cpu: Option<f64>,
    /// Memory used over reserved (absent without a memory reservation).
    pub memory: Option<f64>,
}

/// The utilization between `before` and `now`, or `None` when the two readings cannot be
/// compared (other containers, a counter that went back, no time between them): then `now`
/// only primes the counters.
pub fn utilization(
    before: &TaskReading,
    now: &TaskReading,
    reserved: Reservation,
) -> Option<Utilization> {
    if before.cpu_ns.keys().ne(now.cpu_ns.keys()) || now.at_ms <= before.at_ms {
        return None;
    }
    let mut used_ns: u64 = 0;
    for (id, after) in &now.cpu_ns {
        let prior = *before.cpu_ns.get(id)?;
        used_ns = used_ns.saturating_add(after.checked_sub(prior)?);
    }
    let interval_ns = (now.at_ms - before.at_ms) as f64 * 1e6;
    let units_used = used_ns as f64 / interval_ns * 1024.0;
    Some(Utilization {
        cpu: reserved.cpu_units.map(|r| units_used / r * 100.0),
        memory: reserved
            .memory_mib
            .map(|r| now.memory_bytes as f64 / (r * 1024.0 * 1024.0) * 100.0),
    })
}

/// Which task a sample belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TaskIdentity {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Cluster name.
    pub cluster: String,
    /// Service name, when the task belongs to a service (`group` = `service:<name>`).
    pub service: Option<String>,
}

impl TaskIdentity {
    /// The identity of `task`.
    pub fn of(task: &TaskRecord) -> Self {
        let cluster = task
            .task
            .cluster_arn
            .as_deref()
            .and_then(|arn| arn.rsplit_once(":cluster/"))
            .map(|(_, name)| name.to_string())
            .unwrap_or_default();
        let service = task
            .task
            .group
            .as_deref()
            .and_then(|g| g.strip_prefix("service:"))
            .map(str::to_string);
        Self {
            account: task.account.clone(),
            region: task.region.clone(),
            cluster,
            service,
        }
    }
}

/// The data points of one interval starting at `timestamp`, per `(account, region)`: for each
/// service and each cluster, a statistic set over its tasks' utilizations.
pub fn data_points(
    samples: &[(TaskIdentity, Utilization)],
    timestamp: Timestamp,
) -> BTreeMap<(String, String), Vec<MetricDatum>> {
    type Values = (Vec<f64>, Vec<f64>);
    let mut groups: BTreeMap<(String, String, String, Option<String>), Values> = BTreeMap::new();
    for (who, u) in samples {
        // Every task counts for its cluster; a service's task also for its service.
        let scopes = std::iter::once(None).chain(who.service.clone().map(Some));
        for service in scopes {
            let key = (
                who.account.clone(),
                who.region.clone(),
                who.cluster.clone(),
                service,
            );
            let entry = groups.entry(key).or_default();
            entry.0.extend(u.cpu);
            entry.1.extend(u.memory);
        }
    }
    let mut out: BTreeMap<(String, String), Vec<MetricDatum>> = BTreeMap::new();
    for ((account, region, cluster, service), (cpu, memory)) in groups {
        let mut dimensions = vec![("ClusterName".to_string(), cluster)];
        if let Some(s) = service {
            dimensions.push(("ServiceName".to_string(), s));
        }
        let data = out.entry((account, region)).or_default();
        for (name, values) in [("CPUUtilization", cpu), ("MemoryUtilization", memory)] {
            if let Some(values) = StatisticValues::of(&values) {
                data.push(MetricDatum {
                    namespace: NAMESPACE.to_string(),
                    metric_name: name.to_string(),
                    dimensions: dimensions.clone(),
                    timestamp,
                    values,
                    unit: "Percent",
                });
            }
        }
    }
    out
}

/// A running task to sample.
struct Candidate {
    arn: String,
    identity: TaskIdentity,
    reserved: Reservation,
    containers: Vec<String>,
}

/// The running tasks' candidates (RUNNING tasks with at least one started container).
fn candidates(tasks: Vec<TaskRecord>) -> Vec<Candidate> {
    tasks
        .into_iter()
        .filter(|t| t.task.last_status.as_deref() == Some("RUNNING"))
        .filter_map(|t| {
            let arn = t.task.task_arn.clone()?;
            let containers: Vec<String> = t
                .task
                .containers
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter(|c| c.last_status.as_deref() == Some("RUNNING"))
                .filter_map(|c| c.runtime_id.clone())
                .collect();
            (!containers.is_empty()).then(|| Candidate {
                identity: TaskIdentity::of(&t),
                reserved: reservation(&t),
                arn,
                containers,
            })
        })
        .collect()
}

/// The sampler: the previous reading of every running task.
pub struct Sampler {
    runtime: Arc<dyn Runtime>,
    previous: HashMap<String, TaskReading>,
}

impl Sampler {
    /// A sampler reading container stats from `runtime`.
    pub fn new(runtime: Arc<dyn Runtime>) -> Self {
        Self {
            runtime,
            previous: HashMap::new(),
        }
    }

    /// Reads every candidate's containers (bounded concurrency) and returns the utilization of
    /// each task that had a previous reading; `now_ms` dates readings the engine does not.
    pub async fn sample(
        &mut self,
        tasks: Vec<TaskRecord>,
        now_ms: i64,
    ) -> Vec<(TaskIdentity, Utilization)> {
        let candidates = candidates(tasks);
        let ids: Vec<String> = candidates
            .iter()
            .flat_map(|c| c.containers.iter().cloned())
            .collect();
        let runtime = &self.runtime;
        let usage: HashMap<String, ContainerUsage> = stream::iter(ids)
            .map(|id| async move {
                let read = tokio::time::timeout(STATS_TIMEOUT, runtime.container_usage(&id)).await;
                match read {
                    Ok(Ok(Some(u))) => Some((id, u)),
                    Ok(Err(e)) => {
                        tracing::debug!(container = %id, error = %e, "no stats this interval");
                        None
                    }
                    _ => None,
                }
            })
            .buffer_unordered(CONCURRENT_STATS)
            .filter_map(|x| async move { x })
            .collect()
            .await;
        let mut out = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for c in candidates {
            let readings: Vec<(&String, &ContainerUsage)> = c
                .containers
                .iter()
                .filter_map(|id| usage.get(id).map(|u| (id, u)))
                .collect();
            if readings.len() != c.containers.len() {
                // A container without stats this time: start over at the next interval.
                self.previous.remove(&c.arn);
                continue;
            }
            let reading = TaskReading {
                at_ms: readings
                    .iter()
                    .filter_map(|(_, u)| u.read_at.map(|t| t.millis))
                    .max()
                    .unwrap_or(now_ms),
                cpu_ns: readings
                    .iter()
                    .map(|(id, u)| ((*id).clone(), u.cpu_total_ns))
                    .collect(),
                memory_bytes: readings.iter().map(|(_, u)| u.memory_used_bytes).sum(),
            };
            seen.insert(c.arn.clone());
            if let Some(u) = self
                .previous
                .get(&c.arn)
                .and_then(|before| utilization(before, &reading, c.reserved))
            {
                out.push((c.identity, u));
            }
            self.previous.insert(c.arn, reading);
        }
        self.previous.retain(|arn, _| seen.contains(arn));
        out
    }
}

/// Samples the agent's running tasks every publish interval and hands the data points to
/// `sink`, until `stop` turns true.
pub(crate) async fn run(
    agent: Arc<Agent>,
    sink: Arc<dyn MetricSink>,
    time: MetricTime,
    mut stop: watch::Receiver<bool>,
) {
    let period = time.publish_interval();
    let mut sampler = Sampler::new(agent.runtime.clone());
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut interval_start: Option<Timestamp> = None;
    loop {
        tokio::select! {
            _ = stop.changed() => {}
            _ = ticks.tick() => {}
        }
        if *stop.borrow() {
            return;
        }
        let store = agent.store.clone();
        let tasks =
            match tokio::task::spawn_blocking(move || wharf_ecs::tasks::unstopped(&store)).await {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "metrics: cannot read tasks");
                    continue;
                }
                Err(_) => continue,
            };
        let now = agent.clock.now();
        let samples = sampler.sample(tasks, now.millis).await;
        let start = interval_start.unwrap_or_else(|| {
            let back = i64::try_from(period.as_millis()).unwrap_or(0);
            Timestamp::from_millis(now.millis - back)
        });
        interval_start = Some(now);
        for ((account, region), data) in data_points(&samples, start) {
            let sink = sink.clone();
            // The sink writes to the store: off the async workers.
            let _ = tokio::task::spawn_blocking(move || sink.put(&account, &region, data)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(at_ms: i64, cpu: &[(&str, u64)], memory_mib: u64) -> TaskReading {
        TaskReading {
            at_ms,
            cpu_ns: cpu.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            memory_bytes: memory_mib << 20,
        }
    }

    const FARGATE_256_512: Reservation = Reservation {
        cpu_units: Some(256.0),
        memory_mib: Some(512.0),
    };

    #[test]
    fn cpu_is_units_used_over_units_reserved() {
        // 60 s at a quarter of a CPU (15 s of CPU time) on a 256-unit task: 100 %.
        let before = reading(0, &[("a", 1_000_000_000)], 0);
        let now = reading(60_000, &[("a", 16_000_000_000)], 128);
        let u = utilization(&before, &now, FARGATE_256_512).unwrap();
        assert!((u.cpu.unwrap() - 100.0).abs() < 1e-9, "{u:?}");
        assert!((u.memory.unwrap() - 25.0).abs() < 1e-9, "{u:?}");
        // Two containers, one CPU busy over 3 s on a 1024-unit task: 100 %; more is allowed.
        let r = Reservation {
            cpu_units: Some(512.0),
            memory_mib: None,
        };
        let before = reading(1_000, &[("a", 0), ("b", 0)], 0);
        let now = reading(4_000, &[("a", 2_000_000_000), ("b", 1_000_000_000)], 1);
        let u = utilization(&before, &now, r).unwrap();
        assert!((u.cpu.unwrap() - 200.0).abs() < 1e-9, "{u:?}");
        assert_eq!(u.memory, None);
    }

    #[test]
    fn incomparable_readings_only_prime() {
        let before = reading(0, &[("a", 10)], 0);
        assert_eq!(
            utilization(&before, &reading(1_000, &[("b", 20)], 0), FARGATE_256_512),
            None,
            "another container"
        );
        assert_eq!(
            utilization(&before, &reading(1_000, &[("a", 5)], 0), FARGATE_256_512),
            None,
            "counter went back (restart)"
        );
        assert_eq!(
            utilization(&before, &reading(0, &[("a", 20)], 0), FARGATE_256_512),
            None,
            "no time between"
        );
    }

    fn identity(cluster: &str, service: Option<&str>) -> TaskIdentity {
        TaskIdentity {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            cluster: cluster.into(),
            service: service.map(str::to_string),
        }
    }

    fn both(cpu: f64, memory: f64) -> Utilization {
        Utilization {
            cpu: Some(cpu),
            memory: Some(memory),
        }
    }

    #[test]
    fn services_and_clusters_get_statistic_sets_over_their_tasks() {
        let samples = vec![
            (identity("prod", Some("web")), both(20.0, 10.0)),
            (identity("prod", Some("web")), both(60.0, 30.0)),
            (identity("prod", None), both(100.0, 50.0)),
        ];
        let at = Timestamp::from_millis(60_000);
        let out = data_points(&samples, at);
        let data = &out[&("123456789012".to_string(), "us-east-1".to_string())];
        let find = |metric: &str, dims: usize| {
            data.iter()
                .find(|d| d.metric_name == metric && d.dimensions.len() == dims)
                .unwrap()
        };
        let web_cpu = find("CPUUtilization", 2);
        assert_eq!(
            web_cpu.dimensions,
            vec![
                ("ClusterName".to_string(), "prod".to_string()),
                ("ServiceName".to_string(), "web".to_string())
            ]
        );
        assert_eq!(web_cpu.values.sample_count, 2.0);
        assert_eq!(web_cpu.values.sum, 80.0);
        assert_eq!(web_cpu.values.minimum, 20.0);
        assert_eq!(web_cpu.values.maximum, 60.0);
        assert_eq!(web_cpu.unit, "Percent");
        assert_eq!(web_cpu.namespace, "AWS/ECS");
        assert_eq!(web_cpu.timestamp, at);
        let cluster_mem = find("MemoryUtilization", 1);
        assert_eq!(cluster_mem.values.sample_count, 3.0);
        assert_eq!(cluster_mem.values.sum, 90.0);
        assert_eq!(data.len(), 4, "two metrics for the service and the cluster");
    }

    #[test]
    fn nothing_without_samples() {
        assert!(data_points(&[], Timestamp::from_millis(0)).is_empty());
    }
}
