//! Security groups enforced on the tasks this agent runs: each task's sandbox carries the
//! packet filter EC2 computes for its network interface (`NetworkInterfaces::interface_filters`),
//! applied by the runtime in the sandbox's own network namespace.
//!
//! - A task's filter is in place before its containers start (a task whose filter cannot be
//!   applied does not start).
//! - After every change EC2 reports (a rule authorized or revoked, an interface made or removed,
//!   so a source group's members changed), every running task's filter is recomputed and the
//!   ones that differ are replaced, each in one step.
//! - On start (tasks adopted from a previous run) and every [`RESYNC`] all are checked again,
//!   so the kernel converges on the records whatever was missed.
//!
//! One pass at a time (under one lock), so an older filter never lands after a newer one; within
//! a pass the changed filters are applied several at once.

use crate::Agent;
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Mutex, Notify};
use wharf_core::packet_filter::InterfaceFilter;
use wharf_ecs::records::TaskRecord;
use wharf_ecs::tasks;

/// How often every filter is checked against the records without a change signal.
const RESYNC: Duration = Duration::from_secs(30);

/// How many filters are replaced at once after a change.
const CONCURRENT_APPLIES: usize = 16;

/// Whether security groups filter tasks' traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityGroupMode {
    /// Filter, as AWS does (when the machine allows it: root and nftables).
    Enforce,
    /// Store rules without effect.
    Off,
}

/// The filters this agent has applied, and the signal that some may be stale.
pub(crate) struct PacketFilters {
    /// Set once by [`decide`]: whether filters are applied at all.
    enabled: AtomicBool,
    /// Sandbox id -> the filter last applied to it.
    applied: Mutex<HashMap<String, InterfaceFilter>>,
    wake: Notify,
}

