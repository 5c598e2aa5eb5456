//! `vrrp_track_process` in the lab: each node's vrrpd tracks its own elb-proxy (no script at
//! all); a SIGKILL of elb-proxy on the master moves the VIP, a restart brings it back. Inside a
//! network namespace the kernel's process-event connector does not answer, so vrrpd opens its
//! socket in the initial namespace (or, where it cannot, watches with pidfds) and says which
//! in `show status`. Prints the kill-to-VIP-on-backup time per run and
//! its median (compare with the track-script fast path in docs/benchmarks/failover.md).
//!
//! The hosts share one PID namespace, so each node tracks `elb-proxy --config <its own file>`
//! (exact parameters), not every elb-proxy on the machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::vrrp_lab::{VIP4, WAIT, ip, lab_with, node_dir, start_vrrpd};
use netlab::{Host, Lab, Proc};
use vrrpd::track_process::connector;

const RUNS: usize = 10;

/// elb-proxy beside this test binary (target/<profile>/), built by `cargo test --workspace`.
fn elb_proxy_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().expect("parent").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("elb-proxy")
}

fn proxy_conf(dir: &Path) -> PathBuf {
    let path = dir.join("elb-proxy.yaml");
    std::fs::write(
        &path,
        "workers: 1\nlisteners:\n  - name: http\n    address: 127.0.0.1:8280\n\
         clusters:\n  - name: app\n    members:\n      - { name: m1, address: \"127.0.0.1:9\" }\n\
         default_cluster: app\n",
    )
    .expect("elb-proxy.yaml");
    path
}

fn start_proxy(host: &Host, conf: &Path, label: &str) -> Proc {
    let mut cmd: Command = host.command(elb_proxy_bin().to_str().expect("path"));
    cmd.arg("--config").arg(conf);
    let p = host.spawn(label, cmd).expect("spawn elb-proxy");
    host.wait_tcp(([127, 0, 0, 1], 8280).into(), WAIT)
        .expect("elb-proxy listening");
    p
}

/// How the node watches its elb-proxy.
#[derive(Clone, Copy, PartialEq)]
enum Watch {
    /// `vrrp_track_process`: no script at all.
    Process,
    /// The script equivalent at the fast path's interval: `pgrep` every 0.05 s.
    Script,
}

fn vrrpd_conf(proxy_conf: &Path, priority: u8, watch: Watch) -> String {
    let conf = proxy_conf.display();
    let (tracker, reference) = match watch {
        Watch::Process => (
            format!(
                "vrrp_track_process proxy {{\n    process elb-proxy --config {conf}\n    weight -20\n}}\n"
            ),
            "track_process",
        ),
        Watch::Script => (
            format!(
                "vrrp_script proxy {{\n    script \"/usr/bin/pgrep -x -f '.*elb-proxy --config {conf}'\"\n    interval 0.05\n    timeout 1\n    weight -20\n}}\n"
            ),
            "track_script",
        ),
    };
    format!(
        r#"global_defs {{
    router_id lab
    vrrp_garp_master_delay 0
}}
{tracker}vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        {VIP4}/24
    }}
    {reference} {{
        proxy
    }}
}}
"#
    )
}

fn ctl(host: &Host, lab: &Lab, tag: &str, words: &[&str]) -> String {
    let pid = lab.dir().join(tag).join("vrrpd.pid");
    let mut argv = vec![
        env!("CARGO_BIN_EXE_vrrpd"),
        "ctl",
        "-p",
        pid.to_str().unwrap(),
    ];
    argv.extend_from_slice(words);
    let out = host.run(&argv).expect("vrrpd ctl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

#[test]
fn sigkill_of_a_tracked_elb_proxy_moves_the_vip() {
    let test = "sigkill_of_a_tracked_elb_proxy_moves_the_vip";
    let Some(lab) = lab_with(
        test,
        "elb-proxy (cargo build -p elb-proxy)",
        elb_proxy_bin().is_file(),
    ) else {
        return;
    };
    let (a, b) = (lab.host(0), lab.host(1));
    let vip = ip(VIP4);
    let (dir_a, dir_b) = (node_dir(&lab, "a"), node_dir(&lab, "b"));
    for h in [a, b] {
        h.run(&["ip", "link", "set", "lo", "up"]).expect("lo up");
    }
    let (conf_a, conf_b) = (proxy_conf(&dir_a), proxy_conf(&dir_b));
    // Started before vrrpd: found by the scan at start.
    let mut proxy_a = start_proxy(a, &conf_a, "proxy-a");
    let _proxy_b = start_proxy(b, &conf_b, "proxy-b");
    let mut medians = Vec::new();
    for (watch, tag) in [(Watch::Process, "p"), (Watch::Script, "s")] {
        let fast = ["--fast-failover"];
        let (ta, tb) = (format!("a{tag}"), format!("b{tag}"));
        let mut vrrpd_a = start_vrrpd(&lab, a, &ta, &vrrpd_conf(&conf_a, 101, watch), &fast);
        let mut vrrpd_b = start_vrrpd(&lab, b, &tb, &vrrpd_conf(&conf_b, 100, watch), &fast);
        a.wait_for_address(vip, true, WAIT).expect("VIP on a");
        if watch == Watch::Process {
            let status = ctl(a, &lab, &ta, &["show", "status"]);
            // Where the connector answers the test, vrrpd in its namespace opens it there.
            let mechanism = if connector::answers_here() {
                "process-event connector (socket opened in the initial network namespace)"
            } else {
                "pidfd exit watch"
            };
            assert!(
                status.contains("track process proxy up")
                    && status.contains("1 `elb-proxy` running")
                    && status.contains(mechanism),
                "show status names the tracker, its count and the mechanism `{mechanism}`:\n{status}"
            );
        }
        let mut times = Vec::new();
        for run in 0..RUNS {
            let t0 = Instant::now();
            proxy_a.kill();
            b.wait_for_address(vip, true, WAIT)
                .unwrap_or_else(|e| panic!("run {run}: VIP never reached b: {e}"));
            times.push(t0.elapsed());
            a.wait_for_address(vip, false, WAIT).expect("VIP left a");
            let down = ctl(a, &lab, &ta, &["show", "status"]);
            assert!(
                down.contains("priority 81 (base 101)"),
                "priority lowered by the weight:\n{down}"
            );
            if watch == Watch::Process {
                assert!(down.contains("track process proxy down"), "{down}");
            }
            // Restarted: found again, A takes the VIP back (preemption).
            proxy_a = start_proxy(a, &conf_a, "proxy-a");
            a.wait_for_address(vip, true, WAIT)
                .unwrap_or_else(|e| panic!("run {run}: VIP never came back to a: {e}"));
        }
        let ms: Vec<String> = times
            .iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
            .collect();
        let median = median_ms(times);
        let label = match watch {
            Watch::Process => "vrrp_track_process (in a namespace)",
            Watch::Script => "vrrp_script pgrep every 0.05 s",
        };
        println!(
            "{label}: SIGKILL -> VIP on backup, advert_int 0.1, --fast-failover: median {median:.0} ms over {RUNS} runs [{}]",
            ms.join(", ")
        );
        medians.push(median);
        for v in [&mut vrrpd_a, &mut vrrpd_b] {
            v.signal(nix::sys::signal::Signal::SIGTERM)
                .expect("SIGTERM");
            let _ = v.wait_exit(WAIT);
        }
    }
    println!(
        "ratio process/script: {:.2}",
        medians[0] / medians[1].max(0.001)
    );
}
