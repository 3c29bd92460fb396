//! What sampling the stats of running tasks costs wharf (issue 17's benchmark): starts `--tasks`
//! tasks (a sandbox plus one busybox `sleep` container each, as the agent runs them) on the
//! Docker Engine, then runs the agent's own sampler (`wharf_agent::metrics::Sampler`, one
//! one-shot stats call per container, at most `CONCURRENT_STATS` at once) `--rounds` times and
//! reports, per sampling round: the wall time, this process's CPU time (user + system, from
//! `/proc/self/stat`) and the Docker daemon's (from `/proc/<dockerd>/stat`), next to the same
//! measurements over an idle stretch of the same length. Everything it creates carries a run
//! label and is removed at the end, also after an error.
//!
//! ```sh
//! cargo run --release -p wharf-agent --example stats_sampling_bench -- [--tasks 100] [--rounds 5]
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wharf_agent::metrics::Sampler;
use wharf_ecs::records::TaskRecord;
use wharf_runtime::docker::DockerRuntime;
use wharf_runtime::rootfs::TarBuilder;
use wharf_runtime::{ContainerSpec, NetworkSpec, Runtime, SandboxSpec};

const RUN_LABEL: &str = "wharf.bench-run";

fn arg(name: &str, default: usize) -> Result<usize, String> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
        None => Ok(default),
    }
}

/// CPU seconds (user + system) of process `pid` (`self` for this one).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3 on.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux.
    Some((utime + stime) / 100.0)
}

fn busybox_image() -> Result<Vec<u8>, String> {
    let busybox = std::fs::read("/bin/busybox")
        .map_err(|e| format!("/bin/busybox (apt-get install busybox-static): {e}"))?;
    let mut tar = TarBuilder::new();
    tar.dir("bin", 0o755)
        .and_then(|t| t.file("bin/busybox", 0o755, &busybox))
        .and_then(|t| t.symlink("bin/sleep", "busybox"))
        .map_err(|e| e.to_string())?;
    Ok(tar.finish())
}

/// A task record as ECS stores it for a RUNNING Fargate task of 256 CPU units / 512 MiB whose
/// one container is `container_id`.
fn task_record(i: usize, container_id: &str) -> Result<TaskRecord, String> {
    let arn = format!("arn:aws:ecs:us-east-1:123456789012:task/bench/{i:032x}");
    serde_json::from_value(serde_json::json!({
        "task": {
            "taskArn": arn,
            "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/bench",
            "group": "service:bench",
            "lastStatus": "RUNNING",
            "cpu": "256",
            "memory": "512",
            "containers": [{"name": "app", "runtimeId": container_id, "lastStatus": "RUNNING"}],
        },
        "definition": {},
        "account": "123456789012",
        "region": "us-east-1",
    }))
    .map_err(|e| format!("task record: {e}"))
}

struct Bench {
    rt: Arc<DockerRuntime>,
    run: String,
    network: NetworkSpec,
    /// The tasks' addresses: the network's first /20.
    ip_range: String,
    image: String,
}

