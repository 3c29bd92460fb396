//! From a task record to what the runtime runs: each container definition (with the task's
//! overrides) becomes a [`ContainerSpec`], and an `awslogs` log configuration becomes a log
//! destination. Pure functions, unit-tested.

use std::collections::BTreeMap;
use std::time::Duration;
use wharf_core::LogDestination;
use wharf_ecs::records::{ContainerDefinitionRecord, ContainerOverrideRecord, TaskRecord};
use wharf_runtime::{labels, ContainerSpec, HealthCheckSpec, Ulimit};

/// Fargate's default and largest stop timeouts (seconds).
pub const DEFAULT_STOP_TIMEOUT_S: u64 = 30;
const MAX_STOP_TIMEOUT_S: u64 = 120;
const MIB: i64 = 1024 * 1024;

/// The engine-side name of a task's container (or `sandbox`).
pub fn engine_name(task: &TaskRecord, container: &str) -> String {
    format!("wharf-{}-{}", task.id(), container)
}

/// Labels shared by everything wharf instance `instance` makes for `task`.
pub fn task_labels(task: &TaskRecord, instance: &str) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert(labels::MANAGED.into(), "true".into());
    l.insert(labels::INSTANCE.into(), instance.into());
    l.insert(
        labels::TASK_ARN.into(),
        task.task.task_arn.clone().unwrap_or_default(),
    );
    l.insert(
        labels::CLUSTER.into(),
        task.task.cluster_arn.clone().unwrap_or_default(),
    );
    l
}

/// The override for container `name`, if any.
fn override_for<'a>(task: &'a TaskRecord, name: &str) -> Option<&'a ContainerOverrideRecord> {
    task.task
        .overrides
        .as_ref()?
        .container_overrides
        .as_ref()?
        .iter()
        .find(|o| o.name.as_deref() == Some(name))
}

/// How long ECS waits after SIGTERM before SIGKILL for `def`.
pub fn stop_timeout(def: &ContainerDefinitionRecord) -> Duration {
    let secs = def
        .stop_timeout
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(DEFAULT_STOP_TIMEOUT_S)
        .min(MAX_STOP_TIMEOUT_S);
    Duration::from_secs(secs)
}

/// The base URL of the task endpoint when it is served on its usual address (port 80), where
/// SDKs take `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` relative to.
pub const USUAL_TASK_ENDPOINT: &str = "http://169.254.170.2";

/// What the agent adds to a container's environment besides the definition's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Injected<'a> {
    /// The task endpoint's base URL (`http://169.254.170.2`), when one is served.
    pub endpoint: Option<&'a str>,
    /// The id of the task's credentials (only with a task role).
    pub credentials_id: Option<&'a str>,
    /// The container's `secrets`, resolved.
    pub secrets: &'a [(String, String)],
}

/// The id of container `name`'s metadata documents: `/v4/<id>`.
pub fn metadata_id(task: &TaskRecord, name: &str) -> String {
    format!("{}-{}", task.id(), name)
}

/// The environment of container `def`: what Fargate sets (region, the metadata endpoint, the
/// credentials endpoint with a task role, and `AWS_ENDPOINT_URL` so SDKs call wharf), then the
/// definition's, then the overrides', then the resolved secrets (a later entry replaces an
/// earlier one of the same name).
pub fn environment(
    task: &TaskRecord,
    def: &ContainerDefinitionRecord,
    injected: &Injected<'_>,
) -> Vec<(String, String)> {
    let name = def.name.as_deref().unwrap_or_default();
    let mut env: Vec<(String, String)> = vec![
        ("AWS_EXECUTION_ENV".into(), "AWS_ECS_FARGATE".into()),
        ("AWS_REGION".into(), task.region.clone()),
        ("AWS_DEFAULT_REGION".into(), task.region.clone()),
    ];
    if let Some(base) = injected.endpoint {
        let id = metadata_id(task, name);
        env.push((
            "ECS_CONTAINER_METADATA_URI".into(),
            format!("{base}/v3/{id}"),
        ));
        env.push((
            "ECS_CONTAINER_METADATA_URI_V4".into(),
            format!("{base}/v4/{id}"),
        ));
        env.push(("AWS_ENDPOINT_URL".into(), base.to_string()));
        if let Some(creds) = injected.credentials_id {
            let path = format!("/v2/credentials/{creds}");
            if base == USUAL_TASK_ENDPOINT {
                env.push(("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI".into(), path));
            } else {
                env.push((
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
                    format!("{base}{path}"),
                ));
            }
        }
    }
    let mut set = |k: &str, v: &str| match env.iter_mut().find(|(n, _)| n == k) {
        Some(slot) => slot.1 = v.to_string(),
        None => env.push((k.to_string(), v.to_string())),
    };
    for kv in def.environment.iter().flatten() {
        set(
            kv.name.as_deref().unwrap_or_default(),
            kv.value.as_deref().unwrap_or_default(),
        );
    }
    if let Some(o) = override_for(task, name) {
        for kv in o.environment.iter().flatten() {
            set(
                kv.name.as_deref().unwrap_or_default(),
                kv.value.as_deref().unwrap_or_default(),
            );
        }
    }
    for (k, v) in injected.secrets {
        set(k, v);
    }
    env
}

