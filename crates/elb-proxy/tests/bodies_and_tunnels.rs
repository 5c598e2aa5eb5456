//! Bodies end to end: the per-route body limit, WebSocket tunnels, and 1 GiB streamed
//! both ways with flat memory.

mod common;

use std::time::Duration;

use common::*;
use http::Request;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_gives_413_and_websocket_is_tunnelled() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\ntimeouts: {{ tunnel_idle: 500ms }}\nclusters:\n{}routes: [{{ match: {{ path: /sink }}, cluster: c, max_body: 1KiB }}]\ndefault_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let req = Request::post("/sink")
        .header("host", "x")
        .body(full(vec![b'z'; 2000]))
        .unwrap();
    assert_eq!(request(p.addr, req).await.unwrap().status, 413);
    let req = Request::post("/sink")
        .header("host", "x")
        .body(full(vec![b'z'; 1000]))
        .unwrap();
    assert_eq!(request(p.addr, req).await.unwrap().body, "1000\n");
    // Chunked body over the limit: cut while streaming.
    let r = raw(
        p.addr,
        format!("POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n{}\r\n800\r\n{}\r\n0\r\n\r\n", "a".repeat(0x800), "b".repeat(0x800)).as_bytes(),
        Duration::from_secs(3),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");

    let mut s = within("connect", tokio::net::TcpStream::connect(p.addr))
        .await
        .unwrap();
    s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        within("101 head", s.read_exact(&mut byte)).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket"), "{head}");
    for msg in [&b"hello"[..], b"tunnel", &[0u8, 255, 1, 2]] {
        s.write_all(msg).await.unwrap();
        let mut back = vec![0u8; msg.len()];
        tokio::time::timeout(Duration::from_secs(3), s.read_exact(&mut back))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, msg);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_streams_both_ways_with_flat_memory() {
    use http_body_util::BodyExt;
    const GIB: u64 = 1 << 30;
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let base = p.peak_rss_kib();
    // Download: count bytes as they arrive, never holding them.
    let s = within("connect", tokio::net::TcpStream::connect(p.addr))
        .await
        .unwrap();
    let (mut send, conn) = within(
        "handshake",
        hyper::client::conn::http1::handshake::<_, Body>(hyper_util::rt::TokioIo::new(s)),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let resp = within(
        "request",
        send.send_request(
            Request::get(format!("/bytes/{GIB}"))
                .header("host", "x")
                .body(empty())
                .unwrap(),
        ),
    )
    .await
    .unwrap();
    let mut body = resp.into_body();
    let mut n = 0u64;
    while let Some(f) = within("download frame", body.frame()).await {
        if let Ok(d) = f.unwrap().into_data() {
            n += d.len() as u64;
        }
    }
    assert_eq!(n, GIB);
    // Upload: a generated stream, counted by the member.
    let chunk = bytes::Bytes::from(vec![b'u'; 65536]);
    let stream = futures_util::stream::iter(
        (0..GIB / 65536)
            .map(move |_| Ok::<_, hyper::Error>(hyper::body::Frame::data(chunk.clone()))),
    );
    let req = Request::post("/sink")
        .header("host", "x")
        .body(BodyExt::boxed(http_body_util::StreamBody::new(stream)))
        .unwrap();
    let r = request(p.addr, req).await.unwrap();
    assert_eq!(r.body, format!("{GIB}\n"));
    let peak = p.peak_rss_kib();
    eprintln!("elb-proxy peak RSS: {base} KiB at start, {peak} KiB after 2 GiB streamed");
    assert!(
        peak < base + 32 * 1024,
        "memory grew from {base} to {peak} KiB: body was buffered"
    );
}
