//! Static and boot-time state side by side with Debian's keepalived 2.2.7 on the same file:
//! `static_ipaddress` / `static_routes` / `static_rules`, VIP options (`peer`, `noprefixroute`,
//! `nodad`, `mngtmpaddr`, `home`, `preferred_lft`, `autojoin`), `virtual_routes` with `default` and multipath `nexthop`,
//! `startup_script` / `shutdown_script`. While MASTER, `ip addr` / `ip route` / `ip rule`
//! are the same under both daemons; after a clean stop vrrpd leaves the host as it found it,
//! and keepalived leaves exactly its `peer` addresses behind (it deletes them without the
//! peer, which the kernel needs to find them).

use crate::vrrp_lab::*;
use netlab::{Host, Lab, Proc};
use nix::sys::signal::Signal;

fn conf(dir: &str) -> String {
    format!(
        "global_defs {{\n    router_id lab\n    vrrp_garp_master_delay 0\n\
         startup_script \"{dir}/s.sh start\"\n    shutdown_script \"{dir}/s.sh stop\"\n\
         startup_script_timeout 5\n}}\n\
         static_ipaddress {{\n    198.18.5.1/24 dev eth0\n\
         198.18.6.1/32 dev eth0 peer 198.18.6.2 noprefixroute\n}}\n\
         static_routes {{\n    198.18.7.0/24 via 198.18.5.254 dev eth0\n\
         default via 198.18.5.253 table 100\n}}\n\
         static_rules {{\n    from 198.18.5.0/24 table 100 priority 100\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n\
         priority 150\n    advert_int 1\n    virtual_ipaddress {{\n        198.18.0.100/24\n\
         198.18.0.101/32 peer 198.18.0.102 noprefixroute\n    }}\n\
         virtual_ipaddress_excluded {{\n        2001:2::101/64 preferred_lft 0 home\n\
         2001:2::102/64 nodad mngtmpaddr\n        239.255.0.103/32 autojoin\n    }}\n\
         virtual_routes {{\n        default via 198.18.0.254 table 101\n\
         198.18.9.0/24 nexthop via 198.18.0.250 weight 1 nexthop via 198.18.0.251 weight 2\n\
         }}\n}}\n"
    )
}

