//! The ECS service scheduler's decisions, as one pure function: given a service, its
//! deployments, the tasks observed for it, what the controller remembers from its last step
//! ([`ControllerState`]) and the time, [`reconcile`] returns a [`Plan`] — tasks to start, stop,
//! register and deregister, the new deployments array, service events and counts. No I/O, no
//! clock reads: the controller loop around it reads the snapshot, applies the plan and stores
//! the new state, so every rule here is unit-tested with plain values and a fake clock.
//!
//! Rules (AWS's, from the ECS developer guide and the botocore spec, unless marked wharf's):
//! - Rolling update: tasks in service (lastStatus PROVISIONING..=RUNNING, of any deployment,
//!   including ones being drained) never exceed `floor(desired × maximumPercent / 100)`; the
//!   scheduler never stops a healthy task when that would leave fewer than
//!   `ceil(desired × minimumHealthyPercent / 100)` healthy ones. A task is *healthy* when it is
//!   RUNNING, not being removed, its container health (if it has health checks) is HEALTHY and,
//!   with load balancers, it is `healthy` in every target group. wharf's choice: a task inside
//!   `healthCheckGracePeriodSeconds` is *not* counted healthy — the grace period only shields it
//!   from being stopped as unhealthy — so old tasks keep serving until new ones really do.
//! - Completion: the PRIMARY is COMPLETED (older deployments INACTIVE, "deployment completed"
//!   and "steady state" events) once it has `desiredCount` healthy tasks and nothing else runs.
//! - Circuit breaker: `failedTasks` of a deployment counts its tasks that stopped without the
//!   scheduler or a user asking (failed to start, essential container exited, or stopped by the
//!   scheduler for failing health checks). At [`deployment_rules::breaker_threshold`] the PRIMARY's rollout
//!   is FAILED; with `rollback` a new PRIMARY of the last COMPLETED deployment's task
//!   definition starts; without it (or with nothing to roll back to) the rollout freezes: no
//!   task is started or stopped for it, what runs keeps running.
//! - Throttle: tasks that stop without ever reaching RUNNING hold further launches back for
//!   [`deployment_rules::backoff_delay_ms`] (5 s doubling to 15 min); reaching RUNNING again, or a new
//!   PRIMARY deployment, resets it. From the third such failure each one also reports "is unable
//!   to consistently start tasks successfully".
//! - Replacement: a stopped task simply leaves the counts, so the next step starts another
//!   (subject to the throttle). A task unhealthy in a target group, or failing its container
//!   health check, after the grace period is stopped with AWS's reason.
//! - Stopping a task registered in target groups deregisters it first and stops it only once
//!   none of its targets is still draining ([`ControllerState::removing`] remembers why).
//! - A task that stops or is being stopped without the scheduler removing it (its container
//!   exited, it was killed, StopTask) is deregistered from every target group it is still in.
//! - Scale-in picks tasks by the rule in [`select`]. A DRAINING (deleted) service removes every
//!   task, deregistering first.

pub mod deployment_rules;
pub mod placement;
pub mod select;
#[cfg(test)]
mod tests;

use crate::records::{ControllerState, Throttle};
use crate::task_lifecycle::{StopCode, TaskStatus};
use deployment_rules::events;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The `deploymentCircuitBreaker` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CircuitBreaker {
    /// Whether the circuit breaker watches deployments.
    pub enable: bool,
    /// Whether a failed deployment rolls back to the last completed one.
    pub rollback: bool,
}

/// The service as the scheduler needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceView {
    /// `serviceName`, for events.
    pub name: String,
    /// `desiredCount`.
    pub desired_count: u32,
    /// `maximumPercent`: upper bound on tasks in service during a deployment (default 200).
    pub maximum_percent: u32,
    /// `minimumHealthyPercent`: lower bound on healthy tasks during a deployment (default 100).
    pub minimum_healthy_percent: u32,
    /// `deploymentCircuitBreaker`.
    pub circuit_breaker: CircuitBreaker,
    /// `healthCheckGracePeriodSeconds`: how long after `startedAt` unhealthy checks are ignored.
    pub health_check_grace_period_seconds: u32,
    /// The target groups of `loadBalancers`; empty without a load balancer.
    pub target_groups: Vec<String>,
    /// The service is DRAINING (deleted): every task goes.
    pub deleting: bool,
}

