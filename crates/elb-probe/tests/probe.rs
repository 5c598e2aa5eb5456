//! The probe library against real local servers: verdicts, the failed
//! phase, per-phase timings, and that the probe future can run on
//! elb-proxy's multi-thread runtime.

mod support;

use std::time::{Duration, Instant};

use elb_probe::{Phase, ProbeSpec, Target, Verdict, probe};
use support::{Misbehave, app, http_server, raw_server, refused_port, rt};

fn spec(url: &str) -> ProbeSpec {
    ProbeSpec::new(Target::parse(url).expect("url"))
}

#[test]
fn probe_future_is_send_for_multi_thread_runtimes() {
    fn assert_send<T: Send>(_: &T) {}
    let s = spec("http://127.0.0.1:1/");
    let fut = probe(&s);
    assert_send(&fut);
}

#[test]
fn healthy_probe_records_every_phase() {
    let addr = http_server(app());
    let result = rt().block_on(probe(&spec(&format!("http://{addr}/services/EchoProxy"))));
    assert_eq!(result.verdict, Verdict::Healthy, "{}", result.detail);
    assert_eq!(result.status, Some(200));
    assert_eq!(result.failed_phase, None);
    let phases: Vec<Phase> = result.timings.iter().map(|t| t.phase).collect();
    assert_eq!(
        phases,
        [Phase::Connect, Phase::Send, Phase::Wait, Phase::Receive]
    );
    let sum: Duration = result.timings.iter().map(|t| t.took).sum();
    assert!(sum <= result.total);
    assert_eq!(result.peer.as_deref(), Some(addr.to_string().as_str()));
}

#[test]
fn failures_name_their_phase() {
    let refused = rt().block_on(probe(&spec(&format!("http://{}/", refused_port()))));
    assert_eq!(refused.verdict, Verdict::NetworkFailure);
    assert_eq!(refused.failed_phase, Some(Phase::Connect));

    let silent = raw_server(Misbehave::NeverAnswer);
    let mut s = spec(&format!("http://{}/", silent.addr));
    s.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let result = rt().block_on(probe(&s));
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(result.verdict, Verdict::NetworkFailure);
    assert_eq!(result.failed_phase, Some(Phase::Wait));
    assert!(result.detail.contains("timed out"), "{}", result.detail);

    let garbage = raw_server(Misbehave::Garbage);
    let result = rt().block_on(probe(&spec(&format!("http://{}/", garbage.addr))));
    assert_eq!(result.verdict, Verdict::ProtocolError);
    assert_eq!(result.failed_phase, Some(Phase::Receive));

    let gone = rt().block_on(probe(&spec(&format!(
        "http://{}/status/503",
        http_server(app())
    ))));
    assert_eq!(gone.verdict, Verdict::UnexpectedAnswer);
    assert_eq!(gone.failed_phase, Some(Phase::Judge));
    assert_eq!(gone.status, Some(503));
}

#[test]
fn chunked_body_is_decoded_before_matching() {
    let server = raw_server(Misbehave::Canned(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nstat\r\n8\r\nus: UP\r\n\r\n0\r\n\r\n"
            .to_vec(),
    ));
    let mut s = spec(&format!("http://{}/", server.addr));
    s.body_regex = Some(regex_lite::Regex::new("status: UP").unwrap());
    let result = rt().block_on(probe(&s));
    assert_eq!(result.verdict, Verdict::Healthy, "{}", result.detail);
}

#[test]
fn localhost_needs_no_resolver() {
    // "localhost" is loopback by definition (RFC 6761): no DNS, no resolver
    // thread. (Names needing DNS are not tested: tests send nothing off the host.)
    let addr = http_server(app());
    let local = rt().block_on(probe(&spec(&format!("http://localhost:{}/", addr.port()))));
    assert_eq!(local.verdict, Verdict::Healthy, "{}", local.detail);
    assert!(local.timings.iter().all(|t| t.phase != Phase::Resolve));
}
