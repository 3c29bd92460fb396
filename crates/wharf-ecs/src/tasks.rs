//! Tasks: RunTask / StopTask / DescribeTasks / ListTasks, and the task records the agent drives.
//!
//! RunTask validates and writes one record per task in PROVISIONING with desired status
//! RUNNING, then wakes the agent (`wharf-agent`), which owns everything after that: it moves the
//! record through the lifecycle (`task_lifecycle`) as the runtime reports. A record keeps the
//! task definition as it was at launch and what the agent made for it (`TaskResources`), so a
//! restarted wharf can adopt or clean up the task. Records are never deleted.

use crate::checks::{self, check_network};
use crate::clusters;
use crate::errors::invalid;
use crate::generated::*;
use crate::launch_types::{self, Placement};
use crate::names;
use crate::paging;
use crate::records::{
    self, task_key, AttachmentRecord, AttributeRecord, CapacityProviderStrategyItemRecord,
    ClusterRecord, ContainerOverrideRecord, ContainerRecord, EphemeralStorageRecord,
    KeyValuePairRecord, NetworkConfigurationRecord, TagRecord, TaskDefinitionDescription,
    TaskDefinitionRecord, TaskDescription, TaskEphemeralStorageRecord, TaskOverrideRecord,
    TaskRecord, TaskResources, TaskSubnet, Wire, TASKS,
};
use crate::task_definitions;
use crate::task_lifecycle::{self, reasons, StopCode, TaskStatus};
use crate::Ecs;
use wharf_core::pagination::paginate;
use wharf_core::{RequestContext, Timestamp};
use wharf_store::{Store, StoreError, Tx};

/// Loads a task by store key.
pub fn load(store: &Store, key: &str) -> Result<Option<TaskRecord>, StoreError> {
    store.read(|tx| tx.get(TASKS, key))
}

/// Every task not yet STOPPED, in every account and region.
pub fn unstopped(store: &Store) -> Result<Vec<TaskRecord>, StoreError> {
    let all: Vec<(String, TaskRecord)> = store.read(|tx| tx.list(TASKS, ""))?;
    Ok(all
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| TaskStatus::of(&t.task) != TaskStatus::Stopped)
        .collect())
}

/// Applies `f` to task `key` inside one write and returns the result (`None` if the task is
/// gone). Only stores when `f` says it changed something.
pub fn update<R>(
    store: &Store,
    key: &str,
    f: impl FnOnce(&mut TaskRecord) -> (bool, R),
) -> Result<Option<R>, StoreError> {
    store.write(|tx| {
        let Some(mut task) = tx.get::<TaskRecord>(TASKS, key)? else {
            return Ok(None);
        };
        let (changed, out) = f(&mut task);
        if changed {
            tx.put(TASKS, key, &task)?;
        }
        Ok(Some(out))
    })
}

/// What a task is launched with (RunTask, or a service's scheduler).
#[derive(Debug, Clone, Default)]
pub struct LaunchSpec {
    /// The cluster reference (name or ARN; default when absent).
    pub cluster: Option<String>,
    /// The task definition reference.
    pub task_definition: String,
    /// How many.
    pub count: usize,
    /// awsvpc configuration.
    pub network_configuration: Option<NetworkConfigurationRecord>,
    /// Overrides.
    pub overrides: Option<TaskOverrideRecord>,
    /// `startedBy`.
    pub started_by: Option<String>,
    /// `group` (default `family:<family>`).
    pub group: Option<String>,
    /// Tags.
    pub tags: Vec<TagRecord>,
    /// The capacity provider name, when launched through a strategy.
    pub capacity_provider_name: Option<String>,
    /// The launch type (`None`: FARGATE, as a capacity provider strategy of FARGATE runs).
    pub launch_type: Option<String>,
    /// The service launching it.
    pub service_name: Option<String>,
    /// Platform version asked for.
    pub platform_version: Option<String>,
    /// Copy the task definition's tags.
    pub propagate_task_definition_tags: bool,
    /// Run the task definition even if it was deregistered (a service keeps running INACTIVE
    /// revisions, as in AWS).
    pub allow_inactive_definition: bool,
    /// The subnet of each task in turn (ids among the configuration's subnets); empty: the
    /// tasks go round the subnets from a random one.
    pub subnet_order: Vec<String>,
    /// `enableExecuteCommand` (ECS Exec asked for).
    pub enable_execute_command: bool,
}

