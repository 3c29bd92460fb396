//! The agent against the fake runtime: tasks launched through ECS's API are driven to RUNNING
//! and STOPPED as AWS reports them, and survive a restart of the agent.

use super::*;
use std::collections::BTreeMap;
use std::time::Duration;
use wharf_core::ids::RandomIds;
use wharf_core::{
    LogDestination, LogLine, LogSinkError, NewNetworkInterface, PlacementSubnet, RequestContext,
    ResolvedImage, SecretValueError, SystemClock, Timestamp,
};
use wharf_ecs::generated::*;
use wharf_ecs::records::TaskRecord;
use wharf_ecs::Ecs;
use wharf_runtime::fake::FakeRuntime;
use wharf_runtime::Health;

const DEADLINE: Duration = Duration::from_secs(20);
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1";
const LOCAL: &str = "127.0.0.1:4566/app:1";

struct Images;
impl ImageResolver for Images {
    fn resolve(&self, image: &str) -> Option<ResolvedImage> {
        (image == IMAGE).then(|| ResolvedImage {
            pull_reference: LOCAL.into(),
            username: "AWS".into(),
            password: "pw".into(),
            server_address: "127.0.0.1:4566".into(),
        })
    }
}

/// Secrets by reference; anything else is not found.
struct Secrets;
impl SecretValues for Secrets {
    fn resolve(
        &self,
        account: &str,
        region: &str,
        value_from: &str,
    ) -> Result<String, SecretValueError> {
        assert_eq!((account, region), ("123456789012", "us-east-1"));
        match value_from {
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password::" => {
                Ok("s3cr3t".into())
            }
            "/app/api-key" => Ok("key-123".into()),
            other => Err(SecretValueError(format!("invalid ssm parameters: {other}"))),
        }
    }
}

#[derive(Default)]
struct Logs {
    groups: Mutex<HashSet<String>>,
    streams: Mutex<BTreeMap<String, Vec<LogLine>>>,
}
impl LogSink for Logs {
    fn prepare(&self, dest: &LogDestination, create_group: bool) -> Result<(), LogSinkError> {
        let mut groups = self.groups.lock().unwrap();
        if !groups.contains(&dest.group) {
            if !create_group {
                return Err(LogSinkError::GroupNotFound(dest.group.clone()));
            }
            groups.insert(dest.group.clone());
        }
        self.streams
            .lock()
            .unwrap()
            .entry(dest.stream.clone())
            .or_default();
        Ok(())
    }
    fn append(&self, dest: &LogDestination, lines: &[LogLine]) -> Result<(), LogSinkError> {
        self.streams
            .lock()
            .unwrap()
            .entry(dest.stream.clone())
            .or_default()
            .extend_from_slice(lines);
        Ok(())
    }
    fn last_timestamp(&self, dest: &LogDestination) -> Result<Option<Timestamp>, LogSinkError> {
        Ok(self
            .streams
            .lock()
            .unwrap()
            .get(&dest.stream)
            .and_then(|l| l.last().map(|l| l.timestamp)))
    }
}
impl Logs {
    fn messages(&self) -> Vec<String> {
        self.streams
            .lock()
            .unwrap()
            .values()
            .flatten()
            .map(|l| l.message.clone())
            .collect()
    }
}

