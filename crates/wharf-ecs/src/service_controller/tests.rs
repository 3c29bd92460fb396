//! The controller over a real store with a fake clock and a fake target registry; the tests play
//! the task agent by moving task records forward themselves.

use super::*;
use crate::generated::*;
use crate::records::{AttachmentRecord, KeyValuePairRecord};
use crate::testing::{ctx, ecs};
use crate::{clusters, services, task_definitions};
use std::sync::Mutex;
use wharf_core::{FakeClock, TargetGroupInfo};

const TG: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef";

/// Target groups in memory: registration makes a target `initial`, deregistration `draining`;
/// the test decides when they turn healthy or finish draining.
#[derive(Default)]
struct FakeTargets {
    groups: Mutex<HashMap<String, Vec<RegisteredTarget>>>,
}

impl FakeTargets {
    fn set_all(&self, from: LbState, to: LbState) {
        for t in self.groups.lock().unwrap().values_mut().flatten() {
            if t.state == from {
                t.state = to;
            }
        }
    }
    fn finish_draining(&self) {
        for ts in self.groups.lock().unwrap().values_mut() {
            ts.retain(|t| t.state != LbState::Draining);
        }
    }
    fn states(&self) -> Vec<(String, LbState)> {
        let g = self.groups.lock().unwrap();
        let mut out: Vec<_> = g
            .get(TG)
            .into_iter()
            .flatten()
            .map(|t| (t.id.clone(), t.state))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

impl TargetRegistry for FakeTargets {
    fn target_group(&self, _: &str, _: &str, arn: &str) -> Result<Option<TargetGroupInfo>, String> {
        Ok((arn == TG).then(|| TargetGroupInfo {
            target_type: "ip".into(),
            has_load_balancer: true,
        }))
    }
    fn register(&self, _: &str, _: &str, arn: &str, ip: &str, port: u16) -> Result<(), String> {
        let mut g = self.groups.lock().unwrap();
        let ts = g.entry(arn.into()).or_default();
        ts.retain(|t| !(t.id == ip && t.port == port));
        ts.push(RegisteredTarget {
            id: ip.into(),
            port,
            state: LbState::Initial,
        });
        Ok(())
    }
    fn deregister(&self, _: &str, _: &str, arn: &str, ip: &str, port: u16) -> Result<(), String> {
        let mut g = self.groups.lock().unwrap();
        for t in g.entry(arn.into()).or_default() {
            if t.id == ip && t.port == port {
                t.state = LbState::Draining;
            }
        }
        Ok(())
    }
    fn targets(&self, _: &str, _: &str, arn: &str) -> Result<Vec<RegisteredTarget>, String> {
        Ok(self
            .groups
            .lock()
            .unwrap()
            .get(arn)
            .cloned()
            .unwrap_or_default())
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    ecs: Ecs,
    targets: Arc<FakeTargets>,
    clock: Arc<FakeClock>,
}

impl Rig {
    fn new() -> Rig {
        let (dir, ecs) = ecs();
        let targets = Arc::new(FakeTargets::default());
        let ecs = ecs.with_targets(targets.clone());
        clusters::create(
            &ecs,
            &ctx(),
            CreateClusterRequest {
                cluster_name: Some("c1".into()),
                ..Default::default()
            },
        )
        .unwrap();
        for version in ["1", "2"] {
            let td: RegisterTaskDefinitionRequest = serde_json::from_value(serde_json::json!({
                "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "cpu": "256", "memory": "512",
                "containerDefinitions": [{"name": "app", "image": format!("img:{version}"),
                    "portMappings": [{"containerPort": 8080}]}]
            }))
            .unwrap();
            task_definitions::register(&ecs, &ctx(), td).unwrap();
        }
        Rig {
            _dir: dir,
            ecs,
            targets,
            clock: Arc::new(FakeClock::new(ctx().now)),
        }
    }

    /// A controller as a freshly started wharf would make it.
    fn controller(&self) -> ServiceController {
        ServiceController::new(self.ecs.clone(), self.targets.clone(), self.clock.clone())
    }

    fn create(&self, desired: i32) {
        let input: CreateServiceRequest = serde_json::from_value(serde_json::json!({
            "cluster": "c1", "serviceName": "web", "taskDefinition": "web:1",
            "desiredCount": desired, "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"]}},
            "loadBalancers": [{"targetGroupArn": TG, "containerName": "app", "containerPort": 8080}]
        }))
        .unwrap();
        services::create(&self.ecs, &ctx(), input).unwrap();
    }

    fn service(&self) -> Service {
        services::describe(
            &self.ecs,
            &ctx(),
            DescribeServicesRequest {
                cluster: Some("c1".into()),
                services: vec!["web".into()],
                ..Default::default()
            },
        )
        .unwrap()
        .services
        .unwrap()
        .remove(0)
    }

