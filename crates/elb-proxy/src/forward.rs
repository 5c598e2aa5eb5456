//! The member attempts of one request on the hyper engine: member choice (waiting in the
//! cluster queue when every member is at its connection limit), sending, and retries on
//! further members as the cluster's `retry_on` and retry budget allow. The decisions (what
//! may be retried, the budget, queue admission) are `elb_proxy_core::retry_policy`'s.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use http::header::HeaderValue;
use http::{Request, Response};
use http_body::Body as _;
use hyper::body::Incoming;

use elb_proxy_core::retry_policy::{self, Failure};
use elb_proxy_core::{ErrorKind, FailureCause, Phase, RequestError};

use crate::body::{ResponseBody, UpstreamBody};
use crate::proxy::{ConnCtx, Routed, member_failed, prepare, sent_error};
use crate::snapshot::{LiveCluster, Snapshot};
use crate::upstream::{NotSentCause, SendError, Sender};

/// What the retry decision needs to know about the request.
struct RetryView<'a> {
    on: &'a [elb_proxy_core::config::RetryOn],
    /// Idempotent, no body, no upgrade: may be sent again after it went out.
    replayable: bool,
    attempts: usize,
}

impl RetryView<'_> {
    /// Whether `failure` after `tried` attempts is retried (and the budget pays for it).
    fn retry(&self, cluster: &LiveCluster, failure: Failure, sent: bool, tried: usize) -> bool {
        tried < self.attempts
            && retry_policy::may_retry(self.on, failure, sent, self.replayable)
            && cluster.spend_retry()
    }
}

/// A copy of a bodyless request for a retry after it was sent.
fn replay_copy(req: &Request<UpstreamBody>) -> Request<UpstreamBody> {
    let mut copy = Request::new(UpstreamBody::empty());
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    if let Some(a) = req.extensions().get::<crate::upstream::ClientAddrs>() {
        copy.extensions_mut().insert(*a);
    }
    copy
}

