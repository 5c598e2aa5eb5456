//! Failing members end to end: active and passive health, safe retries, broken answers
//! (502/504, never relayed), and the whole-request timeout.

mod common;

use std::time::Duration;

use common::*;
use http::Request;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_killed_and_restarted_under_load_with_active_and_passive_health() {
    let a = Backend::start("a").await;
    let mut b = Backend::start("b").await;
    let b_addr = b.addr;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nhealth: {{ must_be_up: [c] }}\nclusters:\n{}default_cluster: c\n",
        cluster_yaml(
            "c",
            &[("a", a.addr, 1), ("b", b.addr, 1)],
            "    health_check: { path: /, interval: 100ms, timeout: 500ms, rise: 2, fall: 2 }\n    passive: { consecutive_failures: 1, base_ejection: 30s }\n"
        ),
    );
    let p = start_proxy(&yaml);
    let addr = p.addr;
    let load = tokio::spawn(async move {
        let mut failed = 0;
        let mut ok = 0;
        let end = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < end {
            match request(
                addr,
                Request::get("/").header("host", "x").body(empty()).unwrap(),
            )
            .await
            {
                Ok(r) if r.status == 200 => ok += 1,
                _ => failed += 1,
            }
        }
        (ok, failed)
    });
    // Under load: both members have answered a good number of requests before b dies.
    wait_until("traffic on both members", || {
        a.hits() >= 50 && b.hits() >= 50
    })
    .await;
    b.kill().await;
    assert!(
        p.wait_log("member DOWN by health check", Duration::from_secs(3)),
        "active check did not take b down"
    );
    let (_, s) = p.ctl("show servers state");
    assert!(s.contains("c b ") && s.contains("DOWN"), "{s}");
    let restarted = Backend::start_at("b", b_addr).await;
    assert!(
        p.wait_log("member UP by health check", Duration::from_secs(3)),
        "b did not come back"
    );
    let (ok, failed) = load.await.unwrap();
    // Connect failures to the dead member are retried on the live one, so nothing fails
    // except, possibly, the one request (the load is sequential) that b was answering at
    // the instant it was killed: it was sent, so it is not replayed (502), like HAProxy's
    // default `retry-on conn-failure`.
    assert!(failed <= 1, "{ok} ok, {failed} failed");
    assert!(ok > 100, "{ok} ok");
    let before = restarted.hits();
    for _ in 0..20 {
        get(p.addr, "x", "/").await;
    }
    assert!(
        restarted.hits() > before,
        "restarted member gets traffic again"
    );
}

/// A member that accepts and closes after reading the request (a crash mid-request).
async fn closing_member() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use tokio::io::AsyncReadExt;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let s2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let seen = s2.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                if s.read(&mut buf).await.unwrap_or(0) > 0 {
                    seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_only_when_nothing_was_sent() {
    let good = Backend::start("good").await;
    let dead = free_port();
    let (closing, closing_seen) = closing_member().await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}{}routes: [{{ match: {{ host: closing }}, cluster: closing }}]\ndefault_cluster: refused\n",
        cluster_yaml(
            "refused",
            &[
                ("dead", format!("127.0.0.1:{dead}").parse().unwrap(), 1),
                ("good", good.addr, 1)
            ],
            "    passive: { consecutive_failures: 0 }\n"
        ),
        cluster_yaml(
            "closing",
            &[("closing", closing, 1), ("good", good.addr, 1)],
            "    balance: round_robin\n    passive: { consecutive_failures: 0 }\n"
        ),
    );
    let p = start_proxy(&yaml);
    // Connection refused: nothing sent, so even POST is retried on the good member.
    for _ in 0..6 {
        let req = Request::post("/")
            .header("host", "r")
            .body(full("payload"))
            .unwrap();
        let r = request(p.addr, req).await.unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "good\n"));
    }
    // The member read the POST and died: never replayed elsewhere, the client gets 502.
    let before_good = good.hits();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let req = Request::post("/")
            .header("host", "closing")
            .body(full("payload"))
            .unwrap();
        statuses.push(request(p.addr, req).await.unwrap().status);
    }
    let seen = closing_seen.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        seen, 2,
        "round robin sent two of four to the closing member"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 502).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        good.hits() - before_good,
        2,
        "a sent request was replayed: {statuses:?}"
    );
    assert!(
        p.log_contains("phase=\"response head (connection closed)\"")
            || p.log_contains("phase=response head"),
        "{:?}",
        p.log.lock().unwrap()
    );
}

