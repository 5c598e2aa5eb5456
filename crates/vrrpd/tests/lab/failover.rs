//! Two vrrpd in the namespace lab: election, link failure and failback with GARP, SIGTERM
//! hand-over, SIGKILL leftovers, reload without flap; VRRPv2+PASS, VRRPv3, unicast, IPv6.

use std::time::Duration;

use crate::vrrp_lab::*;
use netlab::Lab;
use nix::sys::signal::Signal;

#[test]
fn v2_pass_election_link_cut_and_failback() {
    if !netlab::require_root_or_skip("v2_pass_election_link_cut_and_failback") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let vip = ip(VIP4);
    let pa = start_vrrpd(&lab, a, "a", &Node::v2_pass(150).conf(), &[]);
    let pb = start_vrrpd(&lab, b, "b", &Node::v2_pass(100).conf(), &[]);
    pa.wait_for_line(MASTER_LINE, WAIT).unwrap();
    a.wait_for_address(vip, true, WAIT).unwrap();
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    assert!(!b.has_address(vip).unwrap(), "backup must not hold the VIP");

    // Cut the master's link: the backup takes over and announces the VIP.
    let cap = b.capture("arp").unwrap();
    a.link_down().unwrap();
    b.wait_for_address(vip, true, WAIT).unwrap();
    cap.wait_for(
        r"Request who-has 198\.18\.0\.100 .*tell 198\.18\.0\.100",
        WAIT,
    )
    .unwrap();
    pa.wait_for_line(r"Entering FAULT STATE", WAIT).unwrap();

    // Heal: the higher priority takes the VIP back.
    a.link_up().unwrap();
    a.wait_for_address(vip, true, Duration::from_secs(20))
        .unwrap();
    b.wait_for_address(vip, false, WAIT).unwrap();
}

#[test]
fn sigterm_hands_over_at_once_and_removes_the_vip() {
    if !netlab::require_root_or_skip("sigterm_hands_over_at_once_and_removes_the_vip") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let vip = ip(VIP4);
    let mut pa = start_vrrpd(&lab, a, "a", &Node::v3(150, "1").conf(), &[]);
    let pb = start_vrrpd(&lab, b, "b", &Node::v3(100, "1").conf(), &[]);
    a.wait_for_address(vip, true, WAIT).unwrap();
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    let t0 = std::time::Instant::now();
    pa.signal(Signal::SIGTERM).unwrap();
    let status = pa.wait_exit(WAIT).unwrap();
    assert!(status.success(), "vrrpd exit status {status:?}");
    assert!(
        !a.has_address(vip).unwrap(),
        "VIP left behind after SIGTERM"
    );
    b.wait_for_address(vip, true, WAIT).unwrap();
    // Priority 0 makes the backup wait only the skew time (< 1 s), not 3 intervals.
    let took = t0.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "hand-over took {took:?}"
    );
}

#[test]
fn sigkill_leftover_vip_is_removed_on_restart() {
    if !netlab::require_root_or_skip("sigkill_leftover_vip_is_removed_on_restart") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let vip = ip(VIP4);
    let mut pa = start_vrrpd(&lab, a, "a", &Node::v3(150, "1").conf(), &[]);
    a.wait_for_address(vip, true, WAIT).unwrap();
    pa.signal_group(Signal::SIGKILL).unwrap();
    pa.wait_exit(WAIT).unwrap();
    assert!(a.has_address(vip).unwrap(), "SIGKILL cannot clean up");
    // The peer (higher priority now) is master; a restarted low-priority a must drop it.
    let pb = start_vrrpd(&lab, b, "b", &Node::v3(200, "1").conf(), &[]);
    b.wait_for_address(vip, true, WAIT).unwrap();
    let pa2 = start_vrrpd(&lab, a, "a2", &Node::v3(150, "1").conf(), &[]);
    pa2.wait_for_line(r"removing VIPs left by a previous run", WAIT)
        .unwrap();
    a.wait_for_address(vip, false, WAIT).unwrap();
    pa2.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    drop(pb);
}