impl ServiceView {
    /// A service named `name` keeping `desired` tasks with AWS's default deployment
    /// configuration (200/100, no circuit breaker, no load balancer).
    pub fn new(name: &str, desired: u32) -> Self {
        ServiceView {
            name: name.into(),
            desired_count: desired,
            maximum_percent: 200,
            minimum_healthy_percent: 100,
            circuit_breaker: CircuitBreaker::default(),
            health_check_grace_period_seconds: 0,
            target_groups: Vec::new(),
            deleting: false,
        }
    }
}

/// A deployment's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeploymentStatus {
    /// The newest deployment: the one the service converges to.
    Primary,
    /// An older deployment that still has tasks.
    Active,
    /// Done; holds no tasks.
    Inactive,
}

impl DeploymentStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Primary => "PRIMARY",
            DeploymentStatus::Active => "ACTIVE",
            DeploymentStatus::Inactive => "INACTIVE",
        }
    }
}

/// A deployment's `rolloutState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RolloutState {
    /// Rolling out.
    InProgress,
    /// Reached its desired count with nothing else running.
    Completed,
    /// Stopped by the circuit breaker.
    Failed,
}

impl RolloutState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::InProgress => "IN_PROGRESS",
            RolloutState::Completed => "COMPLETED",
            RolloutState::Failed => "FAILED",
        }
    }
}

/// A deployment as the scheduler reads and rewrites it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentView {
    /// `id` (`ecs-svc/...`).
    pub id: String,
    /// `taskDefinition` ARN.
    pub task_definition: String,
    /// `status`.
    pub status: DeploymentStatus,
    /// `rolloutState`.
    pub rollout_state: RolloutState,
    /// `rolloutStateReason`.
    pub rollout_state_reason: String,
    /// `desiredCount`.
    pub desired_count: u32,
    /// `failedTasks`: tasks of this deployment that failed (see the module rules).
    pub failed_tasks: u32,
    /// `createdAt`, millis.
    pub created_at: i64,
    /// `updatedAt`, millis.
    pub updated_at: i64,
}

/// A target's state in one target group (`TargetHealth.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetHealth {
    /// Registered, first health checks pending.
    Initial,
    /// Passing health checks.
    Healthy,
    /// Failing health checks.
    Unhealthy,
    /// Deregistered, connections draining.
    Draining,
    /// Not registered (or the target group is not used by a listener).
    Unused,
}

/// A task's health in one target group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetState {
    /// The target group's ARN.
    pub target_group: String,
    /// Its state there.
    pub health: TargetHealth,
}

/// A task's `healthStatus` from its essential containers' health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerHealth {
    /// Every checked essential container is healthy.
    Healthy,
    /// An essential container is unhealthy.
    Unhealthy,
    /// Not yet known.
    Unknown,
}

/// A task of the service as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    /// The task id.
    pub id: String,
    /// The deployment that started it (`startedBy`).
    pub deployment_id: String,
    /// `lastStatus`.
    pub last_status: TaskStatus,
    /// `desiredStatus` is RUNNING (false once a stop was asked).
    pub desired_running: bool,
    /// `createdAt`, millis.
    pub created_at: i64,
    /// `startedAt`, millis: set once it reached RUNNING.
    pub started_at: Option<i64>,
    /// `stopCode`.
    pub stop_code: Option<StopCode>,
    /// `stoppedReason`.
    pub stopped_reason: Option<String>,
    /// Its Availability Zone.
    pub availability_zone: String,
    /// Its state in the service's target groups; a missing group means not registered there.
    pub targets: Vec<TargetState>,
    /// Container health, `None` when no essential container has a health check.
    pub container_health: Option<ContainerHealth>,
}

impl Throttle {
    /// The time before which no task may be launched.
    pub fn until(&self) -> i64 {
        self.last_failure_at + deployment_rules::backoff_delay_ms(self.failures)
    }
}

