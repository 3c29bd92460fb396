//! The ECS service controller at 1,000 services, on the in-memory runtime, for
//! `scripts/bench-services.sh` (docs/benchmarks.md, "Services"). Everything but the containers
//! is wharf's own: services are created and updated through `EcsApi`, the controller is
//! `ServiceController` driven by a copy of `wharf server`'s loop (a pass when the API or the agent
//! changes something, else every 250 ms while a service converges, 1 s when all are steady),
//! and the task agent runs every task on `FakeRuntime` to RUNNING and STOPPED, writing each
//! step to the same SQLite store (`synchronous=FULL`). Target groups are an in-memory
//! registry in which a registered task is healthy at once and a deregistered one is gone at
//! once (no health-check interval, no deregistration delay: the Docker benchmark measures
//! those).
//!
//! Measured:
//! - *create*: N services (desired 1-3 tasks, awsvpc, one target group each) created through
//!   the API; time until a pass finds all of them steady (deployment COMPLETED, desired count
//!   healthy);
//! - *steady*: back-to-back passes when nothing changes (passes/s, services reconciled/s),
//!   before and after the rollout (stopped tasks stay visible to the scheduler for an hour);
//! - *roll*: UpdateService to revision 2 for every service; time until all are steady on
//!   revision 2, and until the last revision-1 task is STOPPED;
//! - DescribeServices of 10 services after each phase, and the process's CPU use while only
//!   the agent's polling runs.
//!
//! The runtime is the fake with one change (`Engine`): its `list_managed` answers with nothing,
//! since the fake's list clones every container and the agent lists on each task start and
//! stop.
//!
//! Peer: the store floor. There is no other ECS scheduler to run beside wharf, so each phase is
//! replayed on a second store with the least SQLite work a controller over this store must do:
//! per pass, one read transaction of every service, controller state and task record (parsed
//! as JSON, not decoded into types); per committed step, one write transaction reading the
//! service and writing the same number of task, service and state records, of the sizes the
//! controller wrote. The ratio is controller time (the passes) / floor time.
//!
//! ```sh
//! cargo run --release -p wharf-agent --example service_controller_bench -- \
//!     [--services 1000] [--steady-passes 20] [--no-load-balancer] [--agent-poll-ms 250] \
//!     [--trace] [--json]
//! ```

use futures::stream::BoxStream;
use serde::de::IgnoredAny;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};
use wharf_agent::{Agent, AgentConfig};
use wharf_core::ids::RandomIds;
use wharf_core::{
    Clock, ImageResolver, LogDestination, LogLine, LogSink, LogSinkError, NetworkInterfaces,
    NewNetworkInterface, NoSecretValues, PlacementSubnet, RegisteredTarget, RequestContext,
    ResolvedImage, SystemClock, TargetGroupInfo, TargetRegistry, TargetState, Timestamp,
};
use wharf_ecs::generated::*;
use wharf_ecs::records::TaskRecord;
use wharf_ecs::records::{ServiceRecord, CONTROLLER_STATE, SERVICES, TASKS};
use wharf_ecs::service_controller::{PassReport, ServiceController};
use wharf_ecs::task_lifecycle::TaskStatus;
use wharf_ecs::Ecs;
use wharf_runtime::fake::FakeRuntime;
use wharf_runtime::{
    ContainerSpec, ContainerStatus, ManagedContainer, NetworkSpec, RegistryAuth, Runtime,
    RuntimeError, Sandbox, SandboxSpec,
};
use wharf_store::{Store, StoreError, Table};

/// `table` read and written as raw JSON (the floor replays records without decoding them).
const fn json<T>(table: Table<T>) -> Table<serde_json::Value> {
    Table::new(table.name(), table.version())
}

/// `table` read without decoding its records (the floor's least work).
const fn skip<T>(table: Table<T>) -> Table<IgnoredAny> {
    Table::new(table.name(), table.version())
}

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const CLUSTER: &str = "bench";
const IMAGE: &str = "bench/app:1";
/// Tasks are spread over this many VPCs (10.v.0.0/16, two /20 subnets in two zones each):
/// the fake runtime looks for a free address linearly, so one network per few hundred tasks
/// keeps its own cost out of the figures.
const VPCS: usize = 8;
/// What `wharf server`'s service loop waits between passes
/// (crates/wharf/src/service_controller.rs).
const BUSY_INTERVAL: Duration = Duration::from_millis(250);
const IDLE_INTERVAL: Duration = Duration::from_secs(1);
/// Longest a phase may take before the benchmark gives up.
const PHASE_DEADLINE: Duration = Duration::from_secs(150);
/// How often the benchmark looks at the passes' reports while waiting.
const WATCH_INTERVAL: Duration = Duration::from_millis(20);

