//! `wharf server`: opens the data directory and the store, builds the services and the gateway
//! over them, starts the background loops, binds and serves until SIGTERM / Ctrl-C (finishing
//! requests in flight), then shuts everything down — one named step each, in that order.

use crate::config::ServerArgs;
use crate::credentials;
use crate::service_controller;
use crate::task_agent;
use crate::task_endpoint;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tracing::info;
use wharf_api::{Gateway, GatewayConfig};
use wharf_core::ids::RandomIds;
use wharf_core::{Clock, IdGen, NetworkInterfaces, ServiceHandler, SystemClock};
use wharf_store::{Store, TableFormat};

/// Runs the server to completion.
pub fn run(args: ServerArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log)
                .with_context(|| format!("--log '{}' is not a valid filter", args.log))?,
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

/// The server's life, step by step.
async fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir();
    let store = open_store(&data_dir)?;
    let creds_path = data_dir.join("credentials");
    let (keys, created) = credentials::load_or_create(&creds_path, &args.account_id)?;
    // Bind first: the registry's host:port goes into every repositoryUri.
    let api = bind_api(&args).await?;
    let (wharf, task_endpoint) = build(&args, &data_dir, store, keys, &api.registry_host).await?;
    let endpoint_server = task_endpoint.map(|bound| serve_task_endpoint(bound, &wharf));
    let (stop_tx, stop_rx) = watch::channel(false);
    let background = start_background_loops(&args, &wharf, &stop_rx);

    announce(&args, &api.endpoint, &data_dir, &creds_path, created)?;
    serve_api(api.listener, wharf.router.clone()).await?;
    shut_down(&wharf, endpoint_server, stop_tx, background, &data_dir).await;
    Ok(())
}

/// Creates the data directory if needed, opens the state database in it and checks its record
/// formats against every table this wharf reads (a database written by a newer wharf is
/// refused rather than misread).
fn open_store(data_dir: &Path) -> anyhow::Result<Arc<Store>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let store = Store::open(&data_dir.join("wharf.db"))
        .with_context(|| format!("cannot open the state database in {}", data_dir.display()))?;
    store
        .check_formats(&known_tables())
        .with_context(|| format!("cannot open the state database in {}", data_dir.display()))?;
    Ok(Arc::new(store))
}

/// Every table of every service crate, with the record format this wharf writes.
fn known_tables() -> Vec<TableFormat> {
    [
        wharf_acm::records::TABLES,
        wharf_ec2::records::TABLES,
        wharf_ecr::records::TABLES,
        wharf_ecs::records::TABLES,
        wharf_elbv2::records::TABLES,
        wharf_iam::records::TABLES,
        wharf_logs::records::TABLES,
        wharf_secretsmanager::records::TABLES,
        wharf_ssm::records::TABLES,
        wharf_cloudwatch::records::TABLES,
        wharf_autoscaling::records::TABLES,
    ]
    .concat()
}

/// The API's listener and the addresses derived from it.
struct ApiListener {
    listener: tokio::net::TcpListener,
    /// `http://host:port` of every AWS API.
    endpoint: String,
    /// `host:port` in every `repositoryUri`.
    registry_host: String,
}

/// Binds the API port (`--bind`, `--port`).
async fn bind_api(args: &ServerArgs) -> anyhow::Result<ApiListener> {
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: is another wharf (or LocalStack) running? pick another --port"))?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let registry_host = args.registry_host.clone().unwrap_or_else(|| {
        let host = if local.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            local.ip().to_string()
        };
        format!("{host}:{}", local.port())
    });
    Ok(ApiListener {
        listener,
        endpoint: format!("http://{local}"),
        registry_host,
    })
}

/// What every service is built over.
struct Shared {
    store: Arc<Store>,
    ids: Arc<dyn IdGen>,
    clock: Arc<dyn Clock>,
}

