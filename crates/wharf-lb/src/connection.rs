//! A client connection as the request path sees it: its context ([`ConnCtx`]: port, peer,
//! TLS, SNI) and its traffic accounting ([`Activity`], counted by the socket wrapper
//! [`ActivityIo`]), which the idle timeout reads.

use crate::metrics::LbCounters;
use crate::port::PortShared;
use http::HeaderValue;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Traffic accounting of one client connection, for the idle timeout.
#[derive(Debug)]
pub(crate) struct Activity {
    /// Successful reads and writes so far.
    ops: AtomicU64,
    /// Requests waiting for or streaming from a target.
    pub(crate) in_flight: Arc<AtomicUsize>,
    /// The idle timeout of the load balancer last used, in milliseconds.
    idle_ms: AtomicU64,
    /// Bytes read and written since the metrics last took them (`ProcessedBytes`).
    bytes: AtomicU64,
}

impl Activity {
    /// A connection with no traffic yet, idle after `idle`.
    pub(crate) fn new(idle: Duration) -> Self {
        Self {
            ops: AtomicU64::new(0),
            in_flight: Arc::new(AtomicUsize::new(0)),
            idle_ms: AtomicU64::new(duration_ms(idle)),
            bytes: AtomicU64::new(0),
        }
    }

    pub(crate) fn ops(&self) -> u64 {
        self.ops.load(Ordering::Relaxed)
    }

    pub(crate) fn set_idle(&self, idle: Duration) {
        self.idle_ms.store(duration_ms(idle), Ordering::Relaxed);
    }

    pub(crate) fn idle(&self) -> Duration {
        Duration::from_millis(self.idle_ms.load(Ordering::Relaxed).max(1))
    }

    fn touch(&self, bytes: usize) {
        self.ops.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// The bytes counted since the last call.
    pub(crate) fn take_bytes(&self) -> u64 {
        self.bytes.swap(0, Ordering::Relaxed)
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A socket that counts its reads and writes into an [`Activity`].
#[derive(Debug)]
pub(crate) struct ActivityIo<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> ActivityIo<T> {
    /// `inner`, counting its traffic into `activity`.
    pub(crate) fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ActivityIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            this.activity.touch(read);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ActivityIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            if n > 0 {
                this.activity.touch(n);
            }
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            if n > 0 {
                this.activity.touch(n);
            }
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// What a request handler knows about its connection.
#[derive(Debug)]
pub(crate) struct ConnCtx {
    pub(crate) port: Arc<PortShared>,
    /// The client's address (`source-ip`, `X-Forwarded-For`).
    pub(crate) peer: SocketAddr,
    /// The client's address as an `X-Forwarded-For` value.
    pub(crate) peer_value: HeaderValue,
    /// TLS-terminated.
    pub(crate) tls: bool,
    /// The TLS server name, lower-case.
    pub(crate) sni: Option<String>,
    pub(crate) activity: Arc<Activity>,
    /// The metric counters of the load balancer the connection's first request went to: its
    /// connection and bytes are counted there.
    pub(crate) lb_metrics: OnceLock<Arc<LbCounters>>,
}

impl ConnCtx {
    /// Counts the connection for `lb` at its first request, and the bytes moved so far.
    pub(crate) fn count_traffic(&self, lb: &Arc<LbCounters>) {
        let counters = self.lb_metrics.get_or_init(|| {
            lb.connection_opened();
            Arc::clone(lb)
        });
        counters.bytes(self.activity.take_bytes());
    }

    /// The connection is closing: its last bytes, and one connection fewer open.
    pub(crate) fn closed(&self) {
        if let Some(counters) = self.lb_metrics.get() {
            counters.bytes(self.activity.take_bytes());
            counters.connection_closed();
        }
    }
}
