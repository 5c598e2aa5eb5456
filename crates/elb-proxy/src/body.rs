//! Body types that stream through the proxy without collecting: the request body sent
//! upstream (with the route's size limit enforced as bytes pass) and the response body sent
//! to the client (a member's streamed answer, or a short local answer). When a member's
//! answer ends cleanly its connection goes back to the pool; when it breaks, the failure is
//! counted against the member. Accounting happens in `Completion`'s drop, so it runs exactly
//! once whichever way the exchange ends (finished, client gone, member broke).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::future::Future;

/// The request body would exceed the route's `max_body`.
#[derive(Debug, thiserror::Error)]
#[error("request body larger than {0} bytes")]
pub struct BodyTooLarge(pub u64);

/// Error type of request bodies sent upstream.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A client's request body on its way to a member.
#[derive(Debug)]
pub struct UpstreamBody {
    inner: Option<Incoming>,
    /// Bytes still allowed; `u64::MAX` when unlimited.
    remaining: u64,
    limit: u64,
    /// Told when the body has been read to its end (connection parking).
    end_mark: Option<std::sync::Arc<crate::park::ParkState>>,
    /// A whole body sent at once (a mirrored request's copy).
    full: Option<Bytes>,
    /// Copies the body for a mirrored request as it passes (see `mirror`).
    tee: Option<Box<crate::mirror::Tee>>,
}

impl UpstreamBody {
    /// Wraps a client body with a byte limit (0 = unlimited).
    pub fn new(
        inner: Incoming,
        limit: u64,
        end_mark: Option<std::sync::Arc<crate::park::ParkState>>,
    ) -> Self {
        let remaining = if limit == 0 { u64::MAX } else { limit };
        Self {
            inner: Some(inner),
            remaining,
            limit,
            end_mark,
            full: None,
            tee: None,
        }
    }

    /// No body (health probes).
    pub fn empty() -> Self {
        Self {
            inner: None,
            remaining: u64::MAX,
            limit: 0,
            end_mark: None,
            full: None,
            tee: None,
        }
    }

    /// A body known in full (a mirrored request's copy).
    pub fn full(bytes: Bytes) -> Self {
        Self {
            full: (!bytes.is_empty()).then_some(bytes),
            ..Self::empty()
        }
    }

    /// Copies the body into `tee` as it passes.
    pub fn set_tee(&mut self, tee: Box<crate::mirror::Tee>) {
        self.tee = Some(tee);
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(b) = this.full.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(&mut *inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let n = data.len() as u64;
                    if n > this.remaining {
                        return Poll::Ready(Some(Err(Box::new(BodyTooLarge(this.limit)))));
                    }
                    this.remaining -= n;
                    if let Some(t) = &mut this.tee {
                        t.copy(data);
                    }
                }
                if inner.is_end_stream() {
                    if let Some(m) = this.end_mark.take() {
                        m.body_ended();
                    }
                    if let Some(t) = this.tee.take() {
                        t.finish();
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => {
                if let Some(m) = this.end_mark.take() {
                    m.body_ended();
                }
                if let Some(t) = this.tee.take() {
                    t.finish();
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.full.is_none() && self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        if let Some(b) = &self.full {
            return SizeHint::with_exact(b.len() as u64);
        }
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |b| b.size_hint())
    }
}

/// How a streamed member answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyOutcome {
    /// The member's body ended properly: its connection may be reused.
    Complete,
    /// The member broke the body (early close, bad chunk): counts against it.
    MemberFailed,
    /// The client went away first: nobody's fault, the connection is not reused.
    ClientGone,
    /// The request's total timeout passed while the body was streaming: the answer was cut.
    TimedOut,
}

/// The request's total timeout passed while its answer was streaming.
#[derive(Debug, thiserror::Error)]
#[error("request total timeout")]
pub struct TotalTimeout;

/// Called once when a proxied response ends.
pub trait Completion: Send + 'static {
    /// Runs once, when the answer's body is dropped, with how it ended and its byte count.
    fn complete(self: Box<Self>, outcome: BodyOutcome, body_bytes: u64);
}

/// The body sent to the client.
pub enum ResponseBody {
    /// A local answer (health service, errors, metrics).
    Full(Option<Bytes>),
    /// A member's answer, streamed.
    Upstream {
        /// The member's body.
        inner: Incoming,
        /// End-of-exchange accounting, taken when it runs.
        done: Option<Box<dyn Completion>>,
        /// The request's total timeout (none when not configured: no timer per request).
        deadline: Option<Pin<Box<tokio::time::Sleep>>>,
        /// The member's body reached its end.
        ended: bool,
        /// The member's body failed.
        failed: bool,
        /// The total deadline cut the body.
        timed_out: bool,
        /// Body bytes relayed so far.
        bytes: u64,
    },
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Full(b) => f.debug_tuple("Full").field(b).finish(),
            Self::Upstream { ended, bytes, .. } => f
                .debug_struct("Upstream")
                .field("ended", ended)
                .field("bytes", bytes)
                .finish(),
        }
    }
}

impl ResponseBody {
    /// A local answer with this body.
    pub fn full(b: impl Into<Bytes>) -> Self {
        Self::Full(Some(b.into()))
    }
    /// A local answer without a body.
    pub fn empty() -> Self {
        Self::Full(None)
    }
    /// A member's answer streamed with `done` run at its end; `deadline` cuts it.
    pub fn upstream(
        inner: Incoming,
        done: Box<dyn Completion>,
        deadline: Option<tokio::time::Instant>,
    ) -> Self {
        Self::Upstream {
            inner,
            done: Some(done),
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
            ended: false,
            failed: false,
            timed_out: false,
            bytes: 0,
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Self::Upstream {
                inner,
                deadline,
                ended,
                failed,
                timed_out,
                bytes,
                ..
            } => {
                if let Some(d) = deadline {
                    if d.as_mut().poll(cx).is_ready() {
                        *timed_out = true;
                        *deadline = None;
                        return Poll::Ready(Some(Err(Box::new(TotalTimeout))));
                    }
                }
                match Pin::new(&mut *inner).poll_frame(cx) {
                    Poll::Ready(None) => {
                        *ended = true;
                        Poll::Ready(None)
                    }
                    Poll::Ready(Some(Ok(f))) => {
                        if let Some(d) = f.data_ref() {
                            *bytes += d.len() as u64;
                        }
                        if inner.is_end_stream() {
                            *ended = true;
                        }
                        Poll::Ready(Some(Ok(f)))
                    }
                    Poll::Ready(Some(Err(e))) => {
                        *failed = true;
                        Poll::Ready(Some(Err(Box::new(e))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(b) => b.is_none(),
            Self::Upstream { inner, .. } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Upstream { inner, .. } => inner.size_hint(),
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        if let Self::Upstream {
            inner,
            done,
            ended,
            failed,
            timed_out,
            bytes,
            ..
        } = self
        {
            if let Some(done) = done.take() {
                let outcome = if *timed_out {
                    BodyOutcome::TimedOut
                } else if *failed {
                    BodyOutcome::MemberFailed
                } else if *ended || inner.is_end_stream() {
                    BodyOutcome::Complete
                } else {
                    BodyOutcome::ClientGone
                };
                done.complete(outcome, *bytes);
            }
        }
    }
}
