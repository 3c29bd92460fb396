//! Wires the task agent: the Docker Engine (or, without one, a runtime that fails tasks with
//! what to do), ECR as the image resolver, CloudWatch Logs as the log sink, EC2 for subnets
//! and network interfaces, and CloudWatch for the running tasks' utilization metrics.

use anyhow::Context;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use wharf_agent::{Agent, AgentConfig};
use wharf_core::{Clock, ImageResolver, LogSink, NetworkInterfaces, ResolvedImage, Timestamp};
use wharf_runtime::docker::DockerRuntime;
use wharf_runtime::unavailable::Unavailable;
use wharf_runtime::Runtime;
use wharf_store::Store;

/// Tokens are reused until this long before they expire.
const TOKEN_REFRESH_MARGIN_MS: i64 = 60 * 60 * 1000;

/// Resolves task images against wharf's own registry, pulling with tokens it issues itself
/// (cached per account and region).
pub struct EcrImages {
    ecr: Arc<wharf_ecr::Ecr>,
    clock: Arc<dyn Clock>,
    default_account: String,
    default_region: String,
    tokens: Mutex<HashMap<(String, String), (String, Timestamp)>>,
}

impl EcrImages {
    /// A resolver over `ecr`; names on the registry's own host belong to `default_account`.
    pub fn new(ecr: Arc<wharf_ecr::Ecr>, clock: Arc<dyn Clock>, default_account: &str) -> Self {
        Self {
            ecr,
            clock,
            default_account: default_account.into(),
            default_region: "us-east-1".into(),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn password(&self, account: &str, region: &str) -> Option<String> {
        let now = self.clock.now();
        let key = (account.to_string(), region.to_string());
        let mut tokens = self.tokens.lock().ok()?;
        if let Some((password, expires)) = tokens.get(&key) {
            if expires.millis - TOKEN_REFRESH_MARGIN_MS > now.millis {
                return Some(password.clone());
            }
        }
        match self.ecr.issue_token(account, region, now) {
            Ok(t) => {
                tokens.insert(key, (t.password.clone(), t.expires_at));
                Some(t.password)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot issue a registry token for a task");
                None
            }
        }
    }
}

impl ImageResolver for EcrImages {
    fn resolve(&self, image: &str) -> Option<ResolvedImage> {
        let local = self.ecr.resolve_image_name(image)?;
        let account = local
            .account
            .unwrap_or_else(|| self.default_account.clone());
        let region = local.region.unwrap_or_else(|| self.default_region.clone());
        let password = self.password(&account, &region)?;
        Some(ResolvedImage {
            pull_reference: local.pull_reference,
            username: "AWS".into(),
            password,
            server_address: local.registry_host,
        })
    }
}

/// This data directory's instance id (created on first start): the label that tells this
/// wharf's containers from another's on a shared engine.
fn instance_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("instance-id");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let id = text.trim().to_string();
        if !id.is_empty() {
            return Ok(id);
        }
    }
    let id: String = (0..16)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect();
    std::fs::write(&path, format!("{id}\n"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(id)
}

/// The task network settings of `wharf server`.
pub struct TaskNetworkSettings {
    /// Where public addresses come from (`--task-public-cidr`).
    pub public_cidr: String,
    /// How long a task whose subnet cannot reach what it needs waits before it stops
    /// (`--task-network-timeout`).
    pub unreachable_timeout: std::time::Duration,
    /// Whether security groups filter tasks' traffic (`--security-groups`).
    pub security_groups: wharf_agent::SecurityGroupMode,
}

/// Connects to the container engine and builds the agent.
pub async fn build(
    data_dir: &Path,
    store: Arc<Store>,
    images: Arc<dyn ImageResolver>,
    logs: Arc<dyn LogSink>,
    network: Arc<dyn NetworkInterfaces>,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn wharf_core::SecretValues>,
    network_settings: TaskNetworkSettings,
    task_endpoint: Option<String>,
    metrics: (Arc<dyn wharf_core::MetricSink>, wharf_core::MetricTime),
) -> anyhow::Result<Arc<Agent>> {
    let runtime: Arc<dyn Runtime> = match DockerRuntime::connect().await {
        Ok(docker) => Arc::new(docker),
        Err(e) => {
            tracing::warn!(error = %e, "tasks cannot run until a Docker Engine is available; restart wharf once it is");
            println!("  warning: {e}");
            Arc::new(Unavailable::new(e.to_string()))
        }
    };
    let config = AgentConfig {
        public_cidr: network_settings.public_cidr,
        unreachable_timeout: network_settings.unreachable_timeout,
        security_groups: network_settings.security_groups,
        instance: instance_id(data_dir)?,
        task_endpoint,
        ..AgentConfig::default()
    };
    let agent = Agent::new(
        store, runtime, images, logs, network, clock, secrets, config,
    );
    // The running tasks' AWS/ECS CPUUtilization and MemoryUtilization.
    agent.publish_metrics(metrics.0, metrics.1);
    Ok(agent)
}

/// The secret stores a task's `secrets` are read from: a Secrets Manager ARN from Secrets
/// Manager, anything else (an SSM parameter ARN or name) from Parameter Store.
pub struct SecretStores {
    pub secrets_manager: Arc<wharf_secretsmanager::SecretsManager>,
    pub ssm: Arc<wharf_ssm::Ssm>,
}

impl wharf_core::SecretValues for SecretStores {
    fn resolve(
        &self,
        account: &str,
        region: &str,
        value_from: &str,
    ) -> Result<String, wharf_core::SecretValueError> {
        if value_from.starts_with("arn:aws:secretsmanager:") {
            self.secrets_manager
                .value_for_task(account, region, value_from)
        } else {
            self.ssm.value_for_task(account, region, value_from)
        }
    }
}
