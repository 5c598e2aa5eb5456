//! The member side of one request: pick a member (retrying further members while nothing
//! was sent), take a pooled socket or connect, send the forwarded head and body, read the
//! answer's head with `elb_http1::parse_response` (strict framing: anything ambiguous is a
//! broken answer, 502), and relay it with its body to the client.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use elb_http1::{
    FieldKind, Progress, RequestBody, RequestKind, ResponseBody, ResponseConfig, parse_response,
};
use elb_proxy_core::{ErrorKind, FailureCause, Phase, RequestError};
use tokio::net::TcpStream;

use super::body::{BodyFail, Framing, read_some, relay, write_two};
use super::conn::Scratch;
use super::exchange::{member_gave_up, send_request};
use super::pool;
use crate::body::BodyOutcome;
use crate::proxy::{ConnCtx, member_failed};
use crate::snapshot::LiveCluster;
use crate::trace::RequestTrace;

/// What one request needs from its route and the config for the member side.
pub(super) struct MemberCall<'a> {
    /// The client connection.
    pub(super) ctx: &'a ConnCtx,
    pub(super) cluster: &'a Arc<LiveCluster>,
    /// The request's record (member chosen, answer's first byte).
    pub(super) trace: &'a RequestTrace,
    pub(super) sticky: Option<usize>,
    pub(super) is_head: bool,
    /// The client connection closes after this answer.
    pub(super) close: bool,
    /// The Host the route sends instead of the client's.
    pub(super) rewrite_host: Option<&'a http::HeaderValue>,
    pub(super) max_body: u64,
    pub(super) deadline: Option<tokio::time::Instant>,
    pub(super) connect_timeout: Duration,
    pub(super) response_timeout: Duration,
    pub(super) member_idle: Duration,
    pub(super) max_response_head: usize,
    /// Most fields in a member's answer (hyper's client refuses more than 100).
    pub(super) max_response_headers: usize,
}

/// How the request ended on the member side.
pub(super) enum Attempt {
    /// A member's answer was (at least partly) relayed.
    Served {
        status: u16,
        data: u64,
        outcome: BodyOutcome,
        /// The client connection can serve another request.
        keep: bool,
    },
    /// Nothing was relayed.
    Failed(Failed),
}

/// Why nothing was relayed.
pub(super) enum Failed {
    /// The client gets this answer.
    Answer(RequestError),
    /// The client is gone or its body broke off: close without an answer.
    Cut,
}

/// A pooled socket the member had closed: try again on a new one (not a member failure).
struct Stale;

/// Picks members and runs the exchange, retrying while nothing was sent.
pub(super) async fn attempt(
    client: &mut TcpStream,
    call: &MemberCall<'_>,
    s: &mut Scratch,
) -> Attempt {
    let cluster = call.cluster;
    s.tried.clear();
    let attempts = cluster.config.retries as usize + 1;
    let random = fastrand::u64(..);
    let start = Instant::now();
    loop {
        if call
            .deadline
            .is_some_and(|d| d <= tokio::time::Instant::now())
        {
            tracing::warn!(cluster = %cluster.name, phase = "connect", "request total timeout");
            let err = RequestError::new(ErrorKind::TotalTimeout, Phase::Connect);
            return Attempt::Failed(Failed::Answer(err));
        }
        let picked = cluster
            .lock()
            .pick(Instant::now(), random, call.sticky, &s.tried);
        let Some(idx) = picked else {
            let kind = if s.tried.is_empty() {
                cluster.stats.no_member.fetch_add(1, Relaxed);
                ErrorKind::NoMember
            } else {
                ErrorKind::MembersExhausted
            };
            return Attempt::Failed(Failed::Answer(RequestError::new(kind, Phase::Connect)));
        };
        let member = &cluster.members[idx];
        call.trace.attempt(cluster, idx, s.tried.len());
        member.stats.requests.fetch_add(1, Relaxed);
        if !s.tried.is_empty() {
            cluster.stats.retries.fetch_add(1, Relaxed);
        }
        let mut pooled = pool::take(member.addr, call.member_idle);
        loop {
            // How long opening a fresh connection took (none: a pooled one).
            let mut opened = None;
            let mut conn = match pooled.take() {
                Some(c) => c,
                None => match connect(member.addr, call).await {
                    Ok((c, took)) => {
                        opened = Some(took);
                        c
                    }
                    Err(kind) => {
                        member.stats.connect_errors.fetch_add(1, Relaxed);
                        tracing::warn!(cluster = %cluster.name, member = %member.name, phase = "connect", error = ?kind, "member failed before the request was sent");
                        let err = RequestError::new(kind, Phase::Connect);
                        member_gave_up(cluster, idx, err);
                        s.tried.push(idx);
                        if err.retryable() && s.tried.len() < attempts {
                            break;
                        }
                        return Attempt::Failed(Failed::Answer(err));
                    }
                },
            };
            match exchange(client, &mut conn, opened, call, s, (idx, start)).await {
                Ok((a, keep_member)) => {
                    if keep_member {
                        pool::put(member.addr, conn, cluster.config.pool_max_idle);
                    }
                    return a;
                }
                Err(Stale) => continue,
            }
        }
    }
}

