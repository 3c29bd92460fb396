//! The scheduler driven against a fake world with a fake clock: tasks go PROVISIONING ->
//! PENDING -> RUNNING, register, turn healthy after a few ticks, drain when deregistered and
//! stop a tick after being asked; a task definition's behaviour decides whether its tasks work,
//! fail to start, crash after starting or fail their health checks. Every step checks the
//! maximumPercent / minimumHealthyPercent invariants and deregister-before-stop.

use super::*;

const TICK: i64 = 5_000;
const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blog/0123";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Behaviour {
    Good,
    FailsToStart,
    Crashes,
    Unhealthy,
}

struct World {
    service: ServiceView,
    deployments: Vec<DeploymentView>,
    tasks: Vec<TaskView>,
    state: ControllerState,
    now: i64,
    next: u32,
    /// task id -> tick it was registered / deregistered, for health and draining delays.
    registered_at: BTreeMap<String, i64>,
    drain_until: BTreeMap<String, i64>,
    events: Vec<String>,
    launches: Vec<(i64, u32)>,
    /// Ticks from registration to healthy, and how long draining lasts.
    healthy_after: i64,
    drain_ms: i64,
    check_min: bool,
}

fn behaviour(task_definition: &str) -> Behaviour {
    match task_definition {
        "td:bad" => Behaviour::FailsToStart,
        "td:crash" => Behaviour::Crashes,
        "td:sick" => Behaviour::Unhealthy,
        _ => Behaviour::Good,
    }
}

fn deployment(
    id: &str,
    td: &str,
    status: DeploymentStatus,
    rollout: RolloutState,
    desired: u32,
    at: i64,
) -> DeploymentView {
    DeploymentView {
        id: id.into(),
        task_definition: td.into(),
        status,
        rollout_state: rollout,
        rollout_state_reason: deployment_rules::in_progress_reason(id),
        desired_count: desired,
        failed_tasks: 0,
        created_at: at,
        updated_at: at,
    }
}

impl World {
    /// A service at steady state: `desired` healthy tasks of `td:1` in a COMPLETED deployment.
    fn steady(service: ServiceView) -> World {
        let mut w = World {
            deployments: vec![deployment(
                "ecs-svc/1",
                "td:1",
                DeploymentStatus::Primary,
                RolloutState::Completed,
                service.desired_count,
                0,
            )],
            service,
            tasks: Vec::new(),
            state: ControllerState {
                steady: true,
                ..Default::default()
            },
            now: 1_000_000,
            next: 0,
            registered_at: BTreeMap::new(),
            drain_until: BTreeMap::new(),
            events: Vec::new(),
            launches: Vec::new(),
            healthy_after: 2 * TICK,
            drain_ms: 3 * TICK,
            check_min: true,
        };
        for _ in 0..w.service.desired_count {
            let id = w.new_task("ecs-svc/1");
            let t = w.task_mut(&id);
            t.last_status = TaskStatus::Running;
            t.started_at = Some(0);
            if !w.service.target_groups.is_empty() {
                let tgs = w.service.target_groups.clone();
                let t = w.task_mut(&id);
                t.targets = tgs
                    .into_iter()
                    .map(|g| TargetState {
                        target_group: g,
                        health: TargetHealth::Healthy,
                    })
                    .collect();
            }
        }
        w
    }

    fn with_lb(mut service: ServiceView) -> ServiceView {
        service.target_groups = vec![TG.into()];
        service
    }

    fn new_task(&mut self, deployment: &str) -> String {
        self.next += 1;
        let id = format!("t{:03}", self.next);
        let az = ["us-east-1a", "us-east-1b", "us-east-1c"][self.next as usize % 3];
        self.tasks.push(TaskView {
            id: id.clone(),
            deployment_id: deployment.into(),
            last_status: TaskStatus::Provisioning,
            desired_running: true,
            created_at: self.now,
            started_at: None,
            stop_code: None,
            stopped_reason: None,
            availability_zone: az.into(),
            targets: Vec::new(),
            container_health: None,
        });
        id
    }

    fn task_mut(&mut self, id: &str) -> &mut TaskView {
        self.tasks.iter_mut().find(|t| t.id == id).expect("task")
    }

    fn td_of(&self, deployment: &str) -> String {
        self.deployments
            .iter()
            .find(|d| d.id == deployment)
            .map(|d| d.task_definition.clone())
            .unwrap_or_default()
    }

