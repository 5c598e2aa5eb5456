//! The per-client limits on the request path: connections counted at accept (per client
//! address, globally and per listener) and request rates checked after routing (globally,
//! per listener, per route), over the one bounded table in `Shared`. The client address is
//! the peer's, or what a trusted proxy's `X-Forwarded-For` or `Forwarded` says
//! (`limits::client_address`).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use http::HeaderMap;
use http::header::{HeaderValue, RETRY_AFTER};

use elb_proxy_core::config::ClientLimits;
use elb_proxy_core::limits::{ClientKey, RateSpec, Scope, client_address, rate_of};

use crate::shared::Shared;
use crate::snapshot::Snapshot;

/// Connections a client holds, released when the connection ends.
pub struct ClientConns {
    shared: Arc<Shared>,
    keys: [Option<ClientKey>; 2],
}

impl Drop for ClientConns {
    fn drop(&mut self) {
        if self.keys.iter().all(Option::is_none) {
            return;
        }
        let mut t = self
            .shared
            .clients
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for k in self.keys.iter().flatten() {
            t.disconnect(*k);
        }
    }
}

/// Counts a new connection from `addr` against the global and the listener's limit;
/// `None` when the client already holds as many as allowed (the connection is closed).
pub fn admit_connection(
    shared: &Arc<Shared>,
    rt: &Snapshot,
    listener: (Scope, ClientLimits),
    addr: IpAddr,
) -> Option<ClientConns> {
    let mut conns = ClientConns {
        shared: shared.clone(),
        keys: [None, None],
    };
    let limits = [
        (Scope::Global, rt.config.limits.per_client.max_connections),
        (listener.0, listener.1.max_connections),
    ];
    if limits.iter().all(|(_, max)| *max == 0) {
        return Some(conns);
    }
    let now = Instant::now();
    let mut t = shared.clients.lock().unwrap_or_else(|p| p.into_inner());
    for (slot, (scope, max)) in limits.into_iter().enumerate() {
        if max == 0 {
            continue;
        }
        let key = ClientKey { scope, addr };
        if !t.connect(key, max, now) {
            drop(t);
            shared.stats.client_conns_refused.fetch_add(1, Relaxed);
            return None;
        }
        conns.keys[slot] = Some(key);
    }
    Some(conns)
}

/// Takes one request token for the client in each scope that limits its rate; `Err` is the
/// time until the client may send again.
pub fn check_rate(
    snap: &Snapshot,
    peer: IpAddr,
    headers: &HeaderMap,
    listener: (Scope, Option<RateSpec>),
    route: (Scope, Option<RateSpec>),
    shared: &Shared,
) -> Result<(), Duration> {
    let scopes = [
        (Scope::Global, rate_of(&snap.config.limits.per_client)),
        listener,
        route,
    ];
    if scopes.iter().all(|(_, r)| r.is_none()) {
        return Ok(());
    }
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let forwarded: Vec<&str> = headers
        .get_all(http::header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let addr = client_address(peer, |ip| snap.is_trusted(ip), &xff, &forwarded);
    let now = Instant::now();
    let mut t = shared.clients.lock().unwrap_or_else(|p| p.into_inner());
    for (scope, rate) in scopes {
        if let Some(rate) = rate {
            t.take(ClientKey { scope, addr }, rate, now)
                .inspect_err(|_| {
                    shared.stats.rate_limited.fetch_add(1, Relaxed);
                })?;
        }
    }
    Ok(())
}

/// The `Retry-After` value (whole seconds, at least 1) for a wait.
pub fn retry_after(wait: Duration) -> HeaderValue {
    HeaderValue::from(wait.as_secs_f64().ceil().max(1.0) as u64)
}

/// Inserts `Retry-After` for `wait`.
pub fn set_retry_after(headers: &mut HeaderMap, wait: Duration) {
    headers.insert(RETRY_AFTER, retry_after(wait));
}
