//! Test harness: real backends on 127.0.0.1 ephemeral ports (hyper servers with a toggling
//! `/health`, slow responses, a header dump and a WebSocket echo), a plane on the current
//! runtime, snapshot builders and a small HTTP client. Loopback only; every wait is bounded.
#![allow(dead_code, clippy::unwrap_used)]

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wharf_core::lb_plane::*;
use wharf_core::SystemClock;
use wharf_lb::{LoadBalancerPlane, PlaneConfig};

/// A backend server.
pub struct Backend {
    pub addr: SocketAddr,
    pub name: String,
    /// Status `/health` answers.
    pub health: Arc<AtomicU16>,
    /// Requests other than `/health`.
    pub hits: Arc<AtomicUsize>,
    /// Paths of requests other than `/health`.
    pub paths: Arc<Mutex<Vec<String>>>,
    /// Headers of the last request other than `/health`.
    pub last_headers: Arc<Mutex<Option<HeaderMap>>>,
    stop: CancellationToken,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[derive(Clone)]
struct BackendState {
    name: String,
    health: Arc<AtomicU16>,
    hits: Arc<AtomicUsize>,
    paths: Arc<Mutex<Vec<String>>>,
    last_headers: Arc<Mutex<Option<HeaderMap>>>,
}

impl Backend {
    /// Starts a backend answering its name.
    pub async fn start(name: &str) -> Self {
        Self::start_with(name, None).await
    }

    /// Starts a backend that speaks HTTPS with a self-signed certificate.
    pub async fn start_tls(name: &str) -> Self {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let key =
            rustls_pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
        Self::start_with(
            name,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
        .await
    }

    async fn start_with(name: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let state = BackendState {
            name: name.to_string(),
            health: Arc::new(AtomicU16::new(200)),
            hits: Arc::default(),
            paths: Arc::default(),
            last_headers: Arc::default(),
        };
        let backend = Backend {
            addr,
            name: name.to_string(),
            health: Arc::clone(&state.health),
            hits: Arc::clone(&state.hits),
            paths: Arc::clone(&state.paths),
            last_headers: Arc::clone(&state.last_headers),
            stop: stop.clone(),
        };
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    _ = stop.cancelled() => return,
                    r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
                };
                let state = state.clone();
                let stop = stop.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(serve(state, req).await) }
                    });
                    let builder = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => {
                            let conn = builder
                                .serve_connection(TokioIo::new(stream), svc)
                                .with_upgrades();
                            tokio::select! {
                                _ = conn => {}
                                _ = stop.cancelled() => {}
                            }
                        }
                        Some(acceptor) => {
                            let Ok(stream) = acceptor.accept(stream).await else {
                                return;
                            };
                            let conn = builder
                                .serve_connection(TokioIo::new(stream), svc)
                                .with_upgrades();
                            tokio::select! {
                                _ = conn => {}
                                _ = stop.cancelled() => {}
                            }
                        }
                    }
                });
            }
        });
        backend
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops accepting and closes every connection.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    pub fn set_health(&self, status: u16) {
        self.health.store(status, Ordering::SeqCst);
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

async fn serve(state: BackendState, mut req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if path == "/health" {
        let code = state.health.load(Ordering::SeqCst);
        return text(StatusCode::from_u16(code).unwrap(), "health".into());
    }
    state.hits.fetch_add(1, Ordering::SeqCst);
    state.paths.lock().unwrap().push(path.clone());
    *state.last_headers.lock().unwrap() = Some(req.headers().clone());
    if let Some(code) = path.strip_prefix("/status/") {
        let code = code.parse().ok().and_then(|c| StatusCode::from_u16(c).ok());
        return text(code.unwrap_or(StatusCode::BAD_REQUEST), state.name.clone());
    }
    if let Some(ms) = path.strip_prefix("/slow/") {
        let ms: u64 = ms.parse().unwrap_or(1000);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return text(StatusCode::OK, state.name.clone());
    }
    if path == "/ws" {
        let key = req
            .headers()
            .get("sec-websocket-key")
            .map(|k| k.as_bytes().to_vec())
            .unwrap_or_default();
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(&key);
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            let Ok(upgraded) = on_upgrade.await else {
                return;
            };
            let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                tokio_tungstenite::tungstenite::protocol::Role::Server,
                None,
            )
            .await;
            while let Some(Ok(msg)) = ws.next().await {
                if msg.is_text() || msg.is_binary() {
                    if ws.send(msg).await.is_err() {
                        break;
                    }
                } else if msg.is_close() {
                    break;
                }
            }
        });
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = r.headers_mut();
        h.insert("upgrade", "websocket".parse().unwrap());
        h.insert("connection", "upgrade".parse().unwrap());
        h.insert("sec-websocket-accept", accept.parse().unwrap());
        return r;
    }
    if path == "/headers" {
        let mut out = String::new();
        for (k, v) in req.headers() {
            out.push_str(&format!("{}: {}\n", k, v.to_str().unwrap_or("?")));
        }
        return text(StatusCode::OK, out);
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut r = text(StatusCode::OK, state.name.clone());
    r.headers_mut()
        .insert("x-backend", state.name.parse().unwrap());
    r.headers_mut()
        .insert("x-body-len", body.len().to_string().parse().unwrap());
    r
}

