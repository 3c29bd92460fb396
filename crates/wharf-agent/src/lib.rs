//! The task agent: wharf's stand-in for the ECS agent and Fargate's data plane. It watches the
//! task records ECS writes (`wharf_ecs::tasks`) and makes them real on a container runtime
//! (`wharf_runtime::Runtime`): a sandbox with the task's own address in its subnet, an ENI
//! record in EC2, images pulled from wharf's registry, containers with the definition's limits,
//! health checks and dependencies, their output shipped to CloudWatch Logs, and every state
//! change written back as AWS reports it.
//!
//! It is level-triggered: [`Agent::run`] compares the records with the supervisors it runs and
//! starts one per task that is not STOPPED (`supervisor`), on every change ECS signals and on a
//! periodic tick. Started again after a restart, it adopts the containers that still run (found
//! by their labels), stops the tasks whose containers vanished, and removes containers that
//! belong to no live task.

pub mod container_spec;
pub mod endpoint;
mod log_pump;
pub mod metrics;
mod packet_filters;
mod start_network;
mod supervisor;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::watch;
use wharf_core::packet_filter::FilterChangeNotifier;
use wharf_core::{
    Clock, ImageResolver, LogSink, MetricSink, MetricTime, NetworkInterfaces, SecretValues,
};
use wharf_ecs::tasks;
use wharf_ecs::TaskNotifier;
use wharf_runtime::{labels, NetworkSpec, Runtime};
use wharf_store::Store;

pub use packet_filters::{by_namespace as network_filters, SecurityGroupMode};

/// Settings.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The range public addresses (`assignPublicIp=ENABLED`) come from.
    pub public_cidr: String,
    /// How often running tasks' containers are inspected.
    pub poll_interval: Duration,
    /// How often all records are reconciled even without a change signal.
    pub reconcile_interval: Duration,
    /// This wharf's instance id (the `wharf.instance` label on everything it creates).
    pub instance: String,
    /// The base URL of the task endpoint (credentials and metadata) as containers reach it,
    /// e.g. `http://169.254.170.2`; `None` when it is not served.
    pub task_endpoint: Option<String>,
    /// How long a task whose subnet cannot reach what it needs (no internet gateway route with
    /// a public address, no NAT gateway, no VPC endpoint) stays PENDING before it stops, as
    /// Fargate's retries take.
    pub unreachable_timeout: Duration,
    /// Whether tasks' traffic is filtered by their security groups.
    pub security_groups: SecurityGroupMode,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            public_cidr: "100.64.0.0/16".into(),
            poll_interval: Duration::from_millis(250),
            reconcile_interval: Duration::from_secs(2),
            instance: "default".into(),
            task_endpoint: None,
            unreachable_timeout: Duration::from_secs(60),
            security_groups: SecurityGroupMode::Enforce,
        }
    }
}

/// The agent.
pub struct Agent {
    store: Arc<Store>,
    runtime: Arc<dyn Runtime>,
    images: Arc<dyn ImageResolver>,
    logs: Arc<dyn LogSink>,
    network: Arc<dyn NetworkInterfaces>,
    clock: Arc<dyn Clock>,
    /// Reads the values of containers' `secrets`.
    secrets: Arc<dyn SecretValues>,
    config: AgentConfig,
    /// Running supervisors by task key; aborted when the agent stops (as they would be if the
    /// process ended), so a stopped agent never acts on a task again.
    supervised: Mutex<HashMap<String, tokio::task::JoinHandle<()>>>,
    changed: watch::Sender<u64>,
    /// Called after the agent changed a task record (the service controller listens).
    task_listeners: Mutex<Vec<TaskNotifier>>,
    /// Where the running tasks' `AWS/ECS` utilization goes, and how often (`metrics.rs`); set
    /// once before `run`, no metrics when unset.
    metrics: OnceLock<(Arc<dyn MetricSink>, MetricTime)>,
    /// The security group filters applied to the tasks' sandboxes.
    filters: packet_filters::PacketFilters,
}

impl Agent {
    /// An agent over ECS's `store`, running tasks on `runtime`.
    pub fn new(
        store: Arc<Store>,
        runtime: Arc<dyn Runtime>,
        images: Arc<dyn ImageResolver>,
        logs: Arc<dyn LogSink>,
        network: Arc<dyn NetworkInterfaces>,
        clock: Arc<dyn Clock>,
        secrets: Arc<dyn SecretValues>,
        config: AgentConfig,
    ) -> Arc<Self> {
        let (changed, _) = watch::channel(0);
        Arc::new(Self {
            store,
            runtime,
            images,
            logs,
            network,
            clock,
            secrets,
            config,
            supervised: Mutex::new(HashMap::new()),
            changed,
            task_listeners: Mutex::new(Vec::new()),
            metrics: OnceLock::new(),
            filters: packet_filters::PacketFilters::new(),
        })
    }

    /// Publishes the running tasks' `CPUUtilization` / `MemoryUtilization` to `sink` every
    /// `time.publish_interval()` while [`Agent::run`] runs. Call before `run`; a second call is
    /// ignored.
    pub fn publish_metrics(&self, sink: Arc<dyn MetricSink>, time: MetricTime) {
        let _ = self.metrics.set((sink, time));
    }

    /// The container runtime tasks run on.
    pub fn runtime(&self) -> Arc<dyn Runtime> {
        self.runtime.clone()
    }

