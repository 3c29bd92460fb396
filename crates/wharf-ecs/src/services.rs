//! Services: the desired state "keep N copies of this task definition running". This module owns
//! the records — validation, defaults, the `deployments` array that UpdateService rolls forward
//! — and leaves acting on them (starting and stopping tasks) to the service controller
//! (`service_controller`); DescribeServices counts the tasks live.

use crate::checks::{self, check_network};
use crate::clusters;
use crate::errors::invalid;
use crate::generated::*;
use crate::launch_types::{self, Placement};
use crate::names;
use crate::paging;
use crate::records::{
    self, CapacityProviderStrategyItemRecord, ClusterRecord, DeploymentCircuitBreakerRecord,
    DeploymentConfigurationRecord, DeploymentControllerRecord, DeploymentRecord,
    LoadBalancerRecord, NetworkConfigurationRecord, ServiceRecord, TaskDefinitionDescription,
    TaskDefinitionRecord, TaskRecord, Wire, SERVICES, TASKS,
};
use crate::task_definitions;
use crate::task_lifecycle::TaskStatus;
use crate::Ecs;
use wharf_core::pagination::paginate;
use wharf_core::{Arn, RequestContext, TargetGroupInfo};
use wharf_store::{StoreError, Tx};

/// The deployment configuration with AWS's defaults filled in and its bounds checked.
fn deployment_configuration(
    given: Option<DeploymentConfigurationRecord>,
) -> Result<DeploymentConfigurationRecord, Error> {
    let mut c = given.unwrap_or_default();
    let max = *c.maximum_percent.get_or_insert(200);
    let min = *c.minimum_healthy_percent.get_or_insert(100);
    if !(100..=2000).contains(&max) {
        return Err(invalid(format!(
            "deploymentConfiguration.maximumPercent must be between 100 and 2000, got {max}."
        )));
    }
    if !(0..=100).contains(&min) {
        return Err(invalid(format!(
            "deploymentConfiguration.minimumHealthyPercent must be between 0 and 100, got {min}."
        )));
    }
    if c.deployment_circuit_breaker.is_none() {
        c.deployment_circuit_breaker = Some(DeploymentCircuitBreakerRecord {
            enable: false,
            rollback: false,
        });
    }
    Ok(c)
}

/// Checks `loadBalancers` against the task definition's containers and ports.
fn check_load_balancers(
    lbs: &[LoadBalancerRecord],
    def: &TaskDefinitionDescription,
) -> Result<(), Error> {
    for lb in lbs {
        let Some(tg) = lb.target_group_arn.as_deref() else {
            return Err(invalid(
                "loadBalancers[].targetGroupArn is required for Application Load Balancers.",
            ));
        };
        let is_tg = Arn::parse(tg).is_some_and(|a| {
            a.service == "elasticloadbalancing" && a.resource.starts_with("targetgroup/")
        });
        if !is_tg {
            return Err(invalid(format!("Invalid target group ARN '{tg}'.")));
        }
        let container = lb.container_name.as_deref().unwrap_or_default();
        let port = lb.container_port.unwrap_or_default();
        let Some(c) = def
            .container_definitions
            .iter()
            .flatten()
            .find(|c| c.name.as_deref() == Some(container))
        else {
            return Err(invalid(format!(
                "The container {container} does not exist in the task definition."
            )));
        };
        let has_port = c
            .port_mappings
            .iter()
            .flatten()
            .any(|p| p.container_port == Some(port));
        if !has_port {
            return Err(invalid(format!(
                "The container {container} did not have a container port {port} defined."
            )));
        }
    }
    Ok(())
}

/// What ELBv2 says about each target group of `lbs` (fetched before the service's
/// transaction: target groups live in ELBv2's records).
fn target_group_infos(
    ecs: &Ecs,
    ctx: &RequestContext,
    lbs: &[LoadBalancerRecord],
) -> Result<Vec<(String, Option<TargetGroupInfo>)>, Error> {
    let Some(targets) = ecs.targets() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for tg in lbs.iter().filter_map(|lb| lb.target_group_arn.as_deref()) {
        let info = targets
            .target_group(&ctx.account_id, &ctx.region, tg)
            .map_err(Error::ServerException)?;
        out.push((tg.to_string(), info));
    }
    Ok(out)
}

