//! Task definitions: families of immutable, consecutively numbered revisions. Registration
//! validates what Fargate would refuse and fills in what ECS fills in (host ports, health check
//! defaults, `compatibilities`, `requiresAttributes`); secrets stay `valueFrom` references.

use crate::fargate;
use crate::generated::*;
use crate::names::{self, TaskDefRef};
use crate::paging;
use crate::records::{
    self, FamilyRecord, TaskDefinitionDescription, TaskDefinitionRecord, Wire, FAMILIES,
    TASK_DEFINITIONS,
};
use crate::Ecs;
use std::collections::{BTreeSet, HashSet};
use wharf_core::pagination::paginate_ordered;
use wharf_core::RequestContext;
use wharf_store::{StoreError, Tx};

fn client(msg: impl Into<String>) -> Error {
    Error::ClientException(msg.into())
}

/// Checks one container definition and fills in ECS's defaults.
fn check_container(
    c: &mut ContainerDefinition,
    awsvpc: bool,
    fargate: bool,
    has_exec_role: bool,
) -> Result<(), Error> {
    let name = c.name.clone().unwrap_or_default();
    if name.is_empty() {
        return Err(client("Container.name should not be null or empty."));
    }
    if !names::valid_name(&name) {
        return Err(client(format!(
            "Container.name '{name}' is invalid: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed."
        )));
    }
    if c.image.as_deref().unwrap_or("").trim().is_empty() {
        return Err(client("Container.image should not be null or empty."));
    }
    if c.essential.is_none() {
        c.essential = Some(true);
    }
    // ECS writes these lists back empty when they are left out.
    c.port_mappings.get_or_insert_with(Vec::new);
    c.environment.get_or_insert_with(Vec::new);
    c.mount_points.get_or_insert_with(Vec::new);
    c.volumes_from.get_or_insert_with(Vec::new);
    let mut seen_ports = HashSet::new();
    for pm in c.port_mappings.iter_mut().flatten() {
        let container_port = pm.container_port.unwrap_or(0);
        if !(0..=65535).contains(&container_port)
            || pm.container_port.is_none() && pm.container_port_range.is_none()
        {
            return Err(client(format!(
                "Invalid containerPort {container_port} in container '{name}'."
            )));
        }
        if awsvpc {
            match pm.host_port {
                Some(h) if h != container_port && pm.container_port.is_some() => {
                    return Err(client(
                        "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
                    ))
                }
                _ if pm.container_port.is_some() => pm.host_port = Some(container_port),
                _ => {}
            }
        }
        let protocol = pm.protocol.get_or_insert_with(|| "tcp".into()).clone();
        if pm.container_port.is_some() && !seen_ports.insert((container_port, protocol)) {
            return Err(client(format!(
                "Container '{name}' maps containerPort {container_port} more than once."
            )));
        }
    }
    if let Some(hc) = c.health_check.as_mut() {
        let kind = hc.command.first().map(String::as_str).unwrap_or("");
        if !matches!(kind, "CMD" | "CMD-SHELL" | "NONE") || (kind != "NONE" && hc.command.len() < 2)
        {
            return Err(client(format!(
                "Container '{name}': healthCheck.command must start with CMD or CMD-SHELL followed by the command."
            )));
        }
        let interval = *hc.interval.get_or_insert(30);
        let timeout = *hc.timeout.get_or_insert(5);
        let retries = *hc.retries.get_or_insert(3);
        let start = *hc.start_period.get_or_insert(0);
        if !(5..=300).contains(&interval) {
            return Err(client(format!(
                "Container '{name}': healthCheck.interval must be between 5 and 300 seconds."
            )));
        }
        if !(2..=120).contains(&timeout) {
            return Err(client(format!(
                "Container '{name}': healthCheck.timeout must be between 2 and 120 seconds."
            )));
        }
        if !(1..=10).contains(&retries) {
            return Err(client(format!(
                "Container '{name}': healthCheck.retries must be between 1 and 10."
            )));
        }
        if !(0..=300).contains(&start) {
            return Err(client(format!(
                "Container '{name}': healthCheck.startPeriod must be between 0 and 300 seconds."
            )));
        }
    }
    if let Some(log) = &c.log_configuration {
        if fargate
            && !matches!(
                log.log_driver.as_str(),
                "awslogs" | "splunk" | "awsfirelens"
            )
        {
            return Err(client(format!(
                "Fargate only supports the awslogs, splunk and awsfirelens log drivers; container '{name}' uses '{}'.",
                log.log_driver
            )));
        }
        if log.log_driver == "awslogs" {
            let group = log.options.as_ref().and_then(|o| o.get("awslogs-group"));
            if group.is_none_or(|g| g.is_empty()) {
                return Err(client(format!(
                    "Container '{name}': log driver awslogs requires the option 'awslogs-group'."
                )));
            }
            if fargate && !has_exec_role {
                return Err(client("Fargate requires task definition to have execution role ARN to support log driver awslogs."));
            }
        }
    }
    if c.secrets.as_ref().is_some_and(|s| !s.is_empty()) && !has_exec_role {
        return Err(client(
            "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
        ));
    }
    for s in c.secrets.iter().flatten() {
        if s.name.is_empty() || s.value_from.is_empty() {
            return Err(client(format!(
                "Container '{name}': every secret needs a name and a valueFrom."
            )));
        }
    }
    for e in c.environment.iter().flatten() {
        if e.name.as_deref().unwrap_or("").is_empty() {
            return Err(client(format!(
                "Container '{name}': every environment variable needs a name."
            )));
        }
    }
    Ok(())
}

