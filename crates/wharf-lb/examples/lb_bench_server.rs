//! wharf's load balancer alone, for the benchmark (`scripts/bench-lb.sh`): one load balancer
//! with an HTTP listener (and optionally an HTTPS one) forwarding to one target, as the ELBv2
//! control plane would configure it.
//!
//! ```sh
//! cargo run --release -p wharf-lb --example lb_bench_server -- \
//!     --port 8080 --backend 127.0.0.1:8081 [--backend-namespace NS] [--tls-port 8443 --cert cert.pem --key key.pem] \
//!     [--workers 2] [--bind 127.0.0.1] [--metrics on|off]
//! ```
//!
//! `--metrics on` (the default, as in wharf) counts every request for the `AWS/ApplicationELB`
//! metrics and publishes them every 3 s (wharf's `--metric-time-scale 0.05`) to a sink that
//! drops them; `off` is the plane without counting, for the benchmark's comparison.
//!
//! Prints `ready` once the target is healthy; runs until SIGINT / SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use wharf_core::lb_plane::*;
use wharf_core::{MetricTime, NoMetrics, SystemClock};
use wharf_lb::{LoadBalancerPlane, PlaneConfig};

/// ARNs as ELBv2 writes them, so the metrics publisher names its data points as in wharf.
const LB_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/bench/0123456789abcdef";
const TG_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/bench/0123456789abcdef";

struct FileCert(CertificateMaterial);

impl CertificateSource for FileCert {
    fn certificate(&self, arn: &str) -> Option<CertificateMaterial> {
        (arn == "arn:bench:cert").then(|| self.0.clone())
    }
}

struct Args {
    port: u16,
    backend: SocketAddr,
    tls_port: Option<u16>,
    cert: Option<String>,
    key: Option<String>,
    workers: usize,
    bind: std::net::IpAddr,
    metrics: bool,
    /// The backend lives in this network namespace (as a target of a VPC's own namespace).
    backend_namespace: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        backend: SocketAddr::from(([127, 0, 0, 1], 0)),
        tls_port: None,
        cert: None,
        key: None,
        workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        bind: std::net::IpAddr::from([127, 0, 0, 1]),
        metrics: true,
        backend_namespace: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |_| format!("{flag}: invalid value {value:?}");
        match flag.as_str() {
            "--port" => args.port = value.parse().map_err(|_| bad(()))?,
            "--backend" => args.backend = value.parse().map_err(|_| bad(()))?,
            "--tls-port" => args.tls_port = Some(value.parse().map_err(|_| bad(()))?),
            "--cert" => args.cert = Some(value),
            "--key" => args.key = Some(value),
            "--workers" => args.workers = value.parse().map_err(|_| bad(()))?,
            "--bind" => args.bind = value.parse().map_err(|_| bad(()))?,
            "--backend-namespace" => args.backend_namespace = Some(value),
            "--metrics" => {
                args.metrics = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err(bad(())),
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.port == 0 || args.backend.port() == 0 {
        return Err("--port and --backend are required".into());
    }
    Ok(args)
}

fn main() -> Result<(), String> {
    let args = parse()?;
    let material = match (&args.cert, &args.key) {
        (Some(c), Some(k)) => CertificateMaterial {
            chain_pem: std::fs::read_to_string(c).map_err(|e| format!("{c}: {e}"))?,
            key_pem: std::fs::read_to_string(k).map_err(|e| format!("{k}: {e}"))?,
        },
        _ => CertificateMaterial {
            chain_pem: String::new(),
            key_pem: String::new(),
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers.max(1))
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let plane = LoadBalancerPlane::new(
            tokio::runtime::Handle::current(),
            PlaneConfig {
                bind_address: args.bind,
                metrics: args.metrics,
                ..PlaneConfig::default()
            },
            Arc::new(FileCert(material)),
            Arc::new(SystemClock),
        );
        plane.publish_metrics(Arc::new(NoMetrics), MetricTime::scaled(0.05));
        let forward = || Action::Forward {
            target_groups: vec![(TG_ARN.into(), 1)],
            stickiness: None,
        };
        let rule = |arn: &str| RuleSpec {
            arn: arn.into(),
            priority: None,
            conditions: vec![],
            action: forward(),
        };
        let mut listeners = vec![ListenerSpec {
            arn: "arn:bench:listener/http".into(),
            port: args.port,
            protocol: ListenerProtocol::Http,
            certificate_arns: vec![],
            ssl_policy: None,
            rules: vec![rule("arn:bench:rule/http")],
        }];
        if let Some(port) = args.tls_port {
            listeners.push(ListenerSpec {
                arn: "arn:bench:listener/https".into(),
                port,
                protocol: ListenerProtocol::Https,
                certificate_arns: vec!["arn:bench:cert".into()],
                ssl_policy: Some("ELBSecurityPolicy-TLS13-1-2-2021-06".into()),
                rules: vec![rule("arn:bench:rule/https")],
            });
        }
        let snapshot = LbSnapshot {
            load_balancers: vec![LoadBalancerSpec {
                arn: LB_ARN.into(),
                dns_name: "bench.elb.localhost".into(),
                idle_timeout: Duration::from_secs(60),
                availability_zones: vec!["us-east-1a".into()],
                listeners,
                client_filter: None,
            }],
            target_groups: vec![TargetGroupSpec {
                arn: TG_ARN.into(),
                protocol: "HTTP".into(),
                port: args.backend.port(),
                health_check: HealthCheckSpec {
                    protocol: "HTTP".into(),
                    port: None,
                    path: "/".into(),
                    interval: Duration::from_secs(1),
                    timeout: Duration::from_secs(1),
                    healthy_threshold: 2,
                    unhealthy_threshold: 2,
                    matcher: "200-399".into(),
                },
                deregistration_delay: Duration::from_secs(5),
                algorithm: Algorithm::RoundRobin,
                slow_start: Duration::ZERO,
                stickiness: None,
                targets: vec![TargetSpec {
                    id: args.backend.ip().to_string(),
                    port: args.backend.port(),
                    deregistered_at_ms: None,
                }],
                network_namespace: args.backend_namespace.clone(),
                source_address: None,
            }],
        };
        plane.apply(snapshot)?;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while plane
            .target_health(TG_ARN)
            .iter()
            .any(|r| r.state != "healthy")
        {
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "the backend never became healthy: {:?}",
                    plane.target_health(TG_ARN)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!("ready");
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        plane.shutdown();
        Ok(())
    })
}
