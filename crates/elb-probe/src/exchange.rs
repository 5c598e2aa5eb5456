//! One connection, one request, one answer: where to connect (with
//! `--connect-to`/`--resolve` applied), the PROXY header, TLS, then HTTP/1.1
//! here or HTTP/2 in [`crate::h2`]. Each step is a timed phase of the run.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::connect::{self, Io};
use crate::outcome::{Phase, Verdict};
use crate::probe::{Answer, Failure, Run};
use crate::request::{build_request, strip_port};
use crate::response::{Progress, ResponseReader};
use crate::spec::{HttpVersion, Method, ProbeSpec};
use crate::target::{Endpoint, Host, Scheme, Target};
use crate::tls::{self, HandshakeFailure};
use crate::x509::CertFacts;

type Step<T> = Result<T, (Phase, Failure)>;

/// Whether the spec's Host/SNI overrides apply to this hop: only while the
/// probe stays on the authority it started with.
fn same_origin(spec: &ProbeSpec, target: &Target) -> bool {
    target.authority == spec.target.authority && target.scheme == spec.target.scheme
}

fn verdict_of(error: &io::Error) -> Verdict {
    match tls::classify(error) {
        HandshakeFailure::Tls => Verdict::TlsFailure,
        HandshakeFailure::Protocol => Verdict::ProtocolError,
        HandshakeFailure::Network => Verdict::NetworkFailure,
    }
}

/// One connection, one request, one answer.
pub(crate) async fn exchange(spec: &ProbeSpec, target: &Target, run: &mut Run) -> Step<Answer> {
    let overrides = same_origin(spec, target);
    let wants_h2 = spec.http_version == HttpVersion::Http2;
    let tls_config = if target.scheme == Scheme::Https {
        let config = tls::client_config(&spec.tls, wants_h2).map_err(|e| {
            (
                Phase::Setup,
                Failure::new(Verdict::SetupError, e.to_string()),
            )
        })?;
        Some(config)
    } else {
        None
    };
    let (mut stream, addrs) = open(spec, target, run).await?;
    if let Some(version) = spec.proxy_protocol {
        let header = version.header(addrs);
        run.phase(Phase::Connect, async {
            stream.write_all(&header).await.map_err(|e| {
                Failure::new(
                    Verdict::NetworkFailure,
                    format!("cannot send PROXY header: {e}"),
                )
            })
        })
        .await?;
    }
    let (stream, h2) = match tls_config {
        None => (stream, spec.http_version == HttpVersion::H2c),
        Some(config) => handshake(spec, target, run, stream, config, overrides).await?,
    };
    if h2 {
        return crate::h2::exchange(spec, target, run, stream, overrides).await;
    }
    http1(spec, target, run, stream, overrides).await
}

/// Connects to the endpoint; for TCP also returns (local, peer) for a PROXY header.
async fn open(
    spec: &ProbeSpec,
    target: &Target,
    run: &mut Run,
) -> Step<(Box<dyn Io>, Option<(SocketAddr, SocketAddr)>)> {
    let (host, port) = match &target.endpoint {
        Endpoint::Unix { path } => {
            let s = run
                .phase(Phase::Connect, async {
                    connect::connect_unix(path)
                        .await
                        .map_err(|e| Failure::new(Verdict::NetworkFailure, e))
                })
                .await?;
            run.peer = Some(path.display().to_string());
            return Ok((Box::new(s), None));
        }
        Endpoint::Tcp { host, port } => spec
            .connect_to
            .iter()
            .find_map(|c| c.apply(host, *port))
            .unwrap_or_else(|| (host.clone(), *port)),
    };
    let addrs = addresses(spec, &host, port, run).await?;
    let deadline = run.deadline;
    let (s, addr) = run
        .phase(Phase::Connect, async {
            connect::connect_tcp(&addrs, deadline, &spec.bind)
                .await
                .map_err(|e| Failure::new(Verdict::NetworkFailure, format!("cannot connect: {e}")))
        })
        .await?;
    run.peer = Some(addr.to_string());
    let pair = s.local_addr().ok().map(|local| (local, addr));
    Ok((Box::new(s), pair))
}

/// The addresses to try: `--resolve`'s, else literals, `localhost`, or DNS.
async fn addresses(
    spec: &ProbeSpec,
    host: &Host,
    port: u16,
    run: &mut Run,
) -> Step<Vec<SocketAddr>> {
    let no_address = |e: io::Error| {
        let name = match host {
            Host::Ip(ip) => ip.to_string(),
            Host::Name(n) => n.clone(),
        };
        Failure::new(
            Verdict::NetworkFailure,
            format!("cannot resolve {name}: {e}"),
        )
    };
    if let Some(ips) = spec.resolve.iter().find_map(|r| r.lookup(host, port)) {
        let given: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
        return connect::filter_family(given, spec.family)
            .map_err(|e| (Phase::Resolve, no_address(e)));
    }
    if connect::needs_resolver(host) {
        run.phase(Phase::Resolve, async {
            connect::resolve(host, port, spec.family)
                .await
                .map_err(no_address)
        })
        .await
    } else {
        connect::resolve(host, port, spec.family)
            .await
            .map_err(|e| (Phase::Resolve, no_address(e)))
    }
}

/// The TLS handshake; returns the stream and whether the server chose h2.
async fn handshake(
    spec: &ProbeSpec,
    target: &Target,
    run: &mut Run,
    stream: Box<dyn Io>,
    config: std::sync::Arc<rustls::ClientConfig>,
    overrides: bool,
) -> Step<(Box<dyn Io>, bool)> {
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
                Failure::new(
                    verdict_of(&e),
                    format!("{name_text}: {}", tls::describe_io(&e)),
                )
            })
        })
        .await?;
    let session = s.get_ref().1;
    run.certificate = session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| CertFacts::parse(leaf));
    let h2 = session.alpn_protocol() == Some(b"h2");
    Ok((Box::new(s), h2))
}

/// HTTP/1.1: write the request, read the answer through the bounded reader.
async fn http1(
    spec: &ProbeSpec,
    target: &Target,
    run: &mut Run,
    mut stream: Box<dyn Io>,
    overrides: bool,
) -> Step<Answer> {
    let request = build_request(spec, target, overrides);
    run.phase(Phase::Send, async {
        let sent = async {
            stream.write_all(&request).await?;
            stream.flush().await
        };
        sent.await
            .map_err(|e| Failure::new(Verdict::NetworkFailure, format!("cannot send request: {e}")))
    })
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
        // TLS 1.3 servers refuse a client certificate after the client
        // considers the handshake done, so a TLS alert can arrive here.
        Err(e) => Err(Failure::new(
            verdict_of(&e),
            format!("read failed: {}", tls::describe_io(&e)),
        )),
    }
}