/// The runtime spec of container `def` of `task`, running `image` (the resolved reference),
/// labelled for wharf instance `instance`.
pub fn container_spec(
    task: &TaskRecord,
    def: &ContainerDefinitionRecord,
    image: &str,
    instance: &str,
    injected: &Injected<'_>,
) -> ContainerSpec {
    let name = def.name.clone().unwrap_or_default();
    let o = override_for(task, &name);
    let task_cpu = task
        .task
        .cpu
        .as_deref()
        .and_then(wharf_ecs::fargate::parse_cpu);
    let task_memory = task
        .task
        .memory
        .as_deref()
        .and_then(wharf_ecs::fargate::parse_memory);
    let cpu = o.and_then(|o| o.cpu).or(def.cpu).filter(|c| *c > 0);
    // A container's hard limit is its own `memory`, else the task's: on Fargate a container
    // can use all of the task's memory.
    let memory = o
        .and_then(|o| o.memory)
        .or(def.memory)
        .map(i64::from)
        .or(task_memory.map(i64::from));
    let reservation = o
        .and_then(|o| o.memory_reservation)
        .or(def.memory_reservation)
        .map(i64::from);
    let mut labels = task_labels(task, instance);
    labels.insert(labels::CONTAINER_NAME.into(), name.clone());
    labels.insert(labels::ROLE.into(), "container".into());
    for (k, v) in def.docker_labels.iter().flatten() {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    ContainerSpec {
        name: engine_name(task, &name),
        image: image.to_string(),
        entry_point: def.entry_point.clone().filter(|e| !e.is_empty()),
        command: o
            .and_then(|o| o.command.clone())
            .or(def.command.clone())
            .filter(|c| !c.is_empty()),
        environment: environment(task, def, injected),
        working_directory: def.working_directory.clone().filter(|w| !w.is_empty()),
        user: def.user.clone().filter(|u| !u.is_empty()),
        cpu_shares: cpu.map(|c| i64::from(c).max(2)),
        nano_cpus: task_cpu.map(|c| i64::from(c) * 1_000_000_000 / 1024),
        memory_bytes: memory.map(|m| m * MIB),
        memory_reservation_bytes: reservation.map(|m| m * MIB),
        readonly_rootfs: def.readonly_root_filesystem.unwrap_or(false),
        ulimits: def
            .ulimits
            .iter()
            .flatten()
            .map(|u| Ulimit {
                name: u.name.clone(),
                soft: i64::from(u.soft_limit),
                hard: i64::from(u.hard_limit),
            })
            .collect(),
        health_check: def.health_check.as_ref().map(|h| HealthCheckSpec {
            test: h.command.clone(),
            interval: secs(h.interval, 30),
            timeout: secs(h.timeout, 5),
            retries: h.retries.and_then(|r| u32::try_from(r).ok()).unwrap_or(3),
            start_period: secs(h.start_period, 0),
        }),
        labels,
    }
}

fn secs(v: Option<i32>, default: u64) -> Duration {
    Duration::from_secs(v.and_then(|s| u64::try_from(s).ok()).unwrap_or(default))
}

/// Where an `awslogs` container's output goes, and whether the group may be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsLogs {
    /// The stream.
    pub destination: LogDestination,
    /// `awslogs-create-group` is `true`.
    pub create_group: bool,
}