/// The attributes ECS says a revision requires of the capacity that runs it.
fn requires_attributes(def: &TaskDefinition) -> Vec<Attribute> {
    let mut names = BTreeSet::new();
    names.insert("com.amazonaws.ecs.capability.docker-remote-api.1.18");
    if def.network_mode.as_deref() == Some("awsvpc") {
        names.insert("ecs.capability.task-eni");
    }
    if def.task_role_arn.is_some() {
        names.insert("com.amazonaws.ecs.capability.task-iam-role");
    }
    for c in def.container_definitions.iter().flatten() {
        if c.health_check.is_some() {
            names.insert("ecs.capability.container-health-check");
        }
        if c.log_configuration
            .as_ref()
            .is_some_and(|l| l.log_driver == "awslogs")
        {
            names.insert("com.amazonaws.ecs.capability.logging-driver.awslogs");
            names.insert("com.amazonaws.ecs.capability.docker-remote-api.1.19");
            if def.execution_role_arn.is_some() {
                names.insert("ecs.capability.execution-role-awslogs");
            }
        }
        if def.execution_role_arn.is_some()
            && c.image.as_deref().is_some_and(|i| i.contains(".dkr.ecr."))
        {
            names.insert("ecs.capability.execution-role-ecr-pull");
        }
        for s in c.secrets.iter().flatten() {
            if s.value_from.contains(":secretsmanager:") {
                names.insert("ecs.capability.secrets.asm.environment-variables");
            } else {
                names.insert("ecs.capability.secrets.ssm.environment-variables");
            }
        }
        if c.depends_on.is_some() {
            names.insert("ecs.capability.container-ordering");
        }
    }
    names
        .into_iter()
        .map(|n| Attribute {
            name: n.to_string(),
            ..Default::default()
        })
        .collect()
}

