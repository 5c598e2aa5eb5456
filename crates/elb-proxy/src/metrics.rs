//! Prometheus text exposition of the counters in `stats`, served at `/metrics` on the
//! configured metrics address. Labels are bounded: cluster and member names from the config,
//! status classes, never request data.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use bytes::Bytes;
use http::Response;
use http::header::{self, HeaderValue};

use crate::body::ResponseBody;
use crate::shared::Shared;
use crate::snapshot::Snapshot;
use crate::stats::{LOCAL_ERROR_CODES, MemberStats};

/// Escapes a label value.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders every metric.
pub fn render(shared: &Shared) -> String {
    let mut o = String::with_capacity(8192);
    let snap = shared.snapshot.load();
    process(&mut o, shared);
    members(&mut o, &snap, Instant::now());
    clusters(&mut o, &snap);
    o
}

/// Process-wide gauges and counters.
fn process(o: &mut String, shared: &Shared) {
    let g = &shared.stats;
    let _ = writeln!(
        o,
        "# HELP elb_proxy_up 1 while serving, 0 while draining or stopping."
    );
    let _ = writeln!(o, "# TYPE elb_proxy_up gauge");
    let _ = writeln!(o, "elb_proxy_up {}", u8::from(shared.health().is_ok()));
    let _ = writeln!(o, "# TYPE elb_proxy_connections_active gauge");
    let _ = writeln!(
        o,
        "elb_proxy_connections_active {}",
        g.connections_active.load(Relaxed)
    );
    let _ = writeln!(o, "# TYPE elb_proxy_connections_parked gauge");
    let _ = writeln!(
        o,
        "elb_proxy_connections_parked {}",
        g.connections_parked.load(Relaxed)
    );
    let _ = writeln!(o, "# TYPE elb_proxy_parks_total counter");
    let _ = writeln!(o, "elb_proxy_parks_total {}", g.parks_total.load(Relaxed));
    let _ = writeln!(o, "# TYPE elb_proxy_connections_total counter");
    let _ = writeln!(
        o,
        "elb_proxy_connections_total {}",
        g.connections_total.load(Relaxed)
    );
    let _ = writeln!(o, "# TYPE elb_proxy_connections_refused_total counter");
    let _ = writeln!(
        o,
        "elb_proxy_connections_refused_total {}",
        g.connections_refused.load(Relaxed)
    );
    let _ = writeln!(o, "# TYPE elb_proxy_requests_total counter");
    let _ = writeln!(
        o,
        "elb_proxy_requests_total {}",
        g.requests_total.load(Relaxed)
    );
    let _ = writeln!(o, "# TYPE elb_proxy_reloads_total counter");
    let _ = writeln!(
        o,
        "elb_proxy_reloads_total{{result=\"ok\"}} {}",
        g.reloads_ok.load(Relaxed)
    );
    let _ = writeln!(
        o,
        "elb_proxy_reloads_total{{result=\"failed\"}} {}",
        g.reloads_failed.load(Relaxed)
    );
    let _ = writeln!(
        o,
        "# HELP elb_proxy_local_responses_total Answers produced by the proxy itself, by status."
    );
    let _ = writeln!(o, "# TYPE elb_proxy_local_responses_total counter");
    for (i, code) in LOCAL_ERROR_CODES.iter().enumerate() {
        let _ = writeln!(
            o,
            "elb_proxy_local_responses_total{{code=\"{code}\"}} {}",
            g.local_errors[i].load(Relaxed)
        );
    }
    refused(o, g);
}

/// Client requests refused by the strict HTTP checks, by reason, and per-client limits.
fn refused(o: &mut String, g: &crate::stats::GlobalStats) {
    let _ = writeln!(
        o,
        "# HELP elb_proxy_rate_limited_total Requests answered 429 by a per-client rate limit."
    );
    let _ = writeln!(o, "# TYPE elb_proxy_rate_limited_total counter");
    let _ = writeln!(
        o,
        "elb_proxy_rate_limited_total {}",
        g.rate_limited.load(Relaxed)
    );
    let _ = writeln!(
        o,
        "# HELP elb_proxy_proxy_header_refused_total Connections closed for a missing, malformed, late or untrusted PROXY header."
    );
    let _ = writeln!(o, "# TYPE elb_proxy_proxy_header_refused_total counter");
    let _ = writeln!(
        o,
        "elb_proxy_proxy_header_refused_total {}",
        g.proxy_header_refused.load(Relaxed)
    );
    let _ = writeln!(
        o,
        "# HELP elb_proxy_client_connections_refused_total Connections closed because the client held its limit."
    );
    let _ = writeln!(
        o,
        "# TYPE elb_proxy_client_connections_refused_total counter"
    );
    let _ = writeln!(
        o,
        "elb_proxy_client_connections_refused_total {}",
        g.client_conns_refused.load(Relaxed)
    );
    let _ = writeln!(
        o,
        "# HELP elb_proxy_requests_refused_total Client requests refused as malformed or ambiguous, by reason."
    );
    let _ = writeln!(o, "# TYPE elb_proxy_requests_refused_total counter");
    for (i, c) in g.refused.iter().enumerate() {
        if let Some(r) = elb_proxy_core::gate::Refused::from_index(i) {
            let _ = writeln!(
                o,
                "elb_proxy_requests_refused_total{{reason=\"{}\"}} {}",
                r.as_str(),
                c.load(Relaxed)
            );
        }
    }
}

