//! Limits per client address: a client over its request rate gets 429 with Retry-After
//! while another is served at full rate; behind a trusted proxy the forwarded address is
//! the client; route and listener rates apply (the rates on both engines); a client over
//! its connection limit is closed while others connect; a flood of 100,000 distinct source
//! addresses keeps the client table and memory bounded.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::*;
use http::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;

/// A keep-alive HTTP/1.1 client whose connection comes from `source`.
async fn client_from(
    source: Ipv4Addr,
    proxy: SocketAddr,
) -> hyper::client::conn::http1::SendRequest<Body> {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::new(IpAddr::V4(source), 0)).unwrap();
    let tcp = within("connect", s.connect(proxy)).await.unwrap();
    let (send, conn) = within(
        "handshake",
        hyper::client::conn::http1::handshake(TokioIo::new(tcp)),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    send
}

async fn ask(
    send: &mut hyper::client::conn::http1::SendRequest<Body>,
    xff: Option<&str>,
) -> (u16, Option<String>) {
    ask_with(send, xff.map(|x| ("x-forwarded-for", x))).await
}

/// One request, with one forwarding header when given.
async fn ask_with(
    send: &mut hyper::client::conn::http1::SendRequest<Body>,
    forwarding: Option<(&str, &str)>,
) -> (u16, Option<String>) {
    let mut b = Request::get("/").header("host", "x");
    if let Some((name, value)) = forwarding {
        b = b.header(name, value);
    }
    within("ready", send.ready()).await.unwrap();
    let r = within("request", send.send_request(b.body(empty()).unwrap()))
        .await
        .unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), retry)
}