/// Validates a registration; returns the normalised cpu and memory strings.
fn check_registration(input: &mut RegisterTaskDefinitionRequest) -> Result<(), Error> {
    if !names::valid_name(&input.family) {
        return Err(client(format!(
            "Family '{}' is invalid: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.",
            input.family
        )));
    }
    if input.container_definitions.is_empty() {
        return Err(client("Container list cannot be empty."));
    }
    if input.container_definitions.len() > 10 {
        return Err(client("A task definition can have at most 10 containers."));
    }
    let fargate = input
        .requires_compatibilities
        .iter()
        .flatten()
        .any(|c| c == "FARGATE");
    let awsvpc = input.network_mode.as_deref() == Some("awsvpc");
    if fargate && !awsvpc {
        return Err(client("Fargate only supports network mode 'awsvpc'."));
    }
    let cpu = match input.cpu.as_deref() {
        Some(text) => Some(fargate::parse_cpu(text).ok_or_else(|| {
            client(format!("Invalid 'cpu' setting for task '{text}': give CPU units (e.g. 256) or vCPUs (e.g. '1 vCPU')."))
        })?),
        None => None,
    };
    let memory = match input.memory.as_deref() {
        Some(text) => Some(fargate::parse_memory(text).ok_or_else(|| {
            client(format!("Invalid 'memory' setting for task '{text}': give MiB (e.g. 512) or GB (e.g. '1 GB')."))
        })?),
        None => None,
    };
    if fargate {
        let (Some(cpu), Some(memory)) = (cpu, memory) else {
            return Err(client(
                "Fargate requires that 'cpu' and 'memory' be defined at the task level.",
            ));
        };
        if !fargate::valid_combination(cpu, memory) {
            return Err(client(format!(
                "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. See the Amazon ECS documentation for the valid values."
            )));
        }
    }
    input.cpu = cpu.map(|c| c.to_string());
    input.memory = memory.map(|m| m.to_string());

    let has_exec_role = input
        .execution_role_arn
        .as_deref()
        .is_some_and(|a| !a.is_empty());
    let mut seen = HashSet::new();
    for c in &mut input.container_definitions {
        check_container(c, awsvpc, fargate, has_exec_role)?;
        let name = c.name.clone().unwrap_or_default();
        if !seen.insert(name.clone()) {
            return Err(client(format!("Container names must be unique within a task definition: '{name}' appears more than once.")));
        }
        if memory.is_none() && c.memory.is_none() && c.memory_reservation.is_none() {
            // EC2 task definitions may leave task-level memory out; then every container
            // says how much it needs (AWS's wording).
            return Err(client(format!(
                "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
            )));
        }
        if let (Some(task_mem), Some(c_mem)) = (memory, c.memory) {
            if i64::from(c_mem) > i64::from(task_mem) {
                return Err(client(format!(
                    "Invalid 'memory' setting for container '{name}': {c_mem} MiB is more than the task's {task_mem} MiB."
                )));
            }
        }
        if let (Some(task_cpu), Some(c_cpu)) = (cpu, c.cpu) {
            if i64::from(c_cpu) > i64::from(task_cpu) {
                return Err(client(format!(
                    "Invalid 'cpu' setting for container '{name}': {c_cpu} units is more than the task's {task_cpu}."
                )));
            }
        }
    }
    if !input
        .container_definitions
        .iter()
        .any(|c| c.essential == Some(true))
    {
        return Err(client(
            "Task definition does not have any essential container.",
        ));
    }
    for c in &input.container_definitions {
        for d in c.depends_on.iter().flatten() {
            if !seen.contains(&d.container_name) {
                return Err(client(format!(
                    "Container '{}' depends on container '{}', which is not in the task definition.",
                    c.name.as_deref().unwrap_or_default(),
                    d.container_name
                )));
            }
        }
    }
    crate::tags::check(input.tags.as_deref().unwrap_or_default())
}

