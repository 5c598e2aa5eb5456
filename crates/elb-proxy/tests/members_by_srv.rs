//! Members given by an SRV name (`_http._tcp.web.lab`), against a real dnsmasq on loopback
//! (`--srv-host`, `--host-record`, `--local-ttl`): each record's target becomes members at the
//! record's port and with its weight, a change of records is picked up by the answer's TTL
//! even with a long `resolvers.interval`, a long TTL does not hold past the interval, and
//! `--check` refuses what an SRV member cannot have.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use test_support::dns::{DNSMASQ, query_a};

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// A dnsmasq serving the given `srv-host` and `host-record` lines with one TTL; restarted on
/// the same port to change them (dnsmasq reads SRV records from its config only). Stopped
/// and its files removed on drop.
struct SrvDns {
    child: Option<Child>,
    dir: tempfile::TempDir,
    addr: SocketAddr,
}

impl SrvDns {
    fn start(lines: &[String], ttl: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = loop {
            let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = udp.local_addr().unwrap().port();
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                break port;
            }
        };
        let mut me = Self {
            child: None,
            dir,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        me.restart(lines, ttl);
        me
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("dnsmasq.conf")
    }

    /// Serves `lines` from now on; waits until it answers the first `host-record`.
    fn restart(&mut self, lines: &[String], ttl: u32) {
        if let Some(mut c) = self.child.take() {
            test_support::wait::kill_and_reap(&mut c);
        }
        let mut text = format!(
            "no-resolv\nno-hosts\nbind-interfaces\nlisten-address=127.0.0.1\nport={}\nlocal=/lab/\nlocal-ttl={ttl}\nuser=root\npid-file=\n",
            self.addr.port()
        );
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(self.conf(), text).unwrap();
        let child = Command::new(DNSMASQ)
            .arg("--keep-in-foreground")
            .arg(format!("--conf-file={}", self.conf().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting dnsmasq");
        self.child = Some(child);
        let (host, want) = lines
            .iter()
            .find_map(|l| {
                let (h, a) = l.strip_prefix("host-record=")?.split_once(',')?;
                Some((h.to_string(), a.parse::<IpAddr>().ok()?))
            })
            .expect("a host-record line");
        test_support::wait::wait_until(Duration::from_secs(10), "dnsmasq answering", || {
            query_a(self.addr, &host)?.contains(&want).then_some(())
        });
    }
}

impl Drop for SrvDns {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            test_support::wait::kill_and_reap(&mut c);
        }
    }
}

fn has_dnsmasq(test: &str) -> bool {
    test_support::gate::require(
        test,
        std::path::Path::new(DNSMASQ).is_file(),
        "dnsmasq (Debian package dnsmasq-base)",
    )
}

fn config(dns: &SrvDns, interval: &str, engine: &str) -> String {
    format!(
        "listeners: [{{ address: \"{{listen}}\", engine: {engine} }}]\n\
         resolvers:\n  nameservers: [\"{}\"]\n  interval: {interval}\n  timeout: 500ms\n\
         clusters:\n  - name: app\n    members:\n      - address: _http._tcp.web.lab\n\
         default_cluster: app\n",
        dns.addr
    )
}

/// Member names of cluster `app` in `show stat elb`.
fn members_of(p: &Proxy) -> Vec<String> {
    let (ok, out) = p.ctl("show stat elb");
    assert!(ok, "{out}");
    out.lines()
        .filter_map(|l| l.strip_prefix("app,"))
        .filter_map(|l| l.split(',').next())
        .filter(|m| *m != "BACKEND")
        .map(str::to_string)
        .collect()
}

/// `show resolvers`' line of the SRV name.
fn resolver_line(p: &Proxy) -> String {
    let (ok, out) = p.ctl("show resolvers");
    assert!(ok, "{out}");
    out.lines()
        .find(|l| l.starts_with("_http._tcp.web.lab "))
        .unwrap_or_default()
        .to_string()
}

