//! The Docker backend against the real engine (scripts/test.sh starts one with
//! scripts/ensure-docker.sh before the tests). Without an engine these tests fail with the
//! backend's Unavailable message: they never skip.
//!
//! No internet: the test image is imported from a tar holding the host's static
//! `/bin/busybox` (Debian's busybox-static) and applet symlinks. Every test runs in its own
//! world: a unique run id labels everything it creates (`wharf.test-run`), its networks use
//! their own /24 inside 10.251.0.0/16 (nextest runs tests in parallel processes), and the
//! clean-up removes its containers, networks and image even when the test fails. The shared
//! `wharf/pause` image is left in place (it is the product's, used by every test).

use futures::{FutureExt, StreamExt};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wharf_core::{LogLine, Timestamp};
use wharf_runtime::docker::DockerRuntime;
use wharf_runtime::rootfs::TarBuilder;
use wharf_runtime::{
    labels, ContainerSpec, ContainerStatus, Health, HealthCheckSpec, NetworkSpec, Runtime,
    RuntimeError, Sandbox, SandboxSpec,
};

/// Generous: CI machines are small and the engine may be busy with other tests.
const DEADLINE: Duration = Duration::from_secs(90);
/// The label every test object carries, valued with the run id.
const RUN_LABEL: &str = "wharf.test-run";
/// Busybox applets the test image links.
const APPLETS: &[&str] = &[
    "sh", "sleep", "echo", "cat", "head", "tr", "wget", "nc", "httpd", "mkdir", "hostname", "id",
    "pwd", "seq", "true", "false",
];

/// One test's world.
struct Env {
    rt: Arc<DockerRuntime>,
    /// Unique per test process and test.
    run: String,
    /// The busybox image, `wharf-test-busybox:<run>`.
    image: String,
}

async fn engine() -> DockerRuntime {
    match DockerRuntime::connect().await {
        Ok(rt) => rt,
        Err(e) => panic!(
            "these tests need a Docker Engine (scripts/test.sh starts one with \
             scripts/ensure-docker.sh): {e}"
        ),
    }
}

fn busybox_rootfs() -> Vec<u8> {
    let busybox = std::fs::read("/bin/busybox").unwrap_or_else(|e| {
        panic!("/bin/busybox is needed for the test image (apt-get install busybox-static): {e}")
    });
    let mut tar = TarBuilder::new();
    let built = tar
        .dir("bin", 0o755)
        .and_then(|t| t.file("bin/busybox", 0o755, &busybox))
        .and_then(|t| t.dir("tmp", 0o1777))
        .and_then(|t| t.dir("www", 0o755))
        .and_then(|t| t.file("www/index.html", 0o644, b"hello from the task\n"));
    if let Err(e) = built {
        panic!("cannot build the test image: {e}");
    }
    for applet in APPLETS {
        if let Err(e) = tar.symlink(&format!("bin/{applet}"), "busybox") {
            panic!("cannot build the test image: {e}");
        }
    }
    tar.finish()
}

