//! The traffic policy end to end against real members on loopback: the member queue
//! (`max_connections`, `queue_size`, `queue_timeout`), `retry_on` with idempotency, the
//! retry budget, and slow start. Every wait is for an event (a counter, an answer) with a
//! deadline.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use http::Request;

/// A counter family's value for a cluster in the metrics text.
async fn metric(metrics: SocketAddr, name: &str, cluster: &str) -> u64 {
    let text = get(metrics, "x", "/metrics").await.body;
    let prefix = format!("{name}{{cluster=\"{cluster}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix}"))
        .trim()
        .parse()
        .unwrap()
}

/// The HAProxy layout's column `col` of a cluster's BACKEND row.
fn backend_column(p: &Proxy, cluster: &str, col: &str) -> String {
    let (_, csv) = p.ctl("show stat");
    let header: Vec<&str> = csv
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("# ")
        .split(',')
        .collect();
    let i = header.iter().position(|h| *h == col).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with(&format!("{cluster},BACKEND,")))
        .unwrap();
    row.split(',').nth(i).unwrap().to_string()
}

fn get_req(host: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header("host", host)
        .body(empty())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_member_queues_requests_and_answers_503_when_the_queue_is_full_or_times_out() {
    let a = Backend::start("a").await;
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let member = format!(
        "      - {{ name: a, address: \"{}\", max_connections: 1 }}\n",
        a.addr
    );
    let yaml = [
        "listeners: [{ address: \"{listen}\" }]\nclusters:\n".to_string(),
        format!(
            "  - name: wait\n    queue_size: 1\n    queue_timeout: 20s\n    members:\n{member}"
        ),
        format!(
            "  - name: short\n    queue_size: 1\n    queue_timeout: 200ms\n    members:\n{member}"
        ),
        "routes: [{ match: { host: short }, cluster: short }]\ndefault_cluster: wait\n".to_string(),
        format!("metrics: {{ address: \"{metrics}\" }}\n"),
    ]
    .concat();
    let p = start_proxy(&yaml);
    let addr = p.addr;
    // One slow request holds the member's only connection.
    let held = tokio::spawn(async move { request(addr, get_req("wait", "/slow/4000")).await });
    wait_until("the slow request reached the member", || a.hits() == 1).await;
    // The next one waits in the queue...
    let queued = tokio::spawn(async move { request(addr, get_req("wait", "/")).await });
    poll_for("one request queued", Duration::from_secs(10), || async {
        (backend_column(&p, "wait", "qcur") == "1").then_some(())
    })
    .await;
    assert_eq!(backend_column(&p, "wait", "qlimit"), "1");
    // ...and with the queue full, a third is refused at once.
    let refused = within("refused", request(addr, get_req("wait", "/")))
        .await
        .unwrap();
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (503, "queue full\n")
    );
    assert_eq!(
        metric(metrics, "elb_proxy_queue_full_total", "wait").await,
        1
    );
    // The queued request is served once the slow one ends.
    assert_eq!(within("held", held).await.unwrap().unwrap().status, 200);
    assert_eq!(within("queued", queued).await.unwrap().unwrap().status, 200);
    assert_eq!(a.hits(), 2, "the refused request never reached the member");
    assert_eq!(backend_column(&p, "wait", "qcur"), "0");
    assert_eq!(backend_column(&p, "wait", "qmax"), "1");

    // A queue wait longer than queue_timeout: 503, counted.
    let held = tokio::spawn(async move { request(addr, get_req("short", "/slow/3000")).await });
    wait_until("the slow request reached the member", || a.hits() == 3).await;
    let late = within("timed out", request(addr, get_req("short", "/")))
        .await
        .unwrap();
    assert_eq!((late.status, late.body.as_str()), (503, "queue timeout\n"));
    assert_eq!(
        metric(metrics, "elb_proxy_queue_timeouts_total", "short").await,
        1
    );
    assert_eq!(within("held", held).await.unwrap().unwrap().status, 200);
}