/// Checks that every target group exists, is behind a load balancer and, for awsvpc tasks,
/// takes `ip` targets.
fn check_target_groups(
    infos: &[(String, Option<TargetGroupInfo>)],
    def: &TaskDefinitionDescription,
) -> Result<(), Error> {
    let awsvpc = def.network_mode.as_deref() == Some("awsvpc");
    for (arn, info) in infos {
        let Some(info) = info else {
            return Err(invalid(format!(
                "Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions. (The target group {arn} does not exist.)"
            )));
        };
        if !info.has_load_balancer {
            return Err(invalid(format!(
                "The target group with targetGroupArn {arn} does not have an associated load balancer."
            )));
        }
        if awsvpc && info.target_type != "ip" {
            return Err(invalid(format!(
                "The provided target group {arn} has target type {}, which is incompatible with the awsvpc network mode specified in the task definition.",
                info.target_type
            )));
        }
    }
    Ok(())
}

/// A new deployment id, `ecs-svc/` and 19 digits.
pub(crate) fn deployment_id(ecs: &Ecs) -> String {
    format!("ecs-svc/{}", ecs.ids.chars(19, b"0123456789"))
}

/// A new PRIMARY deployment of `service`'s current settings.
fn new_deployment(ecs: &Ecs, ctx: &RequestContext, service: &ServiceRecord) -> DeploymentRecord {
    let id = deployment_id(ecs);
    DeploymentRecord {
        rollout_state_reason: Some(format!("ECS deployment {id} in progress.")),
        id: Some(id),
        status: Some("PRIMARY".into()),
        task_definition: service.task_definition.clone(),
        desired_count: service.desired_count,
        pending_count: Some(0),
        running_count: Some(0),
        failed_tasks: Some(0),
        created_at: Some(ctx.now),
        updated_at: Some(ctx.now),
        launch_type: service.launch_type.clone(),
        capacity_provider_strategy: service.capacity_provider_strategy.clone(),
        // A deployment shows the platform version LATEST resolved to.
        platform_version: service.platform_version.as_ref().map(|v| {
            if v == "LATEST" {
                "1.4.0".into()
            } else {
                v.clone()
            }
        }),
        platform_family: service.platform_family.clone(),
        network_configuration: service.network_configuration.clone(),
        rollout_state: Some("IN_PROGRESS".into()),
        ..Default::default()
    }
}

fn resolve_definition(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    reference: &str,
) -> Result<TaskDefinitionDescription, Error> {
    let found = match names::task_def_ref(reference) {
        Some(r) => task_definitions::resolve(tx, ctx, &r)?,
        None => None,
    };
    let Some(stored): Option<TaskDefinitionRecord> = found else {
        return Err(Error::ClientException("TaskDefinition not found.".into()));
    };
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
    Ok(stored.definition)
}

/// What CreateService's input says, checked before the store is touched.
struct CreateChecks {
    name: String,
    /// `schedulingStrategy` (REPLICA).
    strategy: String,
    desired: i32,
    /// `launchType` as given (chosen against the cluster in `resolve_create`).
    launch_type: Option<String>,
    load_balancers: Vec<LoadBalancerRecord>,
    network: Option<NetworkConfigurationRecord>,
    /// The task definition reference.
    task_definition: String,
    deployment_configuration: DeploymentConfigurationRecord,
}

/// `CreateService`: checks the input, then in one write checks it against the cluster, the
/// task definition and the target groups and stores the service with its first PRIMARY
/// deployment.
pub fn create(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: CreateServiceRequest,
) -> Result<CreateServiceResponse, Error> {
    let checked = check_create(&input)?;
    let target_groups = target_group_infos(ecs, ctx, &checked.load_balancers)?;
    checks::check_awsvpc_resources(ecs, ctx, checked.network.as_ref())?;
    let service = ecs.store.write(|tx| {
        let (cluster, def, placement) = resolve_create(tx, ctx, &input, &checked, &target_groups)?;
        let cluster_name = cluster.cluster_name.clone().unwrap_or_default();
        let key = records::service_key(ctx, &cluster_name, &checked.name);
        if let Some(existing) = tx.get(SERVICES, &key)? {
            if existing.status.as_deref() != Some("INACTIVE") {
                return Err(invalid("Creation of service was not idempotent."));
            }
        }
        let mut service = new_service(ctx, &input, &checked, &cluster, &def, &placement);
        let deployment = new_deployment(ecs, ctx, &service);
        service.deployments = Some(vec![deployment]);
        tx.put(SERVICES, &key, &service)?;
        Ok::<_, Error>(service)
    })?;
    ecs.notify_services_changed();
    let mut service: Service = service.into();
    // AWS leaves `tags` out of CreateService's answer when none were given.
    if service.tags.as_ref().is_some_and(Vec::is_empty) {
        service.tags = None;
    }
    Ok(CreateServiceResponse {
        service: Some(service),
    })
}

