//! Upgrading the binary without a failover: a second elb-proxy started on the same config
//! takes over the listening sockets through `upgrade_socket`, the first finishes its
//! requests and exits, and under steady load no request fails and the health endpoint
//! never answers anything but 200.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use common::*;
use http::Request;

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_process_takes_over_with_no_failed_request_and_no_health_gap() {
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nupgrade_socket: \"{{dir}}/upgrade.sock\"\nshutdown: {{ deadline: 10s }}\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let mut old = start_proxy(&yaml);
    let addr = old.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed, health_ok, health_bad) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let mut load = Vec::new();
    for _ in 0..3 {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            // Bounded: at most 100,000 requests, and the test's own deadlines below.
            for _ in 0..100_000 {
                if stop.load(SeqCst) {
                    break;
                }
                let req = Request::get("/").header("host", "x").body(empty()).unwrap();
                match request(addr, req).await {
                    Ok(r) if r.status == 200 => ok.fetch_add(1, SeqCst),
                    _ => failed.fetch_add(1, SeqCst),
                };
            }
        }));
    }
    {
        let (stop, good, bad) = (stop.clone(), health_ok.clone(), health_bad.clone());
        load.push(tokio::spawn(async move {
            for _ in 0..100_000 {
                if stop.load(SeqCst) {
                    break;
                }
                match request(addr, health_request()).await {
                    Ok(r) if r.status == 200 => good.fetch_add(1, SeqCst),
                    _ => bad.fetch_add(1, SeqCst),
                };
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    let served = |n: u64| {
        let ok = ok.clone();
        move || ok.load(SeqCst) >= n
    };
    wait_until("load before the upgrade", served(200)).await;

    let mut child = Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
        .arg("-c")
        .arg(&old.config_path)
        .arg("--log-level")
        .arg("info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let new = Killed(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("elb-proxy ready") {
                if let Some(t) = tx.take() {
                    let _ = t.send(());
                }
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the new process did not start");
    let status = tokio::task::spawn_blocking(move || {
        let s = wait_exit(&mut old.child, Duration::from_secs(30));
        (s, old)
    })
    .await
    .unwrap();
    assert!(
        status.0.success(),
        "the old process exited with {:?}",
        status.0
    );
    assert!(status.1.log_contains("handed over to a new process"));
    let after = ok.load(SeqCst) + 200;
    wait_until("load after the upgrade", served(after)).await;
    stop.store(true, SeqCst);
    for t in load {
        t.await.unwrap();
    }
    assert_eq!(failed.load(SeqCst), 0, "{} served", ok.load(SeqCst));
    assert_eq!(
        health_bad.load(SeqCst),
        0,
        "{} health 200",
        health_ok.load(SeqCst)
    );
    assert!(health_ok.load(SeqCst) > 10);
    // The new process answers on the admin socket now.
    let (ok_ctl, info) = status.1.ctl("show info");
    assert!(ok_ctl, "{info}");
    assert!(info.contains(&format!("Pid: {}", new.0.id())), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr2_starts_the_successor_from_the_same_path() {
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nupgrade_socket: \"{{dir}}/upgrade.sock\"\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("a", a.addr, 1)], "")
    );
    let mut old = start_proxy(&yaml);
    let old_pid = old.child.id();
    old.signal("USR2");
    let status = tokio::task::spawn_blocking(move || {
        let s = wait_exit(&mut old.child, Duration::from_secs(30));
        (s, old)
    })
    .await
    .unwrap();
    let old = status.1;
    assert!(status.0.success(), "{:?}", status.0);
    assert_eq!(get(old.addr, "x", "/").await.status, 200);
    let (ok, info) = old.ctl("show info");
    assert!(ok, "{info}");
    let pid: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pid: "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap();
    assert_ne!(pid, old_pid);
    // The successor is not this test's child: end it by its pid.
    let _ = Command::new("kill").arg(pid.to_string()).status();
    poll_for("the successor to exit", Duration::from_secs(20), || async {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    })
    .await;
}