/// Runs `body` in a fresh world and cleans up after it, also when it panics.
async fn with_env<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Arc<Env>) -> Fut,
    Fut: Future<Output = ()>,
{
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let run = format!("{test}-{}-{nanos:08x}", std::process::id());
    let rt = Arc::new(engine().await);
    let image = format!("wharf-test-busybox:{run}");
    if let Err(e) = rt.import_image(&image, busybox_rootfs()).await {
        panic!("cannot import the test image {image}: {e}");
    }
    let env = Arc::new(Env { rt, run, image });
    let outcome = AssertUnwindSafe(body(env.clone())).catch_unwind().await;
    env.cleanup().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

impl Env {
    fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(RUN_LABEL.to_string(), self.run.clone())])
    }

    /// A network of this test: `10.251.<octet>.0/24`, removing what a crashed earlier run of
    /// the same test left on that range.
    async fn network(&self, octet: u8) -> NetworkSpec {
        let cidr = format!("10.251.{octet}.0/24");
        self.reclaim(&cidr).await;
        let spec = NetworkSpec {
            name: format!("wharf-test-{}-{octet}", self.run),
            cidr,
            labels: self.labels(),
        };
        if let Err(e) = self.rt.ensure_network(&spec).await {
            panic!("ensure_network {}: {e}", spec.name);
        }
        spec
    }

    async fn reclaim(&self, cidr: &str) {
        let networks = self.rt.managed_networks().await.unwrap_or_default();
        for stale in networks.iter().filter(|n| n.cidr == cidr) {
            let Some(stale_run) = stale.labels.get(RUN_LABEL) else {
                continue;
            };
            eprintln!("removing {} left by an earlier run", stale.name);
            remove_run_containers(&self.rt, stale_run).await;
            let _ = self.rt.remove_network(&stale.name).await;
        }
    }

    fn sandbox_spec(
        &self,
        name: &str,
        net: &NetworkSpec,
        public: Option<&NetworkSpec>,
    ) -> SandboxSpec {
        let mut labels = self.labels();
        labels.insert(labels::ROLE.into(), "sandbox".into());
        SandboxSpec {
            name: format!("wharf-test-{}-{name}", self.run),
            network: net.clone(),
            ip_range: net.cidr.clone(),
            public_network: public.cloned(),
            hostname: Some(format!("{name}.wharf.internal")),
            labels,
        }
    }

    async fn sandbox(&self, name: &str, net: &NetworkSpec) -> Sandbox {
        let spec = self.sandbox_spec(name, net, None);
        match self.rt.create_sandbox(&spec).await {
            Ok(s) => s,
            Err(e) => panic!("create_sandbox {name}: {e}"),
        }
    }

    fn container_spec(&self, name: &str, script: &str) -> ContainerSpec {
        let mut labels = self.labels();
        labels.insert(labels::CONTAINER_NAME.into(), name.into());
        labels.insert(labels::ROLE.into(), "container".into());
        ContainerSpec {
            name: format!("wharf-test-{}-{name}", self.run),
            image: self.image.clone(),
            entry_point: Some(vec!["/bin/sh".into(), "-c".into()]),
            command: Some(vec![script.into()]),
            labels,
            ..Default::default()
        }
    }

    async fn create(&self, sandbox: &Sandbox, spec: &ContainerSpec) -> String {
        match self.rt.create_container(sandbox, spec).await {
            Ok(id) => id,
            Err(e) => panic!("create_container {}: {e}", spec.name),
        }
    }

    async fn run(&self, sandbox: &Sandbox, spec: &ContainerSpec) -> String {
        let id = self.create(sandbox, spec).await;
        if let Err(e) = self.rt.start_container(&id).await {
            panic!("start_container {}: {e}", spec.name);
        }
        id
    }

    async fn inspect(&self, id: &str) -> ContainerStatus {
        match self.rt.inspect_container(id).await {
            Ok(Some(s)) => s,
            other => panic!("inspect_container {id}: {other:?}"),
        }
    }

    /// Polls until the container has exited.
    async fn wait_exit(&self, id: &str) -> ContainerStatus {
        self.wait_status(id, "to exit", |s| !s.running && s.exit_code.is_some())
            .await
    }

    async fn wait_status(
        &self,
        id: &str,
        what: &str,
        done: impl Fn(&ContainerStatus) -> bool,
    ) -> ContainerStatus {
        let start = Instant::now();
        loop {
            let s = self.inspect(id).await;
            if done(&s) {
                return s;
            }
            if start.elapsed() > DEADLINE {
                panic!("container {id} did not {what} within {DEADLINE:?}: {s:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// All output of a container, following it until it exits.
    async fn logs(&self, id: &str, since: Option<Timestamp>) -> Vec<LogLine> {
        let lines =
            tokio::time::timeout(DEADLINE, self.rt.follow_logs(id, since).collect::<Vec<_>>())
                .await
                .unwrap_or_else(|_| panic!("the output of {id} did not end within {DEADLINE:?}"));
        lines
            .into_iter()
            .map(|l| l.unwrap_or_else(|e| panic!("follow_logs {id}: {e}")))
            .collect()
    }

    async fn cleanup(&self) {
        remove_run_containers(&self.rt, &self.run).await;
        if let Ok(networks) = self.rt.managed_networks().await {
            for n in networks
                .iter()
                .filter(|n| n.labels.get(RUN_LABEL) == Some(&self.run))
            {
                if let Err(e) = self.rt.remove_network(&n.name).await {
                    eprintln!("clean-up: {e}");
                }
            }
        }
        if let Err(e) = self.rt.remove_image(&self.image).await {
            eprintln!("clean-up: {e}");
        }
    }
}

async fn remove_run_containers(rt: &DockerRuntime, run: &str) {
    let Ok(managed) = rt.list_managed().await else {
        return;
    };
    for c in managed
        .iter()
        .filter(|c| c.labels.get(RUN_LABEL).map(String::as_str) == Some(run))
    {
        if let Err(e) = rt.remove_container(&c.id).await {
            eprintln!("clean-up: {e}");
        }
    }
}

fn messages(lines: &[LogLine]) -> Vec<&str> {
    lines.iter().map(|l| l.message.as_str()).collect()
}

/// The last lines, shortened, for messages.
fn tail<'a>(text: &[&'a str]) -> Vec<&'a str> {
    text[text.len().saturating_sub(6)..]
        .iter()
        .map(|l| &l[..l.len().min(30)])
        .collect()
}

