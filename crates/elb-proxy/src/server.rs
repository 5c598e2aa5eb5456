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
use tokio::net::TcpListener;

use std::convert::Infallible;
use std::pin::Pin;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::Request;
use hyper::body::Incoming;
use tokio::net::TcpStream;

use crate::park::{InFlight, ParkIo, ParkState, Run, Tracked, UntilIdle};

use crate::listeners::ListenerSettings;
use crate::proxy::{ConnCtx, handle};
use crate::shared::Shared;
use crate::snapshot::Snapshot;
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
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.shared.stats.connections_active.fetch_sub(1, Relaxed);
        self.per_listener.fetch_sub(1, Relaxed);
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
            drop(stream);
            continue;
        }
        shared.stats.connections_active.fetch_add(1, Relaxed);
        shared.stats.connections_total.fetch_add(1, Relaxed);
        per_listener.fetch_add(1, Relaxed);
        let guard = ConnGuard {
            shared: shared.clone(),
            per_listener: per_listener.clone(),
        };
        let builder = match &cached {
            Some((r, b)) if Arc::ptr_eq(r, &rt) => b.clone(),
            _ => {
                let b = Arc::new(conn_builders(&rt.config));
                cached = Some((rt.clone(), b.clone()));
                b
            }
        };
        let _ = stream.set_nodelay(true);
        let tls = spec.tls.is_some();
        // Plain HTTP/1.1-only connections park while idle (see `park`).
        let parks = !tls && !spec.h2c;
        let ctx = Arc::new(ConnCtx {
            shared: shared.clone(),
            fwd: Forwarding::new(peer.ip(), rt.is_trusted(peer.ip()), tls, rt.forward_set),
            mode: spec.mode,
            park: parks.then(|| Arc::new(ParkState::default())),
        });
        let header_timeout = rt.config.timeouts.request_header.0;
        drop(rt);
        let acceptor = spec.tls.clone();
        let shutdown_rx = drain_rx.clone();
        let plain = if spec.h2c { Proto::Auto } else { Proto::H1 };
        let fast = spec.fast && spec.mode == crate::proxy::Mode::Proxy;
        drop(spec);
        if fast {
            tokio::spawn(async move {
                let _guard = guard;
                let served = crate::fast::serve(stream, ctx.clone(), shutdown_rx.clone()).await;
                if let crate::fast::Served::Fallback(stream, replay) = served {
                    let rest =
                        serve_parked(stream, &builder, ctx, shutdown_rx, header_timeout, replay);
                    Box::pin(rest).await;
                }
            });
            continue;
        }
        if parks {
            // Its own task type: a parked connection's task is only as large as the parked
            // state, not as the largest of the other protocols' futures.
            let fut = async move {
                let _guard = guard;
                serve_parked(
                    stream,
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
            continue;
        }
        tokio::spawn(async move {
            let _guard = guard;
            match acceptor {
                None => serve(stream, &builder, plain, ctx, shutdown_rx).await,
                Some(acc) => match tokio::time::timeout(header_timeout, acc.accept(stream)).await {
                    Ok(Ok(tls)) => {
                        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                        serve(
                            tls,
                            &builder,
                            if h2 { Proto::H2 } else { Proto::H1 },
                            ctx,
                            shutdown_rx,
                        )
                        .await
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
        });
    }
    drop(listener);
    let _ = drain.send(true);
    tracing::info!(listener = %settings.load().name, "listener closed");
}

/// How long a connection must be idle (no request) before it is parked: long enough that a
/// client sending requests back to back never has its hyper connection rebuilt, short
/// enough that a burst of clients going idle does not hold all their buffers at once.
const PARK_GRACE: Duration = Duration::from_millis(20);

/// Serves a plain HTTP/1.1 connection, parking it (no hyper state, no buffers) whenever it
/// has been idle for `PARK_GRACE`; see `park`. `replay`: bytes already read from it (a
/// connection the fast path handed over).
async fn serve_parked(
    mut stream: TcpStream,
    builders: &ConnBuilders,
    ctx: Arc<ConnCtx>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    idle: Duration,
    mut replay: Bytes,
) {
    let Some(state) = ctx.park.clone() else {
        return;
    };
    let mut parked = false;
    let timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(timer);
    loop {
        if replay.is_empty() {
            // Parked: only the socket; wait for the client's next bytes.
            // The park timer doubles as the idle timeout (one timer in the task, not two).
            timer.as_mut().reset(tokio::time::Instant::now() + idle);
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
                }
                return;
            }
            Some(Run::Park) => {
                let Some(parts) = conn.into_parts() else {
                    return;
                };
                let (s, unread) = parts.io.into_inner().into_parts();
                stream = s;
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
    let svc = service_fn(move |req| handle(ctx.clone(), req));
    let io = TokioIo::new(io);
    match proto {
        Proto::H1 => {
            let conn = builders.h1.serve_connection(io, svc).with_upgrades();
            drive(conn, shutdown, |c| c.graceful_shutdown()).await;
        }
        Proto::H2 => {
            let conn = builders.h2.serve_connection(io, svc);
            drive(conn, shutdown, |c| c.graceful_shutdown()).await;
        }
        Proto::Auto => {
            let conn = builders.auto.serve_connection_with_upgrades(io, svc);
            drive(conn, shutdown, |c| c.graceful_shutdown()).await;
        }
    }
}

/// Runs a connection; on shutdown asks it to finish gracefully and waits for that.
async fn drive<C, E>(
    conn: C,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    graceful: impl FnOnce(std::pin::Pin<&mut C>),
) where
    C: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    tokio::pin!(conn);
    tokio::select! {
        biased;
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "client connection ended with an error");
            }
            return;
        }
        _ = crate::shared::until_shutdown(&mut shutdown) => {}
    }
    graceful(conn.as_mut());
    let _ = conn.await;
}
