//! Prometheus text exposition (format 0.0.4) of the counters in `stats` and `traffic`,
//! served at `/metrics` on the configured metrics address. Every family is written whole —
//! HELP, TYPE, then all its samples — so strict parsers and `promtool check metrics` accept
//! it. Labels are bounded: listener, route, cluster and member names from the config, status
//! classes and fixed reason sets, never request data.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use bytes::Bytes;
use http::Response;
use http::header::{self, HeaderValue};

use crate::access_log::LOG_STATS;
use crate::body::ResponseBody;
use crate::shared::Shared;
use crate::snapshot::Snapshot;
use crate::stats::{LOCAL_ERROR_CODES, MemberStats, Rejection, TlsFailure};

/// Escapes a label value.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Starts a family: its HELP and TYPE lines.
fn family(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

/// A family with one unlabelled sample.
fn single(o: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(o, name, kind, help);
    let _ = writeln!(o, "{name} {value}");
}

/// Renders every metric.
pub fn render(shared: &Shared) -> String {
    let mut o = String::with_capacity(16 * 1024);
    let snap = shared.snapshot.load();
    process(&mut o, shared);
    reasons(&mut o, shared);
    listeners(&mut o, shared);
    members(&mut o, &snap, Instant::now());
    clusters(&mut o, &snap);
    crate::dns::metrics(&mut o, shared);
    o
}

/// Process-wide gauges and counters.
fn process(o: &mut String, shared: &Shared) {
    let g = &shared.stats;
    let gauges: [(&str, &str, i64); 3] = [
        (
            "elb_proxy_up",
            "1 while serving, 0 while draining or stopping.",
            i64::from(shared.health().is_ok()),
        ),
        (
            "elb_proxy_connections_active",
            "Open client connections.",
            g.connections_active.load(Relaxed),
        ),
        (
            "elb_proxy_connections_parked",
            "Idle HTTP/1.1 client connections parked without protocol state.",
            g.connections_parked.load(Relaxed),
        ),
    ];
    for (name, help, v) in gauges {
        single(o, name, "gauge", help, v);
    }
    let counters: [(&str, &str, u64); 12] = [
        (
            "elb_proxy_parks_total",
            "Times an idle client connection was parked.",
            g.parks_total.load(Relaxed),
        ),
        (
            "elb_proxy_connections_total",
            "Client connections accepted.",
            g.connections_total.load(Relaxed),
        ),
        (
            "elb_proxy_connections_refused_total",
            "Client connections closed at once because a connection limit was reached.",
            g.connections_refused.load(Relaxed),
        ),
        (
            "elb_proxy_requests_total",
            "Requests received (health path included).",
            g.requests_total.load(Relaxed),
        ),
        (
            "elb_proxy_tls_handshakes_total",
            "TLS handshakes completed.",
            g.tls_handshakes.load(Relaxed),
        ),
        (
            "elb_proxy_member_tls_handshakes_total",
            "Full TLS handshakes with members.",
            crate::member_tls::MEMBER_TLS.full.load(Relaxed),
        ),
        (
            "elb_proxy_member_tls_resumed_total",
            "TLS handshakes with members that resumed an earlier session.",
            crate::member_tls::MEMBER_TLS.resumed.load(Relaxed),
        ),
        (
            "elb_proxy_member_tls_failed_total",
            "TLS handshakes with members that failed.",
            crate::member_tls::MEMBER_TLS.failed.load(Relaxed),
        ),
        (
            "elb_proxy_access_log_lines_total",
            "Access log lines queued for writing.",
            LOG_STATS.queued.load(Relaxed),
        ),
        (
            "elb_proxy_access_log_dropped_total",
            "Access log lines dropped because the writer's queue was full.",
            LOG_STATS.dropped.load(Relaxed),
        ),
        (
            "elb_proxy_access_log_write_errors_total",
            "Access log lines that could not be written.",
            LOG_STATS.write_errors.load(Relaxed),
        ),
        (
            "elb_proxy_access_log_reopens_total",
            "Times the access log was reopened (SIGUSR1, reopen logs).",
            LOG_STATS.reopens.load(Relaxed),
        ),
    ];
    for (name, help, v) in counters {
        single(o, name, "counter", help, v);
    }
    family(
        o,
        "elb_proxy_reloads_total",
        "counter",
        "Config reloads, by result.",
    );
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
}

/// Families labelled by a fixed set of codes or reasons.
fn reasons(o: &mut String, shared: &Shared) {
    let g = &shared.stats;
    family(
        o,
        "elb_proxy_local_responses_total",
        "counter",
        "Error answers produced by the proxy itself (hyper's 400/414/431 included), by status.",
    );
    for (i, code) in LOCAL_ERROR_CODES.iter().enumerate() {
        let _ = writeln!(
            o,
            "elb_proxy_local_responses_total{{code=\"{code}\"}} {}",
            g.local_errors[i].load(Relaxed)
        );
    }
    family(
        o,
        "elb_proxy_rejections_total",
        "counter",
        "Requests and connections refused before reaching a member, by reason: the strict HTTP checks' exact reasons, hyper's own 400/414/431, 404, 413 and the connection limit.",
    );
    for r in Rejection::ALL {
        let _ = writeln!(
            o,
            "elb_proxy_rejections_total{{reason=\"{}\"}} {}",
            r.as_str(),
            g.rejections[r as usize].load(Relaxed)
        );
    }
    for (i, c) in g.refused.iter().enumerate() {
        if let Some(r) = elb_proxy_core::gate::Refused::from_index(i) {
            let _ = writeln!(
                o,
                "elb_proxy_rejections_total{{reason=\"{}\"}} {}",
                r.as_str(),
                c.load(Relaxed)
            );
        }
    }
    family(
        o,
        "elb_proxy_tls_handshake_failures_total",
        "counter",
        "TLS handshakes that failed, by reason.",
    );
    for f in TlsFailure::ALL {
        let _ = writeln!(
            o,
            "elb_proxy_tls_handshake_failures_total{{reason=\"{}\"}} {}",
            f.as_str(),
            g.tls_failures[f as usize].load(Relaxed)
        );
    }
    refused(o, g);
}

/// Per-client limits and PROXY header refusals.
fn refused(o: &mut String, g: &crate::stats::GlobalStats) {
    let counters: [(&str, &str, u64); 3] = [
        (
            "elb_proxy_rate_limited_total",
            "Requests answered 429 by a per-client rate limit.",
            g.rate_limited.load(Relaxed),
        ),
        (
            "elb_proxy_proxy_header_refused_total",
            "Connections closed for a missing, malformed, late or untrusted PROXY header.",
            g.proxy_header_refused.load(Relaxed),
        ),
        (
            "elb_proxy_client_connections_refused_total",
            "Connections closed because the client held its limit.",
            g.client_conns_refused.load(Relaxed),
        ),
    ];
    for (name, help, v) in counters {
        single(o, name, "counter", help, v);
    }
}

/// Per-listener counters and the request-duration histograms.
fn listeners(o: &mut String, shared: &Shared) {
    let ls = shared.stats.traffic.listeners();
    type Read = fn(&crate::traffic::ListenerStats) -> i64;
    let fams: [(&str, &str, &str, Read); 4] = [
        (
            "elb_proxy_listener_connections_open",
            "gauge",
            "Open client connections, by listener.",
            |l| l.open.load(Relaxed),
        ),
        (
            "elb_proxy_listener_connections_total",
            "counter",
            "Client connections accepted, by listener.",
            |l| l.accepted.load(Relaxed) as i64,
        ),
        (
            "elb_proxy_listener_received_bytes_total",
            "counter",
            "Request bytes received (heads and declared bodies), by listener.",
            |l| l.bytes_in.load(Relaxed) as i64,
        ),
        (
            "elb_proxy_listener_sent_bytes_total",
            "counter",
            "Response body bytes sent, by listener.",
            |l| l.bytes_out.load(Relaxed) as i64,
        ),
    ];
    for (name, kind, help, read) in fams {
        family(o, name, kind, help);
        for l in &ls {
            let _ = writeln!(o, "{name}{{listener=\"{}\"}} {}", esc(&l.name), read(l));
        }
    }
    let name = "elb_proxy_request_duration_seconds";
    family(
        o,
        name,
        "histogram",
        "From the request head to the answer's last byte, by listener, route, cluster and status class (empty route and cluster: answered before routing).",
    );
    for l in &ls {
        for r in l.routes() {
            for (i, h) in r.durations.iter().enumerate() {
                let labels = format!(
                    "listener=\"{}\",route=\"{}\",cluster=\"{}\",class=\"{}xx\"",
                    esc(&r.listener),
                    esc(&r.route),
                    esc(&r.cluster),
                    i + 1
                );
                h.render(o, name, &labels);
            }
        }
    }
}

/// Per-member counters, gauges and histograms.
fn members(o: &mut String, rt: &Snapshot, now: Instant) {
    let label = |c: &str, m: &str| format!("cluster=\"{}\",member=\"{}\"", esc(c), esc(m));
    family(
        o,
        "elb_proxy_upstream_responses_total",
        "counter",
        "Member answers by status class.",
    );
    for c in &rt.clusters {
        for m in &c.members {
            for (i, class) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
                let _ = writeln!(
                    o,
                    "elb_proxy_upstream_responses_total{{{},class=\"{class}\"}} {}",
                    label(&c.name, &m.name),
                    m.stats.responses[i].load(Relaxed)
                );
            }
        }
    }
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
            "Response heads not received in time, and bodies cut by the total timeout.",
            |s| s.timeouts.load(Relaxed),
        ),
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
            "Response body bytes relayed from the member.",
            |s| s.bytes_out.load(Relaxed),
        ),
        (
            "elb_proxy_upstream_request_bytes_total",
            "Request bytes sent to the member (head estimate plus declared body).",
            |s| s.bytes_in.load(Relaxed),
        ),
    ];
    for (name, help, read) in counters {
        family(o, name, "counter", help);
        for c in &rt.clusters {
            for m in &c.members {
                let _ = writeln!(
                    o,
                    "{name}{{{}}} {}",
                    label(&c.name, &m.name),
                    read(&m.stats)
                );
            }
        }
    }
    family(
        o,
        "elb_proxy_ejections_total",
        "counter",
        "Passive ejections, by cause (connection failures or 5xx answers).",
    );
    for c in &rt.clusters {
        for m in &c.members {
            let all = m.stats.ejections.load(Relaxed);
            let by_5xx = m.stats.ejections_5xx.load(Relaxed);
            for (cause, v) in [("connection", all.saturating_sub(by_5xx)), ("5xx", by_5xx)] {
                let _ = writeln!(
                    o,
                    "elb_proxy_ejections_total{{{},cause=\"{cause}\"}} {v}",
                    label(&c.name, &m.name)
                );
            }
        }
    }
    type Pick = fn(&MemberStats) -> &crate::stats::Histogram;
    let hists: [(&str, &str, Pick); 2] = [
        (
            "elb_proxy_upstream_connect_seconds",
            "Time to open a fresh connection to the member.",
            |s| &s.connect_time,
        ),
        (
            "elb_proxy_upstream_first_byte_seconds",
            "From the request head to the member's response head.",
            |s| &s.first_byte,
        ),
    ];
    for (name, help, pick) in hists {
        family(o, name, "histogram", help);
        for c in &rt.clusters {
            for m in &c.members {
                pick(&m.stats).render(o, name, &label(&c.name, &m.name));
            }
        }
    }
    member_gauges(o, rt, now);
}

