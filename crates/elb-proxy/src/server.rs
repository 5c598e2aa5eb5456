//! Client side I/O: binding listeners, the accept loop with connection limits, TLS
//! handshakes, and serving each connection with hyper's automatic HTTP/1.1 / HTTP/2 server
//! configured from the limits (header size and count, slowloris timeout, h2 stream and
//! reset limits). On shutdown a listener stops accepting and every connection is asked to
//! finish gracefully (h1: after the in-flight request; h2: GOAWAY).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

use std::convert::Infallible;
use std::pin::Pin;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::Request;
use hyper::body::Incoming;

use crate::gate_io::{GateSlot, GatedStream};
use crate::park::{InFlight, ParkIo, Run, Tracked, UntilIdle};

use crate::listeners::ListenerSettings;
use crate::proxy::{ConnCtx, handle};
use crate::shared::Shared;
use crate::snapshot::Snapshot;
use crate::traffic::ListenerStats;
use elb_proxy_core::Forwarding;
use elb_proxy_core::config::Config;

/// Binds a TCP listener with a deep backlog (bursts of connects must not be refused by the
/// kernel) and SO_REUSEADDR (restart while old connections sit in TIME_WAIT).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let domain = socket2::Domain::for_address(addr);
    let s = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        let _ = s.set_only_v6(true);
    }
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(4096)?;
    TcpListener::from_std(s.into())
}

/// hyper's connection builders for the current limits: HTTP/1.1 only, HTTP/2 only (TLS
/// with ALPN h2), and automatic detection (plain listeners with `h2c: true`).
pub struct ConnBuilders {
    /// HTTP/1.1 only.
    pub h1: http1::Builder,
    /// HTTP/2 only (TLS with ALPN h2).
    pub h2: http2::Builder<TokioExecutor>,
    /// Either, detected (plain listeners with `h2c: true`).
    pub auto: auto::Builder<TokioExecutor>,
}

/// Builds the connection builders for a config.
pub fn conn_builders(cfg: &Config) -> ConnBuilders {
    let header_bytes = usize::try_from(cfg.limits.max_header_bytes.0)
        .unwrap_or(usize::MAX)
        .max(8192);
    let h2_headers = u32::try_from(cfg.limits.h2_max_header_list_size.0).unwrap_or(u32::MAX);
    let mut h1 = http1::Builder::new();
    // The head limit is `max_header_size`; the buffer itself stays at hyper's default
    // maximum so large bodies are written in big chunks.
    h1.timer(TokioTimer::new())
        .header_read_timeout(cfg.timeouts.request_header.0)
        .max_header_size(header_bytes)
        .max_headers(cfg.limits.max_headers)
        .keep_alive(true);
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .max_concurrent_streams(cfg.limits.h2_max_concurrent_streams)
        .max_pending_accept_reset_streams(cfg.limits.h2_max_pending_accept_reset_streams)
        .max_local_error_reset_streams(cfg.limits.h2_max_local_error_reset_streams)
        .max_header_list_size(h2_headers);
    let mut auto = auto::Builder::new(TokioExecutor::new());
    auto.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.timeouts.request_header.0)
        .max_buf_size(header_bytes)
        .max_headers(cfg.limits.max_headers)
        .keep_alive(true);
    auto.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(cfg.limits.h2_max_concurrent_streams)
        .max_pending_accept_reset_streams(cfg.limits.h2_max_pending_accept_reset_streams)
        .max_local_error_reset_streams(cfg.limits.h2_max_local_error_reset_streams)
        .max_header_list_size(h2_headers);
    ConnBuilders { h1, h2, auto }
}

/// Which protocol a connection speaks.
#[derive(Debug, Clone, Copy)]
enum Proto {
    H1,
    H2,
    Auto,
}

/// Decrements the connection gauges when a connection ends, however it ends.
struct ConnGuard {
    shared: Arc<Shared>,
    per_listener: Arc<AtomicI64>,
    listener: Arc<ListenerStats>,
    /// The client's counted connections, released with the connection.
    _client: crate::client_limits::ClientConns,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.shared.stats.connections_active.fetch_sub(1, Relaxed);
        self.per_listener.fetch_sub(1, Relaxed);
        self.listener.open.fetch_sub(1, Relaxed);
        self.shared.connection_closed.notify_waiters();
    }
}