/// The proxy-wide request rate, on listeners of `engine`.
async fn over_the_rate_gets_429(engine: &str) {
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\", engine: {engine} }}]\nlimits: {{ per_client: {{ requests_per_second: 20, burst: 20 }} }}\ntrusted_proxies: [127.0.0.4/32]\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let mut greedy = client_from(Ipv4Addr::new(127, 0, 0, 2), p.addr).await;
    let mut polite = client_from(Ipv4Addr::new(127, 0, 0, 3), p.addr).await;
    let (mut ok, mut limited) = (0, 0);
    let mut polite_ok = 0;
    let start = Instant::now();
    for i in 0..200 {
        // A forged X-Forwarded-For from an untrusted peer changes nothing.
        match ask(&mut greedy, Some(&format!("198.18.1.{}", i % 250))).await {
            (200, _) => ok += 1,
            (429, Some(retry)) => {
                assert_eq!(retry, "1");
                limited += 1
            }
            other => panic!("unexpected {other:?}"),
        }
        if i % 10 == 0 {
            assert_eq!(
                ask(&mut polite, None).await.0,
                200,
                "the other client is served"
            );
            polite_ok += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    // The burst plus what the bucket refilled meanwhile, no more.
    let allowed = 20.0 + 20.0 * secs;
    assert!(ok as f64 <= allowed + 1.0, "{ok} served in {secs:.2}s");
    assert!(
        ok >= 20 && limited >= 200 - allowed as i32 - 1,
        "{ok} ok, {limited} limited"
    );
    assert_eq!(polite_ok, 20);

    // Behind a trusted proxy, each forwarded client has its own bucket.
    let mut lb = client_from(Ipv4Addr::new(127, 0, 0, 4), p.addr).await;
    // Bounded: a request takes far less than the 50 ms a token takes to come back.
    let mut limited_after = None;
    for n in 0..1000 {
        if ask(&mut lb, Some("198.18.0.1")).await.0 == 429 {
            limited_after = Some(n);
            break;
        }
    }
    assert!(limited_after.is_some_and(|n| n >= 20), "{limited_after:?}");
    assert_eq!(ask(&mut lb, Some("198.18.0.2")).await.0, 200);
    let (_, info) = p.ctl("show info");
    assert!(info.contains("RateLimited: "), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_gets_429_while_another_is_served_on_the_hyper_engine() {
    over_the_rate_gets_429("hyper").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_gets_429_while_another_is_served_on_the_fast_engine() {
    over_the_rate_gets_429("fast").await;
}

/// `Forwarded: for=` from a trusted proxy names the client, on listeners of `engine`.
async fn forwarded_names_the_client(engine: &str) {
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\", engine: {engine} }}]\nlimits: {{ per_client: {{ requests_per_second: 1, burst: 5 }} }}\ntrusted_proxies: [127.0.0.4/32]\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let mut lb = client_from(Ipv4Addr::new(127, 0, 0, 4), p.addr).await;
    let first = ("forwarded", "for=\"[2001:db8::1]:4711\";proto=https");
    // Bounded: the bucket refills one token a second, a request takes milliseconds.
    let mut limited_after = None;
    for n in 0..100 {
        if ask_with(&mut lb, Some(first)).await.0 == 429 {
            limited_after = Some(n);
            break;
        }
    }
    assert!(limited_after.is_some_and(|n| n >= 5), "{limited_after:?}");
    // Another client named by Forwarded has its own bucket; so does the proxy itself when
    // the hop is obfuscated (the walk stops at the trusted peer).
    let second = ("forwarded", "for=\"[2001:db8::2]\"");
    assert_eq!(ask_with(&mut lb, Some(second)).await.0, 200);
    assert_eq!(
        ask_with(&mut lb, Some(("forwarded", "for=_hidden")))
            .await
            .0,
        200
    );
    // X-Forwarded-For wins over Forwarded: the first client's bucket is not asked.
    let both = Request::get("/")
        .header("host", "x")
        .header("forwarded", first.1)
        .header("x-forwarded-for", "198.18.0.9")
        .body(empty())
        .unwrap();
    within("ready", lb.ready()).await.unwrap();
    let r = within("request", lb.send_request(both)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(ask_with(&mut lb, Some(first)).await.0, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_forwarded_for_names_the_client_on_the_hyper_engine() {
    forwarded_names_the_client("hyper").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_forwarded_for_names_the_client_on_the_fast_engine() {
    forwarded_names_the_client("fast").await;
}

/// A route's and a listener's own rates, on listeners of `engine`: the limited route answers
/// 429 once its burst is spent while another route still serves the same client, until the
/// listener's larger burst is spent too.
async fn route_and_listener_rates(engine: &str) {
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\", engine: {engine}, per_client: {{ requests_per_second: 1, burst: 8 }} }}]\nclusters:\n{}routes:\n  - {{ match: {{ path_prefix: /tight }}, cluster: c, per_client: {{ requests_per_second: 1, burst: 3 }} }}\ndefault_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let mut c = Client::connect(p.addr).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(c.get("x", "/tight").await.unwrap().status);
    }
    // Both buckets hold back-to-back requests well under the one second a token takes.
    assert_eq!(
        statuses,
        [200, 200, 200, 429],
        "{engine}: the route's burst of 3"
    );
    // The listener's bucket (8) counted the three served and the refused one alike.
    let mut other = Vec::new();
    for _ in 0..5 {
        other.push(c.get("x", "/other").await.unwrap().status);
    }
    assert_eq!(
        other,
        [200, 200, 200, 200, 429],
        "{engine}: the listener's burst of 8"
    );
    let (_, info) = p.ctl("show info");
    assert!(info.contains("RateLimited: 2"), "{engine}: {info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_and_listener_rates_apply_on_the_hyper_engine() {
    route_and_listener_rates("hyper").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_and_listener_rates_apply_on_the_fast_engine() {
    route_and_listener_rates("fast").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_connection_limit_is_closed_while_others_connect() {
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\", per_client: {{ max_connections: 2 }} }}]\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let me = Ipv4Addr::new(127, 0, 0, 5);
    let mut c1 = client_from(me, p.addr).await;
    let mut c2 = client_from(me, p.addr).await;
    assert_eq!(ask(&mut c1, None).await.0, 200);
    assert_eq!(ask(&mut c2, None).await.0, 200);
    let mut c3 = client_from(me, p.addr).await;
    within("ready", c3.ready()).await.ok();
    let third = c3
        .send_request(Request::get("/").header("host", "x").body(empty()).unwrap())
        .await;
    assert!(third.is_err(), "the third connection was served");
    let mut other = client_from(Ipv4Addr::new(127, 0, 0, 6), p.addr).await;
    assert_eq!(ask(&mut other, None).await.0, 200);
    drop(c1);
    poll_for(
        "a connection slot back",
        Duration::from_secs(10),
        || async {
            let mut c = client_from(me, p.addr).await;
            let r = c
                .send_request(Request::get("/").header("host", "x").body(empty()).unwrap())
                .await;
            r.ok().filter(|r| r.status() == 200)
        },
    )
    .await;
    assert!(p.ctl("show info").1.contains("ClientConnsRefused: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_distinct_addresses_keeps_memory_bounded() {
    let a = Backend::start("a").await;
    let table = 10_000;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nlimits: {{ client_table_size: {table}, per_client: {{ requests_per_second: 100, max_connections: 10 }} }}\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let deadline = Instant::now() + Duration::from_secs(240);
    let flood = |from: u32, to: u32| {
        let addr = p.addr;
        async move {
            let mut tasks = tokio::task::JoinSet::new();
            for w in 0..16u32 {
                tasks.spawn(async move {
                    let mut n = from + w;
                    while n < to {
                        assert!(Instant::now() < deadline, "flood too slow");
                        // 127.1.0.0 + n: distinct loopback sources. Each connection is
                        // counted (an entry) at accept; every 100th also sends a request.
                        let ip = Ipv4Addr::from(0x7f01_0000 + n);
                        if n % 100 == 0 {
                            let mut c = client_from(ip, addr).await;
                            assert_eq!(ask(&mut c, None).await.0, 200);
                        } else {
                            let s = TcpSocket::new_v4().unwrap();
                            s.bind(SocketAddr::new(IpAddr::V4(ip), 0)).unwrap();
                            drop(within("connect", s.connect(addr)).await.unwrap());
                        }
                        n += 16;
                    }
                });
            }
            while let Some(r) = tasks.join_next().await {
                r.unwrap();
            }
        }
    };
    flood(0, 20_000).await;
    let warm = p.peak_rss_kib();
    flood(20_000, 100_000).await;
    // Every connection has been accepted once the table has seen them all.
    poll_for(
        "all flood connections accepted",
        Duration::from_secs(60),
        || async {
            let info = p.ctl("show info").1;
            info.lines()
                .find_map(|l| l.strip_prefix("CumConns:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n >= 100_000)
        },
    )
    .await;
    let end = p.peak_rss_kib();
    let (_, info) = p.ctl("show info");
    let field = |k: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{k} missing in {info}"))
    };
    // Two scopes (global rate, global connections share one key per address).
    assert!(field("ClientTableEntries:") <= table as u64, "{info}");
    assert!(field("ClientTableEvictions:") >= 90_000, "{info}");
    assert!(
        end.saturating_sub(warm) < 16 * 1024,
        "RSS grew from {warm} KiB to {end} KiB over 80,000 more addresses"
    );
    eprintln!("peak RSS after 20,000 addresses {warm} KiB, after 100,000 {end} KiB");
}
