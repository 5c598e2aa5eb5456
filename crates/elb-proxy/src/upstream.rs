//! Connections to members: a keep-alive pool of HTTP/1.1 connections per member, connect with
//! a timeout, and sending one request while keeping track of whether any byte of it left.
//! That distinction is what makes retries safe: `NotSent` hands the request back untouched
//! (connect failed, or a pooled connection turned out dead before the request was written),
//! `Sent` means the member may have seen it and it must not be replayed.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::body::UpstreamBody;

/// A ready-to-use HTTP/1.1 connection handle.
pub type Sender = http1::SendRequest<UpstreamBody>;

/// Idle keep-alive connections to one member. LIFO, so the busiest connections stay warm and
/// the surplus ages out.
#[derive(Debug)]
pub struct Pool {
    pub addr: SocketAddr,
    idle: Mutex<Vec<(Sender, Instant)>>,
    max_idle: usize,
    idle_timeout: Duration,
}

/// Why nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum NotSentCause {
    #[error("connect: {0}")]
    Connect(#[source] std::io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("handshake: {0}")]
    Handshake(#[source] hyper::Error),
    #[error("connection closed before the request was written: {0}")]
    Closed(#[source] hyper::Error),
}

/// Failure of one attempt. The request travels back by value in `NotSent` (a move, no
/// allocation), which is what makes the retry possible.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum SendError {
    /// The request never left; it is handed back for a retry.
    NotSent(Request<UpstreamBody>, NotSentCause),
    /// The request (or part of it) was written; never replay it.
    Sent(hyper::Error),
    /// No response head within the upstream response timeout.
    Timeout,
}

impl Pool {
    pub fn new(addr: SocketAddr, max_idle: usize, idle_timeout: Duration) -> Self {
        Self {
            addr,
            idle: Mutex::new(Vec::new()),
            max_idle,
            idle_timeout,
        }
    }

    /// Number of idle connections (for `show stat`).
    pub fn idle_count(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// Returns a connection after its response ended cleanly.
    pub fn put(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.max_idle {
                idle.push((sender, Instant::now()));
            }
        }
    }

    /// Drops every idle connection (member removed or disabled).
    pub fn clear(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().ok()?;
        let now = Instant::now();
        while let Some((s, since)) = idle.pop() {
            if !s.is_closed() && now.duration_since(since) < self.idle_timeout {
                return Some(s);
            }
        }
        None
    }

    /// Opens a fresh connection (not pooled yet). `upgrades` keeps the connection able to
    /// switch protocols (WebSocket); such connections are never pooled.
    pub async fn connect(
        &self,
        connect_timeout: Duration,
        upgrades: bool,
    ) -> Result<Sender, NotSentCause> {
        let stream =
            match tokio::time::timeout(connect_timeout, TcpStream::connect(self.addr)).await {
                Err(_) => return Err(NotSentCause::ConnectTimeout),
                Ok(Err(e)) => return Err(NotSentCause::Connect(e)),
                Ok(Ok(s)) => s,
            };
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::Builder::new()
            .max_buf_size(256 * 1024)
            .handshake::<_, UpstreamBody>(TokioIo::new(stream))
            .await
            .map_err(NotSentCause::Handshake)?;
        if upgrades {
            tokio::spawn(async move {
                let _ = conn.with_upgrades().await;
            });
        } else {
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
        Ok(sender)
    }

    /// Sends one request: on a pooled connection when one is alive, else on a new one.
    /// A pooled connection found dead before writing is discarded and the next one tried,
    /// which is safe for any method since nothing was written.
    pub async fn send(
        &self,
        mut req: Request<UpstreamBody>,
        connect_timeout: Duration,
        response_timeout: Duration,
        upgrades: bool,
    ) -> Result<(Response<Incoming>, Sender), SendError> {
        loop {
            let pooled = if upgrades { None } else { self.take_idle() };
            let reused = pooled.is_some();
            let mut sender = match pooled {
                Some(s) => s,
                None => match self.connect(connect_timeout, upgrades).await {
                    Ok(s) => s,
                    Err(cause) => return Err(SendError::NotSent(req, cause)),
                },
            };
            if let Err(e) = sender.ready().await {
                if reused {
                    continue;
                }
                return Err(SendError::NotSent(req, NotSentCause::Closed(e)));
            }
            match tokio::time::timeout(response_timeout, sender.try_send_request(req)).await {
                Err(_) => return Err(SendError::Timeout),
                Ok(Ok(resp)) => return Ok((resp, sender)),
                Ok(Err(mut e)) => match e.take_message() {
                    Some(r) => {
                        req = r;
                        if reused {
                            continue;
                        }
                        return Err(SendError::NotSent(
                            req,
                            NotSentCause::Closed(e.into_error()),
                        ));
                    }
                    None => return Err(SendError::Sent(e.into_error())),
                },
            }
        }
    }
}
