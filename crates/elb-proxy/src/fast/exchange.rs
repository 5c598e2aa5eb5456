//! One request on the fast path, after its head was read: the health service, routing,
//! member choice with retries while nothing was sent, the forwarded head (minimal rewrite,
//! one writev with the body bytes already read), and the member's answer relayed back.
//! The same core decisions and the same counters, logs and passive health as the hyper
//! path (`proxy`, `relay`).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use elb_http1::{RequestBody, Rewrite};
use elb_proxy_core::rewrite::{Origin, without_cookie};
use elb_proxy_core::{
    CompiledRoute, ErrorKind, FailureCause, Phase, RequestError, RequestHead, cookie_value,
};
use http::{HeaderName, HeaderValue, Method};
use tokio::net::TcpStream;

use super::answer::{write_error, write_health, write_too_many};
use super::body::{BodyFail, Framing, relay, write_two};
use super::conn::{Next, Scratch};
use super::member::{Attempt, Failed, MemberCall};
use crate::proxy::{ConnCtx, member_failed};
use crate::snapshot::{LiveCluster, Snapshot};
use crate::trace::{RequestTrace, count_rejection, termination_of, termination_of_body};

static FORWARDING: [HeaderName; 4] = [
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-host"),
    http::header::FORWARDED,
];

/// The route this request matched, and what of it the fast path looks at.
struct Routed<'s> {
    route: &'s CompiledRoute,
    /// The route or its cluster rewrites headers or paths, splits or mirrors: hyper serves it.
    rewrites: bool,
    /// A redirect the fast path answers itself (one without response header rules).
    redirect: Option<&'s elb_proxy_core::RouteRules>,
}

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
    let query = pq[path_end..]
        .strip_prefix(b"?")
        .and_then(|q| std::str::from_utf8(q).ok());
    let routed = route(
        ctx,
        snap,
        (buf, head),
        &mut s.headers,
        (host, path, query),
        &method,
    );
    let cluster = routed.as_ref().map(|r| &snap.clusters[r.route.cluster]);
    if let Some(r) = &routed {
        let target = cluster.filter(|_| r.redirect.is_none());
        if let Some(why) =
            super::fallback::routed_needs_hyper(ctx, r.rewrites, target.map(|c| &**c))
        {
            tracing::debug!(peer = %ctx.peer, why, "request handed over to hyper");
            return Next::Hyper;
        }
    }
    let request_id = snap
        .request_id
        .as_ref()
        .map(|n| crate::request_id::for_fast(n, ctx.fwd.trusted, buf, head));
    let trace = super::record::begin(ctx, (buf, head), &method, request_id.as_ref());
    shared.stats.requests_total.fetch_add(1, Relaxed);
    let (Some(routed), Some(cluster)) = (routed, cluster) else {
        shared.stats.unrouted.fetch_add(1, Relaxed);
        let err = RequestError::new(ErrorKind::NoRoute, Phase::Route);
        return answer_error(client, (ctx, &trace), s, err, (is_head, close)).await;
    };
    let route = routed.route;
    let redirect = routed.redirect.and_then(|r| r.redirect.as_ref());
    trace.routed(snap, route, redirect.is_none().then_some(route.cluster));
    if let Err(wait) = super::record::rate_limited(ctx, snap, route, (buf, head)) {
        let close = close || head.body != RequestBody::None;
        s.out.clear();
        let bytes = write_too_many(&mut s.out, wait, is_head, close);
        trace.finish(shared, 429, bytes, "--");
        return finish_local(client, s, close).await;
    }
    if let Some(redirect) = redirect {
        let location = redirect.location(&Origin {
            scheme: ctx.fwd.proto(),
            host: host.unwrap_or_default(),
            path,
            query,
        });
        let status = redirect.status;
        return answer_redirect(
            client,
            (ctx, &trace),
            s,
            (status, &location),
            (is_head, close),
        )
        .await;
    }
    if route.max_body > 0 && matches!(s.req.body, RequestBody::Length(n) if n > route.max_body) {
        let err = RequestError::new(ErrorKind::BodyTooLarge, Phase::RequestBody);
        return answer_error(client, (ctx, &trace), s, err, (is_head, true)).await;
    }
    // Only X-Forwarded-Host and Forwarded need the client's Host as a value (a copy).
    let set = ctx.fwd.set;
    let host_value = (set.x_forwarded_host || set.forwarded)
        .then(|| host.and_then(|h| HeaderValue::from_str(h).ok()))
        .flatten();
    let call = member_call((ctx, snap), cluster, route, (is_head, close), &trace);
    forward(client, call, s, host_value, request_id).await
}

