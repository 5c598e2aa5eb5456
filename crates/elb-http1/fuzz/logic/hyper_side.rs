//! hyper's server-side HTTP/1.1 parser as a reference: the bytes go over
//! an in-memory duplex to `serve_connection` on a current-thread runtime,
//! and the head of the first request, if hyper accepts one, is recorded.

use std::cell::RefCell;
use std::convert::Infallible;
use std::rc::Rc;

use bytes::Bytes;
use http_body::Body as _;
use http_body_util::{BodyExt, Empty};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What hyper saw of the first request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub http10: bool,
    /// In hyper's order (grouped by name), names lower-cased.
    pub headers: Vec<(String, Vec<u8>)>,
    /// `Some(n)` for a body of exactly n bytes, `None` for chunked.
    pub exact_len: Option<u64>,
    /// The body's data as hyper decoded it, `None` when hyper's body
    /// decoder failed (bad framing, or the input ended first).
    pub body: Option<Vec<u8>>,
}

thread_local! {
    static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
}

/// Feeds `data` then EOF to hyper; `None` when hyper did not accept a
/// complete request head.
pub fn parse(data: &[u8]) -> Option<Seen> {
    RT.with(|rt| rt.block_on(serve(data)))
}

async fn serve(data: &[u8]) -> Option<Seen> {
    let seen: Rc<RefCell<Option<Seen>>> = Rc::default();
    let (mut client, server) = tokio::io::duplex(data.len().max(1 << 16) + 1);
    client.write_all(data).await.expect("duplex has room");
    client.shutdown().await.expect("shutdown");
    let record = seen.clone();
    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let first = record.borrow().is_none();
        if first {
            *record.borrow_mut() = Some(Seen {
                method: req.method().as_str().to_owned(),
                uri: req.uri().to_string(),
                http10: req.version() == hyper::Version::HTTP_10,
                headers: req
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                    .collect(),
                exact_len: req.body().size_hint().exact(),
                body: None,
            });
        }
        let record = record.clone();
        async move {
            if first {
                // Data frames only: trailers are checked by the head rules.
                let body = req.into_body().collect().await.ok().map(|c| c.to_bytes().to_vec());
                if let Some(seen) = record.borrow_mut().as_mut() {
                    seen.body = body;
                }
            }
            Ok::<_, Infallible>(hyper::Response::new(Empty::<Bytes>::new()))
        }
    });
    // half_close: the client's EOF must not cancel the service reading the body.
    let conn = http1::Builder::new()
        .half_close(true)
        .serve_connection(TokioIo::new(server), svc);
    let mut sink = Vec::new();
    let _ = tokio::join!(conn, client.read_to_end(&mut sink));
    seen.take()
}
