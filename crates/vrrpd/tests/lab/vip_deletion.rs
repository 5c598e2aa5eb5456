//! A VIP deleted behind the daemon's back (`ip addr del` while MASTER), side by side with
//! keepalived 2.2.7 on the same files: node A (priority 150) and node B (100), both of one
//! daemon. keepalived's MASTER, on a tracked VIP or excluded VIP deleted, enters BACKUP, sends
//! a priority-0 advert, removes its addresses, and takes over again after its own Skew_Time,
//! before B's (longer) one runs out: the VIP is back on A and B never leaves BACKUP. A VIP
//! marked `no_track` is not watched: it stays deleted and nothing happens.
//!
//! In a sync group (G = {VI_1, VI_2}, both MASTER on A), VI_1's VIP deleted: keepalived
//! moves the whole group. Both members enter BACKUP and each sends its own priority-0
//! advert; both take over again after their Skew_Time (VI_1 first), so B never takes over.
//! The notify scripts and the notify FIFO see each member's BACKUP and MASTER and the
//! group's MASTER, but no `GROUP G BACKUP`.

use std::time::{Duration, Instant};

use crate::notify_fifo::FifoTap;
use crate::vrrp_lab::*;
use netlab::{Capture, Host, Lab, Proc};
use vrrp::Version;
use vrrp::timers::skew_time;

const TRACKED: &str = "198.18.0.100";
const UNTRACKED: &str = "198.18.0.101";
const EXCLUDED: &str = "198.18.0.102";
const ADVERT_INT: Duration = Duration::from_secs(1);

fn node(priority: u8, log: &str) -> Node {
    let mut n = Node::v3(priority, "1");
    n.vips = vec![format!("{TRACKED}/24"), format!("{UNTRACKED}/24 no_track")];
    n.extra_instance = format!(
        "    virtual_ipaddress_excluded {{\n        {EXCLUDED}/24\n    }}\n\
         notify \"/bin/sh -c 'echo $2 >> {log}'\"\n"
    );
    n
}

fn ip_cmd(h: &Host, args: &str) {
    let argv: Vec<&str> = std::iter::once("ip").chain(args.split(' ')).collect();
    let out = h.run(&argv).expect("ip");
    assert!(out.status.success(), "ip {args}: {out:?}");
}

/// tcpdump's `HH:MM:SS.micros` of a packet line, in seconds of the day.
fn stamp(line: &str) -> f64 {
    let t = line.split_whitespace().next().unwrap_or_default();
    t.split(':')
        .map(|x| x.parse::<f64>().unwrap_or(0.0))
        .fold(0.0, |acc, x| acc * 60.0 + x)
}

/// The advertised priorities captured after line `mark`, each with its time (tcpdump's -vv
/// puts the header, with the time, on the line before the VRRP one).
fn adverts_after(cap: &Capture, mark: usize) -> Vec<(f64, u8)> {
    let text = cap.text();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for k in mark.max(1)..lines.len() {
        if let Some(rest) = lines[k].split("prio ").nth(1) {
            let prio = rest.split(',').next().unwrap_or_default().parse().unwrap();
            out.push((stamp(lines[k - 1]), prio));
        }
    }
    out
}

/// What one deletion did on A, as both daemons are compared.
#[derive(Debug, PartialEq)]
struct Seen {
    /// The address is on A again.
    back: bool,
    /// A priority-0 advert followed the deletion.
    prio0: bool,
    /// A's transitions since the deletion.
    transitions: Vec<String>,
}

fn transitions_since(p: &Proc, before: usize) -> Vec<String> {
    p.output()
        .lines()
        .filter_map(|l| l.split_once("Entering ").map(|(_, s)| s.to_string()))
        .map(|s| s.split(" STATE").next().unwrap_or_default().to_string())
        .skip(before)
        .collect()
}

fn count_transitions(p: &Proc) -> usize {
    p.output().matches("Entering ").count()
}

