//! `wharf server`: opens the store, wires the services into the gateway and serves until
//! SIGTERM / Ctrl-C, finishing requests in flight.

use crate::config::ServerArgs;
use crate::credentials;
use crate::service_loop;
use crate::task_agent;
use crate::task_endpoint;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tracing::info;
use wharf_api::{Gateway, GatewayConfig};
use wharf_core::ids::RandomIds;
use wharf_core::{Clock, IdGen, NetworkInterfaces, ServiceHandler, SystemClock};
use wharf_store::Store;

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

async fn serve(args: ServerArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let store =
        Arc::new(Store::open(&data_dir.join("wharf.db")).with_context(|| {
            format!("cannot open the state database in {}", data_dir.display())
        })?);
    let creds_path = data_dir.join("credentials");
    let (keys, created) = credentials::load_or_create(&creds_path, &args.account_id)?;

    // Bind first: the registry's host:port goes into every repositoryUri.
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: is another wharf (or LocalStack) running? pick another --port"))?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let endpoint = format!("http://{local}");
    let registry_host = args.registry_host.clone().unwrap_or_else(|| {
        let host = if local.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            local.ip().to_string()
        };
        format!("{host}:{}", local.port())
    });

    let ids: Arc<dyn IdGen> = Arc::new(RandomIds);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ecr = Arc::new(
        wharf_ecr::Ecr::new(
            store.clone(),
            ids.clone(),
            clock.clone(),
            wharf_ecr::EcrConfig {
                root: data_dir.join("registry"),
                registry_host,
            },
        )
        .context("cannot start the registry")?,
    );
    let logs = Arc::new(wharf_logs::Logs::new(
        store.clone(),
        ids.clone(),
        clock.clone(),
    ));
    // Secret values and SecureString parameters are sealed with <data-dir>/secrets.key.
    let sealer = Arc::new(
        wharf_core::Sealer::load_or_create(&data_dir).context("cannot load the secrets key")?,
    );
    let secrets_manager = Arc::new(wharf_secretsmanager::SecretsManager::new(
        store.clone(),
        ids.clone(),
        clock.clone(),
        sealer.clone(),
    ));
    let ssm = Arc::new(wharf_ssm::Ssm::new(
        store.clone(),
        ids.clone(),
        clock.clone(),
        sealer.clone(),
    ));
    let network: Arc<dyn NetworkInterfaces> =
        Arc::new(wharf_ec2::Ec2::new(store.clone(), ids.clone()));
    // Tasks reach their credentials, metadata and wharf's API at 169.254.170.2.
    let task_endpoint = task_endpoint::bind(task_endpoint::TASK_ENDPOINT_ADDRESS).await;
    let agent = task_agent::build(
        &data_dir,
        store.clone(),
        Arc::new(task_agent::EcrImages::new(
            ecr.clone(),
            clock.clone(),
            &args.account_id,
        )),
        logs.clone(),
        network.clone(),
        clock.clone(),
        Arc::new(task_agent::SecretStores {
            secrets_manager: secrets_manager.clone(),
            ssm: ssm.clone(),
        }),
        args.task_public_cidr.clone(),
        task_endpoint.as_ref().map(|b| b.base_url.clone()),
    )
    .await?;
    let role_sessions = Arc::new(wharf_iam::RoleSessionStore::new(
        store.clone(),
        ids.clone(),
        clock.clone(),
    ));
    // ACM reads which listeners use a certificate from ELBv2's records; ELBv2 checks
    // certificates with ACM and subnets / VPCs / security groups with EC2.
    let acm = Arc::new(
        wharf_acm::Acm::new(store.clone(), ids.clone(), clock.clone(), &data_dir).with_users(
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
    let elbv2 = Arc::new(
        wharf_elbv2::Elbv2::new(
            store.clone(),
            ids.clone(),
            clock.clone(),
            network.clone(),
            acm.clone(),
        )
        .with_plane(Arc::new(plane.clone())),
    );
    // Listeners come back up from the store.
    elbv2.sync_plane();
    // Services register their tasks in ELBv2's target groups; API changes to services wake
    // the service controller.
    let service_targets: Arc<dyn wharf_core::TargetRegistry> =
        Arc::new(wharf_elbv2::ServiceTargets(elbv2.clone()));
    let service_wake = Arc::new(tokio::sync::Notify::new());
    let ecs = wharf_ecs::Ecs::new(store.clone(), ids.clone())
        .with_network(network)
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
    let service_runner = Arc::new(wharf_ecs::service_runner::ServiceRunner::new(
        ecs.clone(),
        service_targets,
        clock.clone(),
    ));
    let services: Vec<Arc<dyn ServiceHandler>> = vec![
        Arc::new(wharf_ecs::generated::Handler(ecs)),
        Arc::new(wharf_ecr::generated::Handler(ecr.clone())),
        Arc::new(wharf_logs::generated::Handler(logs.clone())),
        Arc::new(wharf_iam::iam_generated::Handler(wharf_iam::Iam::new(
            store.clone(),
            ids.clone(),
        ))),
        Arc::new(wharf_iam::sts_generated::Handler(wharf_iam::Sts::new())),
        Arc::new(wharf_ec2::generated::Handler(wharf_ec2::Ec2::new(
            store.clone(),
            ids.clone(),
        ))),
        Arc::new(wharf_elbv2::generated::Handler(elbv2.clone())),
        Arc::new(wharf_acm::generated::Handler(acm)),
        Arc::new(wharf_secretsmanager::generated::Handler(
            secrets_manager.clone(),
        )),
        Arc::new(wharf_ssm::generated::Handler(ssm.clone())),
    ];
    let gateway = Arc::new(Gateway::new(
        services,
        Arc::new(credentials::AllKeys {
            root: keys,
            sessions: role_sessions.clone(),
        }),
        clock.clone(),
        ids,
        GatewayConfig {
            accept_any_credentials: args.accept_any_credentials,
            account_id: args.account_id.clone(),
            max_body_bytes: args.max_body_bytes,
        },
    ));

    // The registry answers /v2/; every other path is an AWS API call.
    let router =
        wharf_ecr::registry::router(ecr.clone()).fallback(move |req| gateway.clone().handle(req));

    // The task endpoint: credentials and metadata, and the API for everything else.
    let endpoint_server = task_endpoint.map(|bound| {
        let routes = Arc::new(wharf_agent::endpoint::TaskEndpoint::new(
            store.clone(),
            agent.runtime(),
            role_sessions.clone(),
        ))
        .router()
        .fallback_service(router.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(bound.listener, routes)
                .with_graceful_shutdown(shutdown_signal())
                .await
            {
                tracing::error!(error = %e, "the task endpoint stopped");
            }
        })
    });

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let background = [
        tokio::spawn(wharf_ecr::lifecycle::run_lifecycle_loop(
            ecr.clone(),
            Duration::from_secs(args.ecr_lifecycle_interval_seconds.max(1)),
            stop_rx.clone(),
        )),
        tokio::spawn(wharf_ecr::gc::run_gc_loop(
            ecr.clone(),
            Duration::from_secs(args.registry_gc_interval_seconds.max(1)),
            Duration::from_secs(args.registry_gc_grace_seconds),
            stop_rx.clone(),
        )),
        tokio::spawn(agent.clone().run(stop_rx.clone())),
        tokio::spawn(service_loop::run(
            service_runner,
            service_wake,
            clock.clone(),
            stop_rx.clone(),
        )),
        tokio::spawn(wharf_elbv2::run_reap_loop(
            elbv2.clone(),
            Duration::from_secs(5),
            stop_rx.clone(),
        )),
        tokio::spawn(wharf_logs::run_retention_loop(
            logs.clone(),
            Duration::from_secs(60),
            stop_rx.clone(),
        )),
    ];

    banner(
        &endpoint,
        &data_dir,
        &creds_path,
        created,
        args.accept_any_credentials,
    );
    write_endpoint_file(&data_dir, &endpoint)?;
    info!(%endpoint, data_dir = %data_dir.display(), "wharf started");

    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server stopped with an error")?;
    if let Some(server) = endpoint_server {
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    }
    let _ = stop_tx.send(true);
    plane.shutdown();
    for task in background {
        let _ = task.await;
    }
    let _ = std::fs::remove_file(data_dir.join("endpoint"));
    info!("wharf stopped");
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
