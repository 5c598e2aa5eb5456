//! The client socket as hyper's HTTP/1.1 server reads it: every byte goes through the
//! strict gate (`elb_proxy_core::gate`) first, so hyper, and through it a member, sees only
//! requests elb-http1 accepts. A refused request reaches hyper as a synthetic head, which
//! the service answers with the refusal (`GateSlot::take_for`); a body found invalid after
//! its head was released ends the stream with an error, which aborts the member request.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use elb_proxy_core::gate::{GateConfig, Refusal, RequestGate};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::shared::Shared;

/// What the gate tells the service of one connection.
#[derive(Debug, Default)]
pub struct GateSlot {
    /// Requests the service has seen on the connection.
    requests: AtomicU64,
    refusal: Mutex<Option<Refusal>>,
}

impl GateSlot {
    /// Called by the service for each request: the refusal this request stands for, if it
    /// is the gate's synthetic head.
    pub fn take_for_next(&self) -> Option<Refusal> {
        let index = self.requests.fetch_add(1, Relaxed);
        let mut slot = self.refusal.lock().unwrap_or_else(|p| p.into_inner());
        match *slot {
            Some(r) if r.synthetic_index == Some(index) => slot.take(),
            _ => None,
        }
    }
}

/// A client stream behind the gate.
pub struct GatedStream<S = TcpStream> {
    inner: S,
    gate: Box<RequestGate>,
    /// Checked bytes hyper has not read yet (from `pos`).
    out: Vec<u8>,
    pos: usize,
    /// A body was refused after its head went through: reads fail from now on.
    cut: bool,
    slot: Arc<GateSlot>,
    shared: Arc<Shared>,
    peer: std::net::SocketAddr,
}

impl<S> std::fmt::Debug for GatedStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatedStream")
            .field("peer", &self.peer)
            .finish()
    }
}

impl<S> GatedStream<S> {
    /// Puts `inner` behind a fresh gate.
    pub fn new(
        inner: S,
        cfg: GateConfig,
        slot: Arc<GateSlot>,
        shared: Arc<Shared>,
        peer: std::net::SocketAddr,
    ) -> Self {
        GatedStream {
            inner,
            gate: Box::new(RequestGate::new(cfg)),
            out: Vec::new(),
            pos: 0,
            cut: false,
            slot,
            shared,
            peer,
        }
    }

    /// Whether a read would return at once without touching the socket.
    fn has_output(&self) -> bool {
        self.pos < self.out.len() || self.cut || self.gate.is_closed()
    }

    /// Whether the client is in the middle of a head the gate holds back.
    pub fn mid_head(&self) -> bool {
        self.gate.holds_partial_head()
    }

    /// Puts bytes already read from the client (by the fast path, which handed the
    /// connection over) through the gate before anything else, as if just received.
    pub fn replay(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(r) = self.gate.feed(bytes, &mut self.out) {
            self.refused(r);
        }
    }

    fn refused(&mut self, r: Refusal) {
        self.shared.stats.count_refused(r.reason);
        crate::refusal_log::refused(self.peer, r.reason.as_str(), r.reason.status());
        if r.synthetic_index.is_none() {
            self.cut = true;
        }
        *self.slot.refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
    }
}

impl GatedStream<TcpStream> {
    /// Waits until a read can make progress.
    pub async fn readable(&self) -> io::Result<()> {
        if self.has_output() {
            return Ok(());
        }
        self.inner.readable().await
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for GatedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.pos < this.out.len() {
                let n = (this.out.len() - this.pos).min(buf.remaining());
                buf.put_slice(&this.out[this.pos..this.pos + n]);
                this.pos += n;
                if this.pos == this.out.len() {
                    this.out.clear();
                    this.pos = 0;
                    if this.out.capacity() > 16 * 1024 {
                        this.out = Vec::new();
                    }
                }
                return Poll::Ready(Ok(()));
            }
            if this.cut {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "request body refused",
                )));
            }
            let before = buf.filled().len();
            if this.gate.is_closed() {
                // The refused request is being answered: what else the client sends is
                // read and dropped (an end of stream now would make hyper drop the answer).
                ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
                if buf.filled().len() == before {
                    return Poll::Ready(Ok(()));
                }
                buf.set_filled(before);
                continue;
            }
            let nothing_held = this.gate.holds_nothing();
            ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
            let n = buf.filled().len() - before;
            if n == 0 {
                return Poll::Ready(Ok(()));
            }
            let refusal = this.gate.feed(&buf.filled()[before..], &mut this.out);
            if refusal.is_none() && nothing_held && this.out.len() == n {
                // Common case: the whole read passed as it was; it is already in `buf`.
                this.out.clear();
                return Poll::Ready(Ok(()));
            }
            buf.set_filled(before);
            if let Some(r) = refusal {
                this.refused(r);
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for GatedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