    fn tasks(&self) -> Vec<TaskRecord> {
        let mut all: Vec<TaskRecord> = self
            .ecs
            .store
            .read(|tx| tx.list::<TaskRecord>(TASKS, ""))
            .unwrap()
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        all.sort_by_key(|t| t.task.created_at.map(|c| c.millis));
        all
    }

    /// Plays the agent: every task asked to stop stops; every other pending one runs, with an
    /// address.
    fn agent_step(&self) {
        let now = self.clock.now();
        for (i, t) in self.tasks().into_iter().enumerate() {
            let key = t.key();
            tasks::update(&self.ecs.store, &key, |t| {
                let status = TaskStatus::of(&t.task);
                if status == TaskStatus::Stopped {
                    return (false, ());
                }
                if t.task.desired_status.as_deref() == Some("STOPPED") {
                    return (
                        task_lifecycle::advance(&mut t.task, TaskStatus::Stopped, now),
                        (),
                    );
                }
                if status < TaskStatus::Running {
                    t.task.attachments = Some(vec![AttachmentRecord {
                        details: Some(vec![KeyValuePairRecord {
                            name: Some("privateIPv4Address".into()),
                            value: Some(format!("172.31.0.{}", 10 + i)),
                        }]),
                        ..Default::default()
                    }]);
                    task_lifecycle::advance(&mut t.task, TaskStatus::Running, now);
                    return (true, ());
                }
                (false, ())
            })
            .unwrap();
        }
    }

    fn pass(&self) -> PassReport {
        self.clock.advance(1_000);
        self.controller().pass().unwrap()
    }

    fn events(&self) -> Vec<String> {
        self.service()
            .events
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| e.message)
            .collect()
    }

    fn live(&self) -> usize {
        self.tasks()
            .iter()
            .filter(|t| TaskStatus::of(&t.task) != TaskStatus::Stopped)
            .count()
    }
}

#[test]
fn tasks_are_launched_once_registered_and_the_deployment_completes_when_healthy() {
    let rig = Rig::new();
    rig.create(2);
    let report = rig.pass();
    assert_eq!((report.services, report.launched), (1, 2));
    let tasks = rig.tasks();
    let deployment = rig.service().deployments.unwrap()[0].id.clone().unwrap();
    assert_eq!(tasks.len(), 2);
    for t in &tasks {
        assert_eq!(t.task.started_by.as_deref(), Some(deployment.as_str()));
        assert_eq!(t.task.group.as_deref(), Some("service:web"));
        assert_eq!(t.service_name.as_deref(), Some("web"));
    }
    let mut subnets: Vec<_> = tasks.iter().map(|t| t.subnet.clone().unwrap().id).collect();
    subnets.sort();
    assert_eq!(
        subnets,
        ["subnet-a", "subnet-b"],
        "spread over both subnets"
    );
    assert!(rig.events()[0].starts_with("(service web) has started 2 tasks: (task "));

    // A restarted wharf (a new controller) sees the pending tasks and launches nothing more.
    assert_eq!(rig.pass().launched, 0);
    assert_eq!(rig.tasks().len(), 2);

    rig.agent_step();
    rig.pass();
    assert_eq!(
        rig.targets.states(),
        [
            ("172.31.0.10".to_string(), LbState::Initial),
            ("172.31.0.11".to_string(), LbState::Initial)
        ]
    );
    let s = rig.service();
    assert_eq!((s.running_count, s.pending_count), (Some(2), Some(0)));
    assert_eq!(
        s.deployments.unwrap()[0].rollout_state.as_deref(),
        Some("IN_PROGRESS"),
        "not complete before the targets are healthy"
    );
    rig.targets.set_all(LbState::Initial, LbState::Healthy);
    rig.pass();
    let s = rig.service();
    let d = &s.deployments.as_ref().unwrap()[0];
    assert_eq!(d.rollout_state.as_deref(), Some("COMPLETED"));
    assert_eq!(d.running_count, Some(2));
    let events = rig.events();
    assert_eq!(events[0], "(service web) has reached a steady state.");
    assert!(events
        .iter()
        .any(|e| e.contains("registered 2 targets in (target-group")));
    assert_eq!(rig.pass().committed, 0, "a steady service is not rewritten");
}

fn steady(rig: &Rig, desired: i32) {
    rig.create(desired);
    for _ in 0..4 {
        rig.pass();
        rig.agent_step();
        rig.targets.set_all(LbState::Initial, LbState::Healthy);
    }
    rig.pass();
    assert_eq!(
        rig.service().deployments.unwrap()[0]
            .rollout_state
            .as_deref(),
        Some("COMPLETED")
    );
}

