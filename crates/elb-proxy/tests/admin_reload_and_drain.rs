//! Operations end to end: admin socket, reload, drain on SIGTERM, health service and the
//! push to vrrpd.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

fn two_member_yaml(a: std::net::SocketAddr, b: std::net::SocketAddr, extra: &str) -> String {
    format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nhealth: {{ must_be_up: [app] }}\nclusters:\n  - name: app\n    members:\n      - {{ name: m1, address: \"{a}\" }}\n      - {{ name: m2, address: \"{b}\" }}\ndefault_cluster: app\n{extra}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_command_and_bad_input() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let p = start_proxy(&two_member_yaml(a.addr, b.addr, ""));
    let mode = std::fs::metadata(&p.admin).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    for _ in 0..4 {
        assert_eq!(get(p.addr, "x", "/").await.status, 200);
    }
    let (ok, help) = p.ctl("help");
    assert!(ok && help.contains("show stat"), "{help}");
    let (ok, info) = p.ctl("show info");
    assert!(
        ok && info.contains("State: serving") && info.contains("CumReq: 4"),
        "{info}"
    );
    let (ok, csv) = p.ctl("show stat elb");
    assert!(ok && csv.starts_with("# pxname,svname,status"), "{csv}");
    assert!(csv.contains("\napp,m1,UP,1,0,2,0,2,"), "{csv}");
    assert!(csv.contains("\napp,BACKEND,UP,2,0,4,"), "{csv}");
    let (ok, json) = p.ctl("show stat json");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        ok && v[0]["svname"] == "m1" && v[0]["hrsp_2xx"] == 2,
        "{json}"
    );

    // disable -> no traffic to m1; enable -> back.
    let (ok, out) = p.ctl("disable server app/m1");
    assert!(ok, "{out}");
    let before = a.hits();
    for _ in 0..4 {
        assert_eq!(get(p.addr, "x", "/").await.body, "b\n");
    }
    assert_eq!(a.hits(), before);
    let (_, st) = p.ctl("show servers state");
    assert!(
        st.contains("app m1 ") && st.contains(" maint MAINT "),
        "{st}"
    );
    assert!(p.ctl("enable server app/m1").0);
    assert!(p.ctl("set server app/m2 state drain").0);
    for _ in 0..4 {
        assert_eq!(
            get(p.addr, "x", "/").await.body,
            "a\n",
            "drained member got new traffic"
        );
    }
    assert!(p.ctl("set server app/m2 state ready").0);
    assert!(p.ctl("set weight app/m2 3").0);
    let (ok, w) = p.ctl("get weight app/m2");
    assert!(ok && w.starts_with("3 (initial 1)"), "{w}");
    let mut counts = std::collections::HashMap::new();
    for _ in 0..8 {
        *counts.entry(get(p.addr, "x", "/").await.body).or_insert(0) += 1;
    }
    assert_eq!((counts["a\n"], counts["b\n"]), (2, 6));
    assert!(p.ctl("set server app/m2 weight 1").0);

    // Whole-proxy drain: health 503, back to 200.
    assert!(p.ctl("set proxy state drain").0);
    assert_eq!(get(p.addr, "x", "/services/EchoProxy").await.status, 503);
    assert!(p.ctl("set proxy state ready").0);
    assert_eq!(get(p.addr, "x", "/services/EchoProxy").await.status, 200);

    // Bad input: an error line, exit status 1, and the socket keeps serving.
    for bad in [
        "bogus",
        "disable server nomember",
        "disable server app/nobody",
        "disable server nope/m1",
        "set weight app/m1 x",
        "set server app/m1 state up",
        "show stat xml",
    ] {
        let (ok, out) = p.ctl(bad);
        assert!(!ok && out.starts_with("error:"), "{bad}: {out}");
    }
    // Raw garbage, an over-long line, and a silent client do not stall others.
    let mut silent = tokio::net::UnixStream::connect(&p.admin).await.unwrap();
    silent.write_all(b"show in").await.unwrap();
    let mut g = tokio::net::UnixStream::connect(&p.admin).await.unwrap();
    g.write_all(b"\x00\xff\xfe garbage\n").await.unwrap();
    let mut line = String::new();
    BufReader::new(&mut g).read_line(&mut line).await.unwrap();
    assert!(line.starts_with("error:"), "{line}");
    let mut long = tokio::net::UnixStream::connect(&p.admin).await.unwrap();
    let _ = long.write_all(&vec![b'a'; 100_000]).await;
    let mut out = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), long.read_to_string(&mut out)).await;
    assert!(out.starts_with("error: line too long"), "{out}");
    let (ok, info) = p.ctl("show info");
    assert!(ok && info.contains("Name: elb-proxy"));
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_socket_survives_a_connection_flood() {
    let a = Backend::start("a").await;
    let p = start_proxy(&two_member_yaml(a.addr, a.addr, ""));
    // 200 clients that connect and say nothing: beyond the cap they are refused at once.
    let mut held = Vec::new();
    for _ in 0..200 {
        if let Ok(s) = tokio::net::UnixStream::connect(&p.admin).await {
            held.push(s);
        }
    }
    // While the slots are full, a new client is told so at once (not left hanging).
    let (ok, out) = p.ctl("show info");
    assert!(!ok && out.contains("too many admin clients"), "{out}");
    // Once the silent clients go away, the socket serves again.
    held.clear();
    let end = std::time::Instant::now() + Duration::from_secs(5);
    let (mut ok, mut out) = p.ctl("show info");
    while !ok && std::time::Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(50)).await;
        (ok, out) = p.ctl("show info");
    }
    assert!(ok, "admin unusable during flood: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_load_fails_no_request_and_a_bad_file_keeps_the_old_config() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let p = start_proxy(&two_member_yaml(a.addr, b.addr, ""));
    let failed = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (addr, failed, ok, stop) = (p.addr, failed.clone(), ok.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut c = Client::connect(addr).await;
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && n < 20_000 {
                n += 1;
                match c.get("x", "/").await {
                    Ok(r) if r.status == 200 => ok.fetch_add(1, Ordering::SeqCst),
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
            }
        }));
    }
    let text = std::fs::read_to_string(&p.config_path).unwrap();
    // Each reload happens while requests flow: 20 more answered since the last one.
    let served = |n: u64| ok.load(Ordering::SeqCst) >= n;
    for i in 0..6 {
        let next = ok.load(Ordering::SeqCst) + 20;
        wait_until("requests served between reloads", || served(next)).await;
        // Alternate the member weights so every reload really changes the config.
        let changed = text.replace(
            "name: m2, address",
            &format!("name: m2, weight: {}, address", 1 + i % 3),
        );
        std::fs::write(&p.config_path, changed).unwrap();
        if i % 2 == 0 {
            p.signal("HUP");
            // SIGHUP is asynchronous: the next file must not be written before this one is
            // loaded, or the reload reads the next file (or the broken one) instead.
            let done = format!("Reloads: {}\n", i + 1);
            wait_until("the SIGHUP reload", || p.ctl("show info").1.contains(&done)).await;
        } else {
            let (okr, out) = p.ctl("reload");
            assert!(okr && out.contains("config reloaded"), "{out}");
        }
    }
    // A broken file: refused with file:line, old config keeps serving.
    std::fs::write(
        &p.config_path,
        text.replace("default_cluster: app", "default_cluster: app\nbogus_key: 1"),
    )
    .unwrap();
    let (okr, out) = p.ctl("reload");
    assert!(
        !okr && out.contains("elb-proxy.yaml:") && out.contains("unknown field `bogus_key`"),
        "{out}"
    );
    let next = ok.load(Ordering::SeqCst) + 20;
    wait_until("requests served after the refused reload", || served(next)).await;
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "{} ok",
        ok.load(Ordering::SeqCst)
    );
    assert!(ok.load(Ordering::SeqCst) > 50);
    let (_, info) = p.ctl("show info");
    assert!(
        info.contains("Reloads: 6") && info.contains("FailedReloads: 1"),
        "{info}"
    );
    assert_eq!(get(p.addr, "x", "/").await.status, 200);
}

