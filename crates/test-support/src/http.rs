//! Real local HTTP servers for tests: hyper (plain, TLS, Unix socket) and raw TCP listeners
//! that answer badly on purpose. Everything binds to 127.0.0.1 / ::1 / a temporary Unix
//! socket, and every server loop ends when the client goes away or a size/time bound is hit.
//! Used by elb-probe's, elb-check's and elb-proxy's tests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::runtime::Runtime;

use crate::pki::Leaf;

/// One runtime for all servers of a test binary; tests block on it or run
/// the elb-check process from their own thread.
pub fn rt() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime")
    })
}

/// What a test server answers to each request.
pub type Handler = Arc<dyn Fn(&Request<Incoming>) -> Response<Full<Bytes>> + Send + Sync>;

fn respond(status: u16, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).expect("test status"))
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("test response")
}

/// The application the tests probe:
/// `/services/EchoProxy` and `/` → 200; `/status/N` → N; `/redirect/N` →
/// a chain of N 302s ending in 200; `/echo` → 200 with the request's method,
/// Host and X-Probe in the body and `X-Role: master`.
pub fn app() -> Handler {
    Arc::new(|req| {
        let path = req.uri().path();
        if let Some(code) = path.strip_prefix("/status/") {
            let code: u16 = code.parse().unwrap_or(500);
            return respond(code, &format!("status {code}\n"));
        }
        if let Some(n) = path.strip_prefix("/redirect/") {
            let n: u32 = n.parse().unwrap_or(0);
            if n == 0 {
                return respond(200, "landed\n");
            }
            let mut r = respond(302, "moved\n");
            r.headers_mut().insert(
                "location",
                format!("/redirect/{}", n - 1).parse().expect("location"),
            );
            return r;
        }
        if path == "/echo" {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_string()
            };
            let body = format!(
                "method={} host={} x-probe={} ua={}\n",
                req.method(),
                header("host"),
                header("x-probe"),
                header("user-agent")
            );
            let mut r = respond(200, &body);
            r.headers_mut()
                .insert("x-role", "master".parse().expect("value"));
            return r;
        }
        respond(200, "EchoProxy is alive\n")
    })
}

/// Every request gets `status` (the seed's EchoProxy in a given state).
pub fn fixed(status: u16) -> Handler {
    Arc::new(move |_| respond(status, "fixed\n"))
}

async fn serve_http<S>(stream: S, handler: Handler)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let response = handler(&req);
        async move { Ok::<_, Infallible>(response) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

/// A hyper server on 127.0.0.1 (or `bind`), answering with `handler`.
pub fn http_server_on(bind: &str, handler: Handler) -> SocketAddr {
    let listener = rt()
        .block_on(TcpListener::bind(bind))
        .expect("bind test server");
    let addr = listener.local_addr().expect("addr");
    rt().spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_http(stream, handler.clone()));
        }
    });
    addr
}

/// A hyper server on 127.0.0.1.
pub fn http_server(handler: Handler) -> SocketAddr {
    http_server_on("127.0.0.1:0", handler)
}

/// A hyper server on a Unix socket at `path`.
pub fn unix_server(path: &Path, handler: Handler) {
    let listener = {
        let _guard = rt().enter();
        UnixListener::bind(path).expect("bind unix socket")
    };
    rt().spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_http(stream, handler.clone()));
        }
    });
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn refused_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// A free loopback port for a server the test starts next (bound, then released).
pub fn free_port() -> u16 {
    refused_port().port()
}

/// How a raw server misbehaves after reading the request head.
#[derive(Debug, Clone)]
pub enum Misbehave {
    /// Keep the connection open and say nothing until the client leaves.
    NeverAnswer,
    /// Send a status line, then one header byte every 20 ms, forever (60 s cap).
    Trickle,
    /// Send a status line, then header lines until 100 MB or the client leaves.
    HugeHeaders,
    /// Send part of the status line and close.
    CloseMidStatusLine,
    /// Send bytes that are not HTTP and close.
    Garbage,
    /// Close without a byte.
    Empty,
    /// Send these bytes and close.
    Canned(Vec<u8>),
    /// Wait, then send these bytes and close (a slow but correct server).
    Delayed(Duration, Vec<u8>),
}

/// What a raw server saw, for tests that wait on events instead of sleeping.
pub struct RawServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// One message per request head read.
    pub requests: mpsc::Receiver<Vec<u8>>,
    /// Bytes sent per connection, reported when the connection ends.
    pub sent: mpsc::Receiver<u64>,
}

async fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    head
}

async fn misbehave(mut stream: TcpStream, how: Misbehave) -> u64 {
    let mut sent = 0u64;
    match how {
        Misbehave::NeverAnswer => {
            let mut buf = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }
        Misbehave::Trickle => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nX-Trickle: ").await;
            let started = tokio::time::Instant::now();
            while started.elapsed() < Duration::from_secs(60) {
                if stream.write_all(b"a").await.is_err() {
                    break;
                }
                sent += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Misbehave::HugeHeaders => {
            if stream.write_all(b"HTTP/1.1 200 OK\r\n").await.is_ok() {
                let line = format!("X-Fill: {}\r\n", "a".repeat(1000));
                while sent < 100 * 1024 * 1024 {
                    if stream.write_all(line.as_bytes()).await.is_err() {
                        break;
                    }
                    sent += line.len() as u64;
                }
            }
        }
        Misbehave::CloseMidStatusLine => {
            let _ = stream.write_all(b"HTTP/1.1 20").await;
        }
        Misbehave::Garbage => {
            let _ = stream
                .write_all(b"\x16\x03\x01\x00\xffgarbage, not http at all\r\n\r\n")
                .await;
        }
        Misbehave::Empty => {}
        Misbehave::Canned(bytes) => {
            let _ = stream.write_all(&bytes).await;
        }
        Misbehave::Delayed(wait, bytes) => {
            tokio::time::sleep(wait).await;
            let _ = stream.write_all(&bytes).await;
        }
    }
    let _ = stream.shutdown().await;
    sent
}

/// A raw TCP server on 127.0.0.1 that reads each request head and then misbehaves.
pub fn raw_server(how: Misbehave) -> RawServer {
    let listener = rt()
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind raw server");
    let addr = listener.local_addr().expect("addr");
    let (req_tx, requests) = mpsc::channel();
    let (sent_tx, sent) = mpsc::channel();
    rt().spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let how = how.clone();
            let req_tx = req_tx.clone();
            let sent_tx = sent_tx.clone();
            tokio::spawn(async move {
                let head = read_head(&mut stream).await;
                let _ = req_tx.send(head);
                let n = misbehave(stream, how).await;
                let _ = sent_tx.send(n);
            });
        }
    });
    RawServer {
        addr,
        requests,
        sent,
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A hyper server over TLS on 127.0.0.1 presenting `leaf`; when
/// `client_roots` is given, clients must present a certificate from it.
pub fn tls_server(
    leaf: &Leaf,
    client_roots: Option<rustls::RootCertStore>,
    handler: Handler,
) -> SocketAddr {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let builder = match client_roots {
        Some(roots) => {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(leaf.chain.clone(), leaf.key.clone_key())
        .expect("server cert");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = rt()
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind tls server");
    let addr = listener.local_addr().expect("addr");
    rt().spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let handler = handler.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    serve_http(tls, handler).await;
                }
            });
        }
    });
    addr
}