#[derive(Default)]
struct Enis {
    live: Mutex<BTreeMap<String, NewNetworkInterface>>,
    /// The filter every live interface gets (what EC2 would compute from their groups).
    filter: Mutex<wharf_core::packet_filter::InterfaceFilter>,
}
impl NetworkInterfaces for Enis {
    fn subnet(&self, _: &str, _: &str, id: &str) -> Result<Option<PlacementSubnet>, String> {
        Ok((id == "subnet-a").then(|| PlacementSubnet {
            id: id.into(),
            vpc_id: "vpc-1".into(),
            availability_zone: "us-east-1a".into(),
            cidr_block: "172.31.0.0/20".into(),
        }))
    }
    fn security_group_exists(&self, _: &str, _: &str, _: &str) -> Result<bool, String> {
        Ok(true)
    }
    fn create_interface(&self, eni: NewNetworkInterface) -> Result<String, String> {
        let mut live = self.live.lock().unwrap();
        let id = format!("eni-{}", live.len() + 1);
        live.insert(id.clone(), eni);
        Ok(id)
    }
    fn delete_interface(&self, _: &str, _: &str, id: &str) -> Result<(), String> {
        self.live.lock().unwrap().remove(id);
        Ok(())
    }
    fn interface_filters(
        &self,
        _: &str,
        _: &str,
        ids: &[String],
    ) -> Result<BTreeMap<String, wharf_core::packet_filter::InterfaceFilter>, String> {
        let live = self.live.lock().unwrap();
        let filter = self.filter.lock().unwrap().clone();
        Ok(ids
            .iter()
            .filter(|id| live.contains_key(*id))
            .map(|id| (id.clone(), filter.clone()))
            .collect())
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    runtime: FakeRuntime,
    logs: Arc<Logs>,
    enis: Arc<Enis>,
    ecs: Ecs,
    stop: watch::Sender<bool>,
    _agent: Arc<Agent>,
    running: tokio::task::JoinHandle<()>,
}

impl World {
    /// Stops the agent and waits until it has (its supervisors aborted), as when wharf exits.
    async fn stop_agent(&mut self) {
        let _ = self.stop.send(true);
        (&mut self.running).await.unwrap();
    }
}

fn ctx() -> RequestContext {
    RequestContext::for_tests("us-east-1", "123456789012", SystemClock.now())
}

fn start_agent(
    store: &Arc<Store>,
    runtime: &FakeRuntime,
    logs: &Arc<Logs>,
    enis: &Arc<Enis>,
) -> (Arc<Agent>, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    start_agent_with(store, runtime, logs, enis, |_| {})
}

/// Like `start_agent`, with `prepare` called on the agent before it runs.
fn start_agent_with(
    store: &Arc<Store>,
    runtime: &FakeRuntime,
    logs: &Arc<Logs>,
    enis: &Arc<Enis>,
    prepare: impl FnOnce(&Agent),
) -> (Arc<Agent>, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let agent = Agent::new(
        store.clone(),
        Arc::new(runtime.clone()),
        Arc::new(Images),
        logs.clone(),
        enis.clone(),
        Arc::new(SystemClock),
        Arc::new(Secrets),
        AgentConfig {
            poll_interval: Duration::from_millis(10),
            reconcile_interval: Duration::from_millis(50),
            instance: "test".into(),
            task_endpoint: Some("http://169.254.170.2".into()),
            ..AgentConfig::default()
        },
    );
    prepare(&agent);
    let (stop, rx) = watch::channel(false);
    let running = tokio::spawn(agent.clone().run(rx));
    (agent, stop, running)
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    let runtime = FakeRuntime::new(Arc::new(SystemClock));
    let logs = Arc::new(Logs::default());
    let enis = Arc::new(Enis::default());
    let (agent, stop, running) = start_agent(&store, &runtime, &logs, &enis);
    let ecs = Ecs::new(store.clone(), Arc::new(RandomIds))
        .with_network(enis.clone())
        .with_task_notifier(agent.notifier());
    World {
        _dir: dir,
        store,
        runtime,
        logs,
        enis,
        ecs,
        stop,
        _agent: agent,
        running,
    }
}

fn register(ecs: &Ecs, containers: serde_json::Value) {
    register_with(ecs, serde_json::json!({}), containers);
}

/// Registers family `web` with `containers` and the task-level fields in `extra`.
fn register_with(ecs: &Ecs, extra: serde_json::Value, containers: serde_json::Value) {
    let mut td = serde_json::json!({
        "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512",
        "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
        "containerDefinitions": containers,
    });
    for (k, v) in extra.as_object().unwrap() {
        td[k] = v.clone();
    }
    let td: RegisterTaskDefinitionRequest = serde_json::from_value(td).unwrap();
    ecs.register_task_definition(&ctx(), td).unwrap();
}

fn run(ecs: &Ecs) -> String {
    let input: RunTaskRequest = serde_json::from_value(serde_json::json!({
        "taskDefinition": "web", "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"], "assignPublicIp": "ENABLED"}}
    }))
    .unwrap();
    ecs.run_task(&ctx(), input).unwrap().tasks.unwrap()[0]
        .task_arn
        .clone()
        .unwrap()
}