/// The services that keep data the others use: the registry, logs, secrets, parameters and
/// the network (subnets, security groups, interfaces).
struct DataServices {
    ecr: Arc<wharf_ecr::Ecr>,
    logs: Arc<wharf_logs::Logs>,
    secrets_manager: Arc<wharf_secretsmanager::SecretsManager>,
    ssm: Arc<wharf_ssm::Ssm>,
    network: Arc<dyn NetworkInterfaces>,
    /// EC2 itself (the same records as `network`), for its API.
    ec2: wharf_ec2::Ec2,
    /// Where EC2's filter changes go once the agent exists.
    filter_changes: Arc<OnceLock<wharf_core::packet_filter::FilterChangeNotifier>>,
    /// Metrics (wharf's own and PutMetricData's) and alarms.
    cloudwatch: Arc<wharf_cloudwatch::CloudWatch>,
}

/// Certificates, the load balancers' data plane and ELBv2 over them.
struct LoadBalancing {
    acm: Arc<wharf_acm::Acm>,
    plane: wharf_lb::LoadBalancerPlane,
    elbv2: Arc<wharf_elbv2::Elbv2>,
}

/// ECS and its service controller.
struct Containers {
    ecs: wharf_ecs::Ecs,
    controller: Arc<wharf_ecs::service_controller::ServiceController>,
    /// Notified when a service or one of its tasks changes, to run a controller pass at once.
    service_wake: Arc<Notify>,
    /// Application Auto Scaling: alarms' actions resize services.
    autoscaling: Arc<wharf_autoscaling::AutoScaling>,
}

/// Everything `serve` built, for the steps that run and stop it.
struct Wharf {
    shared: Shared,
    data: DataServices,
    balancing: LoadBalancing,
    containers: Containers,
    agent: Arc<wharf_agent::Agent>,
    role_sessions: Arc<wharf_iam::RoleSessionStore>,
    /// The registry at /v2/, every other path the API gateway.
    router: axum::Router,
}

/// Builds every service and the router over them; also binds the task endpoint, whose URL the
/// task agent hands to containers.
async fn build(
    args: &ServerArgs,
    data_dir: &Path,
    store: Arc<Store>,
    keys: credentials::RootKeys,
    registry_host: &str,
) -> anyhow::Result<(Wharf, Option<task_endpoint::Bound>)> {
    let shared = Shared {
        store,
        ids: Arc::new(RandomIds),
        clock: Arc::new(SystemClock),
    };
    let metric_time = wharf_core::MetricTime::scaled(args.metric_time_scale);
    let data = build_data_services(&shared, data_dir, registry_host, metric_time)?;
    // Tasks reach their credentials, metadata and wharf's API at 169.254.170.2.
    let task_endpoint = task_endpoint::bind(task_endpoint::TASK_ENDPOINT_ADDRESS).await;
    let agent = build_agent(
        args,
        data_dir,
        &shared,
        &data,
        task_endpoint.as_ref().map(|b| b.base_url.clone()),
        metric_time,
    )
    .await?;
    let role_sessions = Arc::new(wharf_iam::RoleSessionStore::new(
        shared.store.clone(),
        shared.ids.clone(),
        shared.clock.clone(),
    ));
    let balancing = build_load_balancing(&shared, data_dir, args, &data, metric_time);
    // A security group change reaches the tasks' filters and the load balancers' listeners.
    let (filter_tasks, filter_listeners) =
        (agent.filter_changes(), balancing.elbv2.plane_refresher());
    let _ = data.filter_changes.set(Arc::new(move || {
        filter_tasks();
        filter_listeners();
    }));
    let containers = build_containers(&shared, &data, &agent, &balancing, metric_time);
    let gateway = build_gateway(
        args,
        &shared,
        keys,
        &role_sessions,
        handlers(&shared, &data, &balancing, &containers),
    );
    let router = wharf_ecr::registry::router(data.ecr.clone())
        .fallback(move |req| gateway.clone().handle(req));
    let wharf = Wharf {
        shared,
        data,
        balancing,
        containers,
        agent,
        role_sessions,
        router,
    };
    Ok((wharf, task_endpoint))
}