/// The `awslogs` destination of container `def`, if it logs there: group `awslogs-group` in
/// `awslogs-region` (default: the task's), stream `prefix/container-name/task-id` (the task id
/// alone without a prefix).
pub fn awslogs(task: &TaskRecord, def: &ContainerDefinitionRecord) -> Option<AwsLogs> {
    let cfg = def.log_configuration.as_ref()?;
    if cfg.log_driver != "awslogs" {
        return None;
    }
    let opts = cfg.options.clone().unwrap_or_default();
    let group = opts.get("awslogs-group")?.clone();
    let region = opts
        .get("awslogs-region")
        .cloned()
        .unwrap_or_else(|| task.region.clone());
    let name = def.name.as_deref().unwrap_or_default();
    let stream = match opts.get("awslogs-stream-prefix") {
        Some(p) if !p.is_empty() => format!("{p}/{name}/{}", task.id()),
        _ => task.id().to_string(),
    };
    Some(AwsLogs {
        destination: LogDestination {
            account: task.account.clone(),
            region,
            group,
            stream,
        },
        create_group: opts
            .get("awslogs-create-group")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_ecs::records::{
        HealthCheckRecord, KeyValuePairRecord, LogConfigurationRecord, TaskDefinitionDescription,
        TaskDescription, TaskOverrideRecord, TaskResources,
    };

    fn kv(k: &str, v: &str) -> KeyValuePairRecord {
        KeyValuePairRecord {
            name: Some(k.into()),
            value: Some(v.into()),
        }
    }

    fn task(overrides: Vec<ContainerOverrideRecord>) -> TaskRecord {
        TaskRecord {
            task: TaskDescription {
                task_arn: Some("arn:aws:ecs:us-east-1:123456789012:task/c/abc123".into()),
                cluster_arn: Some("arn:aws:ecs:us-east-1:123456789012:cluster/c".into()),
                cpu: Some("512".into()),
                memory: Some("1024".into()),
                overrides: Some(TaskOverrideRecord {
                    container_overrides: Some(overrides),
                    ..Default::default()
                }),
                ..Default::default()
            },
            definition: TaskDefinitionDescription::default(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            subnet: None,
            security_groups: vec![],
            assign_public_ip: false,
            service_name: None,
            resources: TaskResources::default(),
        }
    }

    fn def() -> ContainerDefinitionRecord {
        ContainerDefinitionRecord {
            name: Some("api".into()),
            image: Some("img".into()),
            command: Some(vec!["serve".into()]),
            environment: Some(vec![kv("A", "1"), kv("B", "2")]),
            health_check: Some(HealthCheckRecord {
                command: vec!["CMD".into(), "/testapp".into(), "check".into()],
                interval: Some(5),
                timeout: None,
                retries: Some(2),
                start_period: Some(1),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn overrides_replace_command_and_merge_environment() {
        let t = task(vec![ContainerOverrideRecord {
            name: Some("api".into()),
            command: Some(vec!["exit".into(), "3".into()]),
            environment: Some(vec![kv("B", "override"), kv("C", "3")]),
            memory: Some(300),
            ..Default::default()
        }]);
        let spec = container_spec(&t, &def(), "127.0.0.1:1/img:1", "i", &Injected::default());
        assert_eq!(spec.command, Some(vec!["exit".into(), "3".into()]));
        let env: BTreeMap<_, _> = spec.environment.into_iter().collect();
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "override");
        assert_eq!(env["C"], "3");
        assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_ECS_FARGATE");
        assert_eq!(spec.memory_bytes, Some(300 * MIB));
        assert_eq!(spec.name, "wharf-abc123-api");
        assert_eq!(spec.labels[labels::CONTAINER_NAME], "api");
    }

    #[test]
    fn endpoints_credentials_and_secrets_are_injected() {
        let t = task(vec![]);
        let secrets = vec![("B".to_string(), "from-secret".to_string())];
        let usual = Injected {
            endpoint: Some(USUAL_TASK_ENDPOINT),
            credentials_id: Some("c0ffee"),
            secrets: &secrets,
        };
        let env: BTreeMap<_, _> = environment(&t, &def(), &usual).into_iter().collect();
        assert_eq!(
            env["B"], "from-secret",
            "secrets win over plain environment"
        );
        assert_eq!(env["A"], "1");
        assert_eq!(
            env["ECS_CONTAINER_METADATA_URI_V4"],
            "http://169.254.170.2/v4/abc123-api"
        );
        assert_eq!(
            env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"],
            "/v2/credentials/c0ffee"
        );
        assert_eq!(env["AWS_ENDPOINT_URL"], "http://169.254.170.2");
        assert!(!env.contains_key("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
        // On another port the SDKs need the full URI; without a task role, no credentials.
        let other = Injected {
            endpoint: Some("http://169.254.170.2:41000"),
            credentials_id: Some("c0ffee"),
            secrets: &[],
        };
        let env: BTreeMap<_, _> = environment(&t, &def(), &other).into_iter().collect();
        assert_eq!(
            env["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
            "http://169.254.170.2:41000/v2/credentials/c0ffee"
        );
        let no_role = Injected {
            endpoint: Some(USUAL_TASK_ENDPOINT),
            ..Injected::default()
        };
        let env: BTreeMap<_, _> = environment(&t, &def(), &no_role).into_iter().collect();
        assert!(!env
            .keys()
            .any(|k| k.starts_with("AWS_CONTAINER_CREDENTIALS")));
        assert!(env.contains_key("ECS_CONTAINER_METADATA_URI_V4"));
        // No endpoint served: nothing points at it.
        let env: BTreeMap<_, _> = environment(&t, &def(), &Injected::default())
            .into_iter()
            .collect();
        assert!(!env.keys().any(|k| k.starts_with("ECS_CONTAINER_METADATA")));
    }

    #[test]
    fn task_limits_apply_when_the_container_has_none() {
        let spec = container_spec(&task(vec![]), &def(), "img", "i", &Injected::default());
        assert_eq!(spec.memory_bytes, Some(1024 * MIB));
        assert_eq!(spec.nano_cpus, Some(500_000_000));
        assert_eq!(spec.cpu_shares, None);
        let hc = spec.health_check.expect("health check");
        assert_eq!(hc.interval, Duration::from_secs(5));
        assert_eq!(hc.timeout, Duration::from_secs(5));
        assert_eq!(hc.retries, 2);
    }

    #[test]
    fn stop_timeout_defaults_and_caps() {
        let mut d = def();
        assert_eq!(stop_timeout(&d), Duration::from_secs(30));
        d.stop_timeout = Some(500);
        assert_eq!(stop_timeout(&d), Duration::from_secs(120));
        d.stop_timeout = Some(2);
        assert_eq!(stop_timeout(&d), Duration::from_secs(2));
    }

    #[test]
    fn awslogs_stream_names_follow_the_prefix_rule() {
        let mut d = def();
        assert_eq!(awslogs(&task(vec![]), &d), None);
        let mut opts = BTreeMap::new();
        opts.insert("awslogs-group".to_string(), "/ecs/api".to_string());
        opts.insert("awslogs-region".to_string(), "ap-northeast-2".to_string());
        opts.insert("awslogs-stream-prefix".to_string(), "ecs".to_string());
        d.log_configuration = Some(LogConfigurationRecord {
            log_driver: "awslogs".into(),
            options: Some(opts.clone()),
            secret_options: None,
        });
        let l = awslogs(&task(vec![]), &d).expect("awslogs");
        assert_eq!(l.destination.stream, "ecs/api/abc123");
        assert_eq!(l.destination.region, "ap-northeast-2");
        assert_eq!(l.destination.group, "/ecs/api");
        assert!(!l.create_group);
        opts.insert("awslogs-create-group".to_string(), "true".to_string());
        opts.remove("awslogs-stream-prefix");
        d.log_configuration.as_mut().expect("set").options = Some(opts);
        let l = awslogs(&task(vec![]), &d).expect("awslogs");
        assert!(l.create_group);
        assert_eq!(l.destination.stream, "abc123");
    }
}
