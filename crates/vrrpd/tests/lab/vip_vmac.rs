//! A VIP's own `use_vmac` and the instance's `use_vmac_addr`, side by side with keepalived
//! 2.2.7: which VMAC interfaces are made (name, base, virtual MAC, macvlan mode), which VIP
//! lives on which interface, and the ARP sysctls of the VMACs, once each daemon is MASTER
//! alone on its lab host; and vrrpd removes them on exit. VRIDs differ (61 and 62: both
//! hosts share the lab bridge), so the VRID is written as `V` in what is compared.

use crate::vrrp_lab::{Node, WAIT, keepalived_lab, start_keepalived, start_vrrpd};
use netlab::{Host, Proc};
use nix::sys::signal::Signal;

fn sh(h: &Host, cmd: &str) -> String {
    let out = h.run(&["sh", "-c", cmd]).expect("sh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// eth1 and eth2 on `h`: veth pairs inside the host's namespace, up, with 198.18.2N.1/24.
fn add_links(h: &Host) {
    for n in 1..=2 {
        sh(
            h,
            &format!(
                "ip link add eth{n} type veth peer name eth{n}p && ip link set eth{n}p up && \
                 ip link set eth{n} up && ip addr add 198.18.2{n}.1/24 dev eth{n}"
            ),
        );
    }
}

fn node(vrid: u8, extra: &str) -> Node {
    let mut n = Node::v3(100, "0.1");
    n.vrid = vrid;
    n.vips = vec![
        "198.18.0.100/24".into(),
        "198.18.21.100/24 dev eth1 use_vmac".into(),
        "198.18.22.100/24 dev eth2".into(),
    ];
    n.extra_instance = extra.into();
    n
}

/// Every macvlan (name@base, MAC, mode, sysctls) and where each VIP is, VRID as `V`.
fn vmac_state(h: &Host, vrid: u8) -> Vec<String> {
    let mut out = Vec::new();
    let links = sh(h, "ip -o -d link show type macvlan");
    for l in links.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        let name = w[1].trim_end_matches(':');
        let ifname = name.split('@').next().unwrap_or(name);
        let mac = w.iter().skip_while(|x| **x != "link/ether").nth(1).unwrap();
        let mode = w
            .windows(3)
            .find(|x| x[0] == "macvlan" && x[1] == "mode")
            .map_or("?", |x| x[2]);
        let sysctls: Vec<String> = ["arp_ignore", "arp_filter", "rp_filter", "accept_local"]
            .iter()
            .map(|k| {
                let v = sh(h, &format!("cat /proc/sys/net/ipv4/conf/{ifname}/{k}"));
                format!("{k}={}", v.trim())
            })
            .collect();
        out.push(format!("{name} {mac} {mode} {}", sysctls.join(" ")));
    }
    for vip in ["198.18.0.100", "198.18.21.100", "198.18.22.100"] {
        let dev = sh(h, &format!("ip -o addr show to {vip}/32"));
        let dev = dev
            .split_whitespace()
            .nth(1)
            .unwrap_or("nowhere")
            .to_string();
        out.push(format!("{vip} on {dev}"));
    }
    out.sort();
    out.iter()
        .map(|l| {
            l.replace(&format!(".{vrid}"), ".V")
                .replace(&format!(":{vrid:02x} "), ":VV ")
        })
        .collect()
}

fn master_state(h: &Host, p: &Proc, vrid: u8) -> Vec<String> {
    p.wait_for_line("Entering MASTER STATE", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    h.wait_for_address("198.18.22.100".parse().unwrap(), true, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    vmac_state(h, vrid)
}

/// `node(vrid, extra)` with `global` lines in global_defs.
fn conf(vrid: u8, global: &str, extra: &str) -> String {
    node(vrid, extra).conf().replace(
        "    vrrp_garp_master_delay 0\n",
        &format!("    vrrp_garp_master_delay 0\n{global}"),
    )
}

fn side_by_side(test: &str, extra: &str, want_links: usize) {
    side_by_side_with(test, "", extra, want_links);
}

fn side_by_side_with(test: &str, global: &str, extra: &str, want_links: usize) {
    let Some(lab) = keepalived_lab(test) else {
        return;
    };
    let (a, b) = (lab.host(0), lab.host(1));
    add_links(a);
    add_links(b);
    let mut vrrpd = start_vrrpd(&lab, a, "a", &conf(61, global, extra), &[]);
    let keepalived = start_keepalived(&lab, b, "b", &conf(62, global, extra));
    let theirs = master_state(b, &keepalived, 62);
    let ours = master_state(a, &vrrpd, 61);
    assert_eq!(
        theirs.iter().filter(|l| l.contains(" 00:00:5e:")).count(),
        want_links,
        "keepalived's VMACs: {theirs:#?}"
    );
    println!("keepalived 2.2.7: {theirs:#?}");
    assert_eq!(ours, theirs, "vrrpd (left) and keepalived 2.2.7 (right)");
    vrrpd.signal(Signal::SIGTERM).expect("SIGTERM");
    vrrpd.wait_exit(WAIT).expect("vrrpd exits");
    assert_eq!(
        sh(a, "ip -o link show type macvlan"),
        "",
        "vrrpd removes its VMACs on exit"
    );
}

#[test]
fn a_vips_use_vmac_makes_a_vmac_on_its_interface_like_keepalived() {
    side_by_side(
        "a_vips_use_vmac_makes_a_vmac_on_its_interface_like_keepalived",
        "",
        1,
    );
}

#[test]
fn use_vmac_addr_gives_every_vip_of_another_interface_a_vmac_like_keepalived() {
    side_by_side(
        "use_vmac_addr_gives_every_vip_of_another_interface_a_vmac_like_keepalived",
        "    use_vmac\n    use_vmac_addr\n",
        3,
    );
}

#[test]
fn vmac_addr_prefix_names_the_vips_vmacs_like_keepalived() {
    side_by_side_with(
        "vmac_addr_prefix_names_the_vips_vmacs_like_keepalived",
        "    vmac_addr_prefix vx\n",
        "    use_vmac\n    use_vmac_addr\n",
        3,
    );
}
