//! Members given by DNS name, against a real DNS server on loopback (dnsmasq): every answer a
//! member, answers that change while traffic flows (a member added, then one removed, and no
//! failed request), a name that stops resolving keeping its last good answer, and `--check`
//! telling what it does with names. Members listen on 127.0.0.2-4, one port, as the members
//! of a headless service would.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use test_support::dns::{DNSMASQ, Dnsmasq};

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// Members on 127.0.0.`last` for each of `lasts`, all on one port.
async fn members(lasts: &[u8]) -> (u16, Vec<Backend>) {
    let port = free_port();
    let mut out = Vec::new();
    for &l in lasts {
        let addr = SocketAddr::new(ip(l), port);
        out.push(Backend::start_at(&format!("m{l}"), addr).await);
    }
    (port, out)
}

fn config(dns: &Dnsmasq, port: u16, engine: &str) -> String {
    format!(
        "listeners: [{{ address: \"{{listen}}\", engine: {engine} }}]\n\
         resolvers:\n  nameservers: [\"{}\"]\n  interval: 200ms\n  timeout: 500ms\n\
         clusters:\n  - name: app\n    members:\n      - address: \"app.test:{port}\"\n        weight: 2\n\
         default_cluster: app\n",
        dns.addr
    )
}

fn has_dnsmasq(test: &str) -> bool {
    test_support::gate::require(
        test,
        std::path::Path::new(DNSMASQ).is_file(),
        "dnsmasq (Debian package dnsmasq-base)",
    )
}

/// The `show stat` line of member `member` of cluster `app`.
fn stat_line(p: &Proxy, member: &str) -> Option<String> {
    let (ok, out) = p.ctl("show stat elb");
    assert!(ok, "{out}");
    out.lines()
        .find(|l| l.starts_with(&format!("app,{member},")))
        .map(str::to_string)
}

/// Requests on fresh connections until `stop`, counting answers that are not 200 (bounded:
/// at most 20 000 requests or 60 s).
fn traffic(addr: SocketAddr, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(u64, u64)> {
    tokio::spawn(async move {
        let (mut ok, mut failed) = (0u64, 0u64);
        let start = Instant::now();
        while !stop.load(Ordering::SeqCst) && ok + failed < 20_000 {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "traffic ran 60 s"
            );
            let req = http::Request::get("/")
                .header("host", "shop.test")
                .body(empty())
                .unwrap();
            match request(addr, req).await {
                Ok(a) if a.status == 200 => ok += 1,
                _ => failed += 1,
            }
        }
        (ok, failed)
    })
}

