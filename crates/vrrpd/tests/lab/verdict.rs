//! One verdict: `-t`, start and reload judge a file alike (same lines, same refusal), and
//! keepalived's signals keep a master advertising or stop it cleanly.

use std::path::Path;
use std::time::{Duration, Instant};

use netlab::{Host, Lab};

use crate::vrrp_lab::*;

fn ctl(host: &Host, pid: &Path, words: &[&str]) -> std::process::Output {
    host.command(vrrpd_bin())
        .args(["ctl", "-p", pid.to_str().unwrap()])
        .args(words)
        .output()
        .unwrap()
}

fn config_test(host: &Host, conf: &Path) -> (Option<i32>, String) {
    let out = host
        .command(vrrpd_bin())
        .arg("-t")
        .arg("-f")
        .arg(conf)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The -t lines naming a missing interface.
fn interface_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains("doesn't exist"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_file_with_a_missing_interface_is_refused_alike_by_test_start_and_reload() {
    if !netlab::require_root_or_skip("a_file_with_a_missing_interface_is_refused_alike") {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let a = lab.host(0);
    let good = Node::v3(150, "0.1").conf();
    let bad = good.replace(&format!("{VIP4}/24"), &format!("{VIP4}/24 dev nosuch0"));
    let bad_path = write_conf(&lab, "bad", &bad);
    let (class, stderr) = config_test(a, &bad_path);
    assert_eq!(class, Some(5), "{stderr}");
    let lines = interface_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    let line = 1 + bad.lines().position(|l| l.contains("nosuch0")).unwrap();
    assert!(
        lines[0].contains(&format!(":{line}:0: ")),
        "names the VIP's line {line}: {}",
        lines[0]
    );
    // keepalived 2.2.7 on the same file: the same class and line.
    let theirs = a
        .command(KEEPALIVED)
        .arg("-t")
        .arg("-f")
        .arg(&bad_path)
        .output()
        .unwrap();
    let their_err = String::from_utf8_lossy(&theirs.stderr);
    assert_eq!(theirs.status.code(), Some(5), "{their_err}");
    assert!(
        their_err.contains(&format!("Line {line}) WARNING - interface nosuch0")),
        "{their_err}"
    );

    // Start: the same line in the log, the same class as exit status, no VIP.
    let mut p = start_vrrpd(&lab, a, "bad", &bad, &[]);
    let status = p.wait_exit(WAIT).unwrap();
    assert_eq!(status.code(), Some(5), "{}", p.output());
    assert!(p.output().contains(&lines[0]), "{}", p.output());
    assert!(!a.has_address(ip(VIP4)).unwrap());

    // Reload: a running master is kept as it is, the answer says why and fails.
    let p = start_vrrpd(&lab, a, "a", &good, &[]);
    a.wait_for_address(ip(VIP4), true, WAIT).unwrap();
    let conf = node_dir(&lab, "a").join("keepalived.conf");
    let pid = node_dir(&lab, "a").join("vrrpd.pid");
    std::fs::write(&conf, &bad).unwrap();
    let out = ctl(a, &pid, &["reload"]);
    let answer = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{answer}");
    assert!(
        answer.contains("VI_1") && answer.contains("cannot run here"),
        "{answer}"
    );
    // The same line as -t's, for this node's copy of the file.
    let same = format!(
        "{}{}",
        conf.display(),
        &lines[0][bad_path.as_os_str().len()..]
    );
    assert!(p.output().contains(&same), "{same}\n{}", p.output());
    assert!(a.has_address(ip(VIP4)).unwrap(), "the running config stays");

    // A file keepalived starts with errors (auth_pass over 8 bytes, class 5 in -t) reloads too.
    let long_pass = Node {
        auth_pass: Some("longer-than-eight".into()),
        ..Node::v2_pass(150)
    }
    .conf();
    std::fs::write(&conf, &long_pass).unwrap();
    let out = ctl(a, &pid, &["reload"]);
    assert!(out.status.success(), "{out:?}\n{}", p.output());
}

#[test]
fn start_partial_runs_the_instances_that_can_run_and_names_the_others() {
    if !netlab::require_root_or_skip("start_partial_runs_the_instances_that_can_run") {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let a = lab.host(0);
    let mut node = Node::v3(150, "0.1");
    node.vips.push("198.18.0.101/24".into());
    let good = node.conf();
    let broken = good
        .replace("vrrp_instance VI_1", "vrrp_instance VI_2")
        .replace("virtual_router_id 51", "virtual_router_id 52")
        .replace("interface eth0", "interface nosuch0")
        .replace(&format!("{VIP4}/24\n"), "")
        .replace("198.18.0.101", "198.18.0.102");
    let both = format!(
        "{}{}",
        good.replace("198.18.0.101/24\n", ""),
        &broken[broken.find("vrrp_instance").unwrap()..]
    );
    let p = start_vrrpd(&lab, a, "a", &both, &["--start-partial"]);
    a.wait_for_address(ip(VIP4), true, WAIT).unwrap();
    p.wait_for_line("these instances stay down.*VI_2", WAIT)
        .unwrap();
    // `show status` names the instance left down and why, in text and JSON alike.
    let pid = node_dir(&lab, "a").join("vrrpd.pid");
    let out = ctl(a, &pid, &["show", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let line = text
        .lines()
        .find(|l| l.starts_with("instance VI_2: DOWN (not running): "))
        .unwrap_or_else(|| panic!("VI_2 not listed as down:\n{text}"));
    assert!(line.contains("nosuch0"), "{line}");
    assert!(text.contains("instance VI_1 vrid 51"), "{text}");
    let out = ctl(a, &pid, &["show", "status", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["down"][0]["name"], "VI_2", "{json}");
    let reason = json["down"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("nosuch0"), "{json}");
    assert_eq!(json["down"].as_array().map(Vec::len), Some(1), "{json}");
}

/// Sends signal `n` the keepalived way: `kill -s N PID`.
fn kill(host: &Host, n: &str, pid: u32) {
    let out = host.run(&["kill", "-s", n, &pid.to_string()]).unwrap();
    assert!(out.status.success(), "{out:?}");
}

fn signum(name: &str) -> String {
    let out = std::process::Command::new(vrrpd_bin())
        .arg(format!("--signum={name}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Waits (bounded) until `path` exists and holds text matching `want`.
fn wait_for_file(path: &Path, want: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(t) = std::fs::read_to_string(path)
            && want(&t)
        {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sent(stats: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.trim().strip_prefix("Sent: "))
        .and_then(|n| n.parse().ok())
        .expect("Sent line")
}

#[test]
fn keepalived_signals_keep_a_master_advertising_and_others_stop_it_cleanly() {
    if !netlab::require_root_or_skip("keepalived_signals_keep_a_master_advertising") {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let a = lab.host(0);
    let mut p = start_vrrpd(&lab, a, "a", &Node::v3(150, "0.1").conf(), &[]);
    a.wait_for_address(ip(VIP4), true, WAIT).unwrap();
    let dir = node_dir(&lab, "a");
    let pid = p.pid();

    kill(a, &signum("DATA"), pid);
    wait_for_file(&dir.join("vrrpd.data"), |t| t.contains("State = MASTER"));
    let stats = dir.join("vrrpd.stats");
    // Sent adverts as the STATS signal reports them, once at least `min`.
    let sent_at_least = |min: u64| {
        let deadline = Instant::now() + WAIT;
        loop {
            let _ = std::fs::remove_file(&stats);
            kill(a, &signum("STATS"), pid);
            let n = sent(&wait_for_file(&stats, |t| t.contains("Sent: ")));
            if n >= min {
                return n;
            }
            assert!(Instant::now() < deadline, "only {n} adverts sent");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let before = sent_at_least(20);
    kill(a, &signum("JSON"), pid);
    let json = wait_for_file(&dir.join("vrrpd.json"), |t| t.contains("iname"));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["data"]["iname"], "VI_1");
    assert_eq!(v[0]["data"]["state"], 2, "keepalived's number for MASTER");
    std::fs::remove_file(&stats).unwrap();
    kill(a, &signum("STATS_CLEAR"), pid);
    p.wait_for_line("statistics cleared", WAIT).unwrap();
    let at_clear = sent(&std::fs::read_to_string(&stats).unwrap());
    assert!(at_clear >= before);
    let just_after = sent_at_least(0);
    assert!(
        just_after < at_clear,
        "cleared: {just_after} after {at_clear}"
    );
    kill(a, &signum("RELOAD"), pid);
    p.wait_for_line("configuration reloaded", WAIT).unwrap();
    // Still master and still advertising.
    sent_at_least(just_after + 5);
    assert!(a.has_address(ip(VIP4)).unwrap());

    // A signal keepalived gives no meaning whose default would kill: the orderly stop.
    let cap = a.capture("vrrp").unwrap();
    kill(a, "ALRM", pid);
    cap.wait_for("prio 0,", WAIT).unwrap();
    p.wait_for_line("SIGALRM: shutting down", WAIT).unwrap();
    assert!(p.wait_exit(WAIT).unwrap().success(), "{}", p.output());
    assert!(!a.has_address(ip(VIP4)).unwrap(), "VIP released");
}