/// CreateService's checks of the input alone, in the order AWS makes them.
fn check_create(input: &CreateServiceRequest) -> Result<CreateChecks, Error> {
    let name = input.service_name.clone();
    if !names::valid_name(&name) {
        return Err(invalid(format!(
            "Invalid service name '{name}': up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed."
        )));
    }
    let strategy = input
        .scheduling_strategy
        .clone()
        .unwrap_or_else(|| "REPLICA".into());
    let desired = match (strategy.as_str(), input.desired_count) {
        ("REPLICA", None) => {
            return Err(invalid(
                "desiredCount is required when schedulingStrategy is REPLICA.",
            ))
        }
        (_, Some(n)) if n < 0 => {
            return Err(invalid(format!("desiredCount must be 0 or more, got {n}.")))
        }
        ("DAEMON", _) => {
            return Err(invalid(
                "The DAEMON scheduling strategy is not supported with the FARGATE launch type.",
            ))
        }
        (_, n) => n.unwrap_or(0),
    };
    if input.capacity_provider_strategy.is_some() && input.launch_type.is_some() {
        return Err(invalid("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."));
    }
    let launch_type = input.launch_type.clone();
    let load_balancers: Vec<LoadBalancerRecord> =
        Wire::from_wire(input.load_balancers.clone().unwrap_or_default());
    if input.health_check_grace_period_seconds.is_some() && load_balancers.is_empty() {
        return Err(invalid(
            "Health check grace period is only valid for services configured to use load balancers",
        ));
    }
    if let Some(g) = input
        .health_check_grace_period_seconds
        .filter(|g| !(0..=2_147_483_647).contains(g))
    {
        return Err(invalid(format!(
            "healthCheckGracePeriodSeconds must be 0 or more, got {g}."
        )));
    }
    let Some(task_definition) = input.task_definition.clone() else {
        return Err(invalid(
            "TaskDefinition must be specified for the ECS deployment controller.",
        ));
    };
    let deployment_configuration =
        deployment_configuration(input.deployment_configuration.clone().map(Into::into))?;
    crate::tags::check(input.tags.as_deref().unwrap_or_default())?;
    Ok(CreateChecks {
        name,
        strategy,
        desired,
        launch_type,
        load_balancers,
        network: input.network_configuration.clone().map(Into::into),
        task_definition,
        deployment_configuration,
    })
}

/// The cluster (`default` is created when none is named) and the task definition of a new
/// service, checked against its launch type, network, load balancers and target groups.
fn resolve_create(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    input: &CreateServiceRequest,
    checked: &CreateChecks,
    target_groups: &[(String, Option<TargetGroupInfo>)],
) -> Result<(ClusterRecord, TaskDefinitionDescription, Placement), Error> {
    let cluster = if input.cluster.is_none() {
        clusters::ensure_default(tx, ctx)?
    } else {
        clusters::require_active(tx, ctx, input.cluster.as_deref())?
    };
    let def = resolve_definition(tx, ctx, &checked.task_definition)?;
    let strategy: Option<Vec<CapacityProviderStrategyItemRecord>> =
        Wire::from_wire(input.capacity_provider_strategy.clone());
    let placement = launch_types::choose(
        checked.launch_type.as_deref(),
        strategy.as_deref(),
        &cluster,
    );
    launch_types::check(&def, placement.launch_type())?;
    if placement.launch_type() == "EC2" && input.platform_version.is_some() {
        return Err(invalid(
            "The platform version must be null when specifying an EC2 launch type.",
        ));
    }
    check_network(checked.network.as_ref(), &def, placement.launch_type())?;
    check_load_balancers(&checked.load_balancers, &def)?;
    check_target_groups(target_groups, &def)?;
    Ok((cluster, def, placement))
}

