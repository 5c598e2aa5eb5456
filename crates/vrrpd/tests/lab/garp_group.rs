//! `garp_group` in the lab, side by side with keepalived 2.2.7: a lone node becomes MASTER
//! with two VIPs on eth0 and two on a second interface (a veth pair inside the host, captured
//! on its far end), two rounds each, `vrrp_garp_interval 0.1`. Measured with keepalived: each
//! interface is paced on its own at the global pause; a group's interfaces at the group's
//! pause, all of them together. (keepalived also drops some of the queued ARPs when pacing;
//! vrrpd sends them all, so the test compares the pauses, not the counts.)

use crate::garp_extra::{garps, sh, stamp};
use crate::vrrp_lab::{Node, five_adverts_captured, keepalived_lab};
use netlab::Lab;

#[derive(Clone, Copy, Debug)]
enum Daemon {
    Vrrpd,
    Keepalived,
}

/// The shortest pause, in tenths of a second, between two ARPs of `vips` in `texts`.
fn min_gap(texts: &[&str], vips: &[&str]) -> i64 {
    let mut t: Vec<f64> = texts
        .iter()
        .flat_map(|text| vips.iter().flat_map(|v| garps(text, v)))
        .map(stamp)
        .collect();
    t.sort_by(f64::total_cmp);
    let min = t
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    assert!(min.is_finite(), "fewer than two ARPs of {vips:?}");
    (min * 10.0).round() as i64
}

/// (eth0, the other interface, both together): shortest pauses in tenths of a second.
fn run(d: Daemon, lab: &Lab, tag: &str, group: &str) -> (i64, i64, i64) {
    let h = lab.host(0);
    let mut n = Node::v3(150, "1");
    n.vips = ["198.18.0.100/24", "198.18.0.101/24"]
        .into_iter()
        .map(String::from)
        .chain([
            "198.18.1.100/24 dev xa".into(),
            "198.18.1.101/24 dev xa".into(),
        ])
        .collect();
    let conf = n.conf().replace(
        "    vrrp_garp_master_delay 0\n}\n",
        &format!(
            "    vrrp_garp_master_delay 0\n    vrrp_garp_master_repeat 2\n    vrrp_garp_interval 0.1\n}}\n{group}"
        ),
    );
    // Five adverts (4 s): every paced ARP (at most eight, 0.3 s apart) is out by then.
    let keepalived = matches!(d, Daemon::Keepalived);
    let (e, x) = five_adverts_captured(lab, h, tag, &conf, keepalived);
    let own = ["198.18.0.100", "198.18.0.101"];
    let other = ["198.18.1.100", "198.18.1.101"];
    let both = [own, other].concat();
    let seen = (
        min_gap(&[&e], &own),
        min_gap(&[&x], &other),
        min_gap(&[&e, &x], &both),
    );
    println!("{d:?} {tag}: shortest pauses (tenths of s) eth0, xa, both: {seen:?}");
    seen
}

#[test]
fn garp_group_paces_gratuitous_arps_per_interface_group_like_keepalived() {
    let Some(lab) =
        keepalived_lab("garp_group_paces_gratuitous_arps_per_interface_group_like_keepalived")
    else {
        return;
    };
    sh(
        lab.host(0),
        "ip link add xa type veth peer name xb && ip link set xa up && ip link set xb up",
    );
    let cases = [
        // No group: each interface at the global 0.1 s, the two in parallel.
        ("none", "", (1, 1, 0)),
        // xa in a group of its own at 0.3 s; eth0 keeps the global pause.
        (
            "one",
            "garp_group {\n    garp_interval 0.3\n    interface xa\n}\n",
            (1, 3, 0),
        ),
        // eth0 and xa share 0.3 s.
        (
            "both",
            "garp_group {\n    garp_interval 0.3\n    interfaces {\n        eth0\n        xa\n    }\n}\n",
            (3, 3, 3),
        ),
    ];
    for (name, group, want) in cases {
        let k = run(Daemon::Keepalived, &lab, &format!("k-{name}"), group);
        assert_eq!(k, want, "keepalived 2.2.7, {name}");
        let v = run(Daemon::Vrrpd, &lab, &format!("v-{name}"), group);
        assert_eq!(v, k, "vrrpd as keepalived, {name}");
    }
}