/// Accepts until shutdown or until a reload removes this listener (`stop`). A connection
/// over a limit is closed at once (no queueing), so a flood cannot tie up memory, and
/// service resumes as soon as load falls. `settings` is read per connection, so a reload's
/// new certificates and limits apply to the next connection. When accepting ends, the
/// listener's connections are asked to finish gracefully.
pub async fn run_listener(
    listener: TcpListener,
    settings: Arc<ArcSwap<ListenerSettings>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    shared: Arc<Shared>,
) {
    let mut shutdown = shared.shutdown.subscribe();
    let (drain, drain_rx) = tokio::sync::watch::channel(false);
    let per_listener = Arc::new(AtomicI64::new(0));
    let mut cached: Option<(Arc<Snapshot>, Arc<ConnBuilders>)> = None;
    let mut lstats = shared.stats.traffic.listener(&settings.load().name);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = crate::shared::until_shutdown(&mut shutdown) => break,
            _ = crate::shared::until_shutdown(&mut stop) => break,
        };
        let spec = settings.load();
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE/ENFILE: back off briefly instead of spinning.
                tracing::warn!(listener = %spec.name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let rt = shared.snapshot.load_full();
        let global_max = rt.config.limits.max_connections as i64;
        let over_global = shared.stats.connections_active.load(Relaxed) >= global_max;
        let over_listener = spec
            .max_connections
            .is_some_and(|m| per_listener.load(Relaxed) >= m as i64);
        if over_global || over_listener {
            shared.stats.connections_refused.fetch_add(1, Relaxed);
            shared
                .stats
                .reject(crate::stats::Rejection::ConnectionLimit);
            drop(stream);
            continue;
        }
        if lstats.name != spec.name {
            lstats = shared.stats.traffic.listener(&spec.name);
        }
        if spec.proxy_protocol && !rt.is_trusted(peer.ip()) {
            crate::proxy_header::refused(&shared, peer, "untrusted");
            continue;
        }
        let builder = match &cached {
            Some((r, b)) if Arc::ptr_eq(r, &rt) => b.clone(),
            _ => {
                let b = Arc::new(conn_builders(&rt.config));
                cached = Some((rt.clone(), b.clone()));
                b
            }
        };
        let accepted = Accepted {
            stream,
            client: peer,
            spec: settings.load_full(),
            rt,
            builder,
            per_listener: per_listener.clone(),
            listener: lstats.clone(),
            drain: drain_rx.clone(),
        };
        if spec.proxy_protocol {
            drop(spec);
            tokio::spawn(crate::proxy_header::read_then_start(
                shared.clone(),
                accepted,
            ));
            continue;
        }
        drop(spec);
        start_connection(&shared, accepted);
    }
    drop(listener);
    if shared.handed_over.load(std::sync::atomic::Ordering::SeqCst) {
        // The new process accepts from here on; a connection this one accepted an instant
        // ago gets its first request served before its idle connections are closed.
        tokio::time::sleep(HANDOVER_SETTLE).await;
    }
    let _ = drain.send(true);
    close_parked();
    tracing::info!(listener = %settings.load().name, "listener closed");
}

/// A connection accepted and within the listener's caps, with the client address known.
pub(crate) struct Accepted {
    /// The client's socket.
    pub stream: TcpStream,
    /// The client (the peer, or what its PROXY header said).
    pub client: SocketAddr,
    pub(crate) spec: Arc<ListenerSettings>,
    pub(crate) rt: Arc<Snapshot>,
    pub(crate) builder: Arc<ConnBuilders>,
    pub(crate) per_listener: Arc<AtomicI64>,
    /// The listener's traffic counters.
    pub(crate) listener: Arc<ListenerStats>,
    pub(crate) drain: tokio::sync::watch::Receiver<bool>,
}