    fn healthy_count(&self) -> u32 {
        self.tasks
            .iter()
            .filter(|t| {
                t.last_status == TaskStatus::Running
                    && t.desired_running
                    && self.service.target_groups.iter().all(|g| {
                        t.targets
                            .iter()
                            .any(|s| &s.target_group == g && s.health == TargetHealth::Healthy)
                    })
            })
            .count() as u32
    }

    fn in_service(&self) -> u32 {
        self.tasks
            .iter()
            .filter(|t| t.last_status <= TaskStatus::Running)
            .count() as u32
    }

    /// Runs the scheduler once, applies its plan, checks the invariants, then lets the world
    /// move one tick.
    fn step(&mut self) -> Plan {
        let mut n = 100;
        let mut ids = || {
            n += 1;
            format!("ecs-svc/{n}")
        };
        let healthy_before = self.healthy_count();
        let in_service_before = self.in_service();
        let plan = reconcile(
            &self.service,
            &self.deployments,
            &self.tasks,
            &self.state,
            self.now,
            &mut ids,
        );
        self.apply(&plan);
        let d = self.service.desired_count;
        let max = deployment_rules::max_tasks(d, self.service.maximum_percent);
        let min = deployment_rules::min_healthy_tasks(d, self.service.minimum_healthy_percent);
        let started = plan
            .actions
            .iter()
            .any(|a| matches!(a, Action::StartTasks { .. }));
        let bound = if started {
            max
        } else {
            max.max(in_service_before)
        };
        assert!(
            self.in_service() <= bound,
            "at {}: {} tasks in service > max {max}",
            self.now,
            self.in_service()
        );
        if self.check_min && !self.service.deleting {
            let after = self.healthy_count();
            assert!(
                after >= min.min(healthy_before),
                "at {}: healthy {after} < min {min} (was {healthy_before})",
                self.now
            );
        }
        self.advance();
        plan
    }

    fn apply(&mut self, plan: &Plan) {
        for a in &plan.actions {
            match a {
                Action::StartTasks {
                    deployment_id,
                    count,
                } => {
                    self.launches.push((self.now, *count));
                    let mut started = Vec::new();
                    for _ in 0..*count {
                        started.push(self.new_task(deployment_id));
                    }
                    self.events.push(deployment_rules::events::started(
                        &self.service.name,
                        &started,
                    ));
                }
                Action::Register {
                    task_id,
                    target_groups,
                } => {
                    let now = self.now;
                    self.registered_at.insert(task_id.clone(), now);
                    let t = self.task_mut(task_id);
                    for g in target_groups {
                        t.targets.retain(|s| &s.target_group != g);
                        t.targets.push(TargetState {
                            target_group: g.clone(),
                            health: TargetHealth::Initial,
                        });
                    }
                }
                Action::Deregister {
                    task_id,
                    target_groups,
                } => {
                    let until = self.now + self.drain_ms;
                    self.drain_until.insert(task_id.clone(), until);
                    let t = self.task_mut(task_id);
                    for s in t
                        .targets
                        .iter_mut()
                        .filter(|s| target_groups.contains(&s.target_group))
                    {
                        s.health = TargetHealth::Draining;
                    }
                }
                Action::StopTask { task_id, reason } => {
                    let t = self.task_mut(task_id);
                    assert!(
                        t.targets.iter().all(|s| s.health == TargetHealth::Unused),
                        "{task_id} stopped while registered: {:?}",
                        t.targets
                    );
                    t.desired_running = false;
                    t.stop_code = Some(StopCode::ServiceSchedulerInitiated);
                    t.stopped_reason = Some(reason.clone());
                }
            }
        }
        self.deployments = plan.deployments.clone();
        self.state = plan.state.clone();
        self.events.extend(plan.events.iter().cloned());
    }

