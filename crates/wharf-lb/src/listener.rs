//! Listening sockets and client connections.
//!
//! One socket per distinct listener port; its accept loop runs until the port leaves the
//! snapshot. Each connection is its own task: it tells TLS from plain HTTP (by the port's
//! listeners, or by the first byte when a port has both), picks the load balancer by SNI for
//! TLS, serves HTTP/1.1 or HTTP/2 (ALPN on TLS, prior-knowledge h2c on plain) with hyper, and
//! closes the connection after the load balancer's idle timeout without traffic. Every request
//! reads the port's routing table afresh (an `ArcSwap` load), so `apply` changes routing for
//! connections already open.

use crate::connection::{Activity, ActivityIo, ConnCtx};
use crate::port::PortShared;
use crate::proxy;
use http::HeaderValue;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::LazyConfigAcceptor;

/// Opens a listening socket (SO_REUSEADDR, deep backlog, non-blocking).
pub(crate) fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

/// Accepts connections on `listener` until the port closes; sets `released` once the socket is
/// closed (so the port can be bound again).
pub(crate) async fn accept_loop(
    listener: std::net::TcpListener,
    port: Arc<PortShared>,
    released: Arc<AtomicBool>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(port = port.port, "cannot listen: {e}");
            released.store(true, Ordering::Release);
            return;
        }
    };
    loop {
        tokio::select! {
            biased;
            _ = port.cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(permit) = Arc::clone(&port.shared.connections).try_acquire_owned() else {
                        tracing::warn!(port = port.port, "connection limit reached; closing a new connection");
                        drop(stream);
                        continue;
                    };
                    let port = Arc::clone(&port);
                    tokio::spawn(async move {
                        serve(stream, peer, port).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(port = port.port, "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
    drop(listener);
    released.store(true, Ordering::Release);
}

async fn serve(stream: TcpStream, peer: SocketAddr, port: Arc<PortShared>) {
    let _ = stream.set_nodelay(true);
    let shared = Arc::clone(&port.shared);
    let header_timeout = shared.config.header_read_timeout;
    let table = port.table.load_full();
    let tls = match (table.http.is_empty(), table.https.is_empty()) {
        (_, true) => false,
        (true, false) => true,
        (false, false) => {
            let mut first = [0u8; 1];
            match tokio::time::timeout(header_timeout, stream.peek(&mut first)).await {
                Ok(Ok(1)) => first[0] == 0x16,
                _ => return,
            }
        }
    };
    let activity = Arc::new(Activity::new(table.idle_timeout()));
    let io = ActivityIo::new(stream, Arc::clone(&activity));
    let peer_value = HeaderValue::from_str(&peer.ip().to_canonical().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("0.0.0.0"));
    if !tls {
        let ctx = Arc::new(ConnCtx {
            port,
            peer,
            peer_value,
            tls: false,
            sni: None,
            activity,
            lb_metrics: OnceLock::new(),
        });
        serve_http(&shared.auto, io, ctx).await;
        return;
    }
    let acceptor = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io);
    let start = match tokio::time::timeout(header_timeout, acceptor).await {
        Ok(Ok(start)) => start,
        Ok(Err(e)) => {
            tracing::debug!(%peer, "tls: {e}");
            return;
        }
        Err(_) => return,
    };
    let sni = start
        .client_hello()
        .server_name()
        .map(str::to_ascii_lowercase);
    let Some(listener) = table.pick(true, sni.as_deref()) else {
        return;
    };
    let Some(config) = listener.tls.as_ref().map(|t| Arc::clone(&t.config)) else {
        return;
    };
    activity.set_idle(listener.idle_timeout);
    drop(table);
    let stream = match tokio::time::timeout(header_timeout, start.into_stream(config)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::debug!(%peer, "tls handshake: {e}");
            return;
        }
        Err(_) => return,
    };
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    let ctx = Arc::new(ConnCtx {
        port,
        peer,
        peer_value,
        tls: true,
        sni,
        activity,
        lb_metrics: OnceLock::new(),
    });
    let builder = if h2 { &shared.h2_only } else { &shared.h1_only };
    serve_http(builder, stream, ctx).await;
}

async fn serve_http<I>(builder: &auto::Builder<TokioExecutor>, io: I, ctx: Arc<ConnCtx>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::clone(&ctx.activity);
    let cancel = ctx.port.cancel.clone();
    let peer = ctx.peer;
    let conn_ctx = Arc::clone(&ctx);
    let service = service_fn(move |req| {
        let ctx = Arc::clone(&ctx);
        proxy::handle(req, ctx)
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut seen = activity.ops();
    let mut closing = false;
    // Once closing, requests in flight get one idle timeout (their target response timeout)
    // to finish before the connection is dropped.
    let mut hard_stop = tokio::time::Instant::now();
    loop {
        let idle = activity.idle();
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(%peer, "connection: {e}");
                }
                break;
            }
            _ = cancel.cancelled(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
                hard_stop = tokio::time::Instant::now() + idle + Duration::from_secs(1);
            }
            _ = tokio::time::sleep(idle), if !closing => {
                let now = activity.ops();
                if now == seen && activity.in_flight.load(Ordering::Relaxed) == 0 {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                    hard_stop = tokio::time::Instant::now() + idle + Duration::from_secs(1);
                }
                seen = now;
            }
            _ = tokio::time::sleep_until(hard_stop), if closing => break,
        }
    }
    conn_ctx.closed();
}
