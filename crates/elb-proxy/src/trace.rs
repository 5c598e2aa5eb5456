//! The record of one request on its way through the proxy: begun when its head arrives,
//! filled in as it is routed and sent, finished once when its answer ends (proxied) or is
//! made (local). Finishing observes the request-duration histogram and writes the access
//! log line, so both see every answer, local ones included. It travels in the request's
//! extensions, so the request path needs no extra arguments.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, HeaderValue, Request, header};

use elb_proxy_core::{CompiledRoute, ErrorKind, Phase, RequestError};

use crate::access_log::{Entry, Head, Id, Record, Text};
use crate::body::{BodyOutcome, ResponseBody};
use crate::proxy::{ConnCtx, Mode};
use crate::shared::Shared;
use crate::snapshot::{LiveCluster, Snapshot};
use crate::stats::{ConnectTime, Rejection, TlsFailure, local_error_index};
use crate::traffic::{ListenerStats, RouteStats};

/// One request's record.
#[derive(Debug)]
pub struct RequestTrace {
    start: Instant,
    listener: Arc<ListenerStats>,
    bytes_in: u64,
    finished: AtomicBool,
    progress: Mutex<Progress>,
}

#[derive(Debug, Default)]
struct Progress {
    route: Option<Arc<RouteStats>>,
    member: Option<(Arc<LiveCluster>, usize)>,
    retries: u32,
    queue: Option<Duration>,
    connect: Option<Duration>,
    first_byte: Option<Duration>,
    /// The request's one id, once known: configured (`request_id:`), received, or made up
    /// when first asked for (by a header rule or the log line).
    id: Option<Id>,
    /// The head's fields, when the access log is on.
    record: Option<Box<Record>>,
}

