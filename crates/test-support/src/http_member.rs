//! Real HTTP members on loopback for proxy tests: [`Backend`] (HTTP/1.1, names itself,
//! records what it saw, streams, sinks, upgrades, and can be killed and restarted on its
//! address) and [`H2Backend`] (HTTP/2 prior knowledge, counts its connections).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::http_client::{Body, empty, full};

/// A backend: answers with its name and echoes what it saw.
pub struct Backend {
    /// The name it answers with (body and `x-backend`).
    pub name: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Requests it has received.
    pub hits: Arc<AtomicU64>,
    /// The last request's header fields (repeated ones joined by ` | `), `:path` and `:method`.
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

    /// Requests received so far.
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

/// An HTTP/2-only member (h2c prior knowledge): answers `h2 <version> <authority> <path>`
/// and echoes POST bodies; counts the TCP connections it accepted.
pub struct H2Backend {
    /// Where it listens.
    pub addr: SocketAddr,
    /// TCP connections it has accepted.
    pub connections: Arc<AtomicU64>,
    /// The last request's header fields.
    pub last_headers: Arc<std::sync::Mutex<HashMap<String, String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl H2Backend {
    /// Starts on a fresh loopback port.
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