impl PacketFilters {
    pub(crate) fn new() -> Self {
        Self {
            enabled: AtomicBool::new(false),
            applied: Mutex::new(HashMap::new()),
            wake: Notify::new(),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Some interface's filter may have changed.
    pub(crate) fn changed(&self) {
        self.wake.notify_one();
    }
}

/// One task's interface and the sandbox that carries it.
struct Filtered {
    account: String,
    region: String,
    eni_id: String,
    sandbox_id: String,
}

impl Filtered {
    fn of(rec: &TaskRecord) -> Option<Self> {
        Some(Self {
            account: rec.account.clone(),
            region: rec.region.clone(),
            eni_id: rec.resources.eni_id.clone()?,
            sandbox_id: rec.resources.sandbox_id.clone()?,
        })
    }
}

/// Decides whether filters are applied (the mode, and whether the runtime can) and says so once
/// when they are not. Called before any task starts, so no task starts unfiltered.
pub(crate) async fn decide(agent: &Agent) {
    match agent.config.security_groups {
        SecurityGroupMode::Off => {
            tracing::warn!("security groups are not enforced (--security-groups off): tasks accept any traffic");
        }
        SecurityGroupMode::Enforce => match agent.runtime.packet_filtering().await {
            Ok(()) => agent.filters.enabled.store(true, Ordering::Relaxed),
            Err(why) => tracing::warn!(
                reason = %why,
                "security groups cannot be enforced on this machine: their rules are stored and described, but tasks accept any traffic (run wharf as root with nftables installed, or pass --security-groups off to say so)"
            ),
        },
    }
}

/// Keeps every running task's filter current until `stop` (nothing to do when filters are not
/// applied).
pub(crate) async fn keep(agent: Arc<Agent>, mut stop: watch::Receiver<bool>) {
    if !agent.filters.enabled() {
        return;
    }
    let filters = &agent.filters;
    loop {
        sync_all(&agent).await;
        tokio::select! {
            _ = stop.changed() => {}
            _ = filters.wake.notified() => {}
            _ = tokio::time::sleep(RESYNC) => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Applies the filter of `rec`'s interface to its sandbox (before its containers start).
pub(crate) async fn apply_for_task(agent: &Agent, rec: &TaskRecord) -> Result<(), String> {
    if !agent.filters.enabled() {
        return Ok(());
    }
    let Some(task) = Filtered::of(rec) else {
        return Ok(());
    };
    let mut applied = agent.filters.applied.lock().await;
    let computed = filters_of(
        agent,
        &task.account,
        &task.region,
        vec![task.eni_id.clone()],
    )
    .await?;
    let Some(filter) = computed.get(&task.eni_id).cloned() else {
        return Ok(());
    };
    agent
        .runtime
        .apply_packet_filter(&task.sandbox_id, &filter)
        .await
        .map_err(|e| e.to_string())?;
    applied.insert(task.sandbox_id, filter);
    Ok(())
}

/// Forgets what was applied to `sandbox_id` (its task is gone).
pub(crate) async fn forget(agent: &Agent, sandbox_id: &str) {
    agent.filters.applied.lock().await.remove(sandbox_id);
}

/// Recomputes every unstopped task's filter and replaces those that changed.
async fn sync_all(agent: &Arc<Agent>) {
    let store = agent.store.clone();
    let tasks = match tokio::task::spawn_blocking(move || tasks::unstopped(&store)).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot read tasks to update their security groups");
            return;
        }
        Err(_) => return,
    };
    let mut by_scope: BTreeMap<(String, String), Vec<Filtered>> = BTreeMap::new();
    for task in tasks.iter().filter_map(Filtered::of) {
        by_scope
            .entry((task.account.clone(), task.region.clone()))
            .or_default()
            .push(task);
    }
    let mut applied = agent.filters.applied.lock().await;
    let live: std::collections::HashSet<&str> = by_scope
        .values()
        .flatten()
        .map(|t| t.sandbox_id.as_str())
        .collect();
    applied.retain(|sandbox, _| live.contains(sandbox.as_str()));
    for ((account, region), tasks) in &by_scope {
        let ids = tasks.iter().map(|t| t.eni_id.clone()).collect();
        let computed = match filters_of(agent, account, region, ids).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot compute security group filters");
                continue;
            }
        };
        // Owned (sandbox, interface, filter) triples: the applies run concurrently.
        let changed: Vec<(String, String, InterfaceFilter)> = tasks
            .iter()
            .filter_map(|t| computed.get(&t.eni_id).map(|f| (t, f)))
            .filter(|(t, f)| applied.get(&t.sandbox_id) != Some(*f))
            .map(|(t, f)| (t.sandbox_id.clone(), t.eni_id.clone(), f.clone()))
            .collect();
        // Each apply is a short process that mostly waits on the kernel: several at once.
        let runtime = agent.runtime.clone();
        let results: Vec<_> = futures::stream::iter(changed)
            .map(|(sandbox, eni, filter)| {
                let runtime = runtime.clone();
                async move {
                    let result = runtime.apply_packet_filter(&sandbox, &filter).await;
                    (sandbox, eni, filter, result)
                }
            })
            .buffer_unordered(CONCURRENT_APPLIES)
            .collect()
            .await;
        for (sandbox, eni, filter, result) in results {
            match result {
                Ok(()) => {
                    tracing::debug!(%eni, "security group filter replaced");
                    applied.insert(sandbox, filter);
                }
                // A sandbox removed meanwhile (its task is stopping) needs no filter.
                Err(e) => tracing::debug!(%eni, error = %e, "cannot apply security group filter"),
            }
        }
    }
}

async fn filters_of(
    agent: &Agent,
    account: &str,
    region: &str,
    ids: Vec<String>,
) -> Result<BTreeMap<String, InterfaceFilter>, String> {
    let network = agent.network.clone();
    let (account, region) = (account.to_string(), region.to_string());
    tokio::task::spawn_blocking(move || network.interface_filters(&account, &region, &ids))
        .await
        .map_err(|e| e.to_string())?
}
