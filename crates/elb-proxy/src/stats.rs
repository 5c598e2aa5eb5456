//! Counters and histograms, updated lock-free on the request path and read by the admin
//! socket (`show stat`) and the Prometheus endpoint. They live in `Arc`s that a reload hands
//! on to the new config for members and clusters that keep their names, so counters do not
//! reset on reload.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use elb_proxy_core::gate::Refused;

/// Upper bounds of the latency histogram, in seconds (Prometheus `le`).
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A fixed-bucket latency histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Counts one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| s <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(d.as_micros() as u64, Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// Observations and their sum in seconds.
    pub fn count_and_sum(&self) -> (u64, f64) {
        (
            self.count.load(Relaxed),
            self.sum_us.load(Relaxed) as f64 / 1e6,
        )
    }

    /// Writes `name_bucket`, `name_sum`, `name_count` lines with the given labels.
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {}",
            self.sum_us.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// Per member.
#[derive(Debug, Default)]
pub struct MemberStats {
    /// Requests sent (attempts that got a connection).
    pub requests: AtomicU64,
    /// Answers by status class 1xx..5xx (index 0..5).
    pub responses: [AtomicU64; 5],
    /// Connect errors, broken answers, timeouts.
    pub failures: AtomicU64,
    /// Failed connects.
    pub connect_errors: AtomicU64,
    /// Response heads not received in time.
    pub timeouts: AtomicU64,
    /// Passive ejections, for any cause.
    pub ejections: AtomicU64,
    /// Passive ejections for 5xx answers (the rest were for connection failures).
    pub ejections_5xx: AtomicU64,
    /// Active checks that passed.
    pub check_ok: AtomicU64,
    /// Active checks that failed.
    pub check_failed: AtomicU64,
    /// Response body bytes relayed to clients.
    pub bytes_out: AtomicU64,
    /// Request bytes sent to the member (head estimate plus declared body length).
    pub bytes_in: AtomicU64,
    /// Time to open a fresh connection to the member (pooled ones are not counted).
    pub connect_time: Histogram,
    /// From the request's arrival to the member's response head.
    pub first_byte: Histogram,
    /// Unix time of the last state change.
    pub last_change: AtomicU64,
    /// Last active check: 0 none, 1 ok, 2 failed.
    pub last_check: AtomicU64,
}

impl MemberStats {
    /// Counts an answer by status class.
    pub fn count_status(&self, status: u16) {
        if let Some(c) = self
            .responses
            .get(usize::from(status / 100).wrapping_sub(1))
        {
            c.fetch_add(1, Relaxed);
        }
    }

    /// Records now as the time of the last state change.
    pub fn touch_change(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.last_change.store(now, Relaxed);
    }
}

/// Per cluster.
#[derive(Debug, Default)]
pub struct ClusterStats {
    /// Requests that got an answer head.
    pub requests: AtomicU64,
    /// Further members tried after a failure before sending.
    pub retries: AtomicU64,
    /// 503 because no member was available.
    pub no_member: AtomicU64,
    /// 503 because the queue was full.
    pub queue_full: AtomicU64,
    /// 503 because the wait in the queue timed out.
    pub queue_timeouts: AtomicU64,
    /// Most requests that waited in the queue at once.
    pub queue_max: AtomicU64,
    /// Retries refused because the retry budget was spent.
    pub retry_budget_exhausted: AtomicU64,
    /// Time to the member's response head.
    pub latency: Histogram,
    /// Mirroring into this cluster as a shadow (see `mirror`).
    pub mirror: crate::mirror::MirrorStats,
}

/// Whole process.
#[derive(Debug, Default)]
pub struct GlobalStats {
    /// Open client connections.
    pub connections_active: AtomicI64,
    /// Idle HTTP/1.1 connections currently parked without hyper state (see `park`).
    pub connections_parked: AtomicI64,
    /// Times a connection was parked.
    pub parks_total: AtomicU64,
    /// Client connections accepted.
    pub connections_total: AtomicU64,
    /// Closed at once because a connection limit was reached.
    pub connections_refused: AtomicU64,
    /// Requests received.
    pub requests_total: AtomicU64,
    /// Requests no route matched (404).
    pub unrouted: AtomicU64,
    /// Reloads that took effect.
    pub reloads_ok: AtomicU64,
    /// Reloads refused (the old config kept).
    pub reloads_failed: AtomicU64,
    /// Answers the proxy produced itself for errors, by status.
    pub local_errors: [AtomicU64; LOCAL_ERROR_CODES.len()],
    /// Requests or connections refused, by `Rejection`.
    pub rejections: [AtomicU64; Rejection::ALL.len()],
    /// TLS handshakes that completed.
    pub tls_handshakes: AtomicU64,
    /// TLS handshakes that failed, by `TlsFailure`.
    pub tls_failures: [AtomicU64; TlsFailure::ALL.len()],
    /// Connections closed for a missing, malformed, late or untrusted PROXY header.
    pub proxy_header_refused: AtomicU64,
    /// Requests answered 429 by a per-client rate limit.
    pub rate_limited: AtomicU64,
    /// Connections closed at once because the client held its limit of connections.
    pub client_conns_refused: AtomicU64,
    /// Client requests refused by the strict HTTP checks, by reason (`Refused::index`).
    pub refused: [AtomicU64; Refused::COUNT],
    /// Per-listener and per-route counters, keyed by name.
    pub traffic: crate::traffic::Traffic,
}

/// The connect time of a fresh member connection, carried in the response's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ConnectTime(pub Duration);

/// Why a request or connection was refused before reaching a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// hyper could not parse the request head (400).
    BadRequest,
    /// The request head was larger than `limits.max_header_bytes` (431).
    HeaderTooLarge,
    /// The request target was too long (414).
    UriTooLong,
    /// The body was above the route's limit (413).
    BodyTooLarge,
    /// No route matched (404).
    NoRoute,
    /// A connection limit was reached: closed at once.
    ConnectionLimit,
}

