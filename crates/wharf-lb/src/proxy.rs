//! The request path: pick the load balancer (Host / SNI), evaluate its rules, then answer a
//! fixed response or a redirect, or forward to a target.
//!
//! Forwarding, as ALB does it:
//! - the target group by weight (or the `AWSALBTG` cookie with group stickiness), the target by
//!   the group's algorithm (or the `AWSALB` cookie with target stickiness);
//! - hop-by-hop headers removed both ways; `X-Forwarded-For` appended with the client address,
//!   `X-Forwarded-Proto` and `X-Forwarded-Port` set, `X-Amzn-Trace-Id` kept or created as
//!   `Root=1-<epoch seconds, 8 hex>-<24 hex>`; HTTP/2 requests become HTTP/1.1 with `Host` from
//!   `:authority`;
//! - the request goes over the target's keep-alive pool; WebSocket (`Upgrade`) requests over a
//!   dedicated connection that becomes a byte tunnel after `101`, cut by the idle timeout or the
//!   end of the target's deregistration delay;
//! - 502 when the target refuses or breaks the connection or answers nonsense, 503 when the
//!   group has no registered target, 504 when it does not answer within the load balancer's idle
//!   timeout (ALB's target response timeout), all with ALB's HTML bodies.

use crate::body::{LbBody, Upstream};
use crate::connection::{Activity, ConnCtx};
use crate::metrics::Answered;
use crate::port::LbListener;
use crate::routing::{self, Fixed, Forward, RedirectContext, RequestView, RuleAction};
use crate::target_states::{InFlight, Target, TargetGroup};
use crate::upstream::{ConnectError, Sender};
use http::header::{self, HeaderName};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio_util::sync::CancellationToken;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
static X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
const SERVER: HeaderValue = HeaderValue::from_static("awselb/2.0");

/// ALB's HTML error body for `status` (ALB words some reasons its own way).
pub(crate) fn error_body(status: StatusCode) -> String {
    let reason = match status.as_u16() {
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    let line = format!("{} {reason}", status.as_u16());
    format!(
        "<html><head><title>{line}</title></head><body><center><h1>{line}</h1></center></body></html>"
    )
}

/// An error answered by the load balancer itself.
pub(crate) fn error_response(status: StatusCode) -> Response<LbBody> {
    let mut r = Response::new(LbBody::full(error_body(status)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::SERVER, SERVER);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}

fn fixed_response(f: &Fixed) -> Response<LbBody> {
    let mut r = Response::new(LbBody::full(f.body.clone()));
    *r.status_mut() = f.status;
    let h = r.headers_mut();
    h.insert(header::SERVER, SERVER);
    h.insert(header::CONTENT_TYPE, f.content_type.clone());
    r
}

/// The request's host: `:authority` / absolute-form authority, else the `Host` header.
fn request_host<B>(req: &Request<B>) -> Option<&str> {
    match req.uri().authority() {
        Some(a) => Some(a.as_str()),
        None => req.headers().get(header::HOST)?.to_str().ok(),
    }
}

/// `host[:port]` without the port (and without user info).
fn strip_port(authority: &str) -> &str {
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(host, |(h, _)| h);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Who answered, and the target group the request was routed to (for the metrics).
type Answer<'a> = (Response<LbBody>, Answered, Option<&'a TargetGroup>);

/// A client the load balancer's security groups do not admit: it gets no answer (on AWS its
/// connection attempt times out), and its connection is closed after the idle timeout.
#[derive(Debug)]
pub(crate) struct ClientRefused;

impl std::fmt::Display for ClientRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the load balancer's security groups do not admit this client")
    }
}

impl std::error::Error for ClientRefused {}

