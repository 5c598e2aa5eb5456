//! Real local servers for the probe tests: hyper (plain, TLS, Unix socket)
//! and raw TCP listeners that answer badly on purpose. Everything binds to
//! 127.0.0.1 / ::1 / a temporary Unix socket, and every server loop ends
//! when the client goes away or a size/time bound is hit.
//!
//! Shared by elb-probe's and elb-check's integration tests (the latter
//! includes this file by path).
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::runtime::Runtime;

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

type Handler = Arc<dyn Fn(&Request<Incoming>) -> Response<Full<Bytes>> + Send + Sync>;

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

/// A test PKI: one CA, leaf certificates signed by it, PEM files on disk.
pub struct Pki {
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
    /// Holds the PEM files.
    pub dir: tempfile::TempDir,
}

/// A leaf certificate and its key, in memory and on disk.
pub struct Leaf {
    /// Chain (leaf only) for a rustls server.
    pub chain: Vec<CertificateDer<'static>>,
    /// Key for a rustls server.
    pub key: PrivateKeyDer<'static>,
    /// PEM certificate file.
    pub cert_file: PathBuf,
    /// PEM key file.
    pub key_file: PathBuf,
}

impl Leaf {
    /// A certificate chain and key made elsewhere (e.g. by the `openssl` command).
    pub fn from_pem_files(cert_file: &Path, key_file: &Path) -> Self {
        let pem = std::fs::read(cert_file).expect("read cert");
        let chain = rustls_pemfile::certs(&mut pem.as_slice())
            .collect::<Result<Vec<_>, _>>()
            .expect("parse cert");
        let pem = std::fs::read(key_file).expect("read key");
        let key = rustls_pemfile::private_key(&mut pem.as_slice())
            .expect("parse key")
            .expect("a key");
        Self {
            chain,
            key,
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
        }
    }
}

/// Runs the real `openssl` command in `dir`, as an operator would, bounded in time.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("timeout")
        .args(["-s", "KILL", "60", "openssl"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    /// A fresh CA.
    pub fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "elb-ha test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca = params.self_signed(&ca_key).expect("ca cert");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write ca");
        Self { ca, ca_key, dir }
    }

    /// The CA certificate file for --cacert.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A self-signed CA:TRUE certificate for `names` valid from `not_before`
    /// to `not_after` (year, month, day), written as `label.pem`/`label.key`.
    pub fn self_signed(
        &self,
        label: &str,
        names: &[&str],
        not_before: (i32, u8, u8),
        not_after: (i32, u8, u8),
    ) -> Leaf {
        let key = rcgen::KeyPair::generate().expect("key");
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, label);
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let cert = params.self_signed(&key).expect("self-sign");
        let cert_file = self.dir.path().join(format!("{label}.pem"));
        let key_file = self.dir.path().join(format!("{label}.key"));
        std::fs::write(&cert_file, cert.pem()).expect("write cert");
        std::fs::write(&key_file, key.serialize_pem()).expect("write key");
        Leaf::from_pem_files(&cert_file, &key_file)
    }

    /// A leaf for `names` (DNS names or IP literals), valid now or expired in 2021.
    pub fn leaf(&self, label: &str, names: &[&str], expired: bool) -> Leaf {
        let key = rcgen::KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, label);
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params
            .signed_by(&key, &self.ca, &self.ca_key)
            .expect("sign leaf");
        let cert_file = self.dir.path().join(format!("{label}.pem"));
        let key_file = self.dir.path().join(format!("{label}.key"));
        std::fs::write(&cert_file, cert.pem()).expect("write cert");
        std::fs::write(&key_file, key.serialize_pem()).expect("write key");
        Leaf {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            cert_file,
            key_file,
        }
    }

    /// A root store holding this CA (for a server that checks client certificates).
    pub fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.der().clone()).expect("add ca");
        roots
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