/// Certificates by ARN.
#[derive(Default)]
pub struct Certs(pub Mutex<HashMap<String, CertificateMaterial>>);

impl CertificateSource for Certs {
    fn certificate(&self, arn: &str) -> Option<CertificateMaterial> {
        self.0.lock().unwrap().get(arn).cloned()
    }
}

impl Certs {
    /// Generates a self-signed certificate for `names` under `arn`; returns its DER.
    pub fn generate(&self, arn: &str, names: &[&str]) -> Vec<u8> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let ck = rcgen::generate_simple_self_signed(names).unwrap();
        self.0.lock().unwrap().insert(
            arn.to_string(),
            CertificateMaterial {
                chain_pem: ck.cert.pem(),
                key_pem: ck.signing_key.serialize_pem(),
            },
        );
        ck.cert.der().to_vec()
    }
}

/// Plane settings for tests.
pub fn config() -> PlaneConfig {
    PlaneConfig {
        header_read_timeout: Duration::from_secs(10),
        ..PlaneConfig::default()
    }
}

/// A plane on the current runtime.
pub fn plane_with(config: PlaneConfig) -> (LoadBalancerPlane, Arc<Certs>) {
    let certs = Arc::new(Certs::default());
    let plane = LoadBalancerPlane::new(
        tokio::runtime::Handle::current(),
        config,
        Arc::clone(&certs) as Arc<dyn CertificateSource>,
        Arc::new(SystemClock),
    );
    (plane, certs)
}

pub fn plane() -> (LoadBalancerPlane, Arc<Certs>) {
    plane_with(config())
}

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn health_check() -> HealthCheckSpec {
    HealthCheckSpec {
        protocol: "HTTP".into(),
        port: None,
        path: "/health".into(),
        interval: Duration::from_millis(200),
        timeout: Duration::from_millis(1000),
        healthy_threshold: 2,
        unhealthy_threshold: 2,
        matcher: "200".into(),
    }
}

pub fn target(port: u16) -> TargetSpec {
    TargetSpec {
        id: "127.0.0.1".into(),
        port,
        deregistered_at_ms: None,
    }
}

pub fn tg(arn: &str, ports: &[u16]) -> TargetGroupSpec {
    TargetGroupSpec {
        arn: arn.into(),
        protocol: "HTTP".into(),
        port: 80,
        health_check: health_check(),
        deregistration_delay: Duration::from_secs(30),
        algorithm: Algorithm::RoundRobin,
        slow_start: Duration::ZERO,
        stickiness: None,
        targets: ports.iter().map(|p| target(*p)).collect(),
        network_namespace: None,
        source_address: None,
    }
}

