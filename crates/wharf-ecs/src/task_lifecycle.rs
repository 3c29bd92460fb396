//! The ECS task lifecycle as AWS reports it, as pure functions over a task's
//! [`TaskDescription`]:
//! `lastStatus` only moves forward through PROVISIONING -> PENDING -> ACTIVATING -> RUNNING ->
//! DEACTIVATING -> STOPPING -> DEPROVISIONING -> STOPPED (a task may skip states, e.g. one that
//! fails to pull goes from PENDING to STOPPING), each step stamping the timestamps AWS stamps;
//! a stop request records the first stop code and reason and is never overwritten.

use crate::records::{ContainerRecord, TaskDescription, TaskRecord};
use wharf_core::Timestamp;

/// A task's `lastStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskStatus {
    /// Resources (the network interface) are being set up.
    Provisioning,
    /// Images are being pulled and containers created.
    Pending,
    /// Containers started; load balancers and service discovery being wired.
    Activating,
    /// Running.
    Running,
    /// Being taken out of load balancers.
    Deactivating,
    /// Containers being stopped.
    Stopping,
    /// Resources being released.
    Deprovisioning,
    /// Done.
    Stopped,
}

impl TaskStatus {
    /// Every status, in order.
    pub const ALL: [TaskStatus; 8] = [
        TaskStatus::Provisioning,
        TaskStatus::Pending,
        TaskStatus::Activating,
        TaskStatus::Running,
        TaskStatus::Deactivating,
        TaskStatus::Stopping,
        TaskStatus::Deprovisioning,
        TaskStatus::Stopped,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Activating => "ACTIVATING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Deactivating => "DEACTIVATING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Deprovisioning => "DEPROVISIONING",
            TaskStatus::Stopped => "STOPPED",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The status of `task` (PROVISIONING when unset).
    pub fn of(task: &TaskDescription) -> Self {
        task.last_status
            .as_deref()
            .and_then(Self::parse)
            .unwrap_or(TaskStatus::Provisioning)
    }
}

/// Why a task stopped (`stopCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCode {
    /// It never got to RUNNING (pull failure, missing log group, ...).
    TaskFailedToStart,
    /// An essential container exited.
    EssentialContainerExited,
    /// StopTask.
    UserInitiated,
    /// The service scheduler stopped it.
    ServiceSchedulerInitiated,
}

impl StopCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StopCode::TaskFailedToStart => "TaskFailedToStart",
            StopCode::EssentialContainerExited => "EssentialContainerExited",
            StopCode::UserInitiated => "UserInitiated",
            StopCode::ServiceSchedulerInitiated => "ServiceSchedulerInitiated",
        }
    }
}

/// AWS's wording for the common stop reasons.
pub mod reasons {
    /// StopTask without a reason.
    pub const STOPPED_BY_USER: &str = "Task stopped by user";
    /// An essential container exited.
    pub const ESSENTIAL_EXITED: &str = "Essential container in task exited";
    /// The kernel killed a container over its memory limit.
    pub const OUT_OF_MEMORY: &str = "OutOfMemoryError: Container killed due to memory usage";
}

/// Moves `task` forward to `to`, stamping AWS's timestamps; never moves backwards. Returns
/// whether anything changed.
pub fn advance(task: &mut TaskDescription, to: TaskStatus, now: Timestamp) -> bool {
    let from = TaskStatus::of(task);
    if to <= from && task.last_status.is_some() {
        return false;
    }
    task.last_status = Some(to.as_str().into());
    if to == TaskStatus::Running {
        task.started_at.get_or_insert(now);
    }
    if to >= TaskStatus::Stopping {
        task.stopping_at.get_or_insert(now);
    }
    if to == TaskStatus::Stopped {
        task.execution_stopped_at.get_or_insert(now);
        task.stopped_at.get_or_insert(now);
        task.desired_status = Some("STOPPED".into());
        task.connectivity = Some("DISCONNECTED".into());
    }
    bump(task);
    true
}

/// Asks `task` to stop: desired status STOPPED, with the first stop code and reason kept.
/// Returns whether anything changed.
pub fn request_stop(task: &mut TaskDescription, code: StopCode, reason: &str) -> bool {
    if task.desired_status.as_deref() == Some("STOPPED") && task.stop_code.is_some() {
        return false;
    }
    task.desired_status = Some("STOPPED".into());
    task.stop_code.get_or_insert_with(|| code.as_str().into());
    task.stopped_reason.get_or_insert_with(|| reason.into());
    bump(task);
    true
}

/// Whether the task is asked to stop.
pub fn stop_requested(task: &TaskDescription) -> bool {
    task.desired_status.as_deref() == Some("STOPPED")
}