/// Member state gauges, one family at a time.
fn member_gauges(o: &mut String, rt: &Snapshot, now: Instant) {
    let mut up = String::new();
    let mut in_flight = String::new();
    for c in &rt.clusters {
        let b = c.lock();
        for (i, m) in c.members.iter().enumerate() {
            let s = &b.members[i];
            let labels = format!("cluster=\"{}\",member=\"{}\"", esc(&c.name), esc(&m.name));
            let _ = writeln!(
                up,
                "elb_proxy_member_up{{{labels}}} {}",
                u8::from(s.available(now))
            );
            let _ = writeln!(
                in_flight,
                "elb_proxy_member_in_flight{{{labels}}} {}",
                s.in_flight
            );
        }
    }
    family(
        o,
        "elb_proxy_member_up",
        "gauge",
        "1 when the member may take traffic.",
    );
    o.push_str(&up);
    family(
        o,
        "elb_proxy_member_in_flight",
        "gauge",
        "Requests in progress on the member.",
    );
    o.push_str(&in_flight);
}

/// Per-cluster counters and the latency histograms.
fn clusters(o: &mut String, rt: &Snapshot) {
    type Read = fn(&crate::stats::ClusterStats) -> u64;
    let fams: [(&str, &str, Read); 8] = [
        (
            "elb_proxy_retries_total",
            "Further members tried after a failure before anything was sent.",
            |s| s.retries.load(Relaxed),
        ),
        (
            "elb_proxy_no_member_total",
            "Requests answered 503 because no member was available.",
            |s| s.no_member.load(Relaxed),
        ),
        (
            "elb_proxy_mirrored_total",
            "Mirrored copies this shadow cluster answered.",
            |s| s.mirror.mirrored.load(Relaxed),
        ),
        (
            "elb_proxy_mirror_dropped_total",
            "Mirrored copies not sent: in-flight bound full, body too large, or body cut.",
            |s| s.mirror.dropped.load(Relaxed),
        ),
        (
            "elb_proxy_mirror_failed_total",
            "Mirrored copies sent that failed (no member, connect, timeout, broken answer).",
            |s| s.mirror.failed.load(Relaxed),
        ),
        (
            "elb_proxy_queue_full_total",
            "Requests answered 503 because every member was at max_connections and the queue was full.",
            |s| s.queue_full.load(Relaxed),
        ),
        (
            "elb_proxy_queue_timeouts_total",
            "Requests answered 503 after waiting queue_timeout in the queue.",
            |s| s.queue_timeouts.load(Relaxed),
        ),
        (
            "elb_proxy_retry_budget_exhausted_total",
            "Retries the policy allowed but the retry budget refused.",
            |s| s.retry_budget_exhausted.load(Relaxed),
        ),
    ];
    for (name, help, read) in fams {
        family(o, name, "counter", help);
        for c in &rt.clusters {
            let _ = writeln!(
                o,
                "{name}{{cluster=\"{}\"}} {}",
                esc(&c.name),
                read(&c.stats)
            );
        }
    }
    family(
        o,
        "elb_proxy_queue_waiting",
        "gauge",
        "Requests waiting in the cluster queue for a member below max_connections.",
    );
    for c in &rt.clusters {
        if let Some(q) = &c.queue {
            let waiting = q.lock().unwrap_or_else(|p| p.into_inner()).waiting();
            let _ = writeln!(
                o,
                "elb_proxy_queue_waiting{{cluster=\"{}\"}} {waiting}",
                esc(&c.name)
            );
        }
    }
    let name = "elb_proxy_upstream_latency_seconds";
    family(
        o,
        name,
        "histogram",
        "Time to the member's response head, by cluster.",
    );
    for c in &rt.clusters {
        c.stats
            .latency
            .render(o, name, &format!("cluster=\"{}\"", esc(&c.name)));
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
