//! `--metrics-listen`: the Prometheus endpoint of a real vrrpd in a lab namespace passes
//! `promtool check metrics` and reports the instance as the control socket does.

use std::net::SocketAddr;

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

/// The lab, when root and promtool are there (the rule of `lab_with`).
fn promtool_lab(test: &str) -> Option<netlab::Lab> {
    let have = std::process::Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok();
    lab_with(test, "promtool (Debian package prometheus)", have)
}

#[test]
fn metrics_endpoint_passes_promtool_and_shows_the_master() {
    let Some(lab) = promtool_lab("metrics_endpoint_passes_promtool_and_shows_the_master") else {
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
    let text = test_support::wait::poll(WAIT, || {
        scrape(host, addr).filter(|t| {
            t.lines()
                .any(|l| l.starts_with("vrrpd_vrrp_state{") && l.ends_with(" 2"))
        })
    })
    .unwrap_or_else(|| panic!("never MASTER in metrics:\n{}", proc.output()));
    promtool_passes(&lab, "a", &text);
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

/// The value of the sample `series` in an exposition, if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn promtool_passes(lab: &netlab::Lab, tag: &str, text: &str) {
    let file = lab.dir().join(format!("metrics-{tag}.txt"));
    std::fs::write(&file, text).unwrap();
    let check = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(
        check.status.success() && check.stdout.is_empty() && check.stderr.is_empty(),
        "promtool ({tag}): {}{}\n{text}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn metrics_count_a_failover_by_reason_with_script_and_notify_outcomes() {
    let Some(lab) =
        promtool_lab("metrics_count_a_failover_by_reason_with_script_and_notify_outcomes")
    else {
        return;
    };
    let addr: SocketAddr = "127.0.0.1:9651".parse().unwrap();
    let dir_a = node_dir(&lab, "a");
    let up = dir_a.join("up");
    std::fs::write(&up, "").unwrap();
    let script = |dir: &std::path::Path, name: &str, body: &str| {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    let check = script(&dir_a, "check.sh", &format!("test -e {}", up.display()));
    let notify = script(&dir_a, "notify.sh", "exit 0");
    let mut a = Node::v3(150, "1");
    a.extra_instance = format!(
        "    track_script {{\n        chk\n    }}\n    notify \"{}\"\n",
        notify.display()
    );
    let conf_a = format!(
        "vrrp_script chk {{\n    script \"{}\"\n    interval 0.2\n    fall 1\n    rise 1\n}}\n{}",
        check.display(),
        a.conf()
    );
    let proc_a = start_vrrpd(
        &lab,
        lab.host(0),
        "a",
        &conf_a,
        &["--metrics-listen", &addr.to_string()],
    );
    let proc_b = start_vrrpd(
        &lab,
        lab.host(1),
        "b",
        &Node::v3(100, "1").conf(),
        &["--metrics-listen", &addr.to_string()],
    );
    let l = "iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"";
    let state = format!("vrrpd_vrrp_state{{{l}}}");
    let master =
        |host: &netlab::Host| scrape(host, addr).filter(|t| sample(t, &state) == Some(2.0));
    test_support::wait::poll(WAIT, || master(lab.host(0)))
        .unwrap_or_else(|| panic!("a never MASTER:\n{}\n{}", proc_a.output(), proc_b.output()));
    // The check fails: a goes FAULT, b takes over when a's priority-0 advert cuts its wait.
    std::fs::remove_file(&up).unwrap();
    let text_b = test_support::wait::poll(WAIT, || master(lab.host(1)))
        .unwrap_or_else(|| panic!("b never MASTER:\n{}", proc_b.output()));
    let to_fault = "vrrpd_vrrp_transitions_by_reason_total{iname=\"VI_1\",from=\"MASTER\",to=\"FAULT\",reason=\"fault\"}";
    let text_a = test_support::wait::wait_until(WAIT, "a's MASTER -> FAULT in its metrics", || {
        scrape(lab.host(0), addr).filter(|t| sample(t, to_fault) == Some(1.0))
    });
    promtool_passes(&lab, "a", &text_a);
    promtool_passes(&lab, "b", &text_b);
    let b_took_over = "vrrpd_vrrp_transitions_by_reason_total{iname=\"VI_1\",from=\"BACKUP\",to=\"MASTER\",reason=\"master_down\"}";
    assert_eq!(sample(&text_b, b_took_over), Some(1.0), "{text_b}");
    let failed = "vrrpd_script_results_total{script=\"chk\",result=\"failure\"}";
    assert!(sample(&text_a, failed) >= Some(1.0), "{text_a}");
    let passed = "vrrpd_script_results_total{script=\"chk\",result=\"success\"}";
    let runs = sample(
        &text_a,
        "vrrpd_script_duration_seconds_count{script=\"chk\"}",
    );
    assert!(
        runs.is_some() && runs >= sample(&text_a, passed),
        "every run is timed: {text_a}"
    );
    // INIT -> BACKUP, BACKUP -> MASTER, MASTER -> FAULT: each ran the notify script.
    let notified = "vrrpd_notify_total{channel=\"script\",name=\"VI_1\",result=\"success\"}";
    let n = test_support::wait::wait_until(WAIT, "a's notify outcomes", || {
        scrape(lab.host(0), addr)
            .and_then(|t| sample(&t, notified))
            .filter(|n| *n >= 3.0)
    });
    assert_eq!(n, 3.0);
}
