//! The response body the load balancer sends: a small fixed body (errors, fixed responses,
//! redirects) or a target's streamed body that holds the request's in-flight mark until it ends
//! (draining waits for it; least outstanding requests counts it) and stops once the target's
//! deregistration delay is over.

use crate::target_states::InFlight;
use crate::upstream::Sender;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Errors a response body may end with.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body.
#[derive(Debug)]
pub(crate) enum LbBody {
    /// Bytes known in advance (`None` once sent).
    Full(Option<Bytes>),
    /// A target's body.
    Upstream(Upstream),
}

/// A target's response body.
#[derive(Debug)]
pub(crate) struct Upstream {
    body: Incoming,
    /// Released when the body ends (or is dropped).
    guard: Option<InFlight>,
    /// The pooled connection it came on: back to the pool once the body is read to its end.
    sender: Option<Sender>,
}

impl Upstream {
    /// `body` from `sender`'s connection (`None`: not pooled) for the request `guard` marks.
    pub(crate) fn new(body: Incoming, guard: InFlight, sender: Option<Sender>) -> Self {
        Self {
            body,
            guard: Some(guard),
            sender,
        }
    }

    /// The body ended cleanly: the connection may carry another request.
    fn finish(&mut self) {
        if let (Some(sender), Some(guard)) = (self.sender.take(), self.guard.as_ref()) {
            guard.release_connection(sender);
        }
        self.guard.take();
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        // A body the server never polled (HEAD, 204, 304, empty) still ended cleanly.
        if self.sender.is_some() && self.body.is_end_stream() {
            self.finish();
        }
    }
}

impl LbBody {
    /// A fixed body.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            LbBody::Full(None)
        } else {
            LbBody::Full(Some(bytes))
        }
    }

    /// No body.
    pub(crate) fn empty() -> Self {
        LbBody::Full(None)
    }
}

#[derive(Debug)]
struct DeregistrationDelayOver;

impl std::fmt::Display for DeregistrationDelayOver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the target's deregistration delay is over")
    }
}

impl std::error::Error for DeregistrationDelayOver {}

impl Body for LbBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            LbBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            LbBody::Upstream(up) => {
                if up.guard.as_ref().is_some_and(InFlight::cut) {
                    up.sender.take();
                    up.guard.take();
                    return Poll::Ready(Some(Err(Box::new(DeregistrationDelayOver))));
                }
                match Pin::new(&mut up.body).poll_frame(cx) {
                    Poll::Ready(None) => {
                        up.finish();
                        Poll::Ready(None)
                    }
                    Poll::Ready(Some(Err(e))) => {
                        up.sender.take();
                        up.guard.take();
                        Poll::Ready(Some(Err(Box::new(e))))
                    }
                    other => other.map(|f| f.map(|r| r.map_err(|e| Box::new(e) as BoxError))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            LbBody::Full(bytes) => bytes.is_none(),
            LbBody::Upstream(up) => up.body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            LbBody::Full(None) => SizeHint::with_exact(0),
            LbBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            LbBody::Upstream(up) => up.body.size_hint(),
        }
    }
}