struct Args {
    services: usize,
    steady_passes: usize,
    load_balancer: bool,
    json: bool,
    /// The agent's container poll interval (wharf server: 250 ms).
    agent_poll: Duration,
    /// Print every pass to stderr.
    trace: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        services: 1000,
        steady_passes: 20,
        load_balancer: true,
        json: false,
        agent_poll: AgentConfig::default().poll_interval,
        trace: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--services" => args.services = number("--services")?,
            "--steady-passes" => args.steady_passes = number("--steady-passes")?,
            "--no-load-balancer" => args.load_balancer = false,
            "--json" => args.json = true,
            "--trace" => args.trace = true,
            "--agent-poll-ms" => {
                args.agent_poll = Duration::from_millis(number("--agent-poll-ms")? as u64)
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !(1..=2000).contains(&args.services) || !(1..=1000).contains(&args.steady_passes) {
        return Err("--services 1-2000, --steady-passes 1-1000".into());
    }
    Ok(args)
}

// ---- the world around the controller --------------------------------------------------------

/// EC2 as the agent and ECS see it: VPCS VPCs of two subnets each; every interface is accepted.
#[derive(Default)]
struct Network {
    next_eni: AtomicU64,
}

fn subnet_id(vpc: usize, zone: char) -> String {
    format!("subnet-bench{vpc}{zone}")
}

impl NetworkInterfaces for Network {
    fn subnet(&self, _: &str, _: &str, id: &str) -> Result<Option<PlacementSubnet>, String> {
        let Some(rest) = id.strip_prefix("subnet-bench") else {
            return Ok(None);
        };
        let (vpc, zone) = rest.split_at(rest.len().saturating_sub(1));
        let Ok(vpc) = vpc.parse::<usize>() else {
            return Ok(None);
        };
        let third = match zone {
            "a" => 0,
            "b" => 16,
            _ => return Ok(None),
        };
        Ok(Some(PlacementSubnet {
            id: id.into(),
            vpc_id: format!("vpc-bench{vpc}"),
            availability_zone: format!("{REGION}{zone}"),
            cidr_block: format!("10.{vpc}.{third}.0/20"),
        }))
    }
    fn security_group_exists(&self, _: &str, _: &str, _: &str) -> Result<bool, String> {
        Ok(true)
    }
    fn create_interface(&self, _: NewNetworkInterface) -> Result<String, String> {
        Ok(format!(
            "eni-{:017x}",
            self.next_eni.fetch_add(1, Ordering::Relaxed)
        ))
    }
    fn delete_interface(&self, _: &str, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
}

/// Target groups kept in memory: registered targets are healthy at once, deregistered ones are
/// gone at once.
#[derive(Default)]
struct Targets {
    groups: Mutex<HashMap<String, Vec<RegisteredTarget>>>,
}

impl Targets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<RegisteredTarget>>> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TargetRegistry for Targets {
    fn target_group(&self, _: &str, _: &str, arn: &str) -> Result<Option<TargetGroupInfo>, String> {
        Ok(arn
            .contains(":targetgroup/bench-")
            .then(|| TargetGroupInfo {
                target_type: "ip".into(),
                has_load_balancer: true,
            }))
    }
    fn register(&self, _: &str, _: &str, arn: &str, ip: &str, port: u16) -> Result<(), String> {
        let mut groups = self.lock();
        let targets = groups.entry(arn.to_string()).or_default();
        if !targets.iter().any(|t| t.id == ip && t.port == port) {
            targets.push(RegisteredTarget {
                id: ip.into(),
                port,
                state: TargetState::Healthy,
            });
        }
        Ok(())
    }
    fn deregister(&self, _: &str, _: &str, arn: &str, ip: &str, port: u16) -> Result<(), String> {
        if let Some(targets) = self.lock().get_mut(arn) {
            targets.retain(|t| !(t.id == ip && t.port == port));
        }
        Ok(())
    }
    fn targets(&self, _: &str, _: &str, arn: &str) -> Result<Vec<RegisteredTarget>, String> {
        Ok(self.lock().get(arn).cloned().unwrap_or_default())
    }
}

/// The fake runtime, except that `list_managed` answers with nothing. The fake's list clones
/// every container (labels and all) and the agent lists on every task start and stop, which at
/// thousands of tasks made the fake, not wharf, the bottleneck of the roll. Without the list
/// the agent removes exactly the containers its records name (all there are here: nothing
/// crashes), and finds no orphans at start.
struct Engine(FakeRuntime);

#[async_trait::async_trait]
impl Runtime for Engine {
    fn describe(&self) -> String {
        self.0.describe()
    }
    async fn ensure_network(&self, net: &NetworkSpec) -> Result<(), RuntimeError> {
        self.0.ensure_network(net).await
    }
    async fn create_sandbox(&self, spec: &SandboxSpec) -> Result<Sandbox, RuntimeError> {
        self.0.create_sandbox(spec).await
    }
    async fn image_present(&self, reference: &str) -> Result<bool, RuntimeError> {
        self.0.image_present(reference).await
    }
    async fn pull_image(
        &self,
        reference: &str,
        auth: Option<&RegistryAuth>,
    ) -> Result<(), RuntimeError> {
        self.0.pull_image(reference, auth).await
    }
    async fn create_container(
        &self,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<String, RuntimeError> {
        self.0.create_container(sandbox, spec).await
    }
    async fn start_container(&self, id: &str) -> Result<(), RuntimeError> {
        self.0.start_container(id).await
    }
    async fn inspect_container(&self, id: &str) -> Result<Option<ContainerStatus>, RuntimeError> {
        self.0.inspect_container(id).await
    }
    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), RuntimeError> {
        self.0.stop_container(id, timeout).await
    }
    async fn remove_container(&self, id: &str) -> Result<(), RuntimeError> {
        self.0.remove_container(id).await
    }
    fn follow_logs(
        &self,
        id: &str,
        since: Option<Timestamp>,
    ) -> BoxStream<'static, Result<LogLine, RuntimeError>> {
        self.0.follow_logs(id, since)
    }
    async fn list_managed(&self) -> Result<Vec<ManagedContainer>, RuntimeError> {
        Ok(Vec::new())
    }
}

/// The image is in the fake engine's store already; nothing is pulled from a registry.
struct LocalImages;
impl ImageResolver for LocalImages {
    fn resolve(&self, _: &str) -> Option<ResolvedImage> {
        None
    }
}

/// No task uses awslogs.
struct NoLogs;
impl LogSink for NoLogs {
    fn prepare(&self, _: &LogDestination, _: bool) -> Result<(), LogSinkError> {
        Ok(())
    }
    fn append(&self, _: &LogDestination, _: &[LogLine]) -> Result<(), LogSinkError> {
        Ok(())
    }
    fn last_timestamp(&self, _: &LogDestination) -> Result<Option<Timestamp>, LogSinkError> {
        Ok(None)
    }
}

fn ctx() -> RequestContext {
    RequestContext::for_tests(REGION, ACCOUNT, SystemClock.now())
}

fn request<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("a well-formed request")
}

