//! The request path: health service, routing, member choice with safe retries, header
//! rewriting, and streaming the answer back. Errors become short local answers with the
//! usual codes (404 no route, 413 body too large, 502 member failed, 503 no member,
//! 504 member too slow) and one log line naming cluster, member and phase.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use crate::access_log::Entry;
use crate::body::{BodyOutcome, BodyTooLarge, Completion, ResponseBody, UpstreamBody};
use crate::headers::{Forwarding, strip_hop_by_hop};
use crate::route::RequestHead;
use crate::runtime::{ClusterRt, Shared};
use crate::stats::local_error_index;
use crate::upstream::{SendError, Sender};

/// What a client connection serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Proxy plus the health service.
    Proxy,
    /// Only the health service (its dedicated port).
    HealthOnly,
    /// Only Prometheus metrics.
    Metrics,
}

/// Per client connection.
#[derive(Debug)]
pub struct ConnCtx {
    pub shared: Arc<Shared>,
    pub fwd: Forwarding,
    pub mode: Mode,
    /// Idle tracking of a parkable HTTP/1.1 connection (see `park`).
    pub park: Option<Arc<crate::park::ParkState>>,
}

/// A short local answer.
pub fn local(shared: &Shared, status: StatusCode, body: &'static str) -> Response<ResponseBody> {
    if let Some(i) = local_error_index(status.as_u16()) {
        shared.stats.local_errors[i].fetch_add(1, Relaxed);
    }
    let mut r = Response::new(ResponseBody::full(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn health_answer(shared: &Shared, method: &Method) -> Response<ResponseBody> {
    let (status, body) = match shared.health() {
        Ok(()) => (StatusCode::OK, Bytes::from_static(b"EchoProxy OK\n")),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Bytes::from(format!("EchoProxy unavailable: {reason}\n")),
        ),
    };
    let len = body.len();
    let mut r = Response::new(if method == Method::HEAD {
        ResponseBody::empty()
    } else {
        ResponseBody::full(body)
    });
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if method == Method::HEAD {
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    r
}

/// hyper service entry point.
pub async fn handle(
    ctx: Arc<ConnCtx>,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let shared = &ctx.shared;
    match ctx.mode {
        Mode::Metrics => {
            return Ok(if req.uri().path() == "/metrics" {
                crate::metrics::response(shared)
            } else {
                local(shared, StatusCode::NOT_FOUND, "not found\n")
            });
        }
        Mode::HealthOnly | Mode::Proxy => {}
    }
    shared.stats.requests_total.fetch_add(1, Relaxed);
    let rt = shared.runtime.load_full();
    if req.uri().path() == rt.config.health.path {
        return Ok(health_answer(shared, req.method()));
    }
    if ctx.mode == Mode::HealthOnly {
        return Ok(local(shared, StatusCode::NOT_FOUND, "not found\n"));
    }
    let host: Option<HeaderValue> = match req.headers().get(header::HOST) {
        Some(h) => Some(h.clone()),
        None => req
            .uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok()),
    };
    // The runtime stays alive until this request ends: it finishes on the config it began with.
    let (cluster_idx, rewrite_host, max_body, total_timeout) = {
        let head = RequestHead {
            host: host.as_ref().and_then(|h| h.to_str().ok()),
            path: req.uri().path(),
            method: req.method(),
            headers: req.headers(),
        };
        match rt.router.route(&head) {
            Some(r) => (
                r.cluster,
                r.rewrite_host.clone(),
                r.max_body,
                r.total_timeout,
            ),
            None => {
                shared.stats.unrouted.fetch_add(1, Relaxed);
                return Ok(local(shared, StatusCode::NOT_FOUND, "no route\n"));
            }
        }
    };
    let cluster = &rt.clusters[cluster_idx];
    if max_body > 0 {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_body) {
            return Ok(local(
                shared,
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large\n",
            ));
        }
    }
    let sticky = cluster.sticky_cookie.as_deref().and_then(|name| {
        let value = cookie_value(req.headers(), name)?;
        cluster.member_index(value)
    });

    let log_info = shared.access_log.load().is_some().then(|| {
        (
            req.method().clone(),
            req.uri().path().to_string(),
            req.version(),
        )
    });
    let (mut parts, body) = req.into_parts();
    let client_upgrade: Option<OnUpgrade> = parts.extensions.remove::<OnUpgrade>();
    let upgrade = strip_hop_by_hop(&mut parts.headers);
    if let Some(u) = &upgrade {
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        parts.headers.insert(header::UPGRADE, u.clone());
    }
    ctx.fwd.apply(&mut parts.headers, host.as_ref());
    match (rewrite_host, host) {
        (Some(h), _) => {
            parts.headers.insert(header::HOST, h);
        }
        (None, Some(h)) => {
            parts.headers.insert(header::HOST, h);
        }
        (None, None) => {}
    }
    parts.version = Version::HTTP_11;
    parts.uri = match parts.uri.path_and_query() {
        Some(pq) => Uri::from(pq.clone()),
        None => Uri::from_static("/"),
    };
    let method = parts.method.clone();
    let mut req = Request::from_parts(parts, UpstreamBody::new(body, max_body, ctx.park.clone()));

    let (connect_t, response_t) = {
        let rt = shared.runtime.load();
        (
            rt.config.timeouts.connect.0,
            rt.config.timeouts.upstream_response.0,
        )
    };
    let start = Instant::now();
    let deadline = total_timeout.map(|t| tokio::time::Instant::now() + t);
    let mut tried: Vec<usize> = Vec::new();
    let attempts = cluster.config.retries as usize + 1;
    let random = fastrand::u64(..);
    loop {
        if deadline.is_some_and(|d| d <= tokio::time::Instant::now()) {
            tracing::warn!(cluster = %cluster.name, phase = "connect", timeout = ?total_timeout, %method, "request total timeout");
            return Ok(local(
                shared,
                StatusCode::GATEWAY_TIMEOUT,
                "gateway timeout (request total)\n",
            ));
        }
        let picked = cluster.lock().pick(Instant::now(), random, sticky, &tried);
        let Some(idx) = picked else {
            if tried.is_empty() {
                cluster.stats.no_member.fetch_add(1, Relaxed);
                tracing::debug!(cluster = %cluster.name, "no available member");
                return Ok(local(
                    shared,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no available member\n",
                ));
            }
            return Ok(local(shared, StatusCode::BAD_GATEWAY, "bad gateway\n"));
        };
        let member = &cluster.members[idx];
        member.stats.requests.fetch_add(1, Relaxed);
        if !tried.is_empty() {
            cluster.stats.retries.fetch_add(1, Relaxed);
        }
        match member
            .pool
            .send(req, connect_t, response_t, deadline, upgrade.is_some())
            .await
        {
            Ok((resp, sender)) => {
                cluster.stats.requests.fetch_add(1, Relaxed);
                cluster.stats.latency.observe(start.elapsed());
                // hyper's client bounds the head only loosely; the member's head gets the
                // same limit as a client's, and an oversized one is a broken answer.
                let head_bytes: usize = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| k.as_str().len() + v.len() + 4)
                    .sum();
                if head_bytes as u64 > rt.config.limits.max_header_bytes.0 {
                    drop(sender);
                    tracing::warn!(cluster = %cluster.name, member = %member.name, phase = "response head (too large)", bytes = head_bytes, "member failed");
                    member_failed(cluster, idx);
                    cluster.lock().finish(idx);
                    return Ok(local(shared, StatusCode::BAD_GATEWAY, "bad gateway\n"));
                }
                return Ok(relay(
                    &ctx,
                    cluster,
                    idx,
                    resp,
                    sender,
                    sticky,
                    client_upgrade,
                    start,
                    deadline,
                    log_info,
                ));
            }
            Err(SendError::NotSent(back, cause)) => {
                req = back;
                member.stats.connect_errors.fetch_add(1, Relaxed);
                tracing::warn!(cluster = %cluster.name, member = %member.name, phase = "connect", error = %cause, "member failed before the request was sent");
                member_failed(cluster, idx);
                cluster.lock().finish(idx);
                tried.push(idx);
                if tried.len() >= attempts {
                    let timed_out = matches!(cause, crate::upstream::NotSentCause::ConnectTimeout);
                    return Ok(if timed_out {
                        local(
                            shared,
                            StatusCode::GATEWAY_TIMEOUT,
                            "gateway timeout (connect)\n",
                        )
                    } else {
                        local(shared, StatusCode::BAD_GATEWAY, "bad gateway (connect)\n")
                    });
                }
            }
            Err(SendError::Timeout) => {
                member.stats.timeouts.fetch_add(1, Relaxed);
                let which = if deadline.is_some_and(|d| d <= tokio::time::Instant::now()) {
                    "request total"
                } else {
                    "upstream response"
                };
                tracing::warn!(cluster = %cluster.name, member = %member.name, phase = "response head", timeout = which, %method, "member did not answer in time");
                member_failed(cluster, idx);
                cluster.lock().finish(idx);
                return Ok(local(
                    shared,
                    StatusCode::GATEWAY_TIMEOUT,
                    "gateway timeout\n",
                ));
            }
            Err(SendError::Sent(e)) => {
                cluster.lock().finish(idx);
                if caused_by::<BodyTooLarge>(&e) {
                    return Ok(local(
                        shared,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "request body too large\n",
                    ));
                }
                if caused_by::<hyper::Error>(&e) {
                    // The client's own body failed (client went away or sent bad framing).
                    tracing::debug!(cluster = %cluster.name, member = %member.name, error = %e, "client body failed");
                    return Ok(local(shared, StatusCode::BAD_REQUEST, "bad request body\n"));
                }
                let phase = if e.is_parse() {
                    "response head (invalid)"
                } else if e.is_incomplete_message() {
                    "response head (connection closed)"
                } else {
                    "exchange"
                };
                tracing::warn!(cluster = %cluster.name, member = %member.name, phase, error = %e, "member failed");
                member_failed(cluster, idx);
                return Ok(local(shared, StatusCode::BAD_GATEWAY, "bad gateway\n"));
            }
        }
    }
}

