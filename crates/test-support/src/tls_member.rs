//! A TLS member for a proxy's tests: HTTP/1.1 or HTTP/2 by ALPN (hyper's auto server),
//! optionally requiring a client certificate from a CA, and recording for every request
//! what its connection's handshake was, so a test sees session resumption, the ALPN
//! protocol and the client certificate from the member's side.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::TcpListener;

use crate::http::rt;
use crate::pki::Leaf;

/// What one request's connection was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The TLS handshake resumed an earlier session.
    pub resumed: bool,
    /// The ALPN protocol agreed, if any.
    pub alpn: Option<String>,
    /// The client presented a certificate (verified against the member's client CA).
    pub client_cert: bool,
    /// The request's HTTP version (`HTTP/1.1`, `HTTP/2.0`).
    pub version: String,
    /// The request's `User-Agent`.
    pub user_agent: String,
    /// The request's path.
    pub path: String,
}

/// How the member behaves.
#[derive(Default)]
pub struct TlsMemberOptions {
    /// Clients must present a certificate issued by these roots.
    pub client_roots: Option<rustls::RootCertStore>,
    /// ALPN protocols the member accepts (empty: no ALPN).
    pub alpn: Vec<&'static str>,
    /// Close every connection after one answer (each request then needs a handshake).
    pub one_request_per_connection: bool,
}

/// A running TLS member.
pub struct TlsMember {
    /// Where it listens (127.0.0.1).
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TlsMember {
    /// What every request so far saw, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Starts a TLS member presenting `leaf`; every answer is 200 with `version=… path=…`.
pub fn tls_member(leaf: &Leaf, options: TlsMemberOptions) -> TlsMember {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let builder = match options.client_roots {
        Some(roots) => builder.with_client_cert_verifier(
            rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .expect("client verifier"),
        ),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(leaf.chain.clone(), leaf.key.clone_key())
        .expect("server cert");
    config.alpn_protocols = options.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    // Bound without entering a runtime, so async tests may call this too.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind tls member");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let once = options.one_request_per_connection;
    rt().spawn(async move {
        let Ok(listener) = TcpListener::from_std(listener) else {
            return;
        };
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let conn = tls.get_ref().1;
                let resumed = conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
                let alpn = conn
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned());
                let client_cert = conn.peer_certificates().is_some_and(|c| !c.is_empty());
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let s = Seen {
                        resumed,
                        alpn: alpn.clone(),
                        client_cert,
                        version: format!("{:?}", req.version()),
                        user_agent: req
                            .headers()
                            .get("user-agent")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-")
                            .to_string(),
                        path: req.uri().path().to_string(),
                    };
                    let body = format!("version={} path={}\n", s.version, s.path);
                    if let Ok(mut l) = log.lock() {
                        l.push(s);
                    }
                    let mut r = Response::new(Full::new(Bytes::from(body)));
                    if once && req.version() == hyper::Version::HTTP_11 {
                        r.headers_mut().insert(
                            "connection",
                            hyper::header::HeaderValue::from_static("close"),
                        );
                    }
                    async move { Ok::<_, Infallible>(r) }
                });
                let io = hyper_util::rt::TokioIo::new(tls);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(io, service)
                .await;
            });
        }
    });
    TlsMember { addr, seen }
}
