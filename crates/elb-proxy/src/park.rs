//! Idle HTTP/1.1 client connections without buffers ("parking").
//!
//! hyper keeps an 8 KiB read buffer, an 8 KiB write buffer and its dispatcher state for a
//! connection's whole life, which made an idle keep-alive connection cost ~35 KB. HAProxy
//! and nginx release their buffers while a connection waits. This module does the same on
//! top of hyper: the hyper connection lives in a box that is dropped while the client is
//! idle, and only the socket (plus a small task) stays.
//!
//! How idleness is known without parsing HTTP ourselves: `ParkIo` sits between hyper and
//! the socket and records what hyper does, and the service records requests:
//! - no request is in flight (every response body has been dropped by hyper, which happens
//!   once its last byte is encoded);
//! - the last request had no body, or its body was read to the end;
//! - everything hyper wrote has been flushed (hyper calls `poll_flush` on the socket only
//!   when its own write buffer is empty);
//! - hyper's last read found no data (the socket would block).
//!
//! When all hold for `grace` (so a busy connection is not rebuilt between back-to-back
//! requests), the hyper connection is taken apart with `into_parts` (it was waiting for the
//! next request head; nothing of an exchange is lost). Bytes hyper had already read (a
//! partial next head) are kept and replayed to the next hyper connection, and that
//! connection is not parked again before its next request, so a slow client cannot reset
//! the header timeout by being parked repeatedly. A parked connection waits for readability
//! at most `idle` (the request-header timeout, as hyper's own idle wait) and closes on
//! shutdown.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::gate_io::GatedStream;

/// What hyper and the service have been seen doing on one connection.
#[derive(Debug, Default)]
pub struct ParkState {
    /// Requests whose response body hyper has not dropped yet.
    in_flight: AtomicU32,
    /// The current request has a body that was not read to its end.
    body_pending: AtomicBool,
    /// hyper's last read found the socket empty.
    read_blocked: AtomicBool,
    /// hyper wrote bytes and has not flushed since.
    unflushed: AtomicBool,
    /// Not parkable until the next request (a partial head was replayed).
    hold: AtomicBool,
    /// Requests seen so far (tells whether the connection stayed idle for a whole grace).
    requests: AtomicU32,
}

impl ParkState {
    /// Whether the hyper connection is waiting for the next request with nothing pending.
    pub fn parkable(&self) -> bool {
        self.in_flight.load(Relaxed) == 0
            && self.read_blocked.load(Relaxed)
            && !self.unflushed.load(Relaxed)
            && !self.body_pending.load(Relaxed)
            && !self.hold.load(Relaxed)
    }

    /// Called when the current request's body has been read to its end.
    pub fn body_ended(&self) {
        self.body_pending.store(false, Relaxed);
    }

    /// Called by the service for each request head.
    pub fn request_started(&self, req: &Request<Incoming>) {
        self.in_flight.fetch_add(1, Relaxed);
        self.requests.fetch_add(1, Relaxed);
        self.hold.store(false, Relaxed);
        self.body_pending
            .store(!req.body().is_end_stream(), Relaxed);
    }
}

/// Ends a request's in-flight mark when hyper drops its response body.
#[derive(Debug)]
pub struct InFlight(pub Arc<ParkState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

/// A response body that carries its request's in-flight mark.
#[derive(Debug)]
pub struct Tracked<B> {
    /// The answer's body.
    pub inner: B,
    /// Held until the body is dropped: the request is in flight until then.
    pub _mark: InFlight,
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket as hyper sees it: bytes pass through unchanged; what hyper does is recorded
/// in `state`. `replay` holds bytes a previous hyper connection had read but not used.
#[derive(Debug)]
pub struct ParkIo {
    /// The client's socket, behind the strict HTTP/1.1 gate.
    pub stream: GatedStream,
    replay: Bytes,
    state: Arc<ParkState>,
}

impl ParkIo {
    /// Wraps `stream`, serving `replay` (bytes read while parked) before reading more.
    pub fn new(stream: GatedStream, replay: Bytes, state: Arc<ParkState>) -> Self {
        Self {
            stream,
            replay,
            state,
        }
    }
}

impl ParkIo {
    /// The socket and any replay bytes hyper did not read.
    pub fn into_parts(self) -> (GatedStream, Bytes) {
        (self.stream, self.replay)
    }
}

impl AsyncRead for ParkIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.replay.is_empty() {
            let n = this.replay.len().min(buf.remaining());
            buf.put_slice(&this.replay[..n]);
            this.replay.advance(n);
            this.state.read_blocked.store(false, Relaxed);
            return Poll::Ready(Ok(()));
        }
        let r = Pin::new(&mut this.stream).poll_read(cx, buf);
        this.state.read_blocked.store(r.is_pending(), Relaxed);
        r
    }
}

impl AsyncWrite for ParkIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.state.unflushed.store(true, Relaxed);
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.state.unflushed.store(true, Relaxed);
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.stream).poll_flush(cx);
        if r.is_ready() {
            self.state.unflushed.store(false, Relaxed);
        }
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// How one run of a hyper connection ended.
pub enum Run<E> {
    /// The connection is finished (closed, failed, upgraded or shut down).
    Done(Result<(), E>),
    /// Idle for the grace period: take it apart.
    Park,
}

/// Drives a hyper connection until it ends or has been parkable for `grace`.
pub struct UntilIdle<'a, C> {
    /// The hyper connection being driven.
    pub conn: Pin<&'a mut C>,
    /// The connection's idle tracking.
    pub state: &'a ParkState,
    /// Idle time before parking.
    pub grace: Duration,
    /// The task's one timer, shared with the idle timeout.
    pub timer: Pin<&'a mut tokio::time::Sleep>,
    /// The request count when the timer was armed; `None` while not armed.
    pub armed: Option<u32>,
}

impl<C, E> Future for UntilIdle<'_, C>
where
    C: Future<Output = Result<(), E>>,
{
    type Output = Run<E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Run<E>> {
        let this = &mut *self;
        if let Poll::Ready(r) = this.conn.as_mut().poll(cx) {
            return Poll::Ready(Run::Done(r));
        }
        // The timer is not reset per request (that would be a timer-wheel update per
        // request): armed when the connection is first seen idle, it fires after `grace`;
        // the connection parks if it is idle then and no request came in between, else the
        // timer re-arms at the next idle moment. A busy connection costs one timer wake per
        // `grace` and is never parked.
        let requests = this.state.requests.load(Relaxed);
        if let Some(at) = this.armed {
            if this.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.armed = None;
            if at == requests && this.state.parkable() {
                return Poll::Ready(Run::Park);
            }
        }
        if this.state.parkable() {
            this.armed = Some(requests);
            this.timer
                .as_mut()
                .reset(tokio::time::Instant::now() + this.grace);
            // Registers the timer's waker (a zero grace would be ready at once).
            if this.timer.as_mut().poll(cx).is_ready() {
                this.armed = None;
                return Poll::Ready(Run::Park);
            }
        }
        Poll::Pending
    }
}

/// The io hyper gets.
pub type HyperIo = TokioIo<ParkIo>;

/// Response type of a parked connection's service.
pub type TrackedResponse<B> = Response<Tracked<B>>;

/// Marks `hold` after a partial head was replayed.
pub fn hold(state: &ParkState) {
    state.hold.store(true, Relaxed);
}
