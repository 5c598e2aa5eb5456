//! Test support: real backends (hyper servers on loopback) and a real elb-proxy process.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

pub type Body = BoxBody<Bytes, hyper::Error>;

/// Longest any test client waits on the proxy: far above every answer these tests expect,
/// so reaching it means a hang, reported as a failure instead of blocking the test binary.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs one client step bounded by `CLIENT_TIMEOUT`; a hang fails the test naming `what`.
pub async fn within<T>(what: &str, step: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(CLIENT_TIMEOUT, step).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: nothing within {CLIENT_TIMEOUT:?}"),
    }
}

/// Polls `probe` until it yields a value; fails the test after `deadline`,
/// naming `what`. For states the proxy reaches on its own (health flips, counters).
pub async fn poll_for<T, F, Fut>(what: &str, deadline: Duration, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    test_support::wait_until_async(deadline, what, probe).await
}

/// Waits (bounded) until `cond` holds.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    test_support::wait_until_async(Duration::from_secs(10), what, || {
        let held = cond();
        async move { held.then_some(()) }
    })
    .await
}

/// Waits (bounded) for a child process to exit; kills it and fails the test past `within`.
pub fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    test_support::wait_child(child, within, "elb-proxy")
}

pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A backend: answers with its name and echoes what it saw.
pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    pub hits: Arc<AtomicU64>,
    pub last_headers: Arc<std::sync::Mutex<HashMap<String, String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Backend {
    /// Starts on a fresh port.
    pub async fn start(name: &str) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(name, l).await
    }

    /// Starts on a given address (restart after a kill).
    pub async fn start_at(name: &str, addr: SocketAddr) -> Self {
        let l = TcpListener::bind(addr).await.unwrap();
        Self::start_on(name, l).await
    }

    async fn start_on(name: &str, l: TcpListener) -> Self {
        let addr = l.local_addr().unwrap();
        let hits = Arc::new(AtomicU64::new(0));
        let last_headers = Arc::new(std::sync::Mutex::new(HashMap::new()));
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let (n, h, lh) = (name.to_string(), hits.clone(), last_headers.clone());
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    r = l.accept() => {
                        let Ok((s, _)) = r else { continue };
                        let (n, h, lh) = (n.clone(), h.clone(), lh.clone());
                        conns.spawn(async move {
                            let svc = service_fn(move |req| backend_handle(n.clone(), h.clone(), lh.clone(), req));
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(s), svc)
                                .with_upgrades()
                                .await;
                        });
                    }
                    _ = &mut rx => break,
                }
            }
            conns.abort_all();
        });
        Self {
            name: name.to_string(),
            addr,
            hits,
            last_headers,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops accepting and drops every connection (a killed member).
    pub async fn kill(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn backend_handle(
    name: String,
    hits: Arc<AtomicU64>,
    last: Arc<std::sync::Mutex<HashMap<String, String>>>,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    hits.fetch_add(1, Ordering::SeqCst);
    {
        let mut m = last.lock().unwrap();
        m.clear();
        for (k, v) in req.headers() {
            let e = m.entry(k.as_str().to_string()).or_default();
            if !e.is_empty() {
                e.push_str(" | ");
            }
            e.push_str(v.to_str().unwrap_or("?"));
        }
        m.insert(":path".into(), req.uri().to_string());
        m.insert(":method".into(), req.method().to_string());
    }
    let path = req.uri().path().to_string();
    let resp = |status: u16, body: Body| {
        let mut r = Response::new(body);
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        r.headers_mut().insert("x-backend", name.parse().unwrap());
        Ok(r)
    };
    if let Some(code) = path.strip_prefix("/status/") {
        return resp(code.parse().unwrap_or(500), full(format!("{name}\n")));
    }
    if let Some(ms) = path.strip_prefix("/slow/") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(100))).await;
        return resp(200, full(format!("{name}\n")));
    }
    if let Some(n) = path.strip_prefix("/bytes/") {
        // Streams n bytes in 64 KiB chunks, generated on the fly (never held in memory).
        let total: u64 = n.parse().unwrap_or(0);
        let chunk = Bytes::from(vec![b'x'; 65536]);
        let stream = futures_util::stream::unfold(total, move |left| {
            let chunk = chunk.clone();
            async move {
                if left == 0 {
                    return None;
                }
                let n = left.min(chunk.len() as u64);
                Some((
                    Ok::<_, hyper::Error>(hyper::body::Frame::data(chunk.slice(..n as usize))),
                    left - n,
                ))
            }
        });
        let mut r = Response::new(BodyExt::boxed(http_body_util::StreamBody::new(stream)));
        r.headers_mut().insert("x-backend", name.parse().unwrap());
        return Ok(r);
    }
    if path == "/sink" {
        // Counts the request body as it arrives.
        let mut n: u64 = 0;
        let body = req.body_mut();
        while let Some(f) = body.frame().await {
            if let Ok(d) = f?.into_data() {
                n += d.len() as u64;
            }
        }
        return resp(200, full(format!("{n}\n")));
    }
    if path == "/ws" {
        // Minimal Upgrade endpoint: switch protocols and echo bytes back.
        let on = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(up) = on.await {
                let mut io = TokioIo::new(up);
                let (mut r, mut w) = tokio::io::split(&mut io);
                let _ = tokio::io::copy(&mut r, &mut w).await;
            }
        });
        let mut r = Response::new(empty());
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        r.headers_mut()
            .insert("connection", "upgrade".parse().unwrap());
        r.headers_mut()
            .insert("upgrade", "websocket".parse().unwrap());
        return Ok(r);
    }
    resp(200, full(format!("{name}\n")))
}