/// Validates `spec` and writes its tasks; returns the records. Wakes the agent.
pub fn launch(ecs: &Ecs, ctx: &RequestContext, spec: LaunchSpec) -> Result<Vec<Task>, Error> {
    let records = prepare(ecs, ctx, &spec)?;
    let cluster_name = records
        .first()
        .map(TaskRecord::cluster_name)
        .unwrap_or_default();
    ecs.store.write(|tx| -> Result<(), Error> {
        // The cluster may have been deleted since the read.
        clusters::require_active(tx, ctx, Some(&cluster_name))?;
        for r in &records {
            tx.put(TASKS, &r.key(), r)?;
        }
        Ok(())
    })?;
    tracing::info!(cluster = %cluster_name, task_definition = %spec.task_definition, count = records.len(), "tasks launched");
    ecs.notify_tasks_changed();
    Ok(records.into_iter().map(|r| r.task.into()).collect())
}

/// Validates `spec` and makes its task records, without writing them (the service controller
/// writes them in its own transaction).
pub fn prepare(
    ecs: &Ecs,
    ctx: &RequestContext,
    spec: &LaunchSpec,
) -> Result<Vec<TaskRecord>, Error> {
    crate::tags::check_records(&spec.tags)?;
    if let Some(s) = &spec.started_by {
        if s.chars().count() > 128 {
            return Err(invalid("startedBy can be at most 128 characters long."));
        }
    }
    if names::cluster_name(spec.cluster.as_deref()) == "default" {
        // As CreateService does, the first task placed without a cluster creates `default`.
        ecs.store.write(|tx| clusters::ensure_default(tx, ctx))?;
    }
    let (cluster, stored) = ecs.store.read(|tx| -> Result<_, Error> {
        let cluster = clusters::require_active(tx, ctx, spec.cluster.as_deref())?;
        let stored = if spec.allow_inactive_definition {
            task_definitions::resolve_ref(tx, ctx, &spec.task_definition)
                .map_err(|_| invalid("TaskDefinition not found."))?
        } else {
            resolve_for_launch(tx, ctx, &spec.task_definition)?
        };
        Ok((cluster, stored))
    })?;
    let def = stored.definition.clone();
    let launch_type = spec.launch_type.as_deref().unwrap_or("FARGATE");
    launch_types::check(&def, launch_type)?;
    if launch_types::needs_container_instances(launch_type) {
        return Err(invalid(launch_types::NO_CONTAINER_INSTANCES));
    }
    check_network(spec.network_configuration.as_ref(), &def, "FARGATE")?;
    check_overrides(spec.overrides.as_ref(), &def)?;
    let vpc = spec
        .network_configuration
        .as_ref()
        .and_then(|n| n.awsvpc_configuration.clone());
    let subnets = match &vpc {
        Some(v) => checks::placement_subnets(ecs, ctx, &v.subnets)?,
        None => vec![],
    };
    let security_groups = match &vpc {
        Some(v) => checks::check_security_groups(
            ecs,
            ctx,
            v.security_groups.as_deref().unwrap_or_default(),
            subnets.first().map(|s| s.vpc_id.as_str()),
        )?,
        None => vec![],
    };
    let assign_public_ip = vpc
        .as_ref()
        .is_some_and(|v| v.assign_public_ip.as_deref() == Some("ENABLED"));
    let mut tags = spec.tags.clone();
    if spec.propagate_task_definition_tags {
        for t in &stored.tags {
            if !tags.iter().any(|x| x.key == t.key) {
                tags.push(t.clone());
            }
        }
    }
    let offset = subnets.len().max(1);
    let start = ecs.ids.hex(2).chars().map(|c| c as usize).sum::<usize>() % offset;
    let mut records = Vec::with_capacity(spec.count);
    for i in 0..spec.count {
        let chosen = (!spec.subnet_order.is_empty())
            .then(|| &spec.subnet_order[i % spec.subnet_order.len()])
            .and_then(|id| subnets.iter().find(|s| &s.id == id));
        let subnet = chosen
            .or_else(|| (!subnets.is_empty()).then(|| &subnets[(start + i) % subnets.len()]))
            .cloned();
        records.push(new_task(
            ecs,
            ctx,
            &cluster,
            &def,
            spec,
            subnet.map(TaskSubnet::from),
            &security_groups,
            assign_public_ip,
            &tags,
        ));
    }
    Ok(records)
}

