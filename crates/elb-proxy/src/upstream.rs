//! Connections to members: a keep-alive pool of HTTP/1.1 connections per member (or one
//! shared, multiplexed HTTP/2 connection for a member marked `protocol: h2`), connect with a
//! timeout, and sending one request while keeping track of whether any byte of it left.
//! That distinction is what makes retries safe: `NotSent` hands the request back untouched
//! (connect failed, or a pooled connection turned out dead before the request was written),
//! `Sent` means the member may have seen it and it must not be replayed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;

use crate::body::UpstreamBody;
use crate::member_tls::MemberConnector;
use elb_proxy_core::config::{MemberProtocol, MemberTls};

/// A ready-to-use connection handle: an HTTP/1.1 connection carries one exchange at a time,
/// an HTTP/2 handle is a clone of the member's shared connection.
#[derive(Debug)]
pub enum Sender {
    /// An HTTP/1.1 connection.
    H1(http1::SendRequest<UpstreamBody>),
    /// A shared HTTP/2 connection.
    H2(http2::SendRequest<UpstreamBody>),
}

impl Sender {
    fn is_closed(&self) -> bool {
        match self {
            Self::H1(s) => s.is_closed(),
            Self::H2(s) => s.is_closed(),
        }
    }

    async fn ready(&mut self) -> hyper::Result<()> {
        match self {
            Self::H1(s) => s.ready().await,
            Self::H2(s) => s.ready().await,
        }
    }

    async fn try_send(
        &mut self,
        req: Request<UpstreamBody>,
    ) -> Result<Response<Incoming>, hyper::client::conn::TrySendError<Request<UpstreamBody>>> {
        match self {
            Self::H1(s) => s.try_send_request(req).await,
            Self::H2(s) => s.try_send_request(req).await,
        }
    }
}

/// Idle HTTP/1.1 connections, newest last, and the fewest there were since the last
/// `reap` (connections below that mark were not needed during the period).
#[derive(Debug, Default)]
struct IdleList {
    conns: Vec<(Sender, Instant)>,
    low: usize,
}

/// Connections to one member. HTTP/1.1: idle keep-alive connections, LIFO, so the busiest
/// connections stay warm and the surplus ages out. HTTP/2: the one shared connection.
#[derive(Debug)]
pub struct Pool {
    /// The member's address.
    pub addr: SocketAddr,
    /// Protocol spoken to the member.
    pub protocol: MemberProtocol,
    idle: Mutex<IdleList>,
    /// The shared HTTP/2 connection (h2 members only).
    shared_h2: Mutex<Option<http2::SendRequest<UpstreamBody>>>,
    max_idle: usize,
    idle_timeout: Duration,
    /// PROXY protocol header sent first on each connection: 0 none, 1 v1, 2 v2.
    send_proxy: std::sync::atomic::AtomicU8,
    /// TLS to the member, when configured (replaced by a reload that changes it).
    tls: arc_swap::ArcSwapOption<MemberConnector>,
    /// An HTTP/1.1 member may still get HTTP/2 (its TLS offers `h2` by ALPN).
    may_h2: std::sync::atomic::AtomicBool,
    /// `tls` is set (a plain load on the request path, no arc-swap guard).
    tls_on: std::sync::atomic::AtomicBool,
}

/// The client and the address it connected to, carried in a request's extensions to the
/// member connection that sends them in a PROXY header.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddrs(pub SocketAddr, pub SocketAddr);

/// HTTP/2 member connections that began with a PROXY header, private to the one client
/// connection the header names (HAProxy's rule for `send-proxy`: such a connection is never
/// shared across clients). That client's later requests and streams reuse them; they close
/// when the client connection ends and drops this.
#[derive(Debug, Clone, Default)]
pub struct PrivateConns(Arc<Mutex<PrivateList>>);

/// (member address, over TLS) and the connection.
type PrivateList = Vec<((SocketAddr, bool), http2::SendRequest<UpstreamBody>)>;