/// One thing for the controller loop to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Launch `count` tasks of `deployment_id` (placement across subnets is the caller's).
    StartTasks {
        /// The deployment whose task definition to run.
        deployment_id: String,
        /// How many.
        count: u32,
    },
    /// Register a RUNNING task in target groups.
    Register {
        /// The task.
        task_id: String,
        /// Where.
        target_groups: Vec<String>,
    },
    /// Deregister a task from target groups (it drains, then is stopped).
    Deregister {
        /// The task.
        task_id: String,
        /// Where.
        target_groups: Vec<String>,
    },
    /// Stop a task (stop code ServiceSchedulerInitiated).
    StopTask {
        /// The task.
        task_id: String,
        /// `stoppedReason`.
        reason: String,
    },
}

/// Running and pending counts of one deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentCounts {
    /// The deployment.
    pub id: String,
    /// `runningCount`: tasks RUNNING.
    pub running: u32,
    /// `pendingCount`: tasks PROVISIONING, PENDING or ACTIVATING.
    pub pending: u32,
    /// `failedTasks`.
    pub failed: u32,
}

/// The service's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// `runningCount`.
    pub running: u32,
    /// `pendingCount`.
    pub pending: u32,
    /// Per deployment, in the order of [`Plan::deployments`].
    pub deployments: Vec<DeploymentCounts>,
}

/// The result of one step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// What to do, in order.
    pub actions: Vec<Action>,
    /// The new deployments array, PRIMARY first (INACTIVE ones included; the caller may drop
    /// them). The PRIMARY's task definition is the service's `taskDefinition`.
    pub deployments: Vec<DeploymentView>,
    /// Service events, oldest first (the "has started" event is the caller's, see
    /// [`deployment_rules::events::started`]).
    pub events: Vec<String>,
    /// runningCount, pendingCount and per-deployment counts.
    pub counts: Counts,
    /// What to remember for the next step.
    pub state: ControllerState,
    /// When to run again even if nothing changes (throttle expiry, end of a grace period).
    pub wake_at: Option<i64>,
}

fn registered(h: TargetHealth) -> bool {
    !matches!(h, TargetHealth::Unused)
}

/// The target groups `t` is registered in and not draining from.
fn in_service_groups(t: &TaskView) -> Vec<String> {
    t.targets
        .iter()
        .filter(|s| registered(s.health) && s.health != TargetHealth::Draining)
        .map(|s| s.target_group.clone())
        .collect()
}

/// Whether `t` stopped or is on its way there for a known reason (its stop code is set once
/// the stop is decided: counting it then, not when STOPPED, keeps the throttle and the breaker
/// ahead of the replacement that its leaving makes room for).
fn departed(t: &TaskView) -> bool {
    t.last_status == TaskStatus::Stopped || (t.stop_code.is_some() && !t.desired_running)
}

/// One step of the service scheduler. `ids` makes new deployment ids (`ecs-svc/...`).
pub fn reconcile(
    service: &ServiceView,
    deployments: &[DeploymentView],
    tasks: &[TaskView],
    state: &ControllerState,
    now: i64,
    ids: &mut impl FnMut() -> String,
) -> Plan {
    let mut step = Step {
        service,
        tasks,
        now,
        deployments: deployments.to_vec(),
        state: state.clone(),
        actions: Vec::new(),
        events: Vec::new(),
        stopped: Vec::new(),
        draining: 0,
        deregistered: BTreeMap::new(),
        leaving: BTreeSet::new(),
        wake_at: None,
    };
    step.run(ids);
    step.finish()
}

struct Step<'a> {
    service: &'a ServiceView,
    tasks: &'a [TaskView],
    now: i64,
    deployments: Vec<DeploymentView>,
    state: ControllerState,
    actions: Vec<Action>,
    events: Vec<String>,
    /// Tasks stopped this step, for the "has stopped" event.
    stopped: Vec<String>,
    /// Tasks deregistered this step, for the "draining" event.
    draining: usize,
    /// Targets deregistered this step per target group.
    deregistered: BTreeMap<String, usize>,
    /// Tasks this step decided to remove.
    leaving: BTreeSet<String>,
    wake_at: Option<i64>,
}