fn resolve_for_launch(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    reference: &str,
) -> Result<TaskDefinitionRecord, Error> {
    let stored = task_definitions::resolve_ref(tx, ctx, reference)
        .map_err(|_| invalid("TaskDefinition not found."))?;
    if stored.definition.status.as_deref() != Some("ACTIVE") {
        return Err(Error::ClientException(format!(
            "TaskDefinition is inactive: {}",
            stored
                .definition
                .task_definition_arn
                .as_deref()
                .unwrap_or(reference)
        )));
    }
    Ok(stored)
}

/// Checks RunTask overrides against the task definition.
fn check_overrides(
    overrides: Option<&TaskOverrideRecord>,
    def: &TaskDefinitionDescription,
) -> Result<(), Error> {
    let Some(o) = overrides else { return Ok(()) };
    for c in o.container_overrides.iter().flatten() {
        let name = c.name.as_deref().unwrap_or_default();
        let known = def
            .container_definitions
            .iter()
            .flatten()
            .any(|d| d.name.as_deref() == Some(name));
        if !known {
            return Err(invalid(format!(
                "Override for container named {name} is not a container in the TaskDefinition."
            )));
        }
        for (field, v) in [
            ("cpu", c.cpu),
            ("memory", c.memory),
            ("memoryReservation", c.memory_reservation),
        ] {
            if v.is_some_and(|v| v < 0) {
                return Err(invalid(format!(
                    "containerOverrides.{field} for container {name} must be 0 or more."
                )));
            }
        }
        if c.memory.is_some_and(|m| m < 6) {
            return Err(invalid(format!(
                "Invalid 'memory' setting for container '{name}'. The memory limit must be at least 6 MiB."
            )));
        }
        let env = c.environment.iter().flatten();
        if let Some(bad) = env
            .clone()
            .find(|kv| kv.name.as_deref().unwrap_or_default().is_empty())
        {
            return Err(invalid(format!(
                "containerOverrides.environment for container {name} has an entry without a name (value '{}').",
                bad.value.as_deref().unwrap_or_default()
            )));
        }
    }
    let cpu = o.cpu.as_deref().or(def.cpu.as_deref());
    let memory = o.memory.as_deref().or(def.memory.as_deref());
    if o.cpu.is_some() || o.memory.is_some() {
        let (Some(cpu_text), Some(mem_text)) = (cpu, memory) else {
            return Err(invalid(
                "Task-level cpu and memory are required on Fargate.",
            ));
        };
        let parsed = (
            crate::fargate::parse_cpu(cpu_text),
            crate::fargate::parse_memory(mem_text),
        );
        match parsed {
            (Some(c), Some(m)) if crate::fargate::valid_combination(c, m) => {}
            _ => {
                return Err(invalid(format!(
                    "No Fargate configuration exists for given values: {cpu_text} CPU, {mem_text} memory."
                )))
            }
        }
    }
    Ok(())
}