/// Handles one request from a client.
pub(crate) async fn handle(
    req: Request<Incoming>,
    ctx: Arc<ConnCtx>,
) -> Result<Response<LbBody>, ClientRefused> {
    let lb = {
        let table = ctx.port.table.load();
        let host = request_host(&req).map(strip_port);
        let name = if ctx.tls {
            ctx.sni.as_deref().or(host)
        } else {
            host
        };
        match table.pick(ctx.tls, name) {
            Some(lb) => Arc::clone(lb),
            None => return Ok(error_response(StatusCode::SERVICE_UNAVAILABLE)),
        }
    };
    ctx.activity.set_idle(lb.idle_timeout);
    if !lb.admits(ctx.peer.ip()) {
        tracing::debug!(client = %ctx.peer, port = ctx.port.port, "client refused by the load balancer's security groups");
        tokio::time::sleep(lb.idle_timeout).await;
        return Err(ClientRefused);
    }
    let Some(metrics) = lb.metrics.as_ref() else {
        return Ok(answer(req, &ctx, &lb).await.0);
    };
    ctx.count_traffic(metrics);
    let (resp, answered, group) = answer(req, &ctx, &lb).await;
    metrics.request(resp.status().as_u16(), answered, group.map(|g| &g.counters));
    Ok(resp)
}

/// The answer of load balancer `lb` to `req`: its rules' action.
async fn answer<'a>(req: Request<Incoming>, ctx: &Arc<ConnCtx>, lb: &'a LbListener) -> Answer<'a> {
    let elb = |r: Response<LbBody>| (r, Answered::Elb, None);
    let host = request_host(&req).map(strip_port);
    let action = routing::route(
        &lb.rules,
        &RequestView {
            method: req.method().as_str(),
            path: req.uri().path(),
            query: req.uri().query(),
            host,
            headers: req.headers(),
            client_ip: ctx.peer.ip().to_canonical(),
        },
    );
    match action {
        None => elb(error_response(StatusCode::SERVICE_UNAVAILABLE)),
        Some(RuleAction::Fixed(f)) => elb(fixed_response(f)),
        Some(RuleAction::Redirect(r)) => {
            let location = r.location(&RedirectContext {
                protocol: if ctx.tls { "HTTPS" } else { "HTTP" },
                host: host.unwrap_or(""),
                port: ctx.port.port,
                path: req.uri().path(),
                query: req.uri().query().unwrap_or(""),
            });
            let mut resp = Response::new(LbBody::empty());
            *resp.status_mut() = r.status;
            resp.headers_mut().insert(header::SERVER, SERVER);
            match HeaderValue::from_str(&location) {
                Ok(v) => {
                    resp.headers_mut().insert(header::LOCATION, v);
                    elb(resp)
                }
                Err(_) => elb(error_response(StatusCode::BAD_REQUEST)),
            }
        }
        Some(RuleAction::Forward(f)) => forward(req, ctx, lb, f).await,
    }
}

/// The value of cookie `name` in the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn parse_key(value: Option<&str>) -> Option<u64> {
    value.and_then(|v| u64::from_str_radix(v, 16).ok())
}

fn set_cookie(headers: &mut HeaderMap, name: &str, key: u64, ttl: Duration, now_ms: i64) {
    let expires =
        SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(now_ms).unwrap_or(0)) + ttl;
    let value = format!(
        "{name}={key:016x}; Expires={}; Path=/",
        httpdate::fmt_http_date(expires)
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// Whether the request asks for an HTTP/1.1 protocol upgrade (WebSocket).
fn is_upgrade<B>(req: &Request<B>) -> bool {
    req.version() == Version::HTTP_11
        && req.headers().contains_key(header::UPGRADE)
        && req
            .headers()
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// Removes hop-by-hop headers (those `Connection` names too); with `upgrade`, keeps
/// `Connection: upgrade` and `Upgrade`.
fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    // Most messages carry none: one pass over the names (no hashing) says so.
    if !headers.keys().any(is_hop_by_hop) {
        if upgrade {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        }
        return;
    }
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
            .filter(|n| !(upgrade && *n == header::UPGRADE))
            .collect();
        for name in named {
            headers.remove(name);
        }
        headers.remove(header::CONNECTION);
    }
    headers.remove(&KEEP_ALIVE);
    headers.remove(&PROXY_CONNECTION);
    headers.remove(header::TE);
    headers.remove(header::TRAILER);
    headers.remove(header::TRANSFER_ENCODING);
    if upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(header::UPGRADE);
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TE
        || name == header::TRAILER
        || name == header::TRANSFER_ENCODING
        || name == header::UPGRADE
        || name == KEEP_ALIVE
        || name == PROXY_CONNECTION
}