/// Counts the client's connection against its limits and starts serving it.
pub(crate) fn start_connection(shared: &Arc<Shared>, a: Accepted) {
    let Accepted {
        stream,
        client: peer,
        spec,
        rt,
        builder,
        per_listener,
        listener,
        drain,
    } = a;
    let Some(client_conns) =
        crate::client_limits::admit_connection(shared, &rt, spec.per_client, peer.ip())
    else {
        return;
    };
    shared.stats.connections_active.fetch_add(1, Relaxed);
    shared.stats.connections_total.fetch_add(1, Relaxed);
    per_listener.fetch_add(1, Relaxed);
    listener.open.fetch_add(1, Relaxed);
    listener.accepted.fetch_add(1, Relaxed);
    let guard = ConnGuard {
        shared: shared.clone(),
        per_listener: per_listener.clone(),
        listener: listener.clone(),
        _client: client_conns,
    };
    let _ = stream.set_nodelay(true);
    let tls = spec.tls.is_some();
    // Plain HTTP/1.1-only connections park while idle (see `park`).
    let parks = !tls && !spec.h2c;
    let local = stream.local_addr().unwrap_or(peer);
    let ctx = conn_ctx(shared, (&spec, &rt), (peer, local), listener, parks);
    let header_timeout = rt.config.timeouts.request_header.0;
    drop(rt);
    let acceptor = spec.tls.clone();
    let shutdown_rx = drain;
    let plain = if spec.h2c { Proto::Auto } else { Proto::H1 };
    if spec.fast && spec.mode == crate::proxy::Mode::Proxy {
        spawn_fast(FastConn {
            stream,
            spec,
            builder,
            ctx,
            shutdown: shutdown_rx,
            _guard: guard,
        });
        return;
    }
    let gate = GateParts {
        cfg: spec.gate,
        slot: ctx.gate().clone(),
        shared: shared.clone(),
        peer,
    };
    if parks {
        // Its own task type: a parked connection's task is only as large as the parked
        // state, not as the largest of the other protocols' futures.
        let fut = async move {
            let _guard = guard;
            serve_parked(
                gate.wrap(stream),
                &builder,
                ctx,
                shutdown_rx,
                header_timeout,
                Bytes::new(),
            )
            .await
        };
        tracing::trace!(
            bytes = std::mem::size_of_val(&fut),
            "parkable connection task"
        );
        tokio::spawn(fut);
        return;
    }
    tokio::spawn(async move {
        let _guard = guard;
        match acceptor {
            None => serve(gate.wrap(stream), &builder, plain, ctx, shutdown_rx).await,
            Some(acc) => match tokio::time::timeout(header_timeout, acc.accept(stream)).await {
                Ok(Ok(tls)) => {
                    ctx.shared.stats.tls_handshakes.fetch_add(1, Relaxed);
                    if ctx.cert_headers.set {
                        let subject =
                            crate::client_cert::subject_of(tls.get_ref().1.peer_certificates());
                        let _ = ctx.extras().client_cert.set(subject);
                    }
                    if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                        serve(tls, &builder, Proto::H2, ctx, shutdown_rx).await
                    } else {
                        serve(gate.wrap(tls), &builder, Proto::H1, ctx, shutdown_rx).await
                    }
                }
                Ok(Err(e)) => {
                    ctx.shared.stats.tls_failed(crate::trace::tls_failure(&e));
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    ctx.shared
                        .stats
                        .tls_failed(crate::stats::TlsFailure::Timeout);
                    tracing::debug!(%peer, "TLS handshake timed out");
                }
            },
        }
    });
}

/// A connection's context (`parks`: a plain HTTP/1.1 connection, tracked while idle).
fn conn_ctx(
    shared: &Arc<Shared>,
    (spec, rt): (&crate::listeners::ListenerSettings, &Snapshot),
    (peer, local): (SocketAddr, SocketAddr),
    listener: Arc<ListenerStats>,
    parks: bool,
) -> Arc<ConnCtx> {
    let tls = spec.tls.is_some();
    Arc::new(ConnCtx {
        shared: shared.clone(),
        fwd: Forwarding::new(peer.ip(), rt.is_trusted(peer.ip()), tls, rt.forward_set),
        mode: spec.mode,
        parks,
        peer,
        local,
        listener_rate: (
            spec.per_client.0,
            elb_proxy_core::limits::rate_of(&spec.per_client.1),
        ),
        policy: spec.policy,
        listener,
        cert_headers: spec.client_certs.clone(),
        extras: std::sync::OnceLock::new(),
    })
}

/// A fast-path connection: what its task owns, and what waits in `FAST_IDLE` while it
/// is parked.
struct FastConn {
    stream: TcpStream,
    /// The listener's settings as accepted (the gate's, if it is handed over to hyper).
    spec: Arc<crate::listeners::ListenerSettings>,
    builder: Arc<ConnBuilders>,
    ctx: Arc<ConnCtx>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    _guard: ConnGuard,
}

/// Parked fast-path connections (one serving runtime per process).
static FAST_IDLE: crate::fast::idle::IdleSet<FastConn> = crate::fast::idle::IdleSet::new();

/// A listener stopped accepting: its parked fast-path connections close.
fn close_parked() {
    FAST_IDLE.listener_stopped();
}

impl crate::fast::idle::Parkable for FastConn {
    fn poll_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.stream.poll_read_ready(cx).map(|_| ())
    }

    fn drained(&self) -> bool {
        *self.shutdown.borrow()
    }

    fn unparked(&self) {
        self.ctx
            .shared
            .stats
            .connections_parked
            .fetch_sub(1, Relaxed);
    }

    fn resume(self) {
        spawn_fast(self);
    }
}

