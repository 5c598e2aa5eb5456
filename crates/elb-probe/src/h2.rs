//! HTTP/2 for `--http2` (negotiated by ALPN over TLS) and `--h2c` (prior
//! knowledge on cleartext): hyper's client connection on the stream the
//! probe already opened, one request, the answer read into the same bounded
//! [`Answer`] HTTP/1.1 produces, so judging is the same for both.

use std::future::Future;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::connect::Io;
use crate::outcome::{Phase, Verdict};
use crate::probe::{Answer, Failure, Run};
use crate::request::header_fields;
use crate::response::ResponseHead;
use crate::spec::{Method, ProbeSpec};
use crate::target::{Scheme, Target};

/// Runs hyper's connection tasks on the current runtime.
#[derive(Clone, Copy)]
struct Spawner;

impl<F> hyper::rt::Executor<F> for Spawner
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        tokio::spawn(fut);
    }
}

/// An I/O error under hyper's means the transport failed; anything else is
/// the peer not speaking HTTP/2 as it should.
fn failure(context: &str, error: &hyper::Error) -> Failure {
    let mut words = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Failure::new(Verdict::NetworkFailure, format!("{context}: {io}"));
        }
        words.push(e.to_string());
        source = e.source();
    }
    Failure::new(
        Verdict::ProtocolError,
        format!("{context}: {} (not an HTTP/2 server?)", words.join(": ")),
    )
}

fn request(
    spec: &ProbeSpec,
    target: &Target,
    overrides: bool,
) -> Result<hyper::Request<Full<Bytes>>, Failure> {
    let fields = header_fields(spec, target, overrides, false);
    let authority = fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map_or(target.authority.as_str(), |(_, v)| v.as_str());
    let scheme = match target.scheme {
        Scheme::Https => "https",
        Scheme::Http => "http",
    };
    let mut builder = hyper::Request::builder()
        .method(spec.method.as_str())
        .uri(format!("{scheme}://{authority}{}", target.path));
    for (name, value) in fields
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("host"))
    {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = spec.body.clone().map(Bytes::from).unwrap_or_default();
    builder.body(Full::new(body)).map_err(|e| {
        Failure::new(
            Verdict::SetupError,
            format!("cannot build the HTTP/2 request: {e}"),
        )
    })
}

/// One HTTP/2 request and its answer on `stream`.
pub(crate) async fn exchange(
    spec: &ProbeSpec,
    target: &Target,
    run: &mut Run,
    stream: Box<dyn Io>,
    overrides: bool,
) -> Result<Answer, (Phase, Failure)> {
    let request = request(spec, target, overrides).map_err(|f| (Phase::Setup, f))?;
    let (mut sender, connection) = run
        .phase(Phase::Send, async {
            hyper::client::conn::http2::Builder::new(Spawner)
                .handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(|e| failure("HTTP/2 handshake", &e))
        })
        .await?;
    let driver = tokio::spawn(connection);
    let answer = ask(spec, run, &mut sender, request).await;
    driver.abort();
    answer
}

async fn ask(
    spec: &ProbeSpec,
    run: &mut Run,
    sender: &mut hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
) -> Result<Answer, (Phase, Failure)> {
    let response = run
        .phase(Phase::Wait, async {
            sender
                .send_request(request)
                .await
                .map_err(|e| failure("HTTP/2 request", &e))
        })
        .await?;
    let (parts, mut body) = response.into_parts();
    let head = ResponseHead {
        major_version: 2,
        minor_version: 0,
        status: parts.status.as_u16(),
        reason: parts.status.canonical_reason().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
            .collect(),
    };
    let mut kept = Vec::new();
    let mut truncated = false;
    if spec.wants_body() && spec.method != Method::Head {
        let max = spec.limits.max_body_bytes;
        let mut received = 0u64;
        let read = run
            .phase(Phase::Receive, async {
                while let Some(frame) = body.frame().await {
                    let frame = frame.map_err(|e| failure("HTTP/2 body", &e))?;
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    received += data.len() as u64;
                    let room = max - kept.len();
                    if data.len() > room {
                        kept.extend_from_slice(&data[..room]);
                        truncated = true;
                        break;
                    }
                    kept.extend_from_slice(&data);
                }
                Ok(())
            })
            .await;
        run.bytes += received;
        read?;
    }
    Ok(Answer {
        head,
        body: kept,
        body_truncated: truncated,
    })
}
