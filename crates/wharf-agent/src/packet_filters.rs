//! Security groups enforced on the tasks this agent runs: the packet filter EC2 computes for
//! each task's network interface (`NetworkInterfaces::interface_filters`) is gathered, by the
//! network namespace each of its addresses lives in, into one table per namespace, which the
//! runtime replaces in one step (see wharf-runtime's `packet_filter`).
//!
//! - A task's filter is in place before its containers start (a task whose filter cannot be
//!   applied does not start).
//! - After every change EC2 reports (a rule authorized or revoked, an interface made or removed,
//!   so a source group's members changed), every running task's filter is recomputed and the
//!   tables that differ are replaced; an interface whose task is gone leaves its table.
//! - On start (tasks adopted from a previous run) every table is written again, so the kernel
//!   converges on the records whatever was missed while wharf was stopped; and again every
//!   [`RESYNC`], whatever else touched the tables meanwhile.
//!
//! One pass at a time (under one lock), so an older table never lands after a newer one.

use crate::Agent;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Mutex, Notify};
use wharf_core::packet_filter::{InterfaceFilter, NetworkFilter, NetworkMember};
use wharf_ecs::records::TaskRecord;
use wharf_ecs::tasks;

/// How often every filter is checked against the records without a change signal.
const RESYNC: Duration = Duration::from_secs(30);
/// Whether security groups filter tasks' traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityGroupMode {
    /// Filter, as AWS does (when the machine allows it: root and nftables).
    Enforce,
    /// Store rules without effect.
    Off,
}