fn target_group_arn(i: usize) -> String {
    format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/bench-{i}/{i:016x}")
}

// ---- the controller loop, instrumented -----------------------------------------------------

/// One pass as the loop ran it.
#[derive(Clone)]
struct PassSample {
    started: Instant,
    took: Duration,
    report: PassReport,
}

struct Controller {
    inner: Arc<ServiceController>,
    wake: Arc<Notify>,
    clock: Arc<dyn Clock>,
    samples: Arc<Mutex<Vec<PassSample>>>,
    /// Print every pass (with its start relative to `origin`).
    trace: bool,
    origin: Instant,
}

impl Controller {
    /// `crates/wharf/src/service_controller.rs`'s loop, recording every pass, until `stop`.
    async fn run(&self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let inner = self.inner.clone();
            let started = Instant::now();
            let outcome = tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                let r = inner.pass();
                (t.elapsed(), r)
            })
            .await;
            let delay = match outcome {
                Ok((took, Ok(report))) => {
                    let tick = if report.unsettled > 0 {
                        BUSY_INTERVAL
                    } else {
                        IDLE_INTERVAL
                    };
                    let until_wake = report.wake_at.map(|w| {
                        Duration::from_millis(
                            u64::try_from(w - self.clock.now().millis).unwrap_or(0),
                        )
                    });
                    if self.trace {
                        eprintln!(
                            "bench: pass at {:.3}s took {:.1} ms: {report:?}",
                            (started - self.origin).as_secs_f64(),
                            ms(took)
                        );
                    }
                    self.samples.lock().expect("samples").push(PassSample {
                        started,
                        took,
                        report,
                    });
                    until_wake.map_or(tick, |u| u.min(tick))
                }
                Ok((_, Err(e))) => {
                    eprintln!("bench: a pass failed: {e}");
                    IDLE_INTERVAL
                }
                Err(e) => {
                    eprintln!("bench: a pass panicked: {e}");
                    IDLE_INTERVAL
                }
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => {}
            }
        }
    }

    fn samples_since(&self, from: Instant) -> Vec<PassSample> {
        self.samples
            .lock()
            .expect("samples")
            .iter()
            .filter(|s| s.started >= from)
            .cloned()
            .collect()
    }
}

