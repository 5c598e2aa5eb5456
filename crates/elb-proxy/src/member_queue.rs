//! The cluster queue (HAProxy's `maxconn` + queue): when every member that could take a
//! request is at its `max_connections`, the request waits for a place to free up, at most
//! `queue_timeout`, in a queue of `queue_size` places. Full or timed out: 503, counted.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use elb_proxy_core::{ErrorKind, Phase, RequestError};

use crate::snapshot::LiveCluster;

/// Takes the queue place back however the wait ends (served, timed out, client gone).
struct Place<'a>(&'a LiveCluster);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if let Some(q) = &self.0.queue {
            q.lock().unwrap_or_else(|p| p.into_inner()).leave();
        }
    }
}

/// Waits for a member when the first pick found none; `pick` tries again. A cluster whose
/// members are not merely full gets `NoMember` at once, as before queues existed.
pub(crate) async fn wait_turn(
    cluster: &LiveCluster,
    deadline: Option<tokio::time::Instant>,
    mut pick: impl FnMut() -> Option<usize>,
) -> Result<usize, RequestError> {
    let no_member = || {
        cluster.stats.no_member.fetch_add(1, Relaxed);
        tracing::debug!(cluster = %cluster.name, "no available member");
        RequestError::new(ErrorKind::NoMember, Phase::Connect)
    };
    let Some(queue) = &cluster.queue else {
        return Err(no_member());
    };
    if !cluster.lock().only_full_members(Instant::now()) {
        return Err(no_member());
    }
    let entered = {
        let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
        let ok = q.enter();
        cluster.stats.queue_max.fetch_max(q.peak() as u64, Relaxed);
        ok
    };
    if !entered {
        cluster.stats.queue_full.fetch_add(1, Relaxed);
        tracing::debug!(cluster = %cluster.name, "queue full");
        return Err(RequestError::new(ErrorKind::QueueFull, Phase::Connect));
    }
    let _place = Place(cluster);
    let wait = cluster
        .config
        .queue_timeout
        .map_or(elb_proxy_core::config::DEFAULT_QUEUE_TIMEOUT, |d| d.0);
    let mut until = tokio::time::Instant::now() + wait;
    if let Some(d) = deadline {
        until = until.min(d);
    }
    loop {
        // Registered before the pick, so a place freed in between is not missed.
        let freed = cluster.freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        if let Some(i) = pick() {
            return Ok(i);
        }
        if tokio::time::timeout_at(until, freed).await.is_err() {
            cluster.stats.queue_timeouts.fetch_add(1, Relaxed);
            tracing::debug!(cluster = %cluster.name, "queue timeout");
            return Err(RequestError::new(ErrorKind::QueueTimeout, Phase::Connect));
        }
    }
}
