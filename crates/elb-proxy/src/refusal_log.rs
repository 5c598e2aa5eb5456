//! Log lines for refused client requests, rate limited: a client sending garbage must not
//! be able to flood the journal. At most `PER_SECOND` lines a second; the lines dropped are
//! counted and reported with the next line that gets through.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines per second at most.
const PER_SECOND: u32 = 10;

struct Window {
    start: Instant,
    lines: u32,
    suppressed: u64,
}

static WINDOW: Mutex<Option<Window>> = Mutex::new(None);

/// Whether a line may be written now, and how many were suppressed before it.
fn admit(now: Instant) -> Option<u64> {
    let mut w = WINDOW.lock().unwrap_or_else(|p| p.into_inner());
    let w = w.get_or_insert(Window {
        start: now,
        lines: 0,
        suppressed: 0,
    });
    if now.duration_since(w.start) >= Duration::from_secs(1) {
        w.start = now;
        w.lines = 0;
    }
    if w.lines >= PER_SECOND {
        w.suppressed += 1;
        return None;
    }
    w.lines += 1;
    Some(std::mem::take(&mut w.suppressed))
}

/// Logs one refused request (rate limited).
pub(crate) fn refused(peer: impl std::fmt::Display, reason: &str, status: u16) {
    if let Some(suppressed) = admit(Instant::now()) {
        tracing::info!(peer = %peer, reason, status, suppressed, "client request refused");
    }
}
