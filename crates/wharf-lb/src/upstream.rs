//! Connections to targets: connecting (TCP, TLS without verification for HTTPS target groups,
//! HTTP/1.1 handshake) and each target's keep-alive pool.
//!
//! The pool is a stack of idle HTTP/1.1 connections per target (the most recently used first,
//! so a few connections stay warm and the rest expire). A connection returns to the pool when
//! the response body it carried has been read to its end; one whose body was abandoned is
//! closed. Idle connections older than the keep-alive time are closed, so the load balancer
//! never reuses a connection the target is about to close itself. A request that could not be
//! written on a pooled connection (closed meanwhile) is retried on another one.

use bytes::Bytes;
use http::uri::Authority;
use http_body::Body;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

/// Why a connection to a target could not be made.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// No answer within the connect timeout (504).
    Timeout,
    /// Refused, reset, TLS or HTTP handshake failure (502).
    Failed(String),
}

/// Opens connections to targets.
#[derive(Clone)]
pub(crate) struct Connector {
    /// TLS to HTTPS targets: no certificate verification, ALPN `http/1.1`.
    tls: tokio_rustls::TlsConnector,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl Connector {
    pub(crate) fn new(tls: tokio_rustls::TlsConnector, connect_timeout: Duration) -> Self {
        Self {
            tls,
            connect_timeout,
        }
    }

    /// An HTTP/1.1 connection to `authority` (made from where `from` says; TLS when `https`);
    /// its connection task runs in the background (with protocol upgrades when `upgrades`).
    pub(crate) async fn connect<B>(
        &self,
        authority: &Authority,
        from: &crate::netns::ConnectFrom,
        https: bool,
        upgrades: bool,
    ) -> Result<SendRequest<B>, ConnectError>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let stream = match tokio::time::timeout(
            self.connect_timeout,
            crate::netns::connect(from, authority.as_str()),
        )
        .await
        {
            Err(_) => return Err(ConnectError::Timeout),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Err(ConnectError::Timeout)
            }
            Ok(Err(e)) => return Err(ConnectError::Failed(format!("connect {authority}: {e}"))),
            Ok(Ok(s)) => s,
        };
        let _ = stream.set_nodelay(true);
        if !https {
            return handshake(stream, upgrades).await;
        }
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| ConnectError::Failed(format!("{host} is not a TLS server name")))?;
        let tls = match tokio::time::timeout(self.connect_timeout, self.tls.connect(name, stream))
            .await
        {
            Err(_) => return Err(ConnectError::Timeout),
            Ok(Err(e)) => return Err(ConnectError::Failed(format!("tls to {authority}: {e}"))),
            Ok(Ok(s)) => s,
        };
        handshake(tls, upgrades).await
    }
}

async fn handshake<I, B>(io: I, upgrades: bool) -> Result<SendRequest<B>, ConnectError>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| ConnectError::Failed(format!("handshake: {e}")))?;
    if upgrades {
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
    } else {
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    Ok(sender)
}

/// A pooled connection's sender (request bodies come from clients).
pub(crate) type Sender = SendRequest<hyper::body::Incoming>;

/// One target's idle keep-alive connections.
#[derive(Default)]
pub(crate) struct Pool {
    /// Oldest first; taken from the end.
    idle: Mutex<Vec<(Sender, Instant)>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("idle", &self.lock().len())
            .finish()
    }
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Vec<(Sender, Instant)>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used idle connection not older than `keep_alive` and not closed.
    pub(crate) fn take(&self, keep_alive: Duration) -> Option<Sender> {
        let mut idle = self.lock();
        let now = Instant::now();
        while let Some((sender, since)) = idle.pop() {
            if now.duration_since(since) >= keep_alive {
                // The rest are older still.
                idle.clear();
                return None;
            }
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    /// Returns a connection whose last response was read to its end.
    pub(crate) fn put(&self, sender: Sender, max_idle: usize) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.lock();
        if idle.len() >= max_idle {
            idle.remove(0);
        }
        idle.push((sender, Instant::now()));
    }

    /// Closes connections idle longer than `keep_alive`.
    pub(crate) fn sweep(&self, keep_alive: Duration) {
        let mut idle = self.lock();
        let now = Instant::now();
        idle.retain(|(sender, since)| {
            now.duration_since(*since) < keep_alive && !sender.is_closed()
        });
    }
}

/// An empty body for requests the load balancer makes itself (health checks).
pub(crate) type EmptyBody = http_body_util::Empty<Bytes>;