/// Whether an error's source chain holds a `T`.
fn caused_by<T: std::error::Error + 'static>(e: &hyper::Error) -> bool {
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if s.is::<T>() {
            return true;
        }
        src = s.source();
    }
    false
}

/// Counts a failure against a member (passive health) and logs an ejection.
fn member_failed(cluster: &ClusterRt, idx: usize) {
    let member = &cluster.members[idx];
    member.stats.failures.fetch_add(1, Relaxed);
    let t = cluster.lock().on_failure(idx, Instant::now());
    if let Some(crate::balance::Transition::Ejected(d)) = t {
        member.stats.ejections.fetch_add(1, Relaxed);
        member.stats.touch_change();
        tracing::warn!(cluster = %cluster.name, member = %member.name, for_ = ?d, "member ejected after consecutive failures");
    }
}

/// Value of cookie `name` in the request's Cookie headers.
pub fn cookie_value<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v.trim_matches('"'))
        })
}

#[allow(clippy::too_many_arguments)]
fn relay(
    ctx: &ConnCtx,
    cluster: &Arc<ClusterRt>,
    idx: usize,
    mut resp: Response<Incoming>,
    sender: Sender,
    sticky: Option<usize>,
    client_upgrade: Option<OnUpgrade>,
    start: Instant,
    deadline: Option<tokio::time::Instant>,
    log_info: Option<(Method, String, Version)>,
) -> Response<ResponseBody> {
    let member = &cluster.members[idx];
    let status = resp.status();
    member.stats.count_status(status.as_u16());
    if status.is_server_error() && cluster.config.passive.count_5xx {
        member_failed(cluster, idx);
    } else {
        cluster.lock().on_success(idx);
    }
    if status == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client_side) = client_upgrade {
            let member_side = hyper::upgrade::on(&mut resp);
            let cluster = cluster.clone();
            let idle = ctx.shared.runtime.load().config.timeouts.tunnel_idle.0;
            tokio::spawn(async move {
                tunnel(client_side, member_side, idle).await;
                drop(sender);
                cluster.lock().finish(idx);
            });
            let (parts, _) = resp.into_parts();
            return Response::from_parts(parts, ResponseBody::empty());
        }
    }
    let (mut parts, body) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    if let Some(cookie) = &cluster.sticky_cookie {
        if sticky != Some(idx) {
            if let Ok(v) =
                HeaderValue::from_str(&format!("{cookie}={}; Path=/; HttpOnly", member.name))
            {
                parts.headers.append(header::SET_COOKIE, v);
            }
        }
    }
    let done = Done {
        cluster: cluster.clone(),
        idx,
        sender: Some(sender),
        start,
        status: status.as_u16(),
        log: log_info.map(|(m, p, v)| (ctx.fwd.peer, m, p, v)),
        shared: ctx.shared.clone(),
    };
    Response::from_parts(
        parts,
        ResponseBody::upstream(body, Box::new(done), deadline),
    )
}