    /// What ECS calls when tasks are launched or asked to stop.
    pub fn notifier(self: &Arc<Self>) -> TaskNotifier {
        let agent = Arc::downgrade(self);
        Arc::new(move || {
            if let Some(a) = agent.upgrade() {
                a.changed.send_modify(|n| *n = n.wrapping_add(1));
            }
        })
    }

    /// What EC2 calls after a change that may change a task's security group filter.
    pub fn filter_changes(self: &Arc<Self>) -> FilterChangeNotifier {
        let agent = Arc::downgrade(self);
        Arc::new(move || {
            if let Some(a) = agent.upgrade() {
                a.filters.changed();
            }
        })
    }

    /// Calls `listener` whenever the agent changes a task record (status, health, ...).
    pub fn on_task_change(&self, listener: TaskNotifier) {
        self.task_listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(listener);
    }

    pub(crate) fn task_changed(&self) {
        let listeners = self
            .task_listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for l in listeners {
            l();
        }
    }

    /// Runs until `stop` turns true. Containers keep running when wharf stops; the next start
    /// adopts them.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        tracing::info!(runtime = %self.runtime.describe(), "task agent started");
        if let Err(e) = self.remove_orphans().await {
            tracing::warn!(error = %e, "could not look for containers left behind");
        }
        let sampler = self.metrics.get().map(|(sink, time)| {
            tokio::spawn(metrics::run(
                self.clone(),
                sink.clone(),
                *time,
                stop.clone(),
            ))
        });
        packet_filters::decide(&self).await;
        let filter_keeper = tokio::spawn(packet_filters::keep(self.clone(), stop.clone()));
        let mut changed = self.changed.subscribe();
        loop {
            if *stop.borrow() {
                break;
            }
            self.reconcile();
            tokio::select! {
                _ = stop.changed() => {}
                _ = changed.changed() => {}
                _ = tokio::time::sleep(self.config.reconcile_interval) => {}
            }
        }
        if let Some(sampler) = sampler {
            let _ = sampler.await;
        }
        let _ = filter_keeper.await;
        self.abort_supervisors().await;
        tracing::info!("task agent stopped");
    }

    /// Starts a supervisor for every unstopped task that has none.
    fn reconcile(self: &Arc<Self>) {
        let pending = match tasks::unstopped(&self.store) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "cannot read tasks");
                return;
            }
        };
        let Ok(mut supervised) = self.supervised.lock() else {
            return;
        };
        for task in pending {
            let key = task.key();
            if let std::collections::hash_map::Entry::Vacant(slot) = supervised.entry(key) {
                // Inserted under the lock the supervisor's `release` takes: a supervisor that
                // finishes at once still finds its entry.
                let key = slot.key().clone();
                slot.insert(tokio::spawn(supervisor::supervise(self.clone(), key)));
            }
        }
    }

    fn release(&self, key: &str) {
        if let Ok(mut supervised) = self.supervised.lock() {
            supervised.remove(key);
        }
    }

    /// Cancels every supervisor and waits until they are gone (each is cancelled at an await:
    /// store writes are synchronous, so a record is never half-written). The tasks' containers
    /// keep running.
    async fn abort_supervisors(&self) {
        let handles: Vec<_> = match self.supervised.lock() {
            Ok(mut supervised) => supervised.drain().map(|(_, h)| h).collect(),
            Err(_) => vec![],
        };
        for handle in &handles {
            handle.abort();
        }
        futures::future::join_all(handles).await;
    }

    /// Removes wharf-labelled containers whose task is STOPPED or unknown (left by a crash
    /// between a container's creation and its record). Containers of live tasks are left to
    /// their supervisors.
    async fn remove_orphans(&self) -> Result<(), String> {
        let managed = self
            .runtime
            .list_managed()
            .await
            .map_err(|e| e.to_string())?;
        let live: HashSet<String> = tasks::unstopped(&self.store)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter_map(|t| t.task.task_arn)
            .collect();
        for c in managed {
            if c.labels.get(labels::INSTANCE) != Some(&self.config.instance) {
                continue;
            }
            let arn = c.labels.get(labels::TASK_ARN).cloned().unwrap_or_default();
            if !live.contains(&arn) {
                tracing::info!(container = %c.name, task = %arn, "removing a container that belongs to no running task");
                if let Err(e) = self.runtime.remove_container(&c.id).await {
                    tracing::warn!(container = %c.name, error = %e, "cannot remove");
                }
            }
        }
        Ok(())
    }

    /// The bridge network of a task's VPC. wharf's VPCs are /16s, so the /16 around the
    /// subnet is the VPC's range, and all of its subnets share one network as in a VPC. The
    /// network is named after its range, not the VPC id: every wharf on the machine (each with
    /// its own default VPC, all 172.31.0.0/16) shares it, and the engine hands out addresses.
    fn vpc_network(&self, subnet_cidr: &str) -> NetworkSpec {
        let base = subnet_cidr.split('/').next().unwrap_or_default();
        let octets: Vec<&str> = base.split('.').collect();
        let cidr = match octets.as_slice() {
            [a, b, _, _] => format!("{a}.{b}.0.0/16"),
            _ => subnet_cidr.to_string(),
        };
        NetworkSpec {
            name: format!("wharf-{}", cidr.replace(['.', '/'], "-")),
            cidr,
            labels: BTreeMap::new(),
        }
    }

    fn public_network(&self) -> NetworkSpec {
        NetworkSpec {
            name: "wharf-public".into(),
            cidr: self.config.public_cidr.clone(),
            labels: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests;
