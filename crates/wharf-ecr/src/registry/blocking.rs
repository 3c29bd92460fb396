//! Blocking work (store reads and writes, file I/O, hashing) runs on the blocking pool, never on
//! the reactor; a failed task is the registry's UNKNOWN error.

use super::errors::RegistryError;
use crate::Ecr;
use std::sync::Arc;

/// Runs blocking work (store, files) off the reactor.
pub(super) async fn blocking<T, F>(ecr: &Arc<Ecr>, f: F) -> Result<T, RegistryError>
where
    F: FnOnce(&Ecr) -> Result<T, RegistryError> + Send + 'static,
    T: Send + 'static,
{
    let ecr = ecr.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        f(&ecr)
    })
    .await
    .map_err(|e| RegistryError::internal("a registry task failed", &e))?
}
