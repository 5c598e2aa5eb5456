//! Request mirroring: a copy of a request goes to a shadow cluster, fire-and-forget. The copy
//! is made as the request is forwarded (same head; the body copied as it passes, up to
//! `max_body`), sent from its own task once the body is complete, and its answer read and
//! dropped. Bounded by `max_in_flight` per shadow cluster; a slow or dead shadow only fills
//! that bound (further copies are dropped and counted), never the client's exchange.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::request::Parts;
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::BodyExt;

use crate::body::UpstreamBody;
use crate::snapshot::LiveCluster;
use elb_proxy_core::MirrorSpec;
use elb_proxy_core::rewrite::{CompiledOps, Vars};

/// Counters of a cluster used as a shadow.
#[derive(Debug, Default)]
pub struct MirrorStats {
    /// Copies in flight now.
    pub in_flight: AtomicUsize,
    /// Copies sent and answered.
    pub mirrored: AtomicU64,
    /// Copies not made: in-flight bound reached, or body above `max_body`, or the client's
    /// body broke off.
    pub dropped: AtomicU64,
    /// Copies sent that failed (connect, timeout, broken answer, no member).
    pub failed: AtomicU64,
}

/// The head of a mirrored request and where it goes; holds an in-flight slot until dropped.
struct MirrorCopy {
    cluster: Arc<LiveCluster>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    extensions: Option<crate::upstream::ClientAddrs>,
    timeouts: (Duration, Duration),
}

impl Drop for MirrorCopy {
    fn drop(&mut self) {
        self.cluster.stats.mirror.in_flight.fetch_sub(1, Relaxed);
    }
}

/// Copies a request body as it passes; sends the copy when the body ends.
pub struct Tee {
    copy: Option<MirrorCopy>,
    buf: BytesMut,
    max: u64,
}

impl std::fmt::Debug for Tee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tee")
            .field("bytes", &self.buf.len())
            .finish()
    }
}

impl Tee {
    /// Adds body bytes; past `max_body` the copy is abandoned.
    pub fn copy(&mut self, data: &Bytes) {
        if self.copy.is_none() {
            return;
        }
        if (self.buf.len() + data.len()) as u64 > self.max {
            if let Some(c) = self.copy.take() {
                c.cluster.stats.mirror.dropped.fetch_add(1, Relaxed);
            }
            self.buf = BytesMut::new();
            return;
        }
        self.buf.extend_from_slice(data);
    }

    /// The body is complete: send the copy.
    pub fn finish(mut self: Box<Self>) {
        if let Some(c) = self.copy.take() {
            spawn(c, std::mem::take(&mut self.buf).freeze());
        }
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        // Dropped before the body ended (the exchange failed or the client left).
        if let Some(c) = &self.copy {
            c.cluster.stats.mirror.dropped.fetch_add(1, Relaxed);
        }
    }
}

/// Starts mirroring the request whose forwarded head is `parts` and body `body`, when the
/// spec's share, bound and body limit allow; the shadow cluster's own request rules, if
/// any, are applied to the copy. `timeouts`: connect and response.
pub(crate) fn start(
    spec: MirrorSpec,
    shadow: &Arc<LiveCluster>,
    (parts, shadow_rules): (&Parts, Option<(&CompiledOps, &Vars<'_>)>),
    body: &mut UpstreamBody,
    body_empty: bool,
    timeouts: (Duration, Duration),
) {
    let stats = &shadow.stats.mirror;
    if spec.percent < 100 && fastrand::u32(0..100) >= spec.percent {
        return;
    }
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > spec.max_body) {
        stats.dropped.fetch_add(1, Relaxed);
        return;
    }
    if stats.in_flight.fetch_add(1, Relaxed) >= spec.max_in_flight {
        stats.in_flight.fetch_sub(1, Relaxed);
        stats.dropped.fetch_add(1, Relaxed);
        return;
    }
    let mut headers = parts.headers.clone();
    if let Some((rules, vars)) = shadow_rules {
        rules.apply(&mut headers, vars);
    }
    let copy = MirrorCopy {
        cluster: shadow.clone(),
        method: parts.method.clone(),
        uri: parts.uri.clone(),
        headers,
        extensions: parts
            .extensions
            .get::<crate::upstream::ClientAddrs>()
            .copied(),
        timeouts,
    };
    if body_empty {
        spawn(copy, Bytes::new());
    } else {
        body.set_tee(Box::new(Tee {
            copy: Some(copy),
            buf: BytesMut::new(),
            max: spec.max_body,
        }));
    }
}

fn spawn(copy: MirrorCopy, body: Bytes) {
    tokio::spawn(async move {
        let stats = &copy.cluster.stats.mirror;
        if send(&copy, body).await {
            stats.mirrored.fetch_add(1, Relaxed);
        } else {
            stats.failed.fetch_add(1, Relaxed);
        }
        drop(copy);
    });
}

/// Sends one copy to a member of the shadow cluster and reads its answer to the end.
async fn send(copy: &MirrorCopy, body: Bytes) -> bool {
    let cluster = &copy.cluster;
    let picked = cluster
        .lock()
        .pick(Instant::now(), fastrand::u64(..), None, &[]);
    let Some(idx) = picked else {
        return false;
    };
    let member = &cluster.members[idx];
    let mut req = Request::new(UpstreamBody::full(body));
    *req.method_mut() = copy.method.clone();
    *req.uri_mut() = copy.uri.clone();
    *req.headers_mut() = copy.headers.clone();
    if let Some(a) = &copy.extensions {
        req.extensions_mut().insert(*a);
    }
    let (connect, response) = copy.timeouts;
    let deadline = tokio::time::Instant::now() + connect + response;
    let sent = member
        .pool
        .send(req, connect, response, Some(deadline), false)
        .await;
    let ok = match sent {
        Ok((resp, sender)) => {
            let mut body = resp.into_body();
            let drained = tokio::time::timeout_at(deadline, async {
                while let Some(f) = body.frame().await {
                    if f.is_err() {
                        return false;
                    }
                }
                true
            })
            .await
            .unwrap_or(false);
            if drained {
                member.pool.put(sender);
            }
            drained
        }
        Err(_) => false,
    };
    cluster.lock().finish(idx);
    ok
}