/// `Root=1-<epoch seconds as 8 hex>-<96 random bits as 24 hex>`.
fn trace_id(now_ms: i64) -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 40];
    buf[..7].copy_from_slice(b"Root=1-");
    let secs = u32::try_from(now_ms.div_euclid(1000)).unwrap_or(0);
    for i in 0..8 {
        buf[7 + i] = HEX[((secs >> (28 - 4 * i)) & 0xf) as usize];
    }
    buf[15] = b'-';
    let random: [u8; 12] = rand::random();
    for (i, b) in random.iter().enumerate() {
        buf[16 + 2 * i] = HEX[usize::from(b >> 4)];
        buf[17 + 2 * i] = HEX[usize::from(b & 0xf)];
    }
    HeaderValue::from_bytes(&buf)
        .unwrap_or_else(|_| HeaderValue::from_static("Root=1-00000000-000000000000000000000000"))
}

/// Turns a client request into the request for `target` (origin-form URI, HTTP/1.1).
fn prepare(
    req: &mut Request<Incoming>,
    ctx: &ConnCtx,
    target: &Target,
    upgrade: bool,
) -> Result<(), http::Error> {
    let pq = req
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    if !req.headers().contains_key(header::HOST) {
        let host = match req.uri().authority() {
            Some(a) => HeaderValue::from_str(a.as_str()).ok(),
            None => HeaderValue::from_str(target.authority.as_str()).ok(),
        };
        if let Some(v) = host {
            req.headers_mut().insert(header::HOST, v);
        }
    }
    *req.uri_mut() = Uri::from(pq);
    *req.version_mut() = Version::HTTP_11;
    let headers = req.headers_mut();
    strip_hop_by_hop(headers, upgrade);
    // One pass over the names instead of a hash lookup per header of interest.
    let (mut expect, mut xff_in, mut trace_in) = (false, false, false);
    for name in headers.keys() {
        if name == header::EXPECT {
            expect = true;
        } else if name == X_FORWARDED_FOR {
            xff_in = true;
        } else if name == X_AMZN_TRACE_ID {
            trace_in = true;
        }
    }
    if expect {
        // The client's `Expect: 100-continue` was answered by our side already.
        headers.remove(header::EXPECT);
    }
    let xff = {
        if !xff_in {
            None
        } else {
            let existing = headers.get_all(&X_FORWARDED_FOR).iter();
            let mut joined = Vec::with_capacity(64);
            for v in existing {
                if !joined.is_empty() {
                    joined.extend_from_slice(b", ");
                }
                joined.extend_from_slice(v.as_bytes());
            }
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(ctx.peer_value.as_bytes());
            HeaderValue::from_bytes(&joined).ok()
        }
    };
    headers.insert(
        X_FORWARDED_FOR.clone(),
        xff.unwrap_or_else(|| ctx.peer_value.clone()),
    );
    headers.insert(
        X_FORWARDED_PROTO.clone(),
        HeaderValue::from_static(if ctx.tls { "https" } else { "http" }),
    );
    headers.insert(X_FORWARDED_PORT.clone(), ctx.port.port_value.clone());
    if !trace_in {
        let now = ctx.port.shared.clock.now().millis;
        headers.insert(X_AMZN_TRACE_ID.clone(), trace_id(now));
    }
    Ok(())
}