/// Waits until a pass that started at or after `after` saw all `n` services steady; returns
/// the passes from `from` up to and including it.
async fn wait_steady(
    c: &Controller,
    from: Instant,
    after: Instant,
    n: usize,
) -> Result<Vec<PassSample>, String> {
    let deadline = Instant::now() + PHASE_DEADLINE;
    loop {
        let samples = c.samples_since(from);
        if let Some(i) = samples
            .iter()
            .position(|s| s.started >= after && s.report.services == n && s.report.unsettled == 0)
        {
            return Ok(samples[..=i].to_vec());
        }
        if Instant::now() > deadline {
            let last = samples.last().map(|s| s.report.clone());
            return Err(format!(
                "services not steady within {PHASE_DEADLINE:?}; last pass: {last:?}"
            ));
        }
        tokio::time::sleep(WATCH_INTERVAL).await;
    }
}

// ---- checks --------------------------------------------------------------------------------

/// Every service, as stored: steady on `revision` (one COMPLETED deployment, the controller's
/// running count equal to the desired count).
fn check_services(store: &Store, n: usize, revision: u32) -> Result<(), String> {
    let services: Vec<(String, ServiceRecord)> = store
        .read(|tx| tx.list(SERVICES, ""))
        .map_err(|e: StoreError| e.to_string())?;
    if services.len() != n {
        return Err(format!("{} services stored, {n} expected", services.len()));
    }
    for (_, s) in services {
        let deployments = s.deployments.clone().unwrap_or_default();
        let ok = s.running_count == s.desired_count
            && deployments.len() == 1
            && deployments[0].rollout_state.as_deref() == Some("COMPLETED")
            && s.task_definition
                .as_deref()
                .is_some_and(|t| t.ends_with(&format!(":{revision}")));
        if !ok {
            let events: Vec<_> = s
                .events
                .iter()
                .flatten()
                .take(5)
                .filter_map(|e| e.message.clone())
                .collect();
            return Err(format!(
                "service {:?} is not steady on revision {revision}: running {:?} of {:?}, {} deployments, latest events {events:?}",
                s.service_name, s.running_count, s.desired_count, deployments.len()
            ));
        }
    }
    Ok(())
}

/// The median time of one DescribeServices of 10 services (AWS's most per call), over a few
/// calls: it counts running and pending tasks live from the task records.
fn time_describe(ecs: &Ecs, n: usize) -> Result<Duration, String> {
    let mut took = Vec::new();
    for call in 0..5 {
        let names: Vec<String> = (0..10).map(|k| service_name((call * 10 + k) % n)).collect();
        let t = Instant::now();
        let out = ecs
            .describe_services(
                &ctx(),
                request(serde_json::json!({"cluster": CLUSTER, "services": names})),
            )
            .map_err(|e| format!("describe-services: {e:?}"))?;
        took.push(t.elapsed());
        if out.services.unwrap_or_default().len() != names.len().min(n) {
            return Err("describe-services did not find every service".into());
        }
    }
    Ok(median(took))
}

/// Live (not STOPPED) tasks by task definition revision.
fn live_tasks_by_revision(store: &Store) -> Result<HashMap<String, usize>, StoreError> {
    let tasks: Vec<(String, TaskRecord)> = store.read(|tx| tx.list(TASKS, ""))?;
    let mut out = HashMap::new();
    for (_, t) in tasks {
        if TaskStatus::of(&t.task) != TaskStatus::Stopped {
            let td = t.task.task_definition_arn.unwrap_or_default();
            let rev = td.rsplit(':').next().unwrap_or_default().to_string();
            *out.entry(rev).or_insert(0) += 1;
        }
    }
    Ok(out)
}

// ---- the floor -----------------------------------------------------------------------------

/// A second store on which phases are replayed with the least work (see the module docs).
struct Floor {
    store: Store,
    services: Vec<(String, serde_json::Value)>,
    states: Vec<serde_json::Value>,
    tasks: Vec<serde_json::Value>,
    /// Service records written so far (by the "API", outside the timed part).
    services_written: usize,
    /// Task records written so far (by replayed commits).
    tasks_written: usize,
    next_commit: usize,
}

