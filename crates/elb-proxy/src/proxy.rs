//! The request path: health service, routing, member choice with safe retries and header
//! rewriting; `relay` streams the answer back. A failure anywhere is a
//! `elb_proxy_core::RequestError` (kind, phase), turned into the client's answer in one
//! place (`error_answer`), with one log line naming cluster, member and phase.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use hyper::body::{Body as _, Incoming};
use hyper::upgrade::OnUpgrade;

use elb_proxy_core::gate::Refused;
use elb_proxy_core::{
    ErrorKind, FailureCause, LOCAL_HEADERS, Phase, Reject, RequestError, RequestHead,
    apply_underscores, check_host, cookie_value, normalized_target, strip_hop_by_hop,
};

use crate::body::{BodyTooLarge, ResponseBody, UpstreamBody};
use crate::relay::Exchange;
use crate::shared::Shared;
use crate::snapshot::{LiveCluster, Snapshot};
use crate::stats::local_error_index;
use crate::trace::RequestTrace;

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
    /// Process-wide state.
    pub shared: Arc<Shared>,
    /// The forwarding headers prepared for this client.
    pub fwd: elb_proxy_core::Forwarding,
    /// What the listener serves.
    pub mode: Mode,
    /// A plain HTTP/1.1 connection, tracked while idle so it can be parked (see `park`).
    pub parks: bool,
    /// The accepting listener's counters.
    pub listener: Arc<crate::traffic::ListenerStats>,
    /// The client's address (for logs).
    pub peer: std::net::SocketAddr,
    /// The address the client connected to.
    pub local: std::net::SocketAddr,
    /// The listener's client-request policy.
    pub policy: elb_proxy_core::ClientPolicy,
    /// The listener's scope and request rate per client.
    pub listener_rate: (
        elb_proxy_core::limits::Scope,
        Option<elb_proxy_core::limits::RateSpec>,
    ),
    /// What this listener does with the client certificate headers.
    pub cert_headers: Arc<crate::client_cert::CertHeaders>,
    /// What only some connections need (hyper's, TLS, PROXY-header members), boxed on
    /// first use so that an idle fast-path connection keeps a smaller context.
    pub extras: std::sync::OnceLock<Box<ConnExtras>>,
}

/// The parts of a connection's context made on first use (see `ConnCtx::extras`).
#[derive(Debug, Default)]
pub struct ConnExtras {
    /// Its idle tracking: a fast-path connection needs it only once handed to hyper
    /// (`ConnCtx::park`).
    park_state: std::sync::OnceLock<Arc<crate::park::ParkState>>,
    /// The strict HTTP/1.1 gate's word on each request (see `gate_io`, `ConnCtx::gate`).
    gate_slot: std::sync::OnceLock<Arc<crate::gate_io::GateSlot>>,
    /// The verified client certificate's subject (listeners with `client_auth`).
    pub client_cert: crate::client_cert::ClientCert,
    /// HTTP/2 member connections that named this client in a PROXY header.
    pub private_conns: std::sync::OnceLock<crate::upstream::PrivateConns>,
}

/// The subject of a connection that has none (its extras were never made).
static NO_CLIENT_CERT: crate::client_cert::ClientCert = std::sync::OnceLock::new();

impl ConnCtx {
    /// The park state of a parkable HTTP/1.1 connection (see `park`).
    pub fn park(&self) -> Option<Arc<crate::park::ParkState>> {
        self.parks.then(|| {
            self.extras()
                .park_state
                .get_or_init(Default::default)
                .clone()
        })
    }

    /// The strict HTTP/1.1 gate's word on each request (see `gate_io`).
    pub fn gate(&self) -> &Arc<crate::gate_io::GateSlot> {
        self.extras().gate_slot.get_or_init(Default::default)
    }

    /// The context's rarely needed parts, made now if they were not.
    pub fn extras(&self) -> &ConnExtras {
        self.extras.get_or_init(Default::default)
    }

    /// The verified client certificate's subject, as set after the TLS handshake.
    pub fn client_cert(&self) -> &crate::client_cert::ClientCert {
        self.extras
            .get()
            .map_or(&NO_CLIENT_CERT, |e| &e.client_cert)
    }
}

/// A short local answer with the proxy's own headers (never cached).
fn local_answer(status: StatusCode, body: ResponseBody) -> Response<ResponseBody> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    for (name, value) in &LOCAL_HEADERS {
        r.headers_mut().insert(name, value.clone());
    }
    r
}

