//! Weighted splits between clusters and request mirroring to a shadow cluster, end to end:
//! a real elb-proxy process, real members on loopback, and shadows that answer, hang or are
//! gone.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use http::Request;

/// A counter of the Prometheus text for `cluster` (0 when absent).
async fn metric(metrics: SocketAddr, name: &str, cluster: &str) -> u64 {
    let text = get(metrics, "m", "/metrics").await.body;
    let key = format!("{name}{{cluster=\"{cluster}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Members `stable` and `canary` behind a proxy on `engine` that splits 95/5 between them.
async fn canary_split(engine: &str) -> (Backend, Backend, Proxy) {
    let stable = Backend::start("stable").await;
    let canary = Backend::start("canary").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\", engine: {engine} }}]\nclusters:\n{}{}routes:\n  - split: [{{ cluster: stable, weight: 95 }}, {{ cluster: canary, weight: 5 }}]\n",
        cluster_yaml("stable", &[("s1", stable.addr, 1)], ""),
        cluster_yaml("canary", &[("c1", canary.addr, 1)], ""),
    );
    let p = start_proxy(&yaml);
    (stable, canary, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_95_5_split_sends_exactly_50_of_1000_requests_to_the_canary() {
    for engine in ["hyper", "fast"] {
        let (stable, canary, p) = canary_split(engine).await;
        let mut c = Client::connect(p.addr).await;
        let mut longest_canary_gap = 0;
        let mut since = 0;
        for _ in 0..1000 {
            let r = c.get("h", "/").await.unwrap();
            since += 1;
            if r.body == "canary\n" {
                longest_canary_gap = longest_canary_gap.max(since);
                since = 0;
            }
        }
        // Counter-based: every 100 requests hold exactly 5 canary picks, spread out.
        assert_eq!(canary.hits(), 50, "{engine}");
        assert_eq!(stable.hits(), 950, "{engine}");
        assert!(
            longest_canary_gap <= 40,
            "{engine}: canary picks bunched: gap {longest_canary_gap}"
        );
    }
}

/// Sends `n` requests on `c`; returns for each whether the canary answered.
async fn canary_picks(c: &mut Client, n: usize) -> Vec<bool> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(c.get("h", "/").await.unwrap().body == "canary\n");
    }
    out
}

fn reload(p: &Proxy) {
    let (ok, out) = p.ctl("reload");
    assert!(ok && out.contains("config reloaded"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_an_unchanged_splits_position_and_restarts_a_changed_one() {
    for engine in ["hyper", "fast"] {
        let (stable, canary, p) = canary_split(engine).await;
        let mut c = Client::connect(p.addr).await;
        // A reload every 50 requests: going on, 1000 requests are ten whole runs (exactly
        // 50 canary picks); restarting at each reload would give 40 (2 in each first 50).
        for _ in 0..20 {
            canary_picks(&mut c, 50).await;
            reload(&p);
        }
        assert_eq!(
            canary.hits(),
            50,
            "{engine}: the split restarted at a reload"
        );
        assert_eq!(stable.hits(), 950, "{engine}");

        // Halfway through a run, the weights change: the new split starts its own run.
        canary_picks(&mut c, 50).await;
        let text = std::fs::read_to_string(&p.config_path).unwrap();
        let changed = text.replace(
            "weight: 95 }, { cluster: canary, weight: 5",
            "weight: 90 }, { cluster: canary, weight: 10",
        );
        assert_ne!(text, changed);
        std::fs::write(&p.config_path, changed).unwrap();
        reload(&p);
        let got = canary_picks(&mut c, 100).await;
        let split = elb_proxy_core::rewrite::Split::new(&[(0, 90), (1, 10)]);
        let fresh: Vec<bool> = (0..100).map(|n| split.at(n) == 1).collect();
        let went_on: Vec<bool> = (1050..1150).map(|n| split.at(n) == 1).collect();
        assert_ne!(fresh, went_on, "the test tells a restart from going on");
        assert_eq!(
            got, fresh,
            "{engine}: a changed split did not start a new run"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirrored_requests_reach_the_shadow_with_their_bodies_and_are_counted() {
    let app = Backend::start("app").await;
    let shadow = Backend::start("shadow").await;
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\", engine: hyper }}]\nmetrics: {{ address: \"{metrics}\" }}\nclusters:\n{}{}routes:\n  - {{ cluster: app, mirror: {{ cluster: shadow, max_body: 1k }} }}\n",
        cluster_yaml("app", &[("a1", app.addr, 1)], ""),
        cluster_yaml(
            "shadow",
            &[("sh1", shadow.addr, 1)],
            "    headers: { request: { set: { x-shadow: \"copy of %{method}\" } } }\n"
        ),
    );
    let p = start_proxy(&yaml);
    for i in 0..5 {
        let r = get(p.addr, "h", &format!("/get/{i}")).await;
        assert_eq!(r.body, "app\n", "the client gets the primary's answer");
    }
    let post = Request::post("/sink")
        .header("host", "h")
        .body(full(vec![b'x'; 700]))
        .unwrap();
    let r = request(p.addr, post).await.unwrap();
    assert_eq!(r.body, "700\n");
    poll_for(
        "6 copies answered by the shadow",
        Duration::from_secs(10),
        || async {
            (metric(metrics, "elb_proxy_mirrored_total", "shadow").await == 6).then_some(())
        },
    )
    .await;
    assert_eq!(shadow.hits(), 6);
    assert_eq!(app.hits(), 6);
    // A body above max_body is forwarded as usual and not mirrored.
    let big = Request::post("/sink")
        .header("host", "h")
        .body(full(vec![b'y'; 5000]))
        .unwrap();
    assert_eq!(request(p.addr, big).await.unwrap().body, "5000\n");
    poll_for(
        "the big body counted as not mirrored",
        Duration::from_secs(10),
        || async {
            (metric(metrics, "elb_proxy_mirror_dropped_total", "shadow").await == 1).then_some(())
        },
    )
    .await;
    assert_eq!(shadow.hits(), 6, "the big body was not copied");
    assert_eq!(
        shadow.last_headers.lock().unwrap()[":path"],
        "/sink",
        "the copy has the request's target"
    );
    assert_eq!(
        shadow.last_headers.lock().unwrap()["x-shadow"],
        "copy of POST",
        "the shadow cluster's own rules apply to the copy"
    );
    assert!(
        !app.last_headers.lock().unwrap().contains_key("x-shadow"),
        "and not to the primary"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_or_dead_shadow_costs_the_client_nothing() {
    let app = Backend::start("app").await;
    // Listens and never accepts: the kernel completes connections, nobody ever answers, so
    // every copy would wait its 30 s response timeout.
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hanging_addr = hanging.local_addr().unwrap();
    // Bound then closed: connections are refused.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nmetrics: {{ address: \"{metrics}\" }}\ntimeouts: {{ upstream_response: 30s }}\nclusters:\n{}{}{}routes:\n  - {{ match: {{ path_prefix: /hang }}, cluster: app, mirror: {{ cluster: hanging, max_in_flight: 2 }} }}\n  - {{ match: {{ path_prefix: /dead }}, cluster: app, mirror: {{ cluster: dead }} }}\n",
        cluster_yaml("app", &[("a1", app.addr, 1)], ""),
        cluster_yaml("hanging", &[("h1", hanging_addr, 1)], ""),
        cluster_yaml(
            "dead",
            &[("d1", dead, 1)],
            "    passive: { consecutive_failures: 0 }\n"
        ),
    );
    let p = start_proxy(&yaml);
    let mut c = Client::connect(p.addr).await;
    let began = Instant::now();
    for i in 0..20 {
        let r = c.get("h", &format!("/hang/{i}")).await.unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "app\n"));
        let r = c.get("h", &format!("/dead/{i}")).await.unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "app\n"));
    }
    // Had any answer waited for its copy, 40 answers would take at least one 30 s timeout.
    assert!(
        began.elapsed() < Duration::from_secs(25),
        "answers waited for the shadow: {:?}",
        began.elapsed()
    );
    assert_eq!(app.hits(), 40);
    poll_for(
        "dead shadow copies counted as failed",
        Duration::from_secs(10),
        || async {
            (metric(metrics, "elb_proxy_mirror_failed_total", "dead").await == 20).then_some(())
        },
    )
    .await;
    // Two copies hang in flight; the other 18 were dropped at the bound.
    assert_eq!(
        metric(metrics, "elb_proxy_mirror_dropped_total", "hanging").await,
        18
    );
    assert_eq!(
        metric(metrics, "elb_proxy_mirrored_total", "hanging").await,
        0
    );
    drop(hanging);
}