/// Per-member counters and gauges.
fn members(o: &mut String, rt: &Snapshot, now: Instant) {
    let _ = writeln!(
        o,
        "# HELP elb_proxy_upstream_responses_total Member answers by status class."
    );
    let _ = writeln!(o, "# TYPE elb_proxy_upstream_responses_total counter");
    for c in &rt.clusters {
        for m in &c.members {
            for (i, class) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
                let _ = writeln!(
                    o,
                    "elb_proxy_upstream_responses_total{{cluster=\"{}\",member=\"{}\",class=\"{class}\"}} {}",
                    esc(&c.name),
                    esc(&m.name),
                    m.stats.responses[i].load(Relaxed)
                );
            }
        }
    }
    let member_counter =
        |o: &mut String, name: &str, help: &str, f: &dyn Fn(&MemberStats) -> u64| {
            let _ = writeln!(o, "# HELP {name} {help}");
            let _ = writeln!(o, "# TYPE {name} counter");
            for c in &rt.clusters {
                for m in &c.members {
                    let _ = writeln!(
                        o,
                        "{name}{{cluster=\"{}\",member=\"{}\"}} {}",
                        esc(&c.name),
                        esc(&m.name),
                        f(&m.stats)
                    );
                }
            }
        };
    type Read = fn(&MemberStats) -> u64;
    let counters: [(&str, &str, Read); 7] = [
        (
            "elb_proxy_upstream_failures_total",
            "Connect errors, broken answers and timeouts.",
            |s| s.failures.load(Relaxed),
        ),
        (
            "elb_proxy_upstream_connect_errors_total",
            "Failed connects.",
            |s| s.connect_errors.load(Relaxed),
        ),
        (
            "elb_proxy_upstream_timeouts_total",
            "Response heads not received in time.",
            |s| s.timeouts.load(Relaxed),
        ),
        ("elb_proxy_ejections_total", "Passive ejections.", |s| {
            s.ejections.load(Relaxed)
        }),
        (
            "elb_proxy_health_checks_ok_total",
            "Active checks that passed.",
            |s| s.check_ok.load(Relaxed),
        ),
        (
            "elb_proxy_health_checks_failed_total",
            "Active checks that failed.",
            |s| s.check_failed.load(Relaxed),
        ),
        (
            "elb_proxy_upstream_response_bytes_total",
            "Response body bytes relayed.",
            |s| s.bytes_out.load(Relaxed),
        ),
    ];
    for (name, help, read) in counters {
        member_counter(o, name, help, &read);
    }
    let _ = writeln!(
        o,
        "# HELP elb_proxy_member_up 1 when the member may take traffic."
    );
    let _ = writeln!(o, "# TYPE elb_proxy_member_up gauge");
    let _ = writeln!(o, "# TYPE elb_proxy_member_in_flight gauge");
    for c in &rt.clusters {
        let b = c.lock();
        for (i, m) in c.members.iter().enumerate() {
            let s = &b.members[i];
            let labels = format!("cluster=\"{}\",member=\"{}\"", esc(&c.name), esc(&m.name));
            let _ = writeln!(
                o,
                "elb_proxy_member_up{{{labels}}} {}",
                u8::from(s.available(now))
            );
            let _ = writeln!(o, "elb_proxy_member_in_flight{{{labels}}} {}", s.in_flight);
        }
    }
}

/// Per-cluster counters and the latency histograms.
fn clusters(o: &mut String, rt: &Snapshot) {
    let _ = writeln!(o, "# TYPE elb_proxy_retries_total counter");
    for c in &rt.clusters {
        let _ = writeln!(
            o,
            "elb_proxy_retries_total{{cluster=\"{}\"}} {}",
            esc(&c.name),
            c.stats.retries.load(Relaxed)
        );
    }
    let _ = writeln!(o, "# TYPE elb_proxy_no_member_total counter");
    for c in &rt.clusters {
        let _ = writeln!(
            o,
            "elb_proxy_no_member_total{{cluster=\"{}\"}} {}",
            esc(&c.name),
            c.stats.no_member.load(Relaxed)
        );
    }
    let _ = writeln!(
        o,
        "# HELP elb_proxy_upstream_latency_seconds Time to the member's response head."
    );
    let _ = writeln!(o, "# TYPE elb_proxy_upstream_latency_seconds histogram");
    for c in &rt.clusters {
        c.stats.latency.render(
            o,
            "elb_proxy_upstream_latency_seconds",
            &format!("cluster=\"{}\"", esc(&c.name)),
        );
    }
}

/// The `/metrics` answer.
pub fn response(shared: &Shared) -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::full(Bytes::from(render(shared))));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}