fn new_task(
    ecs: &Ecs,
    ctx: &RequestContext,
    cluster: &ClusterRecord,
    def: &TaskDefinitionDescription,
    spec: &LaunchSpec,
    subnet: Option<TaskSubnet>,
    security_groups: &[String],
    assign_public_ip: bool,
    tags: &[TagRecord],
) -> TaskRecord {
    let cluster_name = cluster.cluster_name.clone().unwrap_or_default();
    let id = ecs.ids.hex(32);
    let task_arn = names::arn(ctx, &format!("task/{cluster_name}/{id}"));
    let attachment_id = ecs.ids.uuid();
    let overrides = spec.overrides.clone().unwrap_or_default();
    let containers: Vec<ContainerRecord> = def
        .container_definitions
        .iter()
        .flatten()
        .map(|c| {
            let name = c.name.clone().unwrap_or_default();
            let o = overrides
                .container_overrides
                .iter()
                .flatten()
                .find(|o| o.name.as_deref() == Some(name.as_str()));
            ContainerRecord {
                container_arn: Some(names::arn(
                    ctx,
                    &format!("container/{cluster_name}/{id}/{}", ecs.ids.uuid()),
                )),
                task_arn: Some(task_arn.clone()),
                name: Some(name),
                image: c.image.clone(),
                last_status: Some("PENDING".into()),
                network_interfaces: Some(vec![]),
                health_status: Some("UNKNOWN".into()),
                cpu: Some(o.and_then(|o| o.cpu).or(c.cpu).unwrap_or(0).to_string()),
                memory: o.and_then(|o| o.memory).or(c.memory).map(|m| m.to_string()),
                memory_reservation: o
                    .and_then(|o| o.memory_reservation)
                    .or(c.memory_reservation)
                    .map(|m| m.to_string()),
                ..Default::default()
            }
        })
        .collect();
    let mut container_overrides = overrides.container_overrides.clone().unwrap_or_default();
    for c in &containers {
        if !container_overrides.iter().any(|o| o.name == c.name) {
            container_overrides.push(ContainerOverrideRecord {
                name: c.name.clone(),
                ..Default::default()
            });
        }
    }
    let attachments = subnet.as_ref().map(|s| {
        vec![AttachmentRecord {
            id: Some(attachment_id),
            r#type: Some("ElasticNetworkInterface".into()),
            status: Some("PRECREATED".into()),
            details: Some(vec![KeyValuePairRecord {
                name: Some("subnetId".into()),
                value: Some(s.id.clone()),
            }]),
        }]
    });
    let task =
        TaskDescription {
            attachments,
            attributes: Some(vec![AttributeRecord {
                name: "ecs.cpu-architecture".into(),
                value: Some("x86_64".into()),
                ..Default::default()
            }]),
            availability_zone: subnet.as_ref().map(|s| s.availability_zone.clone()),
            capacity_provider_name: spec.capacity_provider_name.clone(),
            cluster_arn: cluster.cluster_arn.clone(),
            connectivity: Some("CONNECTING".into()),
            containers: Some(containers),
            cpu: overrides.cpu.clone().or(def.cpu.clone()),
            memory: overrides.memory.clone().or(def.memory.clone()),
            created_at: Some(ctx.now),
            desired_status: Some("RUNNING".into()),
            enable_execute_command: Some(spec.enable_execute_command),
            group: Some(spec.group.clone().unwrap_or_else(|| {
                format!("family:{}", def.family.as_deref().unwrap_or_default())
            })),
            health_status: Some("UNKNOWN".into()),
            last_status: Some(TaskStatus::Provisioning.as_str().into()),
            launch_type: Some("FARGATE".into()),
            overrides: Some(TaskOverrideRecord {
                container_overrides: Some(container_overrides),
                inference_accelerator_overrides: Some(vec![]),
                ..overrides
            }),
            platform_version: Some(
                spec.platform_version
                    .clone()
                    .filter(|v| v != "LATEST")
                    .unwrap_or_else(|| "1.4.0".into()),
            ),
            platform_family: Some("Linux".into()),
            started_by: spec.started_by.clone(),
            tags: Some(tags.to_vec()),
            task_arn: Some(task_arn),
            task_definition_arn: def.task_definition_arn.clone(),
            version: Some(1),
            ephemeral_storage: Some(EphemeralStorageRecord { size_in_gi_b: 20 }),
            fargate_ephemeral_storage: Some(TaskEphemeralStorageRecord {
                size_in_gi_b: Some(20),
                kms_key_id: None,
            }),
            ..Default::default()
        };
    TaskRecord {
        task,
        definition: def.clone(),
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
        subnet,
        security_groups: security_groups.to_vec(),
        assign_public_ip,
        service_name: spec.service_name.clone(),
        resources: TaskResources::default(),
    }
}

