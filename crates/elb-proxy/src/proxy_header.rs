//! Listeners with `proxy_protocol: true` sit behind an L4 balancer that sends a PROXY
//! protocol header (v1 or v2) first: it is read here, exactly and within the request-header
//! timeout, and its source address becomes the client for everything after (forwarding
//! headers, limits, logs). Only peers in `trusted_proxies` may send one (checked at accept);
//! a malformed, missing or late header closes the connection and is counted.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use elb_proxy_core::proxy_protocol::{Progress, ProxyError, parse};
use tokio::io::AsyncReadExt;

use crate::server::{Accepted, start_connection};
use crate::shared::Shared;

/// Reads the header, then serves the connection as from the client it names.
pub(crate) async fn read_then_start(shared: Arc<Shared>, mut a: Accepted) {
    let timeout = a.rt.config.timeouts.request_header.0;
    let peer = a.client;
    match tokio::time::timeout(timeout, read_header(&mut a.stream)).await {
        Ok(Ok(Some(client))) => {
            a.client = client;
            start_connection(&shared, a);
        }
        Ok(Ok(None)) => start_connection(&shared, a),
        Ok(Err(e)) => refused(&shared, peer, e.as_str()),
        Err(_) => refused(&shared, peer, "timeout"),
    }
}

/// Counts and logs (rate limited) a connection closed for its PROXY header.
pub(crate) fn refused(shared: &Shared, peer: std::net::SocketAddr, why: &str) {
    shared.stats.proxy_header_refused.fetch_add(1, Relaxed);
    crate::refusal_log::refused(peer, &format!("proxy_protocol_{why}"), 0);
}

/// The header's client address (`None`: LOCAL/UNKNOWN, the peer stands).
async fn read_header(
    stream: &mut tokio::net::TcpStream,
) -> Result<Option<std::net::SocketAddr>, ProxyError> {
    let mut buf = Vec::with_capacity(64);
    let mut need = 1;
    loop {
        let at = buf.len();
        buf.resize(at + need, 0);
        if stream.read_exact(&mut buf[at..]).await.is_err() {
            return Err(ProxyError::Missing);
        }
        match parse(&buf)? {
            Progress::Need(n) => need = n,
            Progress::Done(h) => return Ok(h.addresses.map(|(src, _)| src)),
        }
    }
}