/// The record of a new ACTIVE service, with AWS's defaults for what the input leaves out (its
/// deployments are added by the caller).
fn new_service(
    ctx: &RequestContext,
    input: &CreateServiceRequest,
    checked: &CreateChecks,
    cluster: &ClusterRecord,
    def: &TaskDefinitionDescription,
    placement: &Placement,
) -> ServiceRecord {
    let cluster_name = cluster.cluster_name.as_deref().unwrap_or_default();
    let on_fargate = placement.launch_type() == "FARGATE";
    let awsvpc = checked
        .network
        .as_ref()
        .is_some_and(|n| n.awsvpc_configuration.is_some());
    ServiceRecord {
        service_arn: Some(names::arn(
            ctx,
            &format!("service/{cluster_name}/{}", checked.name),
        )),
        service_name: Some(checked.name.clone()),
        cluster_arn: cluster.cluster_arn.clone(),
        load_balancers: Some(checked.load_balancers.clone()),
        service_registries: Some(Wire::from_wire(
            input.service_registries.clone().unwrap_or_default(),
        )),
        status: Some("ACTIVE".into()),
        desired_count: Some(checked.desired),
        running_count: Some(0),
        pending_count: Some(0),
        launch_type: match placement {
            Placement::LaunchType(t) => Some(t.clone()),
            Placement::Strategy(_) => None,
        },
        capacity_provider_strategy: match placement {
            Placement::LaunchType(_) => None,
            Placement::Strategy(s) => Some(s.clone()),
        },
        // EC2 services have no platform (AWS shows neither field for them).
        platform_version: on_fargate.then(|| {
            input
                .platform_version
                .clone()
                .unwrap_or_else(|| "LATEST".into())
        }),
        platform_family: on_fargate.then(|| "Linux".into()),
        task_definition: def.task_definition_arn.clone(),
        deployment_configuration: Some(checked.deployment_configuration.clone()),
        deployments: Some(vec![]),
        events: Some(vec![]),
        created_at: Some(ctx.now),
        placement_constraints: Some(Wire::from_wire(
            input.placement_constraints.clone().unwrap_or_default(),
        )),
        placement_strategy: Some(Wire::from_wire(
            input.placement_strategy.clone().unwrap_or_default(),
        )),
        network_configuration: checked.network.clone(),
        health_check_grace_period_seconds: input
            .health_check_grace_period_seconds
            .or(Some(0))
            .filter(|_| !checked.load_balancers.is_empty()),
        scheduling_strategy: Some(checked.strategy.clone()),
        deployment_controller: Some(
            input
                .deployment_controller
                .clone()
                .map(Into::into)
                .unwrap_or(DeploymentControllerRecord {
                    r#type: "ECS".into(),
                }),
        ),
        tags: Some(Wire::from_wire(input.tags.clone().unwrap_or_default())),
        created_by: Some(ctx.principal_arn.clone()),
        enable_ecs_managed_tags: Some(input.enable_ecs_managed_tags.unwrap_or(false)),
        propagate_tags: Some(
            input
                .propagate_tags
                .clone()
                .unwrap_or_else(|| "NONE".into()),
        ),
        enable_execute_command: Some(input.enable_execute_command.unwrap_or(false)),
        availability_zone_rebalancing: Some(
            input
                .availability_zone_rebalancing
                .clone()
                .unwrap_or_else(|| "DISABLED".into()),
        ),
        // The service-linked role ECS uses for load balancers and task network interfaces.
        role_arn: (!checked.load_balancers.is_empty() || awsvpc).then(|| {
            format!(
                "arn:aws:iam::{}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
                ctx.account_id
            )
        }),
        ..Default::default()
    }
}