    fn advance(&mut self) {
        self.now += TICK;
        let now = self.now;
        let ids: Vec<String> = self.tasks.iter().map(|t| t.id.clone()).collect();
        for id in ids {
            let dep = self.task_mut(&id).deployment_id.clone();
            let b = behaviour(&self.td_of(&dep));
            let reg = self.registered_at.get(&id).copied();
            let drain = self.drain_until.get(&id).copied();
            let healthy_after = self.healthy_after;
            let t = self.task_mut(&id);
            if t.last_status == TaskStatus::Stopped {
                continue;
            }
            if let Some(until) = drain {
                if now >= until {
                    for s in &mut t.targets {
                        s.health = TargetHealth::Unused;
                    }
                }
            }
            if !t.desired_running {
                t.last_status = if t.last_status < TaskStatus::Deactivating {
                    TaskStatus::Deactivating
                } else {
                    TaskStatus::Stopped
                };
                continue;
            }
            match t.last_status {
                TaskStatus::Provisioning => t.last_status = TaskStatus::Pending,
                TaskStatus::Pending if b == Behaviour::FailsToStart => {
                    t.last_status = TaskStatus::Stopped;
                    t.desired_running = false;
                    t.stop_code = Some(StopCode::TaskFailedToStart);
                    t.stopped_reason = Some("CannotPullContainerError: not found".into());
                }
                TaskStatus::Pending => {
                    t.last_status = TaskStatus::Running;
                    t.started_at = Some(now);
                }
                TaskStatus::Running if b == Behaviour::Crashes => {
                    t.last_status = TaskStatus::Stopped;
                    t.desired_running = false;
                    t.stop_code = Some(StopCode::EssentialContainerExited);
                    t.stopped_reason = Some("Essential container in task exited".into());
                }
                TaskStatus::Running => {
                    if let Some(r) = reg {
                        if now >= r + healthy_after {
                            for s in t
                                .targets
                                .iter_mut()
                                .filter(|s| s.health == TargetHealth::Initial)
                            {
                                s.health = if b == Behaviour::Unhealthy {
                                    TargetHealth::Unhealthy
                                } else {
                                    TargetHealth::Healthy
                                };
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// A new PRIMARY of `td`, as UpdateService makes it.
    fn deploy(&mut self, id: &str, td: &str) {
        for d in &mut self.deployments {
            if d.status == DeploymentStatus::Primary {
                d.status = DeploymentStatus::Active;
            }
        }
        let d = deployment(
            id,
            td,
            DeploymentStatus::Primary,
            RolloutState::InProgress,
            self.service.desired_count,
            self.now,
        );
        self.deployments.insert(0, d);
    }

    fn primary(&self) -> &DeploymentView {
        self.deployments
            .iter()
            .find(|d| d.status == DeploymentStatus::Primary)
            .expect("primary")
    }

    fn live_of(&self, deployment: &str) -> usize {
        self.tasks
            .iter()
            .filter(|t| t.deployment_id == deployment && t.last_status != TaskStatus::Stopped)
            .count()
    }

    fn run_until(&mut self, max_steps: usize, done: impl Fn(&World) -> bool) -> usize {
        for i in 0..max_steps {
            if done(self) {
                return i;
            }
            self.step();
        }
        panic!(
            "not done after {max_steps} steps; events: {:#?}",
            self.events
        );
    }

    fn count_events(&self, needle: &str) -> usize {
        self.events.iter().filter(|e| e.contains(needle)).count()
    }
}

fn service(desired: u32, max: u32, min: u32) -> ServiceView {
    ServiceView {
        maximum_percent: max,
        minimum_healthy_percent: min,
        ..ServiceView::new("blog-api", desired)
    }
}

/// Rolls `svc` from `td:1` to `td:2`, checking the bounds at every step: it completes, or, when
/// neither bound leaves room (max = min = desired), it stays stuck without acting, as in AWS.
fn rollout_completes(svc: ServiceView) {
    let desired = svc.desired_count;
    let stuck = deployment_rules::max_tasks(desired, svc.maximum_percent) == desired
        && deployment_rules::min_healthy_tasks(desired, svc.minimum_healthy_percent) == desired;
    let mut w = World::steady(svc);
    w.deploy("ecs-svc/2", "td:2");
    if stuck {
        for _ in 0..20 {
            let plan = w.step();
            assert!(plan.actions.is_empty(), "{:?}", plan.actions);
        }
        assert_eq!(w.primary().rollout_state, RolloutState::InProgress);
        return;
    }
    w.run_until(400, |w| {
        w.primary().rollout_state == RolloutState::Completed
    });
    // One more step to let the last one settle.
    w.step();
    assert_eq!(w.live_of("ecs-svc/2"), desired as usize);
    assert_eq!(w.live_of("ecs-svc/1"), 0);
    assert_eq!(w.healthy_count(), desired);
    let old = w
        .deployments
        .iter()
        .find(|d| d.id == "ecs-svc/1")
        .expect("old");
    assert_eq!(old.status, DeploymentStatus::Inactive);
    assert_eq!(
        w.primary().rollout_state_reason,
        "ECS deployment ecs-svc/2 completed."
    );
    assert_eq!(
        w.count_events("(deployment ecs-svc/2) deployment completed."),
        1
    );
    assert_eq!(w.count_events("has reached a steady state."), 1);
    assert!(w.state.steady);
}

#[test]
fn rolling_update_100_200_keeps_every_task_until_replaced() {
    for d in [1, 2, 3, 10] {
        rollout_completes(service(d, 200, 100));
        rollout_completes(World::with_lb(service(d, 200, 100)));
    }
}

#[test]
fn rolling_update_50_100_stops_before_starting() {
    for d in [1, 2, 3, 10] {
        rollout_completes(service(d, 100, 50));
        rollout_completes(World::with_lb(service(d, 100, 50)));
    }
}

#[test]
fn rolling_update_0_100_may_stop_everything_first() {
    for d in [1, 2, 3, 10] {
        rollout_completes(service(d, 100, 0));
        rollout_completes(World::with_lb(service(d, 100, 0)));
    }
}

#[test]
fn rolling_update_other_shapes() {
    for d in [1, 2, 3, 10] {
        rollout_completes(World::with_lb(service(d, 150, 50)));
        rollout_completes(service(d, 125, 75));
    }
}

#[test]
fn a_rollout_with_no_room_either_way_is_stuck_as_in_aws() {
    // desired 1 at 50/100: min ceil(0.5) = 1, max floor(1) = 1 — nothing may stop or start.
    for svc in [service(1, 100, 50), service(2, 100, 100)] {
        let mut w = World::steady(svc);
        w.deploy("ecs-svc/2", "td:2");
        for _ in 0..20 {
            let plan = w.step();
            assert!(plan.actions.is_empty(), "{:?}", plan.actions);
        }
        assert_eq!(w.primary().rollout_state, RolloutState::InProgress);
    }
}

#[test]
fn first_rollout_step_at_100_200_starts_desired_count_and_stops_nothing() {
    let mut w = World::steady(World::with_lb(service(10, 200, 100)));
    w.deploy("ecs-svc/2", "td:2");
    let plan = w.step();
    assert_eq!(
        plan.actions,
        vec![Action::StartTasks {
            deployment_id: "ecs-svc/2".into(),
            count: 10
        }]
    );
    // 150/50 with 10: room for 5 more, and 5 old ones may go at once.
    let mut w = World::steady(World::with_lb(service(10, 150, 50)));
    w.deploy("ecs-svc/2", "td:2");
    let plan = w.step();
    let starts: Vec<_> = plan
        .actions
        .iter()
        .filter(|a| matches!(a, Action::StartTasks { count: 5, .. }))
        .collect();
    let deregs = plan
        .actions
        .iter()
        .filter(|a| matches!(a, Action::Deregister { .. }))
        .count();
    assert_eq!(starts.len(), 1);
    assert_eq!(deregs, 5);
    assert!(plan
        .events
        .contains(&"(service blog-api) has begun draining connections on 5 tasks.".to_string()));
    assert!(plan.events.contains(&format!(
        "(service blog-api) deregistered 5 targets in (target-group {TG})"
    )));
}

#[test]
fn circuit_breaker_rolls_back_to_the_last_completed_deployment() {
    let mut svc = World::with_lb(service(2, 200, 100));
    svc.circuit_breaker = CircuitBreaker {
        enable: true,
        rollback: true,
    };
    let mut w = World::steady(svc);
    w.deploy("ecs-svc/2", "td:bad");
    w.run_until(200, |w| w.primary().id != "ecs-svc/2");
    let failed = w
        .deployments
        .iter()
        .find(|d| d.id == "ecs-svc/2")
        .expect("failed");
    assert_eq!(failed.rollout_state, RolloutState::Failed);
    assert_eq!(failed.status, DeploymentStatus::Active);
    // Both tasks of a step fail together, so the count may pass the threshold by one.
    assert!(failed.failed_tasks >= deployment_rules::breaker_threshold(2));
    assert_eq!(
        failed.rollout_state_reason,
        deployment_rules::BREAKER_FAILED_REASON
    );
    let back = w.primary().clone();
    assert_eq!(back.task_definition, "td:1");
    assert_eq!(
        back.rollout_state_reason,
        "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1."
    );
    assert_eq!(
        w.count_events(
            "(service blog-api) (deployment ecs-svc/2) deployment failed: tasks failed to start."
        ),
        1
    );
    // The old tasks never went: two healthy throughout (checked by step), and the rollback
    // completes.
    assert_eq!(w.live_of("ecs-svc/1"), 2);
    w.run_until(200, |w| {
        w.primary().rollout_state == RolloutState::Completed
    });
    assert!(w
        .deployments
        .iter()
        .filter(|d| d.id != back.id)
        .all(|d| d.status == DeploymentStatus::Inactive));
}

#[test]
fn circuit_breaker_without_rollback_freezes_the_rollout() {
    let mut svc = service(2, 200, 100);
    svc.circuit_breaker = CircuitBreaker {
        enable: true,
        rollback: false,
    };
    let mut w = World::steady(svc);
    w.deploy("ecs-svc/2", "td:bad");
    w.run_until(200, |w| w.primary().rollout_state == RolloutState::Failed);
    assert_eq!(w.primary().id, "ecs-svc/2");
    let launches = w.launches.len();
    for _ in 0..50 {
        let plan = w.step();
        assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    }
    assert_eq!(w.launches.len(), launches);
    assert_eq!(w.live_of("ecs-svc/1"), 2);
    assert_eq!(w.deployments.len(), 2);
}

#[test]
fn circuit_breaker_threshold_scales_with_desired_count() {
    let mut svc = service(10, 200, 100);
    svc.circuit_breaker = CircuitBreaker {
        enable: true,
        rollback: true,
    };
    let mut w = World::steady(svc);
    w.deploy("ecs-svc/2", "td:bad");
    // Ten fail at once; the threshold is 5, so the first accounting step trips it.
    w.run_until(50, |w| w.primary().id != "ecs-svc/2");
    let failed = w
        .deployments
        .iter()
        .find(|d| d.id == "ecs-svc/2")
        .expect("failed");
    assert_eq!(failed.failed_tasks, 10);
    // Under the threshold nothing fails.
    let mut d = deployment(
        "ecs-svc/3",
        "td:bad",
        DeploymentStatus::Primary,
        RolloutState::InProgress,
        10,
        0,
    );
    d.failed_tasks = 4;
    let mut ids = || "ecs-svc/9".to_string();
    let svc = World::steady(service(10, 200, 100)).service;
    let mut on = svc.clone();
    on.circuit_breaker.enable = true;
    let plan = reconcile(
        &on,
        &[d.clone()],
        &[],
        &ControllerState::default(),
        0,
        &mut ids,
    );
    assert_eq!(plan.deployments[0].rollout_state, RolloutState::InProgress);
    d.failed_tasks = 5;
    let plan = reconcile(&on, &[d], &[], &ControllerState::default(), 0, &mut ids);
    assert_eq!(plan.deployments[0].rollout_state, RolloutState::Failed);
    assert_eq!(
        plan.deployments.len(),
        1,
        "nothing completed to roll back to"
    );
}

#[test]
fn without_the_breaker_a_broken_image_crash_loops_with_growing_back_off() {
    let mut w = World::steady(World::with_lb(service(1, 200, 100)));
    w.deploy("ecs-svc/2", "td:bad");
    for _ in 0..2000 {
        w.step();
    }
    assert_eq!(w.primary().rollout_state, RolloutState::InProgress);
    assert_eq!(w.live_of("ecs-svc/1"), 1, "the old task keeps serving");
    assert!(w.count_events("is unable to consistently start tasks successfully.") > 0);
    let gaps: Vec<i64> = w.launches.windows(2).map(|p| p[1].0 - p[0].0).collect();
    // Each task takes two ticks to fail; the wait after the n-th failure is the back-off,
    // rounded up to whole ticks.
    for (n, gap) in gaps.iter().enumerate() {
        let delay = deployment_rules::backoff_delay_ms(n as u32 + 1);
        let expect = 2 * TICK + (delay + TICK - 1) / TICK * TICK;
        assert_eq!(*gap, expect, "gap {n}");
    }
    assert!(gaps.len() > 10);
    assert_eq!(
        *gaps.last().expect("gap"),
        2 * TICK + deployment_rules::BACKOFF_CAP_MS
    );
}

#[test]
fn a_new_deployment_resets_the_throttle() {
    let mut w = World::steady(service(1, 200, 100));
    w.deploy("ecs-svc/2", "td:bad");
    for _ in 0..100 {
        w.step();
    }
    assert!(w.state.throttle.failures > 3);
    w.deploy("ecs-svc/3", "td:3");
    let plan = w.step();
    assert!(plan.actions.contains(&Action::StartTasks {
        deployment_id: "ecs-svc/3".into(),
        count: 1
    }));
    assert_eq!(w.state.throttle.failures, 0);
    w.run_until(100, |w| {
        w.primary().rollout_state == RolloutState::Completed
    });
}

#[test]
fn a_crashed_task_is_replaced_without_throttle_and_steady_state_returns() {
    let mut w = World::steady(World::with_lb(service(2, 200, 100)));
    w.step();
    assert_eq!(w.count_events("steady state"), 0, "already steady");
    let victim = w.tasks[0].id.clone();
    let t = w.task_mut(&victim);
    t.last_status = TaskStatus::Stopped;
    t.desired_running = false;
    t.stop_code = Some(StopCode::EssentialContainerExited);
    t.targets.clear();
    w.check_min = false;
    let plan = w.step();
    assert_eq!(
        plan.actions,
        vec![Action::StartTasks {
            deployment_id: "ecs-svc/1".into(),
            count: 1
        }]
    );
    assert_eq!(plan.deployments[0].failed_tasks, 1);
    assert_eq!(w.state.throttle.failures, 0, "it had reached RUNNING");
    w.run_until(20, |w| w.state.steady);
    assert_eq!(w.count_events("has reached a steady state."), 1);
    assert_eq!(w.primary().rollout_state, RolloutState::Completed);
}

#[test]
fn unhealthy_targets_are_deregistered_then_stopped_after_the_grace_period() {
    let mut svc = World::with_lb(service(1, 200, 100));
    svc.health_check_grace_period_seconds = 60;
    let mut w = World::steady(svc);
    w.deploy("ecs-svc/2", "td:sick");
    let mut dereg_at = None;
    let mut stop = None;
    for _ in 0..60 {
        let plan = w.step();
        for a in &plan.actions {
            match a {
                Action::Deregister { task_id, .. } if dereg_at.is_none() => {
                    let t = w.tasks.iter().find(|t| &t.id == task_id).expect("task");
                    dereg_at = Some((w.now - TICK) - t.started_at.expect("started"));
                }
                Action::StopTask { reason, .. } if stop.is_none() => stop = Some(reason.clone()),
                _ => {}
            }
        }
        if stop.is_some() {
            break;
        }
    }
    assert!(
        dereg_at.expect("deregistered") >= 60_000,
        "not before the grace period ends"
    );
    assert_eq!(
        stop.expect("stopped"),
        format!("Task failed ELB health checks in (target-group {TG})")
    );
    assert!(w.count_events("is unhealthy in (target-group") > 0);
    assert!(w.count_events("has stopped 1 running tasks") > 0);
    assert_eq!(w.live_of("ecs-svc/1"), 1);
    assert!(
        w.primary().failed_tasks >= 1
            || w.tasks
                .iter()
                .any(|t| t.last_status != TaskStatus::Stopped && !t.desired_running)
    );
}

#[test]
fn inside_the_grace_period_unhealthy_tasks_stay_and_a_wake_up_is_asked() {
    let mut svc = World::with_lb(service(1, 200, 100));
    svc.health_check_grace_period_seconds = 30;
    let mut t = World::steady(svc.clone()).tasks.remove(0);
    t.started_at = Some(100_000);
    t.targets[0].health = TargetHealth::Unhealthy;
    let d = deployment(
        "ecs-svc/1",
        "td:1",
        DeploymentStatus::Primary,
        RolloutState::Completed,
        1,
        0,
    );
    let mut ids = || "x".to_string();
    let plan = reconcile(
        &svc,
        std::slice::from_ref(&d),
        std::slice::from_ref(&t),
        &ControllerState::default(),
        110_000,
        &mut ids,
    );
    assert!(plan
        .actions
        .iter()
        .all(|a| !matches!(a, Action::Deregister { .. } | Action::StopTask { .. })));
    assert_eq!(plan.wake_at, Some(130_000));
    let plan = reconcile(
        &svc,
        &[d],
        &[t],
        &ControllerState::default(),
        130_000,
        &mut ids,
    );
    assert!(plan
        .actions
        .iter()
        .any(|a| matches!(a, Action::Deregister { .. })));
}

#[test]
fn scale_in_drains_first_and_keeps_azs_balanced() {
    let mut w = World::steady(World::with_lb(service(6, 200, 100)));
    w.service.desired_count = 3;
    let plan = w.step();
    let deregs: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Deregister { task_id, .. } => Some(task_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(deregs.len(), 3);
    assert!(!plan
        .actions
        .iter()
        .any(|a| matches!(a, Action::StopTask { .. })));
    let mut azs: Vec<String> = deregs
        .iter()
        .map(|id| {
            w.tasks
                .iter()
                .find(|t| &t.id == id)
                .expect("t")
                .availability_zone
                .clone()
        })
        .collect();
    azs.sort();
    azs.dedup();
    assert_eq!(azs.len(), 3, "one from each AZ");
    w.run_until(20, |w| w.in_service() == 3 && w.state.steady);
    assert!(w.count_events("has stopped 3 running tasks") == 1);
    assert_eq!(w.primary().desired_count, 3);
}

#[test]
fn scale_to_zero_and_delete_stop_everything_after_draining() {
    let mut w = World::steady(World::with_lb(service(2, 200, 100)));
    w.service.desired_count = 0;
    w.run_until(20, |w| {
        w.tasks.iter().all(|t| t.last_status == TaskStatus::Stopped)
    });
    assert!(w.tasks.iter().all(|t| t.stopped_reason.as_deref()
        == Some("Scaling activity initiated by (deployment ecs-svc/1)")));
    let plan = w.step();
    assert_eq!(
        plan.counts,
        Counts {
            running: 0,
            pending: 0,
            deployments: vec![DeploymentCounts {
                id: "ecs-svc/1".into(),
                ..Default::default()
            }]
        }
    );

    let mut w = World::steady(World::with_lb(service(3, 200, 100)));
    w.service.deleting = true;
    let plan = w.step();
    assert_eq!(
        plan.actions
            .iter()
            .filter(|a| matches!(a, Action::Deregister { .. }))
            .count(),
        3
    );
    w.run_until(20, |w| {
        w.tasks.iter().all(|t| t.last_status == TaskStatus::Stopped)
    });
}

#[test]
fn counts_follow_the_tasks() {
    let mut w = World::steady(service(2, 200, 100));
    w.deploy("ecs-svc/2", "td:2");
    let plan = w.step();
    assert_eq!(plan.counts.running, 2);
    assert_eq!(plan.counts.pending, 0);
    let plan = w.step();
    assert_eq!(plan.counts.running, 2);
    assert_eq!(plan.counts.pending, 2);
    let new = &plan.counts.deployments[0];
    assert_eq!(
        (new.id.as_str(), new.running, new.pending),
        ("ecs-svc/2", 0, 2)
    );
}

#[test]
fn tasks_that_crash_after_running_trip_the_breaker_but_not_the_throttle() {
    // AWS: tasks stopped after reaching RUNNING never start the throttle logic. With a load
    // balancer they never count as healthy, so the old tasks stay. (Without a load balancer or
    // container health check AWS counts a RUNNING task as healthy, so a task that crashes a
    // few seconds after starting does let old ones go — as in AWS.)
    let mut w = World::steady(World::with_lb(service(2, 200, 100)));
    w.deploy("ecs-svc/2", "td:crash");
    for _ in 0..60 {
        w.step();
    }
    assert_eq!(w.state.throttle.failures, 0);
    assert_eq!(w.count_events("unable to consistently start"), 0);
    assert!(w.launches.len() > 10, "relaunched without back-off");
    assert_eq!(w.live_of("ecs-svc/1"), 2);

    let mut svc = World::with_lb(service(2, 200, 100));
    svc.circuit_breaker = CircuitBreaker {
        enable: true,
        rollback: true,
    };
    let mut w = World::steady(svc);
    w.deploy("ecs-svc/2", "td:crash");
    w.run_until(50, |w| w.primary().id != "ecs-svc/2");
    assert_eq!(w.primary().task_definition, "td:1");
    w.run_until(100, |w| {
        w.primary().rollout_state == RolloutState::Completed
    });
}
