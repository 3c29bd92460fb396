//! The service controller's loop body: one [`ServiceController::pass`] reads every ACTIVE and
//! DRAINING service with its tasks and its target groups' health, asks the scheduler
//! ([`crate::service_scheduler::reconcile`]) what to do, and carries the plan out.
//!
//! Each service's step commits in ONE store transaction: the new task records, the stop
//! requests, the deployments, the events and the controller's memory ([`ControllerState`],
//! table [`CONTROLLER_STATE`](crate::records::CONTROLLER_STATE)). The transaction first checks
//! that the service is still what the step read; if an API call changed it meanwhile, the step is
//! dropped and the next pass starts from the new state. Because every decision is made from
//! what is stored, a wharf killed at any point and started again resumes where it was: tasks
//! launched are in the store (counted, never launched twice), tasks asked to stop stay asked,
//! events are written with the change they describe.
//!
//! Target registration is the one side effect outside the transaction. It runs after the
//! commit and is idempotent; a lost registration is noticed and redone on the next pass (the
//! task is RUNNING but not registered), a lost deregistration likewise (the task is in
//! `removing` but still registered).

use crate::checks;
use crate::generated::Error;
use crate::records::{
    self, ControllerState, DeploymentRecord, ServiceEventRecord, ServiceRecord, TaskRecord,
    CONTROLLER_STATE, SERVICES, TASKS,
};
use crate::service_scheduler::deployment_rules::events;
use crate::service_scheduler::placement::{self, SubnetSlot};
use crate::service_scheduler::{
    self, Action, CircuitBreaker, ContainerHealth, DeploymentStatus, DeploymentView, Plan,
    RolloutState, ServiceView, TargetHealth, TargetState, TaskView,
};
use crate::task_lifecycle::{self, StopCode, TaskStatus};
use crate::tasks::{self, LaunchSpec};
use crate::Ecs;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use wharf_core::{
    Arn, Clock, RegisteredTarget, RequestContext, TargetRegistry, TargetState as LbState, Timestamp,
};
use wharf_store::StoreError;

/// Stopped tasks are shown to the scheduler for this long after they stopped (AWS keeps
/// stopped tasks visible for about an hour); the scheduler has long noticed them by then.
const STOPPED_TASK_HORIZON_MS: i64 = 60 * 60 * 1000;

/// How long a repeated event message is left out (AWS: six hours).
const REPEAT_EVENT_AFTER_MS: i64 = 6 * 60 * 60 * 1000;

/// Most events a service keeps (AWS shows the latest 100).
const MAX_EVENTS: usize = 100;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Services reconciled (ACTIVE and DRAINING).
    pub services: usize,
    /// Services whose step changed something and was committed.
    pub committed: usize,
    /// Tasks launched.
    pub launched: usize,
    /// Tasks asked to stop.
    pub stopped: usize,
    /// Services not at steady state (a deployment in progress, tasks starting or draining).
    pub unsettled: usize,
    /// The earliest time a service asked to be looked at again (back-off, grace period).
    pub wake_at: Option<i64>,
}

/// The ECS service controller: see the module documentation.
pub struct ServiceController {
    ecs: Ecs,
    targets: Arc<dyn TargetRegistry>,
    clock: Arc<dyn Clock>,
}

/// One service's tasks and what the load balancers say about them, read at the start of a step.
struct Observed<'a> {
    tasks: Vec<&'a TaskRecord>,
    /// Target group ARN -> its targets (ARNs include account and region).
    health: &'a HashMap<String, Vec<RegisteredTarget>>,
}

impl ServiceController {
    /// The controller of `ecs`'s services, registering tasks through `targets`.
    pub fn new(ecs: Ecs, targets: Arc<dyn TargetRegistry>, clock: Arc<dyn Clock>) -> Self {
        Self {
            ecs,
            targets,
            clock,
        }
    }

