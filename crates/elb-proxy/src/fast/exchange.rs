//! One request on the fast path, after its head was read: the health service, routing,
//! member choice with retries while nothing was sent, the forwarded head (minimal rewrite,
//! one writev with the body bytes already read), and the member's answer relayed back.
//! The same core decisions and the same counters, logs and passive health as the hyper
//! path (`proxy`, `relay`).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use elb_http1::{RequestBody, Rewrite};
use elb_proxy_core::{
    CompiledRoute, ErrorKind, FailureCause, Phase, RequestError, RequestHead, cookie_value,
};
use http::{HeaderName, HeaderValue, Method};
use tokio::net::TcpStream;

use super::answer::{write_error, write_health, write_too_many};
use super::body::{BodyFail, Framing, relay, write_two};
use super::conn::{Next, Scratch};
use super::fallback::cluster_needs_hyper;
use super::member::{Attempt, Failed, MemberCall};
use crate::proxy::{ConnCtx, member_failed};
use crate::snapshot::{LiveCluster, Snapshot};
use crate::trace::{HeadFacts, RequestTrace, count_rejection, termination_of, termination_of_body};

static FORWARDING: [HeaderName; 4] = [
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-host"),
    http::header::FORWARDED,
];

/// Serves the request whose head is in `s.req`; `stopping`: the listener is draining.
pub(super) async fn serve_request(
    client: &mut TcpStream,
    ctx: &ConnCtx,
    snap: &Snapshot,
    s: &mut Scratch,
    stopping: bool,
) -> Next {
    let shared = &ctx.shared;
    let buf = &s.cbuf;
    let head = &s.req;
    let is_head = head.method(buf) == b"HEAD";
    let pq = &buf[head.path_and_query.clone()];
    let path_end = pq.iter().position(|&b| b == b'?').unwrap_or(pq.len());
    let path = std::str::from_utf8(&pq[..path_end]).unwrap_or("");
    let path = if path.is_empty() { "/" } else { path };
    let close = !head.keep_alive || stopping;
    if path == snap.config.health.path {
        shared.stats.requests_total.fetch_add(1, Relaxed);
        // A body on a health request is not read: close after the answer.
        let close = close || head.body != RequestBody::None;
        s.out.clear();
        write_health(&mut s.out, shared, is_head, close);
        return finish_local(client, s, close).await;
    }
    let Ok(method) = Method::from_bytes(head.method(buf)) else {
        return Next::Hyper;
    };
    let host = head
        .authority
        .clone()
        .and_then(|r| std::str::from_utf8(&buf[r]).ok());
    let trace = begin_trace(ctx, buf, head);
    let matched = (host, path, &method);
    let Some(route) = route(ctx, snap, (buf, head), &mut s.headers, matched) else {
        shared.stats.requests_total.fetch_add(1, Relaxed);
        shared.stats.unrouted.fetch_add(1, Relaxed);
        let err = RequestError::new(ErrorKind::NoRoute, Phase::Route);
        return answer_error(client, (ctx, &trace), s, err, is_head, close).await;
    };
    let cluster = &snap.clusters[route.cluster];
    if let Some(why) = cluster_needs_hyper(cluster) {
        tracing::debug!(peer = %ctx.fwd.peer, why, "request left to hyper");
        return Next::Hyper;
    }
    shared.stats.requests_total.fetch_add(1, Relaxed);
    trace.routed(&route.name, &cluster.name);
    if let Err(wait) = rate_limited(ctx, snap, route, (buf, head)) {
        let close = close || head.body != RequestBody::None;
        s.out.clear();
        let bytes = write_too_many(&mut s.out, wait, is_head, close);
        trace.finish(shared, 429, bytes, "--");
        return finish_local(client, s, close).await;
    }
    if route.max_body > 0 && matches!(s.req.body, RequestBody::Length(n) if n > route.max_body) {
        let err = RequestError::new(ErrorKind::BodyTooLarge, Phase::RequestBody);
        return answer_error(client, (ctx, &trace), s, err, is_head, true).await;
    }
    let sticky = cluster.sticky_cookie.as_deref().and_then(|name| {
        if s.headers.is_empty() {
            fill_cookies(&s.cbuf, &s.req, &mut s.headers);
        }
        cluster.member_index(cookie_value(&s.headers, name)?)
    });
    // Only X-Forwarded-Host and Forwarded need the client's Host as a value (a copy).
    let set = ctx.fwd.set;
    let host_value = (set.x_forwarded_host || set.forwarded)
        .then(|| host.and_then(|h| HeaderValue::from_str(h).ok()))
        .flatten();
    write_forwarded_head(ctx, s, route.rewrite_host.as_ref(), host_value.as_ref());
    let call = member_call(
        (ctx, snap),
        cluster,
        route,
        (sticky, is_head, close),
        &trace,
    );
    match super::member::attempt(client, &call, s).await {
        Attempt::Served {
            status,
            data,
            outcome,
            keep,
        } => {
            trace.finish(shared, status, data, termination_of_body(outcome));
            if !keep || close {
                return Next::Close;
            }
            if s.req.body == RequestBody::None {
                let used = s.req.head_len;
                s.cbuf.drain(..used);
            }
            Next::Again
        }
        Attempt::Failed(Failed::Answer(err)) => {
            answer_error(client, (ctx, &trace), s, err, is_head, true).await
        }
        Attempt::Failed(Failed::Cut) => Next::Close,
    }
}