/// The client's answer for a failed request: the one place an error becomes a response.
pub fn error_answer(shared: &Shared, err: RequestError) -> Response<ResponseBody> {
    let answer = err.answer();
    if let Some(i) = local_error_index(answer.status.as_u16()) {
        shared.stats.local_errors[i].fetch_add(1, Relaxed);
    }
    local_answer(
        answer.status,
        ResponseBody::full(Bytes::from_static(answer.body.as_bytes())),
    )
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
    if method == Method::HEAD {
        let mut r = local_answer(status, ResponseBody::empty());
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        r
    } else {
        local_answer(status, ResponseBody::full(body))
    }
}

/// hyper service entry point.
pub async fn handle(
    ctx: Arc<ConnCtx>,
    mut req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    crate::request_id::assign(
        ctx.shared.snapshot.load().request_id.as_ref(),
        ctx.fwd.trusted,
        &mut req,
    );
    let trace = RequestTrace::begin_for(&ctx, &mut req);
    Ok(match serve(&ctx, req).await {
        Ok(r) => {
            if let Some(t) = &trace {
                // A request the strict checks refused ended in the proxy, before any member.
                let refused = r.extensions().get::<RefusedByProxy>().is_some();
                t.finish_local(&ctx.shared, &r, if refused { "PR" } else { "--" });
            }
            r
        }
        Err(e) => {
            let termination = crate::trace::termination_of(&e);
            crate::trace::count_rejection(&ctx.shared, &e);
            let r = error_answer(&ctx.shared, e);
            if let Some(t) = &trace {
                t.finish_local(&ctx.shared, &r, termination);
            }
            r
        }
    })
}

/// The route's settings one request needs after routing.
pub(crate) struct Routed {
    pub(crate) cluster: usize,
    scope: elb_proxy_core::limits::Scope,
    client_rate: Option<elb_proxy_core::limits::RateSpec>,
    rewrite_host: Option<HeaderValue>,
    max_body: u64,
    pub(crate) total_timeout: Option<std::time::Duration>,
    /// Rewriting, redirect and mirror settings of the route, when it has any.
    pub(crate) rules: Option<Arc<elb_proxy_core::RouteRules>>,
}

/// Marks a response as the answer to a request the strict checks refused (for the access
/// log's termination state).
#[derive(Debug, Clone, Copy)]
struct RefusedByProxy;

/// The answer to a request the strict checks refused; the connection closes after it.
/// Counted once in the rejections family, by its exact reason, and by status in the
/// local-error family as hyper's own 400/414/431 answers are.
fn refused_answer(ctx: &ConnCtx, reason: Refused, counted: bool) -> Response<ResponseBody> {
    if !counted {
        ctx.shared.stats.count_refused(reason);
        crate::refusal_log::refused(ctx.peer, reason.as_str(), reason.status());
    }
    let stats = &ctx.shared.stats;
    if let Some(i) = local_error_index(reason.status()) {
        stats.local_errors[i].fetch_add(1, Relaxed);
    }
    let status = StatusCode::from_u16(reason.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let text = format!("{}\n", status.canonical_reason().unwrap_or("Bad Request"));
    let mut r = local_answer(status, ResponseBody::full(Bytes::from(text)));
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r.extensions_mut().insert(RefusedByProxy);
    r
}

/// The strict checks hyper does not make (HTTP/2 Host against :authority, underscores) and
/// path normalisation. Returns the path routes match on, when it differs from the target's.
fn check_client_request(
    ctx: &ConnCtx,
    req: &mut Request<Incoming>,
) -> Result<Option<String>, Refused> {
    if req.version() == Version::HTTP_2 {
        let authority = req.uri().authority().map(|a| a.as_str());
        check_host(req.headers(), authority, true).map_err(Refused::Head)?;
    }
    apply_underscores(req.headers_mut(), ctx.policy.underscores).map_err(Refused::Head)?;
    let Some(pq) = req.uri().path_and_query() else {
        return Ok(None);
    };
    let Some(normal) = normalized_target(pq.as_str(), &ctx.policy.path).map_err(Refused::Head)?
    else {
        return Ok(None);
    };
    if !ctx.policy.forward_normalized {
        return Ok(Some(normal));
    }
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(normal.parse().map_err(|_| Refused::Head(Reject::Target))?);
    *req.uri_mut() = Uri::from_parts(parts).map_err(|_| Refused::Head(Reject::Target))?;
    Ok(None)
}

async fn serve(
    ctx: &ConnCtx,
    mut req: Request<Incoming>,
) -> Result<Response<ResponseBody>, RequestError> {
    let shared = &ctx.shared;
    if let Some(r) = ctx.gate().take_for_next() {
        return Ok(refused_answer(ctx, r.reason, true));
    }
    let route_path = match check_client_request(ctx, &mut req) {
        Ok(p) => p,
        Err(reason) => return Ok(refused_answer(ctx, reason, false)),
    };
    let path = route_path.as_deref().unwrap_or_else(|| req.uri().path());
    if ctx.mode == Mode::Metrics {
        if path == "/metrics" {
            return Ok(crate::metrics::response(shared));
        }
        if req.uri().path() == "/status" {
            return Ok(crate::status_page::response(shared).await);
        }
        return Err(RequestError::new(ErrorKind::NotFound, Phase::Route));
    }
    shared.stats.requests_total.fetch_add(1, Relaxed);
    // The snapshot stays alive until this request ends: it finishes on the config it began with.
    let snap = shared.snapshot.load_full();
    if path.split('?').next() == Some(snap.config.health.path.as_str()) {
        return Ok(health_answer(shared, req.method()));
    }
    if ctx.mode == Mode::HealthOnly {
        return Err(RequestError::new(ErrorKind::NotFound, Phase::Route));
    }
    let host: Option<HeaderValue> = match req.headers().get(header::HOST) {
        Some(h) => Some(h.clone()),
        None => req
            .uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok()),
    };
    let route_on = route_path
        .as_deref()
        .map(|p| p.split('?').next().unwrap_or(p));
    let routed = route(&snap, &req, host.as_ref(), route_on).inspect_err(|_| {
        shared.stats.unrouted.fetch_add(1, Relaxed);
    })?;
    let limited = crate::client_limits::check_rate(
        &snap,
        ctx.peer.ip(),
        req.headers(),
        ctx.listener_rate,
        (routed.scope, routed.client_rate),
        shared,
    );
    if let Err(wait) = limited {
        let mut r = local_answer(
            StatusCode::TOO_MANY_REQUESTS,
            ResponseBody::full(Bytes::from_static(b"Too Many Requests\n")),
        );
        crate::client_limits::set_retry_after(r.headers_mut(), wait);
        return Ok(r);
    }
    if let Some(rules) = &routed.rules {
        if let Some(redirect) = &rules.redirect {
            return Ok(crate::rewrite_io::redirect_answer(
                ctx,
                redirect,
                rules,
                host.as_ref(),
                &req,
            ));
        }
    }
    if routed.max_body > 0 {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > routed.max_body) {
            return Err(RequestError::new(
                ErrorKind::BodyTooLarge,
                Phase::RequestBody,
            ));
        }
    }
    crate::forward::forward(ctx, &snap, routed, host, req).await
}