/// Loads an ACTIVE service for changing it.
fn load_active(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    cluster: Option<&str>,
    service: &str,
) -> Result<(String, ServiceRecord), Error> {
    let cluster = clusters::require_active(tx, ctx, cluster)?;
    let cluster_name = cluster.cluster_name.unwrap_or_default();
    let key = records::service_key(ctx, &cluster_name, &names::service_name(service));
    match tx.get(SERVICES, &key)? {
        None => Err(Error::ServiceNotFoundException("Service not found.".into())),
        Some(s) if s.status.as_deref() != Some("ACTIVE") => Err(Error::ServiceNotActiveException(
            "Service was not ACTIVE.".into(),
        )),
        Some(s) => Ok((key, s)),
    }
}

/// `UpdateService`: a new task definition, network or load balancer configuration, or
/// `forceNewDeployment` starts a new PRIMARY deployment (the previous one becomes ACTIVE);
/// a desired count change alone resizes the current one.
pub fn update(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: UpdateServiceRequest,
) -> Result<UpdateServiceResponse, Error> {
    if let Some(n) = input.desired_count.filter(|n| *n < 0) {
        return Err(invalid(format!("desiredCount must be 0 or more, got {n}.")));
    }
    let new_lbs: Option<Vec<LoadBalancerRecord>> = Wire::from_wire(input.load_balancers.clone());
    let new_network: Option<NetworkConfigurationRecord> =
        input.network_configuration.clone().map(Into::into);
    let target_groups = target_group_infos(ecs, ctx, new_lbs.as_deref().unwrap_or_default())?;
    checks::check_awsvpc_resources(ecs, ctx, new_network.as_ref())?;
    let service = ecs.store.write(|tx| {
        let (key, mut s) = load_active(tx, ctx, input.cluster.as_deref(), &input.service)?;
        let mut redeploy = input.force_new_deployment.unwrap_or(false);
        let mut def = resolve_definition(tx, ctx, s.task_definition.as_deref().unwrap_or_default())
            .or_else(|_| task_definitions::resolve_ref(tx, ctx, s.task_definition.as_deref().unwrap_or_default()).map(|d| d.definition))?;
        if let Some(r) = &input.task_definition {
            let new_def = resolve_definition(tx, ctx, r)?;
            if new_def.task_definition_arn != s.task_definition {
                redeploy = true;
            }
            def = new_def;
        }
        let launch_type = s.launch_type.clone().unwrap_or_else(|| "FARGATE".into());
        launch_types::check(&def, &launch_type)?;
        if let Some(net) = &new_network {
            if Some(net) != s.network_configuration.as_ref() {
                redeploy = true;
            }
            s.network_configuration = Some(net.clone());
        }
        check_network(s.network_configuration.as_ref(), &def, &launch_type)?;
        if let Some(lbs) = &new_lbs {
            if Some(lbs) != s.load_balancers.as_ref() {
                redeploy = true;
            }
            s.load_balancers = Some(lbs.clone());
        }
        check_load_balancers(s.load_balancers.as_deref().unwrap_or_default(), &def)?;
        check_target_groups(&target_groups, &def)?;
        if let Some(g) = input.health_check_grace_period_seconds {
            if s.load_balancers.as_deref().unwrap_or_default().is_empty() {
                return Err(invalid("Health check grace period is only valid for services configured to use load balancers"));
            }
            s.health_check_grace_period_seconds = Some(g);
        }
        if let Some(dc) = &input.deployment_configuration {
            let mut merged = DeploymentConfigurationRecord::from(dc.clone());
            let current = s.deployment_configuration.clone().unwrap_or_default();
            merged.maximum_percent = merged.maximum_percent.or(current.maximum_percent);
            merged.minimum_healthy_percent = merged.minimum_healthy_percent.or(current.minimum_healthy_percent);
            merged.deployment_circuit_breaker = merged.deployment_circuit_breaker.or(current.deployment_circuit_breaker);
            s.deployment_configuration = Some(deployment_configuration(Some(merged))?);
        }
        if let Some(v) = input.platform_version.clone() {
            redeploy |= s.platform_version.as_deref() != Some(v.as_str());
            s.platform_version = Some(v);
        }
        if let Some(v) = input.enable_execute_command {
            s.enable_execute_command = Some(v);
        }
        if let Some(v) = input.propagate_tags.clone() {
            s.propagate_tags = Some(v);
        }
        if let Some(v) = input.enable_ecs_managed_tags {
            s.enable_ecs_managed_tags = Some(v);
        }
        if let Some(v) = input.availability_zone_rebalancing.clone() {
            s.availability_zone_rebalancing = Some(v);
        }
        if let Some(n) = input.desired_count {
            s.desired_count = Some(n);
        }
        s.task_definition = def.task_definition_arn.clone();
        let mut deployments = s.deployments.take().unwrap_or_default();
        if redeploy {
            for d in deployments.iter_mut().filter(|d| d.status.as_deref() == Some("PRIMARY")) {
                d.status = Some("ACTIVE".into());
                d.updated_at = Some(ctx.now);
            }
            deployments.insert(0, new_deployment(ecs, ctx, &s));
        } else if let Some(primary) = deployments.iter_mut().find(|d| d.status.as_deref() == Some("PRIMARY")) {
            primary.desired_count = s.desired_count;
            primary.updated_at = Some(ctx.now);
        }
        s.deployments = Some(deployments);
        tx.put(SERVICES, &key, &s)?;
        Ok::<_, Error>(s)
    })?;
    ecs.notify_services_changed();
    Ok(UpdateServiceResponse {
        service: Some(service.into()),
    })
}