async fn srv_records_become_members(engine: &str) {
    let (p1, p2, p3) = (free_port(), free_port(), free_port());
    let web1 = Backend::start_at("web1", SocketAddr::new(ip(2), p1)).await;
    let web2 = Backend::start_at("web2", SocketAddr::new(ip(3), p2)).await;
    let moved = Backend::start_at("moved", SocketAddr::new(ip(3), p3)).await;
    let records = |second_port: u16, with_web1: bool| {
        let mut l = vec![
            "host-record=web2.lab,127.0.0.3".to_string(),
            format!("srv-host=_http._tcp.web.lab,web2.lab,{second_port},0,10"),
            // A record of a higher priority value is a backup: not a member.
            format!("srv-host=_http._tcp.web.lab,web2.lab,{p1},5,10"),
        ];
        if with_web1 {
            l.push("host-record=web1.lab,127.0.0.2".into());
            l.push(format!("srv-host=_http._tcp.web.lab,web1.lab,{p1},0,30"));
        }
        l
    };
    let mut dns = SrvDns::start(&records(p2, true), 1);
    // A one-hour interval: only the answer's TTL (1 s) can bring the next change in.
    let p = start_proxy(&config(&dns, "1h", engine));
    let m1 = format!("_http._tcp.web.lab@127.0.0.2:{p1}");
    let m2 = format!("_http._tcp.web.lab@127.0.0.3:{p2}");
    let mut names = members_of(&p);
    names.sort();
    assert_eq!(names, [m1.clone(), m2.clone()], "one member per record");
    let (_, w) = p.ctl(&format!("get weight app/{m1}"));
    assert!(w.starts_with("30 "), "the record's weight: {w}");
    let (_, w) = p.ctl(&format!("get weight app/{m2}"));
    assert!(w.starts_with("10 "), "the record's weight: {w}");
    for _ in 0..40 {
        assert_eq!(get(p.addr, "h", "/").await.status, 200);
    }
    assert_eq!(
        (web1.hits(), web2.hits()),
        (30, 10),
        "shares by the records' weights"
    );
    let line = resolver_line(&p);
    assert!(
        line.contains(&format!(" ok 127.0.0.2:{p1}*30,127.0.0.3:{p2}*10 "))
            && line.contains(" 1 -"),
        "{line}"
    );

    // The records change: web1 is gone, web2 moves to another port.
    dns.restart(&records(p3, false), 1);
    let m3 = format!("_http._tcp.web.lab@127.0.0.3:{p3}");
    poll_for("the new records in", Duration::from_secs(10), || {
        let done = members_of(&p) == [m3.clone()];
        async move { done.then_some(()) }
    })
    .await;
    let before = (web1.hits(), web2.hits());
    for _ in 0..5 {
        assert_eq!(get(p.addr, "h", "/").await.body, "moved\n");
    }
    assert_eq!((web1.hits(), web2.hits()), before);
    assert_eq!(moved.hits(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srv_records_become_members_and_their_ttl_brings_changes_in() {
    if !has_dnsmasq("srv_records_become_members_and_their_ttl_brings_changes_in") {
        return;
    }
    srv_records_become_members("hyper").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srv_records_become_members_on_the_fast_engine() {
    if !has_dnsmasq("srv_records_become_members_on_the_fast_engine") {
        return;
    }
    srv_records_become_members("fast").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ttl_longer_than_the_interval_does_not_hold_the_answer() {
    if !has_dnsmasq("a_ttl_longer_than_the_interval_does_not_hold_the_answer") {
        return;
    }
    let port = free_port();
    let _web = Backend::start_at("web1", SocketAddr::new(ip(2), port)).await;
    let dns = SrvDns::start(
        &[
            "host-record=web1.lab,127.0.0.2".into(),
            format!("srv-host=_http._tcp.web.lab,web1.lab,{port},0,1"),
        ],
        3600,
    );
    let p = start_proxy(&config(&dns, "300ms", "hyper"));
    assert_eq!(get(p.addr, "h", "/").await.status, 200);
    let asked = |line: &str| -> u64 {
        line.split(' ')
            .nth(3)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    // Asked every 300 ms although the answer may be kept an hour.
    poll_for("five resolutions", Duration::from_secs(10), || {
        let line = resolver_line(&p);
        async move { (asked(&line) >= 5).then_some(()) }
    })
    .await;
    assert!(
        resolver_line(&p).contains(" 3600 -"),
        "{}",
        resolver_line(&p)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_refuses_a_port_or_a_weight_on_an_srv_member_and_warns_about_a_missing_one() {
    if !has_dnsmasq(
        "check_refuses_a_port_or_a_weight_on_an_srv_member_and_warns_about_a_missing_one",
    ) {
        return;
    }
    let dns = SrvDns::start(
        &[
            "host-record=web1.lab,127.0.0.2".into(),
            "srv-host=_http._tcp.web.lab,web1.lab,8080,0,1".into(),
        ],
        0,
    );
    let dir = tempfile::tempdir().unwrap();
    let run = |yaml: String| {
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, yaml).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
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
    let good = config(&dns, "10s", "hyper").replace("{listen}", "127.0.0.1:18080");
    let (ok, err) = run(good.clone());
    assert!(ok && err.is_empty(), "{err}");
    let (ok, err) = run(good.replace("_http._tcp.web.lab", "_http._tcp.web.lab:80"));
    assert!(
        !ok && err.contains("c.yaml:9:") && err.contains("without `:PORT`"),
        "{err}"
    );
    // Any written weight, the default's value included.
    for w in ["5", "1"] {
        let (ok, err) = run(good.replace(
            "      - address: _http._tcp.web.lab\n",
            &format!("      - address: _http._tcp.web.lab\n        weight: {w}\n"),
        ));
        assert!(
            !ok && err.contains("c.yaml:10:") && err.contains("takes each record's weight"),
            "weight {w}: {err}"
        );
    }
    let (ok, err) = run(good.replace("_http._tcp.web.lab", "_http._tcp.gone.lab"));
    assert!(ok, "an SRV name without records is a warning: {err}");
    assert!(
        err.contains("warning:") && err.contains("_http._tcp.gone.lab does not resolve now"),
        "{err}"
    );
}