fn build_data_services(
    shared: &Shared,
    data_dir: &Path,
    registry_host: &str,
    metric_time: wharf_core::MetricTime,
) -> anyhow::Result<DataServices> {
    let Shared { store, ids, clock } = shared;
    let ecr = wharf_ecr::Ecr::new(
        store.clone(),
        ids.clone(),
        clock.clone(),
        wharf_ecr::EcrConfig {
            root: data_dir.join("registry"),
            registry_host: registry_host.to_string(),
        },
    )
    .context("cannot start the registry")?;
    let cloudwatch = Arc::new(wharf_cloudwatch::CloudWatch::new(
        store.clone(),
        ids.clone(),
        clock.clone(),
        metric_time,
    ));
    // Metric filters publish what log events count to CloudWatch.
    let logs = wharf_logs::Logs::new(store.clone(), ids.clone(), clock.clone())
        .with_metrics(cloudwatch.clone());
    // Secret values and SecureString parameters are sealed with <data-dir>/secrets.key.
    let sealer = Arc::new(
        wharf_core::Sealer::load_or_create(data_dir).context("cannot load the secrets key")?,
    );
    let secrets_manager = wharf_secretsmanager::SecretsManager::new(
        store.clone(),
        ids.clone(),
        clock.clone(),
        sealer.clone(),
    );
    let ssm = wharf_ssm::Ssm::new(store.clone(), ids.clone(), clock.clone(), sealer);
    // EC2 tells the agent (built later) when a security group filter may have changed.
    let filter_changes: Arc<OnceLock<wharf_core::packet_filter::FilterChangeNotifier>> =
        Arc::default();
    let ec2 = wharf_ec2::Ec2::new(store.clone(), ids.clone()).with_filter_changes({
        let target = filter_changes.clone();
        Arc::new(move || {
            if let Some(notify) = target.get() {
                notify();
            }
        })
    });
    Ok(DataServices {
        ecr: Arc::new(ecr),
        logs: Arc::new(logs),
        secrets_manager: Arc::new(secrets_manager),
        ssm: Arc::new(ssm),
        network: Arc::new(ec2.clone()),
        ec2,
        filter_changes,
        cloudwatch,
    })
}

/// The task agent: pulls from the registry, logs to CloudWatch Logs, reads secrets from
/// Secrets Manager and SSM, gets interfaces from EC2, publishes its tasks' utilization to
/// CloudWatch every metric period.
async fn build_agent(
    args: &ServerArgs,
    data_dir: &Path,
    shared: &Shared,
    data: &DataServices,
    task_endpoint_url: Option<String>,
    metric_time: wharf_core::MetricTime,
) -> anyhow::Result<Arc<wharf_agent::Agent>> {
    task_agent::build(
        data_dir,
        shared.store.clone(),
        Arc::new(task_agent::EcrImages::new(
            data.ecr.clone(),
            shared.clock.clone(),
            &args.account_id,
        )),
        data.logs.clone(),
        data.network.clone(),
        shared.clock.clone(),
        Arc::new(task_agent::SecretStores {
            secrets_manager: data.secrets_manager.clone(),
            ssm: data.ssm.clone(),
        }),
        task_agent::TaskNetworkSettings {
            public_cidr: args.task_public_cidr.clone(),
            unreachable_timeout: std::time::Duration::from_secs(args.task_network_timeout_seconds),
            security_groups: match args.security_groups {
                crate::config::SecurityGroups::Enforce => wharf_agent::SecurityGroupMode::Enforce,
                crate::config::SecurityGroups::Off => wharf_agent::SecurityGroupMode::Off,
            },
        },
        task_endpoint_url,
        (data.cloudwatch.clone(), metric_time),
    )
    .await
}

