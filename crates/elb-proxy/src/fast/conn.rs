//! One plain HTTP/1.1 client connection on the fast path: one task, no per-request task or
//! channel. It waits for a head with no buffers held (they come from a per-thread free list
//! while a request is in progress), parses it with `elb_http1` under the listener's strict
//! gate settings, and hands the request to `exchange`. What the fast path does not serve
//! (`fallback`: a head the parser refuses, which the gate then answers, counts and logs;
//! HTTP/1.0, Upgrade, ...) goes to hyper behind the strict gate with the bytes not yet
//! served.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use elb_http1::{HeadWriter, Progress, RequestConfig, RequestHead, ResponseHead, parse_request};
use http::HeaderMap;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use super::body::{read_now, read_some};
use crate::proxy::ConnCtx;
use crate::shared::until_shutdown;

/// How a connection left the fast path.
pub enum Served {
    /// It is finished (closed, timed out, or refused).
    Done,
    /// hyper serves it from here on; the bytes are what was read and not yet served.
    Fallback(Bytes),
    /// Idle past the park grace, holding nothing: park it (`idle`) until the deadline.
    Idle(Instant),
}

/// What one request asks of the connection afterwards.
pub(super) enum Next {
    /// Keep the connection for the next request.
    Again,
    /// Close it.
    Close,
    /// Hand it to hyper (nothing of this request was served).
    Hyper,
    /// Nothing came after all: wait again, holding no buffers.
    Idle,
}

/// The buffers and reusable heads of a connection while it has a request in progress.
#[derive(Default)]
pub(super) struct Scratch {
    /// Bytes from the client not yet served.
    pub(super) cbuf: Vec<u8>,
    /// Bytes from the member.
    pub(super) mbuf: Vec<u8>,
    pub(super) req: RequestHead,
    pub(super) resp: ResponseHead,
    /// The forwarded request head.
    pub(super) writer: HeadWriter,
    /// The response head for the client, or a local answer.
    pub(super) out: Vec<u8>,
    /// Forwarding headers (and, when routes look at headers, the request's fields).
    pub(super) headers: HeaderMap,
    /// Members tried for the current request.
    pub(super) tried: Vec<usize>,
    /// The member's answer deadline, kept for the next request.
    pub(super) timer: super::deadline::Kept,
}

/// Free scratches of this thread, so an idle connection holds none.
const FREE_MAX: usize = 64;
/// Buffers larger than this are not kept for reuse (one big transfer must not pin memory).
const KEEP_MAX: usize = 128 * 1024;

thread_local! {
    // Boxed on purpose: a busy connection holds its scratch as a box, and taking one from
    // here or giving it back moves only the pointer.
    #[allow(clippy::vec_box)]
    static FREE: RefCell<Vec<Box<Scratch>>> = const { RefCell::new(Vec::new()) };
    /// The fewest free scratches since the last trim: that many were not needed.
    static FREE_LOW: Cell<usize> = const { Cell::new(0) };
}

fn take_scratch() -> Box<Scratch> {
    FREE.with(|f| {
        let mut f = f.borrow_mut();
        let s = f.pop();
        FREE_LOW.with(|low| low.set(low.get().min(f.len())));
        s
    })
    .unwrap_or_default()
}

/// Drops the free scratches of this thread that no request took since the last call (the
/// once-a-second maintenance): after a burst of requests the thread would otherwise keep
/// up to `FREE_MAX` of them, each with the pages its buffers touched (measured: 145 – 200
/// bytes per idle connection of 9,000 after a burst). Returns how many were dropped.
pub fn trim_scratches() -> usize {
    FREE.with(|f| {
        let mut f = f.borrow_mut();
        let unused = FREE_LOW.with(|low| low.get()).min(f.len());
        let keep = f.len() - unused;
        f.truncate(keep);
        FREE_LOW.with(|low| low.set(keep));
        unused
    })
}

fn give_back(mut s: Box<Scratch>) {
    s.cbuf.clear();
    s.mbuf.clear();
    if s.cbuf.capacity() > KEEP_MAX || s.mbuf.capacity() > KEEP_MAX {
        return;
    }
    FREE.with(|f| {
        let mut f = f.borrow_mut();
        if f.len() < FREE_MAX {
            f.push(s);
        }
    });
}