impl Bench {
    fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(RUN_LABEL.to_string(), self.run.clone())])
    }

    /// Starts task `i`: its sandbox, then its `sleep` container; returns the container's id.
    async fn start_task(&self, i: usize) -> Result<String, String> {
        let sandbox = self
            .rt
            .create_sandbox(&SandboxSpec {
                name: format!("{}-{i}-sandbox", self.run),
                network: self.network.clone(),
                ip_range: self.ip_range.clone(),
                public_network: None,
                hostname: None,
                labels: self.labels(),
            })
            .await
            .map_err(|e| format!("sandbox {i}: {e}"))?;
        let id = self
            .rt
            .create_container(
                &sandbox,
                &ContainerSpec {
                    name: format!("{}-{i}-app", self.run),
                    image: self.image.clone(),
                    command: Some(vec!["/bin/sleep".into(), "3600".into()]),
                    nano_cpus: Some(250_000_000),
                    memory_bytes: Some(512 << 20),
                    labels: self.labels(),
                    ..ContainerSpec::default()
                },
            )
            .await
            .map_err(|e| format!("container {i}: {e}"))?;
        self.rt
            .start_container(&id)
            .await
            .map_err(|e| format!("start {i}: {e}"))?;
        Ok(id)
    }

    /// Removes every container and the network of this run, and the image. Containers go one
    /// at a time (Docker 20.10 can keep a stale endpoint when many leave a network at once),
    /// and the network removal is retried while the engine still counts endpoints.
    async fn clean_up(&self) {
        if let Ok(all) = self.rt.list_managed().await {
            for c in all
                .into_iter()
                .filter(|c| c.labels.get(RUN_LABEL) == Some(&self.run))
            {
                if let Err(e) = self.rt.remove_container(&c.id).await {
                    eprintln!("clean-up: {e}");
                }
            }
        }
        for attempt in 0..20 {
            match self.rt.remove_network(&self.network.name).await {
                Ok(()) => break,
                Err(e) if attempt == 19 => eprintln!("clean-up: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
        let _ = self.rt.remove_image(&self.image).await;
    }
}

async fn measure(bench: &Bench, tasks: usize, rounds: usize) -> Result<(), String> {
    let image = busybox_image()?;
    bench
        .rt
        .import_image(&bench.image, image)
        .await
        .map_err(|e| e.to_string())?;
    bench
        .rt
        .ensure_network(&bench.network)
        .await
        .map_err(|e| format!("{e} (another run's network on {}?)", bench.network.cidr))?;
    let started = Instant::now();
    let mut records = Vec::with_capacity(tasks);
    for i in 0..tasks {
        let id = bench.start_task(i).await?;
        records.push(task_record(i, &id)?);
    }
    println!(
        "started {tasks} tasks ({} containers) in {:.1} s",
        tasks * 2,
        started.elapsed().as_secs_f64()
    );
    let dockerd = std::fs::read_to_string("/var/run/docker.pid")
        .map(|p| p.trim().to_string())
        .unwrap_or_default();
    let runtime: Arc<dyn Runtime> = bench.rt.clone();
    // Two calls alone, one after the other: the engine's latency for a one-shot sample (Docker
    // answers a container's first at once, later ones at its next 1 s stats collection).
    for first in records
        .iter()
        .take(2)
        .filter_map(|r| r.task.containers.as_ref()?.first()?.runtime_id.clone())
    {
        let t = Instant::now();
        let usage = runtime
            .container_usage(&first)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "one stats call: {:.3} s ({})",
            t.elapsed().as_secs_f64(),
            if usage.is_some() {
                "usage read"
            } else {
                "no usage"
            }
        );
    }
    let mut sampler = Sampler::new(runtime);
    // Priming round (first sample of every task), not measured.
    sampler.sample(records.clone(), now_ms()).await;
    let mut walls = Vec::new();
    let (own0, engine0) = (cpu_seconds("self"), cpu_seconds(&dockerd));
    for _ in 0..rounds {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let t = Instant::now();
        let samples = sampler.sample(records.clone(), now_ms()).await;
        walls.push(t.elapsed().as_secs_f64());
        if samples.len() != tasks {
            return Err(format!("{} of {tasks} tasks sampled", samples.len()));
        }
    }
    let (own1, engine1) = (cpu_seconds("self"), cpu_seconds(&dockerd));
    // The same stretch without sampling: what the process and the engine use anyway.
    let idle_len = Duration::from_millis(500) * u32::try_from(rounds).unwrap_or(1)
        + Duration::from_secs_f64(walls.iter().sum());
    let (own2, engine2) = (cpu_seconds("self"), cpu_seconds(&dockerd));
    tokio::time::sleep(idle_len).await;
    let (own3, engine3) = (cpu_seconds("self"), cpu_seconds(&dockerd));
    let per_round = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.3}", (b - a) / rounds as f64),
        _ => "n/a".into(),
    };
    walls.sort_by(f64::total_cmp);
    let median = walls.get(walls.len() / 2).copied().unwrap_or(0.0);
    println!("sampling {tasks} tasks, {rounds} rounds:");
    println!("  wall time per round (median): {median:.3} s");
    println!(
        "  wharf CPU per round: {} s (idle stretch: {} s per round-length)",
        per_round(own0, own1),
        per_round(own2, own3)
    );
    println!(
        "  dockerd CPU per round: {} s (idle stretch: {} s per round-length)",
        per_round(engine0, engine1),
        per_round(engine2, engine3)
    );
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn main() -> Result<(), String> {
    let tasks = arg("--tasks", 100)?.clamp(1, 500);
    let rounds = arg("--rounds", 5)?.clamp(1, 50);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let rt = Arc::new(DockerRuntime::connect().await.map_err(|e| e.to_string())?);
        let run = format!("wharf-bench-{}", std::process::id());
        // A /16 of 10.200-249 by process id: runs never share a range.
        let octet = 200 + std::process::id() % 50;
        let bench = Bench {
            network: NetworkSpec {
                name: run.clone(),
                cidr: format!("10.{octet}.0.0/16"),
                labels: BTreeMap::from([(RUN_LABEL.to_string(), run.clone())]),
            },
            ip_range: format!("10.{octet}.0.0/20"),
            image: format!("wharf-bench-busybox:{}", std::process::id()),
            rt,
            run,
        };
        let outcome =
            tokio::time::timeout(Duration::from_secs(600), measure(&bench, tasks, rounds))
                .await
                .unwrap_or_else(|_| Err("gave up after 600 s".into()));
        bench.clean_up().await;
        outcome
    })
}
