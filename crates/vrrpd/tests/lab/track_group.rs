//! Static state and `track_group`, side by side with keepalived 2.2.7 on the same file. Each
//! daemon runs alone on its lab host with veth pairs of its own (eth1, eth2; eth3 a fence).
//! A deleted static address, route or rule is added back at once, with or without a group.
//! Deleting an interface's last address makes the kernel drop the routes through it without a
//! word, and neither daemon puts them back then. An interface going down puts in FAULT the
//! instances of a group named by a static address, route or rule on it, and they come back
//! when it is up again, with its static addresses and routes restored.

use crate::vrrp_lab::{WAIT, keepalived_lab, start_keepalived, start_vrrpd};
use netlab::{Host, Proc};
use std::time::Duration;

const FAULT: &str = "Entering FAULT STATE";
const MASTER: &str = "Entering MASTER STATE";
/// How long a deleted entry may take to come back (both daemons take milliseconds).
const RESTORE: Duration = Duration::from_secs(5);

fn conf(vrid: u8) -> String {
    let inst = |name: &str, vrid: u8, vip: &str, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n\
             priority 150\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {{\n        {vip}\n    }}\n{extra}}}\n"
        )
    };
    format!(
        "global_defs {{\n    router_id lab\n    vrrp_garp_master_delay 0\n}}\n\
         track_group TG1 {{\n    group {{\n        VI_1\n    }}\n}}\n\
         track_group TG2 {{\n    group {{\n        VI_2\n    }}\n}}\n\
         static_ipaddress {{\n    198.18.5.1/24 dev eth1 track_group TG1\n\
         198.18.6.1/24 dev eth2 track_group TG2\n}}\n\
         static_routes {{\n    198.18.7.0/24 via 198.18.5.254 dev eth1 track_group TG1\n\
         198.18.8.0/24 via 198.18.6.254 dev eth2\n}}\n\
         static_rules {{\n    from 198.18.5.0/24 iif eth1 table 100 priority 100 track_group TG1\n\
         from 198.18.6.0/24 iif eth2 table 100 priority 101\n}}\n{}{}",
        inst("VI_1", vrid, "198.18.0.100/24", ""),
        inst(
            "VI_2",
            vrid + 1,
            "198.18.0.101/24",
            "    track_interface {\n        eth3 weight -1\n    }\n"
        ),
    )
}

fn ip(h: &Host, args: &str) {
    let argv: Vec<&str> = std::iter::once("ip").chain(args.split(' ')).collect();
    let out = h.run(&argv).expect("ip");
    assert!(out.status.success(), "ip {args}: {out:?}");
}

fn ip_out(h: &Host, args: &str) -> String {
    let argv: Vec<&str> = std::iter::once("ip").chain(args.split(' ')).collect();
    String::from_utf8_lossy(&h.run(&argv).expect("ip").stdout).into_owned()
}

/// eth1..eth3 on `h`: veth pairs inside the host's namespace, up, without addresses.
fn add_links(h: &Host) {
    for n in 1..=3 {
        ip(h, &format!("link add eth{n} type veth peer name eth{n}p"));
        ip(h, &format!("link set eth{n}p up"));
        ip(h, &format!("link set eth{n} up"));
    }
}

/// The static addresses, routes and rules present on `h`, one sorted line each.
fn statics(h: &Host) -> Vec<String> {
    let mut out = Vec::new();
    for l in ip_out(h, "-o -4 addr show").lines() {
        if l.contains("198.18.5.") || l.contains("198.18.6.") {
            let w: Vec<&str> = l.split_whitespace().collect();
            out.push(format!("addr {} {}", w[1], w[3]));
        }
    }
    for l in ip_out(h, "route show").lines() {
        if l.starts_with("198.18.7.") || l.starts_with("198.18.8.") {
            out.push(format!("route {}", l.trim()));
        }
    }
    for l in ip_out(h, "rule").lines() {
        if l.starts_with("100:") || l.starts_with("101:") {
            out.push(format!("rule {}", l.trim()));
        }
    }
    out.sort();
    out
}

