//! `--metrics-listen`: the Prometheus endpoint of a real vrrpd in a lab namespace passes
//! `promtool check metrics` and reports the instance as the control socket does.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::vrrp_lab::*;

/// One scrape from inside the host's namespace (the endpoint listens on its loopback).
fn scrape(host: &netlab::Host, addr: SocketAddr) -> Option<String> {
    let out = host
        .run(&[
            "curl",
            "-sf",
            "--max-time",
            "5",
            &format!("http://{addr}/metrics"),
        ])
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn metrics_endpoint_passes_promtool_and_shows_the_master() {
    let have = std::process::Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok();
    let Some(lab) = lab_with(
        "metrics_endpoint_passes_promtool_and_shows_the_master",
        "promtool (Debian package prometheus)",
        have,
    ) else {
        return;
    };
    let host = lab.host(0);
    let addr: SocketAddr = "127.0.0.1:9650".parse().unwrap();
    let proc = start_vrrpd(
        &lab,
        host,
        "a",
        &Node::v3(100, "1").conf(),
        &["--metrics-listen", &addr.to_string()],
    );
    proc.wait_for_line("metrics endpoint listening", WAIT)
        .unwrap();
    // The lone node becomes MASTER once its master-down interval has passed.
    let end = Instant::now() + WAIT;
    let text = loop {
        if let Some(t) = scrape(host, addr) {
            if t.lines()
                .any(|l| l.starts_with("vrrpd_vrrp_state{") && l.ends_with(" 2"))
            {
                break t;
            }
        }
        assert!(
            Instant::now() < end,
            "never MASTER in metrics:\n{}",
            proc.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let file = lab.dir().join("metrics.txt");
    std::fs::write(&file, &text).unwrap();
    let check = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(
        check.status.success() && check.stdout.is_empty() && check.stderr.is_empty(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let l = "iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"";
    for want in [
        "keepalived_up 1".to_string(),
        format!("vrrpd_vrrp_base_priority{{{l}}} 100"),
        format!("vrrpd_vrrp_effective_priority{{{l}}} 100"),
        format!("keepalived_become_master_total{{{l}}} 1"),
    ] {
        assert!(text.lines().any(|x| x == want), "missing {want} in\n{text}");
    }
    let sent = text
        .lines()
        .find_map(|x| x.strip_prefix(&format!("keepalived_advert_sent_total{{{l}}} ")))
        .and_then(|v| v.parse::<u64>().ok())
        .expect("adverts sent");
    assert!(sent >= 1, "a MASTER has sent adverts: {text}");
    // Anything but /metrics is refused.
    let other = host
        .run(&[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://{addr}/"),
        ])
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&other.stdout), "404");
}
