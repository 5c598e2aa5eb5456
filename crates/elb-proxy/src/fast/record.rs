//! What the fast path shares with the hyper path around one request: its record
//! (`RequestTrace`: access log line, duration histograms, member timings), begun from the
//! fast head, and the per-client request rates. Both look only at what they need: the
//! logged fields are described only while the access log is on, the forwarding fields are
//! collected only when a rate is configured.

use std::ops::Range;

use bytes::Bytes;

use elb_http1::RequestBody;
use elb_proxy_core::CompiledRoute;
use elb_proxy_core::limits::rate_of;
use http::uri::PathAndQuery;
use http::{HeaderName, HeaderValue, Method};

use crate::access_log::{Head, Id, Text};
use crate::proxy::ConnCtx;
use crate::request_id::FastId;
use crate::snapshot::Snapshot;
use crate::trace::{RequestTrace, sane_received_id};

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
) -> RequestTrace {
    let declared = match head.body {
        RequestBody::Length(n) => n,
        _ => 0,
    };
    let bytes_in = head.head_len as u64 + declared;
    let (listener, peer) = (&ctx.listener, ctx.fwd.peer);
    if ctx.shared.access_log.load().is_none() {
        // Nothing of the head is read.
        return RequestTrace::begin_with(listener, peer, bytes_in, None, None);
    }
    let (id, logged) = logged_head(buf, head, method, request_id);
    RequestTrace::begin_with(listener, peer, bytes_in, id, Some(logged))
}

/// Where the logged fields are in the head: the first of each name, one pass over them.
#[derive(Default)]
struct Found {
    user_agent: Option<Range<usize>>,
    referer: Option<Range<usize>>,
    forwarded_for: Option<Range<usize>>,
    request_id: Option<Range<usize>>,
}

impl Found {
    fn of(buf: &[u8], head: &elb_http1::RequestHead) -> Self {
        let mut found = Self::default();
        for f in &head.fields {
            if f.kind != elb_http1::FieldKind::Other {
                continue;
            }
            let name = &buf[f.name.clone()];
            let (slot, want) = match name.len() {
                10 => (&mut found.user_agent, LOGGED[1].as_str()),
                7 => (&mut found.referer, LOGGED[2].as_str()),
                15 => (&mut found.forwarded_for, LOGGED[3].as_str()),
                12 => (&mut found.request_id, LOGGED[4].as_str()),
                _ => continue,
            };
            if slot.is_none() && is_name(name, want.as_bytes()) {
                *slot = Some(f.value.clone());
            }
        }
        found
    }
}

/// Whether the field name `name` is `want` (lowercase, at least 4 bytes, as every logged
/// name is) in any case, compared as two overlapping words rather than byte by byte: a
/// field name is a token (the parser checked), so only its letters can differ from `want`
/// in the case bit, which both sides get set.
fn is_name(name: &[u8], want: &[u8]) -> bool {
    let n = want.len();
    if name.len() != n || !(4..=16).contains(&n) {
        return name.eq_ignore_ascii_case(want);
    }
    fn pair(b: &[u8]) -> (u64, u64) {
        let n = b.len();
        let word = |at: usize, k: usize| {
            let mut w = [0u8; 8];
            w[..k].copy_from_slice(&b[at..at + k]);
            u64::from_le_bytes(w)
        };
        let k = n.min(8);
        (word(0, k), word(n - k, k))
    }
    const CASE: u64 = 0x2020_2020_2020_2020;
    let ((a, b), (c, d)) = (pair(name), pair(want));
    (a | CASE) == (c | CASE) && (b | CASE) == (d | CASE)
}

/// What the access log records of this head (method, target, the first of each logged
/// field, Host: the authority the request is for) and the request's id (configured, else
/// received), as the hyper path reads them: the texts are slices of one copy of the part
/// of the head that holds them, each checked as a header value (an invalid one is absent).
fn logged_head(
    buf: &[u8],
    head: &elb_http1::RequestHead,
    method: &Method,
    request_id: Option<&FastId>,
) -> (Option<Id>, Head) {
    let found = Found::of(buf, head);
    let pq = Some(head.path_and_query.clone()).filter(|r| !r.is_empty());
    let ranges = [
        &pq,
        &head.authority,
        &found.user_agent,
        &found.referer,
        &found.forwarded_for,
        &found.request_id,
    ];
    let from = ranges
        .iter()
        .filter_map(|r| r.as_ref().map(|r| r.start))
        .min();
    let to = ranges
        .iter()
        .filter_map(|r| r.as_ref().map(|r| r.end))
        .max();
    let (from, to) = (from.unwrap_or(0), to.unwrap_or(0));
    let copy = Bytes::copy_from_slice(&buf[from..to]);
    let piece =
        |r: &Option<Range<usize>>| r.as_ref().map(|r| copy.slice(r.start - from..r.end - from));
    let text = |r: &Option<Range<usize>>| {
        piece(r)
            .and_then(|b| HeaderValue::from_maybe_shared(b).ok())
            .map(Text::Header)
    };
    let target = piece(&pq)
        .and_then(|b| PathAndQuery::from_maybe_shared(b).ok())
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let configured = request_id
        .and_then(|id| HeaderValue::from_str(&id.value).ok())
        .map(|v| Id::Text(Text::Header(v)));
    let id = configured.or_else(|| {
        piece(&found.request_id)
            .and_then(|b| HeaderValue::from_maybe_shared(b).ok())
            .map(|v| match sane_received_id(&v) {
                true => Id::Text(Text::Header(v)),
                false => Id::random(),
            })
    });
    let logged = Head {
        method: method.clone(),
        version: match head.version {
            elb_http1::Version::Http10 => "HTTP/1.0",
            elb_http1::Version::Http11 => "HTTP/1.1",
        },
        target: Text::Target(target),
        host: text(&head.authority),
        forwarded_for: text(&found.forwarded_for),
        user_agent: text(&found.user_agent),
        referer: text(&found.referer),
    };
    (id, logged)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_name_is_recognised_in_any_case_and_nothing_else_is() {
        // Token bytes (what a field name may hold), names at and around the logged lengths.
        let tchars =
            b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut rng = fastrand::Rng::with_seed(7);
        for want in &LOGGED[1..] {
            let want = want.as_str().as_bytes();
            for _ in 0..20_000 {
                let mut name: Vec<u8> = want.to_vec();
                // Flip the case of some letters, replace a byte now and then.
                for b in &mut name {
                    match rng.u8(..8) {
                        0..=2 => *b = b.to_ascii_uppercase(),
                        3 => *b = tchars[rng.usize(..tchars.len())],
                        _ => {}
                    }
                }
                if rng.u8(..10) == 0 {
                    name.truncate(rng.usize(..name.len()));
                }
                assert_eq!(
                    is_name(&name, want),
                    name.eq_ignore_ascii_case(want),
                    "{:?}",
                    String::from_utf8_lossy(&name)
                );
            }
        }
    }
}