async fn answers_change_while_traffic_flows(engine: &str) {
    let (port, m) = members(&[2, 3, 4]).await;
    let mut dns = Dnsmasq::start(&[("app.test", ip(2)), ("app.test", ip(3))]);
    let p = start_proxy(&config(&dns, port, engine));
    let first = format!("app.test:{port}@127.0.0.2");
    assert!(stat_line(&p, &first).is_some(), "both answers are members");
    let (_, servers) = p.ctl("show servers state");
    assert!(
        servers.contains(&format!("app.test:{port}@127.0.0.3")),
        "{servers}"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let load = traffic(p.addr, stop.clone());
    poll_for("both first members served", Duration::from_secs(10), || {
        let served = m[0].hits() > 0 && m[1].hits() > 0;
        async move { served.then_some(()) }
    })
    .await;

    let stays = format!("app/app.test:{port}@127.0.0.3");
    let (ok, out) = p.ctl(&format!("set weight {stays} 5"));
    assert!(ok, "{out}");

    dns.set(&[
        ("app.test", ip(2)),
        ("app.test", ip(3)),
        ("app.test", ip(4)),
    ]);
    poll_for("the added answer served", Duration::from_secs(10), || {
        let served = m[2].hits() > 0;
        async move { served.then_some(()) }
    })
    .await;

    dns.set(&[("app.test", ip(3)), ("app.test", ip(4))]);
    poll_for("the removed answer out", Duration::from_secs(10), || {
        let gone = stat_line(&p, &first).is_none();
        async move { gone.then_some(()) }
    })
    .await;
    let removed_hits = m[0].hits();
    let (before3, before4) = (m[1].hits(), m[2].hits());
    poll_for(
        "the remaining members served",
        Duration::from_secs(10),
        || {
            let served = m[1].hits() > before3 + 20 && m[2].hits() > before4 + 20;
            async move { served.then_some(()) }
        },
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    let (ok, failed) = within("traffic", load).await.unwrap();
    assert_eq!(failed, 0, "{ok} answered, {failed} failed");
    assert_eq!(
        m[0].hits(),
        removed_hits,
        "a removed answer gets no request"
    );
    // Counters of a member that stayed through both changes were kept: every request it
    // served is in its count.
    let line = stat_line(&p, &format!("app.test:{port}@127.0.0.3")).unwrap();
    let total = line.split(',').nth(5).unwrap_or_default();
    assert_eq!(
        total.parse::<u64>().ok(),
        Some(m[1].hits()),
        "{line}: its stot is every request it served"
    );
    let (_, w) = p.ctl(&format!("get weight app/app.test:{port}@127.0.0.4"));
    assert!(
        w.starts_with("2 "),
        "a new answer has the configured weight: {w}"
    );
    let (_, w) = p.ctl(&format!("get weight {stays}"));
    assert!(
        w.starts_with("5 "),
        "a runtime weight survives new answers: {w}"
    );
    assert!(p.log_contains("name's addresses changed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_changing_while_traffic_flows_add_and_remove_members() {
    if !has_dnsmasq("answers_changing_while_traffic_flows_add_and_remove_members") {
        return;
    }
    answers_change_while_traffic_flows("hyper").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_changing_while_traffic_flows_on_the_fast_engine() {
    if !has_dnsmasq("answers_changing_while_traffic_flows_on_the_fast_engine") {
        return;
    }
    answers_change_while_traffic_flows("fast").await;
}

/// Requests until `served` holds (bounded: 10 s).
async fn serve_until(p: &Proxy, what: &str, served: impl Fn() -> bool) {
    poll_for(what, Duration::from_secs(10), || {
        let addr = p.addr;
        let done = served();
        async move {
            if done {
                return Some(());
            }
            assert_eq!(get(addr, "shop.test", "/").await.status, 200);
            None
        }
    })
    .await;
}

async fn runtime_changes_and_new_answers_both_hold(engine: &str) {
    let (port, m) = members(&[2, 3, 4]).await;
    let extra = Backend::start("extra").await;
    let late = Backend::start("late").await;
    let mut dns = Dnsmasq::start(&[("app.test", ip(2))]);
    let p = start_proxy(&config(&dns, port, engine));
    let named = |last: u8| format!("app.test:{port}@127.0.0.{last}");

    // A member added at run time survives a change of the answers.
    let (ok, out) = p.ctl(&format!("add server app/extra {}", extra.addr));
    assert!(ok, "{out}");
    let (ok, out) = p.ctl("enable server app/extra");
    assert!(ok, "{out}");
    serve_until(&p, "the added member served", || extra.hits() > 0).await;
    dns.set(&[("app.test", ip(3))]);
    poll_for("the new answer in", Duration::from_secs(10), || {
        let moved = stat_line(&p, &named(3)).is_some() && stat_line(&p, &named(2)).is_none();
        async move { moved.then_some(()) }
    })
    .await;
    let line = stat_line(&p, "extra").expect("the runtime member survives new answers");
    assert!(line.starts_with("app,extra,UP,"), "{line}");
    let before = extra.hits();
    serve_until(&p, "both served after the change", || {
        m[1].hits() > 0 && extra.hits() > before
    })
    .await;

    // A name's new answer survives a member added at run time after it.
    dns.set(&[("app.test", ip(4))]);
    poll_for("the next answer in", Duration::from_secs(10), || {
        let moved = stat_line(&p, &named(4)).is_some() && stat_line(&p, &named(3)).is_none();
        async move { moved.then_some(()) }
    })
    .await;
    let (ok, out) = p.ctl(&format!("add server app/late {}", late.addr));
    assert!(ok, "{out}");
    let (ok, out) = p.ctl("set server app/late state ready");
    assert!(ok, "{out}");
    assert!(
        stat_line(&p, &named(4)).is_some(),
        "the answer survives the add"
    );
    assert!(
        stat_line(&p, &named(3)).is_none(),
        "an old answer came back"
    );
    assert!(stat_line(&p, "extra").is_some());
    let (b4, be) = (m[2].hits(), extra.hits());
    serve_until(&p, "all three served", || {
        m[2].hits() > b4 && extra.hits() > be && late.hits() > 0
    })
    .await;
    let stale = m[0].hits() + m[1].hits();
    for _ in 0..6 {
        assert_eq!(get(p.addr, "shop.test", "/").await.status, 200);
    }
    assert_eq!(m[0].hits() + m[1].hits(), stale, "old answers got requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_member_and_a_new_answer_both_survive_each_other() {
    if !has_dnsmasq("a_runtime_member_and_a_new_answer_both_survive_each_other") {
        return;
    }
    runtime_changes_and_new_answers_both_hold("hyper").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_member_and_a_new_answer_both_survive_each_other_on_the_fast_engine() {
    if !has_dnsmasq("a_runtime_member_and_a_new_answer_both_survive_each_other_on_the_fast_engine")
    {
        return;
    }
    runtime_changes_and_new_answers_both_hold("fast").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_changes_work_while_a_name_leaves_its_cluster_empty() {
    if !has_dnsmasq("runtime_changes_work_while_a_name_leaves_its_cluster_empty") {
        return;
    }
    let (port, m) = members(&[2]).await;
    let extra = Backend::start("extra").await;
    let mut dns = Dnsmasq::start(&[]);
    let yaml = config(&dns, port, "hyper").replace(
        "default_cluster: app\n",
        &format!(
            "  - name: other\n    members:\n      - address: \"gone.test:{port}\"\ndefault_cluster: app\n"
        ),
    );
    let p = start_proxy(&yaml);
    // Both clusters are empty (no name resolves): a runtime member is still accepted.
    let (ok, out) = p.ctl(&format!("add server app/extra {}", extra.addr));
    assert!(ok && out.contains("added app/extra"), "{out}");
    let (ok, out) = p.ctl("enable server app/extra");
    assert!(ok, "{out}");
    assert_eq!(get(p.addr, "shop.test", "/").await.body, "extra\n");
    // The answer that comes later joins it; `other` stays empty.
    dns.set(&[("app.test", ip(2))]);
    serve_until(&p, "the answer served next to the runtime member", || {
        m[0].hits() > 0
    })
    .await;
    assert!(stat_line(&p, "extra").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_stops_resolving_keeps_its_last_good_answer() {
    if !has_dnsmasq("a_name_that_stops_resolving_keeps_its_last_good_answer") {
        return;
    }
    let (port, m) = members(&[2]).await;
    let mut dns = Dnsmasq::start(&[("app.test", ip(2))]);
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let yaml = format!(
        "{}metrics: {{ address: \"{metrics}\" }}\n",
        config(&dns, port, "hyper")
    );
    let p = start_proxy(&yaml);
    assert_eq!(get(p.addr, "shop.test", "/").await.status, 200);
    let name = format!("app.test:{port}");
    let show = |p: &Proxy| {
        let (ok, out) = p.ctl("show resolvers");
        assert!(ok, "{out}");
        out.lines()
            .find(|l| l.starts_with(&name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(show(&p).contains(" ok 127.0.0.2 "), "{}", show(&p));

    // NXDOMAIN: the record is gone.
    dns.set(&[]);
    assert!(
        p.wait_log("name does not resolve; keeping", Duration::from_secs(10)),
        "the failure is logged"
    );
    let line = show(&p);
    assert!(
        line.contains("failing-kept-last-answer 127.0.0.2"),
        "{line}"
    );
    assert!(line.contains("NXDOMAIN"), "{line}");
    let before = m[0].hits();
    for _ in 0..5 {
        assert_eq!(get(p.addr, "shop.test", "/").await.status, 200);
    }
    assert_eq!(m[0].hits(), before + 5, "the last good member still serves");
    let text = get(metrics, "m", "/metrics").await.body;
    for sample in [
        format!("elb_proxy_dns_name_resolving{{name=\"{name}\"}} 0"),
        format!("elb_proxy_dns_name_addresses{{name=\"{name}\"}} 1"),
    ] {
        assert!(text.lines().any(|l| l == sample), "{sample} in\n{text}");
    }
    promtool_accepts(&text);

    // No server at all: timeouts, still the last good answer.
    dns.stop();
    poll_for("a timeout recorded", Duration::from_secs(10), || {
        let line = show(&p);
        async move { line.contains("no answer within").then_some(()) }
    })
    .await;
    assert_eq!(get(p.addr, "shop.test", "/").await.status, 200);
    assert!(show(&p).contains("failing-kept-last-answer 127.0.0.2"));
}

/// Debian's promtool finds nothing to say about the exposition.
fn promtool_accepts(text: &str) {
    use std::io::{Read as _, Write as _};
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let status = test_support::wait_child(&mut child, Duration::from_secs(30), "promtool");
    let mut said = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    assert!(status.success() && said.is_empty(), "promtool: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_new_at_start_that_does_not_resolve_leaves_the_cluster_empty_until_it_does() {
    if !has_dnsmasq(
        "a_name_new_at_start_that_does_not_resolve_leaves_the_cluster_empty_until_it_does",
    ) {
        return;
    }
    let (port, m) = members(&[3]).await;
    let mut dns = Dnsmasq::start(&[]);
    let p = start_proxy(&config(&dns, port, "hyper"));
    assert!(p.log_contains("does not resolve at start"));
    assert_eq!(get(p.addr, "shop.test", "/").await.status, 503);
    dns.set(&[("app.test", ip(3))]);
    poll_for(
        "the member once the name resolves",
        Duration::from_secs(10),
        || {
            let addr = p.addr;
            async move { (get(addr, "shop.test", "/").await.status == 200).then_some(()) }
        },
    )
    .await;
    assert!(m[0].hits() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_validates_names_and_warns_about_one_that_does_not_resolve() {
    if !has_dnsmasq("check_validates_names_and_warns_about_one_that_does_not_resolve") {
        return;
    }
    let dns = Dnsmasq::start(&[("app.test", ip(2))]);
    let dir = tempfile::tempdir().unwrap();
    let run = |yaml: String| {
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, yaml).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
            .arg("--check")
            .arg("-c")
            .arg(&path)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let good = config(&dns, 8080, "hyper").replace("{listen}", "127.0.0.1:18080");
    let (ok, err) = run(good.clone());
    assert!(ok && err.is_empty(), "{err}");
    let (ok, err) = run(good.replace("app.test:8080", "gone.test:8080"));
    assert!(ok, "a name that does not resolve is a warning: {err}");
    assert!(
        err.contains("warning:") && err.contains("gone.test:8080 does not resolve now"),
        "{err}"
    );
    let (ok, err) = run(good.replace("app.test:8080", "app_x.test:8080"));
    assert!(!ok, "{err}");
    assert!(
        err.contains("c.yaml:9:") && err.contains("not allowed in a host name"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_failure_asks_the_name_again_before_the_interval() {
    if !has_dnsmasq("a_connect_failure_asks_the_name_again_before_the_interval") {
        return;
    }
    let (port, mut m) = members(&[2, 3]).await;
    let mut dns = Dnsmasq::start(&[("app.test", ip(2))]);
    let yaml = config(&dns, port, "hyper").replace("interval: 200ms", "interval: 1h");
    let p = start_proxy(&yaml);
    assert_eq!(get(p.addr, "shop.test", "/").await.status, 200);
    // The service moves: the old address stops answering, the name now says the new one.
    m[0].kill().await;
    dns.set(&[("app.test", ip(3))]);
    let failed = get(p.addr, "shop.test", "/").await.status;
    assert!(failed >= 500, "the old member is gone: {failed}");
    poll_for("the moved member served", Duration::from_secs(10), || {
        let addr = p.addr;
        async move { (get(addr, "shop.test", "/").await.status == 200).then_some(()) }
    })
    .await;
    assert!(m[1].hits() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_adds_a_name_gets_its_members_without_waiting_for_the_interval() {
    if !has_dnsmasq("a_reload_that_adds_a_name_gets_its_members_without_waiting_for_the_interval") {
        return;
    }
    let (port, m) = members(&[2, 4]).await;
    let dns = Dnsmasq::start(&[("new.test", ip(4))]);
    let by_ip = config(&dns, port, "hyper")
        .replace("interval: 200ms", "interval: 1h")
        .replace(&format!("app.test:{port}"), &format!("127.0.0.2:{port}"));
    let p = start_proxy(&by_ip);
    assert_eq!(get(p.addr, "shop.test", "/").await.status, 200);
    let text = std::fs::read_to_string(&p.config_path).unwrap();
    let with_name = text.replace(
        &format!("      - address: \"127.0.0.2:{port}\"\n"),
        &format!("      - address: \"127.0.0.2:{port}\"\n      - address: \"new.test:{port}\"\n"),
    );
    assert_ne!(text, with_name);
    std::fs::write(&p.config_path, with_name).unwrap();
    let (ok, out) = p.ctl("reload");
    assert!(ok && out.contains("config reloaded"), "{out}");
    poll_for("the new name's member", Duration::from_secs(10), || {
        let found = stat_line(&p, &format!("new.test:{port}@127.0.0.4")).is_some();
        async move { found.then_some(()) }
    })
    .await;
    for _ in 0..4 {
        assert_eq!(get(p.addr, "shop.test", "/").await.status, 200);
    }
    assert!(m[0].hits() >= 2 && m[1].hits() >= 1, "both members serve");
}