    /// Reconciles every ACTIVE and DRAINING service once.
    pub fn pass(&self) -> Result<PassReport, StoreError> {
        let now = self.clock.now();
        let (services, states, all_tasks) = self.ecs.store.read(|tx| {
            let services: Vec<(String, ServiceRecord)> = tx
                .list(SERVICES, "")?
                .into_iter()
                .filter(|(_, s)| matches!(s.status.as_deref(), Some("ACTIVE" | "DRAINING")))
                .collect();
            if services.is_empty() {
                return Ok((services, Vec::new(), Vec::new()));
            }
            Ok::<_, StoreError>((
                services,
                tx.list::<ControllerState>(CONTROLLER_STATE, "")?,
                tx.list::<TaskRecord>(TASKS, "")?,
            ))
        })?;
        let states: HashMap<String, ControllerState> = states.into_iter().collect();
        let mut by_service: HashMap<(String, String, String, String), Vec<&TaskRecord>> =
            HashMap::new();
        for (_, t) in &all_tasks {
            let Some(name) = &t.service_name else {
                continue;
            };
            let stopped_long_ago = t
                .task
                .stopped_at
                .is_some_and(|s| s.millis < now.millis - STOPPED_TASK_HORIZON_MS);
            if stopped_long_ago {
                continue;
            }
            by_service
                .entry((
                    t.account.clone(),
                    t.region.clone(),
                    t.cluster_name(),
                    name.clone(),
                ))
                .or_default()
                .push(t);
        }
        let mut health: HashMap<String, Vec<RegisteredTarget>> = HashMap::new();
        let mut report = PassReport::default();
        for (key, service) in &services {
            let Some(arn) = service.service_arn.as_deref().and_then(Arn::parse) else {
                continue;
            };
            let cluster = cluster_of(&arn);
            let name = service.service_name.clone().unwrap_or_default();
            let tasks = by_service
                .get(&(arn.account.clone(), arn.region.clone(), cluster, name))
                .cloned()
                .unwrap_or_default();
            for tg in target_groups(service) {
                if let std::collections::hash_map::Entry::Vacant(slot) = health.entry(tg) {
                    let found = self
                        .targets
                        .targets(&arn.account, &arn.region, slot.key())
                        .unwrap_or_else(|e| {
                            tracing::warn!(target_group = %slot.key(), error = %e, "cannot read target health");
                            Vec::new()
                        });
                    slot.insert(found);
                }
            }
            report.services += 1;
            let state = states.get(key).cloned().unwrap_or_default();
            let observed = Observed {
                tasks,
                health: &health,
            };
            if let Err(e) = self.step(key, service, &arn, &state, &observed, now, &mut report) {
                tracing::error!(service = %key, error = %e, "the service controller could not apply a step");
            }
        }
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        key: &str,
        service: &ServiceRecord,
        arn: &Arn,
        state: &ControllerState,
        observed: &Observed<'_>,
        now: Timestamp,
        report: &mut PassReport,
    ) -> Result<(), StoreError> {
        let view = service_view(service);
        let deployments: Vec<DeploymentView> = service
            .deployments
            .iter()
            .flatten()
            .filter_map(deployment_view)
            .collect();
        let lbs = load_balancers(service);
        let task_views = task_views(&observed.tasks, &lbs, observed.health);
        let mut ids = || crate::services::deployment_id(&self.ecs);
        let mut plan = service_scheduler::reconcile(
            &view,
            &deployments,
            &task_views,
            state,
            now.millis,
            &mut ids,
        );
        let ctx = RequestContext::for_tests(&arn.region, &arn.account, now);
        let mut started_events = Vec::new();
        let mut records = Vec::new();
        for action in &plan.actions {
            let Action::StartTasks {
                deployment_id,
                count,
            } = action
            else {
                continue;
            };
            match self.prepare_tasks(&ctx, service, &plan, deployment_id, *count, observed) {
                Ok(new) => {
                    let ids: Vec<String> = new.iter().map(|t| t.id().to_string()).collect();
                    started_events.push(events::started(&view.name, &ids));
                    records.extend(new);
                }
                Err(e) => {
                    let message = if e.message() == crate::launch_types::NO_CONTAINER_INSTANCES {
                        events::no_container_instance(&view.name, e.message())
                    } else {
                        events::unable_to_place(&view.name, e.message())
                    };
                    started_events.push(message);
                    plan.state.throttle.failures += 1;
                    plan.state.throttle.last_failure_at = now.millis;
                }
            }
        }
        let stops: Vec<(String, String)> = plan
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::StopTask { task_id, reason } => Some((task_id.clone(), reason.clone())),
                _ => None,
            })
            .collect();
        let mut messages = started_events;
        messages.extend(plan.events.iter().cloned());
        let updated = self.updated_service(service, &plan, &messages, observed, now);
        let unsettled = !plan.state.steady || view.deleting;
        if unsettled {
            report.unsettled += 1;
        }
        if let Some(w) = plan.wake_at {
            report.wake_at = Some(report.wake_at.map_or(w, |r: i64| r.min(w)));
        }
        let changed =
            updated != *service || plan.state != *state || !records.is_empty() || !stops.is_empty();
        if changed {
            let cluster = cluster_of(arn);
            let committed = self.ecs.store.write(|tx| {
                if tx.get(SERVICES, key)?.as_ref() != Some(service) {
                    return Ok(false);
                }
                for r in &records {
                    tx.put(TASKS, &r.key(), r)?;
                }
                for (id, reason) in &stops {
                    let tk = records::task_key(&arn.account, &arn.region, &cluster, id);
                    if let Some(mut t) = tx.get::<TaskRecord>(TASKS, &tk)? {
                        if task_lifecycle::request_stop(
                            &mut t.task,
                            StopCode::ServiceSchedulerInitiated,
                            reason,
                        ) {
                            tx.put(TASKS, &tk, &t)?;
                        }
                    }
                }
                tx.put(SERVICES, key, &updated)?;
                tx.put(CONTROLLER_STATE, key, &plan.state)?;
                Ok::<_, StoreError>(true)
            })?;
            if !committed {
                return Ok(());
            }
            report.committed += 1;
            report.launched += records.len();
            report.stopped += stops.len();
            if !records.is_empty() || !stops.is_empty() {
                self.ecs.notify_tasks_changed();
            }
        }
        self.apply_targets(arn, &plan, &lbs, observed);
        Ok(())
    }

    /// The records of `count` new tasks of `deployment_id`, placed across the subnets.
    fn prepare_tasks(
        &self,
        ctx: &RequestContext,
        service: &ServiceRecord,
        plan: &Plan,
        deployment_id: &str,
        count: u32,
        observed: &Observed<'_>,
    ) -> Result<Vec<TaskRecord>, Error> {
        let deployment = plan.deployments.iter().find(|d| d.id == deployment_id);
        let stored = service
            .deployments
            .iter()
            .flatten()
            .find(|d| d.id.as_deref() == Some(deployment_id));
        let task_definition = deployment
            .map(|d| d.task_definition.clone())
            .or_else(|| service.task_definition.clone())
            .unwrap_or_default();
        let network = stored
            .and_then(|d| d.network_configuration.clone())
            .or_else(|| service.network_configuration.clone());
        let subnet_ids = network
            .as_ref()
            .and_then(|n| n.awsvpc_configuration.as_ref())
            .map(|v| v.subnets.clone())
            .unwrap_or_default();
        let slots: Vec<SubnetSlot> = checks::placement_subnets(&self.ecs, ctx, &subnet_ids)?
            .into_iter()
            .map(|s| SubnetSlot {
                id: s.id,
                availability_zone: s.availability_zone,
            })
            .collect();
        let mut existing: BTreeMap<String, usize> = BTreeMap::new();
        for t in &observed.tasks {
            // Tasks on their way out (asked to stop, or being drained) do not hold their zone.
            let staying = TaskStatus::of(&t.task) <= TaskStatus::Running
                && t.task.desired_status.as_deref() != Some("STOPPED")
                && !plan.state.removing.contains_key(t.id())
                && !plan
                    .actions
                    .iter()
                    .any(|a| matches!(a, Action::StopTask { task_id, .. } if task_id == t.id()));
            if staying {
                if let Some(s) = &t.subnet {
                    *existing.entry(s.id.clone()).or_insert(0) += 1;
                }
            }
        }
        let name = service.service_name.clone().unwrap_or_default();
        let tags = match service.propagate_tags.as_deref() {
            Some("SERVICE") => service.tags.clone().unwrap_or_default(),
            _ => Vec::new(),
        };
        tasks::prepare(
            &self.ecs,
            ctx,
            &LaunchSpec {
                cluster: service.cluster_arn.clone(),
                task_definition,
                count: count as usize,
                network_configuration: network,
                started_by: Some(deployment_id.to_string()),
                group: Some(format!("service:{name}")),
                tags,
                capacity_provider_name: service
                    .capacity_provider_strategy
                    .as_ref()
                    .and_then(|s| s.first())
                    .map(|s| s.capacity_provider.clone()),
                launch_type: service.launch_type.clone(),
                service_name: Some(name),
                platform_version: service.platform_version.clone(),
                propagate_task_definition_tags: service.propagate_tags.as_deref()
                    == Some("TASK_DEFINITION"),
                allow_inactive_definition: true,
                subnet_order: placement::spread(&slots, &existing, count),
                enable_execute_command: service.enable_execute_command.unwrap_or(false),
                ..LaunchSpec::default()
            },
        )
    }

    /// The service record after this step: deployments, counts, events, task definition and
    /// status.
    fn updated_service(
        &self,
        service: &ServiceRecord,
        plan: &Plan,
        messages: &[String],
        observed: &Observed<'_>,
        now: Timestamp,
    ) -> ServiceRecord {
        let mut s = service.clone();
        let stored = service.deployments.clone().unwrap_or_default();
        let mut deployments = Vec::new();
        for (view, counts) in plan.deployments.iter().zip(&plan.counts.deployments) {
            if view.status == DeploymentStatus::Inactive {
                continue;
            }
            let mut d = stored
                .iter()
                .find(|d| d.id.as_deref() == Some(view.id.as_str()))
                .cloned()
                .unwrap_or_else(|| DeploymentRecord {
                    id: Some(view.id.clone()),
                    created_at: Some(Timestamp::from_millis(view.created_at)),
                    launch_type: service.launch_type.clone(),
                    capacity_provider_strategy: service.capacity_provider_strategy.clone(),
                    platform_version: service.platform_version.clone(),
                    platform_family: service.platform_family.clone(),
                    network_configuration: service.network_configuration.clone(),
                    ..Default::default()
                });
            d.status = Some(view.status.as_str().into());
            d.task_definition = Some(view.task_definition.clone());
            d.desired_count = Some(view.desired_count as i32);
            d.failed_tasks = Some(view.failed_tasks as i32);
            d.running_count = Some(counts.running as i32);
            d.pending_count = Some(counts.pending as i32);
            d.rollout_state = Some(view.rollout_state.as_str().into());
            d.rollout_state_reason = Some(view.rollout_state_reason.clone());
            d.updated_at = Some(Timestamp::from_millis(view.updated_at));
            deployments.push(d);
        }
        if let Some(primary) = deployments
            .iter()
            .find(|d| d.status.as_deref() == Some(DeploymentStatus::Primary.as_str()))
        {
            s.task_definition = primary.task_definition.clone();
        }
        s.deployments = Some(deployments);
        s.running_count = Some(plan.counts.running as i32);
        s.pending_count = Some(plan.counts.pending as i32);
        // AWS omits a placement failure that repeats the latest event until six hours have
        // passed (a service that cannot place tasks says so once, not at every retry);
        // progress messages ("registered 1 targets ...") are written each time.
        let latest = service.events.iter().flatten().next();
        let messages: Vec<&String> = messages
            .iter()
            .filter(|m| {
                !m.contains(" was unable to place a task")
                    || !latest.is_some_and(|e| {
                        e.message.as_deref() == Some(m.as_str())
                            && e.created_at
                                .is_some_and(|t| now.millis - t.millis < REPEAT_EVENT_AFTER_MS)
                    })
            })
            .collect();
        if !messages.is_empty() {
            let mut list: Vec<ServiceEventRecord> = messages
                .iter()
                .rev()
                .map(|m| ServiceEventRecord {
                    id: Some(self.ecs.ids.uuid()),
                    created_at: Some(now),
                    message: Some((*m).clone()),
                })
                .collect();
            list.extend(s.events.take().unwrap_or_default());
            list.truncate(MAX_EVENTS);
            s.events = Some(list);
        }
        let nothing_left = observed
            .tasks
            .iter()
            .all(|t| TaskStatus::of(&t.task) == TaskStatus::Stopped);
        if s.status.as_deref() == Some("DRAINING") && nothing_left && plan.state.removing.is_empty()
        {
            s.status = Some("INACTIVE".into());
        }
        s
    }

    /// Registers and deregisters targets as the plan says (after its commit).
    fn apply_targets(
        &self,
        arn: &Arn,
        plan: &Plan,
        lbs: &[(String, u16)],
        observed: &Observed<'_>,
    ) {
        for action in &plan.actions {
            let (task_id, groups, register) = match action {
                Action::Register {
                    task_id,
                    target_groups,
                } => (task_id, target_groups, true),
                Action::Deregister {
                    task_id,
                    target_groups,
                } => (task_id, target_groups, false),
                _ => continue,
            };
            let Some(ip) = observed
                .tasks
                .iter()
                .find(|t| t.id() == task_id)
                .and_then(|t| private_ip(t))
            else {
                continue;
            };
            for (tg, port) in lbs.iter().filter(|(tg, _)| groups.contains(tg)) {
                let result = if register {
                    self.targets
                        .register(&arn.account, &arn.region, tg, &ip, *port)
                } else {
                    self.targets
                        .deregister(&arn.account, &arn.region, tg, &ip, *port)
                };
                if let Err(e) = result {
                    tracing::warn!(task = %task_id, target_group = %tg, register, error = %e, "target registration failed; retrying on the next pass");
                }
            }
        }
    }
}

