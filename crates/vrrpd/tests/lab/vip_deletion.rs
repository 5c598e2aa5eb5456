//! A VIP deleted behind the daemon's back (`ip addr del` while MASTER), side by side with
//! keepalived 2.2.7 on the same files: node A (priority 150) and node B (100), both of one
//! daemon. keepalived's MASTER, on a tracked VIP or excluded VIP deleted, enters BACKUP, sends
//! a priority-0 advert, removes its addresses, and takes over again after its own Skew_Time,
//! before B's (longer) one runs out: the VIP is back on A and B never leaves BACKUP. A VIP
//! marked `no_track` is not watched: it stays deleted and nothing happens.

use std::time::{Duration, Instant};

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