/// Begins the request's record (the same one the hyper path keeps); the fields only the
/// access log needs are looked up only while it is on.
fn begin_trace(ctx: &ConnCtx, buf: &[u8], head: &elb_http1::RequestHead) -> RequestTrace {
    let logging = ctx.shared.access_log.load().is_some();
    let field = |name: &[u8]| if logging { head.field(buf, name) } else { None };
    let fields: usize = head
        .fields
        .iter()
        .map(|f| f.name.len() + f.value.len() + 4)
        .sum();
    let method = head.method(buf);
    let pq = &buf[head.path_and_query.clone()];
    let declared = match head.body {
        RequestBody::Length(n) => n,
        _ => 0,
    };
    let facts = HeadFacts {
        method: std::str::from_utf8(method).unwrap_or("-"),
        target: std::str::from_utf8(pq).unwrap_or("/"),
        version: "HTTP/1.1",
        host: head.authority.clone().map(|r| &buf[r]),
        user_agent: field(b"user-agent"),
        referer: field(b"referer"),
        forwarded_for: field(b"x-forwarded-for"),
        request_id: field(b"x-request-id"),
        bytes_in: (fields + method.len() + pq.len() + 13) as u64 + declared,
    };
    RequestTrace::begin_head(&ctx.shared, &ctx.listener, ctx.fwd.peer, &facts)
}

/// The per-client request rates (proxy-wide, listener, route), as the hyper path applies
/// them; the X-Forwarded-For fields are collected only when a rate is configured.
fn rate_limited(
    ctx: &ConnCtx,
    snap: &Snapshot,
    route: &CompiledRoute,
    (buf, head): (&[u8], &elb_http1::RequestHead),
) -> Result<(), std::time::Duration> {
    let configured = route.client_rate.is_some()
        || ctx.listener_rate.1.is_some()
        || elb_proxy_core::limits::rate_of(&snap.config.limits.per_client).is_some();
    if !configured {
        return Ok(());
    }
    let mut xff = http::HeaderMap::new();
    for f in &head.fields {
        if buf[f.name.clone()].eq_ignore_ascii_case(b"x-forwarded-for") {
            if let Ok(v) = HeaderValue::from_bytes(&buf[f.value.clone()]) {
                xff.append(FORWARDING[0].clone(), v);
            }
        }
    }
    crate::client_limits::check_rate(
        snap,
        ctx.fwd.peer,
        &xff,
        ctx.listener_rate,
        (route.scope, route.client_rate),
        &ctx.shared,
    )
}

/// Routes the request (the request's fields go into `s.headers` only when a route has a
/// header condition; names with an underscore only when the listener allows them, as
/// the hyper path drops them before routing).
fn route<'s>(
    ctx: &ConnCtx,
    snap: &'s Snapshot,
    (buf, req): (&[u8], &elb_http1::RequestHead),
    headers: &mut http::HeaderMap,
    (host, path, method): (Option<&str>, &str, &Method),
) -> Option<&'s CompiledRoute> {
    headers.clear();
    if needs_fields(snap) {
        let allow = ctx.policy.underscores == elb_proxy_core::Underscores::Allow;
        for f in &req.fields {
            if !allow && buf[f.name.clone()].contains(&b'_') {
                continue;
            }
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(&buf[f.name.clone()]),
                HeaderValue::from_bytes(&buf[f.value.clone()]),
            ) {
                headers.append(n, v);
            }
        }
    }
    let rh = RequestHead {
        host,
        path,
        method,
        headers,
    };
    snap.router.route(&rh)
}

/// The member side's settings for this request.
fn member_call<'a>(
    (ctx, snap): (&'a ConnCtx, &Snapshot),
    cluster: &'a Arc<LiveCluster>,
    route: &CompiledRoute,
    (sticky, is_head, close): (Option<usize>, bool, bool),
    trace: &'a RequestTrace,
) -> MemberCall<'a> {
    let limits = &snap.config.limits;
    MemberCall {
        cluster,
        trace,
        ctx,
        sticky,
        is_head,
        close,
        max_body: route.max_body,
        deadline: route.total_timeout.map(|t| tokio::time::Instant::now() + t),
        connect_timeout: snap.config.timeouts.connect.0,
        response_timeout: snap.config.timeouts.upstream_response.0,
        member_idle: snap.config.timeouts.upstream_idle.0,
        max_response_head: usize::try_from(limits.max_header_bytes.0).unwrap_or(usize::MAX),
        max_response_headers: limits.max_headers.clamp(1, elb_http1::MAX_HEADERS),
    }
}