/// `RunTask`.
pub fn run(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: RunTaskRequest,
) -> Result<RunTaskResponse, Error> {
    let count = input.count.unwrap_or(1);
    if !(1..=10).contains(&count) {
        return Err(invalid(format!(
            "count must be between 1 and 10, got {count}."
        )));
    }
    if input.launch_type.is_some() && input.capacity_provider_strategy.is_some() {
        return Err(invalid("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."));
    }
    let strategy: Option<Vec<CapacityProviderStrategyItemRecord>> =
        Wire::from_wire(input.capacity_provider_strategy.clone());
    if names::cluster_name(input.cluster.as_deref()) == "default" {
        ecs.store.write(|tx| clusters::ensure_default(tx, ctx))?;
    }
    let cluster = ecs
        .store
        .read(|tx| clusters::require_active(tx, ctx, input.cluster.as_deref()))?;
    let placement =
        launch_types::choose(input.launch_type.as_deref(), strategy.as_deref(), &cluster);
    let capacity_provider_name = match &placement {
        Placement::LaunchType(_) => None,
        Placement::Strategy(strategy) => Some(strategy_provider(strategy)?),
    };
    let launch_type = placement.launch_type().to_string();
    let tasks = launch(
        ecs,
        ctx,
        LaunchSpec {
            cluster: input.cluster,
            task_definition: input.task_definition,
            count: count as usize,
            network_configuration: input.network_configuration.map(Into::into),
            overrides: input.overrides.map(Into::into),
            started_by: input.started_by,
            group: input.group,
            tags: Wire::from_wire(input.tags.unwrap_or_default()),
            capacity_provider_name,
            launch_type: Some(launch_type),
            service_name: None,
            platform_version: input.platform_version,
            propagate_task_definition_tags: input.propagate_tags.as_deref()
                == Some("TASK_DEFINITION"),
            enable_execute_command: input.enable_execute_command.unwrap_or(false),
            ..LaunchSpec::default()
        },
    )?;
    Ok(RunTaskResponse {
        tasks: Some(tasks),
        failures: Some(vec![]),
    })
}

/// The capacity provider a strategy places a task with (the first with a weight), or AWS's
/// error for an empty strategy or a provider wharf does not have.
fn strategy_provider(strategy: &[CapacityProviderStrategyItemRecord]) -> Result<String, Error> {
    let Some(first) = strategy
        .iter()
        .find(|s| s.weight.unwrap_or(0) > 0)
        .or(strategy.first())
    else {
        return Err(invalid("capacityProviderStrategy can not be empty."));
    };
    if let Some(bad) = strategy
        .iter()
        .find(|s| !matches!(s.capacity_provider.as_str(), "FARGATE" | "FARGATE_SPOT"))
    {
        return Err(invalid(format!(
            "The specified capacity provider '{}' is not associated with the cluster; wharf runs tasks on FARGATE and FARGATE_SPOT.",
            bad.capacity_provider
        )));
    }
    Ok(first.capacity_provider.clone())
}

/// `StopTask`.
pub fn stop(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: StopTaskRequest,
) -> Result<StopTaskResponse, Error> {
    let reason = input
        .reason
        .clone()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| reasons::STOPPED_BY_USER.into());
    if reason.chars().count() > 255 {
        return Err(invalid("reason can be at most 255 characters long."));
    }
    let cluster = ecs
        .store
        .read(|tx| clusters::require_active(tx, ctx, input.cluster.as_deref()))?;
    let cluster_name = cluster.cluster_name.unwrap_or_default();
    let key = task_key(
        &ctx.account_id,
        &ctx.region,
        &cluster_name,
        &names::last_segment(&input.task),
    );
    let task = update(&ecs.store, &key, |t| {
        let changed = task_lifecycle::request_stop(&mut t.task, StopCode::UserInitiated, &reason);
        (changed, Task::from(t.task.clone()))
    })?
    .ok_or_else(|| invalid("The referenced task was not found."))?;
    ecs.notify_tasks_changed();
    Ok(StopTaskResponse { task: Some(task) })
}