/// Sends the request to a member of its cluster (the sticky one if the cookie names one,
/// that cookie stripped) and relays the answer; records how it ended.
async fn forward(
    client: &mut TcpStream,
    mut call: MemberCall<'_>,
    s: &mut Scratch,
    host: Option<HeaderValue>,
    request_id: Option<crate::request_id::FastId>,
) -> Next {
    let (ctx, cluster, trace) = (call.ctx, call.cluster, call.trace);
    let shared = &ctx.shared;
    let mut strip = None;
    call.sticky = cluster.sticky_cookie.as_deref().and_then(|name| {
        if s.headers.is_empty() {
            fill_cookies(&s.cbuf, &s.req, &mut s.headers);
        }
        strip = without_cookie(&s.headers, name);
        cluster.member_by_cookie(cookie_value(&s.headers, name)?)
    });
    let forwarded = (call.rewrite_host, host.as_ref());
    write_forwarded_head(ctx, s, forwarded, request_id.as_ref(), strip);
    match super::member::attempt(client, &call, s).await {
        Attempt::Served {
            status,
            data,
            outcome,
            keep,
        } => {
            trace.finish(shared, status, data, termination_of_body(outcome));
            if !keep || call.close {
                return Next::Close;
            }
            if s.req.body == RequestBody::None {
                let used = s.req.head_len;
                s.cbuf.drain(..used);
            }
            Next::Again
        }
        Attempt::Failed(Failed::Answer(err)) => {
            answer_error(client, (ctx, trace), s, err, (call.is_head, true)).await
        }
        Attempt::Failed(Failed::Cut) => {
            // The client went away (or its body broke off) before an answer: recorded as
            // the hyper path records a failed client body, nothing is written.
            let err = RequestError::new(ErrorKind::ClientBody, Phase::RequestBody);
            let status = err.answer().status.as_u16();
            trace.finish(shared, status, 0, termination_of(&err));
            Next::Close
        }
    }
}

/// Routes the request (the request's fields go into `s.headers` only when a route has a
/// header condition; a name with an underscore only where the listener forwards them, as
/// the hyper path drops them before routing).
fn route<'s>(
    ctx: &ConnCtx,
    snap: &'s Snapshot,
    (buf, req): (&[u8], &elb_http1::RequestHead),
    headers: &mut http::HeaderMap,
    (host, path, query): (Option<&str>, &str, Option<&str>),
    method: &Method,
) -> Option<Routed<'s>> {
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
        query,
    };
    snap.router.route(&rh).map(|r| {
        let redirect = r
            .rules
            .as_deref()
            .filter(|x| x.redirect.is_some() && x.headers.response.is_empty());
        Routed {
            rewrites: redirect.is_none()
                && (r.rules.is_some() || snap.router.cluster_rules(r.cluster).is_some()),
            redirect,
            route: r,
        }
    })
}

/// The member side's settings for this request.
fn member_call<'a>(
    (ctx, snap): (&'a ConnCtx, &Snapshot),
    cluster: &'a Arc<LiveCluster>,
    route: &'a CompiledRoute,
    (is_head, close): (bool, bool),
    trace: &'a RequestTrace,
) -> MemberCall<'a> {
    let limits = &snap.config.limits;
    MemberCall {
        ctx,
        cluster,
        trace,
        sticky: None,
        is_head,
        close,
        rewrite_host: route.rewrite_host.as_ref(),
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
    (rewrite_host, host): (Option<&HeaderValue>, Option<&HeaderValue>),
    request_id: Option<&crate::request_id::FastId>,
    strip: Option<Option<String>>,
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
    // The sticky cookie is not the member's business: the other cookies go on as one field.
    if let Some(left) = strip {
        for f in req.fields.iter_mut() {
            if cbuf[f.name.clone()].eq_ignore_ascii_case(b"cookie") {
                f.forward = false;
            }
        }
        if let Some(v) = left.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(http::header::COOKIE, v);
        }
    }
    let mut set: [(&[u8], &[u8]); 7] = [(b"", b""); 7];
    let mut n = 0;
    if let Some(id) = request_id.filter(|id| id.replace) {
        set[n] = (id.name.as_str().as_bytes(), id.value.as_bytes());
        n += 1;
    }
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

/// Answers a redirect route (a body not read closes the connection).
async fn answer_redirect(
    client: &mut TcpStream,
    (ctx, trace): (&ConnCtx, &RequestTrace),
    s: &mut Scratch,
    (status, location): (http::StatusCode, &str),
    (is_head, close): (bool, bool),
) -> Next {
    let close = close || s.req.body != RequestBody::None;
    s.out.clear();
    let status = if HeaderValue::from_str(location).is_ok() {
        super::answer::write_redirect(&mut s.out, status, location, close);
        status
    } else {
        // A Host with bytes a Location cannot carry, as on the hyper path.
        let status = http::StatusCode::BAD_REQUEST;
        super::answer::write_local(&mut s.out, status, b"", is_head, close);
        status
    };
    trace.finish(&ctx.shared, status.as_u16(), 0, "--");
    finish_local(client, s, close).await
}

/// Answers a failed request, counted and recorded as the hyper path does.
async fn answer_error(
    client: &mut TcpStream,
    (ctx, trace): (&ConnCtx, &RequestTrace),
    s: &mut Scratch,
    err: RequestError,
    (is_head, close): (bool, bool),
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
