//! The task endpoint: what the ECS agent serves to the containers of a task at
//! `169.254.170.2` —
//! - `GET /v2/credentials/<id>`: the task role's temporary credentials in the ECS format
//!   (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`), issued by IAM and rotated as it decides;
//! - `GET /v4/<id>`, `/v4/<id>/task`, `/v4/<id>/stats`, `/v4/<id>/task/stats`: the task
//!   metadata endpoint version 4 (`ECS_CONTAINER_METADATA_URI_V4`), and the same documents
//!   under `/v3/`.
//!
//! `<id>` of the metadata documents is `<task id>-<container name>` (see
//! [`crate::container_spec::metadata_id`]); the credentials id is the random one the agent
//! keeps in the task's resources. Only tasks that are not stopped are served.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use wharf_core::{RoleSessions, Timestamp};
use wharf_ecs::records::TaskRecord;
use wharf_ecs::tasks;
use wharf_runtime::Runtime;
use wharf_store::Store;

/// What the endpoint reads.
pub struct TaskEndpoint {
    store: Arc<Store>,
    runtime: Arc<dyn Runtime>,
    roles: Arc<dyn RoleSessions>,
}

impl TaskEndpoint {
    pub fn new(store: Arc<Store>, runtime: Arc<dyn Runtime>, roles: Arc<dyn RoleSessions>) -> Self {
        Self {
            store,
            runtime,
            roles,
        }
    }

    /// The routes of the endpoint (merge them into the server that listens on its address).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/v2/credentials/{id}", get(credentials))
            .route("/v4/{id}", get(container_document))
            .route("/v4/{id}/task", get(task_document))
            .route("/v4/{id}/stats", get(container_stats))
            .route("/v4/{id}/task/stats", get(task_stats))
            .route("/v3/{id}", get(container_document))
            .route("/v3/{id}/task", get(task_document))
            .route("/v3/{id}/stats", get(container_stats))
            .route("/v3/{id}/task/stats", get(task_stats))
            .with_state(self)
    }

    fn unstopped(&self) -> Result<Vec<TaskRecord>, EndpointError> {
        tasks::unstopped(&self.store).map_err(|e| {
            tracing::error!(error = %e, "task endpoint cannot read tasks");
            EndpointError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "cannot read the task records",
            )
        })
    }

    /// The task and container name a metadata id names.
    fn find(&self, id: &str) -> Result<(TaskRecord, String), EndpointError> {
        for task in self.unstopped()? {
            let Some(name) = id
                .strip_prefix(task.id())
                .and_then(|rest| rest.strip_prefix('-'))
            else {
                continue;
            };
            let known = task
                .definition
                .container_definitions
                .iter()
                .flatten()
                .any(|d| d.name.as_deref() == Some(name));
            if known {
                return Ok((task, name.to_string()));
            }
        }
        Err(EndpointError::new(
            StatusCode::NOT_FOUND,
            "InvalidIdInRequest",
            &format!("no running task container has metadata id {id}"),
        ))
    }
}

/// An answer the endpoint refuses with, as the ECS agent words them.
struct EndpointError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl EndpointError {
    fn new(status: StatusCode, code: &'static str, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_string(),
        }
    }
}