fn task(w: &World, arn: &str) -> Task {
    w.ecs
        .describe_tasks(
            &ctx(),
            DescribeTasksRequest {
                cluster: None,
                tasks: vec![arn.into()],
                include: None,
            },
        )
        .unwrap()
        .tasks
        .unwrap()
        .remove(0)
}

async fn wait_status(w: &World, arn: &str, status: &str) -> Task {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let t = task(w, arn);
        if t.last_status.as_deref() == Some(status) {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task never reached {status}: {t:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn app(extra: serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::json!({"name": "app", "image": IMAGE,
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/web", "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}});
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_runs_and_its_essential_container_exit_stops_it() {
    let w = world();
    register(&w.ecs, serde_json::json!([app(serde_json::json!({}))]));
    let arn = run(&w.ecs);
    let t = wait_status(&w, &arn, "RUNNING").await;
    assert!(t.started_at.is_some() && t.pull_started_at.is_some() && t.pull_stopped_at.is_some());
    assert_eq!(t.connectivity.as_deref(), Some("CONNECTED"));
    let details: BTreeMap<String, String> = t.attachments.unwrap()[0]
        .details
        .clone()
        .unwrap()
        .into_iter()
        .map(|kv| (kv.name.unwrap(), kv.value.unwrap()))
        .collect();
    assert_eq!(details["privateIPv4Address"], "172.31.0.4");
    assert_eq!(details["privateDnsName"], "ip-172-31-0-4.ec2.internal");
    assert!(w.enis.live.lock().unwrap()[&details["networkInterfaceId"]]
        .public_ip
        .is_some());
    // Pulled from wharf's registry with its credentials.
    assert!(w.runtime.calls().iter().any(|c| matches!(c,
        wharf_runtime::fake::Call::PullImage { reference, auth: Some(a) } if reference == LOCAL && a.username == "AWS")));

    w.runtime.push_log("app", "hello");
    w.runtime.push_log("app", "last words");
    assert!(w.runtime.exit("app", 3));
    let t = wait_status(&w, &arn, "STOPPED").await;
    assert_eq!(t.stop_code.as_deref(), Some("EssentialContainerExited"));
    assert_eq!(
        t.stopped_reason.as_deref(),
        Some("Essential container in task exited")
    );
    let c = &t.containers.unwrap()[0];
    assert_eq!(c.exit_code, Some(3));
    assert_eq!(c.last_status.as_deref(), Some("STOPPED"));
    assert!(t.stopping_at.is_some() && t.stopped_at.is_some());
    assert_eq!(
        w.logs.messages(),
        vec!["hello", "last words"],
        "no line lost"
    );
    assert!(w.runtime.containers().is_empty(), "everything removed");
    assert!(w.enis.live.lock().unwrap().is_empty(), "ENI deleted");
    let _ = w.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_task_stops_with_the_user_reason_and_the_stop_timeout() {
    let w = world();
    register(
        &w.ecs,
        serde_json::json!([app(serde_json::json!({"stopTimeout": 7}))]),
    );
    let arn = run(&w.ecs);
    wait_status(&w, &arn, "RUNNING").await;
    w.ecs
        .stop_task(
            &ctx(),
            StopTaskRequest {
                cluster: None,
                task: arn.clone(),
                reason: None,
            },
        )
        .unwrap();
    let t = wait_status(&w, &arn, "STOPPED").await;
    assert_eq!(t.stop_code.as_deref(), Some("UserInitiated"));
    assert_eq!(t.stopped_reason.as_deref(), Some("Task stopped by user"));
    assert!(w.runtime.calls().iter().any(|c| matches!(c,
        wharf_runtime::fake::Call::StopContainer { timeout, .. } if *timeout == Duration::from_secs(7))));
    let _ = w.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_fails_the_task_with_cannot_pull() {
    let w = world();
    w.runtime.fail_pull(LOCAL, "manifest unknown");
    register(&w.ecs, serde_json::json!([app(serde_json::json!({}))]));
    let arn = run(&w.ecs);
    let t = wait_status(&w, &arn, "STOPPED").await;
    assert_eq!(t.stop_code.as_deref(), Some("TaskFailedToStart"));
    let reason = t.stopped_reason.unwrap();
    assert!(
        reason.starts_with("CannotPullContainerError:") && reason.contains("manifest unknown"),
        "{reason}"
    );
    assert_eq!(t.started_at, None);
    assert!(t.containers.unwrap()[0]
        .reason
        .as_deref()
        .unwrap()
        .starts_with("CannotPullContainerError"));
    assert!(w.runtime.containers().is_empty(), "no sandbox left behind");
    assert!(w.enis.live.lock().unwrap().is_empty());
    let _ = w.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_log_group_without_create_group_fails_the_task() {
    let w = world();
    register(
        &w.ecs,
        serde_json::json!([{"name": "app", "image": IMAGE,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/none", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}}]),
    );
    let arn = run(&w.ecs);
    let t = wait_status(&w, &arn, "STOPPED").await;
    let reason = t.stopped_reason.unwrap();
    assert!(
        reason.starts_with("ResourceInitializationError:")
            && reason.contains("The specified log group does not exist"),
        "{reason}"
    );
    let _ = w.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_kill_is_reported() {
    let w = world();
    register(&w.ecs, serde_json::json!([app(serde_json::json!({}))]));
    let arn = run(&w.ecs);
    wait_status(&w, &arn, "RUNNING").await;
    w.runtime.oom("app");
    let t = wait_status(&w, &arn, "STOPPED").await;
    assert_eq!(
        t.stopped_reason.as_deref(),
        Some("OutOfMemoryError: Container killed due to memory usage")
    );
    let c = &t.containers.unwrap()[0];
    assert_eq!(c.exit_code, Some(137));
    assert_eq!(
        c.reason.as_deref(),
        Some("OutOfMemoryError: Container killed due to memory usage")
    );
    let _ = w.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depends_on_healthy_waits_and_health_is_reported() {
    let w = world();
    register(
        &w.ecs,
        serde_json::json!([
            {"name": "db", "image": IMAGE, "essential": true,
             "healthCheck": {"command": ["CMD", "true"], "interval": 5}},
            app(serde_json::json!({"dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]}))
        ]),
    );
    let arn = run(&w.ecs);
    w.runtime.wait_running("db").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        w.runtime
            .container("app")
            .is_some_and(|c| !c.status.started),
        "app waits for db to be healthy"
    );
    assert_eq!(
        task(&w, &arn).last_status.as_deref(),
        Some("PENDING"),
        "not running before its containers are"
    );
    w.runtime.set_health("db", Health::Healthy);
    let t = wait_status(&w, &arn, "RUNNING").await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut t = t;
    while t.health_status.as_deref() != Some("HEALTHY") {
        assert!(tokio::time::Instant::now() < deadline, "{t:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
        t = task(&w, &arn);
    }
    w.runtime.set_health("db", Health::Unhealthy);
    while t.health_status.as_deref() != Some("UNHEALTHY") {
        assert!(tokio::time::Instant::now() < deadline, "{t:#?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
        t = task(&w, &arn);
    }
    let _ = w.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_adopts_running_tasks_and_stops_vanished_ones() {
    let mut w = world();
    register(&w.ecs, serde_json::json!([app(serde_json::json!({}))]));
    let kept = run(&w.ecs);
    let lost = run(&w.ecs);
    wait_status(&w, &kept, "RUNNING").await;
    wait_status(&w, &lost, "RUNNING").await;
    w.runtime.push_log(
        &format!("wharf-{}-app", kept.rsplit('/').next().unwrap()),
        "before",
    );
    let lines_before = {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !w.logs.messages().contains(&"before".to_string()) {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        w.logs.messages().len()
    };

    // wharf stops: supervisors die with it; containers keep running.
    w.stop_agent().await;
    let lost_id = lost.rsplit('/').next().unwrap().to_string();
    for c in w.runtime.containers() {
        if c.name.contains(&lost_id) {
            w.runtime.remove_container(&c.id).await.unwrap();
        }
    }
    let kept_app = format!("wharf-{}-app", kept.rsplit('/').next().unwrap());
    let later = Timestamp::from_millis(SystemClock.now().millis + 5);
    w.runtime
        .push_log_at(&kept_app, later, "while wharf was down");
    let containers_before = w.runtime.containers().len();

    // The store is the same; a new agent over the same runtime (a new ECS wired to it).
    let (agent, stop, running) = start_agent(&w.store, &w.runtime, &w.logs, &w.enis);
    let w2 = World {
        ecs: Ecs::new(w.store.clone(), Arc::new(RandomIds))
            .with_network(w.enis.clone())
            .with_task_notifier(agent.notifier()),
        _agent: agent,
        stop,
        running,
        ..w
    };
    let t = wait_status(&w2, &lost, "STOPPED").await;
    assert_eq!(t.stopped_reason.as_deref(), Some(supervisor::VANISHED));
    // The kept task's output resumes after the last stored line: nothing twice.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !w2
        .logs
        .messages()
        .contains(&"while wharf was down".to_string())
    {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(w2.logs.messages().len(), lines_before + 1);
    assert_eq!(
        task(&w2, &kept).last_status.as_deref(),
        Some("RUNNING"),
        "adopted, not restarted"
    );
    assert_eq!(
        w2.runtime.containers().len(),
        containers_before,
        "no duplicates"
    );
    let stored: Vec<TaskRecord> = wharf_ecs::tasks::unstopped(&w2.store).unwrap();
    assert_eq!(stored.len(), 1);
    let _ = w2.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_of_this_instance_are_removed_at_start() {
    let mut w = world();
    register(&w.ecs, serde_json::json!([app(serde_json::json!({}))]));
    let arn = run(&w.ecs);
    wait_status(&w, &arn, "RUNNING").await;
    w.stop_agent().await;
    // The record is lost (say, a store restored from backup): its containers are orphans.
    let key = wharf_ecs::tasks::unstopped(&w.store).unwrap()[0].key();
    w.store
        .write(|tx| tx.delete(wharf_ecs::records::TASKS, &key))
        .unwrap();
    let (_agent, stop, _running) = start_agent(&w.store, &w.runtime, &w.logs, &w.enis);
    tokio::time::timeout(
        DEADLINE,
        w.runtime
            .wait_for(|f| f.containers().is_empty().then_some(())),
    )
    .await
    .expect("orphans removed");
    let _ = stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_stopped_while_starting_never_runs() {
    let w = world();
    register(
        &w.ecs,
        serde_json::json!([
            {"name": "db", "image": IMAGE, "healthCheck": {"command": ["CMD", "true"]}},
            app(serde_json::json!({"dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]}))
        ]),
    );
    let arn = run(&w.ecs);
    w.runtime.wait_running("db").await;
    assert_eq!(task(&w, &arn).last_status.as_deref(), Some("PENDING"));
    w.ecs
        .stop_task(
            &ctx(),
            StopTaskRequest {
                cluster: None,
                task: arn.clone(),
                reason: None,
            },
        )
        .unwrap();
    let t = wait_status(&w, &arn, "STOPPED").await;
    assert_eq!(t.started_at, None, "never RUNNING");
    assert_eq!(t.stop_code.as_deref(), Some("UserInitiated"));
    assert!(w.runtime.containers().is_empty());
    assert!(w.runtime.calls().iter().all(
        |c| !matches!(c, wharf_runtime::fake::Call::StartContainer(n) if n.ends_with("-app"))
    ));
    let _ = w.stop.send(true);
}

fn container_env(w: &World, name: &str) -> BTreeMap<String, String> {
    let c = w
        .runtime
        .containers()
        .into_iter()
        .find(|c| {
            c.labels
                .get(wharf_runtime::labels::CONTAINER_NAME)
                .map(String::as_str)
                == Some(name)
        })
        .expect("container created");
    match c.role {
        wharf_runtime::fake::FakeRole::Container { spec, .. } => {
            spec.environment.into_iter().collect()
        }
        other => panic!("not a container: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_the_task_endpoint_reach_the_environment() {
    let w = world();
    register_with(
        &w.ecs,
        serde_json::json!({"taskRoleArn": "arn:aws:iam::123456789012:role/app"}),
        serde_json::json!([app(serde_json::json!({
        "environment": [{"name": "PLAIN", "value": "visible"}],
        "secrets": [
            {"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password::"},
            {"name": "API_KEY", "valueFrom": "/app/api-key"},
        ]}))]),
    );
    let arn = run(&w.ecs);
    wait_status(&w, &arn, "RUNNING").await;
    let env = container_env(&w, "app");
    assert_eq!(env["DB_PASSWORD"], "s3cr3t");
    assert_eq!(env["API_KEY"], "key-123");
    assert_eq!(env["PLAIN"], "visible");
    let creds = &env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"];
    assert!(
        creds.starts_with("/v2/credentials/") && creds.len() > 20,
        "{creds}"
    );
    assert!(env["ECS_CONTAINER_METADATA_URI_V4"].starts_with("http://169.254.170.2/v4/"));
    // The credentials id is kept with the task, for the endpoint to find it.
    let key = tasks::unstopped(&w.store).unwrap()[0]
        .resources
        .credentials_id
        .clone();
    assert_eq!(key.as_deref(), creds.strip_prefix("/v2/credentials/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_secret_fails_the_task_before_any_container() {
    let w = world();
    register(
        &w.ecs,
        serde_json::json!([app(serde_json::json!({
            "secrets": [{"name": "X", "valueFrom": "/missing/param"}]}))]),
    );
    let arn = run(&w.ecs);
    let t = wait_status(&w, &arn, "STOPPED").await;
    assert_eq!(t.stop_code.as_deref(), Some("TaskFailedToStart"));
    assert_eq!(
        t.stopped_reason.as_deref(),
        Some("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: invalid ssm parameters: /missing/param")
    );
    assert!(w
        .runtime
        .containers()
        .iter()
        .all(|c| !matches!(c.role, wharf_runtime::fake::FakeRole::Container { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ecr_image_without_an_execution_role_cannot_be_pulled() {
    let w = world();
    let td: RegisterTaskDefinitionRequest = serde_json::from_value(serde_json::json!({
        "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": IMAGE}],
    }))
    .unwrap();
    w.ecs.register_task_definition(&ctx(), td).unwrap();
    let arn = run(&w.ecs);
    let t = wait_status(&w, &arn, "STOPPED").await;
    let reason = t.stopped_reason.unwrap();
    assert!(reason.starts_with("CannotPullContainerError: "), "{reason}");
    assert!(reason.contains("executionRoleArn"), "{reason}");
}

#[test]
fn a_fresh_sigkill_exit_waits_for_the_engine_to_say_whether_it_was_an_oom_kill() {
    use crate::supervisor::oom_may_be_pending;
    use wharf_core::Timestamp;
    let exited = |code, oom, at| wharf_runtime::ContainerStatus {
        id: "c".into(),
        running: false,
        started: true,
        exit_code: Some(code),
        oom_killed: oom,
        health: None,
        started_at: Some(Timestamp::from_millis(0)),
        finished_at: Some(Timestamp::from_millis(at)),
        error: None,
    };
    let now = Timestamp::from_millis(10_000);
    assert!(oom_may_be_pending(&exited(137, false, 9_500), now));
    // Settled: the OOM flag is there, or the exit is old enough, or it was no SIGKILL.
    assert!(!oom_may_be_pending(&exited(137, true, 9_500), now));
    assert!(!oom_may_be_pending(&exited(137, false, 7_000), now));
    assert!(!oom_may_be_pending(&exited(3, false, 9_500), now));
}

/// Records what the agent publishes.
#[derive(Default)]
struct RecordedMetrics(Mutex<Vec<(String, String, Vec<wharf_core::MetricDatum>)>>);
impl wharf_core::MetricSink for RecordedMetrics {
    fn put(&self, account: &str, region: &str, data: Vec<wharf_core::MetricDatum>) {
        self.0
            .lock()
            .unwrap()
            .push((account.into(), region.into(), data));
    }
}

fn run_in_service(ecs: &Ecs, service: &str) -> String {
    let input: RunTaskRequest = serde_json::from_value(serde_json::json!({
        "taskDefinition": "web", "launchType": "FARGATE", "group": format!("service:{service}"),
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"]}}
    }))
    .unwrap();
    ecs.run_task(&ctx(), input).unwrap().tasks.unwrap()[0]
        .task_arn
        .clone()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_tasks_utilization_comes_from_their_containers_stats() {
    let w = world();
    register(&w.ecs, serde_json::json!([app(serde_json::json!({}))]));
    let arn = run_in_service(&w.ecs, "api");
    let t = wait_status(&w, &arn, "RUNNING").await;
    let id = t.containers.unwrap()[0].runtime_id.clone().unwrap();
    let runtime: Arc<dyn Runtime> = Arc::new(w.runtime.clone());
    let mut sampler = metrics::Sampler::new(runtime.clone());
    let now = || SystemClock.now().millis;

    assert!(w.runtime.set_usage(&id, 2_000_000_000, 64 << 20));
    let first = runtime.container_usage(&id).await.unwrap().unwrap();
    let tasks = wharf_ecs::tasks::unstopped(&w.store).unwrap();
    assert!(
        sampler.sample(tasks, now()).await.is_empty(),
        "the first sample only primes"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(w.runtime.set_usage(&id, 2_500_000_000, 128 << 20));
    let second = runtime.container_usage(&id).await.unwrap().unwrap();
    let tasks = wharf_ecs::tasks::unstopped(&w.store).unwrap();
    let samples = sampler.sample(tasks, now()).await;
    assert_eq!(samples.len(), 1);
    let (who, u) = &samples[0];
    assert_eq!(who.cluster, "default");
    assert_eq!(who.service.as_deref(), Some("api"));
    assert_eq!(
        (who.account.as_str(), who.region.as_str()),
        ("123456789012", "us-east-1")
    );
    // 0.5 s of CPU over the time between the engine's two readings, on 256 units.
    let elapsed_ns = (second.read_at.unwrap().millis - first.read_at.unwrap().millis) as f64 * 1e6;
    let expected_cpu = 500_000_000.0 / elapsed_ns * 1024.0 / 256.0 * 100.0;
    assert!(
        (u.cpu.unwrap() - expected_cpu).abs() < 1e-6,
        "{u:?} vs {expected_cpu}"
    );
    // 128 MiB of the task's 512 (the fake reports 16 MiB of page cache besides, left out).
    assert_eq!(u.memory, Some(25.0));
    let _ = w.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_publishes_service_and_cluster_utilization_every_interval() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("t.db")).unwrap());
    let runtime = FakeRuntime::new(Arc::new(SystemClock));
    let logs = Arc::new(Logs::default());
    let enis = Arc::new(Enis::default());
    let sink = Arc::new(RecordedMetrics::default());
    let (agent, stop, running) = start_agent_with(&store, &runtime, &logs, &enis, |a| {
        // A 60 ms metric period.
        a.publish_metrics(sink.clone(), MetricTime::scaled(0.001));
    });
    let ecs = Ecs::new(store.clone(), Arc::new(RandomIds))
        .with_network(enis.clone())
        .with_task_notifier(agent.notifier());
    register(&ecs, serde_json::json!([app(serde_json::json!({}))]));
    let input = |group: Option<&str>| -> RunTaskRequest {
        let mut v = serde_json::json!({
            "taskDefinition": "web", "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a"]}}
        });
        if let Some(g) = group {
            v["group"] = g.into();
        }
        serde_json::from_value(v).unwrap()
    };
    ecs.run_task(&ctx(), input(Some("service:api"))).unwrap();
    ecs.run_task(&ctx(), input(None)).unwrap();
    let containers = runtime
        .wait_for(|r| {
            let running: Vec<String> = r
                .containers()
                .into_iter()
                .filter(|c| matches!(c.role, wharf_runtime::fake::FakeRole::Container { .. }))
                .filter(|c| c.status.running)
                .map(|c| c.id)
                .collect();
            (running.len() == 2).then_some(running)
        })
        .await;
    // Both tasks use 256 MiB of 512, and CPU at a growing count.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut cpu_ns = 0;
    let found = loop {
        cpu_ns += 10_000_000;
        for id in &containers {
            runtime.set_usage(id, cpu_ns, 256 << 20);
        }
        let published = sink.0.lock().unwrap().clone();
        let with = |dims: usize| {
            published.iter().flat_map(|(_, _, d)| d.clone()).find(|d| {
                d.metric_name == "MemoryUtilization"
                    && d.dimensions.len() == dims
                    && d.values.sample_count == if dims == 1 { 2.0 } else { 1.0 }
            })
        };
        if let (Some(service), Some(cluster)) = (with(2), with(1)) {
            break (published, service, cluster);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "published: {published:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (published, service, cluster) = found;
    assert!(published
        .iter()
        .all(|(a, r, _)| a == "123456789012" && r == "us-east-1"));
    assert_eq!(
        service.dimensions,
        vec![
            ("ClusterName".to_string(), "default".to_string()),
            ("ServiceName".to_string(), "api".to_string())
        ]
    );
    assert_eq!(service.values.sum, 50.0);
    assert_eq!(
        cluster.values.sum, 100.0,
        "every running task of the cluster"
    );
    assert!(published
        .iter()
        .flat_map(|(_, _, d)| d)
        .any(|d| d.metric_name == "CPUUtilization"
            && d.namespace == "AWS/ECS"
            && d.unit == "Percent"));
    let _ = stop.send(true);
    running.await.unwrap();
}

/// The address the fake EC2 says the task's interface has.
const FILTERED_ADDRESS: std::net::Ipv4Addr = std::net::Ipv4Addr::new(172, 31, 16, 4);

fn filter_admitting(port: u16) -> wharf_core::packet_filter::InterfaceFilter {
    use wharf_core::packet_filter::{FilterRule, InterfaceAddress, InterfaceFilter, Traffic};
    InterfaceFilter {
        ingress: vec![FilterRule {
            traffic: Traffic::Tcp {
                from: port,
                to: port,
            },
            peers: vec![wharf_core::ipv4::Ipv4Net::parse("10.0.0.0/16").unwrap()],
        }],
        egress: Vec::new(),
        addresses: vec![InterfaceAddress {
            namespace: None,
            address: FILTERED_ADDRESS,
        }],
    }
}

/// The ingress rules the kernel applies to the task's address.
fn applied_ingress(w: &World) -> Option<Vec<wharf_core::packet_filter::FilterRule>> {
    w.runtime
        .filter_of_address(FILTERED_ADDRESS)
        .map(|m| m.ingress)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_starts_behind_its_filter_and_follows_each_change() {
    let w = world();
    *w.enis.filter.lock().unwrap() = filter_admitting(8080);
    register(&w.ecs, serde_json::json!([app(serde_json::json!({}))]));
    let arn = run(&w.ecs);
    wait_status(&w, &arn, "RUNNING").await;
    assert_eq!(applied_ingress(&w), Some(filter_admitting(8080).ingress));
    // The filter was in place before the app container was made.
    let calls = w.runtime.calls();
    let position = |wanted: fn(&wharf_runtime::fake::Call) -> bool| calls.iter().position(wanted);
    let filtered = position(|c| matches!(c, wharf_runtime::fake::Call::ApplyNetworkFilter(_)));
    let created = position(|c| matches!(c, wharf_runtime::fake::Call::CreateContainer(_)));
    assert!(filtered.unwrap() < created.unwrap(), "{calls:?}");
    // A change EC2 reports reaches the sandbox.
    *w.enis.filter.lock().unwrap() = filter_admitting(9090);
    (w._agent.filter_changes())();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while applied_ingress(&w) != Some(filter_admitting(9090).ingress) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new filter never arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The task gone, its address leaves the filter.
    w.ecs
        .stop_task(
            &ctx(),
            wharf_ecs::generated::StopTaskRequest {
                task: arn.clone(),
                ..Default::default()
            },
        )
        .unwrap();
    wait_status(&w, &arn, "STOPPED").await;
    (w._agent.filter_changes())();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while applied_ingress(&w).is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stopped task's filter stayed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = w.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_the_machine_cannot_filter_tasks_still_run_unfiltered() {
    let mut w = world();
    w.stop_agent().await;
    w.runtime
        .set_cannot_filter(Some("wharf is not running as root"));
    let (agent, stop, running) = start_agent(&w.store, &w.runtime, &w.logs, &w.enis);
    let w = World {
        ecs: Ecs::new(w.store.clone(), Arc::new(RandomIds))
            .with_network(w.enis.clone())
            .with_task_notifier(agent.notifier()),
        _agent: agent,
        stop,
        running,
        ..w
    };
    // (The first agent wrote the machine's table once at its start.)
    let applies = || {
        w.runtime
            .calls()
            .iter()
            .filter(|c| matches!(c, wharf_runtime::fake::Call::ApplyNetworkFilter(_)))
            .count()
    };
    let before = applies();
    *w.enis.filter.lock().unwrap() = filter_admitting(8080);
    register(&w.ecs, serde_json::json!([app(serde_json::json!({}))]));
    let arn = run(&w.ecs);
    wait_status(&w, &arn, "RUNNING").await;
    (w._agent.filter_changes())();
    assert_eq!(applied_ingress(&w), None);
    assert_eq!(applies(), before, "no filter applied by this agent");
    let _ = w.stop.send(true);
}