/// The cluster name of a service ARN (`service/<cluster>/<name>`).
fn cluster_of(arn: &Arn) -> String {
    arn.resource
        .strip_prefix("service/")
        .and_then(|r| r.split('/').next())
        .unwrap_or("default")
        .to_string()
}

fn target_groups(service: &ServiceRecord) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (tg, _) in load_balancers(service) {
        if !out.contains(&tg) {
            out.push(tg);
        }
    }
    out
}

/// `(target group, container port)` of each `loadBalancers` entry.
fn load_balancers(service: &ServiceRecord) -> Vec<(String, u16)> {
    service
        .load_balancers
        .iter()
        .flatten()
        .filter_map(|lb| {
            let port = u16::try_from(lb.container_port?).ok()?;
            Some((lb.target_group_arn.clone()?, port))
        })
        .collect()
}

fn service_view(s: &ServiceRecord) -> ServiceView {
    let config = s.deployment_configuration.clone().unwrap_or_default();
    let breaker = config.deployment_circuit_breaker.unwrap_or_default();
    ServiceView {
        name: s.service_name.clone().unwrap_or_default(),
        desired_count: u32::try_from(s.desired_count.unwrap_or(0)).unwrap_or(0),
        maximum_percent: u32::try_from(config.maximum_percent.unwrap_or(200)).unwrap_or(200),
        minimum_healthy_percent: u32::try_from(config.minimum_healthy_percent.unwrap_or(100))
            .unwrap_or(100),
        circuit_breaker: CircuitBreaker {
            enable: breaker.enable,
            rollback: breaker.rollback,
        },
        health_check_grace_period_seconds: u32::try_from(
            s.health_check_grace_period_seconds.unwrap_or(0),
        )
        .unwrap_or(0),
        target_groups: target_groups(s),
        deleting: s.status.as_deref() == Some("DRAINING"),
    }
}