/// Spawns a fast-path connection's task. Only what the fast path needs is moved in, once
/// (the fast path borrows it), so the task stays small; idle past the park grace, the
/// connection leaves its task and waits in `FAST_IDLE`.
fn spawn_fast(conn: FastConn) {
    // Used in place, never rebound: a local copy would be one more slot in the task.
    let fut = async move {
        let mut c = conn;
        let served =
            crate::fast::serve(&mut c.stream, &c.ctx, &mut c.shutdown, &c.spec.gate.request).await;
        match served {
            crate::fast::Served::Done => {}
            crate::fast::Served::Fallback(replay) => {
                let FastConn {
                    stream,
                    spec,
                    builder,
                    ctx,
                    shutdown,
                    _guard,
                } = c;
                let rest = hand_over(stream, replay, spec.gate, &builder, ctx, shutdown);
                Box::pin(rest).await;
            }
            crate::fast::Served::Idle(deadline) => {
                let stats = &c.ctx.shared.stats;
                stats.connections_parked.fetch_add(1, Relaxed);
                stats.parks_total.fetch_add(1, Relaxed);
                FAST_IDLE.park(c, deadline);
            }
        }
    };
    tracing::trace!(
        bytes = std::mem::size_of_val(&fut),
        "fast-path connection task"
    );
    tokio::spawn(fut);
}

/// A connection the fast path handed over (Upgrade, HTTP/1.0, a refused head, ...): it
/// goes on with hyper behind the strict gate, which sees every byte, what the fast path
/// read first, then the socket.
async fn hand_over(
    stream: TcpStream,
    replay: Bytes,
    cfg: elb_proxy_core::gate::GateConfig,
    builder: &ConnBuilders,
    ctx: Arc<ConnCtx>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let gate = GateParts {
        cfg,
        slot: ctx.gate().clone(),
        shared: ctx.shared.clone(),
        peer: ctx.peer,
    };
    let header_timeout = ctx.shared.snapshot.load().config.timeouts.request_header.0;
    let mut gated = gate.wrap(stream);
    let replay = Bytes::from(gated.pass_read(&replay));
    serve_parked(gated, builder, ctx, shutdown, header_timeout, replay).await;
}

/// What a connection's gate is made of.
struct GateParts {
    cfg: elb_proxy_core::gate::GateConfig,
    slot: Arc<GateSlot>,
    shared: Arc<Shared>,
    peer: SocketAddr,
}

impl GateParts {
    /// Puts `io` behind the strict HTTP/1.1 gate.
    fn wrap<S>(self, io: S) -> GatedStream<S> {
        GatedStream::new(io, self.cfg, self.slot, self.shared, self.peer)
    }
}

/// After a hand-over, how long connections accepted just before it may still send their
/// first request before idle connections are closed.
const HANDOVER_SETTLE: Duration = Duration::from_millis(500);

/// How long a connection must be idle (no request) before it is parked: long enough that a
/// client sending requests back to back never has its hyper connection rebuilt, short
/// enough that a burst of clients going idle does not hold all their buffers at once.
const PARK_GRACE: Duration = Duration::from_millis(20);