/// Runs a WebSocket/Upgrade tunnel until both sides close or nothing moves for `idle`.
async fn tunnel(client: OnUpgrade, member: OnUpgrade, idle: Duration) {
    let (c, m) = tokio::join!(client, member);
    match (c, m) {
        (Ok(c), Ok(m)) => copy_until_idle(TokioIo::new(c), TokioIo::new(m), idle).await,
        (c, m) => tracing::debug!(
            client_ok = c.is_ok(),
            member_ok = m.is_ok(),
            "upgrade failed"
        ),
    }
}

/// Copies both ways; a side's EOF is passed on as a write shutdown to the other side.
async fn copy_until_idle<A, B>(a: A, b: B, idle: Duration)
where
    A: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    B: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let mut ab = vec![0u8; 16 * 1024];
    let mut ba = vec![0u8; 16 * 1024];
    let (mut a_open, mut b_open) = (true, true);
    while a_open || b_open {
        tokio::select! {
            r = ar.read(&mut ab), if a_open => match r {
                Ok(0) | Err(_) => {
                    a_open = false;
                    let _ = bw.shutdown().await;
                }
                Ok(n) => {
                    if bw.write_all(&ab[..n]).await.is_err() {
                        break;
                    }
                }
            },
            r = br.read(&mut ba), if b_open => match r {
                Ok(0) | Err(_) => {
                    b_open = false;
                    let _ = aw.shutdown().await;
                }
                Ok(n) => {
                    if aw.write_all(&ba[..n]).await.is_err() {
                        break;
                    }
                }
            },
            _ = tokio::time::sleep(idle) => {
                tracing::debug!(?idle, "tunnel idle timeout");
                break;
            }
        }
    }
}