fn deployment_view(d: &DeploymentRecord) -> Option<DeploymentView> {
    let status = match d.status.as_deref()? {
        "PRIMARY" => DeploymentStatus::Primary,
        "ACTIVE" => DeploymentStatus::Active,
        _ => DeploymentStatus::Inactive,
    };
    let rollout_state = match d.rollout_state.as_deref() {
        Some("COMPLETED") => RolloutState::Completed,
        Some("FAILED") => RolloutState::Failed,
        _ => RolloutState::InProgress,
    };
    Some(DeploymentView {
        id: d.id.clone()?,
        task_definition: d.task_definition.clone().unwrap_or_default(),
        status,
        rollout_state,
        rollout_state_reason: d.rollout_state_reason.clone().unwrap_or_default(),
        desired_count: u32::try_from(d.desired_count.unwrap_or(0)).unwrap_or(0),
        failed_tasks: u32::try_from(d.failed_tasks.unwrap_or(0)).unwrap_or(0),
        created_at: d.created_at.map_or(0, |t| t.millis),
        updated_at: d.updated_at.map_or(0, |t| t.millis),
    })
}

/// A task's private address (its ENI's `privateIPv4Address`), once it has one.
fn private_ip(t: &TaskRecord) -> Option<String> {
    t.task
        .attachments
        .iter()
        .flatten()
        .flat_map(|a| a.details.iter().flatten())
        .find(|d| d.name.as_deref() == Some("privateIPv4Address"))
        .and_then(|d| d.value.clone())
        .filter(|v| !v.is_empty())
}