/// A running elb-proxy process.
pub struct Proxy {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub addr: SocketAddr,
    pub admin: PathBuf,
    pub log: Arc<std::sync::Mutex<Vec<String>>>,
}

/// Config text with `{listen}` and `{admin}` filled in.
pub fn start_proxy(yaml_body: &str) -> Proxy {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let admin = dir.path().join("admin.sock");
    let mut yaml_body = yaml_body.to_string();
    if !yaml_body.contains("\nadmin:") {
        yaml_body.push_str("admin: { socket: \"{admin}\" }\n");
    }
    let yaml = yaml_body
        .replace("{listen}", &addr.to_string())
        .replace("{admin}", &admin.display().to_string())
        .replace("{dir}", &dir.path().display().to_string());
    let config_path = dir.path().join("elb-proxy.yaml");
    std::fs::write(&config_path, yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
        .arg("-c")
        .arg(&config_path)
        .arg("--log-level")
        .arg("info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let l2 = log.clone();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("elb-proxy ready") {
                if let Some(t) = tx.take() {
                    let _ = t.send(());
                }
            }
            l2.lock().unwrap().push(line);
        }
    });
    if rx.recv_timeout(Duration::from_secs(20)).is_err() {
        let _ = child.kill();
        panic!("elb-proxy did not start: {:?}", log.lock().unwrap());
    }
    Proxy {
        child,
        dir,
        config_path,
        addr,
        admin,
        log,
    }
}

impl Proxy {
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// One admin command through `elb-proxy ctl`; returns (success, output).
    pub fn ctl(&self, words: &str) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
            .arg("ctl")
            .arg("--socket")
            .arg(&self.admin)
            .args(words.split(' '))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Waits (bounded) until a log line contains `needle`.
    pub fn wait_log(&self, needle: &str, within: Duration) -> bool {
        self.wait_log_count(needle, 1, within)
    }

    /// Waits (bounded) until `count` log lines contain `needle` (for a message that an
    /// earlier step of the test has already logged).
    pub fn wait_log_count(&self, needle: &str, count: usize, within: Duration) -> bool {
        test_support::wait::poll(within, || {
            let n = self
                .log
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.contains(needle))
                .count();
            (n >= count).then_some(())
        })
        .is_some()
    }

    /// Peak RSS (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        s.lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        test_support::wait::kill_and_reap(&mut self.child);
    }
}

/// Answer of a request made by the test client.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

/// One HTTP/1.1 request on a fresh connection, bounded by `CLIENT_TIMEOUT`.
pub async fn request(addr: SocketAddr, req: Request<Body>) -> Result<Answer, String> {
    tokio::time::timeout(CLIENT_TIMEOUT, request_unbounded(addr, req))
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {CLIENT_TIMEOUT:?}")))
}

async fn request_unbounded(addr: SocketAddr, req: Request<Body>) -> Result<Answer, String> {
    let s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
    Answer::read(resp).await
}