fn addr(text: &str) -> Ipv4Addr {
    text.parse()
        .unwrap_or_else(|e| panic!("'{text}' is not an IPv4 address: {e}"))
}

#[tokio::test]
async fn sandboxes_get_addresses_in_their_range() {
    with_env("sandbox", |env| async move {
        let net = env.network(1).await;
        // Idempotent, and a different range under the same name is refused.
        env.rt.ensure_network(&net).await.expect("ensure again");
        let mut clash = net.clone();
        clash.cidr = "10.251.201.0/24".into();
        assert!(matches!(
            env.rt.ensure_network(&clash).await,
            Err(RuntimeError::Network(m)) if m.contains("10.251.1.0/24")
        ));
        let public = env.network(101).await;

        let spec = env.sandbox_spec("a", &net, Some(&public));
        let a = env.rt.create_sandbox(&spec).await.expect("sandbox a");
        assert_eq!(
            a.private_ip, "10.251.1.4",
            "lowest address after the 4 reserved"
        );
        assert_eq!(a.mac_address.len(), 17, "{a:?}");
        let public_ip = addr(a.public_ip.as_deref().expect("public address"));
        assert_eq!(public_ip.octets()[..3], [10, 251, 101], "{a:?}");
        let status = env.inspect(&a.container_id).await;
        assert!(status.running && status.started);

        let b = env.sandbox("b", &net).await;
        assert_eq!(b.private_ip, "10.251.1.5");
        assert_eq!(b.public_ip, None);

        // The same name twice is refused and leaves the first sandbox alone.
        assert!(env.rt.create_sandbox(&spec).await.is_err());
        assert!(env.inspect(&a.container_id).await.running);

        // Concurrent starts from two runtimes (two wharf processes: separate reservations)
        // still get distinct addresses.
        let other = Arc::new(engine().await);
        let mut starts = Vec::new();
        for i in 0..6 {
            let rt = if i % 2 == 0 {
                env.rt.clone()
            } else {
                other.clone()
            };
            let spec = env.sandbox_spec(&format!("c{i}"), &net, None);
            starts.push(tokio::spawn(async move { rt.create_sandbox(&spec).await }));
        }
        let mut ips = vec![a.private_ip.clone(), b.private_ip.clone()];
        for s in starts {
            let sb = s.await.expect("join").expect("concurrent sandbox");
            ips.push(sb.private_ip);
        }
        let mut unique = ips.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ips.len(), "duplicate addresses: {ips:?}");
        for ip in &ips {
            let ip = addr(ip);
            assert_eq!(ip.octets()[..3], [10, 251, 1]);
            assert!((4..255).contains(&ip.octets()[3]), "{ip}");
        }

        // Removing a sandbox frees its address for the next one.
        env.rt
            .remove_container(&a.container_id)
            .await
            .expect("remove a");
        let again = env.sandbox("d", &net).await;
        assert_eq!(again.private_ip, "10.251.1.4");

        // A range outside the network is refused before anything is created.
        let mut outside = env.sandbox_spec("e", &net, None);
        outside.ip_range = "10.252.0.0/24".into();
        assert!(matches!(
            env.rt.create_sandbox(&outside).await,
            Err(RuntimeError::Network(_))
        ));

        let managed = env.rt.list_managed().await.expect("list");
        let sandboxes = managed
            .iter()
            .filter(|c| c.labels.get(RUN_LABEL) == Some(&env.run))
            .filter(|c| c.labels.get(labels::ROLE).map(String::as_str) == Some("sandbox"))
            .count();
        assert_eq!(sandboxes, 8, "b, c0..c5 and d");
    })
    .await;
}