/// The tables this agent has applied, and the signal that some may be stale.
pub(crate) struct PacketFilters {
    /// Set once by [`decide`]: whether filters are applied at all.
    enabled: AtomicBool,
    /// Network namespace (`None`: the machine's) -> the filter its table holds.
    applied: Mutex<HashMap<Option<String>, NetworkFilter>>,
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

/// One task's interface.
struct Filtered {
    account: String,
    region: String,
    eni_id: String,
}

impl Filtered {
    /// The interface of `rec`, once its sandbox exists.
    fn of(rec: &TaskRecord) -> Option<Self> {
        rec.resources.sandbox_id.as_ref()?;
        Some(Self {
            account: rec.account.clone(),
            region: rec.region.clone(),
            eni_id: rec.resources.eni_id.clone()?,
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
        if let Err(e) = sync_all(&agent).await {
            tracing::warn!(error = %e, "cannot update the security group filters");
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = filters.wake.notified() => {}
            _ = tokio::time::sleep(RESYNC) => {
                // Written again even if unchanged: whatever else touched the kernel's tables
                // is undone.
                filters.applied.lock().await.retain(|_, f| f.members.is_empty());
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Puts the filter of `rec`'s interface in place (before its containers start): a pass over
/// every task, which now includes this one. Fails when its interface's filter did not land
/// (another namespace failing does not hold this task back).
pub(crate) async fn apply_for_task(agent: &Agent, rec: &TaskRecord) -> Result<(), String> {
    if !agent.filters.enabled() {
        return Ok(());
    }
    let Some(task) = Filtered::of(rec) else {
        return Ok(());
    };
    let outcome = sync_all(agent).await;
    let landed = agent
        .filters
        .applied
        .lock()
        .await
        .values()
        .any(|f| f.members.iter().any(|m| m.interface_id == task.eni_id));
    if landed {
        return Ok(());
    }
    // Not in any table: fine when EC2 gives it nothing to filter.
    let own = filters_of(
        agent,
        &task.account,
        &task.region,
        vec![task.eni_id.clone()],
    )
    .await?;
    match own.get(&task.eni_id) {
        Some(filter) if !filter.addresses.is_empty() => Err(outcome
            .err()
            .unwrap_or_else(|| format!("the filter of {} was not applied", task.eni_id))),
        _ => Ok(()),
    }
}

/// Recomputes every unstopped task's filter and replaces the tables that changed. Fails when
/// the filters cannot be computed or a table cannot be replaced (the others are still tried).
async fn sync_all(agent: &Agent) -> Result<(), String> {
    // One pass at a time, and each reads the tasks after the previous one ended: a pass that
    // read before a task got its interface must not land after the pass that has it (its
    // table would leave the new interface unfiltered).
    let mut applied = agent.filters.applied.lock().await;
    let store = agent.store.clone();
    let tasks = tokio::task::spawn_blocking(move || tasks::unstopped(&store))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot read tasks: {e}"))?;
    let mut by_scope: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for task in tasks.iter().filter_map(Filtered::of) {
        by_scope
            .entry((task.account, task.region))
            .or_default()
            .push(task.eni_id);
    }
    let mut interfaces: BTreeMap<String, InterfaceFilter> = BTreeMap::new();
    for ((account, region), ids) in by_scope {
        interfaces.extend(filters_of(agent, &account, &region, ids).await?);
    }
    let mut wanted = by_namespace(&interfaces);
    // The machine's table is always written once (it may hold a previous run's interfaces);
    // a namespace whose last interface went loses its table.
    wanted.entry(None).or_default();
    for namespace in applied.keys() {
        wanted.entry(namespace.clone()).or_default();
    }
    let table = wharf_runtime::packet_filter::table_name(&agent.config.instance);
    let mut failures = Vec::new();
    for (namespace, filter) in wanted {
        if applied.get(&namespace) == Some(&filter) {
            continue;
        }
        let gone = namespace.is_some() && filter.members.is_empty();
        match agent
            .runtime
            .apply_network_filter(&table, namespace.as_deref(), &filter)
            .await
        {
            Ok(()) => {
                tracing::debug!(
                    namespace = namespace.as_deref().unwrap_or("-"),
                    interfaces = filter.members.len(),
                    "security group filters replaced"
                );
                if gone {
                    applied.remove(&namespace);
                } else {
                    applied.insert(namespace, filter);
                }
            }
            // A VPC's namespace goes with its last task: nothing left to filter there.
            Err(_) if gone => {
                applied.remove(&namespace);
            }
            Err(e) => failures.push(format!(
                "{}: {e}",
                namespace.as_deref().unwrap_or("the machine's network")
            )),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// The interfaces of each network namespace (`None`: the machine's), with the addresses they
/// have there: what each namespace's table holds.
pub fn by_namespace(
    interfaces: &BTreeMap<String, InterfaceFilter>,
) -> BTreeMap<Option<String>, NetworkFilter> {
    let mut out: BTreeMap<Option<String>, NetworkFilter> = BTreeMap::new();
    for (id, filter) in interfaces {
        let mut here: BTreeMap<&Option<String>, Vec<std::net::Ipv4Addr>> = BTreeMap::new();
        for a in &filter.addresses {
            here.entry(&a.namespace).or_default().push(a.address);
        }
        for (namespace, addresses) in here {
            out.entry(namespace.clone())
                .or_default()
                .members
                .push(NetworkMember {
                    interface_id: id.clone(),
                    addresses,
                    ingress: filter.ingress.clone(),
                    egress: filter.egress.clone(),
                });
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_core::packet_filter::InterfaceAddress;

    #[test]
    fn interfaces_are_gathered_by_the_namespace_of_each_address() {
        let address = |ns: Option<&str>, a: &str| InterfaceAddress {
            namespace: ns.map(str::to_string),
            address: a.parse().unwrap(),
        };
        let interfaces = BTreeMap::from([
            (
                "eni-a".to_string(),
                InterfaceFilter {
                    addresses: vec![address(None, "172.31.16.4"), address(None, "100.64.0.3")],
                    ..Default::default()
                },
            ),
            (
                "eni-b".to_string(),
                InterfaceFilter {
                    addresses: vec![
                        address(Some("wharf-vpc-1"), "10.0.11.4"),
                        address(None, "100.64.0.4"),
                    ],
                    ..Default::default()
                },
            ),
        ]);
        let out = by_namespace(&interfaces);
        let machine = &out[&None].members;
        assert_eq!(machine.len(), 2);
        assert_eq!(machine[0].interface_id, "eni-a");
        assert_eq!(machine[0].addresses.len(), 2);
        assert_eq!(
            machine[1].addresses,
            vec!["100.64.0.4".parse::<std::net::Ipv4Addr>().unwrap()]
        );
        let vpc = &out[&Some("wharf-vpc-1".to_string())].members;
        assert_eq!(vpc.len(), 1);
        assert_eq!(
            vpc[0].addresses,
            vec!["10.0.11.4".parse::<std::net::Ipv4Addr>().unwrap()]
        );
    }
}
