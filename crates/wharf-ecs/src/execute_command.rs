//! ExecuteCommand (ECS Exec) as AWS answers it. wharf has no Session Manager, so no session is
//! ever opened: a task run without `enableExecuteCommand` gets AWS's answer for that, and one
//! run with it gets TargetNotConnectedException saying why.

use crate::clusters;
use crate::generated::*;
use crate::names;
use crate::records::{task_key, TaskRecord, TASKS};
use crate::Ecs;
use wharf_core::RequestContext;

/// AWS's answer when the task was run without ECS Exec.
pub const NOT_ENABLED: &str = "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try again or run a new task with execute command enabled and try again.";

/// `ExecuteCommand`.
pub fn execute(
    ecs: &Ecs,
    ctx: &RequestContext,
    input: ExecuteCommandRequest,
) -> Result<ExecuteCommandResponse, Error> {
    if input.command.trim().is_empty() {
        return Err(Error::InvalidParameterException(
            "command can not be empty.".into(),
        ));
    }
    let task = ecs.store.read(|tx| {
        let cluster = clusters::require_active(tx, ctx, input.cluster.as_deref())?;
        let key = task_key(
            &ctx.account_id,
            &ctx.region,
            &cluster.cluster_name.unwrap_or_default(),
            &names::last_segment(&input.task),
        );
        tx.get::<TaskRecord>(TASKS, &key)?.ok_or_else(|| {
            Error::InvalidParameterException("The referenced task was not found.".into())
        })
    })?;
    if let Some(name) = &input.container {
        let known = task
            .task
            .containers
            .iter()
            .flatten()
            .any(|c| c.name.as_deref() == Some(name));
        if !known {
            return Err(Error::InvalidParameterException(format!(
                "The container {name} was not found in the task."
            )));
        }
    }
    if task.task.enable_execute_command != Some(true) {
        return Err(Error::InvalidParameterException(NOT_ENABLED.into()));
    }
    Err(Error::TargetNotConnectedException(
        "The execute command failed: wharf has no Session Manager, so ECS Exec cannot open a session to the task.".into(),
    ))
}