fn version_text(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// A received X-Request-Id worth keeping when request ids are not configured.
pub(crate) fn sane_received_id(v: &HeaderValue) -> bool {
    !v.is_empty() && v.len() <= 128 && v.to_str().is_ok()
}

/// The client's X-Request-Id, when sane.
fn received_id(h: &HeaderMap) -> Option<Id> {
    h.get(X_REQUEST_ID)
        .filter(|v| sane_received_id(v))
        .map(|v| Id::Text(Text::Header(v.clone())))
}

const X_REQUEST_ID: &str = "x-request-id";
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The logged header values, first of each name.
#[derive(Default)]
struct Logged {
    host: Option<Text>,
    forwarded_for: Option<Text>,
    user_agent: Option<Text>,
    referer: Option<Text>,
    request_id: Option<Id>,
}

impl Logged {
    /// Keeps `v` when `k` is a logged header not seen yet.
    fn keep(&mut self, k: &header::HeaderName, v: &HeaderValue) {
        let slot = if k == header::HOST {
            &mut self.host
        } else if k == header::USER_AGENT {
            &mut self.user_agent
        } else if k == header::REFERER {
            &mut self.referer
        } else if k.as_str() == X_FORWARDED_FOR {
            &mut self.forwarded_for
        } else {
            if k.as_str() == X_REQUEST_ID && self.request_id.is_none() {
                // The first one only, sane or not (as a lookup would find it).
                self.request_id = Some(if sane_received_id(v) {
                    Id::Text(Text::Header(v.clone()))
                } else {
                    Id::random()
                });
            }
            return;
        };
        if slot.is_none() {
            *slot = Some(Text::Header(v.clone()));
        }
    }
}

/// Bytes of the request head as received (close to the wire size) plus its declared body;
/// with `log`, the logged header values too, in the same one pass over the headers.
fn scan_head<B>(req: &Request<B>, log: bool) -> (u64, Logged) {
    let mut head = req.method().as_str().len()
        + req.uri().path_and_query().map_or(1, |p| p.as_str().len())
        + 13;
    let mut body = None;
    let mut logged = Logged::default();
    for (k, v) in req.headers() {
        head += k.as_str().len() + v.len() + 4;
        if k == header::CONTENT_LENGTH {
            // The first one counts (as a lookup would find it); unreadable, none.
            body = body.or_else(|| Some(v.to_str().ok().and_then(|v| v.parse().ok()).unwrap_or(0)));
        } else if log {
            logged.keep(k, v);
        }
    }
    (head as u64 + body.unwrap_or(0), logged)
}

/// A fresh request id (when the client sent no X-Request-Id).
pub(crate) fn new_request_id() -> String {
    Id::random().to_string_lossy()
}

impl RequestTrace {
    /// Begins the record of `req`, received from `client` on `listener`.
    pub fn begin<B>(
        shared: &Shared,
        listener: &Arc<ListenerStats>,
        client: IpAddr,
        req: &Request<B>,
    ) -> Arc<Self> {
        Self::start(shared, listener, client, req)
    }

    /// The beginning of both engines: `head` is what the log line keeps of the request's
    /// head (`None` while the access log is off), `id` its id when known already. By value:
    /// the fast engine keeps it on its task's stack, the hyper engine shares it (`Arc`).
    pub fn begin_with(
        listener: &Arc<ListenerStats>,
        client: IpAddr,
        bytes_in: u64,
        id: Option<Id>,
        head: Option<Head>,
    ) -> Self {
        let start = Instant::now();
        let record = head.map(|h| {
            crate::access_log::boxed(Record {
                arrived: start,
                client,
                listener: listener.clone(),
                head: h,
                // Filled when the answer ends.
                request_id: Id::Random(0),
                route: None,
                member: None,
                status: 0,
                bytes_in,
                bytes_out: 0,
                retries: 0,
                queue: None,
                connect: None,
                first_byte: None,
                total: Duration::ZERO,
                termination: "",
            })
        });
        Self {
            start,
            listener: listener.clone(),
            bytes_in,
            finished: AtomicBool::new(false),
            progress: Mutex::new(Progress {
                id,
                record,
                ..Default::default()
            }),
        }
    }

    /// The hyper engine's beginning: the size and the logged fields read from `req`.
    fn start<B>(
        shared: &Shared,
        listener: &Arc<ListenerStats>,
        client: IpAddr,
        req: &Request<B>,
    ) -> Arc<Self> {
        let logging = shared.access_log.load().is_some();
        let (bytes_in, logged) = scan_head(req, logging);
        let configured = req
            .extensions()
            .get::<crate::request_id::RequestId>()
            .map(|id| Id::Text(Text::Header(id.0.clone())));
        let id = configured.or(logged.request_id);
        let head = logging.then(|| Head {
            method: req.method().clone(),
            version: version_text(req.version()),
            target: req.uri().path_and_query().map_or_else(
                || Text::Owned(req.uri().to_string().into()),
                |p| Text::Target(p.clone()),
            ),
            host: logged
                .host
                .or_else(|| req.uri().authority().cloned().map(Text::Authority)),
            forwarded_for: logged.forwarded_for,
            user_agent: logged.user_agent,
            referer: logged.referer,
        });
        Arc::new(Self::begin_with(listener, client, bytes_in, id, head))
    }

    /// Begins and attaches the record of a request on a proxy listener; none for the
    /// health path (probes every second would drown the log) and the metrics listener.
    pub fn begin_for<B>(ctx: &ConnCtx, req: &mut Request<B>) -> Option<Arc<Self>> {
        if ctx.mode != Mode::Proxy
            || req.uri().path() == ctx.shared.snapshot.load().config.health.path
        {
            return None;
        }
        let t = Self::begin(&ctx.shared, &ctx.listener, ctx.fwd.peer, req);
        t.attach(req);
        Some(t)
    }

    /// Finishes the record of an answer made by the proxy itself.
    pub fn finish_local(
        &self,
        shared: &Shared,
        resp: &http::Response<ResponseBody>,
        termination: &'static str,
    ) {
        let bytes = match resp.body() {
            ResponseBody::Full(b) => b.as_ref().map_or(0, |b| b.len() as u64),
            // Streamed answers are finished when their body ends.
            ResponseBody::Upstream { .. } => return,
        };
        self.finish(shared, resp.status().as_u16(), bytes, termination);
    }

    /// The record a request carries (put there by `attach`).
    pub fn of<B>(req: &Request<B>) -> Option<&Arc<Self>> {
        req.extensions().get::<Arc<Self>>()
    }

    /// Puts the record into the request's extensions.
    pub fn attach<B>(self: &Arc<Self>, req: &mut Request<B>) {
        req.extensions_mut().insert(self.clone());
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The request's one id, the one its log line records and `%{request_id}` writes:
    /// the configured one (`request_id:`), else the client's X-Request-Id when it was read
    /// (the access log is on), else one made up now and kept. Always `Some`.
    pub fn request_id(&self) -> Option<String> {
        let mut p = self.progress();
        Some(p.id.get_or_insert_with(Id::random).to_string_lossy())
    }

    /// As [`RequestTrace::request_id`], reading the client's X-Request-Id from `req` when
    /// the id is not known yet.
    pub fn request_id_of<B>(&self, req: &Request<B>) -> String {
        let mut p = self.progress();
        if p.id.is_none() {
            p.id = received_id(req.headers());
        }
        p.id.get_or_insert_with(Id::random).to_string_lossy()
    }

    /// The request matched `route` of `snap`, served by cluster `cluster` (`None`: a
    /// redirect).
    pub fn routed(&self, snap: &Snapshot, route: &CompiledRoute, cluster: Option<usize>) {
        let stats = snap.route_stats(&self.listener, route, cluster);
        self.progress().route = Some(stats);
    }

    /// Member `idx` of `cluster` was chosen, after `retries` earlier attempts.
    pub fn attempt(&self, cluster: &Arc<LiveCluster>, idx: usize, retries: usize) {
        let mut p = self.progress();
        p.queue.get_or_insert_with(|| self.start.elapsed());
        p.member = Some((cluster.clone(), idx));
        p.retries = u32::try_from(retries).unwrap_or(u32::MAX);
    }

    /// The chosen member's response head arrived; `connect` is the fresh connection's
    /// connect time, if one was opened (the response's `ConnectTime` extension).
    pub fn answered<B>(&self, cluster: &LiveCluster, idx: usize, resp: &http::Response<B>) {
        let connect = resp.extensions().get::<ConnectTime>().map(|c| c.0);
        self.answered_after(cluster, idx, connect);
    }

    /// `answered` with the fresh connection's connect time given (none: a pooled one).
    pub fn answered_after(&self, cluster: &LiveCluster, idx: usize, connect: Option<Duration>) {
        let first_byte = self.start.elapsed();
        let stats = &cluster.members[idx].stats;
        stats.first_byte.observe(first_byte);
        if let Some(c) = connect {
            stats.connect_time.observe(c);
        }
        stats.bytes_in.fetch_add(self.bytes_in, Relaxed);
        let mut p = self.progress();
        p.first_byte = Some(first_byte);
        p.connect = Some(connect.unwrap_or(Duration::ZERO));
    }

    /// The answer ended (or was made): counts its duration, writes its log line. Only the
    /// first call counts.
    pub fn finish(&self, shared: &Shared, status: u16, bytes_out: u64, termination: &'static str) {
        if self.finished.swap(true, Relaxed) {
            return;
        }
        let total = self.start.elapsed();
        let mut p = self.progress();
        let route = match &p.route {
            Some(r) => r.clone(),
            None => self.listener.unrouted(),
        };
        route.for_status(status).observe(total);
        self.listener.bytes_in.fetch_add(self.bytes_in, Relaxed);
        self.listener.bytes_out.fetch_add(bytes_out, Relaxed);
        let Some(mut r) = p.record.take() else {
            return;
        };
        let guard = shared.access_log.load();
        let Some(log) = guard.as_ref() else {
            return;
        };
        r.status = status;
        r.bytes_out = bytes_out;
        r.request_id = p.id.take().unwrap_or_else(Id::random);
        r.route = Some(route);
        r.member = p.member.take();
        r.retries = p.retries;
        r.queue = p.queue;
        r.connect = p.connect;
        r.first_byte = p.first_byte;
        r.total = total;
        r.termination = termination;
        drop(p);
        log.write_record(r);
    }
}

/// HAProxy-style termination state of a local error answer: who ended the exchange (`C`
/// client, `S` server/member, `P` proxy, `s` member timeout) and in which phase (`R`
/// request, `C` connect, `H` response head, `D` data).
pub fn termination_of(err: &RequestError) -> &'static str {
    match (err.kind, err.phase) {
        (ErrorKind::NotFound | ErrorKind::NoRoute, _) => "PR",
        (ErrorKind::BodyTooLarge, Phase::Route) => "PR",
        (ErrorKind::BodyTooLarge, _) => "PD",
        (ErrorKind::ClientBody, _) => "CD",
        (ErrorKind::NoMember | ErrorKind::MembersExhausted | ErrorKind::Connect, _) => "SC",
        (ErrorKind::ConnectTimeout, _) => "sC",
        (ErrorKind::TotalTimeout, Phase::Connect) => "sC",
        (ErrorKind::TotalTimeout, _) => "sH",
        (ErrorKind::ResponseTimeout, _) => "sH",
        (ErrorKind::MemberBroke, _) => "SH",
        // HAProxy's "sQ": the request waited in the queue and was never served.
        (ErrorKind::QueueFull | ErrorKind::QueueTimeout, _) => "sQ",
    }
}

/// Counts a request refused before it reached a member.
pub fn count_rejection(shared: &Shared, err: &RequestError) {
    match err.kind {
        ErrorKind::NoRoute => shared.stats.reject(Rejection::NoRoute),
        ErrorKind::BodyTooLarge => shared.stats.reject(Rejection::BodyTooLarge),
        _ => {}
    }
}

/// Termination state of a streamed answer.
pub fn termination_of_body(outcome: BodyOutcome) -> &'static str {
    match outcome {
        BodyOutcome::Complete => "--",
        BodyOutcome::MemberFailed => "SD",
        BodyOutcome::ClientGone => "CD",
        BodyOutcome::TimedOut => "sD",
    }
}

