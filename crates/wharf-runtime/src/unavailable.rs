//! The runtime wharf uses when no container engine answers at start-up: every operation fails
//! with the reason, so tasks stop with `ResourceInitializationError: <what to do>` instead of
//! waiting forever, while the rest of wharf keeps serving.

use crate::{
    ContainerSpec, ContainerStatus, ManagedContainer, NetworkSpec, RegistryAuth, Runtime,
    RuntimeError, Sandbox, SandboxSpec,
};
use async_trait::async_trait;
use futures::stream::BoxStream;
use std::time::Duration;
use wharf_core::{LogLine, Timestamp};

/// A runtime without an engine.
pub struct Unavailable {
    reason: String,
}

impl Unavailable {
    /// Fails everything with `reason` (which should say how to get an engine).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    fn err<T>(&self) -> Result<T, RuntimeError> {
        Err(RuntimeError::Unavailable(self.reason.clone()))
    }
}

#[async_trait]
impl Runtime for Unavailable {
    fn describe(&self) -> String {
        format!("no container engine ({})", self.reason)
    }
    async fn ensure_network(&self, _: &NetworkSpec) -> Result<(), RuntimeError> {
        self.err()
    }
    async fn create_sandbox(&self, _: &SandboxSpec) -> Result<Sandbox, RuntimeError> {
        self.err()
    }
    async fn image_present(&self, _: &str) -> Result<bool, RuntimeError> {
        self.err()
    }
    async fn pull_image(&self, _: &str, _: Option<&RegistryAuth>) -> Result<(), RuntimeError> {
        self.err()
    }
    async fn create_container(
        &self,
        _: &Sandbox,
        _: &ContainerSpec,
    ) -> Result<String, RuntimeError> {
        self.err()
    }
    async fn start_container(&self, _: &str) -> Result<(), RuntimeError> {
        self.err()
    }
    async fn inspect_container(&self, _: &str) -> Result<Option<ContainerStatus>, RuntimeError> {
        self.err()
    }
    async fn stop_container(&self, _: &str, _: Duration) -> Result<(), RuntimeError> {
        self.err()
    }
    async fn remove_container(&self, _: &str) -> Result<(), RuntimeError> {
        self.err()
    }
    fn follow_logs(
        &self,
        _: &str,
        _: Option<Timestamp>,
    ) -> BoxStream<'static, Result<LogLine, RuntimeError>> {
        let err = RuntimeError::Unavailable(self.reason.clone());
        Box::pin(futures::stream::once(async move { Err(err) }))
    }
    async fn list_managed(&self) -> Result<Vec<ManagedContainer>, RuntimeError> {
        self.err()
    }
}