/// Deletes `vip` (watched) from A; returns what happened and the time from the priority-0
/// advert to A's first advert as MASTER again, from the capture's timestamps.
fn delete_watched(a: &Host, pa: &Proc, cap: &Capture, vip: &str) -> (Seen, Duration, Duration) {
    let mark = cap.text().lines().count();
    let before = count_transitions(pa);
    let t0 = Instant::now();
    ip_cmd(a, &format!("addr del {vip}/24 dev eth0"));
    let back = a.wait_for_address(ip(vip), true, WAIT).is_ok();
    let wall = t0.elapsed();
    // The next advert as MASTER: everything the deletion caused was captured before it.
    cap.wait_for("prio 150", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", pa.output()));
    let adverts = adverts_after(cap, mark);
    let zero = adverts.iter().position(|&(_, p)| p == 0);
    let gap = zero
        .and_then(|z| {
            let next = adverts[z..].iter().find(|&&(_, p)| p == 150)?;
            Some(Duration::from_secs_f64(next.0 - adverts[z].0))
        })
        .unwrap_or(Duration::MAX);
    let seen = Seen {
        back,
        prio0: zero.is_some(),
        transitions: transitions_since(pa, before),
    };
    (seen, gap, wall)
}

/// Deletes the `no_track` VIP; the fence is two more adverts of A as MASTER (more than one
/// interval, well past the Skew_Time a hand-over would take).
fn delete_untracked(a: &Host, pa: &Proc, cap: &Capture) -> Seen {
    let mark = cap.text().lines().count();
    let before = count_transitions(pa);
    ip_cmd(a, &format!("addr del {UNTRACKED}/24 dev eth0"));
    let deadline = Instant::now() + WAIT;
    while adverts_after(cap, mark)
        .iter()
        .filter(|a| a.1 == 150)
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "A stopped advertising");
        cap.wait_for("prio", WAIT).unwrap();
    }
    Seen {
        back: a.has_address(ip(UNTRACKED)).unwrap(),
        prio0: adverts_after(cap, mark).iter().any(|a| a.1 == 0),
        transitions: transitions_since(pa, before),
    }
}

struct Run {
    tracked: Seen,
    excluded: Seen,
    untracked: Seen,
    gaps: [Duration; 2],
    walls: [Duration; 2],
    notify: Vec<String>,
}

fn scenario(keepalived: bool) -> Run {
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let seen = |tag: &str| {
        if keepalived {
            "/var/tmp/notify.log".to_string()
        } else {
            node_dir(&lab, tag).join("notify.log").display().to_string()
        }
    };
    let cap = a.capture("vrrp").expect("capture");
    let mut pa = start_daemon(&lab, a, "a", &node(150, &seen("a")).conf(), keepalived);
    let mut pb = start_daemon(&lab, b, "b", &node(100, &seen("b")).conf(), keepalived);
    pa.wait_for_line(MASTER_LINE, WAIT).unwrap();
    a.wait_for_address(ip(TRACKED), true, WAIT).unwrap();
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    cap.wait_for("prio 150", WAIT).unwrap();

    let (tracked, g1, w1) = delete_watched(a, &pa, &cap, TRACKED);
    let (excluded, g2, w2) = delete_watched(a, &pa, &cap, EXCLUDED);
    let untracked = delete_untracked(a, &pa, &cap);
    eprintln!(
        "--- {} A:\n{}\n--- B:\n{}",
        if keepalived { "keepalived" } else { "vrrpd" },
        pa.output(),
        pb.output()
    );
    assert!(
        !pb.output().contains(MASTER_LINE),
        "B took over:\n{}",
        pb.output()
    );
    // Notify scripts run asynchronously: wait for the six transitions' lines.
    let file = node_dir(&lab, "a").join("notify.log");
    let notify = test_support::wait_until(WAIT, "A's notify lines", || {
        let t = std::fs::read_to_string(&file).unwrap_or_default();
        let l: Vec<String> = t.lines().map(str::to_string).collect();
        (l.len() >= 6).then_some(l)
    });
    for p in [&mut pa, &mut pb] {
        p.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
        p.wait_exit(WAIT).unwrap();
    }
    Run {
        tracked,
        excluded,
        untracked,
        gaps: [g1, g2],
        walls: [w1, w2],
        notify,
    }
}