/// `DescribeServices`: up to 10 services by name or ARN; unknown ones are `MISSING` failures.
pub fn describe(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: DescribeServicesRequest,
) -> Result<DescribeServicesResponse, Error> {
    if input.services.len() > 10 {
        return Err(invalid("services can have a maximum of 10 items."));
    }
    let with_tags = input.include.iter().flatten().any(|i| i == "TAGS");
    ecs.store.read(|tx| {
        let cluster = clusters::require_active(tx, ctx, input.cluster.as_deref()).or_else(|e| {
            match clusters::load(tx, ctx, &names::cluster_name(input.cluster.as_deref()))? {
                Some(c) => Ok(c),
                None => Err(e),
            }
        })?;
        let cluster_name = cluster.cluster_name.unwrap_or_default();
        let mut services = vec![];
        let mut failures = vec![];
        // The cluster's unstopped tasks, read once for every service asked about.
        let mut live: Option<Vec<TaskRecord>> = None;
        for r in &input.services {
            let name = names::service_name(r);
            match tx.get(SERVICES, &records::service_key(ctx, &cluster_name, &name))? {
                Some(mut s) => {
                    if !with_tags {
                        s.tags = None;
                    }
                    if live.is_none() {
                        live = Some(live_tasks(tx, ctx, &cluster_name)?);
                    }
                    let tasks: Vec<&TaskRecord> = live
                        .iter()
                        .flatten()
                        .filter(|t| t.service_name.as_deref() == Some(name.as_str()))
                        .collect();
                    apply_live_counts(&mut s, &tasks);
                    services.push(Service::from(s));
                }
                None => failures.push(Failure {
                    arn: Some(names::arn(ctx, &format!("service/{cluster_name}/{name}"))),
                    reason: Some("MISSING".into()),
                    detail: None,
                }),
            }
        }
        Ok(DescribeServicesResponse {
            services: Some(services),
            failures: Some(failures),
        })
    })
}

/// The tasks of `cluster` that are not STOPPED.
fn live_tasks(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    cluster: &str,
) -> Result<Vec<TaskRecord>, StoreError> {
    let prefix = records::cluster_prefix(ctx, cluster);
    Ok(tx
        .list::<TaskRecord>(TASKS, &prefix)?
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| TaskStatus::of(&t.task) != TaskStatus::Stopped)
        .collect())
}

/// runningCount and pendingCount of the service and of each deployment, as the tasks are now
/// (the controller's stored counts may be a step behind the agent).
fn apply_live_counts(service: &mut ServiceRecord, tasks: &[&TaskRecord]) {
    let count = |deployment: Option<&str>| {
        let mut running = 0;
        let mut pending = 0;
        for t in tasks {
            if deployment.is_some_and(|d| t.task.started_by.as_deref() != Some(d)) {
                continue;
            }
            match TaskStatus::of(&t.task) {
                TaskStatus::Running => running += 1,
                s if s < TaskStatus::Running => pending += 1,
                _ => {}
            }
        }
        (running, pending)
    };
    let (running, pending) = count(None);
    service.running_count = Some(running);
    service.pending_count = Some(pending);
    for d in service.deployments.iter_mut().flatten() {
        let (running, pending) = count(d.id.as_deref());
        d.running_count = Some(running);
        d.pending_count = Some(pending);
    }
}