impl PrivateConns {
    fn take(&self, key: (SocketAddr, bool)) -> Option<Sender> {
        let mut list = self.0.lock().ok()?;
        list.retain(|(_, s)| !s.is_closed());
        list.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, s)| Sender::H2(s.clone()))
    }

    fn keep(&self, key: (SocketAddr, bool), sender: &http2::SendRequest<UpstreamBody>) {
        if let Ok(mut list) = self.0.lock() {
            list.retain(|(_, s)| !s.is_closed());
            if !list.iter().any(|(k, _)| *k == key) {
                list.push((key, sender.clone()));
            }
        }
    }
}

/// Why nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum NotSentCause {
    #[error("connect: {0}")]
    /// The TCP connect failed.
    Connect(#[source] std::io::Error),
    #[error("connect timed out")]
    /// The TCP connect took longer than `timeouts.connect`.
    ConnectTimeout,
    #[error("handshake: {0}")]
    /// The HTTP handshake failed.
    Handshake(#[source] hyper::Error),
    #[error("{0}")]
    /// The TLS handshake failed (certificate refused, no common protocol, ...).
    Tls(String),
    #[error("connection closed before the request was written: {0}")]
    /// The pooled connection closed before the request was written.
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
    /// A pool for one member.
    pub fn new(
        addr: SocketAddr,
        protocol: MemberProtocol,
        max_idle: usize,
        idle_timeout: Duration,
    ) -> Self {
        Self {
            addr,
            protocol,
            idle: Mutex::new(IdleList::default()),
            shared_h2: Mutex::new(None),
            max_idle,
            idle_timeout,
            send_proxy: std::sync::atomic::AtomicU8::new(0),
            tls: arc_swap::ArcSwapOption::empty(),
            may_h2: std::sync::atomic::AtomicBool::new(false),
            tls_on: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Applies the member's TLS settings (from the config, per reload). Equal settings keep
    /// the connector and with it the TLS session cache; changed ones drop the idle
    /// connections made with the old ones.
    pub fn set_tls(&self, settings: Option<&MemberTls>) {
        let current = self.tls.load();
        let keep = match (current.as_deref(), settings) {
            (None, None) => true,
            (Some(c), Some(s)) => c.same(s, self.protocol),
            _ => false,
        };
        if keep {
            return;
        }
        let may_h2 = self.protocol == MemberProtocol::Http1
            && settings.is_some_and(|s| s.alpn.iter().any(|p| p == "h2"));
        self.may_h2
            .store(may_h2, std::sync::atomic::Ordering::Relaxed);
        self.tls
            .store(settings.map(|s| Arc::new(MemberConnector::new(s, self.protocol, self.addr))));
        self.tls_on
            .store(settings.is_some(), std::sync::atomic::Ordering::Relaxed);
        self.clear();
    }

    /// Whether connections to the member use TLS.
    pub fn has_tls(&self) -> bool {
        self.tls_on.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Number of idle connections (for `show stat`; an h2 member counts its shared one).
    pub fn idle_count(&self) -> usize {
        let h2 = self
            .shared_h2
            .lock()
            .map(|s| usize::from(s.as_ref().is_some_and(|s| !s.is_closed())))
            .unwrap_or(0);
        self.idle.lock().map(|v| v.conns.len()).unwrap_or(0) + h2
    }

    /// Sets the PROXY header version sent on new connections (from the config, per reload).
    pub fn set_send_proxy(&self, v: Option<elb_probe::ProxyProtocol>) {
        let n = match v {
            None => 0,
            Some(elb_probe::ProxyProtocol::V1) => 1,
            Some(elb_probe::ProxyProtocol::V2) => 2,
        };
        self.send_proxy
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    fn send_proxy(&self) -> Option<elb_probe::ProxyProtocol> {
        match self.send_proxy.load(std::sync::atomic::Ordering::Relaxed) {
            1 => Some(elb_probe::ProxyProtocol::V1),
            2 => Some(elb_probe::ProxyProtocol::V2),
            _ => None,
        }
    }

    /// Returns a connection after its response ended cleanly. An HTTP/2 handle is simply
    /// dropped: the connection stays shared in `shared_h2`.
    pub fn put(&self, sender: Sender) {
        // A connection that sent a PROXY header speaks for one client only.
        if sender.is_closed() || matches!(sender, Sender::H2(_)) || self.send_proxy().is_some() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.conns.len() < self.max_idle {
                idle.conns.push((sender, Instant::now()));
            }
        }
    }

    /// Drops every idle connection (member removed or disabled).
    pub fn clear(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.conns.clear();
            idle.low = 0;
        }
        if let Ok(mut h2) = self.shared_h2.lock() {
            *h2 = None;
        }
    }

    /// Closes half of the idle connections that were not needed since the last call (the
    /// oldest ones), like HAProxy's idle-connection purge: after a burst the pool shrinks
    /// back towards what the load uses, at a pace that steady traffic never notices.
    /// Returns how many were closed.
    pub fn reap(&self) -> usize {
        let Ok(mut idle) = self.idle.lock() else {
            return 0;
        };
        let surplus = idle.low.min(idle.conns.len()).div_ceil(2);
        idle.conns.drain(..surplus);
        idle.low = idle.conns.len();
        surplus
    }

    fn take_idle(&self) -> Option<Sender> {
        let may_h2 = self.may_h2.load(std::sync::atomic::Ordering::Relaxed);
        if self.protocol == MemberProtocol::H2 || may_h2 {
            let mut shared = self.shared_h2.lock().ok()?;
            match shared.as_ref() {
                Some(s) if !s.is_closed() => return Some(Sender::H2(s.clone())),
                Some(_) => *shared = None,
                None => {}
            }
            if !may_h2 {
                return None;
            }
        }
        let mut idle = self.idle.lock().ok()?;
        let now = Instant::now();
        let mut found = None;
        while let Some((s, since)) = idle.conns.pop() {
            if !s.is_closed() && now.duration_since(since) < self.idle_timeout {
                found = Some(s);
                break;
            }
        }
        idle.low = idle.low.min(idle.conns.len());
        found
    }

    /// Opens a fresh connection (not pooled yet). `upgrades` keeps the connection able to
    /// switch protocols (WebSocket); such connections are never pooled.
    pub async fn connect(
        &self,
        connect_timeout: Duration,
        upgrades: bool,
    ) -> Result<Sender, NotSentCause> {
        self.connect_with(connect_timeout, upgrades, None).await
    }

    /// `connect`, writing `preface` (a PROXY header) first.
    async fn connect_with(
        &self,
        connect_timeout: Duration,
        upgrades: bool,
        preface: Option<&[u8]>,
    ) -> Result<Sender, NotSentCause> {
        let mut stream =
            match tokio::time::timeout(connect_timeout, TcpStream::connect(self.addr)).await {
                Err(_) => return Err(NotSentCause::ConnectTimeout),
                Ok(Err(e)) => return Err(NotSentCause::Connect(e)),
                Ok(Ok(s)) => s,
            };
        if let Some(p) = preface {
            use tokio::io::AsyncWriteExt;
            stream.write_all(p).await.map_err(NotSentCause::Connect)?;
        }
        let _ = stream.set_nodelay(true);
        let Some(tls) = self.tls.load_full() else {
            // h2c with prior knowledge: plain TCP has no ALPN to ask.
            let h2 = self.protocol == MemberProtocol::H2 && !upgrades;
            let share = preface.is_none();
            return self
                .handshake(TokioIo::new(stream), upgrades, h2, share)
                .await;
        };
        let (stream, agreed) =
            tokio::time::timeout(connect_timeout, tls.handshake(stream, upgrades))
                .await
                .map_err(|_| NotSentCause::ConnectTimeout)?
                .map_err(NotSentCause::Tls)?;
        let h2 = !upgrades && agreed.h2.unwrap_or(self.protocol == MemberProtocol::H2);
        self.handshake(TokioIo::new(stream), upgrades, h2, preface.is_none())
            .await
    }

    /// The HTTP handshake over a connected (and maybe TLS) stream; an HTTP/2 connection
    /// becomes the member's shared one when `share` (not after a PROXY header).
    async fn handshake<I>(
        &self,
        io: I,
        upgrades: bool,
        h2: bool,
        share: bool,
    ) -> Result<Sender, NotSentCause>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        if h2 {
            let (sender, conn) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake::<_, UpstreamBody>(io)
                .await
                .map_err(NotSentCause::Handshake)?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            if let (true, Ok(mut shared)) = (share, self.shared_h2.lock()) {
                if shared.as_ref().is_none_or(|s| s.is_closed()) {
                    *shared = Some(sender.clone());
                }
            }
            return Ok(Sender::H2(sender));
        }
        let (sender, conn) = http1::Builder::new()
            .max_buf_size(256 * 1024)
            .handshake::<_, UpstreamBody>(io)
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
        Ok(Sender::H1(sender))
    }

    /// Whether a request sent through this pool goes out as HTTP/2 (the caller shapes the
    /// request head for it: absolute URI, no `Host`).
    pub fn speaks_h2(&self, upgrades: bool) -> bool {
        self.protocol == MemberProtocol::H2 && !upgrades
    }

    /// Sends one request: on a pooled connection when one is alive, else on a new one.
    /// A pooled connection found dead before writing is discarded and the next one tried,
    /// which is safe for any method since nothing was written. `deadline` (the request's
    /// total timeout) bounds the connect and the wait for the response head as well.
    pub async fn send(
        &self,
        mut req: Request<UpstreamBody>,
        connect_timeout: Duration,
        response_timeout: Duration,
        deadline: Option<tokio::time::Instant>,
        upgrades: bool,
    ) -> Result<(Response<Incoming>, Sender), SendError> {
        let bounded = |t: Duration| match deadline {
            Some(d) => t.min(d.saturating_duration_since(tokio::time::Instant::now())),
            None => t,
        };
        let proxy = self.send_proxy().map(|v| {
            let addrs = req.extensions().get::<ClientAddrs>().map(|c| (c.0, c.1));
            v.header(addrs)
        });
        // A client's own HTTP/2 connections to this member (PROXY header sent).
        let private = proxy
            .as_ref()
            .and_then(|_| req.extensions().get::<PrivateConns>().cloned());
        let key = (self.addr, self.has_tls());
        loop {
            let pooled = if upgrades {
                None
            } else if proxy.is_some() {
                private.as_ref().and_then(|p| p.take(key))
            } else {
                self.take_idle()
            };
            let reused = pooled.is_some();
            let connect_start = (!reused).then(Instant::now);
            let mut sender = match pooled {
                Some(s) => s,
                // Boxed: a new connection (TCP, PROXY header, TLS, handshake) is the cold
                // path, and inline its state made every request's future kilobytes larger,
                // each moved on every request.
                None => match Box::pin(self.connect_with(
                    bounded(connect_timeout),
                    upgrades,
                    proxy.as_deref(),
                ))
                .await
                {
                    Ok(s) => s,
                    Err(cause) => return Err(SendError::NotSent(req, cause)),
                },
            };
            let connect_time = connect_start.map(|t| t.elapsed());
            if let (Some(p), Sender::H2(s), false) = (&private, &sender, reused) {
                p.keep(key, s);
            }
            if let Err(e) = sender.ready().await {
                if reused {
                    continue;
                }
                return Err(SendError::NotSent(req, NotSentCause::Closed(e)));
            }
            match &sender {
                Sender::H1(_) => to_h1_form(&mut req),
                Sender::H2(_) => to_h2_form(&mut req, self.addr, self.has_tls()),
            }
            match tokio::time::timeout(bounded(response_timeout), sender.try_send(req)).await {
                Err(_) => return Err(SendError::Timeout),
                Ok(Ok(mut resp)) => {
                    if let Some(c) = connect_time {
                        resp.extensions_mut().insert(crate::stats::ConnectTime(c));
                    }
                    return Ok((resp, sender));
                }
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

/// Shapes a request for HTTP/2: the `Host` header becomes the URI's authority
/// (`:authority`), the scheme is `http` (h2c) or `https` (over TLS), the version HTTP/2.
fn to_h2_form(req: &mut Request<UpstreamBody>, member: SocketAddr, tls: bool) {
    if req.version() == http::Version::HTTP_2 {
        return;
    }
    let host = req.headers_mut().remove(http::header::HOST);
    let authority = host
        .as_ref()
        .and_then(|h| http::uri::Authority::try_from(h.as_bytes()).ok())
        .or_else(|| http::uri::Authority::try_from(member.to_string()).ok());
    let mut parts = std::mem::take(req.uri_mut()).into_parts();
    parts.scheme = Some(if tls {
        http::uri::Scheme::HTTPS
    } else {
        http::uri::Scheme::HTTP
    });
    parts.authority = authority;
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    match http::Uri::from_parts(parts) {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => {
            // Unreachable with the parts above; keep the request sendable anyway.
            *req.uri_mut() = http::Uri::from_static("/");
            if let Some(h) = host {
                req.headers_mut().insert(http::header::HOST, h);
            }
        }
    }
    *req.version_mut() = http::Version::HTTP_2;
}

/// Undoes `to_h2_form` when a request handed back by an h2 member is retried on an
/// HTTP/1.1 one: authority back into `Host`, origin-form URI.
fn to_h1_form(req: &mut Request<UpstreamBody>) {
    if req.version() != http::Version::HTTP_2 {
        return;
    }
    if let Some(a) = req.uri().authority() {
        if let Ok(v) = http::HeaderValue::from_str(a.as_str()) {
            req.headers_mut().insert(http::header::HOST, v);
        }
    }
    let pq = req
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    *req.uri_mut() = http::Uri::from(pq);
    *req.version_mut() = http::Version::HTTP_11;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pooled HTTP/1.1 handle over a real loopback connection (the peer just holds it).
    async fn handle(listener: &tokio::net::TcpListener) -> Sender {
        let (stream, _) = tokio::join!(
            TcpStream::connect(listener.local_addr().unwrap()),
            listener.accept()
        );
        let (send, conn) = http1::handshake::<_, UpstreamBody>(TokioIo::new(stream.unwrap()))
            .await
            .unwrap();
        tokio::spawn(conn);
        Sender::H1(send)
    }

    #[tokio::test]
    async fn reap_closes_half_of_the_connections_the_load_did_not_use() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let pool = Pool::new(
            l.local_addr().unwrap(),
            MemberProtocol::Http1,
            100,
            Duration::from_secs(60),
        );
        for _ in 0..8 {
            pool.put(handle(&l).await);
        }
        // First period: the mark starts at zero, nothing is known to be surplus.
        assert_eq!(pool.reap(), 0);
        // A period in which at most 2 of the 8 were in use: 6 unused, half of them go.
        let a = pool.take_idle().unwrap();
        let b = pool.take_idle().unwrap();
        pool.put(a);
        pool.put(b);
        assert_eq!(pool.reap(), 3);
        assert_eq!(pool.idle_count(), 5);
        // Idle periods keep halving the surplus.
        assert_eq!(pool.reap(), 3);
        assert_eq!(pool.reap(), 1);
        assert_eq!(pool.reap(), 1);
        assert_eq!(pool.reap(), 0);
        assert_eq!(pool.idle_count(), 0);
    }
}
