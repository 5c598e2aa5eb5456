//! A bounded HTTP client for tests that talk to a proxy: one-shot requests, a keep-alive
//! connection, raw bytes, and HTTP/2 senders. Every step is bounded by [`CLIENT_TIMEOUT`], so a
//! hang fails the test that caused it instead of blocking its binary.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The body type of every request a test sends and every answer a test member gives.
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

/// A complete body of `b`.
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// An empty body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// Answer of a request made by the test client.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The answer's header fields.
    pub headers: hyper::HeaderMap,
    /// The whole body, as text (lossy).
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
    /// Connects to `addr` and completes the HTTP/1.1 handshake, both bounded.
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