/// Waits (bounded) until `h`'s static state is `want` again; whether it came back.
fn restored(h: &Host, want: &[String]) -> bool {
    test_support::wait::poll(RESTORE, || (statics(h) == want).then_some(())).is_some()
}

/// Waits (bounded) until the entry whose line starts with `entry` is back; whether it came
/// back, and which lines of `want` are missing then.
fn entry_back(h: &Host, entry: &str, want: &[String]) -> (bool, Vec<String>) {
    let back = test_support::wait::poll(RESTORE, || {
        statics(h)
            .iter()
            .any(|l| l.starts_with(entry))
            .then_some(())
    })
    .is_some();
    let now = statics(h);
    let missing = want.iter().filter(|l| !now.contains(l)).cloned().collect();
    (back, missing)
}

/// How many FAULT lines each instance has in the daemon's output.
fn faults(p: &Proc) -> [usize; 2] {
    let out = p.output();
    ["(VI_1)", "(VI_2)"].map(|i| {
        out.lines()
            .filter(|l| l.contains(FAULT) && l.contains(i))
            .count()
    })
}

/// The instances with more FAULT lines than `before`.
fn faulted_since(p: &Proc, before: [usize; 2]) -> Vec<&'static str> {
    let now = faults(p);
    ["VI_1", "VI_2"]
        .into_iter()
        .zip(now.iter().zip(before))
        .filter(|(_, (n, b))| **n > *b)
        .map(|(i, _)| i)
        .collect()
}

/// The log line each daemon writes when it sees the fence interface eth3 change.
fn fence_line(up: bool) -> &'static str {
    if up {
        "link state interface=eth3 up=true|Netlink reports eth3 up"
    } else {
        "link state interface=eth3 up=false|Netlink reports eth3 down"
    }
}

