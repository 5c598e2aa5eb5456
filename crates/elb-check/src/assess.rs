//! From a probe's result to what elb-check reports: the exit status in
//! each vocabulary and the one sentence that says why. The rules that are
//! elb-check's own (certificate days, Nagios response-time thresholds) are
//! applied here, on top of the probe's verdict, in one place.

use std::time::Duration;

use elb_probe::{ProbeResult, UtcTime, Verdict};

use crate::exit::{self, NagiosState};

/// The rules elb-check adds to the probe's verdict.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// `--cert-days N`: the certificate must stay valid at least N more days.
    pub cert_days: Option<u32>,
    /// `--warning`: Nagios WARNING when healthy but slower.
    pub warning: Option<Duration>,
    /// `--critical`: Nagios CRITICAL when healthy but slower.
    pub critical: Option<Duration>,
}

/// What to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// Whether the answer met every rule (the track state in watch mode).
    pub healthy: bool,
    /// wget-style exit status (plain and JSON output).
    pub code: u8,
    /// monitoring-plugins state (Nagios output).
    pub state: NagiosState,
    /// The failed phase's name, or `cert-days`; None when healthy.
    pub failed: Option<&'static str>,
    /// The verdict in words (`healthy`, `network failure`, ...).
    pub label: &'static str,
    /// Why, in one sentence (what was seen when healthy).
    pub detail: String,
}

/// Seconds since the Unix epoch, for certificate days.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Applies `rules` to `result` at time `now` (Unix seconds).
pub fn assess(result: &ProbeResult, rules: &Rules, now: i64) -> Assessment {
    let mut out = Assessment {
        healthy: result.verdict == Verdict::Healthy,
        code: exit::wget_code(result.verdict),
        state: exit::nagios_state(result.verdict),
        failed: result
            .failed_phase
            .filter(|_| result.verdict != Verdict::Healthy)
            .map(|p| p.name()),
        label: result.verdict.describe(),
        detail: result.detail.clone(),
    };
    if !out.healthy {
        return out;
    }
    if let (Some(min), Some(cert)) = (rules.cert_days, &result.certificate) {
        let left = cert.days_left(now);
        if left < i64::from(min) {
            out.healthy = false;
            out.code = exit::TLS;
            out.state = NagiosState::Warning;
            out.failed = Some("cert-days");
            out.label = Verdict::TlsFailure.describe();
            out.detail = format!(
                "certificate ({}) expires in {left} days ({}), within --cert-days {min}",
                cert.describe_names(),
                UtcTime(cert.not_after)
            );
            return out;
        }
    }
    if rules.critical.is_some_and(|c| result.total > c) {
        out.state = NagiosState::Critical;
    } else if rules.warning.is_some_and(|w| result.total > w) {
        out.state = NagiosState::Warning;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use elb_probe::{CertFacts, Phase};

    fn result(verdict: Verdict, total_ms: u64) -> ProbeResult {
        ProbeResult {
            verdict,
            failed_phase: (verdict != Verdict::Healthy).then_some(Phase::Connect),
            detail: "seen".into(),
            status_line: None,
            status: None,
            timings: Vec::new(),
            total: Duration::from_millis(total_ms),
            bytes_received: 0,
            redirects: 0,
            last_url: "https://localhost/".into(),
            peer: None,
            certificate: Some(CertFacts {
                not_before: 0,
                not_after: 10 * 86_400,
                common_name: None,
                names: vec!["localhost".into()],
                self_issued: true,
            }),
        }
    }

    #[test]
    fn cert_days_turn_healthy_into_tls_and_warning() {
        let rules = Rules {
            cert_days: Some(5),
            ..Rules::default()
        };
        let ok = assess(&result(Verdict::Healthy, 1), &rules, 0);
        assert!(ok.healthy && ok.code == 0 && ok.state == NagiosState::Ok);
        let soon = assess(&result(Verdict::Healthy, 1), &rules, 6 * 86_400);
        assert_eq!(
            (soon.healthy, soon.code, soon.state),
            (false, 5, NagiosState::Warning)
        );
        assert!(
            soon.detail.contains("expires in 4 days (1970-01-11"),
            "{}",
            soon.detail
        );
        // A failed probe keeps its own verdict.
        let down = assess(&result(Verdict::NetworkFailure, 1), &rules, 6 * 86_400);
        assert_eq!((down.code, down.failed), (4, Some("connect")));
    }

    #[test]
    fn response_time_thresholds_only_touch_nagios() {
        let rules = Rules {
            warning: Some(Duration::from_millis(5)),
            critical: Some(Duration::from_millis(50)),
            ..Rules::default()
        };
        let warn = assess(&result(Verdict::Healthy, 10), &rules, 0);
        assert_eq!(
            (warn.healthy, warn.code, warn.state),
            (true, 0, NagiosState::Warning)
        );
        let crit = assess(&result(Verdict::Healthy, 60), &rules, 0);
        assert_eq!(crit.state, NagiosState::Critical);
    }
}