/// The host's addresses, routes and rules, one sorted line each (address order and the
/// kernel's lifetimes counters do not matter; flags, peers and protocols do).
fn snapshot(h: &Host) -> Vec<String> {
    let mut lines = Vec::new();
    let run = |argv: &[&str]| -> String {
        let out = h.run(argv).unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for l in run(&["ip", "-o", "addr", "show", "dev", "eth0"]).lines() {
        if l.contains(" fe80:") {
            continue;
        }
        // The first field is the interface index.
        let l = l.split_once(' ').map(|x| x.1).unwrap_or(l);
        lines.push(format!(
            "addr {}",
            l.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    // Multicast groups the interface joined (`autojoin` addresses).
    for l in run(&["ip", "maddr", "show", "dev", "eth0"]).lines() {
        if let Some(group) = l.trim().strip_prefix("inet ") {
            lines.push(format!("maddr {}", group.trim()));
        }
    }
    let routes = run(&["ip", "route", "show", "table", "all"]);
    let mut current = String::new();
    for l in routes.lines() {
        if l.starts_with(char::is_whitespace) {
            current.push(' ');
            current.push_str(l.trim());
            continue;
        }
        lines.push(std::mem::take(&mut current));
        current = format!("route {}", l.trim());
    }
    lines.push(current);
    for l in run(&["ip", "rule"]).lines() {
        lines.push(format!("rule {}", l.trim()));
    }
    for l in run(&["ip", "-6", "rule"]).lines() {
        lines.push(format!("rule6 {}", l.trim()));
    }
    lines.retain(|l| {
        !l.is_empty()
            && !l.starts_with("route local ")
            && !l.starts_with("route broadcast ")
            && !l.starts_with("route multicast ")
            && !l.contains("fe80::")
    });
    lines.sort();
    lines
}

/// Runs one daemon on the lab's first host: (before, while MASTER, after stop, script log).
fn scenario(keepalived: bool) -> (Vec<String>, Vec<String>, Vec<String>, String) {
    let lab = Lab::new(2).unwrap();
    let a = lab.host(0);
    let dir = node_dir(&lab, "a");
    let seen = if keepalived {
        "/var/tmp".to_string()
    } else {
        dir.display().to_string()
    };
    let script = dir.join("s.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$1\" >> {seen}/s.log\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = snapshot(a);
    let mut p: Proc = start_daemon(&lab, a, "a", &conf(&seen), keepalived);
    p.wait_for_line(MASTER_LINE, WAIT).unwrap();
    a.wait_for_address(ip(VIP4), true, WAIT).unwrap();
    // The routes follow the VIPs in the same netlink burst; wait for the last of them.
    let deadline = std::time::Instant::now() + WAIT;
    let master = loop {
        let s = snapshot(a);
        if s.iter().any(|l| l.contains("198.18.9.0/24"))
            && s.iter().any(|l| l.contains("table 101"))
        {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "virtual routes missing: {s:#?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    p.signal(Signal::SIGTERM).unwrap();
    p.wait_exit(WAIT).unwrap();
    let after = snapshot(a);
    let log = std::fs::read_to_string(dir.join("s.log")).unwrap_or_default();
    eprintln!("--- output:\n{}", p.output());
    (before, master, after, log)
}

#[test]
fn static_state_vip_options_and_routes_match_keepalived() {
    let Some(probe) = keepalived_lab("static_state_vip_options_and_routes_match_keepalived") else {
        return;
    };
    drop(probe);
    let theirs = scenario(true);
    let ours = scenario(false);
    eprintln!("keepalived MASTER:\n{}", theirs.1.join("\n"));
    eprintln!("vrrpd MASTER:\n{}", ours.1.join("\n"));
    assert_eq!(ours.0, theirs.0, "the two labs differ before start");
    assert_eq!(ours.1, theirs.1, "state while MASTER differs");
    assert!(
        ours.1.iter().any(|l| l == "maddr 239.255.0.103"),
        "the autojoin address's group was not joined"
    );
    assert_eq!(ours.2, ours.0, "vrrpd left state behind");
    let leftover: Vec<&String> = theirs.2.iter().filter(|l| !theirs.0.contains(l)).collect();
    assert!(
        leftover.len() == 2 && leftover.iter().all(|l| l.contains(" peer ")),
        "keepalived's leftovers changed: {leftover:#?}"
    );
    assert_eq!(theirs.3, "start\nstop\n");
    assert_eq!(ours.3, theirs.3, "startup/shutdown scripts");
}

/// `vrrp_startup_delay 2`: alone on the segment, the instance becomes MASTER no earlier than
/// the delay plus the master-down interval (3 adverts of 1 s) after the daemon started, under
/// both daemons (a lower bound, which a loaded machine cannot break). keepalived reports
/// BACKUP at once and holds its down timer back; vrrpd starts the instance after the delay.
#[test]
fn startup_delay_holds_the_instances_back_like_keepalived() {
    let Some(lab) = keepalived_lab("startup_delay_holds_the_instances_back_like_keepalived") else {
        return;
    };
    let a = lab.host(0);
    let mut node = Node::v3(150, "1");
    node.auth_pass = None;
    let text = node.conf().replace(
        "global_defs {\n",
        "global_defs {\n    vrrp_startup_delay 2\n",
    );
    for keepalived in [true, false] {
        let tag = if keepalived { "k" } else { "v" };
        let started = std::time::Instant::now();
        let mut p = start_daemon(&lab, a, tag, &text, keepalived);
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        let waited = started.elapsed();
        eprintln!("{tag}: MASTER {waited:?} after start");
        assert!(
            waited >= std::time::Duration::from_secs(5),
            "{tag}: MASTER after {waited:?}\n{}",
            p.output()
        );
        p.signal(Signal::SIGTERM).unwrap();
        p.wait_exit(WAIT).unwrap();
    }
}

/// A `static_ipaddress` line without `dev` goes on `default_interface` (keepalived's default
/// `eth0` without it), under both daemons.
#[test]
fn static_addresses_without_dev_go_on_the_default_interface_like_keepalived() {
    let Some(lab) =
        keepalived_lab("static_addresses_without_dev_go_on_the_default_interface_like_keepalived")
    else {
        return;
    };
    let a = lab.host(0);
    a.run(&[
        "ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
    ])
    .unwrap();
    a.run(&["ip", "link", "set", "eth1", "up"]).unwrap();
    let text = "global_defs {\n    default_interface eth1\n}\n\
         static_ipaddress {\n    198.18.5.1/24\n}\n\
         vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n\
         priority 150\n    advert_int 1\n    virtual_ipaddress {\n        198.18.0.100/24\n    }\n}\n";
    for keepalived in [true, false] {
        let tag = if keepalived { "k" } else { "v" };
        let mut p = start_daemon(&lab, a, tag, text, keepalived);
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        let out = a.run(&["ip", "-o", "addr", "show", "dev", "eth1"]).unwrap();
        let addrs = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            addrs.contains("inet 198.18.5.1/24"),
            "{tag}: not on eth1: {addrs}\n{}",
            p.output()
        );
        p.signal(Signal::SIGTERM).unwrap();
        p.wait_exit(WAIT).unwrap();
        // keepalived leaves static addresses in place at stop; start the next daemon clean.
        a.run(&["ip", "addr", "flush", "dev", "eth1"]).unwrap();
    }
}
