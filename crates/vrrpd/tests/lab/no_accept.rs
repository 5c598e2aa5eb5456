//! `no_accept` in the lab, side by side with keepalived: on one config (an IPv4 instance with
//! two VIPs and an IPv6 one, both `no_accept`) the master's `nft list ruleset` under vrrpd is
//! keepalived's, table names aside; vrrpd removes its tables on exit, and after a SIGKILL the
//! next start removes them. The same with a link-local IPv6 VIP, which both drop on its
//! interface only.

use crate::vrrp_lab::{
    KEEPALIVED, Node, VIP4, VIP6, WAIT, ip, lab_with, start_keepalived, start_vrrpd,
};
use netlab::Host;
use nix::sys::signal::Signal;

fn ruleset(h: &Host) -> String {
    let out = h
        .run(&["nft", "list", "ruleset"])
        .expect("nft list ruleset");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The ruleset with the daemon's table name replaced, vrrpd's owner comment left out and
/// counter values (traffic of the moment) cleared.
fn unnamed(ruleset: &str, table: &str) -> String {
    let counter = regex::Regex::new(r"counter packets \d+ bytes \d+").expect("pattern");
    ruleset
        .lines()
        .filter(|l| !l.trim_start().starts_with("comment \"vrrpd pid "))
        .map(|l| format!("{}\n", counter.replace_all(l, "counter")))
        .collect::<String>()
        .replace(&format!("table ip {table} {{"), "table ip NAME {")
        .replace(&format!("table ip6 {table} {{"), "table ip6 NAME {")
}

fn conf(accept: &str) -> String {
    conf_with(accept, &[format!("{VIP6}/64")])
}

fn conf_with(accept: &str, v6_vips: &[String]) -> String {
    let mut v4 = Node::v3(150, "0.1");
    v4.vips = vec![format!("{VIP4}/24"), "198.18.0.101/24".into()];
    v4.extra_instance = format!("    {accept}\n");
    let mut v6 = Node::v3_ipv6(150);
    v6.name = "VI_6".into();
    v6.vrid = 52;
    v6.vips = v6_vips.to_vec();
    v6.extra_instance = format!("    {accept}\n");
    // The second node's text without its global_defs.
    let v6_text = v6.conf();
    let (_, instance) = v6_text.split_once("}\n").expect("global_defs block");
    format!("{}{instance}", v4.conf())
}

fn wait_master(h: &Host) {
    h.wait_for_address(ip(VIP4), true, WAIT).expect("VIP4");
    h.wait_for_address(ip(VIP6), true, WAIT).expect("VIP6");
}

/// keepalived's ruleset on `conf` once it holds the VIPs (it fills its sets right after adding
/// the addresses: waits until `needles` are listed), with keepalived stopped again.
fn keepalived_ruleset(lab: &netlab::Lab, a: &Host, conf: &str, needles: &[&str]) -> String {
    let mut k = start_keepalived(lab, a, "k", conf);
    wait_master(a);
    let deadline = std::time::Instant::now() + WAIT;
    let theirs = loop {
        let r = ruleset(a);
        if needles.iter().all(|n| r.contains(n)) {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "keepalived's rules:\n{r}"
        );
        a.wait_for_address(ip(VIP4), true, WAIT).expect("VIP4");
    };
    k.signal_group(Signal::SIGTERM).expect("stop keepalived");
    let _ = k.wait_exit(WAIT);
    a.wait_for_address(ip(VIP4), false, WAIT)
        .expect("keepalived released");
    assert_eq!(ruleset(a).trim(), "", "keepalived removed its tables");
    theirs
}

/// A lab for a test that compares with keepalived's nftables rules.
fn nft_lab(test: &str) -> Option<netlab::Lab> {
    let present =
        std::path::Path::new(KEEPALIVED).exists() && std::path::Path::new("/usr/sbin/nft").exists();
    lab_with(test, "keepalived and nft", present)
}

/// vrrpd started on `conf` once it is master, its ruleset checked to be `theirs`, names aside.
fn vrrpd_with_rules_of(lab: &netlab::Lab, a: &Host, conf: &str, theirs: &str) -> netlab::Proc {
    let v = start_vrrpd(lab, a, "v", conf, &[]);
    wait_master(a);
    let ours = ruleset(a);
    assert_eq!(
        unnamed(&ours, "vrrpd"),
        unnamed(theirs, "keepalived"),
        "vrrpd:\n{ours}\nkeepalived:\n{theirs}"
    );
    v
}

#[test]
fn link_local_no_accept_vip_is_dropped_on_its_interface_like_keepalived() {
    let test = "link_local_no_accept_vip_is_dropped_on_its_interface_like_keepalived";
    let Some(lab) = nft_lab(test) else {
        return;
    };
    let a = lab.host(0);
    let conf = conf_with("no_accept", &["fe80::52/64".into(), format!("{VIP6}/64")]);
    let theirs = keepalived_ruleset(&lab, a, &conf, &["fe80::52", "2001:2::100", "198.18.0.101"]);
    assert!(theirs.contains("@vips_link_local drop"), "{theirs}");
    let mut v = vrrpd_with_rules_of(&lab, a, &conf, &theirs);
    v.signal(Signal::SIGTERM).expect("SIGTERM");
    let _ = v.wait_exit(WAIT);
    assert_eq!(ruleset(a).trim(), "", "vrrpd removed its tables on exit");
}

#[test]
fn no_accept_rules_match_keepalived_and_are_removed_on_exit_and_after_a_crash() {
    let test = "no_accept_rules_match_keepalived_and_are_removed_on_exit_and_after_a_crash";
    let Some(lab) = nft_lab(test) else {
        return;
    };
    let a = lab.host(0);
    let conf = conf("no_accept");

    let theirs = keepalived_ruleset(&lab, a, &conf, &["2001:2::100", "198.18.0.101"]);

    let mut v = vrrpd_with_rules_of(&lab, a, &conf, &theirs);

    // Exit: tables gone.
    v.signal(Signal::SIGTERM).expect("SIGTERM");
    let _ = v.wait_exit(WAIT);
    assert_eq!(ruleset(a).trim(), "", "vrrpd removed its tables on exit");

    // SIGKILL leaves them; the next start, even without no_accept, removes them.
    let mut v = start_vrrpd(&lab, a, "v2", &conf, &[]);
    wait_master(a);
    v.kill();
    assert!(
        ruleset(a).contains("table ip vrrpd"),
        "a killed vrrpd cannot clean up"
    );
    let v = start_vrrpd(
        &lab,
        a,
        "v3",
        &crate::vrrp_lab::Node::v3(150, "0.1").conf(),
        &[],
    );
    v.wait_for_line("vrrpd running", WAIT).expect("started");
    assert_eq!(ruleset(a).trim(), "", "leftover tables removed at start");
}

#[test]
fn nftables_priority_counters_and_ifindex_shape_the_rules_like_keepalived() {
    let test = "nftables_priority_counters_and_ifindex_shape_the_rules_like_keepalived";
    let Some(lab) = nft_lab(test) else {
        return;
    };
    let a = lab.host(0);
    let v6 = ["fe80::52/64".to_string(), format!("{VIP6}/64")];
    let needles = ["fe80::52", "2001:2::100", "198.18.0.101"];
    let cases = [
        // Measured: "priority filter + 5", "counter packets N bytes M" before every verdict.
        (
            "    nftables_priority 5\n    nftables_counters\n",
            "no_accept",
            "+ 5;",
        ),
        // dont_track_primary keys link-local VIPs by name (set vips_link_local_name, iifname).
        (
            "",
            "no_accept\n    dont_track_primary",
            "iifname @vips_link_local_name",
        ),
        // nftables_ifindex keeps the index key for such instances.
        (
            "    nftables_ifindex\n",
            "no_accept\n    dont_track_primary",
            "iif @vips_link_local drop",
        ),
    ];
    for (i, (globals, accept, marker)) in cases.into_iter().enumerate() {
        let conf = conf_with(accept, &v6).replace(
            "    router_id lab\n",
            &format!("    router_id lab\n{globals}"),
        );
        let theirs = keepalived_ruleset(&lab, a, &conf, &needles);
        assert!(theirs.contains(marker), "case {i}, keepalived:\n{theirs}");
        let mut v = vrrpd_with_rules_of(&lab, a, &conf, &theirs);
        v.signal(Signal::SIGTERM).expect("SIGTERM");
        let _ = v.wait_exit(WAIT);
        assert_eq!(ruleset(a).trim(), "", "vrrpd removed its tables on exit");
    }
}