#[test]
fn a_task_that_exits_is_deregistered_and_replaced() {
    let rig = Rig::new();
    steady(&rig, 2);
    let victim = rig.tasks()[0].clone();
    tasks::update(&rig.ecs.store, &victim.key(), |t| {
        task_lifecycle::request_stop(
            &mut t.task,
            StopCode::EssentialContainerExited,
            "Essential container in task exited",
        );
        task_lifecycle::advance(&mut t.task, TaskStatus::Stopped, rig.clock.now());
        (true, ())
    })
    .unwrap();
    let report = rig.pass();
    assert_eq!(report.launched, 1, "replaced at once (it had been RUNNING)");
    let ip = private_ip(&victim).unwrap();
    assert!(rig.targets.states().contains(&(ip, LbState::Draining)));
    assert!(rig
        .events()
        .iter()
        .any(|e| e.contains("deregistered 1 targets")));
    let s = rig.service();
    assert_eq!(s.deployments.unwrap()[0].failed_tasks, Some(1));
}

#[test]
fn update_rolls_to_the_new_revision_within_the_bounds() {
    let rig = Rig::new();
    steady(&rig, 2);
    services::update(
        &rig.ecs,
        &ctx(),
        UpdateServiceRequest {
            cluster: Some("c1".into()),
            service: "web".into(),
            task_definition: Some("web:2".into()),
            ..Default::default()
        },
    )
    .unwrap();
    for _ in 0..12 {
        rig.pass();
        assert!(rig.live() <= 4, "maximumPercent 200");
        let healthy = rig
            .targets
            .states()
            .iter()
            .filter(|(_, s)| *s == LbState::Healthy)
            .count();
        assert!(healthy >= 2, "minimumHealthyPercent 100: {healthy} healthy");
        rig.agent_step();
        rig.targets.set_all(LbState::Initial, LbState::Healthy);
        rig.targets.finish_draining();
    }
    let s = rig.service();
    let deployments = s.deployments.unwrap();
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    assert_eq!(deployments[0].rollout_state.as_deref(), Some("COMPLETED"));
    assert!(s.task_definition.unwrap().ends_with("web:2"));
    let live: Vec<_> = rig
        .tasks()
        .into_iter()
        .filter(|t| TaskStatus::of(&t.task) != TaskStatus::Stopped)
        .collect();
    assert_eq!(live.len(), 2);
    assert!(live.iter().all(|t| t
        .task
        .task_definition_arn
        .as_deref()
        .unwrap()
        .ends_with("web:2")));
    let stopped = rig
        .tasks()
        .into_iter()
        .filter(|t| TaskStatus::of(&t.task) == TaskStatus::Stopped)
        .count();
    assert_eq!(stopped, 2);
}

#[test]
fn delete_drains_every_task_then_the_service_is_inactive() {
    let rig = Rig::new();
    steady(&rig, 2);
    services::delete(
        &rig.ecs,
        &ctx(),
        DeleteServiceRequest {
            cluster: Some("c1".into()),
            service: "web".into(),
            force: Some(true),
        },
    )
    .unwrap();
    rig.pass();
    assert!(rig
        .targets
        .states()
        .iter()
        .all(|(_, s)| *s == LbState::Draining));
    assert_eq!(rig.live(), 2, "nothing stopped before draining ends");
    rig.targets.finish_draining();
    rig.pass();
    rig.agent_step();
    assert_eq!(rig.live(), 0);
    assert_eq!(rig.service().status.as_deref(), Some("DRAINING"));
    rig.pass();
    assert_eq!(rig.service().status.as_deref(), Some("INACTIVE"));
    assert_eq!(rig.pass().services, 0);
}

#[test]
fn a_missing_target_group_is_refused_at_creation() {
    let rig = Rig::new();
    let input: CreateServiceRequest = serde_json::from_value(serde_json::json!({
        "cluster": "c1", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 1,
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"]}},
        "loadBalancers": [{"targetGroupArn": TG.replace("/web/", "/nope/"), "containerName": "app", "containerPort": 8080}]
    }))
    .unwrap();
    let err = services::create(&rig.ecs, &ctx(), input).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidParameterException(m) if m.contains("targetGroupArn")),
        "{err:?}"
    );
    assert_eq!(rig.pass().services, 0, "nothing created");
}

#[test]
fn an_ec2_service_is_created_and_says_once_that_no_container_instance_exists() {
    let rig = Rig::new();
    // No launchType, no strategy, no cluster default: EC2, as on AWS (not refused).
    let input: CreateServiceRequest = serde_json::from_value(serde_json::json!({
        "cluster": "c1", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": 1,
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"]}}
    }))
    .unwrap();
    let created = services::create(&rig.ecs, &ctx(), input)
        .unwrap()
        .service
        .unwrap();
    assert_eq!(created.launch_type.as_deref(), Some("EC2"));
    for _ in 0..5 {
        rig.pass();
    }
    assert!(rig.tasks().is_empty());
    let events: Vec<String> = rig
        .service()
        .events
        .unwrap()
        .into_iter()
        .filter_map(|e| e.message)
        .collect();
    assert_eq!(
        events,
        vec!["service web was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.".to_string()],
    );
}