/// `RegisterTaskDefinition`: the next revision of the family, atomically.
pub fn register(
    ecs: &Ecs,
    ctx: &RequestContext,
    mut input: RegisterTaskDefinitionRequest,
) -> Result<RegisterTaskDefinitionResponse, Error> {
    check_registration(&mut input)?;
    let compatibilities = crate::launch_types::compatibilities(
        input.network_mode.as_deref(),
        input.cpu.as_deref(),
        input.memory.as_deref(),
    );
    let tags = input.tags.take().unwrap_or_default();
    let family = input.family.clone();
    let stored = ecs.store.write(|tx| {
        let fam_key = records::family_key(ctx, &family);
        let mut fam: FamilyRecord = tx.get(FAMILIES, &fam_key)?.unwrap_or_default();
        fam.last_revision += 1;
        let revision = fam.last_revision;
        tx.put(FAMILIES, &fam_key, &fam)?;
        let mut def = TaskDefinition {
            task_definition_arn: Some(names::task_def_arn(ctx, &family, revision)),
            container_definitions: Some(input.container_definitions),
            family: Some(family.clone()),
            task_role_arn: input.task_role_arn,
            execution_role_arn: input.execution_role_arn,
            network_mode: input.network_mode,
            revision: Some(revision),
            volumes: Some(input.volumes.unwrap_or_default()),
            status: Some("ACTIVE".into()),
            requires_attributes: None,
            placement_constraints: Some(input.placement_constraints.unwrap_or_default()),
            compatibilities: Some(compatibilities),
            runtime_platform: input.runtime_platform,
            requires_compatibilities: input.requires_compatibilities,
            cpu: input.cpu,
            memory: input.memory,
            inference_accelerators: input.inference_accelerators,
            pid_mode: input.pid_mode,
            ipc_mode: input.ipc_mode,
            proxy_configuration: input.proxy_configuration,
            registered_at: Some(ctx.now),
            registered_by: Some(ctx.principal_arn.clone()),
            ephemeral_storage: input.ephemeral_storage,
            enable_fault_injection: Some(input.enable_fault_injection.unwrap_or(false)),
            ..Default::default()
        };
        def.requires_attributes = Some(requires_attributes(&def));
        let stored = TaskDefinitionRecord {
            definition: def.into(),
            tags: Wire::from_wire(tags),
        };
        tx.put(
            TASK_DEFINITIONS,
            &records::task_def_key(ctx, &family, revision),
            &stored,
        )?;
        Ok::<_, Error>(stored)
    })?;
    Ok(RegisterTaskDefinitionResponse {
        task_definition: Some(stored.definition.into()),
        // AWS leaves `tags` out of the answer when none were given.
        tags: (!stored.tags.is_empty()).then(|| Wire::into_wire(stored.tags)),
    })
}

/// Finds the revision `r` names: the given revision, or the family's latest ACTIVE one.
pub fn resolve(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    r: &TaskDefRef,
) -> Result<Option<TaskDefinitionRecord>, StoreError> {
    match r.revision {
        Some(rev) => tx.get(
            TASK_DEFINITIONS,
            &records::task_def_key(ctx, &r.family, rev),
        ),
        None => {
            let all: Vec<(String, TaskDefinitionRecord)> =
                tx.list(TASK_DEFINITIONS, &records::family_prefix(ctx, &r.family))?;
            Ok(all
                .into_iter()
                .rev()
                .map(|(_, d)| d)
                .find(|d| d.definition.status.as_deref() == Some("ACTIVE")))
        }
    }
}

/// Resolves a user's reference, or the error ECS gives for one it cannot describe.
pub fn resolve_ref(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    reference: &str,
) -> Result<TaskDefinitionRecord, Error> {
    let r = names::task_def_ref(reference).ok_or_else(|| {
        client(format!("Invalid task definition '{reference}': use family, family:revision or the task definition ARN."))
    })?;
    resolve(tx, ctx, &r)?.ok_or_else(|| client("Unable to describe task definition."))
}

/// `DescribeTaskDefinition`.
pub fn describe(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: DescribeTaskDefinitionRequest,
) -> Result<DescribeTaskDefinitionResponse, Error> {
    let stored = ecs
        .store
        .read(|tx| resolve_ref(tx, ctx, &input.task_definition))?;
    let with_tags = input.include.iter().flatten().any(|i| i == "TAGS");
    Ok(DescribeTaskDefinitionResponse {
        task_definition: Some(stored.definition.into()),
        tags: with_tags.then(|| Wire::into_wire(stored.tags)),
    })
}

fn all_revisions(ecs: &Ecs, ctx: &RequestContext) -> Result<Vec<TaskDefinitionDescription>, Error> {
    let all: Vec<(String, TaskDefinitionRecord)> = ecs
        .store
        .read(|tx| tx.list(TASK_DEFINITIONS, &records::scope(ctx)))?;
    Ok(all.into_iter().map(|(_, s)| s.definition).collect())
}

/// The sort key of a revision: family, then zero-padded revision (the separator sorts below
/// every character a family may contain, so `web` comes before `web-worker`).
fn order_key(d: &TaskDefinitionDescription) -> String {
    format!(
        "{}\u{1}{:010}",
        d.family.as_deref().unwrap_or_default(),
        d.revision.unwrap_or(0)
    )
}

