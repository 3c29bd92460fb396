//! The records ECS owns and keeps in the store: their tables (name, record type, format) and
//! the list of them the server checks at start ([`TABLES`]).
//!
//! Table names and the JSON of every record are those of the first wharf that stored them
//! (format 1), so a data directory written before the store was versioned reads unchanged.

use crate::generated::{Cluster, Service};
use crate::service_controller::ControllerState;
use crate::task_definitions::{Family, StoredTaskDefinition};
use crate::tasks::StoredTask;
use wharf_store::{Table, TableFormat};

/// Clusters, keyed `account/region/name`.
pub const CLUSTERS: Table<Cluster> = Table::new("ecs.cluster", 1);
/// Task definition revisions, keyed `account/region/family/0000000042`.
pub const TASK_DEFINITIONS: Table<StoredTaskDefinition> = Table::new("ecs.taskdef", 1);
/// Families (their last revision number), keyed `account/region/family`.
pub const FAMILIES: Table<Family> = Table::new("ecs.family", 1);
/// Services, keyed `account/region/cluster/name`.
pub const SERVICES: Table<Service> = Table::new("ecs.service", 1);
/// Tasks, keyed `account/region/cluster/task-id`.
pub const TASKS: Table<StoredTask> = Table::new("ecs.task", 1);
/// The service controller's memory per service (same keys as services).
pub const CONTROLLER_STATE: Table<ControllerState> = Table::new("ecs.service-controller", 1);

/// Every table of ECS with the format this wharf writes.
pub const TABLES: &[TableFormat] = &[
    CLUSTERS.format(),
    TASK_DEFINITIONS.format(),
    FAMILIES.format(),
    SERVICES.format(),
    TASKS.format(),
    CONTROLLER_STATE.format(),
];
