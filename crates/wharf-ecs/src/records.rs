//! The records ECS owns and keeps in the store, their tables (name, record type, format), the
//! list of them the server checks at start ([`TABLES`]) and their store keys.
//!
//! ECS never stores a generated wire type: every record is a type of its own (declared in the
//! submodules with [`record!`](wire::record)), converted member by member to and from its wire
//! twin at the API's edge ([`Wire`]). Table names and the JSON of every record are those of the
//! first wharf that stored them (format 1), so a data directory written before the store was
//! versioned reads unchanged; the tests below hold every record's JSON to its wire twin's.

mod cluster;
mod common;
mod service;
mod task;
mod task_definition;
#[cfg(test)]
mod tests;
mod wire;

pub use cluster::*;
pub use common::*;
pub use service::*;
pub use task::*;
pub use task_definition::*;
pub use wire::Wire;

use crate::names;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use wharf_core::PlacementSubnet;
use wharf_core::RequestContext;
use wharf_store::{Table, TableFormat};

/// Clusters, keyed `account/region/name`.
pub const CLUSTERS: Table<ClusterRecord> = Table::new("ecs.cluster", 1);
/// Task definition revisions, keyed `account/region/family/0000000042`.
pub const TASK_DEFINITIONS: Table<TaskDefinitionRecord> = Table::new("ecs.taskdef", 1);
/// Families (their last revision number), keyed `account/region/family`.
pub const FAMILIES: Table<FamilyRecord> = Table::new("ecs.family", 1);
/// Services, keyed `account/region/cluster/name`.
pub const SERVICES: Table<ServiceRecord> = Table::new("ecs.service", 1);
/// Tasks, keyed `account/region/cluster/task-id`.
pub const TASKS: Table<TaskRecord> = Table::new("ecs.task", 1);
/// The service controller's memory per service (same keys as services).
pub const CONTROLLER_STATE: Table<ControllerState> = Table::new("ecs.service-controller", 1);

/// Account settings, keyed `account/region/<principal ARN>|<name>` (the root user's are the
/// account's defaults).
pub const ACCOUNT_SETTINGS: Table<AccountSettingRecord> = Table::new("ecs.account-setting", 1);

/// One account setting of one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSettingRecord {
    /// `name`.
    pub name: String,
    /// `value`.
    pub value: String,
    /// `principalArn`.
    pub principal_arn: String,
}

/// Every table of ECS with the format this wharf writes.
pub const TABLES: &[TableFormat] = &[
    CLUSTERS.format(),
    TASK_DEFINITIONS.format(),
    FAMILIES.format(),
    SERVICES.format(),
    TASKS.format(),
    CONTROLLER_STATE.format(),
    ACCOUNT_SETTINGS.format(),
];

/// The store-key prefix of everything in the caller's account and region.
pub fn scope(ctx: &RequestContext) -> String {
    format!("{}/{}/", ctx.account_id, ctx.region)
}

/// The store key of cluster `name`.
pub fn cluster_key(ctx: &RequestContext, name: &str) -> String {
    format!("{}{name}", scope(ctx))
}

/// The store key of service `name` in cluster `cluster`.
pub fn service_key(ctx: &RequestContext, cluster: &str, name: &str) -> String {
    format!("{}{cluster}/{name}", scope(ctx))
}

/// The store key of a task definition revision (zero-padded so keys sort by revision).
pub fn task_def_key(ctx: &RequestContext, family: &str, revision: i32) -> String {
    format!("{}{family}/{revision:010}", scope(ctx))
}

/// The store-key prefix of every revision of `family`.
pub fn family_prefix(ctx: &RequestContext, family: &str) -> String {
    format!("{}{family}/", scope(ctx))
}

/// The store key of family `family`'s revision counter.
pub fn family_key(ctx: &RequestContext, family: &str) -> String {
    format!("{}{family}", scope(ctx))
}

/// The store-key prefix of the services, or the tasks, of cluster `cluster`.
pub fn cluster_prefix(ctx: &RequestContext, cluster: &str) -> String {
    format!("{}{cluster}/", scope(ctx))
}