#[test]
fn reload_keeps_unchanged_instance_without_flap() {
    if !netlab::require_root_or_skip("reload_keeps_unchanged_instance_without_flap") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let a = lab.host(0);
    let vip = ip(VIP4);
    let node = Node::v3(150, "1");
    let pa = start_vrrpd(&lab, a, "a", &node.conf(), &[]);
    a.wait_for_address(vip, true, WAIT).unwrap();
    // Add a second instance, keep the first unchanged.
    let mut second = Node::v3(150, "1");
    second.name = "VI_2".into();
    second.vrid = 52;
    second.vips = vec!["198.18.0.101/24".into()];
    let conf = format!(
        "{}{}",
        node.conf(),
        second.conf().split_once("}\n").unwrap().1
    );
    std::fs::write(lab.dir().join("a").join("keepalived.conf"), conf).unwrap();
    let mon = a.capture("arp").unwrap();
    pa.signal(Signal::SIGHUP).unwrap();
    pa.wait_for_line(r"configuration reloaded", WAIT).unwrap();
    a.wait_for_address(ip("198.18.0.101"), true, WAIT).unwrap();
    // VI_1 entered MASTER exactly once, and its VIP never left.
    let out = pa.output();
    assert_eq!(
        out.matches("(VI_1) Entering MASTER STATE").count(),
        1,
        "{out}"
    );
    assert!(a.has_address(vip).unwrap());
    assert!(
        !mon.text().contains("who-has 198.18.0.100"),
        "VI_1 re-announced: no flap expected"
    );
    // Removing VI_2 releases it (its VIP goes) and still leaves VI_1 alone.
    std::fs::write(lab.dir().join("a").join("keepalived.conf"), node.conf()).unwrap();
    pa.signal(Signal::SIGHUP).unwrap();
    pa.wait_for_line(r"instance removed by reload", WAIT)
        .unwrap();
    a.wait_for_address(ip("198.18.0.101"), false, WAIT).unwrap();
    assert!(a.has_address(vip).unwrap());
    assert_eq!(
        pa.output().matches("(VI_1) Entering MASTER STATE").count(),
        1
    );
    // A broken config keeps the running one.
    std::fs::write(
        lab.dir().join("a").join("keepalived.conf"),
        "vrrp_instance X {\n",
    )
    .unwrap();
    pa.signal(Signal::SIGHUP).unwrap();
    pa.wait_for_line(r"running one stays", WAIT).unwrap();
    assert!(a.has_address(vip).unwrap());
}

#[test]
fn v3_unicast_peers_elect_and_fail_over() {
    if !netlab::require_root_or_skip("v3_unicast_peers_elect_and_fail_over") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let (ia, ib) = (a.ipv4().into(), b.ipv4().into());
    let vip = ip(VIP4);
    // Every advert on the segment, as B's interface sees it (its own and A's).
    let cap = b.capture("vrrp").unwrap();
    let pa = start_vrrpd(
        &lab,
        a,
        "a",
        &Node::v3(150, "1").unicast(ia, &[ib]).conf(),
        &[],
    );
    let _pb = start_vrrpd(
        &lab,
        b,
        "b",
        &Node::v3(100, "1").unicast(ib, &[ia]).conf(),
        &[],
    );
    a.wait_for_address(vip, true, WAIT).unwrap();
    let advert_from = |src: std::net::IpAddr, dst: std::net::IpAddr| {
        format!(
            "{} > {}: VRRPv3, Advertisement",
            regex::escape(&src.to_string()),
            regex::escape(&dst.to_string())
        )
    };
    cap.wait_for(&advert_from(ia, ib), WAIT).unwrap();
    drop(pa);
    b.wait_for_address(vip, true, WAIT).unwrap();
    cap.wait_for(&advert_from(ib, ia), WAIT).unwrap();
    // The adverts really were unicast: none went to the VRRP multicast group.
    let seen = cap.text();
    assert!(
        !seen.contains("224.0.0.18"),
        "multicast adverts seen:\n{seen}"
    );
}