/// Waits until both instances are MASTER; the static state then (all six entries).
fn started(h: &Host, p: &Proc) -> Vec<String> {
    p.wait_for_nth_line(MASTER, 2, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    let want = statics(h);
    assert_eq!(want.len(), 6, "static state at start: {want:#?}");
    want
}

/// Deletes each static entry in turn: whether it came back, and what else was missing then.
fn deletions(h: &Host, p: &Proc) -> Vec<String> {
    let want = started(h, p);
    let mut seen = Vec::new();
    // Routes and rules first: deleting an interface's last address makes the kernel drop
    // the routes through it, without telling anyone.
    for (del, entry) in [
        ("route del 198.18.8.0/24", "route 198.18.8.0/24"),
        ("route del 198.18.7.0/24", "route 198.18.7.0/24"),
        ("rule del pref 101", "rule 101:"),
        ("rule del pref 100", "rule 100:"),
        ("addr del 198.18.6.1/24 dev eth2", "addr eth2 198.18.6.1/24"),
        ("addr del 198.18.5.1/24 dev eth1", "addr eth1 198.18.5.1/24"),
    ] {
        ip(h, del);
        let (back, missing) = entry_back(h, entry, &want);
        seen.push(format!("{del}: back {back}, missing {missing:?}"));
    }
    seen.push(format!("faulted: {:?}", faulted_since(p, [0, 0])));
    seen
}

/// Takes eth2, then eth1, down and up again: which instances faulted, whether they were
/// MASTER again, and whether the static state was all back.
fn link_cycles(h: &Host, p: &Proc) -> Vec<String> {
    let fail = |e: anyhow::Error| -> String { panic!("{e}\n{}", p.output()) };
    let want = started(h, p);
    let mut seen = Vec::new();
    for ifname in ["eth2", "eth1"] {
        let masters = p.output().matches(MASTER).count();
        let before = faults(p);
        ip(h, &format!("link set {ifname} down"));
        // Both daemons read link events in order and write a FAULT line before reading the
        // next: once the fence's line is there, any FAULT that `ifname` caused is too.
        ip(h, "link set eth3 down");
        p.wait_for_line(fence_line(false), WAIT)
            .unwrap_or_else(fail);
        let down = faulted_since(p, before);
        ip(h, "link set eth3 up");
        p.wait_for_line(fence_line(true), WAIT).unwrap_or_else(fail);
        ip(h, &format!("link set {ifname} up"));
        let back = down.is_empty()
            || p.wait_for_nth_line(MASTER, masters + down.len(), WAIT)
                .is_ok();
        seen.push(format!(
            "{ifname} down: faulted {down:?}; up: MASTER again {back}, restored {}",
            restored(h, &want)
        ));
    }
    seen
}

/// Runs `observe` under keepalived (lab host 1) and vrrpd (host 0) on the same file, each
/// with VRIDs of its own: (keepalived's lines, vrrpd's lines, vrrpd's output).
fn side_by_side(test: &str, observe: fn(&Host, &Proc) -> Vec<String>) -> Option<[String; 3]> {
    let lab = keepalived_lab(test)?;
    let (a, b) = (lab.host(0), lab.host(1));
    add_links(a);
    add_links(b);
    let vrrpd = start_vrrpd(&lab, a, "a", &conf(61), &[]);
    let keepalived = start_keepalived(&lab, b, "b", &conf(51));
    let theirs = observe(b, &keepalived);
    eprintln!("keepalived 2.2.7:\n{}", keepalived.output());
    let ours = observe(a, &vrrpd);
    eprintln!("vrrpd:\n{}", vrrpd.output());
    Some([theirs.join("\n"), ours.join("\n"), vrrpd.output()])
}

#[test]
fn deleted_static_state_comes_back_like_keepalived() {
    let Some([theirs, ours, _]) =
        side_by_side("deleted_static_state_comes_back_like_keepalived", deletions)
    else {
        return;
    };
    let route = |n: u8, gw: u8, dev: u8| {
        format!("route 198.18.{n}.0/24 via 198.18.{gw}.254 dev eth{dev} proto keepalived")
    };
    let want = [
        "route del 198.18.8.0/24: back true, missing []".to_string(),
        "route del 198.18.7.0/24: back true, missing []".to_string(),
        "rule del pref 101: back true, missing []".to_string(),
        "rule del pref 100: back true, missing []".to_string(),
        format!(
            "addr del 198.18.6.1/24 dev eth2: back true, missing [{:?}]",
            route(8, 6, 2)
        ),
        format!(
            "addr del 198.18.5.1/24 dev eth1: back true, missing [{:?}, {:?}]",
            route(7, 5, 1),
            route(8, 6, 2)
        ),
        "faulted: []".to_string(),
    ]
    .join("\n");
    assert_eq!(theirs, want, "keepalived 2.2.7");
    assert_eq!(ours, want, "vrrpd");
}

#[test]
fn an_interface_of_track_group_statics_going_down_faults_the_group_like_keepalived() {
    let Some([theirs, ours, out]) = side_by_side(
        "an_interface_of_track_group_statics_going_down_faults_the_group_like_keepalived",
        link_cycles,
    ) else {
        return;
    };
    let want = "eth2 down: faulted [\"VI_2\"]; up: MASTER again true, restored true\n\
                eth1 down: faulted [\"VI_1\"]; up: MASTER again true, restored true";
    assert_eq!(theirs, want, "keepalived 2.2.7");
    assert_eq!(ours, want, "vrrpd");
    // vrrpd names the interface in the transition's reason.
    let line = out
        .lines()
        .find(|l| l.contains(FAULT) && l.contains("(VI_1)"))
        .expect("VI_1's FAULT line");
    assert!(
        line.contains("eth1"),
        "reason without the interface: {line}"
    );
}
