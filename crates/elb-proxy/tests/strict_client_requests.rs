//! Strict client requests at the edge: ambiguous or malformed requests are answered 400 by
//! the proxy and not one byte of them reaches a member (checked by a member that records
//! every byte it receives); underscore header names are dropped or refused; paths are
//! normalised before routing; refusals are counted by reason in the metrics.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A member that records every byte it is sent and answers each request head with
/// `200 <first line of the head>`.
struct RecordingMember {
    addr: SocketAddr,
    bytes: Arc<Mutex<Vec<u8>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RecordingMember {
    async fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let b = bytes.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let b = b.clone();
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        let n = match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        b.lock().unwrap().extend_from_slice(&buf[..n]);
                        seen.extend_from_slice(&buf[..n]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&seen[..end]).into_owned();
                            let line = head.lines().next().unwrap_or("").to_string();
                            seen.drain(..end + 4);
                            let body = format!("{line}\n{head}\n");
                            let answer = format!(
                                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if s.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        Self { addr, bytes, task }
    }

    fn received(&self) -> Vec<u8> {
        self.bytes.lock().unwrap().clone()
    }
}

impl Drop for RecordingMember {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn status_of(answer: &str) -> &str {
    answer.split(' ').nth(1).unwrap_or("none")
}

const REFUSED: [(&str, &[u8], &str); 9] = [
    ("no Host on HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n", "400"),
    (
        "two Host fields",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "400",
    ),
    ("Host with a space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "400"),
    ("Host port out of range", b"GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", "400"),
    (
        "absolute-form authority differs from Host",
        b"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "400",
    ),
    (
        "Content-Length with Transfer-Encoding",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
        "400",
    ),
    (
        "chunk longer than its size",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n",
        "400",
    ),
    (
        "obs-fold",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n",
        "400",
    ),
    (
        "framing field in a trailer",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n",
        "400",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_get_400_and_no_byte_reaches_a_member() {
    let m = RecordingMember::start().await;
    let mport = free_port();
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}default_cluster: c\nmetrics: {{ address: \"127.0.0.1:{mport}\" }}\n",
        cluster_yaml("c", &[("m", m.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    for (what, bytes, want) in REFUSED {
        let answer = raw(p.addr, bytes, Duration::from_secs(5)).await;
        assert_eq!(status_of(&answer), want, "{what}: {answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{what}: {answer}"
        );
        assert!(
            m.received().is_empty(),
            "{what}: the member got {:?}",
            String::from_utf8_lossy(&m.received())
        );
    }
    // A valid request before a refused one on the same connection is served; the refused
    // one is not forwarded.
    let answer = raw(
        p.addr,
        b"GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("HTTP/1.1 400"), "{answer}");
    let got = String::from_utf8_lossy(&m.received()).into_owned();
    assert!(
        got.contains("GET /first") && !got.contains("/second"),
        "{got}"
    );

    let metrics = get(
        format!("127.0.0.1:{mport}").parse().unwrap(),
        "m",
        "/metrics",
    )
    .await;
    for line in [
        "elb_proxy_requests_refused_total{reason=\"missing_host\"} 1",
        "elb_proxy_requests_refused_total{reason=\"duplicate_host\"} 2",
        "elb_proxy_requests_refused_total{reason=\"invalid_host\"} 2",
        "elb_proxy_requests_refused_total{reason=\"host_mismatch\"} 1",
        "elb_proxy_requests_refused_total{reason=\"length_and_chunked\"} 1",
        "elb_proxy_requests_refused_total{reason=\"chunk_crlf\"} 1",
        "elb_proxy_requests_refused_total{reason=\"obs_fold\"} 1",
        "elb_proxy_requests_refused_total{reason=\"trailer\"} 1",
    ] {
        assert!(
            metrics.body.contains(line),
            "{line} missing:\n{}",
            metrics.body
        );
    }
    assert!(p.log_contains("client request refused"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn underscore_header_names_are_dropped_by_default_or_refused() {
    let m = RecordingMember::start().await;
    let yaml = |policy: &str| {
        format!(
            "listeners: [{{ address: \"{{listen}}\"{policy} }}]\nclusters:\n{}default_cluster: c\n",
            cluster_yaml("c", &[("m", m.addr, 1)], "")
        )
    };
    let req: &[u8] =
        b"GET / HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 6.6.6.6\r\nConnection: close\r\n\r\n";
    let p = start_proxy(&yaml(""));
    let answer = raw(p.addr, req, Duration::from_secs(5)).await;
    assert_eq!(status_of(&answer), "200", "{answer}");
    let got = String::from_utf8_lossy(&m.received()).to_ascii_lowercase();
    assert!(
        got.contains("x-forwarded-for") && !got.contains("x_forwarded_for"),
        "{got}"
    );
    drop(p);

    let before = m.received().len();
    let p = start_proxy(&yaml(", underscores_in_headers: reject"));
    let answer = raw(p.addr, req, Duration::from_secs(5)).await;
    assert_eq!(status_of(&answer), "400", "{answer}");
    assert_eq!(m.received().len(), before);
    drop(p);

    let p = start_proxy(&yaml(", underscores_in_headers: allow"));
    let answer = raw(p.addr, req, Duration::from_secs(5)).await;
    assert_eq!(status_of(&answer), "200", "{answer}");
    let got = String::from_utf8_lossy(&m.received()[before..]).to_ascii_lowercase();
    assert!(got.contains("x_forwarded_for: 6.6.6.6"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_are_normalised_before_routing_and_forwarded_as_configured() {
    let api = RecordingMember::start().await;
    let web = RecordingMember::start().await;
    let yaml = |listener: &str| {
        format!(
            "listeners: [{{ address: \"{{listen}}\"{listener} }}]\nclusters:\n{}{}routes:\n  - {{ match: {{ path_prefix: /api/ }}, cluster: api }}\ndefault_cluster: web\n",
            cluster_yaml("api", &[("a", api.addr, 1)], ""),
            cluster_yaml("web", &[("w", web.addr, 1)], ""),
        )
    };
    let p = start_proxy(&yaml(""));
    // The route sees /api/v1: the api member gets the normalised target.
    let r = get(p.addr, "a", "/%61pi/v1").await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with("GET /api/v1 HTTP/1.1"), "{}", r.body);
    // /api/../x is /x: not the api route.
    let r = get(p.addr, "a", "/api/../x").await;
    assert!(r.body.starts_with("GET /x HTTP/1.1"), "{}", r.body);
    assert!(!String::from_utf8_lossy(&api.received()).contains("/x"));
    // A malformed escape is refused.
    let answer = raw(
        p.addr,
        b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(status_of(&answer), "400", "{answer}");
    // Double slashes stay unless merge_slashes.
    let r = get(p.addr, "a", "//api//v2").await;
    assert!(r.body.starts_with("GET //api//v2 HTTP/1.1"), "{}", r.body);
    drop(p);

    let p = start_proxy(&yaml(", merge_slashes: true"));
    let r = get(p.addr, "a", "//api//v2").await;
    assert!(r.body.starts_with("GET /api/v2 HTTP/1.1"), "{}", r.body);
    drop(p);

    // normalize_path: false routes on the normalised path, forwards the original.
    let p = start_proxy(&yaml(", normalize_path: false"));
    let r = get(p.addr, "a", "/%61pi/v1").await;
    assert!(r.body.starts_with("GET /%61pi/v1 HTTP/1.1"), "{}", r.body);
    assert!(String::from_utf8_lossy(&api.received()).contains("GET /%61pi/v1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_host_must_agree_with_authority() {
    let m = RecordingMember::start().await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\", h2c: true }}]\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("m", m.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let tcp = within("connect", tokio::net::TcpStream::connect(p.addr))
        .await
        .unwrap();
    let (mut send, conn) = within(
        "handshake",
        hyper::client::conn::http2::handshake::<_, _, Body>(
            TokioExecutor::new(),
            TokioIo::new(tcp),
        ),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let ask = |host: Option<&'static str>, path: &'static str| {
        let mut b = http::Request::get(format!("http://a.test{path}"));
        if let Some(h) = host {
            b = b.header("host", h);
        }
        b.body(empty()).unwrap()
    };
    let ok = within("request", send.send_request(ask(None, "/%61pi")))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let same = within("request", send.send_request(ask(Some("a.test"), "/")))
        .await
        .unwrap();
    assert_eq!(same.status(), 200);
    let before = m.received().len();
    let other = within("request", send.send_request(ask(Some("b.test"), "/evil")))
        .await
        .unwrap();
    assert_eq!(other.status(), 400);
    let got = String::from_utf8_lossy(&m.received()).into_owned();
    assert_eq!(m.received().len(), before, "{got}");
    assert!(got.contains("GET /api HTTP/1.1"), "{got}");
}

/// Which engine answered: the fast path relays the member's field names as sent
/// (`Content-Length`), hyper writes them lower-case.
fn served_fast(answer: &str) -> bool {
    assert_eq!(status_of(answer), "200", "{answer}");
    answer.contains("\r\nContent-Length: ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fast_engine_serves_plain_requests_and_hands_what_it_leaves_to_hyper() {
    let m = RecordingMember::start().await;
    let yaml = |engine: &str| {
        format!(
            "listeners: [{{ address: \"{{listen}}\"{engine} }}]\nclusters:\n{}default_cluster: c\n",
            cluster_yaml("c", &[("m", m.addr, 1)], "")
        )
    };
    let plain: &[u8] = b"GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let within = Duration::from_secs(5);
    let default_fast = std::env::var("ELB_PROXY_ENGINE").as_deref() == Ok("fast");
    let p = start_proxy(&yaml(""));
    assert_eq!(served_fast(&raw(p.addr, plain, within).await), default_fast);
    drop(p);
    let p = start_proxy(&yaml(", engine: fast"));
    assert!(served_fast(&raw(p.addr, plain, within).await));
    // Left to hyper on the fast engine: HTTP/1.0, and a path to normalise.
    let http10: &[u8] = b"GET /a HTTP/1.0\r\nHost: a\r\n\r\n";
    assert!(!served_fast(&raw(p.addr, http10, within).await));
    let dotted: &[u8] = b"GET /x/../a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    assert!(!served_fast(&raw(p.addr, dotted, within).await));
    drop(p);
    let p = start_proxy(&yaml(", engine: hyper"));
    assert!(!served_fast(&raw(p.addr, plain, within).await));
    let got = String::from_utf8_lossy(&m.received()).into_owned();
    assert!(
        got.contains("GET /a HTTP/1.1") && !got.contains("/x/../a"),
        "{got}"
    );
}