impl Rejection {
    /// Every reason, in metric order.
    pub const ALL: [Rejection; 6] = [
        Self::BadRequest,
        Self::HeaderTooLarge,
        Self::UriTooLong,
        Self::BodyTooLarge,
        Self::NoRoute,
        Self::ConnectionLimit,
    ];

    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::HeaderTooLarge => "header_too_large",
            Self::UriTooLong => "uri_too_long",
            Self::BodyTooLarge => "body_too_large",
            Self::NoRoute => "no_route",
            Self::ConnectionLimit => "connection_limit",
        }
    }
}

/// Why a TLS handshake failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    /// Not done within `timeouts.request_header`.
    Timeout,
    /// The client closed the connection during the handshake.
    ClientClosed,
    /// The client sent something that is not a valid TLS handshake.
    Protocol,
    /// No common protocol version, cipher suite or ALPN protocol.
    Incompatible,
    /// The client sent an alert (it refused our certificate, for example).
    AlertReceived,
    /// Any other error (socket errors).
    Other,
}

impl TlsFailure {
    /// Every reason, in metric order.
    pub const ALL: [TlsFailure; 6] = [
        Self::Timeout,
        Self::ClientClosed,
        Self::Protocol,
        Self::Incompatible,
        Self::AlertReceived,
        Self::Other,
    ];

    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::ClientClosed => "client_closed",
            Self::Protocol => "protocol",
            Self::Incompatible => "incompatible",
            Self::AlertReceived => "alert_received",
            Self::Other => "other",
        }
    }
}

impl GlobalStats {
    /// Counts a rejection.
    pub fn reject(&self, r: Rejection) {
        self.rejections[r as usize].fetch_add(1, Relaxed);
    }

    /// Counts a failed TLS handshake.
    pub fn tls_failed(&self, f: TlsFailure) {
        self.tls_failures[f as usize].fetch_add(1, Relaxed);
    }

    /// Counts one refused client request.
    pub fn count_refused(&self, reason: Refused) {
        self.refused[reason.index()].fetch_add(1, Relaxed);
    }
}

/// Index into `GlobalStats::local_errors`.
pub fn local_error_index(status: u16) -> Option<usize> {
    match status {
        413 => Some(0),
        431 => Some(1),
        502 => Some(2),
        503 => Some(3),
        504 => Some(4),
        404 => Some(5),
        400 => Some(6),
        414 => Some(7),
        _ => None,
    }
}

/// The status of each `GlobalStats::local_errors` slot.
pub const LOCAL_ERROR_CODES: [u16; 8] = [413, 431, 502, 503, 504, 404, 400, 414];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(10));
        let mut s = String::new();
        h.render(&mut s, "x", "c=\"a\"");
        assert!(s.contains("x_bucket{c=\"a\",le=\"0.0005\"} 1\n"), "{s}");
        assert!(s.contains("x_bucket{c=\"a\",le=\"0.005\"} 2\n"), "{s}");
        assert!(s.contains("x_bucket{c=\"a\",le=\"5\"} 2\n"), "{s}");
        assert!(s.contains("x_bucket{c=\"a\",le=\"+Inf\"} 3\n"), "{s}");
        assert!(s.contains("x_count{c=\"a\"} 3\n"), "{s}");
    }

    #[test]
    fn status_classes() {
        let m = MemberStats::default();
        m.count_status(204);
        m.count_status(503);
        m.count_status(999);
        m.count_status(42);
        assert_eq!(m.responses[1].load(Relaxed), 1);
        assert_eq!(m.responses[4].load(Relaxed), 1);
    }
}
