//! The VRRP process's own settings side by side with Debian's keepalived 2.2.7: the same
//! config runs under each, and what /proc shows of the VRRP process (keepalived's VRRP child)
//! must be the same: nice, scheduling policy and realtime priority, locked memory, allowed
//! CPUs, the RLIMIT_RTTIME line, the umask, and the mode of the notify FIFO it creates.

use std::path::Path;

use crate::vrrp_lab::*;
use nix::sys::signal::Signal;

/// What the kernel shows of `pid`'s tuning, one `name: value` line each.
fn observed(pid: u32, fifo: &Path) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the `(comm)`: 3 is the state, so field N is at N - 3.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let field = |n: usize| fields[n - 3].to_string();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let status_line = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in status"))
            .trim()
            .to_string()
    };
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let rttime = limits
        .lines()
        .find(|l| l.starts_with("Max realtime timeout"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let chrt = std::process::Command::new("chrt")
        .arg("-p")
        .arg(pid.to_string())
        .output()
        .unwrap();
    let policy = String::from_utf8_lossy(&chrt.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .rsplit(':')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let locked_kb: u64 = status_line("VmLck:")
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    let fifo_mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(fifo)
            .map(|m| format!("{:04o}", m.permissions().mode() & 0o7777))
            .unwrap_or_else(|e| format!("missing ({e})"))
    };
    vec![
        format!("nice: {}", field(19)),
        format!("rt_priority: {}", field(40)),
        format!("policy: {policy}"),
        format!("memory locked: {}", locked_kb > 0),
        format!("Cpus_allowed_list: {}", status_line("Cpus_allowed_list:")),
        format!("rttime: {rttime}"),
        format!("Umask: {}", status_line("Umask:")),
        format!("notify FIFO mode: {fifo_mode}"),
    ]
}

/// Runs `global` (lines of global_defs) under keepalived and then vrrpd; what each showed.
fn both(lab: &netlab::Lab, global: &str) -> [Vec<String>; 2] {
    let a = lab.host(0);
    let mut seen = Vec::new();
    for keepalived in [true, false] {
        let tag = if keepalived { "k" } else { "v" };
        let dir = node_dir(lab, tag);
        let fifo = dir.join("vrrp.fifo");
        let _ = std::fs::remove_file(&fifo);
        let text = Node::v3(150, "1").conf().replace(
            "    vrrp_garp_master_delay 0\n",
            &format!(
                "    vrrp_garp_master_delay 0\n    vrrp_notify_fifo {}\n{global}",
                fifo.display()
            ),
        );
        let mut p = start_daemon(lab, a, tag, &text, keepalived);
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        let got = observed(vrrp_pid(lab, tag, keepalived), &fifo);
        eprintln!("{tag}: {got:#?}");
        seen.push(got);
        p.signal(Signal::SIGTERM).unwrap();
        p.wait_exit(WAIT).unwrap();
    }
    [seen.remove(0), seen.remove(0)]
}

/// The highest CPU number this host has.
fn last_cpu() -> u32 {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap();
    text.trim()
        .rsplit([',', '-'])
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn vrrp_process_scheduling_memory_cpus_and_umask_match_keepalived() {
    let Some(lab) =
        keepalived_lab("vrrp_process_scheduling_memory_cpus_and_umask_match_keepalived")
    else {
        return;
    };
    let cpu = last_cpu();
    // Not realtime: nice applies, RLIMIT_RTTIME stays unlimited although configured.
    let [k, v] = both(
        &lab,
        &format!(
            "    vrrp_priority -5\n    vrrp_no_swap\n    vrrp_cpu_affinity {cpu}\n    \
             vrrp_rlimit_rttime 200000\n    umask IWGRP|IWOTH | IROTH\n"
        ),
    );
    assert!(k.contains(&"nice: -5".to_string()), "{k:?}");
    assert!(k.contains(&"memory locked: true".to_string()), "{k:?}");
    assert!(k.contains(&format!("Cpus_allowed_list: {cpu}")), "{k:?}");
    assert!(k.contains(&"Umask: 0026".to_string()), "{k:?}");
    assert_eq!(v, k, "vrrpd's process differs from keepalived's");
    // Realtime: SCHED_RR reset on fork at the priority, nice left at 0, RLIMIT_RTTIME soft
    // half of the configured hard limit (2 s: a debug build must not hit it at start).
    let [k, v] = both(
        &lab,
        "    vrrp_rt_priority 30\n    vrrp_priority -5\n    vrrp_rlimit_rtime 2000000\n    umask 0x12\n",
    );
    assert!(k.contains(&"rt_priority: 30".to_string()), "{k:?}");
    assert!(
        k.contains(&"policy: SCHED_RR|SCHED_RESET_ON_FORK".to_string()),
        "{k:?}"
    );
    assert!(k.contains(&"nice: 0".to_string()), "{k:?}");
    assert!(
        k.contains(&"rttime: Max realtime timeout 1000000 2000000 us".to_string()),
        "{k:?}"
    );
    assert!(k.contains(&"Umask: 0022".to_string()), "{k:?}");
    assert_eq!(v, k, "vrrpd's process differs from keepalived's");
}

#[test]
fn a_reload_that_changes_the_process_settings_says_they_wait_for_the_next_start() {
    let test = "a_reload_that_changes_the_process_settings_says_they_wait_for_the_next_start";
    if !netlab::require_root_or_skip(test) {
        return;
    }
    let lab = netlab::Lab::new(1).unwrap();
    let a = lab.host(0);
    let with = |nice: i32| {
        Node::v3(150, "1").conf().replace(
            "    vrrp_garp_master_delay 0\n",
            &format!("    vrrp_garp_master_delay 0\n    vrrp_priority {nice}\n"),
        )
    };
    let mut p = start_vrrpd(&lab, a, "v", &with(-5), &[]);
    p.wait_for_line(MASTER_LINE, WAIT).unwrap();
    let pid = vrrp_pid(&lab, "v", false);
    let fifo = node_dir(&lab, "v").join("none.fifo");
    assert!(observed(pid, &fifo).contains(&"nice: -5".to_string()));
    write_conf(&lab, "v", &with(5));
    p.signal(Signal::SIGHUP).unwrap();
    p.wait_for_line("the VRRP process settings changed", WAIT)
        .unwrap();
    p.wait_for_line("configuration reloaded", WAIT).unwrap();
    assert!(
        observed(pid, &fifo).contains(&"nice: -5".to_string()),
        "the running process keeps the settings it started with"
    );
    p.signal(Signal::SIGTERM).unwrap();
    p.wait_exit(WAIT).unwrap();
}
