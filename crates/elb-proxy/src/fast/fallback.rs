//! The one place the fast path decides what it leaves to hyper. A connection handed over
//! goes to hyper behind the strict gate with the bytes read so far (nothing of the request
//! was answered or forwarded yet), so hyper serves it exactly as on `engine: hyper`. Each
//! reason is one small predicate; a feature the fast path does not carry adds its own here.

use elb_http1::{RequestBody, RequestHead, TargetForm, Version};

use super::body::chunked_prefix;
use elb_proxy_core::normalized_target;

use crate::proxy::ConnCtx;
use crate::snapshot::LiveCluster;
use elb_proxy_core::config::MemberProtocol;

/// Why a request goes to hyper, for the debug log.
pub(super) type Reason = &'static str;

/// Whether the request in `head` (parsed from `buf`) is one the fast path leaves to hyper.
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
        // The gate refuses such a request whole (nothing reaches a member) and counts it.
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

/// Whether requests routed to `cluster` are left to hyper (checked after routing, before
/// anything is counted or sent).
pub(super) fn cluster_needs_hyper(cluster: &LiveCluster) -> Option<Reason> {
    if cluster
        .members
        .iter()
        .any(|m| m.pool.protocol != MemberProtocol::Http1)
    {
        return Some("HTTP/2 members");
    }
    if cluster.config.send_proxy_protocol.is_some() {
        return Some("members get a PROXY header");
    }
    None
}
