//! The one place the fast path decides what it hands over to hyper. A connection handed
//! over goes to hyper behind the strict gate with the bytes not yet served (nothing of the
//! current request was answered, counted or forwarded), so hyper serves that request, and
//! the rest of the connection, exactly as on `engine: hyper`. Each reason is one small
//! predicate; a feature the fast path does not carry adds its own here.

use elb_http1::{RequestBody, RequestHead, TargetForm, Version};
use elb_proxy_core::config::{BalanceMode, MemberProtocol, RetryOn};
use elb_proxy_core::normalized_target;

use super::body::chunked_prefix;
use crate::proxy::ConnCtx;
use crate::snapshot::LiveCluster;

/// Why a request goes to hyper (for the debug log).
pub(super) type Reason = &'static str;

/// Whether the request whose head is `head` (parsed from `buf`, with the bytes read after
/// it) is one the fast path leaves to hyper; checked before anything is routed or counted.
pub(super) fn request_needs_hyper(ctx: &ConnCtx, head: &RequestHead, buf: &[u8]) -> Option<Reason> {
    if head.version == Version::Http10 {
        return Some("HTTP/1.0");
    }
    if head.upgrade || head.method(buf) == b"CONNECT" {
        return Some("upgrade or CONNECT");
    }
    if head.expect_continue {
        return Some("Expect: 100-continue");
    }
    if !matches!(head.form, Some(TargetForm::Origin | TargetForm::Absolute)) {
        return Some("asterisk or authority-form target");
    }
    if head.body == RequestBody::Chunked && chunked_prefix(&buf[head.head_len..]).is_err() {
        // The gate refuses such a request whole (no byte reaches a member) and counts it.
        return Some("chunked body already invalid");
    }
    let Ok(pq) = std::str::from_utf8(&buf[head.path_and_query.clone()]) else {
        return Some("target not UTF-8");
    };
    if !matches!(normalized_target(pq, &ctx.policy.path), Ok(None)) {
        return Some("path to normalise or refuse");
    }
    None
}

/// Whether a routed request is left to hyper: a route or cluster with rules (header
/// rewriting, prefix rewrite, split, mirror, a redirect with response rules), a cluster
/// whose members or policy this path does not carry, or client certificate headers to
/// strip. Checked after routing, before anything is counted or sent.
pub(super) fn routed_needs_hyper(
    ctx: &ConnCtx,
    rewrites: bool,
    cluster: Option<&LiveCluster>,
) -> Option<Reason> {
    if rewrites {
        return Some("route or cluster rules");
    }
    let cluster = cluster?;
    if ctx.cert_headers.strip {
        return Some("client certificate headers to strip");
    }
    cluster_needs_hyper(cluster)
}

/// Clusters the fast path leaves to hyper: members it does not speak to (HTTP/2, TLS, a
/// PROXY header first), `balance: hash` (its key may be any request header, which this path
/// does not index), and the traffic policy beyond connect-failure retries (queues, other
/// `retry_on`, a retry budget), which the hyper engine's attempt loop (`forward`) carries out.
fn cluster_needs_hyper(cluster: &LiveCluster) -> Option<Reason> {
    let c = &cluster.config;
    if c.send_proxy_protocol.is_some() {
        return Some("members get a PROXY header");
    }
    if c.balance == BalanceMode::Hash {
        return Some("balance: hash");
    }
    if cluster.queue.is_some()
        || c.retry_budget.is_some()
        || c.retry_on.as_slice() != [RetryOn::ConnectFailure]
    {
        return Some("queue or retry policy");
    }
    let other = |m: &crate::snapshot::LiveMember| {
        m.pool.protocol != MemberProtocol::Http1 || m.pool.has_tls()
    };
    if cluster.members.iter().any(other) {
        return Some("HTTP/2 or TLS members");
    }
    None
}