fn route(
    snap: &Snapshot,
    req: &Request<Incoming>,
    host: Option<&HeaderValue>,
    path: Option<&str>,
) -> Result<Routed, RequestError> {
    let head = RequestHead {
        host: host.and_then(|h| h.to_str().ok()),
        path: path.unwrap_or_else(|| req.uri().path()),
        method: req.method(),
        headers: req.headers(),
        query: req.uri().query(),
    };
    let r = snap
        .router
        .route(&head)
        .ok_or(RequestError::new(ErrorKind::NoRoute, Phase::Route))?;
    let cluster = r.rules.as_ref().map_or(r.cluster, |x| x.cluster(r.cluster));
    if let Some(t) = RequestTrace::of(req) {
        let redirect = r.rules.as_ref().is_some_and(|x| x.redirect.is_some());
        t.routed(snap, r, (!redirect).then_some(cluster));
    }
    Ok(Routed {
        rules: r.rules.clone(),
        cluster,
        scope: r.scope,
        client_rate: r.client_rate,
        rewrite_host: r.rewrite_host.clone(),
        max_body: r.max_body,
        total_timeout: r.total_timeout,
    })
}

/// Rewrites the client's request for the member: hop-by-hop headers out (an upgrade kept),
/// forwarding headers in, Host (rewritten when the route says so), origin-form target.
/// Returns the upstream request, the upgrade asked for (if any), and the exchange that
/// relays the answer.
pub(crate) fn prepare<'a>(
    ctx: &'a ConnCtx,
    snap: &Snapshot,
    cluster: &'a Arc<LiveCluster>,
    routed: Routed,
    host: Option<HeaderValue>,
    req: Request<Incoming>,
) -> (Request<UpstreamBody>, Option<HeaderValue>, Exchange<'a>) {
    let sticky = cluster.sticky_cookie.as_deref().and_then(|name| {
        let value = cookie_value(req.headers(), name)?;
        cluster.member_by_cookie(value)
    });
    let rewrite = crate::rewrite_io::RequestRewrite::new(
        ctx,
        snap.router.cluster_rules(routed.cluster),
        routed.rules.as_ref(),
        host.as_ref(),
        &req,
    );
    let trace = RequestTrace::of(&req).cloned();
    let body_empty = req.body().is_end_stream();
    let (mut parts, body) = req.into_parts();
    if let Some(name) = &cluster.sticky_cookie {
        elb_proxy_core::rewrite::strip_cookie(&mut parts.headers, name);
    }
    let client_upgrade: Option<OnUpgrade> = parts.extensions.remove::<OnUpgrade>();
    let upgrade = strip_hop_by_hop(&mut parts.headers);
    if let Some(u) = &upgrade {
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        parts.headers.insert(header::UPGRADE, u.clone());
    }
    ctx.fwd.apply(&mut parts.headers, host.as_ref());
    crate::client_cert::apply(&mut parts.headers, &ctx.cert_headers, ctx.client_cert());
    parts
        .extensions
        .insert(crate::upstream::ClientAddrs(ctx.peer, ctx.local));
    if cluster.config.send_proxy_protocol.is_some() {
        let private = ctx.extras().private_conns.get_or_init(Default::default);
        parts.extensions.insert(private.clone());
    }
    if let Some(h) = routed.rewrite_host.or(host) {
        parts.headers.insert(header::HOST, h);
    }
    parts.version = Version::HTTP_11;
    parts.uri = match parts.uri.path_and_query() {
        Some(pq) => Uri::from(pq.clone()),
        None => Uri::from_static("/"),
    };
    if let Some(rw) = &rewrite {
        rw.apply_request(&mut parts);
    }
    let mut body = UpstreamBody::new(body, routed.max_body, ctx.park());
    // An Upgrade (WebSocket) is a tunnel to one member: it is not mirrored.
    let mirror = routed.rules.as_ref().and_then(|r| r.mirror);
    if let Some(spec) = mirror.filter(|_| upgrade.is_none()) {
        let t = &snap.config.timeouts;
        let timeouts = (t.connect.0, t.upstream_response.0);
        let shadow = &snap.clusters[spec.cluster];
        let shadow_rules = snap.router.cluster_rules(spec.cluster).map(|r| &r.request);
        let vars = crate::rewrite_io::vars_of(ctx, &parts);
        let copy_of = (&parts, shadow_rules.map(|r| (r, &vars)));
        crate::mirror::start(spec, shadow, copy_of, &mut body, body_empty, timeouts);
    }
    let exchange = Exchange {
        ctx,
        cluster,
        rewrite,
        sticky,
        client_upgrade,
        start: Instant::now(),
        deadline: routed
            .total_timeout
            .map(|t| tokio::time::Instant::now() + t),
        trace,
    };
    (Request::from_parts(parts, body), upgrade, exchange)
}