/// `ListTaskDefinitions`: ARNs, filtered by exact family and status, sorted, paginated.
pub fn list(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: ListTaskDefinitionsRequest,
) -> Result<ListTaskDefinitionsResponse, Error> {
    let max = paging::page_size(input.max_results)?;
    let status = input.status.unwrap_or_else(|| "ACTIVE".into());
    let descending = input.sort.as_deref() == Some("DESC");
    let mut defs: Vec<TaskDefinitionDescription> = all_revisions(ecs, ctx)?
        .into_iter()
        .filter(|d| d.status.as_deref() == Some(status.as_str()))
        .filter(|d| {
            input
                .family_prefix
                .as_ref()
                .is_none_or(|f| d.family.as_ref() == Some(f))
        })
        .collect();
    defs.sort_by_key(order_key);
    if descending {
        defs.reverse();
    }
    let (page, next) = paginate_ordered(
        defs,
        order_key,
        input.next_token.as_deref(),
        max,
        descending,
    )
    .map_err(|_| paging::invalid_token())?;
    Ok(ListTaskDefinitionsResponse {
        task_definition_arns: Some(
            page.into_iter()
                .filter_map(|d| d.task_definition_arn)
                .collect(),
        ),
        next_token: next,
    })
}

/// `ListTaskDefinitionFamilies`: ACTIVE families have an ACTIVE revision; INACTIVE ones none.
pub fn list_families(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: ListTaskDefinitionFamiliesRequest,
) -> Result<ListTaskDefinitionFamiliesResponse, Error> {
    let max = paging::page_size(input.max_results)?;
    let mut families: std::collections::BTreeMap<String, bool> = Default::default();
    for d in all_revisions(ecs, ctx)? {
        let family = d.family.clone().unwrap_or_default();
        let active = families.entry(family).or_insert(false);
        *active |= d.status.as_deref() == Some("ACTIVE");
    }
    let status = input.status.unwrap_or_else(|| "ACTIVE".into());
    let names: Vec<String> = families
        .into_iter()
        .filter(|(f, _)| {
            input
                .family_prefix
                .as_ref()
                .is_none_or(|p| f.starts_with(p.as_str()))
        })
        .filter(|(_, active)| match status.as_str() {
            "ACTIVE" => *active,
            "INACTIVE" => !*active,
            _ => true,
        })
        .map(|(f, _)| f)
        .collect();
    let (page, next) = paginate_ordered(
        names,
        |f| f.clone(),
        input.next_token.as_deref(),
        max,
        false,
    )
    .map_err(|_| paging::invalid_token())?;
    Ok(ListTaskDefinitionFamiliesResponse {
        families: Some(page),
        next_token: next,
    })
}

/// Parses a reference that must name a revision (deregister and delete).
fn revision_ref(reference: &str) -> Result<(String, i32), Error> {
    match names::task_def_ref(reference) {
        Some(TaskDefRef {
            family,
            revision: Some(rev),
        }) => Ok((family, rev)),
        Some(TaskDefRef { revision: None, .. }) => Err(client("Revision is missing.")),
        None => match reference.rsplit_once(':') {
            // AWS's answer for a revision that is not a number (`family:latest`).
            Some((_, rev)) if !rev.contains('/') => Err(Error::InvalidParameterException(format!(
                "Invalid revision number. Number: {rev}"
            ))),
            _ => Err(client(format!("Invalid task definition '{reference}'."))),
        },
    }
}

/// `DeregisterTaskDefinition`: the revision becomes INACTIVE (still describable).
pub fn deregister(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: DeregisterTaskDefinitionRequest,
) -> Result<DeregisterTaskDefinitionResponse, Error> {
    let (family, rev) = revision_ref(&input.task_definition)?;
    let def = ecs.store.write(|tx| {
        let key = records::task_def_key(ctx, &family, rev);
        let mut stored: TaskDefinitionRecord = tx
            .get(TASK_DEFINITIONS, &key)?
            .ok_or_else(|| client("The specified task definition does not exist."))?;
        if stored.definition.status.as_deref() == Some("ACTIVE") {
            stored.definition.status = Some("INACTIVE".into());
            stored.definition.deregistered_at = Some(ctx.now);
            tx.put(TASK_DEFINITIONS, &key, &stored)?;
        }
        Ok::<_, Error>(stored.definition)
    })?;
    Ok(DeregisterTaskDefinitionResponse {
        task_definition: Some(def.into()),
    })
}