/// `ListServices`: ARNs of the cluster's ACTIVE and DRAINING services.
pub fn list(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: ListServicesRequest,
) -> Result<ListServicesResponse, Error> {
    let max = match input.max_results {
        None => 10,
        Some(n) if (1..=100).contains(&n) => usize::try_from(n).unwrap_or(10),
        Some(n) => {
            return Err(invalid(format!(
                "maxResults must be between 1 and 100, got {n}."
            )))
        }
    };
    let all = ecs.store.read(|tx| {
        let cluster = clusters::require_active(tx, ctx, input.cluster.as_deref())?;
        let name = cluster.cluster_name.unwrap_or_default();
        Ok::<_, Error>(tx.list(SERVICES, &records::cluster_prefix(ctx, &name))?)
    })?;
    let arns: Vec<String> = all
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| s.status.as_deref() != Some("INACTIVE"))
        .filter(|s| input.launch_type.is_none() || s.launch_type == input.launch_type)
        .filter(|s| {
            input.scheduling_strategy.is_none()
                || s.scheduling_strategy == input.scheduling_strategy
        })
        .filter_map(|s| s.service_arn)
        .collect();
    let (page, next) = paginate(arns, |a| a.clone(), input.next_token.as_deref(), max)
        .map_err(|_| paging::invalid_token())?;
    Ok(ListServicesResponse {
        service_arns: Some(page),
        next_token: next,
    })
}