impl Answer {
    /// Reads a response to its end.
    async fn read(resp: Response<Incoming>) -> Result<Answer, String> {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// GET `path` with a Host header.
pub async fn get(addr: SocketAddr, host: &str, path: &str) -> Answer {
    let req = Request::get(path)
        .header("host", host)
        .body(empty())
        .unwrap();
    request(addr, req).await.unwrap()
}

/// A keep-alive client connection for many requests.
pub struct Client {
    send: hyper::client::conn::http1::SendRequest<Body>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let s = within("connect", TcpStream::connect(addr)).await.unwrap();
        let (send, conn) = within(
            "handshake",
            hyper::client::conn::http1::handshake(TokioIo::new(s)),
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        Self { send }
    }

    /// GET on this connection, bounded by `CLIENT_TIMEOUT`.
    pub async fn get(&mut self, host: &str, path: &str) -> Result<Answer, String> {
        tokio::time::timeout(CLIENT_TIMEOUT, self.get_unbounded(host, path))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {CLIENT_TIMEOUT:?}")))
    }

    async fn get_unbounded(&mut self, host: &str, path: &str) -> Result<Answer, String> {
        self.send.ready().await.map_err(|e| e.to_string())?;
        let req = Request::get(path)
            .header("host", host)
            .body(empty())
            .unwrap();
        let resp = self
            .send
            .send_request(req)
            .await
            .map_err(|e| e.to_string())?;
        Answer::read(resp).await
    }
}

/// Sends raw bytes and reads until the peer closes or `within` passes.
pub async fn raw(addr: SocketAddr, bytes: &[u8], within: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = self::within("connect", TcpStream::connect(addr))
        .await
        .unwrap();
    self::within("write", s.write_all(bytes)).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(within, s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// An HTTP/2-only member (h2c prior knowledge): answers `h2 <version> <authority> <path>`
/// and echoes POST bodies; counts the TCP connections it accepted.
pub struct H2Backend {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicU64>,
    pub last_headers: Arc<std::sync::Mutex<HashMap<String, String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl H2Backend {
    pub async fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let connections = Arc::new(AtomicU64::new(0));
        let last_headers = Arc::new(std::sync::Mutex::new(HashMap::new()));
        let (c, lh) = (connections.clone(), last_headers.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((s, _)) = l.accept().await else {
                    continue;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let lh = lh.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let lh = lh.clone();
                        async move {
                            {
                                let mut m = lh.lock().unwrap();
                                m.clear();
                                for (k, v) in req.headers() {
                                    m.insert(
                                        k.as_str().to_string(),
                                        v.to_str().unwrap_or("?").to_string(),
                                    );
                                }
                            }
                            let head = format!(
                                "h2 {:?} {} {}\n",
                                req.version(),
                                req.uri().authority().map_or("-", |a| a.as_str()),
                                req.uri().path()
                            );
                            if let Some(ms) = req.uri().path().strip_prefix("/slow/") {
                                tokio::time::sleep(Duration::from_millis(
                                    ms.parse().unwrap_or(100),
                                ))
                                .await;
                            }
                            let body = req.into_body().collect().await?.to_bytes();
                            let mut out = head.into_bytes();
                            out.extend_from_slice(&body);
                            Ok::<_, hyper::Error>(Response::new(full(out)))
                        }
                    });
                    let _ = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
                });
            }
        });
        Self {
            addr,
            connections,
            last_headers,
            task,
        }
    }
}

impl Drop for H2Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One cluster in config YAML: `members` as (name, address, weight), `extra` lines
/// (indented four spaces) inserted before `members:`.
pub fn cluster_yaml(
    name: &str,
    members: &[(&str, std::net::SocketAddr, u32)],
    extra: &str,
) -> String {
    let mut s = format!("  - name: {name}\n{extra}    members:\n");
    for (n, a, w) in members {
        s.push_str(&format!(
            "      - {{ name: {n}, address: \"{a}\", weight: {w} }}\n"
        ));
    }
    s
}

/// A GET of the proxy's health path.
pub fn health_request() -> Request<Body> {
    Request::get("/services/EchoProxy")
        .header("host", "x")
        .body(empty())
        .unwrap()
}

/// An HTTP/2 client over `io` (a TCP or TLS stream to the proxy), its connection driven by a
/// task: the handshake bounded by `CLIENT_TIMEOUT`.
pub async fn h2_sender<IO>(io: IO) -> hyper::client::conn::http2::SendRequest<Body>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (send, conn) = within(
        "HTTP/2 handshake",
        hyper::client::conn::http2::handshake::<_, _, Body>(
            hyper_util::rt::TokioExecutor::new(),
            TokioIo::new(io),
        ),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    send
}

/// An h2c (prior knowledge) client to the proxy listening at `addr`.
pub async fn h2c_sender(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Body> {
    let tcp = within("connect", TcpStream::connect(addr)).await.unwrap();
    h2_sender(tcp).await
}

/// `elb-proxy --check` on `yaml` (`{listen}` filled in), written to `dir/check.yaml`:
/// (success, stderr and stdout).
pub fn check_config(dir: &std::path::Path, yaml: &str) -> (bool, String) {
    let path = dir.join("check.yaml");
    std::fs::write(
        &path,
        yaml.replace("{listen}", &format!("127.0.0.1:{}", free_port())),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
        .arg("--check")
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    )
}