/// `DeleteTaskDefinitions`: INACTIVE revisions move to DELETE_IN_PROGRESS; others fail.
pub fn delete(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: DeleteTaskDefinitionsRequest,
) -> Result<DeleteTaskDefinitionsResponse, Error> {
    if input.task_definitions.is_empty() || input.task_definitions.len() > 10 {
        return Err(Error::InvalidParameterException(
            "taskDefinitions must have between 1 and 10 items.".into(),
        ));
    }
    ecs.store.write(|tx| {
        let mut done = vec![];
        let mut failures = vec![];
        for reference in &input.task_definitions {
            let fail = |reason: &str| Failure {
                arn: Some(reference.clone()),
                reason: Some(reason.to_string()),
                detail: None,
            };
            let Ok((family, rev)) = revision_ref(reference) else {
                failures.push(fail("The specified task definition identifier is invalid. Specify a valid name or ARN and try again."));
                continue;
            };
            let key = records::task_def_key(ctx, &family, rev);
            let Some(mut stored) = tx.get::<TaskDefinitionRecord>(TASK_DEFINITIONS, &key)? else {
                failures.push(fail("The specified task definition does not exist. Specify a valid account, family, revision and try again."));
                continue;
            };
            match stored.definition.status.as_deref() {
                Some("ACTIVE") => {
                    failures.push(fail("The specified task definition is still in ACTIVE status. Please deregister the target and try again."));
                    continue;
                }
                Some("INACTIVE") => {
                    stored.definition.status = Some("DELETE_IN_PROGRESS".into());
                    stored.definition.delete_requested_at = Some(ctx.now);
                    tx.put(TASK_DEFINITIONS, &key, &stored)?;
                }
                _ => {}
            }
            done.push(TaskDefinition::from(stored.definition));
        }
        Ok(DeleteTaskDefinitionsResponse { task_definitions: Some(done), failures: Some(failures) })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ctx, ecs};

    pub(crate) fn seed_request() -> RegisterTaskDefinitionRequest {
        serde_json::from_value(serde_json::json!({
            "family": "blog-api",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "512",
            "memory": "1024",
            "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            "containerDefinitions": [{
                "name": "api",
                "image": "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/blog-api:v1",
                "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/blog-api"}},
                "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:8000/health"]}
            }]
        }))
        .unwrap()
    }

    #[test]
    fn registers_consecutive_revisions_with_ecs_defaults() {
        let (_d, ecs) = ecs();
        let a = register(&ecs, &ctx(), seed_request())
            .unwrap()
            .task_definition
            .unwrap();
        let b = register(&ecs, &ctx(), seed_request())
            .unwrap()
            .task_definition
            .unwrap();
        assert_eq!(a.revision, Some(1));
        assert_eq!(b.revision, Some(2));
        assert_eq!(
            b.task_definition_arn.as_deref(),
            Some("arn:aws:ecs:us-east-1:123456789012:task-definition/blog-api:2")
        );
        let c = &a.container_definitions.unwrap()[0];
        assert_eq!(c.essential, Some(true));
        assert_eq!(c.port_mappings.as_ref().unwrap()[0].host_port, Some(8000));
        let hc = c.health_check.as_ref().unwrap();
        assert_eq!(
            (hc.interval, hc.timeout, hc.retries, hc.start_period),
            (Some(30), Some(5), Some(3), Some(0))
        );
        assert_eq!(
            c.secrets.as_ref().unwrap()[0].value_from,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
        );
        assert_eq!(
            a.compatibilities,
            Some(vec!["EC2".to_string(), "FARGATE".to_string()])
        );
        let attrs: Vec<String> = a
            .requires_attributes
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert!(attrs.contains(&"ecs.capability.secrets.asm.environment-variables".to_string()));
    }

    #[test]
    fn refuses_what_fargate_refuses() {
        let (_d, ecs) = ecs();
        let mut r = seed_request();
        r.memory = Some("4096".into());
        r.cpu = Some("256".into());
        let e = register(&ecs, &ctx(), r).unwrap_err();
        assert_eq!(e, Error::ClientException("No Fargate configuration exists for given values: 256 CPU, 4096 memory. See the Amazon ECS documentation for the valid values.".into()));
        let mut r = seed_request();
        r.network_mode = Some("bridge".into());
        assert!(
            matches!(register(&ecs, &ctx(), r), Err(Error::ClientException(m)) if m.contains("awsvpc"))
        );
        let mut r = seed_request();
        let dup = r.container_definitions[0].clone();
        r.container_definitions.push(dup);
        assert!(
            matches!(register(&ecs, &ctx(), r), Err(Error::ClientException(m)) if m.contains("unique"))
        );
        let mut r = seed_request();
        r.execution_role_arn = None;
        assert!(
            matches!(register(&ecs, &ctx(), r), Err(Error::ClientException(m)) if m.contains("execution role"))
        );
        let mut r = seed_request();
        r.container_definitions[0].essential = Some(false);
        assert!(
            matches!(register(&ecs, &ctx(), r), Err(Error::ClientException(m)) if m.contains("essential"))
        );
        // nothing was stored by the refusals
        let l = list(&ecs, &ctx(), ListTaskDefinitionsRequest::default()).unwrap();
        assert!(l.task_definition_arns.unwrap().is_empty());
    }

    #[test]
    fn ec2_definitions_default_as_aws_does() {
        let (_d, ecs) = ecs();
        let r: RegisterTaskDefinitionRequest = serde_json::from_value(serde_json::json!({
            "family": "sleep360",
            "containerDefinitions": [{"name": "sleep", "image": "busybox", "memory": 10}]
        }))
        .unwrap();
        let out = register(&ecs, &ctx(), r).unwrap();
        // Before: ["EC2"] and `tags: []`. AWS: ["EXTERNAL", "EC2"], no tags key, and no
        // networkMode (bridge is the behaviour, not a value AWS writes back).
        assert!(out.tags.is_none());
        let td = out.task_definition.unwrap();
        assert_eq!(
            td.compatibilities,
            Some(vec!["EXTERNAL".to_string(), "EC2".to_string()])
        );
        assert_eq!(td.network_mode, None);
        assert_eq!((td.cpu, td.memory), (None, None));
        // Without task-level memory every container says how much it needs.
        let r: RegisterTaskDefinitionRequest = serde_json::from_value(serde_json::json!({
            "family": "nomem",
            "containerDefinitions": [{"name": "app", "image": "busybox"}]
        }))
        .unwrap();
        assert_eq!(
            register(&ecs, &ctx(), r).unwrap_err(),
            client("Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified.")
        );
        let r: RegisterTaskDefinitionRequest = serde_json::from_value(serde_json::json!({
            "family": "reserved", "requiresCompatibilities": ["EC2"],
            "containerDefinitions": [{"name": "app", "image": "busybox", "memoryReservation": 64}]
        }))
        .unwrap();
        register(&ecs, &ctx(), r).unwrap();
    }

    #[test]
    fn errors_use_aws_wording() {
        let (_d, ecs) = ecs();
        register(&ecs, &ctx(), seed_request()).unwrap();
        let dereg = |td: &str| {
            deregister(
                &ecs,
                &ctx(),
                DeregisterTaskDefinitionRequest {
                    task_definition: td.into(),
                },
            )
            .unwrap_err()
        };
        assert_eq!(dereg("blog-api"), client("Revision is missing."));
        assert_eq!(
            dereg("blog-api:latest"),
            Error::InvalidParameterException("Invalid revision number. Number: latest".into())
        );
        let mut r = seed_request();
        r.container_definitions[0].image = None;
        assert_eq!(
            register(&ecs, &ctx(), r).unwrap_err(),
            client("Container.image should not be null or empty.")
        );
        let mut r = seed_request();
        r.container_definitions[0].name = None;
        assert_eq!(
            register(&ecs, &ctx(), r).unwrap_err(),
            client("Container.name should not be null or empty.")
        );
    }

    #[test]
    fn vcpu_notation_is_normalised() {
        let (_d, ecs) = ecs();
        let mut r = seed_request();
        r.cpu = Some("1 vCPU".into());
        r.memory = Some("2 GB".into());
        let d = register(&ecs, &ctx(), r).unwrap().task_definition.unwrap();
        assert_eq!(
            (d.cpu.as_deref(), d.memory.as_deref()),
            (Some("1024"), Some("2048"))
        );
    }

    #[test]
    fn describe_resolves_latest_active_and_deregister_deletes() {
        let (_d, ecs) = ecs();
        for _ in 0..3 {
            register(&ecs, &ctx(), seed_request()).unwrap();
        }
        deregister(
            &ecs,
            &ctx(),
            DeregisterTaskDefinitionRequest {
                task_definition: "blog-api:3".into(),
            },
        )
        .unwrap();
        let d = describe(
            &ecs,
            &ctx(),
            DescribeTaskDefinitionRequest {
                task_definition: "blog-api".into(),
                include: None,
            },
        )
        .unwrap();
        assert_eq!(d.task_definition.unwrap().revision, Some(2));
        let d3 = describe(
            &ecs,
            &ctx(),
            DescribeTaskDefinitionRequest {
                task_definition: "blog-api:3".into(),
                include: None,
            },
        )
        .unwrap();
        assert_eq!(
            d3.task_definition.unwrap().status.as_deref(),
            Some("INACTIVE")
        );
        let del = delete(
            &ecs,
            &ctx(),
            DeleteTaskDefinitionsRequest {
                task_definitions: vec!["blog-api:3".into(), "blog-api:1".into()],
            },
        )
        .unwrap();
        assert_eq!(
            del.task_definitions.unwrap()[0].status.as_deref(),
            Some("DELETE_IN_PROGRESS")
        );
        assert_eq!(del.failures.unwrap().len(), 1);
        let fams =
            list_families(&ecs, &ctx(), ListTaskDefinitionFamiliesRequest::default()).unwrap();
        assert_eq!(fams.families.unwrap(), vec!["blog-api".to_string()]);
        let e = describe(
            &ecs,
            &ctx(),
            DescribeTaskDefinitionRequest {
                task_definition: "nope".into(),
                include: None,
            },
        );
        assert_eq!(
            e.unwrap_err(),
            Error::ClientException("Unable to describe task definition.".into())
        );
    }

    #[test]
    fn list_sorts_by_family_then_revision() {
        let (_d, ecs) = ecs();
        for family in ["web-worker", "web", "web"] {
            let mut r = seed_request();
            r.family = family.into();
            register(&ecs, &ctx(), r).unwrap();
        }
        let arns = list(&ecs, &ctx(), ListTaskDefinitionsRequest::default())
            .unwrap()
            .task_definition_arns
            .unwrap();
        let tails: Vec<&str> = arns.iter().map(|a| a.rsplit('/').next().unwrap()).collect();
        assert_eq!(tails, vec!["web:1", "web:2", "web-worker:1"]);
    }

    #[test]
    fn list_sorts_and_paginates() {
        let (_d, ecs) = ecs();
        for _ in 0..5 {
            register(&ecs, &ctx(), seed_request()).unwrap();
        }
        let mut seen = vec![];
        let mut token = None;
        loop {
            let page = list(
                &ecs,
                &ctx(),
                ListTaskDefinitionsRequest {
                    sort: Some("DESC".into()),
                    max_results: Some(2),
                    next_token: token,
                    ..Default::default()
                },
            )
            .unwrap();
            seen.extend(page.task_definition_arns.unwrap());
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        let revs: Vec<&str> = seen.iter().map(|a| a.rsplit(':').next().unwrap()).collect();
        assert_eq!(revs, vec!["5", "4", "3", "2", "1"]);
    }
}