/// `DescribeTasks`.
pub fn describe(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: DescribeTasksRequest,
) -> Result<DescribeTasksResponse, Error> {
    if input.tasks.is_empty() {
        return Err(invalid("Tasks cannot be empty."));
    }
    if input.tasks.len() > 100 {
        return Err(invalid("tasks can have at most 100 items."));
    }
    let with_tags = input.include.iter().flatten().any(|i| i == "TAGS");
    ecs.store.read(|tx| {
        let cluster = clusters::require_active(tx, ctx, input.cluster.as_deref())?;
        let cluster_name = cluster.cluster_name.unwrap_or_default();
        let mut tasks = vec![];
        let mut failures = vec![];
        for reference in &input.tasks {
            let key = task_key(
                &ctx.account_id,
                &ctx.region,
                &cluster_name,
                &names::last_segment(reference),
            );
            match tx.get::<TaskRecord>(TASKS, &key)? {
                Some(mut t) => {
                    if !with_tags {
                        t.task.tags = None;
                    }
                    tasks.push(Task::from(t.task))
                }
                None => failures.push(Failure {
                    arn: Some(if reference.starts_with("arn:") {
                        reference.clone()
                    } else {
                        names::arn(ctx, &format!("task/{cluster_name}/{reference}"))
                    }),
                    reason: Some("MISSING".into()),
                    detail: None,
                }),
            }
        }
        Ok(DescribeTasksResponse {
            tasks: Some(tasks),
            failures: Some(failures),
        })
    })
}