impl Floor {
    fn new(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            store: Store::open(path)?,
            services: Vec::new(),
            states: Vec::new(),
            tasks: Vec::new(),
            services_written: 0,
            tasks_written: 0,
            next_commit: 0,
        })
    }

    /// Takes the record contents (and so their sizes) from the controller's store as they are
    /// now.
    fn sample_records(&mut self, real: &Store) -> Result<(), StoreError> {
        let (services, states, tasks) = real.read(|tx| {
            Ok::<_, StoreError>((
                tx.list(json(SERVICES), "")?,
                tx.list(json(CONTROLLER_STATE), "")?,
                tx.list(json(TASKS), "")?,
            ))
        })?;
        self.services = services;
        self.states = states.into_iter().map(|(_, v)| v).collect();
        self.tasks = tasks.into_iter().map(|(_, v)| v).collect();
        Ok(())
    }

    fn task_key(&self, n: usize) -> String {
        format!("{ACCOUNT}/{REGION}/{CLUSTER}/floor-{n:08}")
    }

    /// Replays `passes`; returns the time the floor took.
    fn replay(&mut self, passes: &[PassSample]) -> Result<Duration, StoreError> {
        let mut total = Duration::ZERO;
        for p in passes {
            // Services come from the API: written before the pass, outside the timing.
            let wanted = p.report.services.min(self.services.len());
            if wanted > self.services_written {
                self.store.write(|tx| {
                    for (k, v) in &self.services[self.services_written..wanted] {
                        tx.put(json(SERVICES), k, v)?;
                    }
                    Ok::<_, StoreError>(())
                })?;
                self.services_written = wanted;
            }
            let t = Instant::now();
            self.store.read(|tx| {
                tx.list(skip(SERVICES), "")?;
                tx.list(skip(CONTROLLER_STATE), "")?;
                tx.list(skip(TASKS), "")?;
                Ok::<_, StoreError>(())
            })?;
            let commits = p.report.committed;
            for c in 0..commits {
                // This commit's share of the pass's launches and stops.
                let share = |total: usize| total * (c + 1) / commits - total * c / commits;
                let (launch, stop) = (share(p.report.launched), share(p.report.stopped));
                let i = self.next_commit % self.services_written.max(1);
                self.next_commit += 1;
                let (service_key, service) = &self.services[i];
                let state = &self.states[i % self.states.len().max(1)];
                let first_new = self.tasks_written;
                self.store.write(|tx| {
                    tx.get(skip(SERVICES), service_key)?;
                    for n in first_new..first_new + launch {
                        tx.put(
                            json(TASKS),
                            &self.task_key(n),
                            &self.tasks[n % self.tasks.len()],
                        )?;
                    }
                    for s in 0..stop {
                        let n = (first_new + s * 7919) % first_new.max(1);
                        let key = self.task_key(n);
                        tx.get(skip(TASKS), &key)?;
                        tx.put(json(TASKS), &key, &self.tasks[n % self.tasks.len()])?;
                    }
                    tx.put(json(SERVICES), service_key, service)?;
                    tx.put(json(CONTROLLER_STATE), service_key, state)?;
                    Ok::<_, StoreError>(())
                })?;
                self.tasks_written += launch;
            }
            total += t.elapsed();
        }
        Ok(total)
    }
}

// ---- phases --------------------------------------------------------------------------------

fn service_name(i: usize) -> String {
    format!("svc-{i:04}")
}

fn register_definition(ecs: &Ecs, version: u32) -> Result<(), String> {
    ecs.register_task_definition(
        &ctx(),
        request(serde_json::json!({
            "family": "bench", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{
                "name": "app", "image": IMAGE, "essential": true,
                "portMappings": [{"containerPort": 8080}],
                "environment": [{"name": "VERSION", "value": version.to_string()}],
            }],
        })),
    )
    .map(|_| ())
    .map_err(|e| format!("register-task-definition: {e:?}"))
}

fn create_services(ecs: &Ecs, n: usize, load_balancer: bool) -> Result<(), String> {
    for i in 0..n {
        let vpc = i % VPCS;
        let mut input = serde_json::json!({
            "cluster": CLUSTER, "serviceName": service_name(i), "taskDefinition": "bench:1",
            "desiredCount": 1 + i % 3, "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": [subnet_id(vpc, 'a'), subnet_id(vpc, 'b')]}},
        });
        if load_balancer {
            input["loadBalancers"] = serde_json::json!([{
                "targetGroupArn": target_group_arn(i), "containerName": "app", "containerPort": 8080}]);
        }
        ecs.create_service(&ctx(), request(input))
            .map_err(|e| format!("create-service {}: {e:?}", service_name(i)))?;
    }
    Ok(())
}

fn update_services(ecs: &Ecs, n: usize) -> Result<(), String> {
    for i in 0..n {
        ecs.update_service(
            &ctx(),
            request(serde_json::json!({
                "cluster": CLUSTER, "service": service_name(i), "taskDefinition": "bench:2"})),
        )
        .map_err(|e| format!("update-service {}: {e:?}", service_name(i)))?;
    }
    Ok(())
}