async fn connect(
    addr: std::net::SocketAddr,
    call: &MemberCall<'_>,
) -> Result<(TcpStream, Duration), ErrorKind> {
    let began = Instant::now();
    let mut until = tokio::time::Instant::now() + call.connect_timeout;
    if let Some(d) = call.deadline {
        until = until.min(d);
    }
    match tokio::time::timeout_at(until, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok((s, began.elapsed()))
        }
        Ok(Err(_)) => Err(ErrorKind::Connect),
        Err(_) => Err(ErrorKind::ConnectTimeout),
    }
}

/// A failure once (part of) the request went to member `idx`.
fn broke(cluster: &LiveCluster, idx: usize, kind: ErrorKind, phase: Phase, what: &str) -> Attempt {
    let member = &cluster.members[idx];
    if kind == ErrorKind::MemberBroke {
        tracing::warn!(cluster = %cluster.name, member = %member.name, phase = what, "member failed");
    }
    let err = RequestError::new(kind, phase);
    member_gave_up(cluster, idx, err);
    Attempt::Failed(Failed::Answer(err))
}

/// Sends the request on `conn` (`opened`: a fresh connection, and how long opening it
/// took) and relays the answer.
async fn exchange(
    client: &mut TcpStream,
    conn: &mut TcpStream,
    opened: Option<Duration>,
    call: &MemberCall<'_>,
    s: &mut Scratch,
    (idx, start): (usize, Instant),
) -> Result<(Attempt, bool), Stale> {
    let cluster = call.cluster;
    let reused = opened.is_none();
    let no_body = s.req.body == RequestBody::None;
    let sent = match call.deadline {
        Some(d) => tokio::time::timeout_at(d, send_request(conn, client, s, call.max_body)).await,
        None => Ok(send_request(conn, client, s, call.max_body).await),
    };
    let Ok(sent) = sent else {
        cluster.members[idx].stats.timeouts.fetch_add(1, Relaxed);
        tracing::warn!(cluster = %cluster.name, member = %cluster.members[idx].name, phase = "request body", timeout = "request total", "request did not complete in time");
        let err = RequestError::new(ErrorKind::ResponseTimeout, Phase::ResponseHead);
        member_gave_up(cluster, idx, err);
        return Ok((Attempt::Failed(Failed::Answer(err)), false));
    };
    match sent {
        Ok(()) => {}
        Err(BodyFail::Dest) if reused && no_body => return Err(Stale),
        Err(BodyFail::Dest) => {
            return Ok((
                broke(
                    cluster,
                    idx,
                    ErrorKind::MemberBroke,
                    Phase::RequestBody,
                    "request (write)",
                ),
                false,
            ));
        }
        Err(BodyFail::TooLarge) => {
            return Ok((
                broke(
                    cluster,
                    idx,
                    ErrorKind::BodyTooLarge,
                    Phase::RequestBody,
                    "",
                ),
                false,
            ));
        }
        Err(BodyFail::Framing(e)) => {
            // A later read of the body broke its framing (what came with the head was
            // checked before anything was sent): counted as the strict gate counts it.
            let reason = elb_proxy_core::gate::Refused::Body(e);
            call.ctx.shared.stats.count_refused(reason);
            crate::refusal_log::refused(call.ctx.peer, reason.as_str(), reason.status());
            return Ok((
                broke(cluster, idx, ErrorKind::ClientBody, Phase::RequestBody, ""),
                false,
            ));
        }
        Err(BodyFail::Source) => {
            cluster.lock().finish(idx);
            return Ok((Attempt::Failed(Failed::Cut), false));
        }
    }
    match read_response_head(client, conn, reused && no_body, call, s, idx).await? {
        Some(failed) => Ok((failed, false)),
        None => Ok(relay_answer(client, conn, call, s, (idx, opened), start).await),
    }
}