/// `ListTasks`: newest first; desired status RUNNING unless asked otherwise.
pub fn list(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: ListTasksRequest,
) -> Result<ListTasksResponse, Error> {
    let size = paging::page_size(input.max_results)?;
    if input.family.is_some() && input.service_name.is_some() {
        return Err(invalid("You cannot specify both family and serviceName."));
    }
    let desired = input
        .desired_status
        .clone()
        .unwrap_or_else(|| "RUNNING".into());
    ecs.store.read(|tx| {
        let cluster = clusters::require_active(tx, ctx, input.cluster.as_deref())?;
        let cluster_name = cluster.cluster_name.unwrap_or_default();
        let prefix = records::cluster_prefix(ctx, &cluster_name);
        let mut all: Vec<TaskRecord> = tx
            .list::<TaskRecord>(TASKS, &prefix)?
            .into_iter()
            .map(|(_, t)| t)
            .filter(|t| t.task.desired_status.as_deref() == Some(desired.as_str()))
            .filter(|t| match &input.family {
                Some(f) => t.definition.family.as_deref() == Some(f.as_str()),
                None => true,
            })
            .filter(|t| match &input.service_name {
                Some(s) => t.service_name.as_deref() == Some(names::service_name(s).as_str()),
                None => true,
            })
            .filter(|t| match &input.started_by {
                Some(s) => t.task.started_by.as_deref() == Some(s.as_str()),
                None => true,
            })
            .filter(|t| match &input.launch_type {
                Some(l) => t.task.launch_type.as_deref() == Some(l.as_str()),
                None => true,
            })
            .collect();
        all.sort_by(|a, b| {
            b.task
                .created_at
                .unwrap_or(Timestamp::from_millis(0))
                .cmp(&a.task.created_at.unwrap_or(Timestamp::from_millis(0)))
                .then_with(|| a.id().cmp(b.id()))
        });
        let arns: Vec<(String, String)> = all
            .iter()
            .map(|t| {
                let created = t.task.created_at.map(|c| c.millis).unwrap_or(0);
                (
                    format!("{:020}/{}", i64::MAX - created, t.id()),
                    t.task.task_arn.clone().unwrap_or_default(),
                )
            })
            .collect();
        let (page, next) = paginate(arns, |(k, _)| k.clone(), input.next_token.as_deref(), size)
            .map_err(|_| paging::invalid_token())?;
        Ok(ListTasksResponse {
            task_arns: Some(page.into_iter().map(|(_, a)| a).collect()),
            next_token: next,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ctx, ecs};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn setup(ecs: &Ecs) {
        clusters::create(
            ecs,
            &ctx(),
            CreateClusterRequest {
                cluster_name: Some("c1".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let td: RegisterTaskDefinitionRequest = serde_json::from_value(serde_json::json!({
            "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512",
            "containerDefinitions": [
                {"name": "app", "image": "img:v1", "environment": [{"name": "A", "value": "1"}]},
                {"name": "side", "image": "img:v1", "essential": false}
            ]
        }))
        .unwrap();
        task_definitions::register(ecs, &ctx(), td).unwrap();
    }

    fn run_input(extra: serde_json::Value) -> RunTaskRequest {
        let mut v = serde_json::json!({
            "cluster": "c1", "taskDefinition": "web", "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"], "assignPublicIp": "ENABLED"}}
        });
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn run_task_writes_provisioning_records_and_wakes_the_agent() {
        let (_d, ecs) = ecs();
        let woken = Arc::new(AtomicUsize::new(0));
        let w = woken.clone();
        let ecs = ecs.with_task_notifier(Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        setup(&ecs);
        let out = run(
            &ecs,
            &ctx(),
            run_input(serde_json::json!({"count": 3, "startedBy": "me"})),
        )
        .unwrap();
        let tasks = out.tasks.unwrap();
        assert_eq!(tasks.len(), 3);
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        let t = &tasks[0];
        assert_eq!(t.last_status.as_deref(), Some("PROVISIONING"));
        assert_eq!(t.desired_status.as_deref(), Some("RUNNING"));
        assert_eq!(t.launch_type.as_deref(), Some("FARGATE"));
        assert_eq!(t.group.as_deref(), Some("family:web"));
        assert_eq!(t.cpu.as_deref(), Some("256"));
        assert!(t.task_arn.as_deref().unwrap().contains(":task/c1/"));
        assert_eq!(t.containers.as_ref().unwrap().len(), 2);
        let att = &t.attachments.as_ref().unwrap()[0];
        assert_eq!(att.r#type.as_deref(), Some("ElasticNetworkInterface"));
        // Spread over both subnets.
        let stored: Vec<TaskRecord> = unstopped(ecs.store()).unwrap();
        let subnets: std::collections::BTreeSet<_> = stored
            .iter()
            .map(|s| s.subnet.clone().unwrap().id)
            .collect();
        assert_eq!(subnets.len(), 2);
        assert!(stored.iter().all(|s| s.assign_public_ip));
    }

    #[test]
    fn run_task_rejects_bad_input() {
        let (_d, ecs) = ecs();
        setup(&ecs);
        let err = |extra| run(&ecs, &ctx(), run_input(extra)).unwrap_err();
        assert!(matches!(
            err(serde_json::json!({"count": 11})),
            Error::InvalidParameterException(_)
        ));
        assert!(matches!(
            err(serde_json::json!({"taskDefinition": "nope"})),
            Error::InvalidParameterException(m) if m == "TaskDefinition not found."
        ));
        assert!(matches!(
            err(serde_json::json!({"cluster": "nope"})),
            Error::ClusterNotFoundException(_)
        ));
        assert!(matches!(
            err(serde_json::json!({"networkConfiguration": null})),
            Error::InvalidParameterException(m) if m.contains("Network Configuration must be provided")
        ));
        assert!(matches!(
            err(serde_json::json!({"overrides": {"containerOverrides": [{"name": "ghost"}]}})),
            Error::InvalidParameterException(m) if m.contains("ghost is not a container")
        ));
        assert!(matches!(
            err(serde_json::json!({"overrides": {"cpu": "256", "memory": "8192"}})),
            Error::InvalidParameterException(m) if m.contains("No Fargate configuration exists")
        ));
        assert!(
            unstopped(ecs.store()).unwrap().is_empty(),
            "nothing half-created"
        );
    }

    #[test]
    fn ec2_launch_type_fails_like_a_cluster_without_instances() {
        let (_d, ecs) = ecs();
        setup(&ecs);
        let no_instances = Error::InvalidParameterException(
            "No Container Instances were found in your cluster.".into(),
        );
        // Before: 200 with a failure and no ARN. AWS answers the error.
        let explicit = run(
            &ecs,
            &ctx(),
            run_input(serde_json::json!({"launchType": "EC2"})),
        );
        assert_eq!(explicit.unwrap_err(), no_instances);
        // No launch type and no cluster default strategy: EC2 (before: ran on Fargate).
        let mut input = run_input(serde_json::json!({}));
        input.launch_type = None;
        assert_eq!(run(&ecs, &ctx(), input).unwrap_err(), no_instances);
        // Nothing was written.
        let listed = list(
            &ecs,
            &ctx(),
            ListTasksRequest {
                cluster: Some("c1".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(listed.task_arns.unwrap().is_empty());
    }

    #[test]
    fn the_clusters_default_strategy_places_tasks_without_a_launch_type() {
        let (_d, ecs) = ecs();
        setup(&ecs);
        let strategy: Vec<CapacityProviderStrategyItem> = serde_json::from_value(
            serde_json::json!([{"capacityProvider": "FARGATE_SPOT", "weight": 1}]),
        )
        .unwrap();
        clusters::create(
            &ecs,
            &ctx(),
            CreateClusterRequest {
                cluster_name: Some("spot".into()),
                capacity_providers: Some(vec!["FARGATE_SPOT".into()]),
                default_capacity_provider_strategy: Some(strategy),
                ..Default::default()
            },
        )
        .unwrap();
        let mut input = run_input(serde_json::json!({"cluster": "spot"}));
        input.launch_type = None;
        let task = run(&ecs, &ctx(), input).unwrap().tasks.unwrap().remove(0);
        assert_eq!(task.capacity_provider_name.as_deref(), Some("FARGATE_SPOT"));
    }

    #[test]
    fn fargate_refuses_a_definition_that_is_not_fargate_compatible() {
        let (_d, ecs) = ecs();
        setup(&ecs);
        let td: RegisterTaskDefinitionRequest = serde_json::from_value(serde_json::json!({
            "family": "ec2only",
            "containerDefinitions": [{"name": "app", "image": "img:v1", "memory": 64}]
        }))
        .unwrap();
        task_definitions::register(&ecs, &ctx(), td).unwrap();
        let mut input = run_input(serde_json::json!({}));
        input.task_definition = "ec2only".into();
        input.network_configuration = None;
        assert_eq!(
            run(&ecs, &ctx(), input).unwrap_err(),
            Error::InvalidParameterException(
                "Task definition does not support launch_type FARGATE.".into()
            )
        );
    }

    #[test]
    fn stop_describe_and_list() {
        let (_d, ecs) = ecs();
        setup(&ecs);
        let tasks = run(
            &ecs,
            &ctx(),
            run_input(serde_json::json!({"count": 2, "startedBy": "ci"})),
        )
        .unwrap()
        .tasks
        .unwrap();
        let arn = tasks[0].task_arn.clone().unwrap();
        let stopped = stop(
            &ecs,
            &ctx(),
            StopTaskRequest {
                cluster: Some("c1".into()),
                task: arn.clone(),
                reason: None,
            },
        )
        .unwrap()
        .task
        .unwrap();
        assert_eq!(stopped.desired_status.as_deref(), Some("STOPPED"));
        assert_eq!(
            stopped.stopped_reason.as_deref(),
            Some("Task stopped by user")
        );
        assert_eq!(stopped.stop_code.as_deref(), Some("UserInitiated"));

        let list_with = |v: serde_json::Value| {
            let mut req: ListTasksRequest = serde_json::from_value(v).unwrap();
            req.cluster = Some("c1".into());
            list(&ecs, &ctx(), req).unwrap().task_arns.unwrap()
        };
        assert_eq!(
            list_with(serde_json::json!({})).len(),
            1,
            "RUNNING by default"
        );
        assert_eq!(
            list_with(serde_json::json!({"desiredStatus": "STOPPED"})),
            vec![arn.clone()]
        );
        assert_eq!(list_with(serde_json::json!({"family": "web"})).len(), 1);
        assert_eq!(list_with(serde_json::json!({"family": "other"})).len(), 0);
        assert_eq!(list_with(serde_json::json!({"startedBy": "ci"})).len(), 1);

        let id = arn.rsplit('/').next().unwrap().to_string();
        let d = describe(
            &ecs,
            &ctx(),
            DescribeTasksRequest {
                cluster: Some("c1".into()),
                tasks: vec![id, "0123".into()],
                include: None,
            },
        )
        .unwrap();
        assert_eq!(d.tasks.unwrap()[0].task_arn.as_deref(), Some(arn.as_str()));
        assert_eq!(d.failures.unwrap()[0].reason.as_deref(), Some("MISSING"));
        let missing = stop(
            &ecs,
            &ctx(),
            StopTaskRequest {
                cluster: Some("c1".into()),
                task: "ffff".into(),
                reason: None,
            },
        );
        assert!(matches!(missing, Err(Error::InvalidParameterException(_))));
    }
}