async fn forward<'a>(
    mut req: Request<Incoming>,
    ctx: &Arc<ConnCtx>,
    lb: &'a LbListener,
    fwd: &'a Forward,
) -> Answer<'a> {
    let group_cookie = fwd
        .stickiness
        .and_then(|_| parse_key(cookie(req.headers(), "AWSALBTG")));
    let no_group = || {
        let status = StatusCode::SERVICE_UNAVAILABLE;
        (error_response(status), Answered::Elb, None)
    };
    let Some(choice) = fwd.choose(group_cookie) else {
        return no_group();
    };
    let Some(group) = choice.group.as_ref() else {
        return no_group();
    };
    let elb = |status: StatusCode| (error_response(status), Answered::Elb, Some(&**group));
    let settings = group.settings();
    let target_cookie = settings
        .stickiness
        .and_then(|_| parse_key(cookie(req.headers(), "AWSALB")));
    let Some(target) = group.pick(target_cookie) else {
        return elb(StatusCode::SERVICE_UNAVAILABLE);
    };
    let guard = InFlight::new(Arc::clone(&target), Arc::clone(&ctx.activity.in_flight));
    let upgrade = is_upgrade(&req);
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    if prepare(&mut req, ctx, &target, upgrade).is_err() {
        return elb(StatusCode::BAD_REQUEST);
    }
    let timeout = lb.idle_timeout;
    // TargetResponseTime: from the request leaving to the target's response head.
    let sent_at = lb.metrics.is_some().then(Instant::now);
    let mut resp = match client_upgrade {
        Some(client_upgrade) => {
            match upgrade_request(
                req,
                client_upgrade,
                ctx,
                &target,
                settings.https,
                timeout,
                guard,
            )
            .await
            {
                Ok(resp) => resp,
                Err(status) => return elb(status),
            }
        }
        None => {
            let sent = send(req, ctx, &target, settings.https);
            let outcome = tokio::select! {
                r = tokio::time::timeout(timeout, sent) => r,
                _ = target.drain.cancelled() => return elb(StatusCode::BAD_GATEWAY),
            };
            match outcome {
                Err(_) => return elb(StatusCode::GATEWAY_TIMEOUT),
                Ok(Err(status)) => return elb(status),
                Ok(Ok((resp, sender))) => {
                    let (mut parts, body) = resp.into_parts();
                    strip_hop_by_hop(&mut parts.headers, false);
                    Response::from_parts(
                        parts,
                        LbBody::Upstream(Upstream::new(body, guard, Some(sender))),
                    )
                }
            }
        }
    };
    let now = ctx.port.shared.clock.now().millis;
    if let Some(ttl) = fwd.stickiness {
        if fwd.groups.len() > 1 {
            set_cookie(resp.headers_mut(), "AWSALBTG", choice.key, ttl, now);
        }
    }
    if let Some(ttl) = settings.stickiness {
        set_cookie(resp.headers_mut(), "AWSALB", target.key, ttl, now);
    }
    let elapsed = sent_at.map_or(0, |t| {
        u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX)
    });
    (resp, Answered::Target(elapsed), Some(&**group))
}

/// Sends `req` to `target` over a pooled keep-alive connection (a new one when none is idle);
/// a request a pooled connection could not take (closed meanwhile) goes on another.
async fn send(
    mut req: Request<Incoming>,
    ctx: &ConnCtx,
    target: &Target,
    https: bool,
) -> Result<(Response<Incoming>, Sender), StatusCode> {
    let shared = &ctx.port.shared;
    let keep_alive = shared.config.target_keep_alive;
    // Idle connections first (a bounded number of tries), then a new connection.
    for _ in 0..4 {
        let pooled = target.pool.take(keep_alive);
        let fresh = pooled.is_none();
        let mut sender = match pooled {
            Some(s) => s,
            None => shared
                .connector
                .connect(&target.authority, &target.from, https, false)
                .await
                .map_err(|e| match e {
                    ConnectError::Timeout => StatusCode::GATEWAY_TIMEOUT,
                    ConnectError::Failed(why) => {
                        tracing::debug!(target = %target.authority, "{why}");
                        StatusCode::BAD_GATEWAY
                    }
                })?,
        };
        if sender.ready().await.is_err() {
            if fresh {
                return Err(StatusCode::BAD_GATEWAY);
            }
            continue;
        }
        match sender.try_send_request(req).await {
            Ok(resp) => return Ok((resp, sender)),
            Err(mut e) => match e.take_message() {
                Some(unsent) if !fresh => req = unsent,
                _ => {
                    tracing::debug!(target = %target.authority, "target request failed: {}", e.error());
                    return Err(StatusCode::BAD_GATEWAY);
                }
            },
        }
    }
    Err(StatusCode::BAD_GATEWAY)
}