fn build_load_balancing(
    shared: &Shared,
    data_dir: &Path,
    args: &ServerArgs,
    data: &DataServices,
    metric_time: wharf_core::MetricTime,
) -> LoadBalancing {
    let Shared { store, ids, clock } = shared;
    let network = &data.network;
    // ACM reads which listeners use a certificate from ELBv2's records; ELBv2 checks
    // certificates with ACM and subnets / VPCs / security groups with EC2.
    let acm = Arc::new(
        wharf_acm::Acm::new(store.clone(), ids.clone(), clock.clone(), data_dir).with_users(
            Arc::new(wharf_elbv2::ListenerCertificates::new(store.clone())),
        ),
    );
    // The load balancers' data plane: every listener really listens (on --lb-bind).
    let plane = wharf_lb::LoadBalancerPlane::new(
        tokio::runtime::Handle::current(),
        wharf_lb::PlaneConfig {
            bind_address: args.lb_bind,
            ..wharf_lb::PlaneConfig::default()
        },
        acm.clone(),
        clock.clone(),
    );
    // The load balancers' AWS/ApplicationELB metrics, every metric period.
    plane.publish_metrics(data.cloudwatch.clone(), metric_time);
    let elbv2 = Arc::new(
        wharf_elbv2::Elbv2::new(
            store.clone(),
            ids.clone(),
            clock.clone(),
            network.clone(),
            acm.clone(),
        )
        .with_plane(Arc::new(plane.clone()))
        // Listeners serve the clients their load balancer's security groups admit.
        .with_client_filtering(args.security_groups == crate::config::SecurityGroups::Enforce),
    );
    // Listeners come back up from the store.
    elbv2.sync_plane();
    // Load balancers made before their interfaces were recorded get them.
    wharf_elbv2::interfaces::sync_all(&elbv2);
    LoadBalancing { acm, plane, elbv2 }
}

/// ECS over the network, the task agent and ELBv2's target groups, and its service
/// controller, woken by API changes to services and by the agent's task changes.
fn build_containers(
    shared: &Shared,
    data: &DataServices,
    agent: &Arc<wharf_agent::Agent>,
    balancing: &LoadBalancing,
    metric_time: wharf_core::MetricTime,
) -> Containers {
    let service_targets: Arc<dyn wharf_core::TargetRegistry> =
        Arc::new(wharf_elbv2::ServiceTargets(balancing.elbv2.clone()));
    let service_wake = Arc::new(Notify::new());
    let ecs = wharf_ecs::Ecs::new(shared.store.clone(), shared.ids.clone())
        .with_network(data.network.clone())
        .with_task_notifier(agent.notifier())
        .with_targets(service_targets.clone())
        .with_service_notifier({
            let wake = service_wake.clone();
            Arc::new(move || wake.notify_one())
        });
    agent.on_task_change({
        let wake = service_wake.clone();
        Arc::new(move || wake.notify_one())
    });
    let controller = Arc::new(wharf_ecs::service_controller::ServiceController::new(
        ecs.clone(),
        service_targets,
        shared.clock.clone(),
    ));
    // Alarms invoke scaling policies; scaling policies own alarms and resize services.
    let autoscaling = Arc::new(wharf_autoscaling::AutoScaling::new(
        shared.store.clone(),
        shared.ids.clone(),
        shared.clock.clone(),
        metric_time,
        data.cloudwatch.clone(),
        Arc::new(ecs.clone()),
    ));
    data.cloudwatch.add_action_handler(autoscaling.clone());
    Containers {
        ecs,
        controller,
        service_wake,
        autoscaling,
    }
}

/// Every AWS API wharf serves.
fn handlers(
    shared: &Shared,
    data: &DataServices,
    balancing: &LoadBalancing,
    containers: &Containers,
) -> Vec<Arc<dyn ServiceHandler>> {
    let Shared { store, ids, .. } = shared;
    vec![
        Arc::new(wharf_ecs::generated::Handler(containers.ecs.clone())),
        Arc::new(wharf_ecr::generated::Handler(data.ecr.clone())),
        Arc::new(wharf_logs::generated::Handler(data.logs.clone())),
        Arc::new(wharf_iam::iam_generated::Handler(wharf_iam::Iam::new(
            store.clone(),
            ids.clone(),
        ))),
        Arc::new(wharf_iam::sts_generated::Handler(wharf_iam::Sts::new())),
        Arc::new(wharf_ec2::generated::Handler(data.ec2.clone())),
        Arc::new(wharf_elbv2::generated::Handler(balancing.elbv2.clone())),
        Arc::new(wharf_acm::generated::Handler(balancing.acm.clone())),
        Arc::new(wharf_secretsmanager::generated::Handler(
            data.secrets_manager.clone(),
        )),
        Arc::new(wharf_ssm::generated::Handler(data.ssm.clone())),
        Arc::new(wharf_cloudwatch::generated::Handler(
            data.cloudwatch.clone(),
        )),
        Arc::new(wharf_autoscaling::generated::Handler(
            containers.autoscaling.clone(),
        )),
    ]
}