/// Serves a plain HTTP/1.1 connection until it closes, needs hyper, or has been idle for
/// the park grace. `heads`: the listener's strict-gate settings (limits, underscore and
/// Host policies), so a head is accepted here exactly when the gate in front of hyper
/// would accept it. Everything is borrowed from the caller's task; between requests the
/// connection holds no buffers (the snapshot is taken when a request begins).
pub async fn serve(
    stream: &mut TcpStream,
    ctx: &ConnCtx,
    shutdown: &mut watch::Receiver<bool>,
    heads: &RequestConfig,
) -> Served {
    let mut scratch: Option<Box<Scratch>> = None;
    // One timer and one shutdown wait for the task's life, not one of each per request:
    // tokio moves a timer to a later deadline without taking its wheel's lock, where a new
    // timer took that lock twice per request and woke the driver (an eventfd write)
    // whenever it was the earliest; a new shutdown wait locked the channel's list.
    let timer = tokio::time::sleep_until(Instant::now());
    tokio::pin!(timer);
    let mut stop_rx = shutdown.clone();
    let stop = Some(until_shutdown(&mut stop_rx));
    tokio::pin!(stop);
    loop {
        let header_timeout = ctx.shared.snapshot.load().config.timeouts.request_header.0;
        let now = Instant::now();
        let header_deadline = now + header_timeout;
        if scratch.as_ref().is_none_or(|s| s.cbuf.is_empty()) {
            if let Some(s) = scratch.take() {
                give_back(s);
            }
            timer.as_mut().reset(header_deadline.min(now + PARK_GRACE));
            match wait_idle(stream, (timer.as_mut(), stop.as_mut())).await {
                Wait::Ready => {}
                Wait::Stop => return Served::Done,
                Wait::Grace => return Served::Idle(header_deadline),
            }
        }
        let s = scratch.get_or_insert_with(take_scratch);
        // Boxed: the exchange's state exists only while a request is in progress, so an
        // idle connection's task stays small.
        let next = Box::pin(one_request(
            (&mut *stream, ctx),
            s,
            (heads, header_deadline),
            shutdown,
        ))
        .await;
        match next {
            Next::Again | Next::Idle => {}
            Next::Close => return Served::Done,
            Next::Hyper => {
                let replay = Bytes::copy_from_slice(&s.cbuf);
                return Served::Fallback(replay);
            }
        }
    }
}

/// How long a connection waits for its next request in its task before it is parked
/// (the hyper path's grace too): a busy connection keeps its task, an idle one gives it up.
const PARK_GRACE: std::time::Duration = std::time::Duration::from_millis(20);

/// How an idle wait ended.
enum Wait {
    /// The client sent more (or closed).
    Ready,
    /// Shutdown.
    Stop,
    /// Nothing within the park grace.
    Grace,
}

/// Waits, holding no buffers, until the client sends more, shutdown, or `timer`.
async fn wait_idle<F: Future<Output = ()>>(
    stream: &TcpStream,
    (mut timer, mut stop): (Pin<&mut Sleep>, Pin<&mut Option<F>>),
) -> Wait {
    std::future::poll_fn(|cx| {
        let stopped = stop
            .as_mut()
            .as_pin_mut()
            .is_none_or(|f| f.poll(cx).is_ready());
        if stopped {
            stop.set(None);
            return Poll::Ready(Wait::Stop);
        }
        // Polled in place (the socket keeps the waker), not a stored `readable()` future.
        match stream.poll_read_ready(cx) {
            Poll::Ready(Ok(())) => return Poll::Ready(Wait::Ready),
            Poll::Ready(Err(_)) => return Poll::Ready(Wait::Stop),
            Poll::Pending => {}
        }
        timer.as_mut().poll(cx).map(|()| Wait::Grace)
    })
    .await
}

/// Reads and serves one request.
async fn one_request(
    (stream, ctx): (&mut TcpStream, &ConnCtx),
    s: &mut Scratch,
    (heads, header_deadline): (&RequestConfig, Instant),
    shutdown: &watch::Receiver<bool>,
) -> Next {
    if s.cbuf.is_empty() {
        // The first read does not wait: a socket can be reported readable with nothing
        // to read (a freshly accepted one is), and a connection waiting for its first
        // byte must not hold the buffers while it waits.
        if s.cbuf.capacity() < 1024 {
            s.cbuf.reserve(4096);
        }
        match read_now(stream, &mut s.cbuf) {
            Ok(Some(n)) if n > 0 => {}
            Ok(None) => return Next::Idle,
            _ => return Next::Close,
        }
    }
    loop {
        match parse_request(&s.cbuf, heads, &mut s.req) {
            Ok(Progress::Complete) => break,
            Ok(Progress::Partial) => {}
            Err(reject) => {
                // The strict gate refuses the same bytes in front of hyper, which answers,
                // counts and logs the refusal in the one place refusals are handled.
                tracing::debug!(peer = %ctx.peer, reason = reject.as_str(), "request refused: handed over to hyper");
                return Next::Hyper;
            }
        }
        if s.cbuf.capacity() - s.cbuf.len() < 1024 {
            s.cbuf.reserve(4096);
        }
        match tokio::time::timeout_at(header_deadline, read_some(stream, &mut s.cbuf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return Next::Close,
        }
    }
    if let Some(why) = super::fallback::request_needs_hyper(ctx, &s.req, &s.cbuf) {
        tracing::debug!(peer = %ctx.peer, why, "request handed over to hyper");
        return Next::Hyper;
    }
    let stopping = *shutdown.borrow();
    // The request finishes on the config it began with.
    let snap = ctx.shared.snapshot.load_full();
    super::exchange::serve_request(stream, ctx, &snap, s, stopping).await
}