/// Reads the member's answer head into `s.resp`, relaying 1xx heads on the way; `Some`
/// when the exchange ends here (broken, timed out, client gone).
async fn read_response_head(
    client: &mut TcpStream,
    conn: &TcpStream,
    retry_stale: bool,
    call: &MemberCall<'_>,
    s: &mut Scratch,
    idx: usize,
) -> Result<Option<Attempt>, Stale> {
    let cluster = call.cluster;
    let rcfg = ResponseConfig {
        max_head_bytes: call.max_response_head.max(1024),
        max_headers: call.max_response_headers,
    };
    let kind = RequestKind {
        head: call.is_head,
        connect: false,
    };
    s.mbuf.clear();
    loop {
        match parse_response(&s.mbuf, &rcfg, kind, &mut s.resp) {
            Ok(Progress::Complete) if s.resp.informational => {
                let n = s.resp.head_len;
                if write_two(client, &s.mbuf[..n], &[]).await.is_err() {
                    cluster.lock().finish(idx);
                    return Ok(Some(Attempt::Failed(Failed::Cut)));
                }
                s.mbuf.drain(..n);
                continue;
            }
            Ok(Progress::Complete) => break,
            Ok(Progress::Partial) => {}
            Err(e) => {
                tracing::warn!(cluster = %cluster.name, member = %cluster.members[idx].name, error = %e, "member answer refused");
                return Ok(Some(broke(
                    cluster,
                    idx,
                    ErrorKind::MemberBroke,
                    Phase::ResponseHead,
                    "response head (invalid)",
                )));
            }
        }
        let mut until = tokio::time::Instant::now() + call.response_timeout;
        if let Some(d) = call.deadline {
            until = until.min(d);
        }
        if s.mbuf.capacity() - s.mbuf.len() < 4096 {
            s.mbuf.reserve(16 * 1024);
        }
        match super::deadline::within(&mut s.timer, until, read_some(conn, &mut s.mbuf)).await {
            Some(Ok(n)) if n > 0 => {}
            Some(_) if retry_stale && s.mbuf.is_empty() => return Err(Stale),
            Some(_) => {
                return Ok(Some(broke(
                    cluster,
                    idx,
                    ErrorKind::MemberBroke,
                    Phase::ResponseHead,
                    "response head (connection closed)",
                )));
            }
            None => {
                cluster.members[idx].stats.timeouts.fetch_add(1, Relaxed);
                tracing::warn!(cluster = %cluster.name, member = %cluster.members[idx].name, phase = "response head", "member did not answer in time");
                return Ok(Some(broke(
                    cluster,
                    idx,
                    ErrorKind::ResponseTimeout,
                    Phase::ResponseHead,
                    "",
                )));
            }
        }
    }
    Ok(None)
}