#[test]
fn ipv6_v3_election_and_failover() {
    if !netlab::require_root_or_skip("ipv6_v3_election_and_failover") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let vip = ip(VIP6);
    let mut pa = start_vrrpd(&lab, a, "a", &Node::v3_ipv6(150).conf(), &[]);
    let pb = start_vrrpd(&lab, b, "b", &Node::v3_ipv6(100).conf(), &[]);
    a.wait_for_address(vip, true, WAIT).unwrap();
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    assert!(!b.has_address(vip).unwrap());
    let cap = b.capture("icmp6").unwrap();
    pa.signal(Signal::SIGTERM).unwrap();
    pa.wait_exit(WAIT).unwrap();
    b.wait_for_address(vip, true, WAIT).unwrap();
    cap.wait_for(r"neighbor advertisement.*tgt is 2001:2::100", WAIT)
        .unwrap();
}

#[test]
fn track_script_and_control_socket_move_the_vip() {
    if !netlab::require_root_or_skip("track_script_and_control_socket_move_the_vip") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let vip = ip(VIP4);
    let flag = lab.dir().join("a-unhealthy");
    let script = format!(
        "vrrp_script chk {{\n    script \"test ! -e {}\"\n    interval 0.1\n    weight -100\n}}\n",
        flag.display()
    );
    let mut na = Node::v3(150, "0.2");
    na.extra_instance = "    track_script {\n        chk\n    }\n".into();
    let pa = start_vrrpd(&lab, a, "a", &format!("{script}{}", na.conf()), &[]);
    let _pb = start_vrrpd(&lab, b, "b", &Node::v3(100, "0.2").conf(), &[]);
    a.wait_for_address(vip, true, WAIT).unwrap();

    // The check fails: priority 50 < 100, the backup preempts.
    std::fs::write(&flag, "x").unwrap();
    b.wait_for_address(vip, true, WAIT).unwrap();
    a.wait_for_address(vip, false, WAIT).unwrap();
    let pid = lab.dir().join("a").join("vrrpd.pid");
    let status = a
        .run(&[
            vrrpd_bin(),
            "ctl",
            "-p",
            pid.to_str().unwrap(),
            "show",
            "status",
        ])
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("VI_1") && text.contains("BACKUP"), "{text}");
    assert!(text.contains("chk"), "tracker missing from status: {text}");

    // The check passes again: a takes the VIP back.
    std::fs::remove_file(&flag).unwrap();
    a.wait_for_address(vip, true, WAIT).unwrap();

    // An external push (`track chk down`) moves the VIP without waiting for the script.
    let out = a
        .run(&[
            vrrpd_bin(),
            "ctl",
            "-p",
            pid.to_str().unwrap(),
            "track",
            "chk",
            "down",
        ])
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    b.wait_for_address(vip, true, WAIT).unwrap();
    let json = a
        .run(&[
            vrrpd_bin(),
            "ctl",
            "-p",
            pid.to_str().unwrap(),
            "show",
            "stats",
            "json",
        ])
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        v["instances"][0]["adverts_sent"].as_u64().unwrap() > 0,
        "{v}"
    );
    drop(pa);
}

