//! Two vrrpd daemons in one network namespace, both `no_accept`: with tables named apart (a
//! top-level `instance`, or `nftables TABLE`) each keeps its own rules, and a SIGKILLed one's
//! restart replaces only its own table; with the same (default) name the second daemon leaves
//! the first's table alone and says whose it is.

use crate::vrrp_lab::{Node, WAIT, ip, lab_with, start_vrrpd};
use netlab::Host;
use nix::sys::signal::Signal;

/// The elements of set `vips` in `ip TABLE`, or `None` when the table is missing.
fn vips(h: &Host, table: &str) -> Option<String> {
    let out = h
        .command("nft")
        .args(["list", "set", "ip", table, "vips"])
        .output()
        .expect("nft");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn tables(h: &Host) -> String {
    let out = h.run(&["nft", "list", "tables"]).expect("nft list tables");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A no_accept master for `vrid` holding `vip`, with `globals` added to global_defs and
/// `top` written at the top level.
fn conf(vrid: u8, vip: &str, globals: &str, top: &str) -> String {
    let mut n = Node::v3(150, "0.1");
    n.name = format!("VI_{vrid}");
    n.vrid = vrid;
    n.vips = vec![format!("{vip}/24")];
    n.extra_instance = "    no_accept\n".into();
    let text = n.conf().replace(
        "    router_id lab\n",
        &format!("    router_id lab\n{globals}"),
    );
    format!("{top}{text}")
}

/// Waits until table `table`'s set holds `vip` (it is filled before the VIP is added).
fn wait_element(h: &Host, table: &str, vip: &str) {
    h.wait_for_address(ip(vip), true, WAIT).expect("VIP added");
    let set = vips(h, table).unwrap_or_default();
    assert!(set.contains(vip), "{table} lacks {vip}:\n{}", tables(h));
}

#[test]
fn two_daemons_in_one_namespace_keep_their_own_nftables_tables() {
    let test = "two_daemons_in_one_namespace_keep_their_own_nftables_tables";
    let present = std::path::Path::new("/usr/sbin/nft").exists();
    let Some(lab) = lab_with(test, "nft", present) else {
        return;
    };
    let h = lab.host(0);
    let conf_a = conf(61, "198.18.0.161", "", "instance lb-a\n");
    let conf_b = conf(62, "198.18.0.162", "    nftables lb_b\n", "");

    let mut a = start_vrrpd(&lab, h, "a", &conf_a, &[]);
    wait_element(h, "vrrpd_lb_a", "198.18.0.161");
    let b = start_vrrpd(&lab, h, "b", &conf_b, &[]);
    wait_element(h, "lb_b", "198.18.0.162");
    // B's start-up cleanup left A's table and set alone.
    wait_element(h, "vrrpd_lb_a", "198.18.0.161");

    // A crashes; its restart removes its own leftovers and rebuilds them, B's stay.
    a.kill();
    let a2 = start_vrrpd(&lab, h, "a2", &conf_a, &[]);
    a2.wait_for_line("vrrpd running", WAIT).expect("a2 started");
    wait_element(h, "vrrpd_lb_a", "198.18.0.161");
    assert!(
        vips(h, "lb_b").unwrap_or_default().contains("198.18.0.162"),
        "A's restart touched B's table:\n{}",
        tables(h)
    );
    assert_eq!(tables(h).matches("table ip vrrpd_lb_a\n").count(), 1);

    // Two daemons with the default name: the second leaves the first's table alone.
    let c = start_vrrpd(&lab, h, "c", &conf(63, "198.18.0.163", "", ""), &[]);
    wait_element(h, "vrrpd", "198.18.0.163");
    let d = start_vrrpd(&lab, h, "d", &conf(64, "198.18.0.164", "", ""), &[]);
    let said = d
        .wait_for_line("belongs to vrrpd pid", WAIT)
        .expect("the second default-named daemon says whose the table is");
    assert!(said.contains(&format!("pid {}", c.pid())), "{said}");
    let set = vips(h, "vrrpd").unwrap_or_default();
    assert!(
        set.contains("198.18.0.163"),
        "C's rules were replaced:\n{set}"
    );

    // Every daemon removes only its own tables on exit.
    let mut d = d;
    d.signal(Signal::SIGTERM).expect("SIGTERM d");
    let _ = d.wait_exit(WAIT);
    assert!(vips(h, "vrrpd").is_some(), "d removed c's table");
    for (p, table) in [(&c, "vrrpd"), (&b, "lb_b"), (&a2, "vrrpd_lb_a")] {
        p.signal(Signal::SIGTERM).expect("SIGTERM");
        test_support::wait::wait_until(WAIT, &format!("{table} removed on exit"), || {
            vips(h, table).is_none().then_some(())
        });
    }
    assert_eq!(tables(h).trim(), "", "tables left behind");
}
