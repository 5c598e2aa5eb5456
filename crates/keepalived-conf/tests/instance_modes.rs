//! Instance modes: `vrrp_strict` / `strict_mode` (the settings keepalived 2.2.7 resets with an
//! error, Accept_Mode off for every instance but the address owner) and `use_vmac` addresses.

use keepalived_conf::*;
use std::path::Path;

fn load(text: &str) -> Loaded {
    let r = MemResolver::new().with_file("/k.conf", text);
    let opts = LoadOptions {
        skip_script_checks: true,
        ..LoadOptions::default()
    };
    load_with(&r, Path::new("/k.conf"), &opts)
}

fn instance(name: &str, vrid: u8, prio: u8, body: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n priority {prio}\n{body} virtual_ipaddress {{\n 198.18.0.{vrid}/24\n }}\n}}\n"
    )
}

#[test]
fn strict_mode_resets_what_it_forbids_and_defaults_to_no_accept() {
    let text = format!(
        "global_defs {{\n vrrp_strict\n}}\n{}{}",
        instance(
            "VI_1",
            1,
            100,
            " higher_prio_send_advert\n down_timer_adverts 5\n use_vmac\n vmac_xmit_base\n"
        ),
        instance("OWNER", 2, 255, " state MASTER\n"),
    );
    let l = load(&text);
    assert_eq!(l.exit_class(), 5, "keepalived -t exits 5 on this file");
    for msg in [
        "(VI_1) down_timer_adverts is incompatible with strict mode - resetting",
        "(VI_1) strict mode requires higher_prio_send_advert to be clear. resetting",
        "(VI_1) xmit_base is incompatible with strict mode - resetting",
    ] {
        assert!(
            l.diagnostics.iter().any(|d| d.message == msg),
            "missing {msg:?}: {:?}",
            l.diagnostics
        );
    }
    let c = l.config.unwrap();
    let (vi, owner) = (&c.instances[0], &c.instances[1]);
    assert_eq!(
        (
            vi.down_timer_adverts,
            vi.higher_prio_send_advert,
            vi.vmac_xmit_base
        ),
        (3, false, false)
    );
    assert!(
        vi.strict_mode && !vi.accept,
        "non-owner in strict mode: no_accept"
    );
    assert!(owner.accept, "the address owner accepts");
    assert!(vi.lower_prio_no_advert && vi.owner_ignore_adverts);

    // Per instance: strict_mode alone, and an explicit `accept` on v3 stays.
    let l = load(&instance(
        "VI_1",
        1,
        100,
        " strict_mode\n version 3\n accept\n",
    ));
    let c = l.config.unwrap();
    assert!(c.instances[0].strict_mode && c.instances[0].accept);
}

#[test]
fn an_invalid_vmac_address_is_an_error_and_the_rfc_mac_is_used() {
    let l = load(&instance("VI_1", 1, 100, " use_vmac vm1 00:zz:5e\n"));
    assert_eq!(l.exit_class(), 5);
    let c = l.config.unwrap();
    let v = c.instances[0].use_vmac.as_ref().unwrap();
    assert_eq!((v.name.as_deref(), v.mac.as_deref()), (Some("vm1"), None));
}

#[test]
fn use_vmac_words_vrrpd_does_not_act_on_are_warned_at_their_line() {
    // Line 5 of the instance: `use_vmac` comes after interface, vrid and priority.
    let l = load(&instance(
        "VI_1",
        1,
        100,
        " use_vmac vm1 netlink_notify_msg group 3\n",
    ));
    assert_eq!(l.exit_class(), 0);
    let text: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    for word in ["netlink_notify_msg", "group"] {
        assert!(
            text.iter()
                .any(|t| t.contains("/k.conf:5:")
                    && t.contains(&format!("`{word}` is not honoured"))),
            "{word}: {text:#?}"
        );
    }
    let v = l.config.unwrap().instances[0].use_vmac.clone().unwrap();
    assert_eq!(v.name.as_deref(), Some("vm1"));
}

#[test]
fn address_and_route_interfaces_are_tracked_unless_no_track() {
    let body = " virtual_ipaddress_excluded {\n 198.18.3.1/24 dev eth3\n 198.18.4.1/24 dev eth4 no_track\n }\n\
         virtual_routes {\n 198.19.5.0/24 via 198.18.5.254 dev eth5\n 198.19.6.0/24 via 198.18.6.254 dev eth6 no_track\n\
         198.19.7.0/24 dev eth0\n }\n";
    let text = format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n{body} virtual_ipaddress {{\n\
         198.18.0.1/24\n 198.18.1.1/24 dev eth1\n 198.18.2.1/24 dev eth2 no_track\n 198.18.1.2/24 dev eth1\n }}\n}}\n"
    );
    let l = load(&text);
    let c = l.config.unwrap();
    assert_eq!(
        c.instances[0].address_interfaces(),
        ["eth1", "eth3", "eth5"],
        "each tracked `dev` once, own interface and no_track lines left out"
    );
}

#[test]
fn vip_vmacs_go_on_the_interfaces_of_use_vmac_lines_and_with_use_vmac_addr_on_every_other() {
    let vips = " virtual_ipaddress {\n 198.18.0.1/24\n 198.18.1.1/24 dev eth1\n\
                198.18.2.1/24 dev eth2 use_vmac\n 198.18.0.2/24 use_vmac\n }\n";
    let text = |extra: &str| {
        format!("vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n{extra}{vips}}}\n")
    };
    let got = |extra: &str| {
        let c = load(&text(extra)).config.unwrap();
        c.instances[0]
            .vip_vmac_interfaces()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(got(""), ["eth2", "eth0"]);
    assert_eq!(got(" use_vmac_addr\n"), ["eth1", "eth2", "eth0"]);
    // The instance's own VMAC already carries the VIPs of its interface.
    assert_eq!(got(" use_vmac\n use_vmac_addr\n"), ["eth1", "eth2"]);
}

#[test]
fn old_unicast_checksum_takes_never_and_reports_any_other_word() {
    let modes = [
        ("", OldUnicastChecksum::Auto),
        (" old_unicast_checksum\n", OldUnicastChecksum::Always),
        (" old_unicast_checksum never\n", OldUnicastChecksum::Never),
        (
            " old_unicast_checksum never extra\n",
            OldUnicastChecksum::Never,
        ),
    ];
    for (body, want) in modes {
        let l = load(&instance("VI_1", 1, 100, body));
        assert!(l.diagnostics.is_empty(), "{body:?}: {:?}", l.diagnostics);
        assert_eq!(l.config.unwrap().instances[0].old_unicast_checksum, want);
    }
    // keepalived 2.2.7 reports the word and ignores the keyword: auto-detection stays.
    let l = load(&instance("VI_1", 1, 100, " old_unicast_checksum NEVER\n"));
    let d = l
        .diagnostics
        .iter()
        .find(|d| d.message == "(VI_1) Unknown old_unicast_chksum mode NEVER - ignoring")
        .unwrap_or_else(|| panic!("{:?}", l.diagnostics));
    assert_eq!(d.line, 5);
    assert_eq!(l.exit_class(), 5, "keepalived -t exits 5 on this file");
    let c = l.config.unwrap();
    assert_eq!(
        c.instances[0].old_unicast_checksum,
        OldUnicastChecksum::Auto
    );
}
