//! The async probe: one request (plus redirects when asked) under one total
//! deadline, each phase timed, every failure mapped to a verdict and the
//! phase it happened in. Only I/O and sequencing live here; parsing is in
//! [`crate::response`], judging in [`crate::judge`].

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::exchange::exchange;
use crate::judge::judge;
use crate::outcome::{Phase, PhaseTime, ProbeResult, Verdict};
use crate::request::check_request_fields;
use crate::response::ResponseHead;
use crate::spec::ProbeSpec;
use crate::target::Target;
use crate::x509::CertFacts;

/// A failure on the way: what it means, and a sentence saying why.
pub(crate) struct Failure {
    pub(crate) verdict: Verdict,
    pub(crate) detail: String,
}

impl Failure {
    pub(crate) fn new(verdict: Verdict, detail: impl Into<String>) -> Self {
        Self {
            verdict,
            detail: detail.into(),
        }
    }
}

/// What one request brought back.
pub(crate) struct Answer {
    pub(crate) head: ResponseHead,
    pub(crate) body: Vec<u8>,
    pub(crate) body_truncated: bool,
}

/// Bookkeeping across phases and redirect hops.
pub(crate) struct Run {
    start: Instant,
    pub(crate) deadline: Instant,
    timeout: Duration,
    timings: Vec<PhaseTime>,
    pub(crate) bytes: u64,
    pub(crate) peer: Option<String>,
    status_line: Option<String>,
    status: Option<u16>,
    pub(crate) certificate: Option<CertFacts>,
}

impl Run {
    /// Runs one phase under the total deadline and records how long it took.
    pub(crate) async fn phase<T>(
        &mut self,
        phase: Phase,
        work: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, (Phase, Failure)> {
        let began = Instant::now();
        let outcome = tokio::time::timeout_at(self.deadline, work).await;
        let took = began.elapsed();
        tracing::debug!(
            phase = phase.name(),
            ?took,
            ok = matches!(outcome, Ok(Ok(_))),
            "probe phase"
        );
        self.timings.push(PhaseTime { phase, took });
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(failure)) => Err((phase, failure)),
            Err(_) => Err((
                phase,
                Failure::new(
                    Verdict::NetworkFailure,
                    format!("timed out after {:?} (during {phase})", self.timeout),
                ),
            )),
        }
    }

    fn finish(
        self,
        verdict: Verdict,
        failed_phase: Option<Phase>,
        detail: String,
        redirects: u32,
        target: &Target,
    ) -> ProbeResult {
        ProbeResult {
            verdict,
            failed_phase,
            detail,
            status_line: self.status_line,
            status: self.status,
            timings: self.timings,
            total: self.start.elapsed(),
            bytes_received: self.bytes,
            redirects,
            last_url: target.display_url(),
            peer: self.peer,
            certificate: self.certificate,
        }
    }
}

/// Runs one probe as described by `spec` and judges the answer. Never
/// panics on what the server sends and never outlives `spec.timeout`.
/// Must run inside a tokio runtime with I/O and time enabled (a
/// current-thread runtime is enough).
pub async fn probe(spec: &ProbeSpec) -> ProbeResult {
    let start = Instant::now();
    let mut run = Run {
        start,
        deadline: start + spec.timeout,
        timeout: spec.timeout,
        timings: Vec::with_capacity(8),
        bytes: 0,
        peer: None,
        status_line: None,
        status: None,
        certificate: None,
    };
    let mut target = spec.target.clone();
    if let Err(why) = check_request_fields(spec) {
        return run.finish(Verdict::SetupError, Some(Phase::Setup), why, 0, &target);
    }
    let mut redirects = 0;
    loop {
        let answer = match exchange(spec, &target, &mut run).await {
            Ok(answer) => answer,
            Err((phase, failure)) => {
                return run.finish(
                    failure.verdict,
                    Some(phase),
                    failure.detail,
                    redirects,
                    &target,
                );
            }
        };
        run.status_line = Some(answer.head.to_string());
        run.status = Some(answer.head.status);
        if spec.max_redirects > 0 && is_redirect(answer.head.status) {
            if let Some(location) = answer.head.header("location") {
                if redirects >= spec.max_redirects {
                    let detail = format!("more than {} redirects", spec.max_redirects);
                    return run.finish(
                        Verdict::UnexpectedAnswer,
                        Some(Phase::Judge),
                        detail,
                        redirects,
                        &target,
                    );
                }
                let location = String::from_utf8_lossy(location).into_owned();
                match target.follow(&location) {
                    Ok(next) => {
                        redirects += 1;
                        target = next;
                        continue;
                    }
                    Err(e) => {
                        let detail = format!("cannot follow redirect: {e}");
                        return run.finish(
                            Verdict::ProtocolError,
                            Some(Phase::Judge),
                            detail,
                            redirects,
                            &target,
                        );
                    }
                }
            }
        }
        let verdict = judge(spec, &answer.head, &answer.body, answer.body_truncated);
        return match verdict {
            Ok(()) => {
                let detail = format!("{} in {:?}", answer.head, start.elapsed());
                run.finish(Verdict::Healthy, None, detail, redirects, &target)
            }
            Err(why) => run.finish(
                Verdict::UnexpectedAnswer,
                Some(Phase::Judge),
                why,
                redirects,
                &target,
            ),
        };
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}