/// Sends the request to a member of the routed cluster, trying further members as the
/// cluster's retry policy allows and attempts remain.
pub(crate) async fn forward(
    ctx: &ConnCtx,
    snap: &Snapshot,
    routed: Routed,
    host: Option<HeaderValue>,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, RequestError> {
    let cluster = &snap.clusters[routed.cluster];
    let total_timeout = routed.total_timeout;
    let key = cluster.hash_key(ctx.peer.ip(), req.uri().path(), req.headers());
    let has_body = !req.body().is_end_stream();
    let (mut req, upgrade, exchange) = prepare(ctx, snap, cluster, routed, host, req);
    let method = req.method().clone();
    let view = RetryView {
        on: &cluster.config.retry_on,
        replayable: upgrade.is_none() && retry_policy::replayable(&method, has_body),
        attempts: cluster.config.retries as usize + 1,
    };
    let keep_copy = view.replayable && retry_policy::retries_after_send(view.on);
    let (connect_t, response_t) = (
        snap.config.timeouts.connect.0,
        snap.config.timeouts.upstream_response.0,
    );
    let mut tried: Vec<usize> = Vec::new();
    let random = fastrand::u64(..);
    cluster.count_request_for_budget();
    loop {
        if exchange
            .deadline
            .is_some_and(|d| d <= tokio::time::Instant::now())
        {
            tracing::warn!(cluster = %cluster.name, phase = "connect", timeout = ?total_timeout, %method, "request total timeout");
            return Err(RequestError::new(ErrorKind::TotalTimeout, Phase::Connect));
        }
        let pick = || {
            cluster
                .lock()
                .pick_keyed(Instant::now(), random, exchange.sticky, &tried, key)
        };
        let idx = match pick() {
            Some(i) => i,
            None if tried.is_empty() => {
                crate::member_queue::wait_turn(cluster, exchange.deadline, pick).await?
            }
            None => {
                return Err(RequestError::new(
                    ErrorKind::MembersExhausted,
                    Phase::Connect,
                ));
            }
        };
        let member = &cluster.members[idx];
        if let Some(t) = &exchange.trace {
            t.attempt(cluster, idx, tried.len());
        }
        member.stats.requests.fetch_add(1, Relaxed);
        if !tried.is_empty() {
            cluster.stats.retries.fetch_add(1, Relaxed);
        }
        let copy = keep_copy.then(|| replay_copy(&req));
        let sent = member
            .pool
            .send(
                req,
                connect_t,
                response_t,
                exchange.deadline,
                upgrade.is_some(),
            )
            .await;
        // What to send again, if the policy retries: the request handed back when nothing
        // of it was sent, else the copy of a replayable one.
        let (err, failure, again) = match sent {
            Ok((resp, sender)) => {
                cluster.stats.latency.observe(exchange.start.elapsed());
                let t = exchange.trace.as_deref();
                match on_answer(
                    snap,
                    cluster,
                    idx,
                    (resp, sender),
                    t,
                    &view,
                    copy,
                    tried.len(),
                ) {
                    Answered::Relay(resp, sender) => return Ok(exchange.relay(idx, resp, sender)),
                    Answered::Retry(again) => {
                        cluster.finish(idx);
                        tried.push(idx);
                        req = again;
                        continue;
                    }
                    Answered::Broken(err) => (err, None, None),
                }
            }
            Err(e) => on_send_error(cluster, idx, e, copy, exchange.deadline, &method),
        };
        if err.blames_member() {
            member_failed(cluster, idx, FailureCause::Connection);
        }
        cluster.finish(idx);
        tried.push(idx);
        let sent = failure != Some(Failure::ConnectFailure);
        match (failure, again) {
            (Some(f), Some(r)) if view.retry(cluster, f, sent, tried.len()) => req = r,
            _ => return Err(err),
        }
    }
}

/// What becomes of a member's answer head.
enum Answered {
    /// Relay it to the client.
    Relay(Response<Incoming>, Sender),
    /// Its status is retried: send this copy to another member.
    Retry(Request<UpstreamBody>),
    /// A broken answer (head too large).
    Broken(RequestError),
}

/// Counts member `idx`'s answer and decides its fate: relayed, retried by status (a
/// replayable request whose `retry_on` lists it, budget permitting), or broken.
#[allow(clippy::too_many_arguments)]
fn on_answer(
    snap: &Snapshot,
    cluster: &LiveCluster,
    idx: usize,
    (resp, sender): (Response<Incoming>, Sender),
    trace: Option<&crate::trace::RequestTrace>,
    view: &RetryView<'_>,
    copy: Option<Request<UpstreamBody>>,
    tried: usize,
) -> Answered {
    let member = &cluster.members[idx];
    cluster.stats.requests.fetch_add(1, Relaxed);
    if let Some(t) = trace {
        t.answered(cluster, idx, &resp);
    }
    // hyper's client bounds the head only loosely; the member's head gets the same limit
    // as a client's, and an oversized one is a broken answer.
    let head_bytes: usize = resp
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if head_bytes as u64 > snap.config.limits.max_header_bytes.0 {
        drop(sender);
        tracing::warn!(cluster = %cluster.name, member = %member.name, phase = "response head (too large)", bytes = head_bytes, "member failed");
        return Answered::Broken(RequestError::new(
            ErrorKind::MemberBroke,
            Phase::ResponseHead,
        ));
    }
    let status = resp.status().as_u16();
    let Some(copy) = copy else {
        return Answered::Relay(resp, sender);
    };
    if !view.retry(cluster, Failure::Status(status), true, tried + 1) {
        return Answered::Relay(resp, sender);
    }
    tracing::info!(cluster = %cluster.name, member = %member.name, status, "member answered a status in retry_on: trying another member");
    member.stats.count_status(status);
    if status >= 500 && cluster.config.passive.count_5xx {
        member_failed(cluster, idx, FailureCause::Status5xx);
    }
    Answered::Retry(copy)
}

/// Counts and logs a failed attempt: the error for the client, the failure in `retry_on`'s
/// terms (none for a failure never retried), and what to send again if it is retried.
fn on_send_error(
    cluster: &LiveCluster,
    idx: usize,
    e: SendError,
    copy: Option<Request<UpstreamBody>>,
    deadline: Option<tokio::time::Instant>,
    method: &http::Method,
) -> (RequestError, Option<Failure>, Option<Request<UpstreamBody>>) {
    let member = &cluster.members[idx];
    match e {
        SendError::NotSent(back, cause) => {
            member.stats.connect_errors.fetch_add(1, Relaxed);
            tracing::warn!(cluster = %cluster.name, member = %member.name, phase = "connect", error = %cause, "member failed before the request was sent");
            let kind = match cause {
                NotSentCause::ConnectTimeout => ErrorKind::ConnectTimeout,
                _ => ErrorKind::Connect,
            };
            let err = RequestError::new(kind, Phase::Connect);
            (err, Some(Failure::ConnectFailure), Some(back))
        }
        SendError::Timeout => {
            member.stats.timeouts.fetch_add(1, Relaxed);
            let which = if deadline.is_some_and(|d| d <= tokio::time::Instant::now()) {
                "request total"
            } else {
                "upstream response"
            };
            tracing::warn!(cluster = %cluster.name, member = %member.name, phase = "response head", timeout = which, %method, "member did not answer in time");
            let err = RequestError::new(ErrorKind::ResponseTimeout, Phase::ResponseHead);
            (err, Some(Failure::Timeout), copy)
        }
        SendError::Sent(e) => {
            let err = sent_error(cluster, idx, &e);
            let reset = err.kind == ErrorKind::MemberBroke && !e.is_parse();
            (err, reset.then_some(Failure::ResetBeforeResponse), copy)
        }
    }
}