/// What a convergence phase cost.
#[derive(serde::Serialize)]
struct Phase {
    /// From the first API call until a pass found every service steady.
    wall_s: f64,
    /// The API calls alone (CreateService / UpdateService, one after the other).
    api_s: f64,
    /// From the first API call until the last replaced task was STOPPED (roll only).
    all_stopped_s: Option<f64>,
    passes: usize,
    /// Time spent inside passes.
    controller_s: f64,
    /// The floor's time for the same transactions.
    floor_s: f64,
    committed_steps: usize,
    launched: usize,
    stopped: usize,
    /// Services reconciled per second of controller time (services × passes / controller_s).
    services_per_s: f64,
    /// One DescribeServices of 10 services at the end of the phase (median).
    describe_10_ms: f64,
}

impl Phase {
    fn new(wall: Duration, api: Duration, samples: &[PassSample], floor: Duration) -> Self {
        let controller: Duration = samples.iter().map(|s| s.took).sum();
        let reconciled: usize = samples.iter().map(|s| s.report.services).sum();
        Phase {
            wall_s: wall.as_secs_f64(),
            api_s: api.as_secs_f64(),
            all_stopped_s: None,
            passes: samples.len(),
            controller_s: controller.as_secs_f64(),
            floor_s: floor.as_secs_f64(),
            committed_steps: samples.iter().map(|s| s.report.committed).sum(),
            launched: samples.iter().map(|s| s.report.launched).sum(),
            stopped: samples.iter().map(|s| s.report.stopped).sum(),
            services_per_s: reconciled as f64 / controller.as_secs_f64().max(1e-9),
            describe_10_ms: 0.0,
        }
    }
}

