//! Ships one container's output to its log stream: follows the runtime's log stream and appends
//! whatever lines are ready as one batch, so a quiet container's lines arrive at once and a
//! chatty one's in large writes. Ends after the container's last line is stored.

use futures::StreamExt;
use std::sync::Arc;
use wharf_core::{LogDestination, LogSink, Timestamp};
use wharf_runtime::Runtime;

/// Lines per append at most.
const BATCH: usize = 1000;

/// Follows container `id` from `since` (exclusive) into `dest` until the container exits.
pub async fn pump(
    runtime: Arc<dyn Runtime>,
    sink: Arc<dyn LogSink>,
    id: String,
    dest: LogDestination,
    since: Option<Timestamp>,
) {
    let mut chunks = runtime.follow_logs(&id, since).ready_chunks(BATCH);
    while let Some(chunk) = chunks.next().await {
        let mut lines = Vec::with_capacity(chunk.len());
        let mut failed = None;
        for item in chunk {
            match item {
                Ok(line) => lines.push(line),
                Err(e) => failed = Some(e),
            }
        }
        if !lines.is_empty() {
            let sink = sink.clone();
            let target = dest.clone();
            let stored = tokio::task::spawn_blocking(move || sink.append(&target, &lines)).await;
            match stored {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(group = %dest.group, stream = %dest.stream, error = %e, "cannot store container output")
                }
                Err(e) => tracing::error!(error = %e, "log writer failed"),
            }
        }
        if let Some(e) = failed {
            tracing::warn!(container = %id, error = %e, "container output stream failed");
            break;
        }
    }
}
