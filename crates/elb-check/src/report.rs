//! Text elb-check prints: the `-v` phase lines and the check_http-style
//! Nagios line with perfdata for every phase. Pure functions of a
//! [`ProbeResult`] and its [`Assessment`], so they are tested without a probe.

use std::fmt::Write as _;
use std::time::Duration;

use elb_probe::{Phase, ProbeResult};

use crate::assess::Assessment;

/// `-v`: one line per phase with its duration, then the verdict and exit status.
pub fn verbose_lines(result: &ProbeResult, assessment: &Assessment, code: u8) -> String {
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
    let phase = assessment
        .failed
        .map(|p| format!(" in {p}"))
        .unwrap_or_default();
    let peer = result
        .peer
        .as_deref()
        .map(|p| format!(" via {p}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "elb-check: {}{peer}: {}{phase}: {} (total {:.3} ms, {} bytes, exit {code})",
        result.last_url,
        assessment.label,
        assessment.detail,
        result.total.as_secs_f64() * 1000.0,
        result.bytes_received,
    );
    out
}

/// Total time per phase over all redirect hops, in the order phases first ran.
pub fn phase_totals(result: &ProbeResult) -> Vec<(Phase, Duration)> {
    let mut totals: Vec<(Phase, Duration)> = Vec::new();
    for t in &result.timings {
        match totals.iter_mut().find(|(p, _)| *p == t.phase) {
            Some((_, sum)) => *sum += t.took,
            None => totals.push((t.phase, t.took)),
        }
    }
    totals
}

/// check_curl's perfdata label for a phase (`time_connect`, `time_ssl`, ...).
fn perf_label(phase: Phase) -> &'static str {
    match phase {
        Phase::Setup => "time_setup",
        Phase::Resolve => "time_resolve",
        Phase::Connect => "time_connect",
        Phase::Tls => "time_ssl",
        Phase::Send => "time_headers",
        Phase::Wait => "time_firstbyte",
        Phase::Receive => "time_transfer",
        Phase::Judge => "time_judge",
    }
}

/// The response-time thresholds shown in the perfdata.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// `--timeout`, the perfdata maximum.
    pub timeout: Duration,
    /// `--warning`.
    pub warning: Option<Duration>,
    /// `--critical`.
    pub critical: Option<Duration>,
}

/// The one-line monitoring-plugins output with perfdata.
pub fn nagios_line(result: &ProbeResult, assessment: &Assessment, limits: Thresholds) -> String {
    let secs = result.total.as_secs_f64();
    let threshold = |d: Option<Duration>| {
        d.map(|d| format!("{:.6}", d.as_secs_f64()))
            .unwrap_or_default()
    };
    let mut perf = format!(
        "time={secs:.6}s;{};{};0.000000;{:.6} size={}B;;;0",
        threshold(limits.warning),
        threshold(limits.critical),
        limits.timeout.as_secs_f64(),
        result.bytes_received
    );
    for (phase, took) in phase_totals(result) {
        if !matches!(phase, Phase::Setup | Phase::Judge) {
            let _ = write!(
                perf,
                " {}={:.6}s;;;;",
                perf_label(phase),
                took.as_secs_f64()
            );
        }
    }
    if let Some(cert) = &result.certificate {
        let _ = write!(
            perf,
            " cert_days={};;;;",
            cert.days_left(crate::assess::unix_now())
        );
    }
    let clean = |s: &str| s.replace('|', "/").replace(['\n', '\r'], " ");
    let word = assessment.state.word();
    let answered = matches!(
        result.verdict,
        elb_probe::Verdict::Healthy | elb_probe::Verdict::UnexpectedAnswer
    );
    let summary = match &result.status_line {
        Some(line) if assessment.healthy => format!(
            "HTTP {word}: {} - {} bytes in {secs:.3} second response time",
            clean(line),
            result.bytes_received
        ),
        Some(line) if answered => format!(
            "HTTP {word}: {} - {} - {} bytes in {secs:.3} second response time",
            clean(line),
            clean(&assessment.detail),
            result.bytes_received
        ),
        _ => format!(
            "HTTP {word} - {}{}: {}",
            assessment.label,
            assessment
                .failed
                .map(|p| format!(" in {p}"))
                .unwrap_or_default(),
            clean(&assessment.detail)
        ),
    };
    format!("{summary} |{perf}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::{Rules, assess};
    use crate::exit::NagiosState;
    use elb_probe::{PhaseTime, Verdict};

    fn result(verdict: Verdict, status: Option<&str>, ms: u64) -> ProbeResult {
        let time = |phase, ms| PhaseTime {
            phase,
            took: Duration::from_millis(ms),
        };
        ProbeResult {
            verdict,
            failed_phase: (verdict != Verdict::Healthy).then_some(Phase::Connect),
            detail: "why | not".into(),
            status_line: status.map(str::to_string),
            status: None,
            timings: vec![time(Phase::Connect, ms), time(Phase::Connect, ms)],
            total: Duration::from_millis(ms),
            bytes_received: 42,
            redirects: 0,
            last_url: "http://127.0.0.1:1/".into(),
            peer: Some("127.0.0.1:1".into()),
            certificate: None,
        }
    }

    const ONE_SECOND: Thresholds = Thresholds {
        timeout: Duration::from_secs(1),
        warning: None,
        critical: None,
    };

    #[test]
    fn nagios_lines() {
        let ok = result(Verdict::Healthy, Some("HTTP/1.1 200 OK"), 2);
        let a = assess(&ok, &Rules::default(), 0);
        assert_eq!(a.state, NagiosState::Ok);
        assert_eq!(
            nagios_line(&ok, &a, ONE_SECOND),
            "HTTP OK: HTTP/1.1 200 OK - 42 bytes in 0.002 second response time |time=0.002000s;;;0.000000;1.000000 size=42B;;;0 time_connect=0.004000s;;;;"
        );
        let bad = result(Verdict::NetworkFailure, None, 1);
        let line = nagios_line(&bad, &assess(&bad, &Rules::default(), 0), ONE_SECOND);
        assert!(
            line.starts_with("HTTP CRITICAL - network failure in connect: why / not |time="),
            "{line}"
        );
        assert_eq!(line.matches('|').count(), 1);
    }

    #[test]
    fn verbose_marks_the_failed_phase() {
        let bad = result(Verdict::NetworkFailure, None, 3);
        let text = verbose_lines(&bad, &assess(&bad, &Rules::default(), 0), 4);
        assert!(text.contains("connect      3.000 ms  FAILED"), "{text}");
        assert!(text.contains("network failure in connect"), "{text}");
        assert!(text.trim_end().ends_with("exit 4)"), "{text}");
    }
}