/// Back-to-back passes when nothing changes, each followed by the floor's read and by the
/// controller's own snapshot read (typed records, as the pass does it).
#[derive(serde::Serialize)]
struct Steady {
    passes: usize,
    task_records: usize,
    pass_ms_median: f64,
    passes_per_s: f64,
    services_per_s: f64,
    /// The pass's first read alone: every record decoded into its type.
    typed_read_ms_median: f64,
    floor_ms_median: f64,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn steady_passes(
    controller: &ServiceController,
    store: &Store,
    floor_store: &Store,
    n: usize,
    count: usize,
) -> Result<Steady, String> {
    let (mut passes, mut typed, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    let task_records = store
        .read(|tx| tx.list(skip(TASKS), ""))
        .map_err(|e| e.to_string())?
        .len();
    for _ in 0..count {
        let t = Instant::now();
        let r = controller.pass().map_err(|e| e.to_string())?;
        passes.push(t.elapsed());
        if r.committed != 0 || r.services != n {
            return Err(format!("a steady pass changed something: {r:?}"));
        }
        let t = Instant::now();
        store
            .read(|tx| {
                tx.list(SERVICES, "")?;
                tx.list(CONTROLLER_STATE, "")?;
                tx.list(TASKS, "")?;
                Ok::<_, StoreError>(())
            })
            .map_err(|e| e.to_string())?;
        typed.push(t.elapsed());
        let t = Instant::now();
        floor_store
            .read(|tx| {
                tx.list(skip(SERVICES), "")?;
                tx.list(skip(CONTROLLER_STATE), "")?;
                tx.list(skip(TASKS), "")?;
                Ok::<_, StoreError>(())
            })
            .map_err(|e| e.to_string())?;
        floor.push(t.elapsed());
    }
    let pass = median(passes);
    Ok(Steady {
        passes: count,
        task_records,
        pass_ms_median: ms(pass),
        passes_per_s: 1.0 / pass.as_secs_f64(),
        services_per_s: n as f64 / pass.as_secs_f64(),
        typed_read_ms_median: ms(median(typed)),
        floor_ms_median: ms(median(floor)),
    })
}

/// This process's CPU time so far (user + system), from /proc/self/stat.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

/// The process's CPU use while nothing but the agent runs (every task RUNNING, its supervisor
/// inspecting its containers every poll interval), as a share of one core.
async fn idle_cpu(over: Duration) -> Option<f64> {
    let (c0, t0) = (cpu_time()?, Instant::now());
    tokio::time::sleep(over).await;
    let (c1, t1) = (cpu_time()?, Instant::now());
    Some((c1 - c0).as_secs_f64() / (t1 - t0).as_secs_f64())
}

#[derive(serde::Serialize)]
struct Report {
    services: usize,
    tasks_desired: usize,
    load_balancer: bool,
    cores: usize,
    create: Phase,
    /// CPU (share of one core) with every task running and no pass: the agent's polling.
    agent_idle_cpu: Option<f64>,
    steady: Steady,
    roll: Phase,
    steady_after_roll: Steady,
}

/// Copies the floor store's contents to match the controller's store as it is now (record
/// counts and sizes), for the steady-state floor reads.
fn mirror(real: &Store, floor: &Store) -> Result<(), StoreError> {
    let tables = [json(SERVICES), json(CONTROLLER_STATE), json(TASKS)];
    let records = real.read(|tx| {
        let mut out = Vec::new();
        for table in tables {
            out.push(tx.list(table, "")?);
        }
        Ok::<_, StoreError>(out)
    })?;
    floor.write(|tx| {
        for table in tables {
            for (k, _) in tx.list(skip(table), "")? {
                tx.delete(table, &k)?;
            }
        }
        for (table, rows) in tables.iter().zip(&records) {
            for (k, v) in rows {
                tx.put(*table, k, v)?;
            }
        }
        Ok(())
    })
}

/// What the benchmark runs on: wharf's ECS, its controller and the task agent on the fake
/// runtime, wired as `wharf server` wires them, over a store in the benchmark's directory.
struct Bench {
    store: Arc<Store>,
    ecs: Ecs,
    controller: Arc<Controller>,
    stop_agent: watch::Sender<bool>,
    agent_task: tokio::task::JoinHandle<()>,
}

/// Wires ECS, the controller and the agent (crates/wharf/src/server.rs does the same) and
/// starts the agent.
fn wire(args: &Args, dir: &Path) -> Result<Bench, String> {
    let store = Arc::new(Store::open(&dir.join("wharf.db")).map_err(|e| e.to_string())?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let runtime = FakeRuntime::new(clock.clone());
    runtime.add_image(IMAGE);
    let network = Arc::new(Network::default());
    let targets = Arc::new(Targets::default());
    let agent = Agent::new(
        store.clone(),
        Arc::new(Engine(runtime.clone())),
        Arc::new(LocalImages),
        Arc::new(NoLogs),
        network.clone(),
        clock.clone(),
        Arc::new(NoSecretValues),
        AgentConfig {
            instance: "bench".into(),
            poll_interval: args.agent_poll,
            ..AgentConfig::default()
        },
    );
    let wake = Arc::new(Notify::new());
    let notify = |w: &Arc<Notify>| {
        let w = w.clone();
        Arc::new(move || w.notify_one())
    };
    agent.on_task_change(notify(&wake));
    let ecs = Ecs::new(store.clone(), Arc::new(RandomIds))
        .with_network(network)
        .with_task_notifier(agent.notifier())
        .with_targets(targets.clone())
        .with_service_notifier(notify(&wake));
    let controller = Arc::new(Controller {
        inner: Arc::new(ServiceController::new(ecs.clone(), targets, clock.clone())),
        wake,
        clock,
        samples: Arc::new(Mutex::new(Vec::new())),
        trace: args.trace,
        origin: Instant::now(),
    });
    let (stop_agent, agent_stop) = watch::channel(false);
    let agent_task = tokio::spawn(agent.clone().run(agent_stop));
    Ok(Bench {
        store,
        ecs,
        controller,
        stop_agent,
        agent_task,
    })
}

/// Creates `n` services with the controller's loop running and waits until every one is
/// steady on revision 1.
async fn create_phase(b: &Bench, args: &Args, floor: &mut Floor) -> Result<Phase, String> {
    let e = |e: StoreError| e.to_string();
    let n = args.services;
    let (stop_loop, loop_stop) = watch::channel(false);
    let looping = tokio::spawn({
        let c = b.controller.clone();
        async move { c.run(loop_stop).await }
    });
    let t0 = Instant::now();
    create_services(&b.ecs, n, args.load_balancer)?;
    let api = t0.elapsed();
    let samples = wait_steady(&b.controller, t0, t0 + api, n).await?;
    let wall = samples.last().map_or(api, |s| s.started + s.took - t0);
    check_services(&b.store, n, 1)?;
    let describe = time_describe(&b.ecs, n)?;
    floor.sample_records(&b.store).map_err(e)?;
    let floor_time = floor.replay(&samples).map_err(e)?;
    let mut create = Phase::new(wall, api, &samples, floor_time);
    create.describe_10_ms = ms(describe);
    eprintln!(
        "bench: steady after {:.2}s ({} passes, {:.2}s in passes, floor {:.3}s)",
        create.wall_s, create.passes, create.controller_s, create.floor_s
    );
    let _ = stop_loop.send(true);
    looping.await.map_err(|e| e.to_string())?;
    Ok(create)
}

/// Updates every service to revision 2 with the controller's loop running and waits until the
/// roll is complete and no revision-1 task is left.
async fn roll_phase(
    b: &Bench,
    args: &Args,
    floor: &mut Floor,
    desired: usize,
) -> Result<Phase, String> {
    let e = |e: StoreError| e.to_string();
    let n = args.services;
    let (stop_loop, loop_stop) = watch::channel(false);
    let looping = tokio::spawn({
        let c = b.controller.clone();
        async move { c.run(loop_stop).await }
    });
    let t0 = Instant::now();
    update_services(&b.ecs, n)?;
    let api = t0.elapsed();
    let samples = wait_steady(&b.controller, t0, t0 + api, n).await?;
    let wall = samples.last().map_or(api, |s| s.started + s.took - t0);
    check_services(&b.store, n, 2)?;
    let deadline = Instant::now() + PHASE_DEADLINE;
    let all_stopped = loop {
        let live = live_tasks_by_revision(&b.store).map_err(e)?;
        if !live.contains_key("1") {
            if live.get("2") != Some(&desired) {
                return Err(format!("after the roll, live tasks by revision: {live:?}"));
            }
            break t0.elapsed();
        }
        if Instant::now() > deadline {
            return Err(format!("revision-1 tasks still live: {live:?}"));
        }
        tokio::time::sleep(WATCH_INTERVAL).await;
    };
    let _ = stop_loop.send(true);
    looping.await.map_err(|e| e.to_string())?;
    let describe = time_describe(&b.ecs, n)?;
    floor.sample_records(&b.store).map_err(e)?;
    let floor_time = floor.replay(&samples).map_err(e)?;
    let mut roll = Phase::new(wall, api, &samples, floor_time);
    roll.all_stopped_s = Some(all_stopped.as_secs_f64());
    roll.describe_10_ms = ms(describe);
    eprintln!(
        "bench: rolled after {:.2}s, last old task stopped after {:.2}s ({} passes, {:.2}s in passes, floor {:.3}s)",
        roll.wall_s,
        all_stopped.as_secs_f64(),
        roll.passes,
        roll.controller_s,
        roll.floor_s
    );
    Ok(roll)
}

/// The whole benchmark: create, steady passes, roll, steady passes again.
async fn bench(args: &Args, dir: &Path) -> Result<Report, String> {
    let e = |e: StoreError| e.to_string();
    let b = wire(args, dir)?;
    b.ecs
        .create_cluster(&ctx(), request(serde_json::json!({"clusterName": CLUSTER})))
        .map_err(|e| format!("create-cluster: {e:?}"))?;
    register_definition(&b.ecs, 1)?;
    register_definition(&b.ecs, 2)?;
    let n = args.services;
    let desired: usize = (0..n).map(|i| 1 + i % 3).sum();
    let mut floor = Floor::new(&dir.join("floor.db")).map_err(e)?;

    eprintln!("bench: creating {n} services ({desired} tasks) ...");
    let create = create_phase(&b, args, &mut floor).await?;

    // Steady: the loop is stopped; passes back to back.
    let agent_idle_cpu = idle_cpu(Duration::from_secs(3)).await;
    eprintln!("bench: idle CPU with {desired} tasks running: {agent_idle_cpu:?} of a core");
    mirror(&b.store, &floor.store).map_err(e)?;
    let steady = steady_passes(
        &b.controller.inner,
        &b.store,
        &floor.store,
        n,
        args.steady_passes,
    )?;
    eprintln!(
        "bench: steady pass {:.1} ms ({:.0} services/s), typed read {:.1} ms, floor {:.1} ms",
        steady.pass_ms_median,
        steady.services_per_s,
        steady.typed_read_ms_median,
        steady.floor_ms_median
    );

    eprintln!("bench: updating {n} services to revision 2 ...");
    let roll = roll_phase(&b, args, &mut floor, desired).await?;

    mirror(&b.store, &floor.store).map_err(e)?;
    let steady_after_roll = steady_passes(
        &b.controller.inner,
        &b.store,
        &floor.store,
        n,
        args.steady_passes,
    )?;
    eprintln!(
        "bench: steady pass after the roll {:.1} ms ({} task records), floor {:.1} ms",
        steady_after_roll.pass_ms_median,
        steady_after_roll.task_records,
        steady_after_roll.floor_ms_median
    );

    let _ = b.stop_agent.send(true);
    b.agent_task.await.map_err(|e| e.to_string())?;
    Ok(Report {
        services: n,
        tasks_desired: desired,
        load_balancer: args.load_balancer,
        cores: std::thread::available_parallelism().map_or(1, |c| c.get()),
        create,
        agent_idle_cpu,
        steady,
        roll,
        steady_after_roll,
    })
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("service_controller_bench: {e}");
            std::process::exit(2);
        }
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("service_controller_bench: cannot make a temp dir: {e}");
            std::process::exit(1);
        }
    };
    match bench(&args, dir.path()).await {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string(&report).expect("the report serialises")
                );
            } else {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("the report serialises")
                );
            }
        }
        Err(e) => {
            eprintln!("service_controller_bench: {e}");
            std::process::exit(1);
        }
    }
}
