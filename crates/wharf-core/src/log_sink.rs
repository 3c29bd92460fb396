//! Where container output goes: the runtime's log pump writes each container's lines through
//! [`LogSink`] (implemented by CloudWatch Logs), so the runtime does not depend on the Logs
//! service and tests can collect lines in memory.

use crate::Timestamp;

/// A log destination: a group and a stream in one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogDestination {
    /// The account that owns the group.
    pub account: String,
    /// The region of the group (the `awslogs-region` option).
    pub region: String,
    /// The log group name (`awslogs-group`).
    pub group: String,
    /// The log stream name (`prefix/container-name/task-id`).
    pub stream: String,
}

/// One line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When the container wrote it.
    pub timestamp: Timestamp,
    /// The line, without its trailing newline.
    pub message: String,
}

/// Why a sink refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogSinkError {
    /// The group does not exist and may not be created.
    #[error("The specified log group does not exist: {0}")]
    GroupNotFound(String),
    /// Anything else (store failure, invalid name...).
    #[error("{0}")]
    Failed(String),
}

/// A destination for container output.
pub trait LogSink: Send + Sync + 'static {
    /// Makes sure the destination's group exists (creating it when `create_group`, as the
    /// `awslogs-create-group` option asks) and that its stream exists.
    fn prepare(&self, dest: &LogDestination, create_group: bool) -> Result<(), LogSinkError>;

    /// Appends `lines` to the destination's stream, in order. Durable when it returns.
    fn append(&self, dest: &LogDestination, lines: &[LogLine]) -> Result<(), LogSinkError>;

    /// The timestamp of the newest event in the destination's stream (`None` when the stream
    /// or group does not exist or is empty). A restarted agent resumes a container's output
    /// after it, so no line is stored twice.
    fn last_timestamp(&self, dest: &LogDestination) -> Result<Option<Timestamp>, LogSinkError>;
}