/// A member answering with fixed bytes, then closing (or staying silent).
async fn broken_member(answer: &'static [u8], close: bool) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(answer).await;
                if close {
                    let _ = s.shutdown().await;
                } else {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_members_give_502_or_504_never_a_relayed_invalid_answer() {
    // A head larger than the client-side buffer limit (256 KiB) and one with too many fields.
    let huge: &'static [u8] = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nx-big: {}\r\ncontent-length: 2\r\n\r\nhi",
            "a".repeat(300_000)
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let many: &'static [u8] = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\n{}content-length: 2\r\n\r\nhi",
            (0..150)
                .map(|i| format!("x-h{i}: v\r\n"))
                .collect::<String>()
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let cases: [(&str, &[u8], bool, u16); 7] = [
        ("hugehead", huge, true, 502),
        ("manyheaders", many, true, 502),
        (
            "bigstatus",
            b"HTTP/1.1 2000 OK\r\ncontent-length: 2\r\n\r\nhi",
            true,
            502,
        ),
        ("garbage", b"\x00\x01garbage garbage\r\n\r\n", true, 502),
        ("earlyclose", b"", true, 502),
        (
            "badheader",
            b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n",
            true,
            502,
        ),
        ("silent", b"", false, 504),
    ];
    let mut clusters = String::new();
    let mut routes = String::from("routes:\n");
    for (name, bytes, close, _) in cases {
        let a = broken_member(bytes, close).await;
        clusters.push_str(&cluster_yaml(name, &[(name, a, 1)], "    retries: 0\n"));
        routes.push_str(&format!(
            "  - {{ match: {{ host: {name} }}, cluster: {name} }}\n"
        ));
    }
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\ntimeouts: {{ upstream_response: 1s }}\nclusters:\n{clusters}{routes}"
    );
    let p = start_proxy(&yaml);
    for (name, _, _, want) in cases {
        let r = get(p.addr, name, "/").await;
        assert_eq!(r.status, want, "{name}: {r:?}");
        assert!(
            !r.body.contains("hi") && !r.body.contains("garbage"),
            "{name} relayed: {r:?}"
        );
    }
    let (_, stat) = p.ctl("show stat elb");
    for (name, ..) in cases {
        let row = stat
            .lines()
            .find(|l| l.starts_with(&format!("{name},{name},")))
            .unwrap();
        let eresp: u64 = row.split(',').nth(11).unwrap().parse().unwrap();
        assert_eq!(eresp, 1, "{name} failure not counted: {row}");
    }
    assert!(
        p.log_contains("member=bigstatus"),
        "failure log names the member"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_total_timeout_gives_504_and_cuts_a_stalled_body() {
    let a = Backend::start("a").await;
    // Sends a head and 5 of 1000 promised body bytes, then stalls for 10 s.
    let stall = broken_member(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nhello",
        false,
    )
    .await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}{}routes:\n  - {{ match: {{ path_prefix: /stall }}, cluster: s }}\n  - {{ match: {{ header: {{ name: x-long }} }}, cluster: a, timeout: 5s }}\ndefault_cluster: a\ntimeouts: {{ request_total: 400ms }}\n",
        cluster_yaml("a", &[("a1", a.addr, 1)], ""),
        cluster_yaml(
            "s",
            &[("s1", stall, 1)],
            "    passive: { consecutive_failures: 0 }\n"
        ),
    );
    let p = start_proxy(&yaml);
    // Fast requests are untouched.
    assert_eq!(get(p.addr, "x", "/").await.status, 200);
    // No response head within 400 ms: 504, well before the member's 2 s.
    let t = std::time::Instant::now();
    let r = get(p.addr, "x", "/slow/2000").await;
    assert_eq!(r.status, 504, "{r:?}");
    assert!(r.body.contains("request total") || r.body.contains("gateway timeout"));
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    // A route's own timeout overrides the global one.
    let req = Request::get("/slow/700")
        .header("host", "x")
        .header("x-long", "1")
        .body(empty())
        .unwrap();
    assert_eq!(request(p.addr, req).await.unwrap().status, 200);
    // Head relayed, then the body stalls: the stream is cut at the deadline (the client
    // sees an incomplete body, not a hang until the member's 10 s).
    let t = std::time::Instant::now();
    let req = Request::get("/stall")
        .header("host", "x")
        .body(empty())
        .unwrap();
    let r = request(p.addr, req).await;
    assert!(r.is_err(), "truncated body must be an error: {r:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // A client whose upload stalls gets a 504 when the total time is up.
    let t = std::time::Instant::now();
    let out = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = within("connect", tokio::net::TcpStream::connect(p.addr))
            .await
            .unwrap();
        s.write_all(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("an answer before the test's bound")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert!(out.starts_with("HTTP/1.1 504"), "{out}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(p.wait_log("request total timeout: answer cut", Duration::from_secs(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_url_never_empties_a_cluster_and_a_refusing_member_is_still_ejected() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let dead: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nhealth: {{ must_be_up: [app, counted] }}\nclusters:\n{}{}{}routes:\n  - {{ match: {{ host: counted }}, cluster: counted }}\n  - {{ match: {{ host: mixed }}, cluster: mixed }}\ndefault_cluster: app\n",
        cluster_yaml("app", &[("a", a.addr, 1), ("b", b.addr, 1)], ""),
        cluster_yaml(
            "counted",
            &[("c1", a.addr, 1), ("c2", b.addr, 1)],
            "    passive: { consecutive_failures: 2, count_5xx: true, base_ejection: 60s }\n"
        ),
        cluster_yaml(
            "mixed",
            &[("live", a.addr, 1), ("dead", dead, 1)],
            "    passive: { consecutive_failures: 1, base_ejection: 60s }\n"
        ),
    );
    let p = start_proxy(&yaml);
    // One URL that always answers 500, hammered on both clusters: the answers are relayed.
    for host in ["x", "counted"] {
        for _ in 0..40 {
            assert_eq!(get(p.addr, host, "/status/500").await.status, 500);
        }
    }
    // By default a 5xx is the application's answer, not the member's failure: every member
    // keeps serving every other URL.
    let mut served = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let r = get(p.addr, "x", "/").await;
        assert_eq!(r.status, 200, "{r:?}");
        served.insert(r.body);
    }
    assert_eq!(served.len(), 2, "a member stopped serving: {served:?}");
    // With 5xx counted, the ejection cap keeps one member in rotation.
    for _ in 0..10 {
        assert_eq!(get(p.addr, "counted", "/").await.status, 200);
    }
    let (_, stat) = p.ctl("show stat elb");
    let row = stat
        .lines()
        .find(|l| l.starts_with("counted,BACKEND,"))
        .unwrap();
    let cols: Vec<&str> = row.split(',').collect();
    assert_eq!(cols[14], "1", "ejections: {row}");
    assert_eq!(cols[15], "1", "ejections for 5xx: {row}");
    // The health service follows the clusters' capacity, not one URL's answers.
    let h = get(p.addr, "x", "/services/EchoProxy").await;
    assert_eq!(h.status, 200, "{h:?}");
    // A member that refuses connections is still ejected at once (and the request retried
    // on the live one), and the log says it was for connection failures.
    for _ in 0..2 {
        assert_eq!(get(p.addr, "mixed", "/").await.status, 200);
    }
    let (_, state) = p.ctl("show servers state");
    assert!(
        state
            .lines()
            .any(|l| l.starts_with("mixed dead ") && l.contains("EJECTED")),
        "{state}"
    );
    let logged = |member: &str, cause: &str| {
        p.log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("member ejected") && l.contains(member) && l.contains(cause))
    };
    assert!(logged("member=dead", "cause=\"connection\""));
    assert!(logged("member=c", "cause=\"5xx\""));
    assert!(!logged("member=a", "cause"), "app member ejected");
}
