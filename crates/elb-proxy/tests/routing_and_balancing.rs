//! Routing and member choice end to end: a real elb-proxy process in front of real
//! backends on loopback (host/path/header rules, forwarding headers, weights, least
//! connections, power of two, sticky cookies).

mod common;

use common::*;
use http::Request;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_by_host_path_and_header_and_sets_forwarding_headers() {
    let api = Backend::start("api").await;
    let web = Backend::start("web").await;
    let canary = Backend::start("canary").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}{}{}routes:\n\
  - {{ match: {{ host: api.example.com, header: {{ name: x-canary, value: \"1\" }} }}, cluster: canary }}\n\
  - {{ match: {{ host: api.example.com }}, cluster: api }}\n\
  - {{ match: {{ host: \"*.example.com\", path_prefix: /api/ }}, cluster: api, rewrite_host: internal.api }}\n\
default_cluster: web\n",
        cluster_yaml("api", &[("a1", api.addr, 1)], ""),
        cluster_yaml("web", &[("w1", web.addr, 1)], ""),
        cluster_yaml("canary", &[("c1", canary.addr, 1)], ""),
    );
    let p = start_proxy(&yaml);
    assert_eq!(get(p.addr, "api.example.com", "/").await.body, "api\n");
    assert_eq!(get(p.addr, "API.example.com:80", "/x").await.body, "api\n");
    let req = Request::get("/")
        .header("host", "api.example.com")
        .header("x-canary", "1")
        .body(empty())
        .unwrap();
    assert_eq!(request(p.addr, req).await.unwrap().body, "canary\n");
    assert_eq!(
        get(p.addr, "www.example.com", "/api/v1").await.body,
        "api\n"
    );
    assert_eq!(
        api.last_headers.lock().unwrap()["host"],
        "internal.api",
        "route rewrites Host"
    );
    assert_eq!(get(p.addr, "www.example.com", "/other").await.body, "web\n");
    assert_eq!(get(p.addr, "elsewhere.org", "/").await.body, "web\n");
    let h = web.last_headers.lock().unwrap().clone();
    assert_eq!(h["host"], "elsewhere.org", "Host kept");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], "elsewhere.org");
    assert_eq!(
        h["forwarded"],
        "for=127.0.0.1;proto=http;host=elsewhere.org"
    );

    // Hop-by-hop headers (incl. ones named in Connection) never reach the member, and a
    // client's forged X-Forwarded-For is replaced (127.0.0.1 is not a trusted proxy here).
    let req = Request::get("/")
        .header("host", "x.org")
        .header("connection", "x-secret")
        .header("x-secret", "s")
        .header("te", "trailers")
        .header("proxy-connection", "keep-alive")
        .header("x-forwarded-for", "6.6.6.6")
        .body(empty())
        .unwrap();
    assert_eq!(request(p.addr, req).await.unwrap().status, 200);
    let h = web.last_headers.lock().unwrap().clone();
    for k in [
        "connection",
        "x-secret",
        "te",
        "proxy-connection",
        "keep-alive",
    ] {
        assert!(!h.contains_key(k), "{k} was forwarded: {h:?}");
    }
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_is_404_and_health_is_served_by_the_proxy() {
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}routes: [{{ match: {{ host: only.example }}, cluster: c }}]\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    assert_eq!(get(p.addr, "other.example", "/").await.status, 404);
    let h = get(p.addr, "anything", "/services/EchoProxy").await;
    assert_eq!((h.status, h.body.as_str()), (200, "EchoProxy OK\n"));
    assert_eq!(a.hits(), 0, "health answered by the proxy itself");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_round_robin_spreads_by_weight_and_least_connections_avoids_busy_members() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}{}routes: [{{ match: {{ host: lc }}, cluster: lc }}]\ndefault_cluster: rr\n",
        cluster_yaml("rr", &[("a", a.addr, 3), ("b", b.addr, 1)], ""),
        cluster_yaml(
            "lc",
            &[("a", a.addr, 1), ("b", b.addr, 1)],
            "    balance: least_connections\n"
        ),
    );
    let p = start_proxy(&yaml);
    let mut c = Client::connect(p.addr).await;
    let mut counts = std::collections::HashMap::new();
    for _ in 0..40 {
        *counts
            .entry(c.get("rr", "/").await.unwrap().body)
            .or_insert(0) += 1;
    }
    assert_eq!((counts["a\n"], counts["b\n"]), (30, 10));

    // Least connections: while a slow request holds one member, quick ones go to the other.
    let addr = p.addr;
    let (a0, b0) = (a.hits(), b.hits());
    let slow = tokio::spawn(async move { get(addr, "lc", "/slow/1500").await });
    wait_until("the slow request at a member", || {
        a.hits() + b.hits() == a0 + b0 + 1
    })
    .await;
    let busy = if a.hits() > a0 { "a\n" } else { "b\n" };
    for _ in 0..10 {
        let r = get(p.addr, "lc", "/").await;
        assert_ne!(
            r.body, busy,
            "least-connections sent a request to the busy member"
        );
    }
    assert_eq!(slow.await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_of_two_and_sticky_cookie() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}{}routes: [{{ match: {{ host: p2c }}, cluster: p2c }}]\ndefault_cluster: sticky\n",
        cluster_yaml(
            "sticky",
            &[("a", a.addr, 1), ("b", b.addr, 1)],
            "    sticky: { cookie: SRV }\n"
        ),
        cluster_yaml(
            "p2c",
            &[("a", a.addr, 1), ("b", b.addr, 1)],
            "    balance: power_of_two\n"
        ),
    );
    let p = start_proxy(&yaml);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..40 {
        seen.insert(get(p.addr, "p2c", "/").await.body);
    }
    assert_eq!(seen.len(), 2, "power of two uses both idle members");

    let first = get(p.addr, "s", "/").await;
    let cookie = first.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("SRV="), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    for _ in 0..10 {
        let req = Request::get("/")
            .header("host", "s")
            .header("cookie", &pair)
            .body(empty())
            .unwrap();
        let r = request(p.addr, req).await.unwrap();
        assert_eq!(r.body, first.body, "sticky cookie not honoured");
        assert!(
            r.headers.get("set-cookie").is_none(),
            "cookie re-set although valid"
        );
    }
}
