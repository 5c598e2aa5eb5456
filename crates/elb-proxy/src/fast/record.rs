//! What the fast path shares with the hyper path around one request: its record
//! (`RequestTrace`: access log line, duration histograms, member timings), begun from the
//! fast head, and the per-client request rates. Both look only at what they need: the
//! logged fields are described only while the access log is on, the forwarding fields are
//! collected only when a rate is configured.

use std::sync::Arc;

use elb_http1::RequestBody;
use elb_proxy_core::CompiledRoute;
use elb_proxy_core::limits::rate_of;
use http::{HeaderName, HeaderValue, Method, Request};

use crate::proxy::ConnCtx;
use crate::request_id::FastId;
use crate::snapshot::Snapshot;
use crate::trace::RequestTrace;

/// The fields the access log records, in the form the hyper path reads them.
static LOGGED: [HeaderName; 5] = [
    http::header::HOST,
    http::header::USER_AGENT,
    http::header::REFERER,
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-request-id"),
];

/// Begins the record of the request whose head is `head` in `buf` (the same record the
/// hyper path keeps; its size is the head's plus the declared body).
pub(super) fn begin(
    ctx: &ConnCtx,
    (buf, head): (&[u8], &elb_http1::RequestHead),
    method: &Method,
    request_id: Option<&FastId>,
) -> Arc<RequestTrace> {
    let declared = match head.body {
        RequestBody::Length(n) => n,
        _ => 0,
    };
    let bytes_in = head.head_len as u64 + declared;
    let (shared, listener, peer) = (&ctx.shared, &ctx.listener, ctx.fwd.peer);
    if ctx.shared.access_log.load().is_none() {
        // Nothing of the head is read: one request stands for all.
        return RequestTrace::begin_sized(shared, listener, peer, &UNLOGGED, bytes_in);
    }
    let req = logged_fields(buf, head, method, request_id);
    RequestTrace::begin_sized(shared, listener, peer, &req, bytes_in)
}

/// What a request's record is begun from while the access log is off.
static UNLOGGED: std::sync::LazyLock<Request<()>> = std::sync::LazyLock::new(|| Request::new(()));

/// A request carrying what the access log records of this head: method, target, the
/// first of each logged field (Host: the authority the request is for), the request id.
fn logged_fields(
    buf: &[u8],
    head: &elb_http1::RequestHead,
    method: &Method,
    request_id: Option<&FastId>,
) -> Request<()> {
    let mut req = Request::new(());
    *req.method_mut() = method.clone();
    let pq = &buf[head.path_and_query.clone()];
    if let Ok(pq) = http::uri::PathAndQuery::try_from(if pq.is_empty() { b"/" } else { pq }) {
        *req.uri_mut() = http::Uri::from(pq);
    }
    let h = req.headers_mut();
    let authority = head.authority.clone().map(|r| &buf[r]);
    if let Some(v) = authority.and_then(|a| HeaderValue::from_bytes(a).ok()) {
        h.insert(http::header::HOST, v);
    }
    for name in &LOGGED[1..] {
        let value = head.field(buf, name.as_str().as_bytes());
        if let Some(v) = value.and_then(|v| HeaderValue::from_bytes(v).ok()) {
            h.insert(name.clone(), v);
        }
    }
    if let Some(v) = request_id.and_then(|id| HeaderValue::from_str(&id.value).ok()) {
        req.extensions_mut().insert(crate::request_id::RequestId(v));
    }
    req
}

/// The per-client request rates (proxy-wide, listener, route) as the hyper path applies
/// them, after routing: `Err` is the time until the client may send again. The
/// `X-Forwarded-For` and `Forwarded` fields (which name the client behind a trusted proxy)
/// are collected only when a rate is configured.
pub(super) fn rate_limited(
    ctx: &ConnCtx,
    snap: &Snapshot,
    route: &CompiledRoute,
    (buf, head): (&[u8], &elb_http1::RequestHead),
) -> Result<(), std::time::Duration> {
    let configured = route.client_rate.is_some()
        || ctx.listener_rate.1.is_some()
        || rate_of(&snap.config.limits.per_client).is_some();
    if !configured {
        return Ok(());
    }
    let mut forwarding = http::HeaderMap::new();
    for f in &head.fields {
        let name = &buf[f.name.clone()];
        let which = if name.eq_ignore_ascii_case(b"x-forwarded-for") {
            LOGGED[3].clone()
        } else if name.eq_ignore_ascii_case(b"forwarded") {
            http::header::FORWARDED
        } else {
            continue;
        };
        if let Ok(v) = HeaderValue::from_bytes(&buf[f.value.clone()]) {
            forwarding.append(which, v);
        }
    }
    crate::client_limits::check_rate(
        snap,
        ctx.peer.ip(),
        &forwarding,
        ctx.listener_rate,
        (route.scope, route.client_rate),
        &ctx.shared,
    )
}