/// A stand-in for vrrpd's control socket: records lines, answers "ok".
async fn fake_vrrpd(path: std::path::PathBuf) -> Arc<std::sync::Mutex<Vec<String>>> {
    let l = tokio::net::UnixListener::bind(path).unwrap();
    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let l2 = lines.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let lines = l2.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                let mut line = String::new();
                if r.read_line(&mut line).await.unwrap_or(0) > 0 {
                    lines.lock().unwrap().push(line.trim_end().to_string());
                    let _ = w.write_all(b"ok\n").await;
                }
            });
        }
    });
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_without_failing_in_flight_requests_and_tells_vrrpd() {
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let dir = tempfile::tempdir().unwrap();
    let vsock = dir.path().join("vrrpd.sock");
    let pushed = fake_vrrpd(vsock.clone()).await;
    let extra = format!(
        "vrrpd: {{ control_socket: \"{}\", track: elb }}\nshutdown: {{ grace: 300ms, deadline: 10s }}\n",
        vsock.display()
    );
    let mut p = start_proxy(&two_member_yaml(a.addr, b.addr, &extra));

    // Operator drain pushes down/up.
    assert!(p.ctl("set proxy state drain").0);
    assert!(p.ctl("set proxy state ready").0);

    // In-flight slow requests when SIGTERM arrives.
    let mut inflight = Vec::new();
    for _ in 0..8 {
        let addr = p.addr;
        inflight.push(tokio::spawn(async move {
            get(addr, "x", "/slow/1000").await.status
        }));
    }
    wait_until("the 8 slow requests at the members", || {
        a.hits() + b.hits() == 8
    })
    .await;
    p.signal("TERM");
    // During the grace period the health service says 503 while requests are still served
    // (the listener stays open: a refused connection here fails the test).
    let addr = p.addr;
    poll_for(
        "health 503 after SIGTERM",
        Duration::from_secs(5),
        || async move {
            let h = request(addr, health_request())
                .await
                .expect("listener closed before health said 503");
            assert!(
                h.status == 200 || h.status == 503,
                "health answered {}",
                h.status
            );
            (h.status == 503).then_some(())
        },
    )
    .await;
    for t in inflight {
        assert_eq!(
            t.await.unwrap(),
            200,
            "in-flight request failed during drain"
        );
    }
    let status =
        tokio::task::spawn_blocking(move || wait_exit(&mut p.child, Duration::from_secs(20)))
            .await
            .unwrap();
    assert!(status.success(), "{status:?}");
    let got = pushed.lock().unwrap().clone();
    assert_eq!(
        got,
        vec!["track elb down", "track elb up", "track elb down"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_when_a_must_be_up_cluster_has_no_member_and_vrrpd_absent_never_blocks() {
    let dead1 = free_port();
    let dead2 = free_port();
    let yaml = two_member_yaml(
        format!("127.0.0.1:{dead1}").parse().unwrap(),
        format!("127.0.0.1:{dead2}").parse().unwrap(),
        "vrrpd: { control_socket: /nonexistent/vrrpd.sock, track: elb }\n",
    )
    .replace(
        "    members:",
        "    health_check: { interval: 100ms, timeout: 200ms, fall: 1, rise: 1 }\n    members:",
    );
    let p = start_proxy(&yaml);
    assert!(p.wait_log("member DOWN", Duration::from_secs(3)));
    // The second member goes down on its own check: health follows within the deadline.
    let addr = p.addr;
    let h = poll_for(
        "health 503 with both members down",
        Duration::from_secs(5),
        || async move {
            let h = get(addr, "x", "/services/EchoProxy").await;
            (h.status == 503).then_some(h)
        },
    )
    .await;
    assert_eq!(h.status, 503);
    assert!(
        h.body.contains("cluster app has no healthy member"),
        "{}",
        h.body
    );
    let start = std::time::Instant::now();
    let r = get(p.addr, "x", "/").await;
    assert_eq!(r.status, 503, "all-down cluster answers 503");
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "503 not quick: {:?}",
        start.elapsed()
    );
    // Drain with vrrpd missing: answered at once, the failed push is only logged.
    let start = std::time::Instant::now();
    assert!(p.ctl("set proxy state drain").0);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(p.wait_log("could not tell vrrpd", Duration::from_secs(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_access_log_and_dedicated_health_port() {
    let a = Backend::start("a").await;
    let (mport, hport) = (free_port(), free_port());
    let extra = format!(
        "metrics: {{ address: \"127.0.0.1:{mport}\" }}\naccess_log: {{ path: \"{{dir}}/access.log\" }}\n"
    );
    let yaml = two_member_yaml(a.addr, a.addr, &extra).replace(
        "health: { must_be_up: [app] }",
        &format!("health: {{ must_be_up: [app], address: \"127.0.0.1:{hport}\" }}"),
    );
    let p = start_proxy(&yaml);
    for _ in 0..3 {
        assert_eq!(get(p.addr, "x", "/some/path").await.status, 200);
    }
    let m = get(
        format!("127.0.0.1:{mport}").parse().unwrap(),
        "m",
        "/metrics",
    )
    .await;
    assert_eq!(m.status, 200);
    for line in [
        "elb_proxy_up 1",
        "elb_proxy_upstream_responses_total{cluster=\"app\",member=\"m1\",class=\"2xx\"} 2",
        "elb_proxy_member_up{cluster=\"app\",member=\"m2\"} 1",
        "elb_proxy_upstream_latency_seconds_count{cluster=\"app\"} 3",
        "elb_proxy_requests_total 3",
        "# TYPE elb_proxy_connections_parked gauge",
        "# TYPE elb_proxy_parks_total counter",
    ] {
        assert!(m.body.contains(line), "missing `{line}` in:\n{}", m.body);
    }
    let h = get(
        format!("127.0.0.1:{hport}").parse().unwrap(),
        "h",
        "/services/EchoProxy",
    )
    .await;
    assert_eq!(h.status, 200);
    let other = get(format!("127.0.0.1:{hport}").parse().unwrap(), "h", "/").await;
    assert_eq!(
        other.status, 404,
        "the health port serves only the health path"
    );
    // The access log is written by its own thread: wait (bounded) for the three lines.
    let path = p.dir.path().join("access.log");
    let log = poll_for(
        "three access log lines",
        Duration::from_secs(10),
        || async {
            let log = std::fs::read_to_string(&path).unwrap_or_default();
            (log.lines().count() >= 3).then_some(log)
        },
    )
    .await;
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(
        lines[0].starts_with("127.0.0.1 - - [")
            && lines[0].ends_with("] \"GET /some/path HTTP/1.1\" 200 2 \"-\" \"-\""),
        "{log}"
    );
}

#[test]
fn check_flag_validates_and_reports_file_and_line() {
    let deploy = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/elb-proxy.yaml");
    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
        .args(["--check", "-c", deploy])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "listeners: [{ address: 127.0.0.1:1 }]\nclusters:\n  - name: a\n    members: [{ address: 127.0.0.1:2, wieght: 2 }]\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
        .arg("--check")
        .arg("-c")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:4:") && err.contains("unknown field `wieght`"),
        "{err}"
    );
}

#[test]
fn check_flag_refuses_an_unknown_access_log_field_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("log.yaml");
    let text = |template: &str| {
        format!(
            "listeners: [{{ address: 127.0.0.1:1 }}]\nclusters:\n  - name: a\n    members: [{{ address: 127.0.0.1:2 }}]\naccess_log:\n  path: {}\n  format: template\n  template: \"{template}\"\n",
            dir.path().join("access.log").display()
        )
    };
    let check = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
            .arg("--check")
            .arg("-c")
            .arg(&conf)
            .output()
            .unwrap()
    };
    std::fs::write(&conf, text("{client} {status} {total_ms}")).unwrap();
    let ok = check();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    std::fs::write(&conf, text("{client} {statsu}")).unwrap();
    let out = check();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("log.yaml:8:") && err.contains("unknown field '{statsu}'"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_adds_removes_and_moves_listeners_and_refuses_an_address_in_use() {
    let a = Backend::start("a").await;
    let b_addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let c_addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let yaml = |extra: &str| {
        format!(
            "listeners:\n  - {{ name: main, address: \"{{listen}}\" }}\n{extra}clusters:\n  - {{ name: app, members: [{{ address: \"{}\" }}] }}\ndefault_cluster: app\n",
            a.addr
        )
    };
    let p = start_proxy(&yaml(&format!(
        "  - {{ name: extra, address: \"{b_addr}\" }}\n"
    )));
    let fill = |text: &str| {
        text.replace("{listen}", &p.addr.to_string())
            .replace("{admin}", &p.admin.display().to_string())
    };
    let with_admin = |extra: &str| {
        fill(&format!(
            "{}admin: {{ socket: \"{{admin}}\" }}\n",
            yaml(extra)
        ))
    };
    assert_eq!(get(b_addr, "x", "/").await.status, 200);

    // A keep-alive connection on the listener about to go, with a request in flight.
    let mut kept = Client::connect(b_addr).await;
    assert_eq!(kept.get("x", "/").await.unwrap().status, 200);
    let hits = a.hits();
    let in_flight = tokio::spawn(async move {
        let r = kept.get("x", "/slow/800").await;
        (r, kept)
    });
    wait_until("the slow request reached the member", || a.hits() > hits).await;

    // Reload: `extra` moves from b_addr to c_addr.
    std::fs::write(
        &p.config_path,
        with_admin(&format!("  - {{ name: extra, address: \"{c_addr}\" }}\n")),
    )
    .unwrap();
    let (ok, out) = p.ctl("reload");
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("listening on {c_addr}"))
            && out.contains(&format!("closed {b_addr}")),
        "{out}"
    );
    assert_eq!(get(c_addr, "x", "/").await.status, 200);
    assert_eq!(get(p.addr, "x", "/").await.status, 200);
    assert!(
        within("connect", tokio::net::TcpStream::connect(b_addr))
            .await
            .is_err(),
        "the removed listener still accepts"
    );
    // The in-flight request on the removed listener finished; then its connection closed.
    let (r, mut kept) = in_flight.await.unwrap();
    assert_eq!(r.unwrap().status, 200);
    assert!(
        kept.get("x", "/").await.is_err(),
        "drained connection stayed open"
    );

    // An address in use: the reload is refused and the old config (with c_addr) stays.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap();
    std::fs::write(
        &p.config_path,
        with_admin(&format!(
            "  - {{ name: extra, address: \"{taken_addr}\" }}\n"
        )),
    )
    .unwrap();
    let (ok, out) = p.ctl("reload");
    assert!(!ok, "{out}");
    assert!(
        out.contains("binding extra") && out.contains(&taken_addr.to_string()),
        "{out}"
    );
    assert_eq!(get(c_addr, "x", "/").await.status, 200);
    let (_, info) = p.ctl("show info");
    assert!(info.contains("FailedReloads: 1"), "{info}");

    // The same by SIGHUP once the address is free: it takes effect.
    drop(taken);
    p.signal("HUP");
    let mut served = false;
    for _ in 0..200 {
        if within("connect", tokio::net::TcpStream::connect(taken_addr))
            .await
            .is_ok()
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(served, "listener added by SIGHUP never opened");
    assert_eq!(get(taken_addr, "x", "/").await.status, 200);
    wait_until("c_addr closed", || {
        std::net::TcpStream::connect(c_addr).is_err()
    })
    .await;
}