/// The API gateway over `services`, checking root keys and role sessions' keys.
fn build_gateway(
    args: &ServerArgs,
    shared: &Shared,
    keys: credentials::RootKeys,
    role_sessions: &Arc<wharf_iam::RoleSessionStore>,
    services: Vec<Arc<dyn ServiceHandler>>,
) -> Arc<Gateway> {
    Arc::new(Gateway::new(
        services,
        Arc::new(credentials::AllKeys {
            root: keys,
            sessions: role_sessions.clone(),
        }),
        shared.clock.clone(),
        shared.ids.clone(),
        GatewayConfig {
            accept_any_credentials: args.accept_any_credentials,
            account_id: args.account_id.clone(),
            max_body_bytes: args.max_body_bytes,
        },
    ))
}

/// Serves the task endpoint (credentials and metadata, and the API for everything else) until
/// shutdown.
fn serve_task_endpoint(bound: task_endpoint::Bound, wharf: &Wharf) -> JoinHandle<()> {
    let routes = Arc::new(wharf_agent::endpoint::TaskEndpoint::new(
        wharf.shared.store.clone(),
        wharf.agent.runtime(),
        wharf.role_sessions.clone(),
    ))
    .router()
    .fallback_service(wharf.router.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(bound.listener, routes)
            .with_graceful_shutdown(shutdown_signal())
            .await
        {
            tracing::error!(error = %e, "the task endpoint stopped");
        }
    })
}

/// Starts the loops that run beside the API until `stop` turns true: ECR lifecycle policies,
/// registry garbage collection, the task agent, the service controller, ELBv2's reaper, log
/// retention, metric retention, CloudWatch alarms and Application Auto Scaling.
fn start_background_loops(
    args: &ServerArgs,
    wharf: &Wharf,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let ecr = &wharf.data.ecr;
    vec![
        tokio::spawn(wharf_ecr::lifecycle::run_lifecycle_loop(
            ecr.clone(),
            Duration::from_secs(args.ecr_lifecycle_interval_seconds.max(1)),
            stop.clone(),
        )),
        tokio::spawn(wharf_ecr::gc::run_gc_loop(
            ecr.clone(),
            Duration::from_secs(args.registry_gc_interval_seconds.max(1)),
            Duration::from_secs(args.registry_gc_grace_seconds),
            stop.clone(),
        )),
        tokio::spawn(wharf.agent.clone().run(stop.clone())),
        tokio::spawn(service_controller::run(
            wharf.containers.controller.clone(),
            wharf.containers.service_wake.clone(),
            wharf.shared.clock.clone(),
            stop.clone(),
        )),
        tokio::spawn(wharf_elbv2::run_reap_loop(
            wharf.balancing.elbv2.clone(),
            Duration::from_secs(5),
            stop.clone(),
        )),
        tokio::spawn(wharf_logs::run_retention_loop(
            wharf.data.logs.clone(),
            Duration::from_secs(60),
            stop.clone(),
        )),
        // Metric points are rolled up and pruned as AWS's retention says, hourly.
        tokio::spawn(wharf_cloudwatch::metrics::run_metric_retention_loop(
            wharf.data.cloudwatch.clone(),
            Duration::from_secs(3600),
            stop.clone(),
        )),
        tokio::spawn(wharf_cloudwatch::alarms_api::run_alarm_loop(
            wharf.data.cloudwatch.clone(),
            stop.clone(),
        )),
        tokio::spawn(wharf_autoscaling::run_scaling_loop(
            wharf.containers.autoscaling.clone(),
            stop.clone(),
        )),
    ]
}

/// Serves the API until SIGTERM / Ctrl-C, finishing requests in flight.
async fn serve_api(listener: tokio::net::TcpListener, router: axum::Router) -> anyhow::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server stopped with an error")
}

