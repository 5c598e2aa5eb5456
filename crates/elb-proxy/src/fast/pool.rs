//! Idle keep-alive connections to members for the fast path: plain sockets (no hyper
//! client state), kept per member address, at most the cluster's `pool_max_idle` each, and
//! never handed out once older than `upstream_idle` or already closed by the member.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

/// Idle sockets to one member, with the time each was put back (newest last).
type Idle = Vec<(TcpStream, Instant)>;

/// Idle member sockets by member address.
static IDLE: Mutex<Option<HashMap<SocketAddr, Idle>>> = Mutex::new(None);

/// An idle socket to `addr` that is still open and younger than `max_age`, if any.
pub(crate) fn take(addr: SocketAddr, max_age: Duration) -> Option<TcpStream> {
    let mut guard = IDLE.lock().unwrap_or_else(|p| p.into_inner());
    let list = guard.as_mut()?.get_mut(&addr)?;
    let now = Instant::now();
    while let Some((s, since)) = list.pop() {
        if now.duration_since(since) < max_age && still_open(&s) {
            return Some(s);
        }
    }
    None
}

/// Puts a member socket back after a complete exchange (dropped when the pool is full).
pub(crate) fn put(addr: SocketAddr, s: TcpStream, max_idle: usize) {
    let mut guard = IDLE.lock().unwrap_or_else(|p| p.into_inner());
    let list = guard
        .get_or_insert_with(HashMap::new)
        .entry(addr)
        .or_default();
    if list.len() < max_idle {
        list.push((s, Instant::now()));
    }
}

/// Closes idle sockets older than `max_age` (the once-a-second maintenance); returns how many.
pub fn reap(max_age: Duration) -> usize {
    let mut guard = IDLE.lock().unwrap_or_else(|p| p.into_inner());
    let Some(map) = guard.as_mut() else {
        return 0;
    };
    let now = Instant::now();
    let mut closed = 0;
    for list in map.values_mut() {
        let before = list.len();
        list.retain(|(s, since)| now.duration_since(*since) < max_age && still_open(s));
        closed += before - list.len();
    }
    closed
}

/// An idle member socket with nothing to read is still usable: EOF means the member closed
/// it, and bytes nobody asked for mean it is out of step.
fn still_open(s: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(s.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}