/// Relays the parsed answer in `s.resp` (head rewritten, body as framed) to the client.
async fn relay_answer(
    client: &mut TcpStream,
    conn: &mut TcpStream,
    call: &MemberCall<'_>,
    s: &mut Scratch,
    (idx, opened): (usize, Option<Duration>),
    start: Instant,
) -> (Attempt, bool) {
    let cluster = call.cluster;
    let member = &cluster.members[idx];
    let framing = match s.resp.body {
        ResponseBody::None => Framing::Length(0),
        ResponseBody::Length(n) => Framing::Length(n),
        ResponseBody::Chunked => Framing::Chunked,
        ResponseBody::CloseDelimited => Framing::UntilClose,
        ResponseBody::Tunnel => {
            let what = "response head (unasked upgrade)";
            return (
                broke(
                    cluster,
                    idx,
                    ErrorKind::MemberBroke,
                    Phase::ResponseHead,
                    what,
                ),
                false,
            );
        }
    };
    let status = s.resp.status;
    cluster.stats.requests.fetch_add(1, Relaxed);
    cluster.stats.latency.observe(start.elapsed());
    call.trace.answered_after(cluster, idx, opened);
    member.stats.count_status(status);
    if (500..600).contains(&status) && cluster.config.passive.count_5xx {
        member_failed(cluster, idx, FailureCause::Status5xx);
    } else {
        cluster.lock().on_success(idx);
    }
    let close = call.close || framing == Framing::UntilClose;
    write_client_head(s, cluster, idx, call.sticky, close);
    let head_len = s.resp.head_len;
    let moved = relay(conn, client, &mut s.mbuf, head_len, framing, 0, &s.out);
    let moved = match call.deadline {
        Some(d) => tokio::time::timeout_at(d, moved).await.ok(),
        None => Some(moved.await),
    };
    let (outcome, data, keep) = match moved {
        Some(Ok(m)) => {
            let reusable = s.resp.keep_alive && s.mbuf.is_empty() && framing != Framing::UntilClose;
            (BodyOutcome::Complete, m.data, reusable)
        }
        Some(Err(BodyFail::Dest)) => (BodyOutcome::ClientGone, 0, false),
        Some(Err(_)) => {
            tracing::warn!(cluster = %cluster.name, member = %member.name, phase = "response body", "member broke the response body");
            member_failed(cluster, idx, FailureCause::Connection);
            (BodyOutcome::MemberFailed, 0, false)
        }
        None => {
            member.stats.timeouts.fetch_add(1, Relaxed);
            tracing::warn!(cluster = %cluster.name, member = %member.name, phase = "response body", "request total timeout: answer cut");
            (BodyOutcome::TimedOut, 0, false)
        }
    };
    member.stats.bytes_out.fetch_add(data, Relaxed);
    cluster.lock().finish(idx);
    let served = Attempt::Served {
        status,
        data,
        outcome,
        keep: keep && !close,
    };
    (served, keep)
}

/// The client's response head in `s.out`: HTTP/1.1 status line, the member's fields less
/// hop-by-hop ones (framing kept: the body goes out as it came), the sticky cookie.
fn write_client_head(
    s: &mut Scratch,
    cluster: &LiveCluster,
    idx: usize,
    sticky: Option<usize>,
    close: bool,
) {
    let Scratch {
        mbuf, resp, out, ..
    } = s;
    out.clear();
    let line = &mbuf[resp.status_line.clone()];
    let rest = line
        .iter()
        .position(|&b| b == b' ')
        .map_or(&line[line.len()..], |i| &line[i..]);
    out.extend_from_slice(b"HTTP/1.1");
    out.extend_from_slice(rest);
    out.extend_from_slice(b"\r\n");
    for f in &resp.fields {
        let name = &mbuf[f.name.clone()];
        let proxy_only = name.eq_ignore_ascii_case(b"proxy-authenticate")
            || name.eq_ignore_ascii_case(b"http2-settings");
        if f.forward && !f.kind.is_hop_by_hop() && f.kind != FieldKind::Connection && !proxy_only {
            out.extend_from_slice(&mbuf[f.line.clone()]);
        }
    }
    if let Some(sticky_cfg) = &cluster.config.sticky {
        if sticky != Some(idx) {
            let id = &cluster.members[idx].cookie_id;
            let cookie = elb_proxy_core::rewrite::set_cookie(sticky_cfg, id);
            out.extend_from_slice(format!("set-cookie: {cookie}\r\n").as_bytes());
        }
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}
