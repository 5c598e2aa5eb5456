//! Text elb-check prints: the `-v` phase lines and the check_http-style
//! Nagios line. Pure functions of a [`ProbeResult`], so they are tested
//! without running a probe.

use std::fmt::Write as _;
use std::time::Duration;

use elb_probe::{ProbeResult, Verdict};

use crate::exit::{NagiosState, nagios_state};

/// `-v`: one line per phase with its duration, then the verdict and exit status.
pub fn verbose_lines(result: &ProbeResult, code: u8) -> String {
    let mut out = String::new();
    for (i, t) in result.timings.iter().enumerate() {
        let failed = i + 1 == result.timings.len() && result.failed_phase == Some(t.phase);
        let _ = writeln!(
            out,
            "elb-check: {:<8} {:>9.3} ms{}",
            t.phase.name(),
            t.took.as_secs_f64() * 1000.0,
            if failed { "  FAILED" } else { "" }
        );
    }
    let phase = match result.failed_phase {
        Some(p) if result.verdict != Verdict::Healthy => format!(" in {p}"),
        _ => String::new(),
    };
    let peer = result
        .peer
        .as_deref()
        .map(|p| format!(" via {p}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "elb-check: {}{peer}: {}{phase}: {} (total {:.3} ms, {} bytes, exit {code})",
        result.last_url,
        result.verdict.describe(),
        result.detail,
        result.total.as_secs_f64() * 1000.0,
        result.bytes_received,
    );
    out
}

/// Nagios state including the response-time thresholds (which only ever
/// make a healthy answer worse, as in check_http).
pub fn nagios_with_thresholds(
    result: &ProbeResult,
    warning: Option<Duration>,
    critical: Option<Duration>,
) -> NagiosState {
    let state = nagios_state(result.verdict);
    if state != NagiosState::Ok {
        return state;
    }
    if critical.is_some_and(|c| result.total > c) {
        NagiosState::Critical
    } else if warning.is_some_and(|w| result.total > w) {
        NagiosState::Warning
    } else {
        NagiosState::Ok
    }
}

/// The one-line monitoring-plugins output with perfdata.
pub fn nagios_line(
    result: &ProbeResult,
    state: NagiosState,
    timeout: Duration,
    warning: Option<Duration>,
    critical: Option<Duration>,
) -> String {
    let secs = result.total.as_secs_f64();
    let threshold = |d: Option<Duration>| {
        d.map(|d| format!("{:.6}", d.as_secs_f64()))
            .unwrap_or_default()
    };
    let perf = format!(
        "time={secs:.6}s;{};{};0.000000;{:.6} size={}B;;;0",
        threshold(warning),
        threshold(critical),
        timeout.as_secs_f64(),
        result.bytes_received
    );
    let clean = |s: &str| s.replace('|', "/").replace(['\n', '\r'], " ");
    let summary = match (&result.status_line, result.verdict) {
        (Some(line), Verdict::Healthy) => format!(
            "HTTP {}: {} - {} bytes in {secs:.3} second response time",
            state.word(),
            clean(line),
            result.bytes_received
        ),
        (Some(line), Verdict::UnexpectedAnswer) => format!(
            "HTTP {}: {} - {} - {} bytes in {secs:.3} second response time",
            state.word(),
            clean(line),
            clean(&result.detail),
            result.bytes_received
        ),
        _ => format!(
            "HTTP {} - {}{}: {}",
            state.word(),
            result.verdict.describe(),
            result
                .failed_phase
                .map(|p| format!(" in {p}"))
                .unwrap_or_default(),
            clean(&result.detail)
        ),
    };
    format!("{summary} |{perf}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use elb_probe::{Phase, PhaseTime};

    fn result(verdict: Verdict, status: Option<&str>, ms: u64) -> ProbeResult {
        ProbeResult {
            verdict,
            failed_phase: (verdict != Verdict::Healthy).then_some(Phase::Connect),
            detail: "why | not".into(),
            status_line: status.map(str::to_string),
            status: None,
            timings: vec![PhaseTime {
                phase: Phase::Connect,
                took: Duration::from_millis(ms),
            }],
            total: Duration::from_millis(ms),
            bytes_received: 42,
            redirects: 0,
            last_url: "http://127.0.0.1:1/".into(),
            peer: Some("127.0.0.1:1".into()),
        }
    }

    #[test]
    fn nagios_lines() {
        let ok = result(Verdict::Healthy, Some("HTTP/1.1 200 OK"), 2);
        let state = nagios_with_thresholds(&ok, None, None);
        assert_eq!(state, NagiosState::Ok);
        assert_eq!(
            nagios_line(&ok, state, Duration::from_secs(1), None, None),
            "HTTP OK: HTTP/1.1 200 OK - 42 bytes in 0.002 second response time |time=0.002000s;;;0.000000;1.000000 size=42B;;;0"
        );
        let slow = nagios_with_thresholds(&ok, Some(Duration::from_millis(1)), None);
        assert_eq!(slow, NagiosState::Warning);
        let bad = result(Verdict::NetworkFailure, None, 1);
        let line = nagios_line(
            &bad,
            nagios_with_thresholds(&bad, None, None),
            Duration::from_secs(1),
            None,
            None,
        );
        assert!(
            line.starts_with("HTTP CRITICAL - network failure in connect: why / not |time="),
            "{line}"
        );
        assert_eq!(line.matches('|').count(), 1);
    }

    #[test]
    fn verbose_marks_the_failed_phase() {
        let bad = result(Verdict::NetworkFailure, None, 3);
        let text = verbose_lines(&bad, 4);
        assert!(text.contains("connect      3.000 ms  FAILED"), "{text}");
        assert!(text.contains("network failure in connect"), "{text}");
        assert!(text.trim_end().ends_with("exit 4)"), "{text}");
    }
}