#[test]
fn a_deleted_tracked_vip_makes_the_master_hand_over_and_take_it_back_like_keepalived() {
    let Some(probe) = keepalived_lab(
        "a_deleted_tracked_vip_makes_the_master_hand_over_and_take_it_back_like_keepalived",
    ) else {
        return;
    };
    drop(probe);
    let theirs = scenario(true);
    let ours = scenario(false);
    // A takes over again after its own Skew_Time, before B's would run out.
    let (own, peer) = (
        skew_time(Version::V3, 150, ADVERT_INT),
        skew_time(Version::V3, 100, ADVERT_INT),
    );
    for (who, r) in [("keepalived 2.2.7", &theirs), ("vrrpd", &ours)] {
        eprintln!(
            "{who}: priority 0 -> MASTER advert {:?}, deletion -> VIP back {:?}",
            r.gaps, r.walls
        );
        let watched = Seen {
            back: true,
            prio0: true,
            transitions: vec!["BACKUP".into(), "MASTER".into()],
        };
        assert_eq!(r.tracked, watched, "{who}: tracked VIP");
        assert_eq!(r.excluded, watched, "{who}: excluded VIP");
        let ignored = Seen {
            back: false,
            prio0: false,
            transitions: Vec::new(),
        };
        assert_eq!(r.untracked, ignored, "{who}: no_track VIP");
        for g in r.gaps {
            assert!(
                own <= g + Duration::from_millis(1) && g < peer,
                "{who}: retaken after {g:?}, not within [{own:?}, {peer:?})"
            );
        }
    }
    assert_eq!(ours.notify, theirs.notify, "notify sequence of A");
}

// A sync group's member: node A holds G = {VI_1, VI_2} as MASTER (priority 150), B backs both
// up (100); VI_1's VIP is deleted on A.

const GROUP_VIPS: [(&str, u8); 2] = [(TRACKED, 51), ("198.18.0.110", 52)];

/// `log` is the notify scripts' file, `dir` the node dir (with the notify FIFO), both as the
/// daemon sees them.
fn group_conf(priority: u8, log: &str, dir: &str) -> String {
    let notify = format!("    notify \"/bin/sh -c 'echo $0 $1 $2 >> {log}'\"\n");
    let mut s = format!(
        "global_defs {{\n    router_id lab\n    vrrp_garp_master_delay 0\n\
         \x20   vrrp_notify_fifo {dir}/notify.fifo\n}}\n\
         vrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n{notify}}}\n"
    );
    for (k, (vip, vrid)) in GROUP_VIPS.iter().enumerate() {
        s.push_str(&format!(
            "vrrp_instance VI_{n} {{\n    state BACKUP\n    interface eth0\n\
             \x20   virtual_router_id {vrid}\n    priority {priority}\n    advert_int 1\n\
             \x20   version 3\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n{notify}}}\n",
            n = k + 1
        ));
    }
    s
}

/// The adverts captured after line `mark`: (time, vrid, priority).
fn group_adverts_after(cap: &Capture, mark: usize) -> Vec<(f64, u8, u8)> {
    let text = cap.text();
    let lines: Vec<&str> = text.lines().collect();
    let field = |l: &str, key: &str| -> Option<u8> {
        l.split(key).nth(1)?.split(',').next()?.trim().parse().ok()
    };
    (mark.max(1)..lines.len())
        .filter_map(|k| {
            let (vrid, prio) = (field(lines[k], "vrid ")?, field(lines[k], "prio ")?);
            Some((stamp(lines[k - 1]), vrid, prio))
        })
        .collect()
}

/// A's `(instance) Entering STATE` lines since the `before`-th, as "VI_1 BACKUP".
fn named_transitions_since(p: &Proc, before: usize) -> Vec<String> {
    p.output()
        .lines()
        .filter(|l| l.contains("Entering "))
        .skip(before)
        .filter_map(|l| {
            let name = l.split('(').nth(1)?.split(')').next()?;
            let state = l.split("Entering ").nth(1)?.split(' ').next()?;
            Some(format!("{name} {state}"))
        })
        .collect()
}