fn stop_code(text: Option<&str>) -> Option<StopCode> {
    [
        StopCode::TaskFailedToStart,
        StopCode::EssentialContainerExited,
        StopCode::UserInitiated,
        StopCode::ServiceSchedulerInitiated,
    ]
    .into_iter()
    .find(|c| Some(c.as_str()) == text)
}

fn target_health(state: LbState) -> TargetHealth {
    match state {
        LbState::Initial => TargetHealth::Initial,
        LbState::Healthy => TargetHealth::Healthy,
        LbState::Unhealthy => TargetHealth::Unhealthy,
        LbState::Draining => TargetHealth::Draining,
        // Registered in a target group no load balancer uses: nothing checks it and nothing
        // routes to it, so it cannot get healthier; it counts as in service.
        LbState::Unused => TargetHealth::Healthy,
    }
}

/// The scheduler's view of the service's tasks. A target `ip:port` belongs to the live task
/// with that address, or, when none has it, to a stopped one (addresses are reused).
fn task_views(
    tasks: &[&TaskRecord],
    lbs: &[(String, u16)],
    health: &HashMap<String, Vec<RegisteredTarget>>,
) -> Vec<TaskView> {
    let live_ips: Vec<String> = tasks
        .iter()
        .filter(|t| TaskStatus::of(&t.task) != TaskStatus::Stopped)
        .filter_map(|t| private_ip(t))
        .collect();
    tasks
        .iter()
        .map(|t| {
            let status = TaskStatus::of(&t.task);
            let ip = private_ip(t);
            let owns =
                |ip: &str| status != TaskStatus::Stopped || !live_ips.iter().any(|l| l == ip);
            let targets = match &ip {
                Some(ip) if owns(ip) => lbs
                    .iter()
                    .filter_map(|(tg, port)| {
                        let found = health
                            .get(tg)?
                            .iter()
                            .find(|r| &r.id == ip && r.port == *port)?;
                        Some(TargetState {
                            target_group: tg.clone(),
                            health: target_health(found.state),
                        })
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let checked = t
                .definition
                .container_definitions
                .iter()
                .flatten()
                .any(|c| c.essential != Some(false) && c.health_check.is_some());
            let container_health = checked.then_some(match t.task.health_status.as_deref() {
                Some("HEALTHY") => ContainerHealth::Healthy,
                Some("UNHEALTHY") => ContainerHealth::Unhealthy,
                _ => ContainerHealth::Unknown,
            });
            TaskView {
                id: t.id().to_string(),
                deployment_id: t.task.started_by.clone().unwrap_or_default(),
                last_status: status,
                desired_running: t.task.desired_status.as_deref() != Some("STOPPED"),
                created_at: t.task.created_at.map_or(0, |c| c.millis),
                started_at: t.task.started_at.map(|s| s.millis),
                stop_code: stop_code(t.task.stop_code.as_deref()),
                stopped_reason: t.task.stopped_reason.clone(),
                availability_zone: t.task.availability_zone.clone().unwrap_or_default(),
                targets,
                container_health,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
