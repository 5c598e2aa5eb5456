//! `--format json`: one object per probe on stdout, for programs. Field
//! names are part of the interface (docs/elb-check.md lists them); times are
//! milliseconds as numbers, absent facts are `null`.

use elb_probe::{ProbeResult, UtcTime};
use serde_json::{Map, Value, json};

use crate::assess::Assessment;
use crate::report::phase_totals;

fn ms(d: std::time::Duration) -> Value {
    json!((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// The JSON object for one probe; `code` is the exit status reported.
pub fn object(result: &ProbeResult, assessment: &Assessment, code: u8, now: i64) -> Value {
    let mut phases = Map::new();
    for (phase, took) in phase_totals(result) {
        phases.insert(phase.name().to_string(), ms(took));
    }
    let certificate = result.certificate.as_ref().map(|c| {
        json!({
            "days_left": c.days_left(now),
            "not_before": UtcTime(c.not_before).to_string(),
            "not_after": UtcTime(c.not_after).to_string(),
            "names": c.names,
            "common_name": c.common_name,
            "self_signed": c.self_issued,
        })
    });
    json!({
        "url": result.last_url,
        "verdict": assessment.label,
        "healthy": assessment.healthy,
        "exit_code": code,
        "status": result.status,
        "status_line": result.status_line,
        "failed_phase": assessment.failed,
        "error": (!assessment.healthy).then_some(&assessment.detail),
        "detail": assessment.detail,
        "total_ms": ms(result.total),
        "phases_ms": phases,
        "bytes": result.bytes_received,
        "redirects": result.redirects,
        "peer": result.peer,
        "certificate": certificate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::{Rules, assess};
    use elb_probe::{Phase, PhaseTime, Verdict};
    use std::time::Duration;

    #[test]
    fn fields_for_programs() {
        let result = ProbeResult {
            verdict: Verdict::UnexpectedAnswer,
            failed_phase: Some(Phase::Judge),
            detail: "status 503 Service Unavailable not in expected 200".into(),
            status_line: Some("HTTP/1.1 503 Service Unavailable".into()),
            status: Some(503),
            timings: vec![PhaseTime {
                phase: Phase::Connect,
                took: Duration::from_micros(1500),
            }],
            total: Duration::from_micros(2250),
            bytes_received: 10,
            redirects: 0,
            last_url: "http://127.0.0.1:1/".into(),
            peer: None,
            certificate: None,
        };
        let a = assess(&result, &Rules::default(), 0);
        let v = object(&result, &a, 8, 0);
        assert_eq!(v["verdict"], "unexpected answer");
        assert_eq!(v["exit_code"], 8);
        assert_eq!(v["status"], 503);
        assert_eq!(v["phases_ms"]["connect"], 1.5);
        assert_eq!(v["total_ms"], 2.25);
        assert_eq!(v["failed_phase"], "judge");
        assert!(v["error"].as_str().unwrap().contains("503"));
        assert!(v["certificate"].is_null() && v["peer"].is_null());
    }
}