#[test]
fn ipv6_master_waits_for_its_link_local_to_finish_dad() {
    if !netlab::require_root_or_skip("ipv6_master_waits_for_its_link_local_to_finish_dad") {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let a = lab.host(0);
    // Turn DAD on for eth0 and restart the link: the link-local is tentative for about 3 s.
    for kv in [
        "net.ipv6.conf.eth0.accept_dad=1",
        "net.ipv6.conf.eth0.dad_transmits=3",
    ] {
        a.run(&["sysctl", "-w", kv]).unwrap();
    }
    a.link_down().unwrap();
    a.link_up().unwrap();
    let tentative = a
        .run(&[
            "ip",
            "-6",
            "addr",
            "show",
            "dev",
            "eth0",
            "scope",
            "link",
            "tentative",
        ])
        .unwrap();
    assert!(
        String::from_utf8_lossy(&tentative.stdout).contains("fe80"),
        "link-local should be tentative right after link up"
    );
    // An address owner would claim MASTER at once; it must wait until it can send.
    let mut node = Node::v3_ipv6(255);
    node.extra_instance = String::new();
    let p = start_vrrpd(
        &lab,
        a,
        "a",
        &node.conf().replace("state BACKUP", "state MASTER"),
        &[],
    );
    p.wait_for_line(MASTER_LINE, WAIT).unwrap();
    let out = p.output();
    let ready = out
        .find("advert source changed")
        .expect("vrrpd should report the source becoming usable");
    let master = out.find("Entering MASTER STATE").unwrap();
    assert!(
        ready < master,
        "MASTER before the link-local was usable:\n{out}"
    );
    assert!(
        !out.lines()
            .any(|l| l.contains("WARN") && l.contains("cannot send advert")),
        "an advert failed to go out:\n{out}"
    );
}

/// Seconds from a failing track script on the master to the VIP on the backup.
fn script_failover_secs(fast: bool) -> f64 {
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let vip = ip(VIP4);
    let flag = lab.dir().join("a-unhealthy");
    let script = format!(
        "vrrp_script chk {{\n    script \"test ! -e {}\"\n    interval 0.05\n    weight -100\n}}\n",
        flag.display()
    );
    let mut na = Node::v3(150, "1");
    na.extra_instance = "    track_script {\n        chk\n    }\n".into();
    let extra: &[&str] = if fast { &["--fast-failover"] } else { &[] };
    let _pa = start_vrrpd(&lab, a, "a", &format!("{script}{}", na.conf()), extra);
    let pb = start_vrrpd(&lab, b, "b", &Node::v3(100, "1").conf(), extra);
    a.wait_for_address(vip, true, WAIT).unwrap();
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    let t0 = std::time::Instant::now();
    std::fs::write(&flag, "x").unwrap();
    b.wait_for_address(vip, true, WAIT).unwrap();
    t0.elapsed().as_secs_f64()
}

#[test]
fn fast_failover_is_opt_in_and_beats_the_master_down_timer() {
    if !netlab::require_root_or_skip("fast_failover_is_opt_in_and_beats_the_master_down_timer") {
        return;
    }
    // keepalived's behaviour: the backup ignores the lower-priority adverts until its
    // master-down timer (3 x 1 s + skew) runs out.
    let slow = script_failover_secs(false);
    assert!(
        slow > 2.5,
        "without --fast-failover the backup must wait: {slow:.3}s"
    );
    // Opt-in: immediate advert of the new priority, immediate preemption.
    let fast = script_failover_secs(true);
    assert!(fast < 1.0, "--fast-failover took {fast:.3}s");
}

/// Invalid adverts for the pair's VRID, each claiming priority 200 (above the master's), as
/// complete IPv4 packets: if any got past the receive checks, the master would step down.
fn hostile_packets(src: std::net::Ipv4Addr) -> Vec<(&'static str, Vec<u8>)> {
    use vrrp::ipv4::{Ipv4Params, build_ipv4_packet};
    use vrrp::{Advert, AdvertInterval, Auth, PseudoHeader, Version};
    let advert = |version, auth| Advert {
        version,
        vrid: 51,
        priority: 200,
        interval: AdvertInterval::from_centis(100),
        auth,
        addresses: vec![ip(VIP4)],
    };
    let dst = std::net::Ipv4Addr::new(224, 0, 0, 18);
    let ipv4 = |ttl, body: &[u8]| {
        build_ipv4_packet(
            Ipv4Params {
                src,
                dst,
                ttl,
                id: 7,
            },
            body,
        )
    };
    let good = advert(Version::V2, Auth::pass(b"secret12"))
        .encode(PseudoHeader::None)
        .unwrap();
    let mut bad_sum = good.clone();
    bad_sum[6] ^= 0xff;
    let wrong_pass = advert(Version::V2, Auth::pass(b"wrongpwd"))
        .encode(PseudoHeader::None)
        .unwrap();
    let v3 = advert(Version::V3, Auth::None)
        .encode(PseudoHeader::v3(src.into(), dst.into()).unwrap())
        .unwrap();
    vec![
        ("bad_checksum", ipv4(255, &bad_sum)),
        ("bad_ttl", ipv4(64, &good)),
        ("auth_failure", ipv4(255, &wrong_pass)),
        ("version_mismatch", ipv4(255, &v3)),
        ("bad_length", ipv4(255, &good[..12])),
    ]
}

#[test]
fn hostile_segment_changes_nothing_and_is_counted() {
    if !netlab::require_root_or_skip("hostile_segment_changes_nothing_and_is_counted") {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let (a, b, evil) = (lab.host(0), lab.host(1), lab.host(2));
    let vip = ip(VIP4);
    let pa = start_vrrpd(&lab, a, "a", &Node::v2_pass(150).conf(), &[]);
    let pb = start_vrrpd(&lab, b, "b", &Node::v2_pass(100).conf(), &[]);
    a.wait_for_address(vip, true, WAIT).unwrap();
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();

    // 2000 invalid packets (400 of each kind) in about a second, from a third host.
    let packets = hostile_packets(evil.ipv4());
    let sent = evil
        .in_netns(|| {
            let s = socket2::Socket::new(
                socket2::Domain::IPV4,
                socket2::Type::RAW,
                Some(socket2::Protocol::from(112)),
            )
            .unwrap();
            s.set_header_included_v4(true).unwrap();
            s.bind_device(Some(b"eth0")).unwrap();
            let to: socket2::SockAddr = std::net::SocketAddr::from(([224, 0, 0, 18], 0)).into();
            let mut n = 0;
            for _ in 0..400 {
                for (_, p) in &packets {
                    if s.send_to(p, &to).is_ok() {
                        n += 1;
                    }
                }
                std::thread::sleep(Duration::from_micros(2500));
            }
            n
        })
        .unwrap();
    assert_eq!(sent, 2000);

    // Every packet counted under its reason: polled until each counter reads exactly 400.
    let counted = |stats: &str| -> Vec<(&'static str, Option<u64>)> {
        packets
            .iter()
            .map(|(reason, _)| {
                let n = stats
                    .lines()
                    .find(|l| l.trim_start().starts_with(&format!("{reason}:")))
                    .and_then(|l| l.rsplit(':').next()?.trim().parse().ok());
                (*reason, n)
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let stats = vrrpd_stats(&lab, "b", &pb);
        let counts = counted(&stats);
        if counts.iter().all(|(_, n)| *n == Some(400)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "each reason must count 400: {counts:?}\n{stats}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // No transition anywhere, and the log was rate-limited (one line per reason per 10 s).
    let (oa, ob) = (pa.output(), pb.output());
    assert_eq!(oa.matches("Entering MASTER STATE").count(), 1, "{oa}");
    assert_eq!(ob.matches("Entering MASTER STATE").count(), 0, "{ob}");
    assert!(a.has_address(vip).unwrap() && !b.has_address(vip).unwrap());
    let logged = ob.matches("dropped VRRP packet").count();
    assert!(
        logged <= 2 * packets.len(),
        "{logged} drop log lines:\n{ob}"
    );
}

#[test]
fn virtual_routes_and_rules_follow_the_master() {
    if !netlab::require_root_or_skip("virtual_routes_and_rules_follow_the_master") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let routes = concat!(
        "    virtual_routes {\n        198.18.5.0/24 via 198.18.0.254 dev eth0\n",
        "        blackhole 198.18.6.0/24\n    }\n",
        "    virtual_rules {\n        from 198.18.7.0/24 table 100 preference 900\n    }\n",
    );
    let node = |p| {
        let mut n = Node::v3(p, "0.2");
        n.extra_instance = routes.into();
        n.conf()
    };
    let has_route = |h: &netlab::Host, r: &str| {
        let routes = h.run(&["ip", "route", "show", "table", "all"]).unwrap();
        let rules = h.run(&["ip", "rule", "show"]).unwrap();
        String::from_utf8_lossy(&routes.stdout).contains(r)
            || String::from_utf8_lossy(&rules.stdout).contains(r)
    };
    let rule = "900:\tfrom 198.18.7.0/24 lookup 100";
    let mut pa = start_vrrpd(&lab, a, "a", &node(150), &[]);
    pa.wait_for_line(MASTER_LINE, WAIT).unwrap();
    let pb = start_vrrpd(&lab, b, "b", &node(100), &[]);
    pb.wait_for_line(BACKUP_LINE, WAIT).unwrap();
    assert!(has_route(a, "198.18.5.0/24 via 198.18.0.254 dev eth0"));
    assert!(has_route(a, "blackhole 198.18.6.0/24"));
    assert!(has_route(a, rule));
    assert!(!has_route(b, "198.18.5.0/24") && !has_route(b, rule));
    pa.signal(Signal::SIGTERM).unwrap();
    pa.wait_exit(WAIT).unwrap();
    assert!(!has_route(a, "198.18.5.0/24") && !has_route(a, "198.18.6.0/24"));
    assert!(!has_route(a, rule));
    pb.wait_for_line(MASTER_LINE, WAIT).unwrap();
    assert!(has_route(b, "198.18.5.0/24 via 198.18.0.254 dev eth0"));
    assert!(has_route(b, "blackhole 198.18.6.0/24"));
    assert!(has_route(b, rule));
}

#[test]
fn sd_notify_ready_reloading_stopping() {
    if !netlab::require_root_or_skip("sd_notify_ready_reloading_stopping") {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let a = lab.host(0);
    let sock_path = lab.dir().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let recv = || {
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).expect("sd_notify message");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let conf = write_conf(&lab, "a", &Node::v3(150, "1").conf());
    let mut cmd = a.command(vrrpd_bin());
    cmd.args(["-n", "-l", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(node_dir(&lab, "a").join("vrrpd.pid"))
        .env("NOTIFY_SOCKET", &sock_path);
    let mut p = a.spawn("a", cmd).unwrap();
    assert!(recv().contains("READY=1"));
    p.signal(Signal::SIGHUP).unwrap();
    assert!(recv().contains("RELOADING=1"));
    assert!(recv().contains("READY=1"));
    p.signal(Signal::SIGTERM).unwrap();
    assert!(recv().contains("STOPPING=1"));
    assert!(p.wait_exit(WAIT).unwrap().success());
}

#[test]
fn config_test_reports_a_missing_interface_like_keepalived() {
    if !netlab::require_root_or_skip("config_test_reports_a_missing_interface_like_keepalived") {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let a = lab.host(0);
    let good = write_conf(&lab, "good", &Node::v3(100, "1").conf());
    let bad = write_conf(
        &lab,
        "bad",
        &Node::v3(100, "1")
            .conf()
            .replace("interface eth0", "interface nosuch0"),
    );
    for (path, want) in [(&good, 0), (&bad, 5)] {
        let ours = a
            .command(vrrpd_bin())
            .arg("-t")
            .arg("-f")
            .arg(path)
            .output()
            .unwrap();
        let theirs = a
            .command(KEEPALIVED)
            .arg("-t")
            .arg("-f")
            .arg(path)
            .output()
            .unwrap();
        assert_eq!(ours.status.code(), Some(want), "{ours:?}");
        assert_eq!(ours.status.code(), theirs.status.code(), "{theirs:?}");
    }
}
