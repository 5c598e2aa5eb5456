//! `use_vmac` in the lab: a pair of vrrpd nodes with a VMAC fails over and back while a third
//! host (the client) keeps learning the virtual MAC 00:00:5e:00:01:33 for the VIP, also after
//! forgetting it (a client that never hears the gratuitous ARP), and keeps reaching the
//! master's own address; the VMAC is a private macvlan with keepalived's sysctls, removed on
//! exit and re-created after a SIGKILL.

use crate::vrrp_lab::{KEEPALIVED, Node, VIP4, VIP6, WAIT, ip, start_keepalived, start_vrrpd};
use netlab::{Host, Lab};
use nix::sys::signal::Signal;

/// The address, the virtual MAC and the node shape of one family.
#[derive(Clone, Copy)]
struct Family {
    vip: &'static str,
    vmac: &'static str,
    v6: bool,
}

const V4: Family = Family {
    vip: VIP4,
    vmac: "00:00:5e:00:01:33",
    v6: false,
};
const V6: Family = Family {
    vip: VIP6,
    vmac: "00:00:5e:00:02:33",
    v6: true,
};

fn sh(h: &Host, cmd: &str) -> String {
    let out = h.run(&["sh", "-c", cmd]).expect("sh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn node(f: Family, priority: u8, extra: &str) -> Node {
    let mut n = if f.v6 {
        Node::v3_ipv6(priority)
    } else {
        Node::v3(priority, "0.1")
    };
    n.extra_instance = extra.into();
    n
}

/// The MAC the client resolves for `addr` after forgetting what it knew.
fn fresh_mac(client: &Host, addr: &str) -> String {
    sh(client, &format!("ip neigh flush to {addr}"));
    // A TCP attempt to a closed port: the answer (a RST) needs the address resolved.
    let ip: std::net::IpAddr = addr.parse().expect("addr");
    let to = std::net::SocketAddr::new(ip, 9);
    let answer = client
        .in_netns(move || std::net::TcpStream::connect_timeout(&to, WAIT).map(|_| ()))
        .expect("in netns");
    match answer {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
        Err(e) => panic!("{addr} does not answer the client: {e}"),
    }
    let neigh = sh(client, &format!("ip neigh show to {addr}"));
    neigh
        .split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

fn sysctl(h: &Host, ifname: &str, key: &str) -> String {
    sh(h, &format!("cat /proc/sys/net/ipv4/conf/{ifname}/{key}"))
        .trim()
        .to_string()
}

/// Who runs on the backup host.
#[derive(Clone, Copy)]
enum Peer {
    Vrrpd,
    Keepalived,
}

#[test]
fn vmac_pair_fails_over_and_back_and_the_client_keeps_the_virtual_mac() {
    if netlab::require_root_or_skip(
        "vmac_pair_fails_over_and_back_and_the_client_keeps_the_virtual_mac",
    ) {
        scenario(V4, Peer::Vrrpd, "    use_vmac\n");
    }
}

#[test]
fn ipv6_vmac_pair_fails_over_and_back() {
    if netlab::require_root_or_skip("ipv6_vmac_pair_fails_over_and_back") {
        scenario(V6, Peer::Vrrpd, "    use_vmac\n");
    }
}

#[test]
fn vmac_xmit_base_pair_fails_over_and_back() {
    if netlab::require_root_or_skip("vmac_xmit_base_pair_fails_over_and_back") {
        scenario(V4, Peer::Vrrpd, "    use_vmac\n    vmac_xmit_base\n");
    }
}

#[test]
fn mixed_vrrpd_keepalived_vmac_pair_fails_over_and_back() {
    if !std::path::Path::new(KEEPALIVED).exists() {
        assert!(std::env::var_os("CI").is_none(), "keepalived is required");
        eprintln!("SKIPPED: needs keepalived");
        return;
    }
    if netlab::require_root_or_skip("mixed_vrrpd_keepalived_vmac_pair_fails_over_and_back") {
        scenario(V4, Peer::Keepalived, "    use_vmac\n");
    }
}

fn scenario(f: Family, peer: Peer, extra: &str) {
    let lab = Lab::new(3).expect("lab");
    let (a, b, client) = (lab.host(0), lab.host(1), lab.host(2));
    let vip = ip(f.vip);
    let mut va = start_vrrpd(&lab, a, "a", &node(f, 150, extra).conf(), &[]);
    let _vb = match peer {
        Peer::Vrrpd => start_vrrpd(&lab, b, "b", &node(f, 100, extra).conf(), &[]),
        Peer::Keepalived => start_keepalived(&lab, b, "b", &node(f, 100, extra).conf()),
    };
    a.wait_for_address(vip, true, WAIT)
        .unwrap_or_else(|e| panic!("VIP on a: {e}\n{}", va.output()));

    let link = sh(a, "ip -d link show vrrp.51");
    assert!(
        link.contains(f.vmac) && link.contains("macvlan mode private"),
        "{link}"
    );
    for (ifname, key, want) in [
        ("eth0", "arp_ignore", "1"),
        ("eth0", "arp_filter", "1"),
        ("eth0", "arp_announce", "2"),
        ("vrrp.51", "arp_ignore", "1"),
        ("vrrp.51", "arp_filter", "0"),
        ("vrrp.51", "rp_filter", "0"),
        ("vrrp.51", "accept_local", "1"),
    ] {
        assert_eq!(sysctl(a, ifname, key), want, "{ifname} {key}");
    }
    assert!(
        sh(a, "ip addr show dev vrrp.51").contains(f.vip),
        "the VIP is on the VMAC"
    );
    assert_eq!(fresh_mac(client, f.vip), f.vmac, "before the failover");
    let own_a = if f.v6 {
        a.ipv6().to_string()
    } else {
        a.ipv4().to_string()
    };
    assert_ne!(
        fresh_mac(client, &own_a),
        f.vmac,
        "a's own address keeps a's MAC"
    );

    // Planned stop of a: b takes over; the VIP keeps the virtual MAC for the client.
    va.signal(Signal::SIGTERM).expect("SIGTERM");
    b.wait_for_address(vip, true, WAIT).expect("VIP on b");
    let _ = va.wait_exit(WAIT);
    assert!(
        !sh(a, "ip link show").contains("vrrp.51"),
        "a's VMAC is removed on exit"
    );
    let on_b = fresh_mac(client, f.vip);
    match peer {
        Peer::Vrrpd => assert_eq!(on_b, f.vmac, "after the failover"),
        // keepalived 2.2.7 leaves arp_announce alone: its base interface's ARP requests carry
        // the VIP, so the client may learn the host's MAC. The VIP is still served.
        Peer::Keepalived => println!("keepalived master: the client learnt {on_b} for the VIP"),
    }

    // a again: preempts back.
    let mut va = start_vrrpd(&lab, a, "a2", &node(f, 150, extra).conf(), &[]);
    a.wait_for_address(vip, true, WAIT).expect("VIP back on a");
    b.wait_for_address(vip, false, WAIT).expect("VIP left b");
    assert_eq!(fresh_mac(client, f.vip), f.vmac, "after failing back");
    assert!(fresh_mac(client, &own_a) != f.vmac);

    // SIGKILL leaves the f.vmac; the next start replaces it and takes the VIP again.
    va.kill();
    assert!(sh(a, "ip link show").contains("vrrp.51"));
    b.wait_for_address(vip, true, WAIT)
        .expect("VIP on b after the kill");
    let va = start_vrrpd(&lab, a, "a3", &node(f, 150, extra).conf(), &[]);
    va.wait_for_line("removing a VMAC interface left by a previous run", WAIT)
        .expect("leftover VMAC replaced");
    a.wait_for_address(vip, true, WAIT)
        .expect("VIP on a after restart");
    assert_eq!(fresh_mac(client, f.vip), f.vmac);
}