async fn retries_follow_idempotency(engine: &str) {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\"{engine} }}]\nclusters:\n{}default_cluster: app\n",
        cluster_yaml(
            "app",
            &[("a", a.addr, 1), ("b", b.addr, 1)],
            "    retries: 1\n    retry_on: [connect_failure, 503]\n"
        )
    );
    let p = start_proxy(&yaml);
    let hits = || a.hits() + b.hits();
    // A GET answered 503 goes to the other member; its answer (503 too) is the client's.
    let r = within("get", request(p.addr, get_req("app", "/status/503")))
        .await
        .unwrap();
    assert_eq!(r.status, 503);
    assert_eq!((a.hits(), b.hits()), (1, 1), "GET tried on both members");
    // A POST with a body was sent: never replayed.
    let post = Request::post("/status/503")
        .header("host", "app")
        .body(full("order=1"))
        .unwrap();
    let r = within("post", request(p.addr, post)).await.unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(hits(), 3, "POST with a body retried");
    // A 500 is not in retry_on.
    let r = within("500", request(p.addr, get_req("app", "/status/500")))
        .await
        .unwrap();
    assert_eq!((r.status, hits()), (500, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_answered_503_is_retried_and_a_post_with_a_body_is_not() {
    retries_follow_idempotency("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_policy_holds_on_a_fast_engine_listener_by_handing_over_to_hyper() {
    retries_follow_idempotency(", engine: fast").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_budget_stops_a_retry_storm() {
    let members = [
        Backend::start("a").await,
        Backend::start("b").await,
        Backend::start("c").await,
    ];
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let list: Vec<(&str, SocketAddr, u32)> = members
        .iter()
        .map(|m| (m.name.as_str(), m.addr, 1))
        .collect();
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}default_cluster: app\nmetrics: {{ address: \"{metrics}\" }}\n",
        cluster_yaml(
            "app",
            &list,
            "    retries: 2\n    retry_on: [503]\n    retry_budget: { percent: 10%, window: 1m, min_retries: 2 }\n"
        )
    );
    let p = start_proxy(&yaml);
    // Every member answers 503: without a budget 50 requests would hit members 150 times.
    let mut c = Client::connect(p.addr).await;
    for _ in 0..50 {
        assert_eq!(
            within("storm", c.get("app", "/status/503"))
                .await
                .unwrap()
                .status,
            503
        );
    }
    let hits: u64 = members.iter().map(Backend::hits).sum();
    // 10 % of 50 requests (at least 2): at most 5 retries.
    assert!(
        (50..=55).contains(&hits),
        "{hits} member hits for 50 requests"
    );
    assert!(metric(metrics, "elb_proxy_retries_total", "app").await <= 5);
    assert!(metric(metrics, "elb_proxy_retry_budget_exhausted_total", "app").await >= 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_back_from_maintenance_ramps_its_share_up_over_slow_start() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}default_cluster: app\n",
        cluster_yaml(
            "app",
            &[("a", a.addr, 100), ("b", b.addr, 100)],
            "    slow_start: 10s\n"
        )
    );
    let p = start_proxy(&yaml);
    let mut c = Client::connect(p.addr).await;
    // b's share of a batch of 40 requests, in percent.
    let mut batch = async || {
        let before = b.hits();
        for _ in 0..40 {
            assert_eq!(
                within("batch", c.get("app", "/")).await.unwrap().status,
                200
            );
        }
        (b.hits() - before) * 100 / 40
    };
    assert_eq!(batch().await, 50);
    assert!(p.ctl("disable server app/b").0);
    assert_eq!(batch().await, 0);
    assert!(p.ctl("enable server app/b").0);
    let first = batch().await;
    assert!(first <= 25, "b took {first} % right after coming back");
    // The share grows to the full half within the ramp (polled, bounded by a deadline).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut shares = vec![first];
    loop {
        let share = batch().await;
        shares.push(share);
        if share >= 45 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "share never grew: {shares:?}"
        );
    }
    assert!(*shares.last().unwrap() <= 55, "{shares:?}");
}
