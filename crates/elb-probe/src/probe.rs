//! The async probe: one request (plus redirects when asked) under one total
//! deadline, each phase timed, every failure mapped to a verdict and the
//! phase it happened in. Only I/O and sequencing live here; parsing is in
//! [`crate::response`], judging in [`crate::judge`].

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::connect::{self, Io};
use crate::judge::judge;
use crate::outcome::{Phase, PhaseTime, ProbeResult, Verdict};
use crate::response::{Progress, ResponseHead, ResponseReader};
use crate::spec::{Method, ProbeSpec, valid_header_name, valid_header_value};
use crate::target::{Endpoint, Scheme, Target};
use crate::tls::{self, HandshakeFailure};
use crate::x509::CertFacts;

/// A failure on the way: what it means, and a sentence saying why.
struct Failure {
    verdict: Verdict,
    detail: String,
}

impl Failure {
    fn new(verdict: Verdict, detail: impl Into<String>) -> Self {
        Self {
            verdict,
            detail: detail.into(),
        }
    }
}

/// What one request brought back.
struct Answer {
    head: ResponseHead,
    body: Vec<u8>,
    body_truncated: bool,
}

/// Bookkeeping across phases and redirect hops.
struct Run {
    start: Instant,
    deadline: Instant,
    timeout: Duration,
    timings: Vec<PhaseTime>,
    bytes: u64,
    peer: Option<String>,
    status_line: Option<String>,
    status: Option<u16>,
    certificate: Option<CertFacts>,
}

