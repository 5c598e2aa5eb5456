//! One deadline covers name resolution too: when the DNS server never
//! answers, elb-check must report the timeout at `--timeout` and exit then,
//! not when glibc's resolver gives up (resolv.conf's timeout x attempts,
//! 10 s here) while a resolver thread still waits in `getaddrinfo`.
//!
//! Runs in a private network and mount namespace (`unshare -n -m`, mounts
//! private by default): a UDP socket on that namespace's 127.0.0.1:53 that
//! never answers, and a resolv.conf naming it bind-mounted over
//! /etc/resolv.conf for that namespace only. Nothing leaves the namespace.
//! Without permission for `unshare` (not root) it prints SKIPPED, unless CI
//! or ELB_E2E is set, where it must run.

mod common;

use std::process::Command;

/// Inside the namespace: loopback up, the resolv.conf mounted, the silent
/// DNS socket bound (it says "ready" once bound), then one probe of a name,
/// timed. Prints "EXIT_CODE MILLISECONDS".
const SCRIPT: &str = r#"
set -eu
ip link set lo up
mount --bind "$1" /etc/resolv.conf
coproc DNS { exec python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
time.sleep(30)'; }
read -r ready <&"${DNS[0]}"
start=$(date +%s%N)
code=0
"$2" -t 0.5s http://never-answered.example:8080/ || code=$?
end=$(date +%s%N)
kill "$DNS_PID"
echo "$code $(( (end - start) / 1000000 ))"
"#;

#[test]
fn a_dns_server_that_never_answers_ends_the_probe_at_its_deadline() {
    let usable = Command::new("unshare")
        .args(["-n", "-m", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !test_support::require(
        "a_dns_server_that_never_answers_ends_the_probe_at_its_deadline",
        usable,
        "permission for unshare -n -m (root)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n",
    )
    .unwrap();
    let out = Command::new("timeout")
        .args([
            "-s", "KILL", "30", "unshare", "-n", "-m", "bash", "-c", SCRIPT, "bash",
        ])
        .arg(&resolv)
        .arg(common::binary())
        .output()
        .expect("run unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let fields: Vec<u64> = stdout
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let [code, millis] = fields[..] else {
        panic!(
            "no result from the namespace: {:?}\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
    };
    assert_eq!(
        code, 4,
        "a resolver timeout is a network failure; stderr: {stderr}"
    );
    assert!(
        millis < 2000,
        "elb-check took {millis} ms with -t 0.5s: it waited for the resolver thread"
    );
}