/// The task's health from its essential containers' health: UNHEALTHY if any is unhealthy,
/// HEALTHY if every one that has a health check is healthy (and at least one has), else
/// UNKNOWN. `has_check(name)` and `essential(name)` come from the task definition.
pub fn task_health(
    containers: &[ContainerRecord],
    essential: impl Fn(&str) -> bool,
    has_check: impl Fn(&str) -> bool,
) -> &'static str {
    let checked: Vec<&ContainerRecord> = containers
        .iter()
        .filter(|c| {
            let name = c.name.as_deref().unwrap_or_default();
            essential(name) && has_check(name)
        })
        .collect();
    if checked
        .iter()
        .any(|c| c.health_status.as_deref() == Some("UNHEALTHY"))
    {
        "UNHEALTHY"
    } else if !checked.is_empty()
        && checked
            .iter()
            .all(|c| c.health_status.as_deref() == Some("HEALTHY"))
    {
        "HEALTHY"
    } else {
        "UNKNOWN"
    }
}

/// Increments the record's `version`, as ECS does on every change.
pub fn bump(task: &mut TaskDescription) {
    task.version = Some(task.version.unwrap_or(0) + 1);
}

impl TaskRecord {
    /// Recomputes the task's health from its containers'.
    pub fn refresh_health(&mut self) {
        let defs = self
            .definition
            .container_definitions
            .as_deref()
            .unwrap_or_default();
        let def = |n: &str| defs.iter().find(|d| d.name.as_deref() == Some(n));
        let health = task_health(
            self.task.containers.as_deref().unwrap_or_default(),
            |n| def(n).is_some_and(|d| d.essential != Some(false)),
            |n| def(n).is_some_and(|d| d.health_check.is_some()),
        );
        self.task.health_status = Some(health.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    fn fresh() -> TaskDescription {
        TaskDescription {
            last_status: Some("PROVISIONING".into()),
            desired_status: Some("RUNNING".into()),
            version: Some(1),
            ..Default::default()
        }
    }

    #[test]
    fn walks_forward_and_stamps_times() {
        let mut task = fresh();
        assert!(advance(&mut task, TaskStatus::Pending, t(1)));
        assert!(advance(&mut task, TaskStatus::Activating, t(2)));
        assert!(advance(&mut task, TaskStatus::Running, t(3)));
        assert_eq!(task.started_at, Some(t(3)));
        assert!(
            !advance(&mut task, TaskStatus::Pending, t(4)),
            "never backwards"
        );
        assert_eq!(task.last_status.as_deref(), Some("RUNNING"));
        assert!(advance(&mut task, TaskStatus::Deactivating, t(5)));
        assert_eq!(task.stopping_at, None);
        assert!(advance(&mut task, TaskStatus::Stopping, t(6)));
        assert_eq!(task.stopping_at, Some(t(6)));
        assert!(advance(&mut task, TaskStatus::Stopped, t(9)));
        assert_eq!(task.stopped_at, Some(t(9)));
        assert_eq!(task.execution_stopped_at, Some(t(9)));
        assert_eq!(task.desired_status.as_deref(), Some("STOPPED"));
        assert_eq!(task.version, Some(7));
    }

    #[test]
    fn a_task_that_fails_to_start_skips_running() {
        let mut task = fresh();
        advance(&mut task, TaskStatus::Pending, t(1));
        request_stop(
            &mut task,
            StopCode::TaskFailedToStart,
            "CannotPullContainerError: x",
        );
        advance(&mut task, TaskStatus::Stopped, t(2));
        assert_eq!(task.started_at, None);
        assert_eq!(task.stopping_at, Some(t(2)));
        assert_eq!(task.stop_code.as_deref(), Some("TaskFailedToStart"));
    }

    #[test]
    fn the_first_stop_reason_wins() {
        let mut task = fresh();
        assert!(request_stop(
            &mut task,
            StopCode::EssentialContainerExited,
            reasons::ESSENTIAL_EXITED
        ));
        assert!(!request_stop(
            &mut task,
            StopCode::UserInitiated,
            reasons::STOPPED_BY_USER
        ));
        assert_eq!(
            task.stopped_reason.as_deref(),
            Some(reasons::ESSENTIAL_EXITED)
        );
        assert_eq!(task.stop_code.as_deref(), Some("EssentialContainerExited"));
        assert!(stop_requested(&task));
    }

    #[test]
    fn health_follows_essential_containers_with_checks() {
        let c = |name: &str, h: &str| ContainerRecord {
            name: Some(name.into()),
            health_status: Some(h.into()),
            ..Default::default()
        };
        let essential = |n: &str| n != "sidecar";
        let checked = |n: &str| n != "nocheck";
        assert_eq!(
            task_health(&[c("app", "UNKNOWN")], essential, checked),
            "UNKNOWN"
        );
        assert_eq!(
            task_health(&[c("app", "HEALTHY")], essential, checked),
            "HEALTHY"
        );
        assert_eq!(
            task_health(
                &[c("app", "HEALTHY"), c("sidecar", "UNHEALTHY")],
                essential,
                checked
            ),
            "HEALTHY"
        );
        assert_eq!(
            task_health(
                &[c("app", "HEALTHY"), c("db", "UNHEALTHY")],
                essential,
                checked
            ),
            "UNHEALTHY"
        );
        assert_eq!(
            task_health(&[c("nocheck", "UNKNOWN")], essential, checked),
            "UNKNOWN"
        );
    }
}