#[tokio::test]
async fn containers_of_a_task_share_localhost_and_hostname() {
    with_env("localhost", |env| async move {
        let net = env.network(2).await;
        let sandbox = env.sandbox("web", &net).await;
        let server = env.container_spec("server", "exec httpd -f -p 8080 -h /www");
        let server_id = env.run(&sandbox, &server).await;
        let client = env.container_spec(
            "client",
            "hostname; i=0; while [ $i -lt 300 ]; do \
               if wget -q -O - http://127.0.0.1:8080/; then exit 0; fi; \
               i=$((i+1)); sleep 0.2; done; exit 1",
        );
        let client_id = env.run(&sandbox, &client).await;
        let status = env.wait_exit(&client_id).await;
        let lines = env.logs(&client_id, None).await;
        assert_eq!(
            status.exit_code,
            Some(0),
            "client output: {:?}",
            messages(&lines)
        );
        let text = messages(&lines);
        assert_eq!(
            text.first().copied(),
            Some("web.wharf.internal"),
            "{text:?}"
        );
        assert!(text.contains(&"hello from the task"), "{text:?}");
        assert!(env.inspect(&server_id).await.running);
    })
    .await;
}

#[tokio::test]
async fn the_task_address_is_reachable_from_the_host() {
    with_env("reach", |env| async move {
        let net = env.network(3).await;
        let sandbox = env.sandbox("web", &net).await;
        let server = env.container_spec("server", "exec httpd -f -p 8080 -h /www");
        env.run(&sandbox, &server).await;
        let target = format!("{}:8080", sandbox.private_ip);
        let start = Instant::now();
        let body = loop {
            let attempt = async {
                let mut s = tokio::net::TcpStream::connect(&target).await?;
                s.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
                let mut out = Vec::new();
                s.read_to_end(&mut out).await?;
                Ok::<_, std::io::Error>(String::from_utf8_lossy(&out).into_owned())
            };
            match tokio::time::timeout(Duration::from_secs(5), attempt).await {
                Ok(Ok(text)) if text.contains("hello from the task") => break text,
                other => {
                    if start.elapsed() > DEADLINE {
                        panic!("no answer from {target} within {DEADLINE:?}: {other:?}");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        assert!(body.starts_with("HTTP/1."), "{body}");
    })
    .await;
}

#[tokio::test]
async fn exceeding_the_memory_limit_is_an_oom_kill() {
    with_env("oom", |env| async move {
        let net = env.network(4).await;
        let sandbox = env.sandbox("task", &net).await;
        let mut hog = env.container_spec(
            "hog",
            "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
        );
        hog.memory_bytes = Some(32 << 20);
        let id = env.run(&sandbox, &hog).await;
        let status = env.wait_exit(&id).await;
        assert!(status.oom_killed, "{status:?}");
        assert_eq!(status.exit_code, Some(137), "{status:?}");
    })
    .await;
}

#[tokio::test]
async fn exit_codes_settings_and_failed_starts() {
    with_env("exit", |env| async move {
        let net = env.network(5).await;
        let sandbox = env.sandbox("task", &net).await;

        let mut spec = env.container_spec(
            "settings",
            "echo $FOO; pwd; id -u; if (echo x > /probe) 2>/dev/null; then echo writable; \
             else echo readonly; fi; exit 3",
        );
        spec.environment = vec![("FOO".into(), "bar baz".into())];
        spec.working_directory = Some("/tmp".into());
        spec.user = Some("1234".into());
        spec.readonly_rootfs = true;
        spec.cpu_shares = Some(1);
        spec.nano_cpus = Some(500_000_000);
        spec.memory_bytes = Some(64 << 20);
        spec.memory_reservation_bytes = Some(32 << 20);
        spec.ulimits = vec![wharf_runtime::Ulimit {
            name: "nofile".into(),
            soft: 1024,
            hard: 2048,
        }];
        let id = env.create(&sandbox, &spec).await;
        let created = env.inspect(&id).await;
        assert!(!created.running && !created.started);
        assert_eq!(created.exit_code, None);
        assert_eq!(created.started_at, None);
        env.rt.start_container(&id).await.expect("start");
        let status = env.wait_exit(&id).await;
        assert_eq!(status.exit_code, Some(3));
        assert!(status.started && !status.oom_killed);
        let (started, finished) = (
            status.started_at.expect("started_at"),
            status.finished_at.expect("finished_at"),
        );
        assert!(finished >= started, "{status:?}");
        let lines = env.logs(&id, None).await;
        assert_eq!(
            messages(&lines),
            vec!["bar baz", "/tmp", "1234", "readonly"]
        );

        // A missing executable: the start fails with the engine's words and the container
        // reports them.
        let mut broken = env.container_spec("broken", "");
        broken.entry_point = Some(vec!["/no/such/program".into()]);
        broken.command = None;
        let id = env.create(&sandbox, &broken).await;
        let err = env.rt.start_container(&id).await.err();
        assert!(
            matches!(&err, Some(RuntimeError::Container(m)) if m.contains("/no/such/program")),
            "{err:?}"
        );
        let status = env.inspect(&id).await;
        assert!(!status.running && !status.started, "{status:?}");
        assert!(
            status.error.is_some() && status.exit_code.is_some(),
            "{status:?}"
        );

        // A missing image is a create error.
        let mut missing = env.container_spec("missing", "true");
        missing.image = format!("wharf-test-missing:{}", env.run);
        assert!(matches!(
            env.rt.create_container(&sandbox, &missing).await,
            Err(RuntimeError::Container(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn health_checks_report_healthy_and_unhealthy() {
    with_env("health", |env| async move {
        let net = env.network(6).await;
        let sandbox = env.sandbox("task", &net).await;
        let check = |cmd: &str, retries| HealthCheckSpec {
            test: vec!["CMD-SHELL".into(), cmd.into()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
            retries,
            start_period: Duration::ZERO,
        };
        let mut good = env.container_spec("good", "exec sleep 600");
        good.health_check = Some(check("exit 0", 1));
        let mut bad = env.container_spec("bad", "exec sleep 600");
        bad.health_check = Some(HealthCheckSpec {
            test: vec!["CMD".into(), "/bin/false".into()],
            ..check("", 2)
        });
        let plain = env.container_spec("plain", "exec sleep 600");
        let good = env.run(&sandbox, &good).await;
        let bad = env.run(&sandbox, &bad).await;
        let plain = env.run(&sandbox, &plain).await;
        let first = env.inspect(&bad).await;
        assert!(
            matches!(first.health, Some(Health::Starting | Health::Unhealthy)),
            "{first:?}"
        );
        env.wait_status(&good, "become healthy", |s| {
            s.health == Some(Health::Healthy)
        })
        .await;
        env.wait_status(&bad, "become unhealthy", |s| {
            s.health == Some(Health::Unhealthy)
        })
        .await;
        assert_eq!(env.inspect(&plain).await.health, None);
    })
    .await;
}

#[tokio::test]
async fn stop_kills_what_ignores_sigterm_after_the_timeout() {
    with_env("stop", |env| async move {
        let net = env.network(7).await;
        let sandbox = env.sandbox("task", &net).await;
        let stubborn = env.container_spec(
            "stubborn",
            "trap '' TERM; echo ready; while true; do sleep 1; done",
        );
        let polite = env.container_spec(
            "polite",
            "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.1; done",
        );
        let stubborn = env.run(&sandbox, &stubborn).await;
        let polite = env.run(&sandbox, &polite).await;
        // Both have installed their traps once they printed "ready".
        for id in [&stubborn, &polite] {
            let mut logs = env.rt.follow_logs(id, None);
            let first = tokio::time::timeout(DEADLINE, logs.next()).await;
            assert!(
                matches!(&first, Ok(Some(Ok(l))) if l.message == "ready"),
                "{first:?}"
            );
        }

        let start = Instant::now();
        env.rt
            .stop_container(&polite, Duration::from_secs(30))
            .await
            .expect("stop polite");
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
        let status = env.inspect(&polite).await;
        assert_eq!((status.running, status.exit_code), (false, Some(0)));

        let start = Instant::now();
        env.rt
            .stop_container(&stubborn, Duration::from_secs(2))
            .await
            .expect("stop stubborn");
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1500),
            "killed too early: {took:?}"
        );
        assert!(took < Duration::from_secs(30), "{took:?}");
        let status = env.inspect(&stubborn).await;
        assert_eq!((status.running, status.exit_code), (false, Some(137)));
        assert!(!status.oom_killed);

        // Stopping a stopped or missing container is fine.
        env.rt
            .stop_container(&stubborn, Duration::from_secs(1))
            .await
            .expect("stop again");
        env.rt
            .stop_container("wharf-test-no-such-container", Duration::from_secs(1))
            .await
            .expect("stop missing");
    })
    .await;
}

#[tokio::test]
async fn follow_logs_delivers_every_line_in_order() {
    with_env("logs", |env| async move {
        let net = env.network(8).await;
        let sandbox = env.sandbox("task", &net).await;
        let spec = env.container_spec(
            "chatty",
            "i=1; while [ $i -le 1000 ]; do echo line-$i; i=$((i+1)); done; \
             echo to-stderr >&2; printf 'crlf\\r\\n'; \
             head -c 40000 /dev/zero | tr '\\0' x; echo; printf 'no-newline'",
        );
        let id = env.create(&sandbox, &spec).await;
        env.rt.start_container(&id).await.expect("start");
        let lines = env.logs(&id, None).await;
        let text = messages(&lines);
        assert_eq!(text.len(), 1004, "last lines: {:?}", tail(&text));
        // stdout and stderr are copied separately by the engine: order holds within each.
        assert_eq!(text.iter().filter(|l| **l == "to-stderr").count(), 1);
        let stdout: Vec<&str> = text.iter().copied().filter(|l| *l != "to-stderr").collect();
        for (i, line) in stdout[..1000].iter().enumerate() {
            assert_eq!(*line, format!("line-{}", i + 1));
        }
        assert_eq!(stdout[1000], "crlf");
        assert_eq!(
            stdout[1001],
            "x".repeat(40000),
            "a line longer than the engine's 16 KiB buffer is whole"
        );
        assert_eq!(
            stdout[1002], "no-newline",
            "output without a final newline is delivered"
        );

        // Resuming after a line delivers exactly the lines stamped later.
        let since = lines[499].timestamp;
        let resumed = env.logs(&id, Some(since)).await;
        let expected: Vec<&str> = lines
            .iter()
            .filter(|l| l.timestamp > since)
            .map(|l| l.message.as_str())
            .collect();
        assert_eq!(messages(&resumed), expected);
        assert!(resumed.iter().all(|l| l.timestamp > since));

        // Following a missing container fails.
        let missing: Vec<_> = env
            .rt
            .follow_logs("wharf-test-no-such-container", None)
            .collect()
            .await;
        assert!(
            matches!(missing.as_slice(), [Err(RuntimeError::Container(_))]),
            "{missing:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn list_managed_and_idempotent_removal() {
    with_env("list", |env| async move {
        let net = env.network(9).await;
        let sandbox = env.sandbox("task", &net).await;
        let idle = env.container_spec("idle", "exec sleep 600");
        let idle_id = env.create(&sandbox, &idle).await;
        let runner = env.container_spec("runner", "exec sleep 600");
        let runner_id = env.run(&sandbox, &runner).await;

        let managed = env.rt.list_managed().await.expect("list");
        let mine: Vec<_> = managed
            .iter()
            .filter(|c| c.labels.get(RUN_LABEL) == Some(&env.run))
            .collect();
        assert_eq!(mine.len(), 3, "{mine:?}");
        let find = |id: &str| mine.iter().find(|c| c.id == id).copied();
        let idle_c = find(&idle_id).expect("idle listed");
        assert_eq!(idle_c.name, idle.name);
        assert!(!idle_c.running);
        assert_eq!(
            idle_c.labels.get(labels::MANAGED).map(String::as_str),
            Some("true")
        );
        assert_eq!(
            idle_c
                .labels
                .get(labels::CONTAINER_NAME)
                .map(String::as_str),
            Some("idle")
        );
        assert!(find(&runner_id).expect("runner listed").running);
        assert!(find(&sandbox.container_id).expect("sandbox listed").running);

        // Removal kills running containers and is idempotent.
        for id in [&runner_id, &idle_id, &sandbox.container_id] {
            env.rt.remove_container(id).await.expect("remove");
            env.rt.remove_container(id).await.expect("remove again");
            assert_eq!(env.rt.inspect_container(id).await, Ok(None));
        }
        let left = env
            .rt
            .list_managed()
            .await
            .expect("list")
            .into_iter()
            .filter(|c| c.labels.get(RUN_LABEL) == Some(&env.run))
            .count();
        assert_eq!(left, 0);
    })
    .await;
}

#[tokio::test]
async fn images_presence_and_failed_pulls() {
    with_env("pull", |env| async move {
        assert_eq!(env.rt.image_present(&env.image).await, Ok(true));
        let missing = format!("127.0.0.1:9/wharf-test-missing:{}", env.run);
        assert_eq!(env.rt.image_present(&missing).await, Ok(false));
        // Nothing listens on the discard port: the engine cannot reach the registry.
        let err = env.rt.pull_image(&missing, None).await;
        assert!(
            matches!(&err, Err(RuntimeError::Pull(m)) if !m.is_empty()),
            "{err:?}"
        );
        let auth = wharf_runtime::RegistryAuth {
            username: "AWS".into(),
            password: "not-a-token".into(),
            server_address: "127.0.0.1:9".into(),
        };
        let err = env.rt.pull_image(&missing, Some(&auth)).await;
        assert!(matches!(err, Err(RuntimeError::Pull(_))), "{err:?}");
        assert!(
            env.rt.describe().starts_with("Docker Engine "),
            "{}",
            env.rt.describe()
        );
    })
    .await;
}