pub fn forward(arn: &str) -> Action {
    Action::Forward {
        target_groups: vec![(arn.into(), 1)],
        stickiness: None,
    }
}

pub fn rule(priority: u32, conditions: Vec<Condition>, action: Action) -> RuleSpec {
    RuleSpec {
        arn: format!("arn:rule/{priority}"),
        priority: Some(priority),
        conditions,
        action,
    }
}

pub fn default_rule(action: Action) -> RuleSpec {
    RuleSpec {
        arn: "arn:rule/default".into(),
        priority: None,
        conditions: vec![],
        action,
    }
}

pub fn http_listener(port: u16, rules: Vec<RuleSpec>) -> ListenerSpec {
    ListenerSpec {
        arn: format!("arn:listener/{port}"),
        port,
        protocol: ListenerProtocol::Http,
        certificate_arns: vec![],
        ssl_policy: None,
        rules,
    }
}

pub fn lb(name: &str, dns: &str, listeners: Vec<ListenerSpec>) -> LoadBalancerSpec {
    LoadBalancerSpec {
        arn: format!("arn:loadbalancer/app/{name}"),
        dns_name: dns.into(),
        idle_timeout: Duration::from_secs(60),
        availability_zones: vec!["us-east-1a".into()],
        listeners,
        client_filter: None,
    }
}

/// One load balancer with one HTTP listener on `port` forwarding to `group` by default.
pub fn simple(port: u16, group: TargetGroupSpec) -> LbSnapshot {
    LbSnapshot {
        load_balancers: vec![lb(
            "a",
            "a.elb.localhost",
            vec![http_listener(port, vec![default_rule(forward(&group.arn))])],
        )],
        target_groups: vec![group],
    }
}

/// Polls `f` every 20 ms until it holds or `timeout` passes.
pub async fn wait_until<F: FnMut() -> bool>(what: &str, timeout: Duration, mut f: F) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls an async predicate every 20 ms until it holds or `timeout` passes.
pub async fn wait_until_async<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The states of `arn`'s targets, by port.
pub fn states(plane: &LoadBalancerPlane, arn: &str) -> Vec<(u16, String)> {
    plane
        .target_health(arn)
        .into_iter()
        .map(|r| (r.port, r.state))
        .collect()
}

/// Waits until every target of `arn` is healthy.
pub async fn wait_healthy(plane: &LoadBalancerPlane, arn: &str) {
    wait_until(&format!("{arn} healthy"), Duration::from_secs(20), || {
        let s = plane.target_health(arn);
        !s.is_empty() && s.iter().all(|r| r.state == "healthy")
    })
    .await;
}

/// Applies `snapshot` and waits until no target of its target groups is `initial` any more.
pub async fn apply_settled(plane: &LoadBalancerPlane, snapshot: LbSnapshot) {
    let arns: Vec<String> = snapshot
        .target_groups
        .iter()
        .map(|g| g.arn.clone())
        .collect();
    plane.apply(snapshot).unwrap();
    wait_until("health checks settled", Duration::from_secs(20), || {
        arns.iter().all(|arn| {
            plane
                .target_health(arn)
                .iter()
                .all(|r| r.state != "initial")
        })
    })
    .await;
}

pub type TestClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// Sends `req` with a 20 s bound.
pub async fn send(client: &TestClient, req: Request<Full<Bytes>>) -> Result<Answer, String> {
    let fut = async {
        let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .map_err(|_| "request timed out".to_string())?
}

/// GET `http://127.0.0.1:<port><path>` with an optional Host header.
pub async fn get(client: &TestClient, port: u16, path: &str, host: Option<&str>) -> Answer {
    let mut b = Request::get(format!("http://127.0.0.1:{port}{path}"));
    if let Some(h) = host {
        b = b.header("host", h);
    }
    send(client, b.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}