/// End-of-exchange accounting for a streamed answer.
struct Done {
    cluster: Arc<ClusterRt>,
    idx: usize,
    sender: Option<Sender>,
    start: Instant,
    status: u16,
    log: Option<(std::net::IpAddr, Method, String, Version)>,
    shared: Arc<Shared>,
}

impl Completion for Done {
    fn complete(mut self: Box<Self>, outcome: BodyOutcome, bytes: u64) {
        let member = &self.cluster.members[self.idx];
        member.stats.bytes_out.fetch_add(bytes, Relaxed);
        match outcome {
            BodyOutcome::Complete => {
                if let Some(s) = self.sender.take() {
                    member.pool.put(s);
                }
            }
            BodyOutcome::MemberFailed => {
                tracing::warn!(cluster = %self.cluster.name, member = %member.name, phase = "response body", "member broke the response body");
                member_failed(&self.cluster, self.idx);
            }
            BodyOutcome::TimedOut => {
                member.stats.timeouts.fetch_add(1, Relaxed);
                tracing::warn!(cluster = %self.cluster.name, member = %member.name, phase = "response body", "request total timeout: answer cut");
            }
            BodyOutcome::ClientGone => {}
        }
        self.cluster.lock().finish(self.idx);
        if let Some((client, method, path, version)) = self.log.take() {
            if let Some(log) = self.shared.access_log.load().as_ref() {
                log.write(&Entry {
                    client,
                    method,
                    path,
                    version,
                    status: self.status,
                    bytes,
                    cluster: self.cluster.name.clone(),
                    member: member.name.clone(),
                    duration_us: self.start.elapsed().as_micros(),
                    outcome: match outcome {
                        BodyOutcome::Complete => "ok",
                        BodyOutcome::MemberFailed => "member-broke-body",
                        BodyOutcome::ClientGone => "client-gone",
                        BodyOutcome::TimedOut => "timeout",
                    },
                });
            }
        }
    }
}