/// `account/region/cluster/task-id`.
pub fn task_key(account: &str, region: &str, cluster: &str, id: &str) -> String {
    format!("{account}/{region}/{cluster}/{id}")
}

/// A revision as stored: the definition and its tags (shown only with `include TAGS`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskDefinitionRecord {
    /// The revision as DescribeTaskDefinition returns it.
    pub definition: TaskDefinitionDescription,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<TagRecord>,
}

/// A family's counter: revisions are never reused, even after deletion.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FamilyRecord {
    /// The last revision number given out.
    pub last_revision: i32,
}

/// A task as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task as DescribeTasks returns it.
    pub task: TaskDescription,
    /// The task definition revision it runs, as it was at launch.
    pub definition: TaskDefinitionDescription,
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// The subnet it was placed in.
    pub subnet: Option<TaskSubnet>,
    /// Security groups of its interface.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Whether it gets a public address.
    #[serde(default)]
    pub assign_public_ip: bool,
    /// The service that started it, if any.
    #[serde(default)]
    pub service_name: Option<String>,
    /// What the agent created for it.
    #[serde(default)]
    pub resources: TaskResources,
}

/// The placement subnet, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSubnet {
    /// `subnet-...`
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its zone.
    pub availability_zone: String,
    /// Its range.
    pub cidr_block: String,
}

impl From<PlacementSubnet> for TaskSubnet {
    fn from(s: PlacementSubnet) -> Self {
        Self {
            id: s.id,
            vpc_id: s.vpc_id,
            availability_zone: s.availability_zone,
            cidr_block: s.cidr_block,
        }
    }
}

/// Runtime objects the agent made for a task, recorded before it relies on them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskResources {
    /// The sandbox container's id.
    pub sandbox_id: Option<String>,
    /// The network interface's id.
    pub eni_id: Option<String>,
    /// Engine container ids by container name.
    #[serde(default)]
    pub containers: BTreeMap<String, String>,
    /// The id of the task's role credentials on the task endpoint
    /// (`/v2/credentials/<id>`), for tasks with a task role.
    #[serde(default)]
    pub credentials_id: Option<String>,
}

impl TaskRecord {
    /// The task id (last ARN segment).
    pub fn id(&self) -> &str {
        self.task
            .task_arn
            .as_deref()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or_default()
    }

    /// The cluster's name.
    pub fn cluster_name(&self) -> String {
        names::cluster_name(self.task.cluster_arn.as_deref())
    }

    /// The store key.
    pub fn key(&self) -> String {
        task_key(&self.account, &self.region, &self.cluster_name(), self.id())
    }

    /// The container definition named `name`.
    pub fn container_definition(&self, name: &str) -> Option<&ContainerDefinitionRecord> {
        self.definition
            .container_definitions
            .iter()
            .flatten()
            .find(|c| c.name.as_deref() == Some(name))
    }

    /// The record of container `name`.
    pub fn container_mut(&mut self, name: &str) -> Option<&mut ContainerRecord> {
        self.task
            .containers
            .iter_mut()
            .flatten()
            .find(|c| c.name.as_deref() == Some(name))
    }
}

/// Launch throttle memory: consecutive launch failures of one PRIMARY deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    /// The PRIMARY deployment the failures were counted for.
    pub deployment_id: String,
    /// Consecutive tasks that stopped before reaching RUNNING.
    pub failures: u32,
    /// When the last of them was noticed, millis.
    pub last_failure_at: i64,
}

/// What the controller remembers between steps; stored beside the service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerState {
    /// Stopped (or stopping) tasks already accounted for (pruned to those still observed).
    pub seen_stopped: BTreeSet<String>,
    /// Tasks deregistered and draining, with the reason they will be stopped with.
    pub removing: BTreeMap<String, String>,
    /// The launch throttle.
    pub throttle: Throttle,
    /// Whether the last step found the service steady (for the steady-state event).
    pub steady: bool,
}