/// `DeleteService`: refused while scaled above zero unless forced. The answer shows DRAINING;
/// once no task of the service remains it is INACTIVE (the service controller stops the tasks).
pub fn delete(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: DeleteServiceRequest,
) -> Result<DeleteServiceResponse, Error> {
    let service = ecs.store.write(|tx| {
        let (key, mut s) = load_active(tx, ctx, input.cluster.as_deref(), &input.service)?;
        if s.desired_count.unwrap_or(0) > 0 && !input.force.unwrap_or(false) {
            return Err(invalid(
                "The service cannot be stopped while it is scaled above 0.",
            ));
        }
        s.desired_count = Some(0);
        let cluster = names::last_segment(s.cluster_arn.as_deref().unwrap_or_default());
        let name = s.service_name.clone().unwrap_or_default();
        let live = live_tasks(tx, ctx, &cluster)?
            .iter()
            .any(|t| t.service_name.as_deref() == Some(name.as_str()));
        s.status = Some(if live { "DRAINING" } else { "INACTIVE" }.into());
        if let Some(primary) = s
            .deployments
            .iter_mut()
            .flatten()
            .find(|d| d.status.as_deref() == Some("PRIMARY"))
        {
            primary.desired_count = Some(0);
            primary.updated_at = Some(ctx.now);
        }
        tx.put(SERVICES, &key, &s)?;
        let mut shown = s;
        shown.status = Some("DRAINING".into());
        Ok::<_, Error>(shown)
    })?;
    ecs.notify_services_changed();
    Ok(DeleteServiceResponse {
        service: Some(service.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ctx, ecs};

    fn setup(ecs: &Ecs) {
        clusters::create(
            ecs,
            &ctx(),
            CreateClusterRequest {
                cluster_name: Some("blog-cluster".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let td: RegisterTaskDefinitionRequest = serde_json::from_value(serde_json::json!({
            "family": "blog-api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "512", "memory": "1024",
            "containerDefinitions": [{"name": "api", "image": "img:v1", "portMappings": [{"containerPort": 8000}]}]
        }))
        .unwrap();
        task_definitions::register(ecs, &ctx(), td.clone()).unwrap();
        task_definitions::register(ecs, &ctx(), td).unwrap();
    }

    fn seed_service() -> CreateServiceRequest {
        serde_json::from_value(serde_json::json!({
            "cluster": "blog-cluster", "serviceName": "blog-api", "taskDefinition": "blog-api:1",
            "desiredCount": 2, "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-aaa", "subnet-bbb"], "securityGroups": ["sg-fargate"], "assignPublicIp": "ENABLED"}},
            "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-blog-api/6d0ecf831eec9f09", "containerName": "api", "containerPort": 8000}],
            "healthCheckGracePeriodSeconds": 60,
            "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}, "maximumPercent": 200, "minimumHealthyPercent": 100}
        }))
        .unwrap()
    }

    #[test]
    fn creates_the_seed_service_with_one_primary_deployment() {
        let (_d, ecs) = ecs();
        setup(&ecs);
        let s = create(&ecs, &ctx(), seed_service())
            .unwrap()
            .service
            .unwrap();
        assert_eq!(
            s.service_arn.as_deref(),
            Some("arn:aws:ecs:us-east-1:123456789012:service/blog-cluster/blog-api")
        );
        assert_eq!(s.status.as_deref(), Some("ACTIVE"));
        let deps = s.deployments.unwrap();
        assert_eq!(deps.len(), 1);
        assert_eq!(deps[0].status.as_deref(), Some("PRIMARY"));
        assert_eq!(deps[0].rollout_state.as_deref(), Some("IN_PROGRESS"));
        assert!(deps[0].id.as_deref().unwrap().starts_with("ecs-svc/"));
        let again = create(&ecs, &ctx(), seed_service());
        assert!(
            matches!(again, Err(Error::InvalidParameterException(m)) if m.contains("idempotent"))
        );
    }

    #[test]
    fn refuses_inconsistent_services() {
        let (_d, ecs) = ecs();
        setup(&ecs);
        let mut r = seed_service();
        r.network_configuration = None;
        assert!(
            matches!(create(&ecs, &ctx(), r), Err(Error::InvalidParameterException(m)) if m.contains("Network Configuration"))
        );
        let mut r = seed_service();
        r.load_balancers.as_mut().unwrap()[0].container_port = Some(9000);
        assert!(
            matches!(create(&ecs, &ctx(), r), Err(Error::InvalidParameterException(m)) if m.contains("container port 9000"))
        );
        let mut r = seed_service();
        r.cluster = Some("nope".into());
        assert!(matches!(
            create(&ecs, &ctx(), r),
            Err(Error::ClusterNotFoundException(_))
        ));
        let mut r = seed_service();
        r.task_definition = Some("missing:1".into());
        assert!(matches!(
            create(&ecs, &ctx(), r),
            Err(Error::ClientException(_))
        ));
    }

    #[test]
    fn update_rolls_a_new_primary_and_delete_needs_zero_or_force() {
        let (_d, ecs) = ecs();
        setup(&ecs);
        create(&ecs, &ctx(), seed_service()).unwrap();
        let u = UpdateServiceRequest {
            cluster: Some("blog-cluster".into()),
            service: "blog-api".into(),
            task_definition: Some("blog-api:2".into()),
            ..Default::default()
        };
        let s = update(&ecs, &ctx(), u).unwrap().service.unwrap();
        let deps = s.deployments.unwrap();
        assert_eq!(deps.len(), 2);
        assert_eq!(deps[0].status.as_deref(), Some("PRIMARY"));
        assert!(deps[0]
            .task_definition
            .as_deref()
            .unwrap()
            .ends_with("blog-api:2"));
        assert_eq!(deps[1].status.as_deref(), Some("ACTIVE"));
        let d = DeleteServiceRequest {
            cluster: Some("blog-cluster".into()),
            service: "blog-api".into(),
            force: None,
        };
        assert!(matches!(
            delete(&ecs, &ctx(), d.clone()),
            Err(Error::InvalidParameterException(_))
        ));
        let forced = DeleteServiceRequest {
            force: Some(true),
            ..d
        };
        assert_eq!(
            delete(&ecs, &ctx(), forced)
                .unwrap()
                .service
                .unwrap()
                .status
                .as_deref(),
            Some("DRAINING")
        );
        let missing = UpdateServiceRequest {
            cluster: Some("blog-cluster".into()),
            service: "nope".into(),
            ..Default::default()
        };
        assert!(matches!(
            update(&ecs, &ctx(), missing),
            Err(Error::ServiceNotFoundException(_))
        ));
    }
}