impl IntoResponse for EndpointError {
    fn into_response(self) -> Response {
        let body = json!({"code": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

fn error(status: StatusCode, code: &'static str, message: &str) -> Response {
    EndpointError::new(status, code, message).into_response()
}

async fn credentials(State(ep): State<Arc<TaskEndpoint>>, Path(id): Path<String>) -> Response {
    let not_found = || {
        error(
            StatusCode::BAD_REQUEST,
            "InvalidIdInRequest",
            "CredentialsV2Request: Credentials not found",
        )
    };
    let tasks = match ep.unstopped() {
        Ok(t) => t,
        Err(r) => return r.into_response(),
    };
    let Some(task) = tasks
        .into_iter()
        .find(|t| t.resources.credentials_id.as_deref() == Some(id.as_str()))
    else {
        return not_found();
    };
    let Some(role) = task
        .definition
        .task_role_arn
        .clone()
        .filter(|r| !r.is_empty())
    else {
        return not_found();
    };
    let roles = ep.roles.clone();
    let (account, session) = (task.account.clone(), task.id().to_string());
    let issued =
        tokio::task::spawn_blocking(move || roles.credentials_for(&account, &role, &session)).await;
    match issued {
        Ok(Ok(c)) => Json(json!({
            "RoleArn": c.role_arn,
            "AccessKeyId": c.access_key_id,
            "SecretAccessKey": c.secret_access_key,
            "Token": c.session_token,
            "Expiration": iso8601_seconds(c.expiration),
        }))
        .into_response(),
        Ok(Err(why)) => error(StatusCode::BAD_REQUEST, "AccessDenied", &why),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "credentials lookup failed",
        ),
    }
}

async fn container_document(
    State(ep): State<Arc<TaskEndpoint>>,
    Path(id): Path<String>,
) -> Response {
    match ep.find(&id) {
        Ok((task, name)) => Json(container_metadata(&task, &name)).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn task_document(State(ep): State<Arc<TaskEndpoint>>, Path(id): Path<String>) -> Response {
    match ep.find(&id) {
        Ok((task, _)) => Json(task_metadata(&task)).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn container_stats(State(ep): State<Arc<TaskEndpoint>>, Path(id): Path<String>) -> Response {
    let (task, name) = match ep.find(&id) {
        Ok(found) => found,
        Err(r) => return r.into_response(),
    };
    let Some(runtime_id) = task.resources.containers.get(&name) else {
        return Json(Value::Null).into_response();
    };
    Json(
        ep.runtime
            .container_stats(runtime_id)
            .await
            .ok()
            .flatten()
            .unwrap_or(Value::Null),
    )
    .into_response()
}

async fn task_stats(State(ep): State<Arc<TaskEndpoint>>, Path(id): Path<String>) -> Response {
    let (task, _) = match ep.find(&id) {
        Ok(found) => found,
        Err(r) => return r.into_response(),
    };
    let mut out = Map::new();
    for runtime_id in task.resources.containers.values() {
        let stats = ep.runtime.container_stats(runtime_id).await.ok().flatten();
        out.insert(runtime_id.clone(), stats.unwrap_or(Value::Null));
    }
    Json(Value::Object(out)).into_response()
}

/// `2026-11-22T10:00:00Z`, as the ECS agent writes credential expirations.
fn iso8601_seconds(t: Timestamp) -> String {
    let full = t.to_iso8601();
    match full.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => full,
    }
}

fn time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_iso8601()))
}

/// `a.b.c.d/n` -> the subnet's first host with the prefix, as ECS shows the gateway.
fn subnet_gateway(cidr: &str) -> Option<String> {
    let (base, prefix) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = base.parse().ok()?;
    let gateway = std::net::Ipv4Addr::from(u32::from(ip).checked_add(1)?);
    Some(format!("{gateway}/{prefix}"))
}

fn attachment_detail(task: &TaskRecord, name: &str) -> Option<String> {
    task.task
        .attachments
        .iter()
        .flatten()
        .flat_map(|a| a.details.iter().flatten())
        .find(|kv| kv.name.as_deref() == Some(name))
        .and_then(|kv| kv.value.clone())
}

/// The container document of `/v4/<id>`.
pub fn container_metadata(task: &TaskRecord, name: &str) -> Value {
    let def = task
        .definition
        .container_definitions
        .iter()
        .flatten()
        .find(|d| d.name.as_deref() == Some(name));
    let container = task
        .task
        .containers
        .iter()
        .flatten()
        .find(|c| c.name.as_deref() == Some(name));
    let docker_id = task
        .resources
        .containers
        .get(name)
        .cloned()
        .unwrap_or_default();
    let ip = attachment_detail(task, "privateIPv4Address");
    let mut network = json!({
        "NetworkMode": "awsvpc",
        "IPv4Addresses": ip.iter().collect::<Vec<_>>(),
        "AttachmentIndex": 0,
        "DomainNameServers": ["169.254.169.253"],
    });
    if let Some(mac) = attachment_detail(task, "macAddress") {
        network["MACAddress"] = json!(mac);
    }
    if let Some(dns) = attachment_detail(task, "privateDnsName") {
        network["PrivateDNSName"] = json!(dns);
    }
    if let Some(subnet) = &task.subnet {
        network["IPv4SubnetCIDRBlock"] = json!(subnet.cidr_block);
        if let Some(gw) = subnet_gateway(&subnet.cidr_block) {
            network["SubnetGatewayIpv4Address"] = json!(gw);
        }
    }
    let mut doc = json!({
        "DockerId": docker_id,
        "Name": name,
        "DockerName": crate::container_spec::engine_name(task, name),
        "Image": def.and_then(|d| d.image.clone()).unwrap_or_default(),
        "ImageID": container.and_then(|c| c.image_digest.clone()).unwrap_or_default(),
        "Labels": {
            "com.amazonaws.ecs.cluster": task.task.cluster_arn.clone().unwrap_or_default(),
            "com.amazonaws.ecs.container-name": name,
            "com.amazonaws.ecs.task-arn": task.task.task_arn.clone().unwrap_or_default(),
            "com.amazonaws.ecs.task-definition-family": task.definition.family.clone().unwrap_or_default(),
            "com.amazonaws.ecs.task-definition-version": task.definition.revision.unwrap_or_default().to_string(),
        },
        "DesiredStatus": task.task.desired_status.clone().unwrap_or_default(),
        "KnownStatus": container.and_then(|c| c.last_status.clone()).unwrap_or_default(),
        "Limits": {
            "CPU": def.map_or(0, |d| d.cpu.unwrap_or(0)),
            "Memory": def.map_or(0, |d| d.memory.unwrap_or(0)),
        },
        "CreatedAt": time(task.task.created_at),
        "StartedAt": time(task.task.started_at),
        "Type": "NORMAL",
        "ContainerARN": container.and_then(|c| c.container_arn.clone()).unwrap_or_default(),
        "Networks": [network],
        "Snapshotter": "overlayfs",
    });
    if let Some(log) = def.and_then(|d| d.log_configuration.as_ref()) {
        doc["LogDriver"] = json!(log.log_driver);
        doc["LogOptions"] = json!(log.options.clone().unwrap_or_default());
    }
    if let Some(code) = container.and_then(|c| c.exit_code) {
        doc["ExitCode"] = json!(code);
    }
    if let Some(health) = container.and_then(|c| c.health_status.clone()) {
        doc["Health"] = json!({"status": health});
    }
    doc
}

/// The task document of `/v4/<id>/task`.
pub fn task_metadata(task: &TaskRecord) -> Value {
    let cpu = task
        .task
        .cpu
        .as_deref()
        .and_then(|c| c.parse::<f64>().ok())
        .map_or(Value::Null, |units| json!(units / 1024.0));
    let memory = task
        .task
        .memory
        .as_deref()
        .and_then(|m| m.parse::<i64>().ok())
        .map_or(Value::Null, |m| json!(m));
    let containers: Vec<Value> = task
        .definition
        .container_definitions
        .iter()
        .flatten()
        .filter_map(|d| d.name.as_deref())
        .map(|name| container_metadata(task, name))
        .collect();
    let mut doc = json!({
        "Cluster": task.task.cluster_arn.clone().unwrap_or_default(),
        "TaskARN": task.task.task_arn.clone().unwrap_or_default(),
        "Family": task.definition.family.clone().unwrap_or_default(),
        "Revision": task.definition.revision.unwrap_or_default().to_string(),
        "DesiredStatus": task.task.desired_status.clone().unwrap_or_default(),
        "KnownStatus": task.task.last_status.clone().unwrap_or_default(),
        "Limits": {"CPU": cpu, "Memory": memory},
        "PullStartedAt": time(task.task.pull_started_at),
        "PullStoppedAt": time(task.task.pull_stopped_at),
        "AvailabilityZone": task.task.availability_zone.clone().unwrap_or_default(),
        "LaunchType": "FARGATE",
        "Containers": containers,
        "ClockDrift": {
            "ClockErrorBound": 0.5,
            "ReferenceTimestamp": time(task.task.started_at),
            "ClockSynchronizationStatus": "SYNCHRONIZED",
        },
        "EphemeralStorageMetrics": {"Utilized": 0, "Reserved": 20496},
    });
    if let Some(subnet) = &task.subnet {
        doc["VPCID"] = json!(subnet.vpc_id);
    }
    if let Some(service) = &task.service_name {
        doc["ServiceName"] = json!(service);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateways_and_expirations_look_like_ecs() {
        assert_eq!(
            subnet_gateway("172.31.16.0/20").as_deref(),
            Some("172.31.16.1/20")
        );
        assert_eq!(subnet_gateway("nonsense"), None);
        assert_eq!(
            iso8601_seconds(Timestamp::from_millis(1_700_000_000_123)),
            "2023-11-14T22:13:20Z"
        );
    }
}
