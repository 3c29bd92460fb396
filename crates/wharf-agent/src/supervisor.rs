//! One task's supervisor: takes the task from wherever its record says it is to STOPPED.
//!
//! - Before RUNNING (a new task, or one wharf was starting when it stopped): release whatever a
//!   previous attempt made, then provision the sandbox and ENI, pull, prepare log streams,
//!   create the containers and start them in `dependsOn` order. A failure stops the task with
//!   AWS's reason (`CannotPullContainerError: ...`, `ResourceInitializationError: ...`).
//! - RUNNING after a restart: adopt the containers (resume their log streams after the last
//!   stored line) or, if they vanished, stop the task saying so.
//! - RUNNING: inspect the containers every poll interval (or when ECS signals a change) and
//!   record exits, OOM kills and health; an essential container's exit stops the task.
//! - Stopping: SIGTERM, SIGKILL after each container's `stopTimeout`, wait for the last log
//!   lines, remove the containers and sandbox, delete the ENI, STOPPED.
//!
//! Every step is written to the record before the next, in one store write each.

use crate::container_spec::{
    awslogs, container_spec, stop_timeout, task_labels, AwsLogs, Injected,
};
use crate::packet_filters;
use crate::start_network::start_needs;
use crate::{log_pump, Agent};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use wharf_core::network_interfaces::private_dns_name;
use wharf_core::subnet_network::{first_unreachable, vpc_namespace};
use wharf_core::{NewNetworkInterface, SubnetNetwork, Timestamp};
use wharf_ecs::records::{
    ContainerDefinitionRecord, KeyValuePairRecord, NetworkInterfaceRecord, TaskRecord,
    TaskResources,
};
use wharf_ecs::task_lifecycle::{self, reasons, StopCode, TaskStatus};
use wharf_ecs::tasks;
use wharf_runtime::vpc_net::VpcNamespaceSpec;
use wharf_runtime::{
    labels, ContainerStatus, Health, NetworkSpec, RegistryAuth, Sandbox, SandboxSpec,
    VpcSandboxSpec,
};

/// How long a container may wait for its dependencies when its definition sets no
/// `startTimeout`.
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the last log lines of a stopped container may take to arrive.
const LOG_DRAIN_TIMEOUT: Duration = Duration::from_secs(15);
/// Reason for a running task whose containers are gone when wharf starts again.
pub const VANISHED: &str =
    "Task stopped because its containers were not found when wharf restarted";

/// A store failure or a task record that disappeared: the supervisor gives up and the next
/// reconcile starts a new one.
#[derive(Debug)]
struct Abort(String);

impl From<wharf_store::StoreError> for Abort {
    fn from(e: wharf_store::StoreError) -> Self {
        Abort(e.to_string())
    }
}

/// A reason the task could not start (becomes its `stoppedReason`).
type StartFailure = String;