/// The answer hyper sends by itself for a request head it cannot parse, if any.
fn automatic_answer(e: &hyper::Error) -> Option<(u16, Rejection)> {
    if e.is_parse_too_large() {
        // hyper reports a too-long URI through the same predicate; its message tells them apart.
        return Some(if e.to_string().contains("URI too long") {
            (414, Rejection::UriTooLong)
        } else {
            (431, Rejection::HeaderTooLarge)
        });
    }
    let text = e.to_string();
    // A parse error answers 400, except the HTTP/2 preface on an HTTP/1.1-only connection
    // and internal errors, which hyper closes without an answer.
    (e.is_parse() && !text.contains("HTTP2 preface") && !text.contains("internal"))
        .then_some((400, Rejection::BadRequest))
}

/// A client connection ended with an error: when hyper answered it itself (400, 414, 431),
/// the answer is counted and logged like any other.
pub fn client_conn_error(
    shared: &Shared,
    listener: &ListenerStats,
    client: IpAddr,
    err: &(dyn std::error::Error + 'static),
) {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = src {
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if let Some((status, why)) = automatic_answer(h) {
                local_answer_without_request(shared, listener, client, status, why);
            }
            return;
        }
        src = e.source();
    }
}

/// Counts and logs an answer made before any request could be read (hyper's automatic
/// 400/414/431, or one from another HTTP/1.1 front end).
pub fn local_answer_without_request(
    shared: &Shared,
    listener: &ListenerStats,
    client: IpAddr,
    status: u16,
    why: Rejection,
) {
    shared.stats.reject(why);
    if let Some(i) = local_error_index(status) {
        shared.stats.local_errors[i].fetch_add(1, Relaxed);
    }
    if let Some(log) = shared.access_log.load().as_ref() {
        log.write(Entry {
            time: Some(SystemTime::now()),
            client: Some(client),
            listener: listener.name.clone(),
            status,
            request_id: new_request_id(),
            termination: "PR",
            ..Default::default()
        });
    }
}

/// Why a TLS handshake failed, from the error tokio-rustls returned.
pub fn tls_failure(e: &std::io::Error) -> TlsFailure {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        return TlsFailure::ClientClosed;
    }
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(
            rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateMessage { .. }
            | rustls::Error::InappropriateHandshakeMessage { .. },
        ) => TlsFailure::Protocol,
        Some(rustls::Error::PeerIncompatible(_) | rustls::Error::NoApplicationProtocol) => {
            TlsFailure::Incompatible
        }
        Some(rustls::Error::AlertReceived(_)) => TlsFailure::AlertReceived,
        _ => TlsFailure::Other,
    }
}