/// Serves a plain HTTP/1.1 connection, parking it (no hyper state, no buffers) whenever it
/// has been idle for `PARK_GRACE`; see `park`. `replay`: bytes already read from it (a
/// connection the fast path handed over).
async fn serve_parked(
    mut stream: GatedStream,
    builders: &ConnBuilders,
    ctx: Arc<ConnCtx>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    idle: Duration,
    mut replay: Bytes,
) {
    let Some(state) = ctx.park() else {
        return;
    };
    let mut parked = false;
    // A head the gate holds back (hyper has seen none of it) must still end within the
    // header timeout, however often the connection parks meanwhile.
    let mut head_deadline: Option<tokio::time::Instant> = None;
    let timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(timer);
    loop {
        if replay.is_empty() {
            // Parked: only the socket; wait for the client's next bytes.
            // The park timer doubles as the idle timeout (one timer in the task, not two).
            let until = head_deadline.unwrap_or_else(|| tokio::time::Instant::now() + idle);
            timer.as_mut().reset(until);
            let waited = tokio::select! {
                biased;
                _ = crate::shared::until_shutdown(&mut shutdown) => false,
                r = stream.readable() => r.is_ok(),
                () = timer.as_mut() => false,
            };
            if parked {
                parked = false;
                ctx.shared.stats.connections_parked.fetch_sub(1, Relaxed);
            }
            if !waited {
                return;
            }
        }
        let (c, st) = (ctx.clone(), state.clone());
        let svc = service_fn(move |req: Request<Incoming>| {
            st.request_started(&req);
            let mark = InFlight(st.clone());
            let answer = handle(c.clone(), req);
            async move {
                let r = answer.await?;
                Ok::<_, Infallible>(r.map(|inner| Tracked { inner, _mark: mark }))
            }
        });
        let io = TokioIo::new(ParkIo::new(
            stream,
            std::mem::take(&mut replay),
            state.clone(),
        ));
        let mut conn = Box::new(builders.h1.serve_connection(io, svc).with_upgrades());
        let run = {
            let until = UntilIdle {
                conn: Pin::new(&mut *conn),
                state: &state,
                grace: PARK_GRACE,
                timer: timer.as_mut(),
                armed: None,
            };
            tokio::select! {
                biased;
                r = until => Some(r),
                _ = crate::shared::until_shutdown(&mut shutdown) => None,
            }
        };
        match run {
            None => {
                Pin::new(&mut *conn).graceful_shutdown();
                let _ = conn.await;
                return;
            }
            Some(Run::Done(r)) => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "client connection ended with an error");
                    conn_error(&ctx, &e);
                }
                return;
            }
            Some(Run::Park) => {
                let Some(parts) = conn.into_parts() else {
                    return;
                };
                let (s, unread) = parts.io.into_inner().into_parts();
                stream = s;
                head_deadline = if stream.mid_head() {
                    Some(head_deadline.unwrap_or_else(|| tokio::time::Instant::now() + idle))
                } else {
                    None
                };
                // Copied out: an empty or short `Bytes` view would keep hyper's whole
                // read buffer allocated for as long as the connection stays parked.
                replay = if unread.is_empty() && parts.read_buf.is_empty() {
                    Bytes::new()
                } else {
                    let mut b = bytes::BytesMut::with_capacity(parts.read_buf.len() + unread.len());
                    b.extend_from_slice(&parts.read_buf);
                    b.extend_from_slice(&unread);
                    b.freeze()
                };
                if replay.is_empty() {
                    parked = true;
                    ctx.shared.stats.connections_parked.fetch_add(1, Relaxed);
                    ctx.shared.stats.parks_total.fetch_add(1, Relaxed);
                } else {
                    // A partial head: resume at once, and not parked again before the
                    // next request (the header timeout must not restart repeatedly).
                    crate::park::hold(&state);
                }
            }
        }
    }
}

async fn serve<I>(
    io: I,
    builders: &ConnBuilders,
    proto: Proto,
    ctx: Arc<ConnCtx>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let on_error = {
        let ctx = ctx.clone();
        move |e: &(dyn std::error::Error + 'static)| conn_error(&ctx, e)
    };
    let svc = service_fn(move |req| handle(ctx.clone(), req));
    let io = TokioIo::new(io);
    match proto {
        Proto::H1 => {
            let conn = builders.h1.serve_connection(io, svc).with_upgrades();
            drive(conn, shutdown, |c| c.graceful_shutdown(), on_error).await;
        }
        Proto::H2 => {
            let conn = builders.h2.serve_connection(io, svc);
            drive(conn, shutdown, |c| c.graceful_shutdown(), on_error).await;
        }
        Proto::Auto => {
            let conn = builders.auto.serve_connection_with_upgrades(io, svc);
            drive(conn, shutdown, |c| c.graceful_shutdown(), on_error).await;
        }
    }
}

/// A client connection's error: hyper's own answers (400, 414, 431) are counted and logged.
fn conn_error(ctx: &ConnCtx, e: &(dyn std::error::Error + 'static)) {
    crate::trace::client_conn_error(&ctx.shared, &ctx.listener, ctx.fwd.peer, e);
}

/// Runs a connection; on shutdown asks it to finish gracefully and waits for that.
async fn drive<C, E>(
    conn: C,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    graceful: impl FnOnce(std::pin::Pin<&mut C>),
    on_error: impl FnOnce(&(dyn std::error::Error + 'static)),
) where
    C: std::future::Future<Output = Result<(), E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(conn);
    tokio::select! {
        biased;
        r = conn.as_mut() => {
            if let Err(e) = r {
                let e: Box<dyn std::error::Error + Send + Sync> = e.into();
                tracing::debug!(error = %e, "client connection ended with an error");
                on_error(&*e);
            }
            return;
        }
        _ = crate::shared::until_shutdown(&mut shutdown) => {}
    }
    graceful(conn.as_mut());
    let _ = conn.await;
}