/// Whether routing looks at request fields (a route with a header condition).
fn needs_fields(snap: &Snapshot) -> bool {
    snap.config
        .routes
        .iter()
        .any(|r| r.matches.header.is_some())
}

/// Only the Cookie fields, for the sticky-session lookup.
fn fill_cookies(buf: &[u8], head: &elb_http1::RequestHead, out: &mut http::HeaderMap) {
    for f in &head.fields {
        if buf[f.name.clone()].eq_ignore_ascii_case(b"cookie") {
            if let Ok(v) = HeaderValue::from_bytes(&buf[f.value.clone()]) {
                out.append(http::header::COOKIE, v);
            }
        }
    }
}

/// Builds the member's request head into `s.writer`: origin-form target, HTTP/1.1,
/// hop-by-hop fields out, forwarding fields as `Forwarding::apply` decides, Host as routed.
fn write_forwarded_head(
    ctx: &ConnCtx,
    s: &mut Scratch,
    rewrite_host: Option<&HeaderValue>,
    host: Option<&HeaderValue>,
) {
    let Scratch {
        cbuf,
        req,
        writer,
        headers,
        ..
    } = s;
    headers.clear();
    for f in req.fields.iter_mut() {
        let name = &cbuf[f.name.clone()];
        if let Some(n) = FORWARDING
            .iter()
            .find(|n| name.eq_ignore_ascii_case(n.as_str().as_bytes()))
        {
            f.forward = false;
            if let Ok(v) = HeaderValue::from_bytes(&cbuf[f.value.clone()]) {
                headers.append(n.clone(), v);
            }
        }
    }
    ctx.fwd.apply(headers, host);
    let mut set: [(&[u8], &[u8]); 6] = [(b"", b""); 6];
    let mut n = 0;
    if let Some(h) = rewrite_host {
        req.rewrite_host = false;
        set[n] = (b"host", h.as_bytes());
        n += 1;
    }
    for (name, value) in headers.iter() {
        if n < set.len() {
            set[n] = (name.as_str().as_bytes(), value.as_bytes());
            n += 1;
        }
    }
    let rw = Rewrite {
        origin_form: true,
        http11: true,
        set: &set[..n],
        ..Rewrite::default()
    };
    writer.write_request(cbuf, req, &rw);
}

/// Writes `s.out` (a local answer); a request body not read closes the connection.
async fn finish_local(client: &mut TcpStream, s: &mut Scratch, close: bool) -> Next {
    if write_two(client, &s.out, &[]).await.is_err() || close {
        return Next::Close;
    }
    let used = s.req.head_len;
    s.cbuf.drain(..used);
    Next::Again
}

/// Answers a failed request, counted and recorded as the hyper path does.
async fn answer_error(
    client: &mut TcpStream,
    (ctx, trace): (&ConnCtx, &RequestTrace),
    s: &mut Scratch,
    err: RequestError,
    is_head: bool,
    close: bool,
) -> Next {
    let close = close || s.req.body != RequestBody::None;
    count_rejection(&ctx.shared, &err);
    s.out.clear();
    let bytes = write_error(&mut s.out, &ctx.shared, err, is_head, close);
    trace.finish(
        &ctx.shared,
        err.answer().status.as_u16(),
        bytes,
        termination_of(&err),
    );
    finish_local(client, s, close).await
}

/// Relays the request body (if any) after the head, then returns how it went.
pub(super) async fn send_request(
    member: &mut TcpStream,
    client: &mut TcpStream,
    s: &mut Scratch,
    max_body: u64,
) -> Result<(), BodyFail> {
    let framing = match s.req.body {
        RequestBody::None => {
            return write_two(member, s.writer.head(), &[])
                .await
                .map_err(|_| BodyFail::Dest);
        }
        RequestBody::Length(n) => Framing::Length(n),
        RequestBody::Chunked => Framing::Chunked,
    };
    let start = s.req.head_len;
    relay(
        client,
        member,
        &mut s.cbuf,
        start,
        framing,
        max_body,
        s.writer.head(),
    )
    .await
    .map(|_| ())
}

/// Counts a failure against a member and ends its pick (shared by every failure path).
pub(super) fn member_gave_up(cluster: &LiveCluster, idx: usize, err: RequestError) {
    if err.blames_member() {
        member_failed(cluster, idx, FailureCause::Connection);
    }
    cluster.lock().finish(idx);
}