/// Runs task `key` to STOPPED.
pub(crate) async fn supervise(agent: Arc<Agent>, key: String) {
    let mut run = TaskRun {
        agent: agent.clone(),
        key: key.clone(),
        pumps: HashMap::new(),
    };
    if let Err(Abort(e)) = run.drive().await {
        tracing::error!(task = %key, error = %e, "task supervisor stopped; retrying shortly");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    agent.release(&key);
}

struct TaskRun {
    agent: Arc<Agent>,
    key: String,
    pumps: HashMap<String, JoinHandle<()>>,
}

impl Drop for TaskRun {
    /// An aborted supervisor takes its log pumps with it; a finished one has drained them.
    fn drop(&mut self) {
        for (_, pump) in self.pumps.drain() {
            pump.abort();
        }
    }
}

impl TaskRun {
    fn now(&self) -> Timestamp {
        self.agent.clock.now()
    }

    fn load(&self) -> Result<TaskRecord, Abort> {
        tasks::load(&self.agent.store, &self.key)?
            .ok_or_else(|| Abort(format!("task {} is gone", self.key)))
    }

    fn update<R>(&self, f: impl FnOnce(&mut TaskRecord) -> (bool, R)) -> Result<R, Abort> {
        let mut changed = false;
        let out = tasks::update(&self.agent.store, &self.key, |t| {
            let (c, r) = f(t);
            changed = c;
            (c, r)
        })?
        .ok_or_else(|| Abort(format!("task {} is gone", self.key)))?;
        if changed {
            self.agent.task_changed();
        }
        Ok(out)
    }

    fn advance(&self, to: TaskStatus) -> Result<(), Abort> {
        let now = self.now();
        self.update(|t| (task_lifecycle::advance(&mut t.task, to, now), ()))
    }

    /// Whether the task has been asked to stop (StopTask while it was starting): the start
    /// is abandoned and the task goes to STOPPED without ever being RUNNING.
    fn stop_asked(&self) -> Result<bool, Abort> {
        Ok(task_lifecycle::stop_requested(&self.load()?.task))
    }

    fn fail(&self, code: StopCode, reason: &str) -> Result<(), Abort> {
        tracing::info!(task = %self.key, reason, "task stopping");
        self.update(|t| (task_lifecycle::request_stop(&mut t.task, code, reason), ()))
    }

    async fn drive(&mut self) -> Result<(), Abort> {
        let rec = self.load()?;
        let status = TaskStatus::of(&rec.task);
        if status < TaskStatus::Running {
            if !task_lifecycle::stop_requested(&rec.task) {
                self.release_resources(&rec).await;
                if let Err(reason) = self.start().await? {
                    self.fail(StopCode::TaskFailedToStart, &reason)?;
                }
            }
        } else if status == TaskStatus::Running {
            self.adopt(&rec).await?;
        }
        let rec = self.load()?;
        if TaskStatus::of(&rec.task) == TaskStatus::Running
            && !task_lifecycle::stop_requested(&rec.task)
        {
            self.monitor().await?;
        }
        self.stop().await
    }

    // ---- starting ----------------------------------------------------------------------

    async fn start(&mut self) -> Result<Result<(), StartFailure>, Abort> {
        let rec = self.load()?;
        let (sandbox, network) = match self.provision(&rec).await? {
            Ok(s) => s,
            Err(r) => return Ok(Err(r)),
        };
        if self.stop_asked()? {
            return Ok(Ok(()));
        }
        // The security groups' filter is in place before anything of the task runs.
        if let Err(e) = packet_filters::apply_for_task(&self.agent, &self.load()?).await {
            return Ok(Err(format!(
                "ResourceInitializationError: failed to apply the security groups of the network interface: {e}"
            )));
        }
        let now = self.now();
        self.update(|t| {
            task_lifecycle::advance(&mut t.task, TaskStatus::Pending, now);
            t.task.pull_started_at = Some(now);
            (true, ())
        })?;
        if let Some(network) = &network {
            if let Err(reason) = self.check_reach(&rec, network, &sandbox).await? {
                return Ok(Err(reason));
            }
        }
        let secrets = match self.resolve_secrets(&rec).await {
            Ok(found) => found,
            Err(reason) => return Ok(Err(reason)),
        };
        let pulled = self.pull_images(&rec).await;
        let now = self.now();
        let failed_image = pulled.as_ref().err().map(|(image, _)| image.clone());
        self.update(|t| {
            t.task.pull_stopped_at = Some(now);
            if let Some(image) = &failed_image {
                if let (Err((_, reason)), Some(cs)) = (&pulled, t.task.containers.as_mut()) {
                    for c in cs.iter_mut().filter(|c| c.image.as_ref() == Some(image)) {
                        c.reason = Some(reason.clone());
                    }
                }
            }
            (true, ())
        })?;
        let images = match pulled {
            Ok(m) => m,
            Err((_, reason)) => return Ok(Err(reason)),
        };
        if let Err(r) = self.prepare_logs(&rec).await {
            return Ok(Err(r));
        }
        if self.stop_asked()? {
            return Ok(Ok(()));
        }
        let defs = rec
            .definition
            .container_definitions
            .clone()
            .unwrap_or_default();
        let credentials_id = self.credentials_id(&rec)?;
        for def in &defs {
            let name = def.name.clone().unwrap_or_default();
            let image = def.image.clone().unwrap_or_default();
            let reference = images.get(&image).cloned().unwrap_or(image);
            let injected = Injected {
                endpoint: self.agent.config.task_endpoint.as_deref(),
                credentials_id: credentials_id.as_deref(),
                secrets: secrets.get(&name).map_or(&[], Vec::as_slice),
            };
            let spec = container_spec(
                &rec,
                def,
                &reference,
                &self.agent.config.instance,
                &injected,
            );
            let id = match self.agent.runtime.create_container(&sandbox, &spec).await {
                Ok(id) => id,
                Err(e) => return Ok(Err(format!("CannotCreateContainerError: {e}"))),
            };
            self.update(|t| {
                t.resources.containers.insert(name.clone(), id.clone());
                if let Some(c) = t.container_mut(&name) {
                    c.runtime_id = Some(id.clone());
                }
                (true, ())
            })?;
        }
        if let Err(r) = self.start_in_order(&defs).await? {
            return Ok(Err(r));
        }
        if self.stop_asked()? {
            return Ok(Ok(()));
        }
        self.advance(TaskStatus::Activating)?;
        self.advance(TaskStatus::Running)?;
        tracing::info!(task = %self.key, "task running");
        Ok(Ok(()))
    }

    /// The sandbox with the task's address, and its ENI record; with the subnet's ways out when
    /// EC2 knows them.
    async fn provision(
        &self,
        rec: &TaskRecord,
    ) -> Result<Result<(Sandbox, Option<SubnetNetwork>), StartFailure>, Abort> {
        let Some(subnet) = rec.subnet.clone() else {
            return Ok(Err(
                "ResourceInitializationError: the task has no subnet: awsvpc network configuration is required".into(),
            ));
        };
        let agent = &self.agent;
        let public_network = rec.assign_public_ip.then(|| agent.public_network());
        if let Some(p) = &public_network {
            if let Err(e) = agent.runtime.ensure_network(p).await {
                return Ok(Err(format!(
                    "ResourceInitializationError: failed to configure the public network: {e}"
                )));
            }
        }
        let network = self.subnet_network(rec, &subnet.id).await?;
        let mut sandbox_labels = task_labels(rec, &agent.config.instance);
        sandbox_labels.insert(labels::ROLE.into(), "sandbox".into());
        let attachment = rec
            .task
            .attachments
            .iter()
            .flatten()
            .find_map(|a| a.id.clone())
            .unwrap_or_default();
        let eni = NewNetworkInterface {
            account: rec.account.clone(),
            region: rec.region.clone(),
            subnet_id: subnet.id.clone(),
            private_ip: String::new(),
            mac_address: String::new(),
            public_ip: None,
            security_groups: rec.security_groups.clone(),
            description: format!(
                "arn:aws:ecs:{}:{}:attachment/{attachment}",
                rec.region, rec.account
            ),
        };
        let namespaced = network
            .as_ref()
            .and_then(|n| n.namespace().map(|ns| (n.clone(), ns)));
        let (sandbox, eni_id) = match namespaced {
            Some((net, namespace)) => {
                match self
                    .provision_in_namespace(
                        rec,
                        &net,
                        namespace,
                        public_network,
                        sandbox_labels,
                        eni,
                    )
                    .await?
                {
                    Ok(done) => done,
                    Err(reason) => return Ok(Err(reason)),
                }
            }
            None => {
                match self
                    .provision_on_bridge(
                        rec,
                        &subnet.cidr_block,
                        public_network,
                        sandbox_labels,
                        eni,
                    )
                    .await?
                {
                    Ok(done) => done,
                    Err(reason) => return Ok(Err(reason)),
                }
            }
        };
        let now = self.now();
        let s = sandbox.clone();
        let region = rec.region.clone();
        self.update(|t| {
            t.resources.eni_id = Some(eni_id.clone());
            t.task.connectivity = Some("CONNECTED".into());
            t.task.connectivity_at = Some(now);
            let detail = |k: &str, v: &str| KeyValuePairRecord {
                name: Some(k.into()),
                value: Some(v.into()),
            };
            for a in t.task.attachments.iter_mut().flatten() {
                a.status = Some("ATTACHED".into());
                a.details = Some(vec![
                    detail("subnetId", &subnet.id),
                    detail("networkInterfaceId", &eni_id),
                    detail("macAddress", &s.mac_address),
                    detail("privateDnsName", &private_dns_name(&s.private_ip, &region)),
                    detail("privateIPv4Address", &s.private_ip),
                ]);
            }
            for c in t.task.containers.iter_mut().flatten() {
                c.network_interfaces = Some(vec![NetworkInterfaceRecord {
                    attachment_id: Some(attachment.clone()),
                    private_ipv4_address: Some(s.private_ip.clone()),
                    ipv6_address: None,
                }]);
            }
            task_lifecycle::bump(&mut t.task);
            (true, ())
        })?;
        Ok(Ok((sandbox, network)))
    }

    /// The subnet's VPC and ways out, as EC2 knows them (`None` when it cannot tell: the task
    /// then runs as in the default VPC).
    async fn subnet_network(
        &self,
        rec: &TaskRecord,
        subnet_id: &str,
    ) -> Result<Option<SubnetNetwork>, Abort> {
        let network_api = self.agent.network.clone();
        let (account, region, id) = (
            rec.account.clone(),
            rec.region.clone(),
            subnet_id.to_string(),
        );
        let found =
            tokio::task::spawn_blocking(move || network_api.subnet_network(&account, &region, &id))
                .await
                .map_err(|e| Abort(e.to_string()))?;
        Ok(found.unwrap_or_else(|e| {
            tracing::debug!(task = %self.key, error = %e, "no subnet routing known");
            None
        }))
    }

    /// A VPC of its own namespace: EC2 picks the address (recording the ENI), then the sandbox
    /// is wired into the namespace with it.
    async fn provision_in_namespace(
        &self,
        rec: &TaskRecord,
        net: &SubnetNetwork,
        namespace: String,
        public_network: Option<NetworkSpec>,
        labels: BTreeMap<String, String>,
        eni: NewNetworkInterface,
    ) -> Result<Result<(Sandbox, String), StartFailure>, Abort> {
        let agent = &self.agent;
        let vpc = VpcNamespaceSpec {
            namespace,
            vpc_id: net.vpc_id.clone(),
            subnet_cidr: net.subnet_cidr.clone(),
        };
        if let Err(e) = agent.runtime.ensure_vpc_namespace(&vpc).await {
            return Ok(Err(format!(
                "ResourceInitializationError: failed to configure the task network: {e}"
            )));
        }
        let network_api = agent.network.clone();
        let allocated = tokio::task::spawn_blocking(move || network_api.allocate_interface(eni))
            .await
            .map_err(|e| Abort(e.to_string()))?;
        let (eni_id, address) = match allocated {
            Ok(done) => done,
            Err(e) => {
                return Ok(Err(format!(
                    "ResourceInitializationError: failed to create the network interface: {e}"
                )))
            }
        };
        self.update(|t| {
            t.resources.eni_id = Some(eni_id.clone());
            (true, ())
        })?;
        let Ok(address) = address.parse() else {
            return Ok(Err(format!(
                "ResourceInitializationError: the network interface got an invalid address '{address}'"
            )));
        };
        let spec = VpcSandboxSpec {
            name: format!("wharf-{}", rec.id()),
            vpc,
            vpc_cidr: net.vpc_cidr.clone(),
            address,
            public_network,
            hostname: None,
            labels,
        };
        let sandbox = match agent.runtime.create_vpc_sandbox(&spec).await {
            Ok(s) => s,
            Err(e) => {
                return Ok(Err(format!(
                    "ResourceInitializationError: failed to set up the task network: {e}"
                )))
            }
        };
        let sandbox_id = sandbox.container_id.clone();
        self.update(|t| {
            t.resources.sandbox_id = Some(sandbox_id);
            (true, ())
        })?;
        let network_api = agent.network.clone();
        let (account, region, id) = (rec.account.clone(), rec.region.clone(), eni_id.clone());
        let (mac, public_ip) = (sandbox.mac_address.clone(), sandbox.public_ip.clone());
        let set = tokio::task::spawn_blocking(move || {
            network_api.set_interface_link(&account, &region, &id, &mac, public_ip.as_deref())
        })
        .await
        .map_err(|e| Abort(e.to_string()))?;
        if let Err(e) = set {
            tracing::warn!(task = %self.key, error = %e, "cannot record the interface's addresses");
        }
        Ok(Ok((sandbox, eni_id)))
    }

    /// The default VPC: a Docker bridge network per VPC range hands out the address, then the
    /// ENI is recorded with it.
    async fn provision_on_bridge(
        &self,
        rec: &TaskRecord,
        subnet_cidr: &str,
        public_network: Option<NetworkSpec>,
        labels: BTreeMap<String, String>,
        mut eni: NewNetworkInterface,
    ) -> Result<Result<(Sandbox, String), StartFailure>, Abort> {
        let agent = &self.agent;
        let network = agent.vpc_network(subnet_cidr);
        if let Err(e) = agent.runtime.ensure_network(&network).await {
            return Ok(Err(format!(
                "ResourceInitializationError: failed to configure the task network: {e}"
            )));
        }
        let sandbox_labels = labels;
        let spec = SandboxSpec {
            name: format!("wharf-{}", rec.id()),
            network,
            ip_range: subnet_cidr.to_string(),
            public_network,
            hostname: None,
            labels: sandbox_labels,
        };
        let sandbox = match agent.runtime.create_sandbox(&spec).await {
            Ok(s) => s,
            Err(e) => {
                return Ok(Err(format!(
                    "ResourceInitializationError: failed to set up the task network: {e}"
                )))
            }
        };
        let sandbox_id = sandbox.container_id.clone();
        self.update(|t| {
            t.resources.sandbox_id = Some(sandbox_id);
            (true, ())
        })?;
        eni.private_ip = sandbox.private_ip.clone();
        eni.mac_address = sandbox.mac_address.clone();
        eni.public_ip = sandbox.public_ip.clone();
        let network_api = agent.network.clone();
        let created = tokio::task::spawn_blocking(move || network_api.create_interface(eni))
            .await
            .map_err(|e| Abort(e.to_string()))?;
        let eni_id = match created {
            Ok(id) => id,
            Err(e) => {
                return Ok(Err(format!(
                    "ResourceInitializationError: failed to create the network interface: {e}"
                )))
            }
        };
        Ok(Ok((sandbox, eni_id)))
    }

    /// Fails the start the way Fargate does when the task's subnet cannot reach what it needs
    /// (registry auth, secrets, the image, the log stream): after Fargate's retries have timed
    /// out (`AgentConfig::unreachable_timeout`), or at once when a stop is asked meanwhile.
    async fn check_reach(
        &self,
        rec: &TaskRecord,
        network: &SubnetNetwork,
        sandbox: &Sandbox,
    ) -> Result<Result<(), StartFailure>, Abort> {
        let images = self.agent.images.clone();
        let task = rec.clone();
        let needs = tokio::task::spawn_blocking(move || start_needs(&task, &images))
            .await
            .map_err(|e| Abort(e.to_string()))?;
        let public = sandbox.public_ip.is_some();
        let Some((service, reason)) = first_unreachable(network, &needs, public, &rec.region)
        else {
            return Ok(Ok(()));
        };
        tracing::info!(
            task = %self.key, subnet = %network.subnet_id, ?service,
            "the task's subnet cannot reach what it needs; failing after the timeout"
        );
        let deadline = tokio::time::Instant::now() + self.agent.config.unreachable_timeout;
        while tokio::time::Instant::now() < deadline {
            if self.stop_asked()? {
                return Ok(Ok(()));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(Err(reason))
    }

    /// Pulls every image; returns the reference to run for each task-definition image, or the
    /// failing image and AWS's reason.
    async fn pull_images(
        &self,
        rec: &TaskRecord,
    ) -> Result<HashMap<String, String>, (String, StartFailure)> {
        let mut out = HashMap::new();
        let images: Vec<String> = rec
            .definition
            .container_definitions
            .iter()
            .flatten()
            .filter_map(|d| d.image.clone())
            .collect();
        let runtime = &self.agent.runtime;
        for image in images {
            if out.contains_key(&image) {
                continue;
            }
            let cannot_pull = |e: &dyn std::fmt::Display| {
                (
                    image.clone(),
                    format!(
                    "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {image}: {e}"
                ),
                )
            };
            let resolver = self.agent.images.clone();
            let name = image.clone();
            let resolved = tokio::task::spawn_blocking(move || resolver.resolve(&name))
                .await
                .map_err(|e| cannot_pull(&e))?;
            let reference = match resolved {
                Some(_)
                    if rec
                        .definition
                        .execution_role_arn
                        .as_deref()
                        .is_none_or(str::is_empty) =>
                {
                    // Fargate pulls from ECR with the execution role; without one it has no
                    // registry credentials.
                    return Err(cannot_pull(
                        &"pull access denied, repository does not exist or may require authorization: no basic auth credentials (the task definition has no executionRoleArn to pull from Amazon ECR with)",
                    ));
                }
                Some(r) => {
                    let auth = RegistryAuth {
                        username: r.username,
                        password: r.password,
                        server_address: r.server_address,
                    };
                    runtime
                        .pull_image(&r.pull_reference, Some(&auth))
                        .await
                        .map_err(|e| cannot_pull(&e))?;
                    r.pull_reference
                }
                None => {
                    // Not wharf's registry: use the engine's copy if it has one (there is no
                    // internet to pull from), else try to pull.
                    if !runtime.image_present(&image).await.unwrap_or(false) {
                        runtime
                            .pull_image(&image, None)
                            .await
                            .map_err(|e| cannot_pull(&e))?;
                    }
                    image.clone()
                }
            };
            out.insert(image, reference);
        }
        Ok(out)
    }

    /// The values of every container's `secrets`, by container name. A reference that cannot
    /// be read fails the task as Fargate does.
    async fn resolve_secrets(
        &self,
        rec: &TaskRecord,
    ) -> Result<HashMap<String, Vec<(String, String)>>, StartFailure> {
        let wanted: Vec<(String, String, String)> = rec
            .definition
            .container_definitions
            .iter()
            .flatten()
            .flat_map(|d| {
                let container = d.name.clone().unwrap_or_default();
                d.secrets
                    .iter()
                    .flatten()
                    .map(move |s| (container.clone(), s.name.clone(), s.value_from.clone()))
            })
            .collect();
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let secrets = self.agent.secrets.clone();
        let (account, region) = (rec.account.clone(), rec.region.clone());
        let resolved = tokio::task::spawn_blocking(move || {
            let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
            for (container, name, value_from) in wanted {
                let value = secrets.resolve(&account, &region, &value_from)?;
                out.entry(container).or_default().push((name, value));
            }
            Ok::<_, wharf_core::SecretValueError>(out)
        })
        .await;
        match resolved {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(e)) => Err(format!(
                "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: {e}"
            )),
            Err(e) => Err(format!(
                "ResourceInitializationError: unable to pull secrets or registry auth: {e}"
            )),
        }
    }

    /// The id of the task's credentials on the task endpoint (made once, kept in the task's
    /// resources), when the task has a task role.
    fn credentials_id(&self, rec: &TaskRecord) -> Result<Option<String>, Abort> {
        if rec
            .definition
            .task_role_arn
            .as_deref()
            .is_none_or(str::is_empty)
        {
            return Ok(None);
        }
        if let Some(id) = &rec.resources.credentials_id {
            return Ok(Some(id.clone()));
        }
        let fresh = wharf_core::IdGen::uuid(&wharf_core::ids::RandomIds);
        self.update(|t| {
            let id = t
                .resources
                .credentials_id
                .get_or_insert_with(|| fresh.clone())
                .clone();
            (true, Some(id))
        })
    }

    /// Makes sure every awslogs container's group and stream exist.
    async fn prepare_logs(&self, rec: &TaskRecord) -> Result<(), StartFailure> {
        for def in rec.definition.container_definitions.iter().flatten() {
            let Some(AwsLogs {
                destination,
                create_group,
            }) = awslogs(rec, def)
            else {
                continue;
            };
            let sink = self.agent.logs.clone();
            let prepared =
                tokio::task::spawn_blocking(move || sink.prepare(&destination, create_group)).await;
            match prepared {
                Ok(Ok(())) => {}
                Ok(Err(wharf_core::LogSinkError::GroupNotFound(_))) => return Err(
                    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1".into(),
                ),
                Ok(Err(e)) => {
                    return Err(format!(
                        "ResourceInitializationError: failed to validate logger args: {e}"
                    ))
                }
                Err(e) => return Err(format!("ResourceInitializationError: {e}")),
            }
        }
        Ok(())
    }

    /// Starts the containers as their `dependsOn` conditions allow.
    async fn start_in_order(
        &mut self,
        defs: &[ContainerDefinitionRecord],
    ) -> Result<Result<(), StartFailure>, Abort> {
        let timeout = defs
            .iter()
            .filter_map(|d| d.start_timeout)
            .filter_map(|s| u64::try_from(s).ok())
            .max()
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_START_TIMEOUT);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut started: HashSet<String> = HashSet::new();
        loop {
            let rec = self.load()?;
            if task_lifecycle::stop_requested(&rec.task) {
                return Ok(Ok(()));
            }
            let mut states: HashMap<String, Option<ContainerStatus>> = HashMap::new();
            for name in &started {
                if let Some(id) = rec.resources.containers.get(name) {
                    states.insert(
                        name.clone(),
                        self.agent
                            .runtime
                            .inspect_container(id)
                            .await
                            .ok()
                            .flatten(),
                    );
                }
            }
            for def in defs {
                let name = def.name.clone().unwrap_or_default();
                if started.contains(&name) {
                    continue;
                }
                match dependencies_met(def, &started, &states) {
                    Ok(false) => continue,
                    Err(reason) => return Ok(Err(reason)),
                    Ok(true) => {}
                }
                let Some(id) = rec.resources.containers.get(&name).cloned() else {
                    return Ok(Err(format!(
                        "CannotStartContainerError: container {name} was not created"
                    )));
                };
                if let Err(e) = self.agent.runtime.start_container(&id).await {
                    let reason = format!("CannotStartContainerError: {e}");
                    self.update(|t| {
                        if let Some(c) = t.container_mut(&name) {
                            c.reason = Some(reason.clone());
                        }
                        (true, ())
                    })?;
                    return Ok(Err(reason));
                }
                started.insert(name.clone());
                self.start_pump(&rec, def, &id, None);
                self.update(|t| {
                    if let Some(c) = t.container_mut(&name) {
                        c.last_status = Some("RUNNING".into());
                    }
                    task_lifecycle::bump(&mut t.task);
                    (true, ())
                })?;
            }
            if started.len() == defs.len() {
                return Ok(Ok(()));
            }
            if tokio::time::Instant::now() > deadline {
                return Ok(Err(format!(
                    "CannotStartContainerError: containers waited more than {}s for their dependencies",
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(self.agent.config.poll_interval).await;
        }
    }

    fn start_pump(
        &mut self,
        rec: &TaskRecord,
        def: &ContainerDefinitionRecord,
        id: &str,
        since: Option<Timestamp>,
    ) {
        let Some(logs) = awslogs(rec, def) else {
            return;
        };
        let name = def.name.clone().unwrap_or_default();
        let handle = tokio::spawn(log_pump::pump(
            self.agent.runtime.clone(),
            self.agent.logs.clone(),
            id.to_string(),
            logs.destination,
            since,
        ));
        self.pumps.insert(name, handle);
    }

    // ---- adopting after a restart ------------------------------------------------------

    async fn adopt(&mut self, rec: &TaskRecord) -> Result<(), Abort> {
        let runtime = self.agent.runtime.clone();
        let sandbox_alive = match &rec.resources.sandbox_id {
            Some(id) => matches!(runtime.inspect_container(id).await, Ok(Some(s)) if s.running),
            None => false,
        };
        if !sandbox_alive {
            tracing::warn!(task = %self.key, "containers vanished while wharf was down");
            return self.fail(StopCode::EssentialContainerExited, VANISHED);
        }
        for def in rec.definition.container_definitions.iter().flatten() {
            let name = def.name.clone().unwrap_or_default();
            let Some(id) = rec.resources.containers.get(&name) else {
                continue;
            };
            if !matches!(runtime.inspect_container(id).await, Ok(Some(_))) {
                continue;
            }
            let since = match awslogs(rec, def) {
                Some(l) => {
                    let sink = self.agent.logs.clone();
                    tokio::task::spawn_blocking(move || sink.last_timestamp(&l.destination))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .flatten()
                }
                None => None,
            };
            self.start_pump(rec, def, id, since);
        }
        tracing::info!(task = %self.key, "adopted a running task");
        Ok(())
    }

    // ---- running -----------------------------------------------------------------------

    async fn observe(&self, rec: &TaskRecord) -> BTreeMap<String, Option<ContainerStatus>> {
        let mut out = BTreeMap::new();
        for (name, id) in &rec.resources.containers {
            let started = rec.task.containers.iter().flatten().any(|c| {
                c.name.as_deref() == Some(name) && c.last_status.as_deref() != Some("PENDING")
            });
            if !started {
                continue;
            }
            match self.agent.runtime.inspect_container(id).await {
                Ok(s) => {
                    out.insert(name.clone(), s);
                }
                Err(e) => {
                    tracing::warn!(task = %self.key, container = %name, error = %e, "cannot inspect")
                }
            }
        }
        out
    }

    async fn monitor(&mut self) -> Result<(), Abort> {
        let mut changed = self.agent.changed.subscribe();
        loop {
            let rec = self.load()?;
            if task_lifecycle::stop_requested(&rec.task) {
                return Ok(());
            }
            let mut observed = self.observe(&rec).await;
            let now = self.now();
            observed.retain(|_, s| !s.as_ref().is_some_and(|s| oom_may_be_pending(s, now)));
            self.update(|t| (apply_observations(t, &observed), ()))?;
            tokio::select! {
                _ = changed.changed() => {}
                _ = tokio::time::sleep(self.agent.config.poll_interval) => {}
            }
        }
    }

    // ---- stopping ----------------------------------------------------------------------

    async fn stop(&mut self) -> Result<(), Abort> {
        let rec = self.load()?;
        if TaskStatus::of(&rec.task) == TaskStatus::Stopped {
            return Ok(());
        }
        if TaskStatus::of(&rec.task) >= TaskStatus::Activating {
            self.advance(TaskStatus::Deactivating)?;
        }
        self.advance(TaskStatus::Stopping)?;
        let runtime = self.agent.runtime.clone();
        let stops = rec.resources.containers.iter().map(|(name, id)| {
            let timeout = rec
                .container_definition(name)
                .map(stop_timeout)
                .unwrap_or(Duration::from_secs(30));
            let runtime = runtime.clone();
            let id = id.clone();
            async move {
                if let Err(e) = runtime.stop_container(&id, timeout).await {
                    tracing::warn!(container = %id, error = %e, "cannot stop");
                }
            }
        });
        futures::future::join_all(stops).await;
        for (name, pump) in self.pumps.drain() {
            if tokio::time::timeout(LOG_DRAIN_TIMEOUT, pump).await.is_err() {
                tracing::warn!(task = %self.key, container = %name, "gave up waiting for the last log lines");
            }
        }
        let observed = self.observe(&rec).await;
        let now = self.now();
        self.update(|t| {
            apply_observations(t, &observed);
            for c in t.task.containers.iter_mut().flatten() {
                c.last_status = Some("STOPPED".into());
            }
            t.task.execution_stopped_at.get_or_insert(now);
            task_lifecycle::bump(&mut t.task);
            (true, ())
        })?;
        self.advance(TaskStatus::Deprovisioning)?;
        let rec = self.load()?;
        self.release_resources(&rec).await;
        self.update(|t| {
            for a in t.task.attachments.iter_mut().flatten() {
                a.status = Some("DELETED".into());
            }
            // Everything released; the credentials endpoint no longer serves the task.
            t.resources = TaskResources::default();
            (true, ())
        })?;
        self.advance(TaskStatus::Stopped)?;
        tracing::info!(task = %self.key, "task stopped");
        Ok(())
    }

    /// Removes every container labelled with the task (recorded or not) and its ENI.
    async fn release_resources(&self, rec: &TaskRecord) {
        let runtime = &self.agent.runtime;
        let arn = rec.task.task_arn.clone().unwrap_or_default();
        let mut ids: HashSet<String> = rec.resources.containers.values().cloned().collect();
        ids.extend(rec.resources.sandbox_id.clone());
        match runtime.list_managed().await {
            Ok(all) => ids.extend(
                all.into_iter()
                    .filter(|c| c.labels.get(labels::TASK_ARN) == Some(&arn))
                    .map(|c| c.id),
            ),
            Err(e) => tracing::warn!(task = %self.key, error = %e, "cannot list containers"),
        }
        // Containers first: they live in the sandbox's network namespace.
        let sandbox = rec.resources.sandbox_id.clone();
        for id in ids.iter().filter(|id| Some(*id) != sandbox.as_ref()) {
            if let Err(e) = runtime.remove_container(id).await {
                tracing::warn!(container = %id, error = %e, "cannot remove");
            }
        }
        if let Some(id) = &sandbox {
            if let Err(e) = runtime.remove_container(id).await {
                tracing::warn!(container = %id, error = %e, "cannot remove the sandbox");
            }
            // Its interface leaves the filters on the next pass.
            self.agent.filters.changed();
        }
        if let Some(subnet) = &rec.subnet {
            // The VPC's namespace goes with its last task (the default VPC has none).
            let namespace = vpc_namespace(&subnet.vpc_id);
            if let Err(e) = runtime
                .release_vpc_namespace(&namespace, sandbox.as_deref())
                .await
            {
                tracing::warn!(namespace = %namespace, error = %e, "cannot release the vpc namespace");
            }
        }
        if let Some(eni) = rec.resources.eni_id.clone() {
            let network = self.agent.network.clone();
            let (account, region) = (rec.account.clone(), rec.region.clone());
            let deleted = tokio::task::spawn_blocking(move || {
                network.delete_interface(&account, &region, &eni)
            })
            .await;
            if !matches!(deleted, Ok(Ok(()))) {
                tracing::warn!(task = %self.key, "cannot delete the network interface record");
            }
        }
    }
}

/// Whether `def`'s dependencies allow it to start now; an error when they never will.
fn dependencies_met(
    def: &ContainerDefinitionRecord,
    started: &HashSet<String>,
    states: &HashMap<String, Option<ContainerStatus>>,
) -> Result<bool, StartFailure> {
    for dep in def.depends_on.iter().flatten() {
        let name = &dep.container_name;
        if !started.contains(name) {
            return Ok(false);
        }
        let state = states.get(name).cloned().flatten();
        let exited = state.as_ref().is_some_and(|s| !s.running && s.started);
        let exit_code = state.as_ref().and_then(|s| s.exit_code);
        let ok = match dep.condition.as_str() {
            "START" => true,
            "COMPLETE" => exited,
            "SUCCESS" => {
                if exited && exit_code != Some(0) {
                    return Err(format!(
                        "CannotStartContainerError: dependency container {name} exited with code {} (condition SUCCESS)",
                        exit_code.unwrap_or(-1)
                    ));
                }
                exited
            }
            "HEALTHY" => match state.as_ref().and_then(|s| s.health) {
                Some(Health::Healthy) => true,
                Some(Health::Unhealthy) => {
                    return Err(format!(
                        "CannotStartContainerError: dependency container {name} is unhealthy (condition HEALTHY)"
                    ))
                }
                _ => {
                    if exited {
                        return Err(format!(
                            "CannotStartContainerError: dependency container {name} exited before becoming healthy"
                        ));
                    }
                    false
                }
            },
            _ => true,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// How long after a SIGKILL exit the engine may still be recording that the kernel's OOM killer
/// sent it: the engine learns of the exit and of the OOM kill from two events, and under load
/// the exit can come first.
const OOM_SETTLE_MS: i64 = 2_000;

/// Whether `s` is a container killed by SIGKILL (exit 137) so recently that the engine may not
/// yet say whether it was an OOM kill: the monitor looks again at its next tick rather than
/// record the wrong stop reason.
pub(crate) fn oom_may_be_pending(s: &ContainerStatus, now: Timestamp) -> bool {
    !s.running
        && s.exit_code == Some(137)
        && !s.oom_killed
        && s.finished_at
            .is_some_and(|at| (0..OOM_SETTLE_MS).contains(&(now.millis - at.millis)))
}

/// Writes what the runtime reports into the task: container status, exit code, OOM reason,
/// health; stops the task when an essential container has exited or vanished. Returns whether
/// the record changed.
pub(crate) fn apply_observations(
    t: &mut TaskRecord,
    observed: &BTreeMap<String, Option<ContainerStatus>>,
) -> bool {
    let before = t.task.clone();
    let mut essential_exit: Option<&'static str> = None;
    for (name, state) in observed {
        let essential = t
            .container_definition(name)
            .is_none_or(|d| d.essential != Some(false));
        let Some(c) = t.container_mut(name) else {
            continue;
        };
        match state {
            None => {
                if c.last_status.as_deref() == Some("RUNNING") {
                    c.last_status = Some("STOPPED".into());
                    c.reason = Some("The container was removed outside wharf".into());
                    if essential {
                        essential_exit.get_or_insert(reasons::ESSENTIAL_EXITED);
                    }
                }
            }
            Some(s) => {
                // A stopped container has no health (the engine calls it unhealthy).
                c.health_status = Some(
                    match (s.running, s.health) {
                        (true, Some(Health::Healthy)) => "HEALTHY",
                        (true, Some(Health::Unhealthy)) => "UNHEALTHY",
                        _ => "UNKNOWN",
                    }
                    .into(),
                );
                if !s.running && s.started {
                    c.last_status = Some("STOPPED".into());
                    c.exit_code = s.exit_code.and_then(|e| i32::try_from(e).ok());
                    if s.oom_killed {
                        c.reason = Some(reasons::OUT_OF_MEMORY.into());
                    }
                    if essential {
                        essential_exit.get_or_insert(if s.oom_killed {
                            reasons::OUT_OF_MEMORY
                        } else {
                            reasons::ESSENTIAL_EXITED
                        });
                    }
                }
            }
        }
    }
    t.refresh_health();
    if let Some(reason) = essential_exit {
        task_lifecycle::request_stop(&mut t.task, StopCode::EssentialContainerExited, reason);
    }
    let changed = t.task != before;
    if changed && t.task.version == before.version {
        task_lifecycle::bump(&mut t.task);
    }
    changed
}
