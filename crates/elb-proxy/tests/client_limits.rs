//! Hostile and heavy clients end to end: smuggling attempts, oversized heads, slowloris,
//! and the connection limit.

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smuggling_attempts_and_oversized_headers_are_rejected() {
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nlimits: {{ max_header_bytes: 16KiB, max_headers: 50 }}\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let t = Duration::from_secs(3);
    // Two different Content-Length values.
    let r = raw(
        p.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        t,
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    // Obfuscated Transfer-Encoding (not a final chunked).
    let r = raw(
        p.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        t,
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    let r = raw(
        p.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        t,
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    // CL + TE: the body is framed by TE, the smuggled request after it is never forwarded
    // as a separate request, and the connection is closed after the answer.
    let before = a.hits();
    let r = raw(
        p.addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        t,
    )
    .await;
    assert!(
        r.starts_with("HTTP/1.1 200") || r.starts_with("HTTP/1.1 400"),
        "{r}"
    );
    assert_eq!(
        r.matches("HTTP/1.1 ").count(),
        1,
        "the smuggled request was answered: {r}"
    );
    assert!(a.hits() - before <= 1);
    assert!(
        !a.last_headers
            .lock()
            .unwrap()
            .get(":path")
            .is_some_and(|p| p.contains("smuggled"))
    );
    // Oversized header block -> 431; too many headers -> 431.
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let r = raw(p.addr, big.as_bytes(), t).await;
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    let mut many = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
    for i in 0..60 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let r = raw(p.addr, many.as_bytes(), t).await;
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    // Still serving normal clients.
    assert_eq!(get(p.addr, "x", "/").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_cut_at_the_header_timeout_while_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\ntimeouts: {{ request_header: 1s }}\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut s = within("connect", tokio::net::TcpStream::connect(p.addr))
            .await
            .unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-a: ")
            .await
            .unwrap();
        slow.push(s);
    }
    let start = std::time::Instant::now();
    assert_eq!(
        get(p.addr, "x", "/").await.status,
        200,
        "others served during the attack"
    );
    for s in &mut slow {
        let _ = s.write_all(b"b").await;
    }
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), slow[0].read_to_end(&mut buf)).await;
    assert!(n.is_ok(), "slow connection not closed");
    let waited = start.elapsed();
    assert!(waited < Duration::from_secs(3), "closed after {waited:?}");
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_limit_new_connections_are_refused_at_once_and_service_recovers() {
    use tokio::io::AsyncReadExt;
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\", max_connections: 5 }}]\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut c = Client::connect(p.addr).await;
        assert_eq!(c.get("x", "/").await.unwrap().status, 200);
        held.push(c);
    }
    // The sixth is closed at once (EOF well before any timeout).
    let start = std::time::Instant::now();
    let mut s = within("connect", tokio::net::TcpStream::connect(p.addr))
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
    assert!(
        matches!(n, Ok(Ok(0)) | Ok(Err(_))),
        "over-limit connection not closed: {n:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
    let (_, info) = p.ctl("show info");
    assert!(info.contains("RefusedConns: 1"), "{info}");
    // Existing clients keep working; when load falls, new clients are served again.
    assert_eq!(held[0].get("x", "/").await.unwrap().status, 200);
    held.clear();
    let end = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(r) = request(
            p.addr,
            http::Request::get("/")
                .header("host", "x")
                .body(empty())
                .unwrap(),
        )
        .await
        {
            assert_eq!(r.status, 200);
            break;
        }
        assert!(std::time::Instant::now() < end, "service did not recover");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