impl Run {
    /// Runs one phase under the total deadline and records how long it took.
    async fn phase<T>(
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

/// Whether the spec's Host/SNI overrides apply to this hop: only while the
/// probe stays on the authority it started with.
fn same_origin(spec: &ProbeSpec, target: &Target) -> bool {
    target.authority == spec.target.authority && target.scheme == spec.target.scheme
}

/// One connection, one request, one answer.
async fn exchange(
    spec: &ProbeSpec,
    target: &Target,
    run: &mut Run,
) -> Result<Answer, (Phase, Failure)> {
    let overrides = same_origin(spec, target);
    let tls_config = if target.scheme == Scheme::Https {
        let config = tls::client_config(&spec.tls).map_err(|e| {
            (
                Phase::Setup,
                Failure::new(Verdict::SetupError, e.to_string()),
            )
        })?;
        Some(config)
    } else {
        None
    };

    let deadline = run.deadline;
    let stream: Box<dyn Io> = match &target.endpoint {
        Endpoint::Unix { path } => {
            let s = run
                .phase(Phase::Connect, async {
                    connect::connect_unix(path)
                        .await
                        .map_err(|e| Failure::new(Verdict::NetworkFailure, e))
                })
                .await?;
            run.peer = Some(path.display().to_string());
            Box::new(s)
        }
        Endpoint::Tcp { host, port } => {
            let addrs = if connect::needs_resolver(host) {
                run.phase(Phase::Resolve, async {
                    connect::resolve(host, *port, spec.family)
                        .await
                        .map_err(|e| {
                            Failure::new(
                                Verdict::NetworkFailure,
                                format!("cannot resolve {}: {e}", target.server_name),
                            )
                        })
                })
                .await?
            } else {
                connect::resolve(host, *port, spec.family)
                    .await
                    .map_err(|e| {
                        (
                            Phase::Resolve,
                            Failure::new(Verdict::NetworkFailure, e.to_string()),
                        )
                    })?
            };
            let (s, addr) = run
                .phase(Phase::Connect, async {
                    connect::connect_tcp(&addrs, deadline).await.map_err(|e| {
                        Failure::new(Verdict::NetworkFailure, format!("cannot connect: {e}"))
                    })
                })
                .await?;
            run.peer = Some(addr.to_string());
            Box::new(s)
        }
    };

    let mut stream: Box<dyn Io> = match tls_config {
        None => stream,
        Some(config) => {
            let name_text = match (&spec.tls.sni, &spec.host) {
                (Some(sni), _) if overrides => sni.clone(),
                (None, Some(host)) if overrides => strip_port(host).to_string(),
                _ => target.server_name.clone(),
            };
            let name = tls::server_name(&name_text).ok_or_else(|| {
                (
                    Phase::Tls,
                    Failure::new(
                        Verdict::SetupError,
                        format!("invalid TLS server name {name_text:?}"),
                    ),
                )
            })?;
            let connector = tokio_rustls::TlsConnector::from(config);
            let s = run
                .phase(Phase::Tls, async {
                    connector.connect(name, stream).await.map_err(|e| {
                        let verdict = match tls::classify(&e) {
                            HandshakeFailure::Tls => Verdict::TlsFailure,
                            HandshakeFailure::Protocol => Verdict::ProtocolError,
                            HandshakeFailure::Network => Verdict::NetworkFailure,
                        };
                        Failure::new(verdict, format!("{name_text}: {}", tls::describe_io(&e)))
                    })
                })
                .await?;
            run.certificate = s
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| CertFacts::parse(leaf));
            Box::new(s)
        }
    };

    let request = build_request(spec, target, overrides);
    run.phase(
        Phase::Send,
        network_step(
            async {
                stream.write_all(&request).await?;
                stream.flush().await
            },
            "cannot send request",
        ),
    )
    .await?;

    let mut reader =
        ResponseReader::new(spec.limits, spec.wants_body(), spec.method == Method::Head);
    let mut buf = vec![0u8; 16 * 1024];
    let first = run
        .phase(Phase::Wait, async {
            read_some(&mut stream, &mut buf).await
        })
        .await?;
    let result = run
        .phase(Phase::Receive, async {
            let mut n = first;
            loop {
                if n == 0 {
                    return reader
                        .finish()
                        .map_err(|e| Failure::new(Verdict::ProtocolError, e.to_string()));
                }
                match reader.feed(&buf[..n]) {
                    Ok(Progress::Done) => return Ok(()),
                    Ok(Progress::NeedMore) => {}
                    Err(e) => return Err(Failure::new(Verdict::ProtocolError, e.to_string())),
                }
                n = read_some(&mut stream, &mut buf).await?;
            }
        })
        .await;
    run.bytes += reader.received();
    result?;
    let head = reader.head().cloned().ok_or_else(|| {
        (
            Phase::Receive,
            Failure::new(Verdict::ProtocolError, "no response head"),
        )
    })?;
    Ok(Answer {
        head,
        body: reader.body().to_vec(),
        body_truncated: reader.body_truncated(),
    })
}

/// Reads what is available; a TLS peer closing without close_notify counts
/// as a plain end of stream, as it does for curl and wget.
async fn read_some(stream: &mut Box<dyn Io>, buf: &mut [u8]) -> Result<usize, Failure> {
    match stream.read(buf).await {
        Ok(n) => Ok(n),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
        Err(e) => {
            // TLS 1.3 servers refuse a client certificate after the client
            // considers the handshake done, so a TLS alert can arrive here.
            let verdict = match tls::classify(&e) {
                HandshakeFailure::Tls => Verdict::TlsFailure,
                HandshakeFailure::Protocol => Verdict::ProtocolError,
                HandshakeFailure::Network => Verdict::NetworkFailure,
            };
            Err(Failure::new(
                verdict,
                format!("read failed: {}", tls::describe_io(&e)),
            ))
        }
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

/// Refuses header names and values that would corrupt the request head
/// (CR, LF, other controls): the spec may come from a config file.
fn check_request_fields(spec: &ProbeSpec) -> Result<(), String> {
    if let Some(host) = &spec.host {
        if host.is_empty() || !valid_header_value(host) {
            return Err(format!("invalid Host override {host:?}"));
        }
    }
    if !valid_header_value(&spec.user_agent) {
        return Err(format!("invalid User-Agent {:?}", spec.user_agent));
    }
    for (name, value) in &spec.headers {
        if !valid_header_name(name) || !valid_header_value(value) {
            return Err(format!("invalid request header {name:?}: {value:?}"));
        }
    }
    Ok(())
}

/// The request head. Caller-given headers replace the defaults of the same name.
fn build_request(spec: &ProbeSpec, target: &Target, overrides: bool) -> Vec<u8> {
    let user_has = |name: &str| {
        overrides
            && spec
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(spec.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !user_has("host") {
        let host = match &spec.host {
            Some(h) if overrides => h.as_str(),
            _ => target.authority.as_str(),
        };
        push_header(&mut out, "Host", host);
    }
    if !user_has("user-agent") {
        push_header(&mut out, "User-Agent", &spec.user_agent);
    }
    if !user_has("accept") {
        push_header(&mut out, "Accept", "*/*");
    }
    if !user_has("connection") {
        push_header(&mut out, "Connection", "close");
    }
    if overrides {
        for (name, value) in &spec.headers {
            push_header(&mut out, name, value);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Awaits an I/O step, mapping its error to a network failure with context.
async fn network_step<T>(
    step: impl Future<Output = io::Result<T>>,
    context: &'static str,
) -> Result<T, Failure> {
    step.await
        .map_err(|e| Failure::new(Verdict::NetworkFailure, format!("{context}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_head_defaults_and_overrides() {
        let mut spec =
            ProbeSpec::new(Target::parse("http://127.0.0.1:8280/services/EchoProxy").unwrap());
        let text = String::from_utf8(build_request(&spec, &spec.target, true)).unwrap();
        assert!(
            text.starts_with("GET /services/EchoProxy HTTP/1.1\r\nHost: 127.0.0.1:8280\r\n"),
            "{text}"
        );
        assert!(text.contains("Connection: close\r\n") && text.ends_with("\r\n\r\n"));
        spec.host = Some("app.example:8280".into());
        spec.method = Method::Head;
        spec.headers.push(("User-Agent".into(), "probe".into()));
        let text = String::from_utf8(build_request(&spec, &spec.target, true)).unwrap();
        assert!(
            text.starts_with("HEAD /services/EchoProxy HTTP/1.1\r\nHost: app.example:8280\r\n"),
            "{text}"
        );
        assert_eq!(text.matches("User-Agent").count(), 1);
        assert!(text.contains("User-Agent: probe\r\n"));
        // A redirect elsewhere drops the overrides.
        let other = Target::parse("http://elsewhere/x").unwrap();
        let text = String::from_utf8(build_request(&spec, &other, false)).unwrap();
        assert!(
            text.contains("Host: elsewhere\r\n") && !text.contains("probe"),
            "{text}"
        );
    }

    #[test]
    fn header_injection_is_refused() {
        let mut spec = ProbeSpec::new(Target::parse("http://127.0.0.1/").unwrap());
        assert!(check_request_fields(&spec).is_ok());
        spec.headers.push(("X-A".into(), "b\r\nEvil: 1".into()));
        assert!(check_request_fields(&spec).is_err());
        spec.headers.clear();
        spec.headers.push(("Bad Name".into(), "v".into()));
        assert!(check_request_fields(&spec).is_err());
        spec.headers.clear();
        spec.host = Some("h\n".into());
        assert!(check_request_fields(&spec).is_err());
    }

    #[test]
    fn port_stripping_for_sni() {
        assert_eq!(strip_port("app.example:8443"), "app.example");
        assert_eq!(strip_port("app.example"), "app.example");
        assert_eq!(strip_port("[::1]:8443"), "::1");
    }
}