impl<'a> Step<'a> {
    fn live(&self) -> impl Iterator<Item = &'a TaskView> {
        let tasks: &'a [TaskView] = self.tasks;
        tasks
            .iter()
            .filter(|t| t.last_status != TaskStatus::Stopped)
    }

    /// Asked to stop, being removed, or already past RUNNING.
    fn is_leaving(&self, t: &TaskView) -> bool {
        !t.desired_running
            || t.last_status > TaskStatus::Running
            || self.leaving.contains(&t.id)
            || self.state.removing.contains_key(&t.id)
    }

    fn in_grace(&self, t: &TaskView) -> bool {
        let grace = i64::from(self.service.health_check_grace_period_seconds) * 1000;
        t.started_at.is_some_and(|s| self.now < s + grace)
    }

    fn healthy(&self, t: &TaskView) -> bool {
        t.last_status == TaskStatus::Running
            && !self.is_leaving(t)
            && matches!(t.container_health, None | Some(ContainerHealth::Healthy))
            && self.service.target_groups.iter().all(|tg| {
                t.targets
                    .iter()
                    .any(|s| &s.target_group == tg && s.health == TargetHealth::Healthy)
            })
    }

    fn wake(&mut self, at: i64) {
        self.wake_at = Some(self.wake_at.map_or(at, |w| w.min(at)));
    }

    fn primary_index(&self) -> Option<usize> {
        self.deployments
            .iter()
            .position(|d| d.status == DeploymentStatus::Primary)
    }

    fn touch(&mut self, i: usize) {
        self.deployments[i].updated_at = self.now;
    }

    /// Takes `t` out of service: deregister first if it is registered, else stop.
    fn remove(&mut self, t: &TaskView, reason: String) {
        self.leaving.insert(t.id.clone());
        let groups = in_service_groups(t);
        let draining = t.targets.iter().any(|s| s.health == TargetHealth::Draining);
        if groups.is_empty() && !draining {
            self.stop(&t.id, reason);
            return;
        }
        if !groups.is_empty() {
            for g in &groups {
                *self.deregistered.entry(g.clone()).or_insert(0) += 1;
            }
            self.actions.push(Action::Deregister {
                task_id: t.id.clone(),
                target_groups: groups,
            });
            self.draining += 1;
        }
        self.state.removing.insert(t.id.clone(), reason);
    }

    fn stop(&mut self, id: &str, reason: String) {
        self.actions.push(Action::StopTask {
            task_id: id.into(),
            reason,
        });
        self.stopped.push(id.into());
    }

    fn run(&mut self, ids: &mut impl FnMut() -> String) {
        self.prune();
        self.account_stopped();
        self.finish_draining();
        self.deregister_departed();
        if self.service.deleting {
            for t in self.live().collect::<Vec<_>>() {
                if !self.is_leaving(t) {
                    self.remove(t, deployment_rules::scaling_reason(&t.deployment_id));
                }
            }
            self.state.steady = false;
            return;
        }
        self.circuit_breaker(ids);
        self.remove_unhealthy();
        self.register();
        self.roll();
        self.complete();
    }

    fn prune(&mut self) {
        let tasks = self.tasks;
        self.state
            .seen_stopped
            .retain(|id| tasks.iter().any(|t| &t.id == id && departed(t)));
        self.state.removing.retain(|id, _| {
            tasks
                .iter()
                .any(|t| &t.id == id && t.desired_running && t.last_status <= TaskStatus::Running)
        });
        let primary = self.primary_index().map(|i| self.deployments[i].id.clone());
        if let Some(p) = primary {
            if self.state.throttle.deployment_id != p {
                self.state.throttle = Throttle {
                    deployment_id: p,
                    ..Throttle::default()
                };
            }
        }
        let last = self.state.throttle.last_failure_at;
        if self.state.throttle.failures > 0
            && self.live().any(|t| t.started_at.is_some_and(|s| s >= last))
        {
            self.state.throttle.failures = 0;
        }
    }

    /// Counts each newly stopped task once: deployment failures and the launch throttle.
    fn account_stopped(&mut self) {
        for t in self.tasks {
            if !departed(t) || self.state.seen_stopped.contains(&t.id) {
                continue;
            }
            self.state.seen_stopped.insert(t.id.clone());
            if self.service.deleting {
                continue;
            }
            let reason = t.stopped_reason.as_deref().unwrap_or_default();
            let asked = match t.stop_code {
                Some(StopCode::UserInitiated) => true,
                Some(StopCode::ServiceSchedulerInitiated) => {
                    !deployment_rules::is_health_reason(reason)
                }
                _ => false,
            };
            if asked {
                continue;
            }
            if let Some(i) = self
                .deployments
                .iter()
                .position(|d| d.id == t.deployment_id)
            {
                self.deployments[i].failed_tasks += 1;
                self.touch(i);
            }
            if t.started_at.is_none() {
                let th = &mut self.state.throttle;
                th.failures += 1;
                th.last_failure_at = self.now;
                if th.failures >= deployment_rules::UNSTABLE_EVENT_AFTER {
                    self.events.push(events::unstable(&self.service.name));
                }
            }
        }
    }

    /// Stops deregistered tasks whose targets finished draining.
    fn finish_draining(&mut self) {
        let removing: Vec<(String, String)> = self
            .state
            .removing
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (id, reason) in removing {
            let Some(t) = self.tasks.iter().find(|t| t.id == id) else {
                continue;
            };
            let still = in_service_groups(t);
            if !still.is_empty() {
                // The deregistration has not been applied yet: ask again (idempotent).
                self.actions.push(Action::Deregister {
                    task_id: id.clone(),
                    target_groups: still,
                });
            } else if !t.targets.iter().any(|s| s.health == TargetHealth::Draining) {
                self.state.removing.remove(&id);
                self.leaving.insert(id.clone());
                self.stop(&id, reason);
            }
        }
    }

    /// Deregisters tasks that stopped, or are stopping, without the scheduler removing them
    /// (an exit, a kill, StopTask): the load balancer must stop sending them requests.
    fn deregister_departed(&mut self) {
        for t in self.tasks {
            let departed = t.last_status > TaskStatus::Running || !t.desired_running;
            if !departed || self.state.removing.contains_key(&t.id) {
                continue;
            }
            let groups = in_service_groups(t);
            if groups.is_empty() {
                continue;
            }
            for g in &groups {
                *self.deregistered.entry(g.clone()).or_insert(0) += 1;
            }
            self.actions.push(Action::Deregister {
                task_id: t.id.clone(),
                target_groups: groups,
            });
        }
    }

    fn circuit_breaker(&mut self, ids: &mut impl FnMut() -> String) {
        let Some(p) = self.primary_index() else {
            return;
        };
        let cb = self.service.circuit_breaker;
        let d = &self.deployments[p];
        if !cb.enable
            || d.rollout_state != RolloutState::InProgress
            || d.failed_tasks
                < deployment_rules::breaker_threshold(
                    d.desired_count.max(self.service.desired_count),
                )
        {
            return;
        }
        let failed_id = d.id.clone();
        self.deployments[p].rollout_state = RolloutState::Failed;
        self.deployments[p].rollout_state_reason = deployment_rules::BREAKER_FAILED_REASON.into();
        self.touch(p);
        self.events
            .push(events::failed(&self.service.name, &failed_id));
        if !cb.rollback {
            return;
        }
        let target = self
            .deployments
            .iter()
            .filter(|d| d.id != failed_id && d.rollout_state == RolloutState::Completed)
            .max_by_key(|d| (d.created_at, d.id.clone()))
            .cloned();
        let Some(target) = target else {
            return;
        };
        self.deployments[p].status = DeploymentStatus::Active;
        let id = ids();
        self.deployments.insert(
            0,
            DeploymentView {
                id: id.clone(),
                task_definition: target.task_definition.clone(),
                status: DeploymentStatus::Primary,
                rollout_state: RolloutState::InProgress,
                rollout_state_reason: deployment_rules::rollback_reason(&target.id),
                desired_count: self.service.desired_count,
                failed_tasks: 0,
                created_at: self.now,
                updated_at: self.now,
            },
        );
        self.events
            .push(events::rolling_back(&self.service.name, &target.id));
        self.state.throttle = Throttle {
            deployment_id: id,
            ..Throttle::default()
        };
    }

    /// Replaces tasks failing their target group's or their containers' health checks once
    /// the grace period is over.
    fn remove_unhealthy(&mut self) {
        let grace = i64::from(self.service.health_check_grace_period_seconds) * 1000;
        for t in self.live().collect::<Vec<_>>() {
            if t.last_status != TaskStatus::Running || self.is_leaving(t) {
                continue;
            }
            let bad_tg = t
                .targets
                .iter()
                .find(|s| s.health == TargetHealth::Unhealthy)
                .map(|s| s.target_group.clone());
            let bad_container = t.container_health == Some(ContainerHealth::Unhealthy);
            if bad_tg.is_none() && !bad_container {
                continue;
            }
            if self.in_grace(t) {
                if let Some(s) = t.started_at {
                    self.wake(s + grace);
                }
                continue;
            }
            if let Some(tg) = bad_tg {
                self.events
                    .push(events::unhealthy(&self.service.name, &t.id, &tg));
                self.remove(t, deployment_rules::elb_reason(&tg));
            } else {
                self.events
                    .push(events::container_unhealthy(&self.service.name, &t.id));
                self.remove(t, deployment_rules::CONTAINER_HEALTH_REASON.into());
            }
        }
    }

    /// Registers RUNNING tasks in the target groups they are missing from.
    fn register(&mut self) {
        let mut per_group: BTreeMap<String, usize> = BTreeMap::new();
        for t in self.live().collect::<Vec<_>>() {
            if t.last_status != TaskStatus::Running || self.is_leaving(t) {
                continue;
            }
            let missing: Vec<String> = self
                .service
                .target_groups
                .iter()
                .filter(|tg| {
                    !t.targets
                        .iter()
                        .any(|s| &s.target_group == *tg && registered(s.health))
                })
                .cloned()
                .collect();
            if missing.is_empty() {
                continue;
            }
            for g in &missing {
                *per_group.entry(g.clone()).or_insert(0) += 1;
            }
            self.actions.push(Action::Register {
                task_id: t.id.clone(),
                target_groups: missing,
            });
        }
        for (g, n) in per_group {
            self.events
                .push(events::registered(&self.service.name, n, &g));
        }
    }

    /// One rolling-update / scaling step within the maximumPercent and minimumHealthyPercent
    /// bounds.
    fn roll(&mut self) {
        let Some(p) = self.primary_index() else {
            return;
        };
        let desired = self.service.desired_count;
        if self.deployments[p].desired_count != desired {
            self.deployments[p].desired_count = desired;
            self.touch(p);
        }
        if self.deployments[p].rollout_state == RolloutState::Failed {
            return;
        }
        let primary = self.deployments[p].id.clone();
        let max_total = deployment_rules::max_tasks(desired, self.service.maximum_percent);
        let min_healthy =
            deployment_rules::min_healthy_tasks(desired, self.service.minimum_healthy_percent);
        let live: Vec<&TaskView> = self.live().collect();
        let in_service = live
            .iter()
            .filter(|t| t.last_status <= TaskStatus::Running)
            .count() as u32;
        let primary_live = live
            .iter()
            .filter(|t| t.deployment_id == primary && !self.is_leaving(t))
            .count() as u32;

        // Start what the primary lacks, as far as maximumPercent allows.
        let want = desired.saturating_sub(primary_live);
        let room = max_total.saturating_sub(in_service);
        let n = want.min(room);
        if n > 0 {
            let until = self.state.throttle.until();
            if self.now < until {
                self.wake(until);
            } else {
                self.actions.push(Action::StartTasks {
                    deployment_id: primary.clone(),
                    count: n,
                });
            }
        }

        // Stop older deployments' tasks and the primary's surplus, as far as
        // minimumHealthyPercent allows.
        let rank = |id: &str| -> usize {
            let mut older: Vec<&DeploymentView> = self
                .deployments
                .iter()
                .filter(|d| d.status != DeploymentStatus::Primary)
                .collect();
            older.sort_by_key(|d| (d.created_at, d.id.clone()));
            older
                .iter()
                .position(|d| d.id == id && d.status != DeploymentStatus::Inactive)
                .map_or(0, |i| i + 1)
        };
        let mut az_counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut candidates = Vec::new();
        let mut healthy = 0;
        for t in &live {
            if self.is_leaving(t) {
                continue;
            }
            *az_counts.entry(t.availability_zone.clone()).or_insert(0) += 1;
            let h = self.healthy(t);
            healthy += u32::from(h);
            candidates.push(select::Candidate {
                id: &t.id,
                deployment_rank: (t.deployment_id != primary).then(|| rank(&t.deployment_id)),
                healthy: h,
                az: &t.availability_zone,
                started_at: t.started_at,
                created_at: t.created_at,
            });
        }
        let surplus = primary_live.saturating_sub(desired) as usize;
        let picked: Vec<String> =
            select::pick(&candidates, surplus, healthy, min_healthy, az_counts)
                .into_iter()
                .map(String::from)
                .collect();
        for id in picked {
            if let Some(t) = self.tasks.iter().find(|t| t.id == id) {
                self.remove(t, deployment_rules::scaling_reason(&t.deployment_id));
            }
        }
    }

    /// Marks the PRIMARY COMPLETED once it alone runs, at its desired count, all healthy; and
    /// reports a steady state whenever the service gets there.
    fn complete(&mut self) {
        let Some(p) = self.primary_index() else {
            return;
        };
        let primary = self.deployments[p].id.clone();
        let desired = self.service.desired_count as usize;
        let live: Vec<&TaskView> = self.live().collect();
        let settled = live.len() == desired
            && self.state.removing.is_empty()
            && live
                .iter()
                .all(|t| t.deployment_id == primary && self.healthy(t));
        if settled && self.deployments[p].rollout_state == RolloutState::InProgress {
            self.deployments[p].rollout_state = RolloutState::Completed;
            self.deployments[p].rollout_state_reason = deployment_rules::completed_reason(&primary);
            self.touch(p);
            for i in 0..self.deployments.len() {
                if i != p && self.deployments[i].status != DeploymentStatus::Inactive {
                    self.deployments[i].status = DeploymentStatus::Inactive;
                    self.touch(i);
                }
            }
            self.events
                .push(events::completed(&self.service.name, &primary));
        }
        let steady = settled && self.deployments[p].rollout_state == RolloutState::Completed;
        if steady && !self.state.steady {
            self.events.push(events::steady(&self.service.name));
        }
        self.state.steady = steady;
    }

    fn finish(mut self) -> Plan {
        let name = self.service.name.clone();
        let mut head = Vec::new();
        for (g, n) in &self.deregistered {
            head.push(events::deregistered(&name, *n, g));
        }
        if self.draining > 0 {
            head.push(events::draining(&name, self.draining));
        }
        if !self.stopped.is_empty() {
            head.push(events::stopped(&name, &self.stopped));
        }
        // Events about what was stopped come before the completion / steady-state ones.
        let split = self
            .events
            .iter()
            .position(|e| e.ends_with("deployment completed.") || e.ends_with("steady state."))
            .unwrap_or(self.events.len());
        let tail = self.events.split_off(split);
        self.events.extend(head);
        self.events.extend(tail);

        let mut counts = Counts::default();
        for t in self.tasks {
            match t.last_status {
                TaskStatus::Running => counts.running += 1,
                s if s < TaskStatus::Running => counts.pending += 1,
                _ => {}
            }
        }
        for d in &self.deployments {
            let mut c = DeploymentCounts {
                id: d.id.clone(),
                failed: d.failed_tasks,
                ..Default::default()
            };
            for t in self.tasks.iter().filter(|t| t.deployment_id == d.id) {
                match t.last_status {
                    TaskStatus::Running => c.running += 1,
                    s if s < TaskStatus::Running => c.pending += 1,
                    _ => {}
                }
            }
            counts.deployments.push(c);
        }
        Plan {
            actions: self.actions,
            deployments: self.deployments,
            events: self.events,
            counts,
            state: self.state,
            wake_at: self.wake_at,
        }
    }
}
