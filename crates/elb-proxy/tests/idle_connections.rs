//! Idle keep-alive connections end to end: parking without losing bytes, the memory an
//! idle connection costs, and the idle timeout of a parked one.

mod common;

use std::time::Duration;

use common::*;

async fn read_responses(s: &mut tokio::net::TcpStream, n: usize) -> Vec<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while out.len() < n {
        let mut chunk = [0u8; 4096];
        let got = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .expect("response within 5 s")
            .unwrap();
        assert!(got > 0, "connection closed after {} responses", out.len());
        buf.extend_from_slice(&chunk[..got]);
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if buf.len() < end + 4 + len {
                break;
            }
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
            out.push(format!("{}|{body}", head.lines().next().unwrap_or("")));
            buf.drain(..end + 4 + len);
        }
    }
    out
}

fn info_value(p: &Proxy, key: &str) -> i64 {
    let (_, info) = p.ctl("show info");
    info.lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{key}: "))
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("{key} missing in {info}"))
}

async fn wait_parks(p: &Proxy, at_least: i64) {
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while info_value(p, "Parks") < at_least {
        assert!(std::time::Instant::now() < end, "connection never parked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_park_without_losing_bytes() {
    use tokio::io::AsyncWriteExt;
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}default_cluster: a\n",
        cluster_yaml("a", &[("a1", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let mut s = within("connect", tokio::net::TcpStream::connect(p.addr))
        .await
        .unwrap();
    // Request, idle until parked, request again on the same connection.
    s.write_all(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_responses(&mut s, 1).await, ["HTTP/1.1 200 OK|a\n"]);
    wait_parks(&p, 1).await;
    assert_eq!(info_value(&p, "ParkedConns"), 1);
    s.write_all(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_responses(&mut s, 1).await, ["HTTP/1.1 200 OK|a\n"]);
    assert_eq!(a.last_headers.lock().unwrap()[":path"], "/2");
    // A head split by a pause longer than the park grace.
    wait_parks(&p, 2).await;
    s.write_all(b"GET /split HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.write_all(b"Host: x\r\n\r\n").await.unwrap();
    assert_eq!(read_responses(&mut s, 1).await, ["HTTP/1.1 200 OK|a\n"]);
    assert_eq!(a.last_headers.lock().unwrap()[":path"], "/split");
    // Two pipelined requests plus the start of a third, a pause, then the rest.
    s.write_all(
        b"GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\nGET /p3 HT",
    )
    .await
    .unwrap();
    let two = read_responses(&mut s, 2).await;
    assert_eq!(two.len(), 2);
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.write_all(b"TP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert_eq!(read_responses(&mut s, 1).await, ["HTTP/1.1 200 OK|a\n"]);
    assert_eq!(a.last_headers.lock().unwrap()[":path"], "/p3");
    // A request with a body, idle, then another request. The park count is read while
    // the connection is parked (so it is stable), and must grow once more after the POST.
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while info_value(&p, "ParkedConns") != 1 {
        assert!(std::time::Instant::now() < end, "not parked after /p3");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let parks = info_value(&p, "Parks");
    s.write_all(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        .await
        .unwrap();
    assert_eq!(read_responses(&mut s, 1).await, ["HTTP/1.1 200 OK|5\n"]);
    wait_parks(&p, parks + 1).await;
    s.write_all(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_responses(&mut s, 1).await, ["HTTP/1.1 200 OK|a\n"]);
    // A parked connection still closes at the idle (request header) timeout on its own
    // terms: the client closing is noticed and the gauge goes back to 0.
    drop(s);
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while info_value(&p, "CurrConns") != 0 || info_value(&p, "ParkedConns") != 0 {
        assert!(
            std::time::Instant::now() < end,
            "closed parked connection still counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_costs_a_few_kilobytes() {
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}default_cluster: a\ntimeouts: {{ request_header: 60s }}\n",
        cluster_yaml("a", &[("a1", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let rss = || -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", p.child.id())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    // Warm up (allocator arenas, the member connection), then measure 1500 connections that
    // each made one request and then sat idle.
    let mut warm = Client::connect(p.addr).await;
    warm.get("x", "/").await.unwrap();
    let n = 1500;
    let before = rss();
    let mut idle = Vec::new();
    for _ in 0..n {
        use tokio::io::AsyncWriteExt;
        let mut s = within("connect", tokio::net::TcpStream::connect(p.addr))
            .await
            .unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        read_responses(&mut s, 1).await;
        idle.push(s);
    }
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while info_value(&p, "ParkedConns") < n {
        assert!(
            std::time::Instant::now() < end,
            "not all connections parked"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let per_conn = (rss().saturating_sub(before)) * 1024 / n as u64;
    // Unparked, hyper's buffers alone are 16 KiB per connection (measured 26-40 KB).
    assert!(per_conn < 8 * 1024, "{per_conn} bytes per idle connection");
    eprintln!("{per_conn} bytes per idle connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_connection_is_closed_after_the_idle_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}default_cluster: a\ntimeouts: {{ request_header: 1s }}\n",
        cluster_yaml("a", &[("a1", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let mut s = within("connect", tokio::net::TcpStream::connect(p.addr))
        .await
        .unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_responses(&mut s, 1).await, ["HTTP/1.1 200 OK|a\n"]);
    wait_parks(&p, 1).await;
    let t = std::time::Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("closed within the test's bound")
        .unwrap_or(0);
    assert_eq!(n, 0, "the proxy closes an idle parked connection");
    let waited = t.elapsed();
    assert!(
        waited > Duration::from_millis(700) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_waiting_for_their_first_byte_hold_no_buffers_on_the_fast_engine() {
    use tokio::io::AsyncWriteExt;
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\", engine: fast }}]\nclusters:\n{}default_cluster: a\n",
        cluster_yaml("a", &[("a1", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let n = 200;
    let mut conns = Vec::new();
    for _ in 0..n {
        conns.push(
            within("connect", tokio::net::TcpStream::connect(p.addr))
                .await
                .unwrap(),
        );
    }
    // A connection counts as parked only while it waits holding no buffers: one that took
    // a request's buffers on a readiness with nothing to read is not counted.
    let end = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let parked = info_value(&p, "ParkedConns");
        if parked == n {
            break;
        }
        assert!(
            std::time::Instant::now() < end,
            "{parked} of {n} connections wait without buffers"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // They still serve when their first request comes.
    let s = &mut conns[n as usize / 2];
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_responses(s, 1).await, ["HTTP/1.1 200 OK|a\n"]);
}