/// A WebSocket (or other HTTP/1.1 upgrade) request: a dedicated connection to the target;
/// after `101 Switching Protocols` the two connections are joined into a tunnel.
async fn upgrade_request(
    req: Request<Incoming>,
    client_upgrade: OnUpgrade,
    ctx: &Arc<ConnCtx>,
    target: &Arc<Target>,
    https: bool,
    timeout: Duration,
    guard: InFlight,
) -> Result<Response<LbBody>, StatusCode> {
    let mut sender = ctx
        .port
        .shared
        .connector
        .connect(&target.authority, &target.from, https, true)
        .await
        .map_err(|e| match e {
            ConnectError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ConnectError::Failed(_) => StatusCode::BAD_GATEWAY,
        })?;
    let mut resp = match tokio::time::timeout(timeout, sender.send_request(req)).await {
        Err(_) => return Err(StatusCode::GATEWAY_TIMEOUT),
        Ok(Err(_)) => return Err(StatusCode::BAD_GATEWAY),
        Ok(Ok(r)) => r,
    };
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers, false);
        return Ok(Response::from_parts(
            parts,
            LbBody::Upstream(Upstream::new(body, guard, None)),
        ));
    }
    let target_upgrade = hyper::upgrade::on(&mut resp);
    tokio::spawn(tunnel(
        client_upgrade,
        target_upgrade,
        guard,
        Arc::clone(target),
        Arc::clone(&ctx.activity),
        ctx.port.cancel.clone(),
    ));
    let (parts, _) = resp.into_parts();
    Ok(Response::from_parts(parts, LbBody::empty()))
}

/// Copies bytes both ways until either side closes, the connection idles for the load
/// balancer's idle timeout, the target's deregistration delay ends or the port closes.
async fn tunnel(
    client: OnUpgrade,
    target_side: OnUpgrade,
    guard: InFlight,
    target: Arc<Target>,
    activity: Arc<Activity>,
    port_closed: CancellationToken,
) {
    let (client, target_side) = match tokio::join!(client, target_side) {
        (Ok(c), Ok(t)) => (c, t),
        _ => return,
    };
    let mut client = TokioIo::new(client);
    let mut target_side = TokioIo::new(target_side);
    let copy = tokio::io::copy_bidirectional(&mut client, &mut target_side);
    tokio::pin!(copy);
    let mut seen = activity.ops();
    loop {
        tokio::select! {
            _ = &mut copy => break,
            _ = target.drain.cancelled() => break,
            _ = port_closed.cancelled() => break,
            _ = tokio::time::sleep(activity.idle()) => {
                let now = activity.ops();
                if now == seen {
                    break;
                }
                seen = now;
            }
        }
    }
    drop(guard);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alb_error_bodies() {
        assert_eq!(
            error_body(StatusCode::BAD_GATEWAY),
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"
        );
    }

    #[test]
    fn trace_ids_have_aws_shape() {
        let v = trace_id(1_700_000_000_123);
        let s = v.to_str().unwrap();
        assert_eq!(s.len(), 40);
        assert!(s.starts_with("Root=1-6553f100-"), "{s}");
        assert!(s[16..].bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn hosts_lose_their_ports() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("u@h:1"), "h");
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        let mut up = h.clone();
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
        strip_hop_by_hop(&mut up, true);
        assert_eq!(up.get(header::UPGRADE).unwrap(), "websocket");
        assert_eq!(up.get(header::CONNECTION).unwrap(), "upgrade");
    }

    #[test]
    fn cookies_are_found() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; AWSALB=00000000000000ff"),
        );
        assert_eq!(parse_key(cookie(&h, "AWSALB")), Some(255));
        assert_eq!(cookie(&h, "AWSALBTG"), None);
    }
}