/// Stops everything after the API has stopped: the task endpoint (given 5 s), the background
/// loops (each finishes its step), the load balancers' listeners; removes the endpoint file.
async fn shut_down(
    wharf: &Wharf,
    endpoint_server: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    background: Vec<JoinHandle<()>>,
    data_dir: &Path,
) {
    if let Some(server) = endpoint_server {
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    }
    let _ = stop.send(true);
    wharf.balancing.plane.shutdown();
    for task in background {
        let _ = task.await;
    }
    let _ = std::fs::remove_file(data_dir.join("endpoint"));
    info!("wharf stopped");
}

/// Tells the user and scripts where wharf listens: the banner on stdout, `<data-dir>/endpoint`
/// and the log.
fn announce(
    args: &ServerArgs,
    endpoint: &str,
    data_dir: &Path,
    creds_path: &Path,
    created: bool,
) -> anyhow::Result<()> {
    banner(
        endpoint,
        data_dir,
        creds_path,
        created,
        args.accept_any_credentials,
    );
    write_endpoint_file(data_dir, endpoint)?;
    info!(%endpoint, data_dir = %data_dir.display(), "wharf started");
    Ok(())
}

fn banner(
    endpoint: &str,
    data_dir: &std::path::Path,
    creds: &std::path::Path,
    created: bool,
    any: bool,
) {
    println!("wharf listening on {endpoint}");
    println!("  data directory: {}", data_dir.display());
    if any {
        println!("  credentials: any access key is accepted (--accept-any-credentials)");
    } else if created {
        if let Some((key, secret)) = credentials::first_key(creds) {
            println!(
                "  root credentials were created (shown once; kept in {}):",
                creds.display()
            );
            println!("    export AWS_ACCESS_KEY_ID={key}");
            println!("    export AWS_SECRET_ACCESS_KEY={secret}");
        }
    } else {
        println!(
            "  root credentials: export AWS_SHARED_CREDENTIALS_FILE={}",
            creds.display()
        );
    }
    println!("  try: aws --endpoint-url {endpoint} --region us-east-1 ecs list-clusters");
}

/// Writes `<data-dir>/endpoint` atomically, for scripts and tests that start wharf on port 0.
fn write_endpoint_file(data_dir: &std::path::Path, endpoint: &str) -> anyhow::Result<()> {
    let tmp = data_dir.join("endpoint.tmp");
    std::fs::write(&tmp, format!("{endpoint}\n")).context("cannot write the endpoint file")?;
    std::fs::rename(&tmp, data_dir.join("endpoint")).context("cannot write the endpoint file")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// An empty directory of its own for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wharf-server-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn every_table_is_known_once() {
        let tables = known_tables();
        let mut names: Vec<&str> = tables.iter().map(|t| t.name).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "a table is listed twice");
        for name in [
            "ecs.task",
            "ecr.image",
            "iam_roles",
            "elbv2.listeners",
            "ssm.parameters",
        ] {
            assert!(names.contains(&name), "{name} is missing");
        }
    }

    #[test]
    fn opens_a_new_data_directory_and_a_first_format_one() {
        let fresh = scratch("fresh");
        open_store(&fresh.join("nested")).unwrap();
        open_store(&fresh.join("nested")).unwrap();
        let _ = std::fs::remove_dir_all(&fresh);

        let old = scratch("v1");
        std::fs::create_dir_all(&old).unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/e2e/fixtures/datadir-v1/data/wharf.db");
        std::fs::copy(fixture, old.join("wharf.db")).unwrap();
        open_store(&old).unwrap();
        let _ = std::fs::remove_dir_all(&old);
    }

    #[test]
    fn refuses_a_data_directory_of_a_newer_wharf() {
        let dir = scratch("newer");
        std::fs::create_dir_all(&dir).unwrap();
        Store::open(&dir.join("wharf.db"))
            .unwrap()
            .check_formats(&[TableFormat {
                name: "ecs.task",
                version: 99,
            }])
            .unwrap();
        let err = format!("{:#}", open_store(&dir).err().unwrap());
        assert!(err.contains("cannot open the state database"), "{err}");
        assert!(err.contains("newer wharf"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
