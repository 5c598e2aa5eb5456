//! Relaying a member's answer to the client: passive health from its status, the sticky
//! cookie, WebSocket/Upgrade tunnels, and the end-of-exchange accounting (pool, counters,
//! access log) when the streamed body ends, however it ends.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use elb_proxy_core::{FailureCause, strip_hop_by_hop};

use crate::body::{BodyOutcome, Completion, ResponseBody};
use crate::proxy::{ConnCtx, member_failed};
use crate::shared::Shared;
use crate::snapshot::LiveCluster;
use crate::upstream::Sender;

/// One request on its way through the proxy: what relaying the member's answer needs
/// besides the answer itself.
pub(crate) struct Exchange<'a> {
    pub(crate) ctx: &'a ConnCtx,
    pub(crate) cluster: &'a Arc<LiveCluster>,
    /// Header rules to apply to the answer, when the cluster or route has any.
    pub(crate) rewrite: Option<Box<crate::rewrite_io::RequestRewrite>>,
    /// The member the client's sticky cookie named, if any.
    pub(crate) sticky: Option<usize>,
    /// The client side of an upgrade (WebSocket), when the client asked for one.
    pub(crate) client_upgrade: Option<OnUpgrade>,
    pub(crate) start: Instant,
    /// The whole-exchange deadline (`request_total`).
    pub(crate) deadline: Option<tokio::time::Instant>,
    /// The request's record (durations, access log).
    pub(crate) trace: Option<Arc<crate::trace::RequestTrace>>,
}

impl Exchange<'_> {
    /// Relays member `idx`'s answer: passive health, an upgrade tunnel, the sticky cookie,
    /// and the streamed body with its end-of-exchange accounting.
    pub(crate) fn relay(
        self,
        idx: usize,
        mut resp: Response<Incoming>,
        sender: Sender,
    ) -> Response<ResponseBody> {
        let Self {
            ctx,
            cluster,
            rewrite,
            sticky,
            client_upgrade,
            start: _,
            deadline,
            trace,
        } = self;
        let member = &cluster.members[idx];
        let status = resp.status();
        member.stats.count_status(status.as_u16());
        if status.is_server_error() && cluster.config.passive.count_5xx {
            member_failed(cluster, idx, FailureCause::Status5xx);
        } else {
            cluster.lock().on_success(idx);
        }
        if status == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_side) = client_upgrade {
                let member_side = hyper::upgrade::on(&mut resp);
                let cluster = cluster.clone();
                let idle = ctx.shared.snapshot.load().config.timeouts.tunnel_idle.0;
                tokio::spawn(async move {
                    tunnel(client_side, member_side, idle).await;
                    drop(sender);
                    cluster.finish(idx);
                });
                let (parts, _) = resp.into_parts();
                return Response::from_parts(parts, ResponseBody::empty());
            }
        }
        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        if let Some(rw) = &rewrite {
            rw.apply_response(&mut parts.headers);
        }
        if let Some(s) = &cluster.config.sticky {
            if sticky != Some(idx) {
                let cookie = elb_proxy_core::rewrite::set_cookie(s, &member.cookie_id);
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    parts.headers.append(header::SET_COOKIE, v);
                }
            }
        }
        let done = Done {
            cluster: cluster.clone(),
            idx,
            sender: Some(sender),
            status: status.as_u16(),
            trace,
            shared: ctx.shared.clone(),
        };
        Response::from_parts(
            parts,
            ResponseBody::upstream(body, Box::new(done), deadline),
        )
    }
}

/// Runs a WebSocket/Upgrade tunnel until both sides close or nothing moves for `idle`.
async fn tunnel(client: OnUpgrade, member: OnUpgrade, idle: Duration) {
    let (c, m) = tokio::join!(client, member);
    match (c, m) {
        (Ok(c), Ok(m)) => copy_until_idle(TokioIo::new(c), TokioIo::new(m), idle).await,
        (c, m) => tracing::debug!(
            client_ok = c.is_ok(),
            member_ok = m.is_ok(),
            "upgrade failed"
        ),
    }
}

/// Copies both ways; a side's EOF is passed on as a write shutdown to the other side.
async fn copy_until_idle<A, B>(a: A, b: B, idle: Duration)
where
    A: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    B: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let mut ab = vec![0u8; 16 * 1024];
    let mut ba = vec![0u8; 16 * 1024];
    let (mut a_open, mut b_open) = (true, true);
    while a_open || b_open {
        tokio::select! {
            r = ar.read(&mut ab), if a_open => match r {
                Ok(0) | Err(_) => {
                    a_open = false;
                    let _ = bw.shutdown().await;
                }
                Ok(n) => {
                    if bw.write_all(&ab[..n]).await.is_err() {
                        break;
                    }
                }
            },
            r = br.read(&mut ba), if b_open => match r {
                Ok(0) | Err(_) => {
                    b_open = false;
                    let _ = aw.shutdown().await;
                }
                Ok(n) => {
                    if aw.write_all(&ba[..n]).await.is_err() {
                        break;
                    }
                }
            },
            _ = tokio::time::sleep(idle) => {
                tracing::debug!(?idle, "tunnel idle timeout");
                break;
            }
        }
    }
}

/// End-of-exchange accounting for a streamed answer.
struct Done {
    cluster: Arc<LiveCluster>,
    idx: usize,
    sender: Option<Sender>,
    status: u16,
    trace: Option<Arc<crate::trace::RequestTrace>>,
    shared: Arc<Shared>,
}

impl Completion for Done {
    fn complete(mut self: Box<Self>, outcome: BodyOutcome, bytes: u64) {
        let member = &self.cluster.members[self.idx];
        member.stats.bytes_out.fetch_add(bytes, Relaxed);
        match outcome {
            BodyOutcome::Complete => {
                if let Some(s) = self.sender.take() {
                    member.pool.put(s);
                }
            }
            BodyOutcome::MemberFailed => {
                tracing::warn!(cluster = %self.cluster.name, member = %member.name, phase = "response body", "member broke the response body");
                member_failed(&self.cluster, self.idx, FailureCause::Connection);
            }
            BodyOutcome::TimedOut => {
                member.stats.timeouts.fetch_add(1, Relaxed);
                tracing::warn!(cluster = %self.cluster.name, member = %member.name, phase = "response body", "request total timeout: answer cut");
            }
            BodyOutcome::ClientGone => {}
        }
        self.cluster.finish(self.idx);
        if let Some(t) = self.trace.take() {
            let termination = crate::trace::termination_of_body(outcome);
            t.finish(&self.shared, self.status, bytes, termination);
        }
    }
}
