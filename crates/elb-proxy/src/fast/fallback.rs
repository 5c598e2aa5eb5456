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
    let pq = &buf[head.path_and_query.clone()];
    if plain_target(pq, ctx.policy.path.merge_slashes) {
        return None;
    }
    let Ok(pq) = std::str::from_utf8(pq) else {
        return Some("target not UTF-8");
    };
    if !matches!(normalized_target(pq, &ctx.policy.path), Ok(None)) {
        return Some("path to normalise or refuse");
    }
    None
}

/// Whether a target is ASCII and its path has nothing `normalized_target` would look at
/// (`%`, a dot segment's `/.`, with `merge_slashes` a `//`): the common case, told in one
/// pass over the bytes.
fn plain_target(pq: &[u8], merge_slashes: bool) -> bool {
    let mut in_path = true;
    let mut prev = 0u8;
    for &b in pq {
        if !b.is_ascii() {
            return false;
        }
        if in_path {
            match b {
                b'?' => in_path = false,
                b'%' => return false,
                b'.' if prev == b'/' => return false,
                b'/' if merge_slashes && prev == b'/' => return false,
                _ => {}
            }
        }
        prev = b;
    }
    true
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

#[cfg(test)]
mod tests {
    use super::plain_target;
    use elb_proxy_core::{PathOptions, normalized_target};

    #[test]
    fn a_plain_target_is_one_normalising_leaves_as_it_is() {
        let targets = [
            "/",
            "/a/b?c=d",
            "/a/./b",
            "/a/../b",
            "/.",
            "/a.b/c",
            "/%61pi",
            "/a//b",
            "/a?x=/./%zz",
            "/a?b//c",
            "/é",
            "/a/.hidden",
            "/a/b.",
        ];
        for merge_slashes in [false, true] {
            let opts = PathOptions {
                merge_slashes,
                ..PathOptions::default()
            };
            for t in targets {
                if plain_target(t.as_bytes(), merge_slashes) {
                    assert_eq!(
                        normalized_target(t, &opts),
                        Ok(None),
                        "{t} merge={merge_slashes}"
                    );
                }
            }
            assert!(plain_target(b"/a/b?c=%41", merge_slashes));
            assert!(!plain_target(b"/a/./b", merge_slashes));
        }
        assert!(!plain_target(b"/a//b", true));
        assert!(plain_target(b"/a//b", false));
    }
}