/// What the deletion of VI_1's VIP did on A, compared between the daemons.
#[derive(Debug, PartialEq)]
struct GroupSeen {
    /// Both members' VIPs are on A again.
    back: bool,
    /// The VRIDs that advertised priority 0 after the deletion.
    prio0: Vec<u8>,
    /// A's transitions since the deletion, in order.
    transitions: Vec<String>,
}

struct GroupRun {
    seen: GroupSeen,
    /// Per VRID: see [`group_retake`].
    gaps: Vec<(u8, Duration)>,
    notify: Vec<String>,
    /// A's `vrrp_notify_fifo` lines since the deletion, in order.
    fifo: Vec<String>,
}

/// After the deletion (capture line `mark`) and both VIPs back: waits for two more adverts
/// as MASTER of each member (everything the deletion caused was captured before them), then
/// returns each VRID's time from its priority-0 advert (or from VI_1's, for a member that
/// sent none) to its first advert as MASTER again, and the VRIDs that sent priority 0.
fn group_retake(cap: &Capture, mark: usize) -> (Vec<(u8, Duration)>, Vec<u8>) {
    let fence = group_adverts_after(cap, mark).len();
    let deadline = Instant::now() + WAIT;
    while GROUP_VIPS.iter().any(|&(_, vrid)| {
        let after = group_adverts_after(cap, mark);
        after[fence.min(after.len())..]
            .iter()
            .filter(|&&(_, v, p)| v == vrid && p == 150)
            .count()
            < 2
    }) {
        assert!(Instant::now() < deadline, "A stopped advertising");
        cap.wait_for("prio", WAIT).unwrap();
    }
    let adverts = group_adverts_after(cap, mark);
    let first_zero = adverts.iter().find(|a| a.1 == 51 && a.2 == 0).map(|a| a.0);
    let gaps: Vec<(u8, Duration)> = GROUP_VIPS
        .iter()
        .map(|&(_, vrid)| {
            let zero = adverts.iter().position(|a| a.1 == vrid && a.2 == 0);
            let from = zero.map(|z| adverts[z].0).or(first_zero).unwrap_or(0.0);
            let next = adverts
                .iter()
                .skip(zero.unwrap_or(0))
                .find(|a| a.1 == vrid && a.2 == 150 && a.0 > from);
            let gap = next.map_or(Duration::MAX, |n| Duration::from_secs_f64(n.0 - from));
            (vrid, gap)
        })
        .collect();
    let mut prio0: Vec<u8> = adverts.iter().filter(|a| a.2 == 0).map(|a| a.1).collect();
    prio0.dedup();
    (gaps, prio0)
}