/// Classifies a failure after (part of) the request was written: the client's body, or
/// the member's answer.
pub(crate) fn sent_error(cluster: &LiveCluster, idx: usize, e: &hyper::Error) -> RequestError {
    let member = &cluster.members[idx];
    if caused_by::<BodyTooLarge>(e) {
        return RequestError::new(ErrorKind::BodyTooLarge, Phase::RequestBody);
    }
    if caused_by::<hyper::Error>(e) {
        // The client's own body failed (client went away or sent bad framing).
        tracing::debug!(cluster = %cluster.name, member = %member.name, error = %e, "client body failed");
        return RequestError::new(ErrorKind::ClientBody, Phase::RequestBody);
    }
    let phase = if e.is_parse() {
        "response head (invalid)"
    } else if e.is_incomplete_message() {
        "response head (connection closed)"
    } else {
        "exchange"
    };
    tracing::warn!(cluster = %cluster.name, member = %member.name, phase, error = %e, "member failed");
    RequestError::new(ErrorKind::MemberBroke, Phase::ResponseHead)
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

/// Counts a failure against a member (passive health) and logs an ejection with its cause.
pub(crate) fn member_failed(cluster: &LiveCluster, idx: usize, cause: FailureCause) {
    let member = &cluster.members[idx];
    member.stats.failures.fetch_add(1, Relaxed);
    if cause == FailureCause::Connection {
        crate::dns::connect_failed(cluster, idx);
    }
    let t = cluster.lock().on_failure(idx, Instant::now(), cause);
    if let Some(elb_proxy_core::Transition::Ejected(d, cause)) = t {
        member.stats.ejections.fetch_add(1, Relaxed);
        if cause == FailureCause::Status5xx {
            member.stats.ejections_5xx.fetch_add(1, Relaxed);
        }
        member.stats.touch_change();
        tracing::warn!(cluster = %cluster.name, member = %member.name, for_ = ?d, cause = cause.as_str(), "member ejected after consecutive failures");
    }
}

#[cfg(test)]
mod tests {
    use super::ConnCtx;

    /// Every idle connection keeps one `Arc<ConnCtx>`: with the Arc's two counts it must fit
    /// mimalloc's 256-byte size class, or each idle connection costs a class more.
    #[test]
    fn a_connection_context_fits_a_256_byte_allocation() {
        let size = std::mem::size_of::<ConnCtx>() + 2 * std::mem::size_of::<usize>();
        assert!(size <= 256, "Arc<ConnCtx> needs {size} bytes");
    }
}
