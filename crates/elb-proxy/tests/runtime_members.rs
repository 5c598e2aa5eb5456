//! Members added, moved and removed on the admin socket while traffic flows, without a
//! reload: a real elb-proxy, real members on loopback, the real socket (`elb-proxy ctl`).
//! The changes show in `show stat` (both layouts) and the metrics, counters of a member
//! that keeps its name survive, and the next reload from the file undoes the changes.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use common::*;

/// Requests in a loop (bounded in count) until `stop`; returns (answered 200, other).
fn traffic(addr: SocketAddr, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(u64, u64)> {
    tokio::spawn(async move {
        let (ok, bad) = (AtomicU64::new(0), AtomicU64::new(0));
        for _ in 0..20_000 {
            if stop.load(Relaxed) {
                break;
            }
            match request(
                addr,
                http::Request::get("/")
                    .header("host", "app")
                    .body(empty())
                    .unwrap(),
            )
            .await
            {
                Ok(a) if a.status == 200 => ok.fetch_add(1, Relaxed),
                _ => bad.fetch_add(1, Relaxed),
            };
        }
        (ok.into_inner(), bad.into_inner())
    })
}

/// Column `i` of member `m`'s row in `show stat elb` (2: status, 5: stot, 16: chkok).
fn column_of(p: &Proxy, m: &str, i: usize) -> String {
    let (_, csv) = p.ctl("show stat elb");
    let row = csv
        .lines()
        .find(|l| l.starts_with(&format!("app,{m},")))
        .unwrap_or_else(|| panic!("no row for {m}: {csv}"));
    row.split(',').nth(i).unwrap().to_string()
}

/// The `stot` (requests) column of member `m` in `show stat elb`.
fn requests_of(p: &Proxy, m: &str) -> u64 {
    column_of(p, m, 5).parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_added_at_run_time_is_checked_only_once_it_is_set_ready() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}default_cluster: app\n",
        cluster_yaml(
            "app",
            &[("ma", a.addr, 1)],
            "    health_check: { path: /, interval: 100ms, timeout: 500ms, rise: 1, fall: 1 }\n"
        )
    );
    let p = start_proxy(&yaml);
    let (ok, out) = p.ctl(&format!("add server app/mb {}", b.addr));
    assert!(ok && out.contains("in maintenance"), "{out}");
    // ma's checks go on; the member in maintenance is neither checked nor sent requests.
    let checks_of = |m: &str| column_of(&p, m, 16).parse::<u64>().unwrap();
    let before = checks_of("ma");
    wait_until("three more checks of ma", || checks_of("ma") >= before + 3).await;
    for _ in 0..10 {
        assert_eq!(get(p.addr, "app", "/").await.body, "a\n");
    }
    assert_eq!(
        b.hits(),
        0,
        "a member in maintenance was checked or sent requests"
    );
    assert_eq!(checks_of("mb"), 0);
    let (ok, out) = p.ctl("set server app/mb state ready");
    assert!(ok, "{out}");
    wait_until("mb checked once ready", || checks_of("mb") >= 2).await;
    assert_eq!(column_of(&p, "mb", 2), "UP");
    poll_for(
        "a request served by mb",
        std::time::Duration::from_secs(10),
        || {
            let addr = p.addr;
            async move { (get(addr, "app", "/").await.body == "b\n").then_some(()) }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_added_moved_and_deleted_at_run_time_take_traffic_until_the_next_reload() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let c = Backend::start("c").await;
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}default_cluster: app\nmetrics: {{ address: \"{metrics}\" }}\n",
        cluster_yaml("app", &[("ma", a.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let stop = Arc::new(AtomicBool::new(false));
    let load = traffic(p.addr, stop.clone());
    wait_until("traffic reaches ma", || a.hits() >= 10).await;

    let (ok, out) = p.ctl(&format!("add server app/mb {} weight 1", b.addr));
    assert!(ok && out.contains("added app/mb"), "{out}");
    assert!(
        out.contains("until the next reload from the config file"),
        "{out}"
    );
    // Added in maintenance, as in HAProxy 3.x: shown, but no traffic until enabled.
    assert!(out.contains("in maintenance"), "{out}");
    assert_eq!(column_of(&p, "mb", 2), "MAINT");
    let (_, csv) = p.ctl("show stat");
    let row = csv.lines().find(|l| l.starts_with("app,mb,")).unwrap();
    assert!(row.contains(",MAINT,"), "HAProxy layout: {row}");
    let a_before = a.hits();
    wait_until("traffic goes on at ma", || a.hits() >= a_before + 20).await;
    assert_eq!(b.hits(), 0, "a member in maintenance got traffic");
    let (ok, out) = p.ctl("enable server app/mb");
    assert!(ok && out.contains("app/mb state ready"), "{out}");
    wait_until("traffic reaches the added member", || b.hits() >= 10).await;
    let (_, csv) = p.ctl("show stat");
    assert!(csv.contains("\napp,mb,"), "HAProxy layout lacks mb: {csv}");
    assert!(requests_of(&p, "mb") >= 10);
    let m = get(metrics, "x", "/metrics").await.body;
    assert!(m.contains("member=\"mb\""), "metrics lack mb");

    // Deleting a member in rotation is refused; drained, it goes.
    let (ok, out) = p.ctl("del server app/mb");
    assert!(
        !ok && out.contains("put it in drain or maint first"),
        "{out}"
    );
    let (ok, out) = p.ctl("set server app/mb state drain");
    assert!(ok, "{out}");
    // A request still in flight on it refuses the deletion until it ends.
    let mut out = String::new();
    wait_until("the drained member is deleted", || {
        let (ok, o) = p.ctl("del server app/mb");
        out = o;
        ok || !out.contains("in flight")
    })
    .await;
    assert!(out.contains("deleted app/mb"), "{out}");
    let b_after = b.hits();
    let a_before = a.hits();
    wait_until("traffic continues on ma alone", || {
        a.hits() >= a_before + 20
    })
    .await;
    assert_eq!(b.hits(), b_after, "a deleted member got traffic");
    assert!(!p.ctl("show stat").1.contains("\napp,mb,"));

    // Moving ma keeps its counters and sends its traffic to the new address.
    let before = requests_of(&p, "ma");
    let (ok, out) = p.ctl(&format!(
        "set server app/ma addr 127.0.0.1 port {}",
        c.addr.port()
    ));
    assert!(
        ok && out.contains(&format!("app/ma now at {}", c.addr)),
        "{out}"
    );
    wait_until("traffic reaches ma's new address", || c.hits() >= 10).await;
    assert!(
        requests_of(&p, "ma") >= before + 10,
        "ma's counters were reset"
    );

    // A reload from the file undoes the runtime changes; ma keeps its counters.
    let (ok, out) = p.ctl(&format!("add server app/mb2 {}", b.addr));
    assert!(ok, "{out}");
    let (ok, out) = p.ctl("reload");
    assert!(ok && out.contains("config reloaded"), "{out}");
    // Two changes are undone: the move of ma and the addition of mb2 (mb, added and then
    // deleted at run time, left none).
    assert!(
        out.contains("2 member change(s) made on the admin socket undone"),
        "{out}"
    );
    let (_, csv) = p.ctl("show stat elb");
    assert!(
        !csv.contains("\napp,mb2,"),
        "reload kept a runtime member: {csv}"
    );
    let a_now = a.hits();
    wait_until("traffic back at ma's file address", || {
        a.hits() >= a_now + 10
    })
    .await;
    assert!(requests_of(&p, "ma") >= before + 10);
    stop.store(true, Relaxed);
    let (ok, bad) = within("traffic stops", load).await.unwrap();
    assert!(
        ok > 60 && bad == 0,
        "{ok} answered, {bad} failed during the changes"
    );
}