fn group_scenario(keepalived: bool) -> GroupRun {
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let log = |tag: &str| {
        if keepalived {
            "/var/tmp/notify.log".to_string()
        } else {
            node_dir(&lab, tag).join("notify.log").display().to_string()
        }
    };
    let dir = |tag: &str| {
        if keepalived {
            "/var/tmp".to_string()
        } else {
            node_dir(&lab, tag).display().to_string()
        }
    };
    let mut fifo = FifoTap::create(&node_dir(&lab, "a").join("notify.fifo"));
    let _fifo_b = FifoTap::create(&node_dir(&lab, "b").join("notify.fifo"));
    let cap = a.capture("vrrp").expect("capture");
    let mut pa = start_daemon(
        &lab,
        a,
        "a",
        &group_conf(150, &log("a"), &dir("a")),
        keepalived,
    );
    let mut pb = start_daemon(
        &lab,
        b,
        "b",
        &group_conf(100, &log("b"), &dir("b")),
        keepalived,
    );
    for (vip, _) in GROUP_VIPS {
        a.wait_for_address(ip(vip), true, WAIT)
            .unwrap_or_else(|e| panic!("{e}\n{}", pa.output()));
    }
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    cap.wait_for("prio 150", WAIT).unwrap();
    let file = node_dir(&lab, "a").join("notify.log");
    // The start's notify lines (both members and the group MASTER) are in before the mark.
    test_support::wait_until(WAIT, "A's first notify lines", || {
        let t = std::fs::read_to_string(&file).unwrap_or_default();
        (t.lines().count() >= 6).then_some(())
    });
    let notified = std::fs::read_to_string(&file).unwrap().lines().count();
    fifo.wait_for_nth("GROUP \"G\" MASTER 0", 1);
    let fifo_before = fifo.lines().len();

    let mark = cap.text().lines().count();
    let before = pa.output().matches("Entering ").count();
    ip_cmd(a, &format!("addr del {TRACKED}/24 dev eth0"));
    let back = GROUP_VIPS
        .iter()
        .all(|(vip, _)| a.wait_for_address(ip(vip), true, WAIT).is_ok());
    let (gaps, prio0) = group_retake(&cap, mark);
    let transitions = named_transitions_since(&pa, before);
    eprintln!(
        "--- {} A:\n{}\n--- B:\n{}\n--- capture:\n{}",
        if keepalived { "keepalived" } else { "vrrpd" },
        pa.output(),
        pb.output(),
        cap.text().lines().skip(mark).collect::<Vec<_>>().join("\n")
    );
    assert!(
        !pb.output().contains(MASTER_LINE),
        "B took over:\n{}",
        pb.output()
    );
    // Notify scripts run asynchronously: one line per transition and the group's MASTER
    // again (keepalived 2.2.7 tells no group BACKUP here; one would show up as a mismatch).
    let want = notified + transitions.len() + 1;
    test_support::wait_until(WAIT, "A's notify lines", || {
        let t = std::fs::read_to_string(&file).unwrap_or_default();
        (t.lines().count() >= want).then_some(())
    });
    let notify = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .skip(notified)
        .map(str::to_string)
        .collect();
    // The FIFO keeps the daemon's order; the group's MASTER line is written last.
    fifo.wait_for_nth("GROUP \"G\" MASTER 0", 2);
    let fifo_lines = fifo.lines().split_off(fifo_before);
    for p in [&mut pa, &mut pb] {
        p.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
        p.wait_exit(WAIT).unwrap();
    }
    GroupRun {
        seen: GroupSeen {
            back,
            prio0,
            transitions,
        },
        gaps,
        notify,
        fifo: fifo_lines,
    }
}

#[test]
fn a_deleted_vip_of_a_sync_group_member_moves_the_whole_group_like_keepalived() {
    let Some(probe) = keepalived_lab(
        "a_deleted_vip_of_a_sync_group_member_moves_the_whole_group_like_keepalived",
    ) else {
        return;
    };
    drop(probe);
    let theirs = group_scenario(true);
    eprintln!(
        "keepalived 2.2.7: {:?} gaps {:?} notify {:?} fifo {:?}",
        theirs.seen, theirs.gaps, theirs.notify, theirs.fifo
    );
    let ours = group_scenario(false);
    eprintln!(
        "vrrpd: {:?} gaps {:?} notify {:?} fifo {:?}",
        ours.seen, ours.gaps, ours.notify, ours.fifo
    );
    let (own, peer) = (
        skew_time(Version::V3, 150, ADVERT_INT),
        skew_time(Version::V3, 100, ADVERT_INT),
    );
    for (who, r) in [("keepalived 2.2.7", &theirs), ("vrrpd", &ours)] {
        let expected = GroupSeen {
            back: true,
            prio0: vec![51, 52],
            transitions: ["VI_1 BACKUP", "VI_2 BACKUP", "VI_1 MASTER", "VI_2 MASTER"]
                .map(String::from)
                .to_vec(),
        };
        assert_eq!(r.seen, expected, "{who}");
        for &(vrid, g) in &r.gaps {
            assert!(
                own <= g + Duration::from_millis(1) && g < peer,
                "{who}: vrid {vrid} retaken after {g:?}, not within [{own:?}, {peer:?})"
            );
        }
    }
    // The scripts race each other (keepalived's own runs differ in the order of the group's
    // MASTER line and VI_2's): the lines are compared, not their order.
    let sorted = |l: &[String]| {
        let mut l = l.to_vec();
        l.sort();
        l
    };
    assert_eq!(
        sorted(&ours.notify),
        sorted(&theirs.notify),
        "notify lines of A"
    );
    assert_eq!(ours.fifo, theirs.fifo, "notify FIFO lines of A");
}
