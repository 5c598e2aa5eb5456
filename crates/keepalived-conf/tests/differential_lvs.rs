//! Differential test for what keeps a file from running beyond the reader: LVS, checker and
//! BFD blocks as keepalived 2.2.7's checker process validates them, and instances that cannot
//! run (addresses of the other family, empty `unicast_peer`, `use_vmac` with unicast, unknown
//! `track_bfd`). Same oracle and comparison as `differential.rs`.

#[allow(dead_code)] // each test binary uses part of the shared oracle
mod oracle;
mod variations;

use variations::{Case, base, one};

/// A virtual server (with `vs_body` after its scheduler lines) with one real server whose
/// body is `rs_body`, after the usual VRRP base.
fn lvs(head: &str, vs_body: &str, rs_body: &str) -> String {
    format!(
        "{}virtual_server {head} {{\n    lb_algo rr\n    lb_kind NAT\n{vs_body}\n    real_server 198.18.0.2 80 {{\n{rs_body}\n    }}\n}}\n",
        base("", "")
    )
}

/// A checker block inside the real server.
fn checker(kind: &str, body: &str) -> String {
    format!("        {kind} {{\n{body}\n        }}")
}

/// `virtual_server`, `virtual_server_group` and `real_server` as keepalived's checker process
/// validates them under `-t`.
fn lvs_cases(c: &mut Vec<Case>) {
    let vs = "198.18.0.1 80";
    let tcp = "    protocol TCP";
    let rs = checker("TCP_CHECK", "            connect_timeout 3");
    c.push(one("lvs_clean", lvs(vs, tcp, &rs)));
    c.push(one(
        "lvs_sched_bad",
        lvs(vs, &format!("{tcp}\n    lvs_sched bogus"), &rs),
    ));
    c.push(one(
        "lvs_method_bad",
        lvs(vs, &format!("{tcp}\n    lvs_method BOGUS"), &rs),
    ));
    c.push(one("lvs_protocol_bad", lvs(vs, "    protocol ICMP", &rs)));
    c.push(one("lvs_no_protocol", lvs(vs, "", &rs)));
    c.push(one(
        "lvs_persistence_0",
        lvs(vs, &format!("{tcp}\n    persistence_timeout 0"), &rs),
    ));
    c.push(one(
        "lvs_persistence_abc",
        lvs(vs, &format!("{tcp}\n    persistence_timeout abc"), &rs),
    ));
    c.push(one(
        "lvs_persistence_bare",
        lvs(vs, &format!("{tcp}\n    persistence_timeout"), &rs),
    ));
    c.push(one(
        "lvs_delay_loop_0",
        lvs(vs, &format!("{tcp}\n    delay_loop 0"), &rs),
    ));
    c.push(one(
        "lvs_delay_loop_missing",
        lvs(vs, &format!("{tcp}\n    delay_loop"), &rs),
    ));
    c.push(one(
        "lvs_unknown_keyword",
        lvs(vs, &format!("{tcp}\n    nat_mask 255.255.255.0"), &rs),
    ));
    c.push(one("lvs_fwmark_protocol", lvs("fwmark 1", tcp, &rs)));
    c.push(one("lvs_fwmark_clean", lvs("fwmark 1", "", &rs)));
    c.push(one("lvs_bad_address", lvs("198.18.0.x 80", tcp, &rs)));
    c.push(one("lvs_bad_port", lvs("198.18.0.1 99999", tcp, &rs)));
    c.push(one("lvs_no_port", lvs("198.18.0.1", tcp, &rs)));
    c.push(one(
        "lvs_no_port_persistent",
        lvs(
            "198.18.0.1",
            &format!("{tcp}\n    persistence_timeout 60"),
            &rs,
        ),
    ));
    c.push(one("lvs_unknown_group", lvs("group nogroup", tcp, &rs)));
    let group =
        "virtual_server_group G {\n    198.18.0.1 80\n    198.18.0.5-9 80\n    fwmark 3\n}\n";
    c.push(one(
        "lvs_group_clean",
        format!("{group}{}", lvs("group G", tcp, &rs)),
    ));
    c.push(one(
        "lvs_group_bad_entry",
        format!(
            "virtual_server_group G {{\n    198.18.0.x 80\n}}\n{}",
            lvs("group G", tcp, &rs)
        ),
    ));
    c.push(one(
        "lvs_group_without_brace",
        format!(
            "virtual_server_group G\n    198.18.0.1 80\n}}\n{}",
            lvs("group G", tcp, &rs)
        ),
    ));
    c.push(one(
        "lvs_without_brace",
        format!("{}virtual_server {vs}\n    lb_algo rr\n}}\n", base("", "")),
    ));
    c.push(one(
        "lvs_no_real_server",
        format!(
            "{}virtual_server {vs} {{\n    lb_algo rr\n    lb_kind NAT\n{tcp}\n}}\n",
            base("", "")
        ),
    ));
    c.push(one(
        "rs_weight_bad",
        lvs(vs, tcp, &format!("        weight abc\n{rs}")),
    ));
    c.push(one("rs_no_checker", lvs(vs, tcp, "        weight 1")));
    c.push(one(
        "rs_notify_up_as_root",
        lvs(vs, tcp, &format!("        notify_up /bin/true\n{rs}")),
    ));
    c.push(one(
        "rs_notify_up_secure",
        format!(
            "{}virtual_server {vs} {{\n    lb_algo rr\n    lb_kind NAT\n{tcp}\n    real_server 198.18.0.2 80 {{\n        notify_up /bin/true\n{rs}\n    }}\n}}\n",
            base("    enable_script_security\n    script_user root", "")
        ),
    ));
}

/// Each checker's own keywords and checks.
fn checker_cases(c: &mut Vec<Case>) {
    let vs = "198.18.0.1 80";
    let tcp = "    protocol TCP";
    let url = |inner: &str| format!("            url {{\n{inner}\n            }}");
    let cases: &[(&str, String)] = &[
        (
            "tcp_timeout_bad",
            checker("TCP_CHECK", "            connect_timeout abc"),
        ),
        (
            "tcp_unknown_keyword",
            checker("TCP_CHECK", "            bogus_kw 1"),
        ),
        (
            "misc_as_root",
            checker("MISC_CHECK", "            misc_path /bin/true"),
        ),
        ("misc_no_path", checker("MISC_CHECK", "")),
        (
            "misc_missing_script",
            checker("MISC_CHECK", "            misc_path /nonexistent/x"),
        ),
        (
            "http_clean",
            checker(
                "HTTP_GET",
                &url("                path /\n                status_code 200"),
            ),
        ),
        (
            "http_status_bad",
            checker(
                "HTTP_GET",
                &url("                path /\n                status_code 999"),
            ),
        ),
        (
            "http_status_range",
            checker(
                "HTTP_GET",
                &url("                path /\n                status_code 200-299"),
            ),
        ),
        (
            "ssl_digest_bad",
            checker(
                "SSL_GET",
                &url("                path /\n                digest zz"),
            ),
        ),
        (
            "ssl_digest_ok",
            checker(
                "SSL_GET",
                &url(
                    "                path /\n                digest 0123456789abcdef0123456789abcdef",
                ),
            ),
        ),
        (
            "dns_type_bad",
            checker("DNS_CHECK", "            type BOGUS"),
        ),
        (
            "dns_clean",
            checker("DNS_CHECK", "            name example.invalid"),
        ),
        ("ping_clean", checker("PING_CHECK", "")),
        (
            "smtp_clean",
            checker(
                "SMTP_CHECK",
                "            helo_name x\n            connect_ip 198.18.0.3",
            ),
        ),
        (
            "bfd_check_unknown",
            checker("BFD_CHECK", "            name nobfd"),
        ),
        ("file_check_no_file", checker("FILE_CHECK", "")),
        (
            "file_check_unknown_file",
            checker("FILE_CHECK", "            track_file nofile"),
        ),
    ];
    for (name, rs) in cases {
        c.push(one(name, lvs(vs, tcp, rs)));
    }
    c.push(one(
        "udp_payload_bad",
        lvs(
            vs,
            "    protocol UDP",
            &checker("UDP_CHECK", "            payload zz"),
        ),
    ));
    c.push(one(
        "udp_payload_ok",
        lvs(
            vs,
            "    protocol UDP",
            &checker("UDP_CHECK", "            payload 0a0b"),
        ),
    ));
}

/// `bfd_instance` blocks.
fn bfd_cases(c: &mut Vec<Case>) {
    let b = |body: &str| format!("bfd_instance b1 {{\n{body}\n}}\n{}", base("", ""));
    c.push(one("bfd_clean", b("    neighbor_ip 198.18.0.2")));
    c.push(one("bfd_no_neighbor", b("")));
    c.push(one("bfd_bad_neighbor", b("    neighbor_ip 198.18.0.x")));
    c.push(one(
        "bfd_min_rx_bad",
        b("    neighbor_ip 198.18.0.2\n    min_rx abc"),
    ));
    c.push(one(
        "bfd_multiplier_0",
        b("    neighbor_ip 198.18.0.2\n    multiplier 0"),
    ));
    c.push(one(
        "bfd_unknown_keyword",
        b("    neighbor_ip 198.18.0.2\n    bogus 1"),
    ));
    c.push(one(
        "bfd_duplicate",
        format!(
            "bfd_instance b1 {{\n    neighbor_ip 198.18.0.3\n}}\n{}",
            b("    neighbor_ip 198.18.0.2")
        ),
    ));
}

/// What keeps an instance from running, decidable from the file: addresses of the other
/// family than the instance (the first address written decides), an empty `unicast_peer`,
/// `use_vmac` with unicast, `track_bfd` naming an unknown BFD instance.
fn family_cases(c: &mut Vec<Case>) {
    let peer = |p: &str| format!("    unicast_peer {{\n        {p}\n    }}");
    c.push(one("peer_v6_in_v4", base("", &peer("2001:2::1"))));
    c.push(one(
        "peers_mixed",
        base("", &peer("198.18.0.2\n        2001:2::1")),
    ));
    c.push(one(
        "src_v6_peer_v4",
        base(
            "",
            &format!("    unicast_src_ip 2001:2::2\n{}", peer("198.18.0.2")),
        ),
    ));
    c.push(one(
        "mcast_dst_v6_in_v4",
        base("", "    mcast_dst_ip ff02::12"),
    ));
    c.push(one(
        "vip_trailing_slash",
        base(
            "",
            "    virtual_ipaddress_excluded {\n        198.18.0.20/\n    }",
        ),
    ));
    c.push(one(
        "mcast_dst_v4_ok",
        base("", "    mcast_dst_ip 224.0.0.19"),
    ));
    c.push(one(
        "mcast_src_v6_in_v4",
        base("", "    mcast_src_ip 2001:2::2"),
    ));
    c.push(one("native_ipv6_v4_vip", base("", "    native_ipv6")));
    c.push(one(
        "excluded_v6_first",
        base(
            "",
            "    virtual_ipaddress_excluded {\n        2001:2::10/64\n    }",
        ),
    ));
    c.push(one(
        "empty_unicast_peer",
        base("", "    unicast_peer {\n    }"),
    ));
    c.push(one(
        "use_vmac_unicast",
        base("", &format!("    use_vmac\n{}", peer("198.18.0.2"))),
    ));
    c.push(one(
        "unicast_then_use_vmac",
        base("", &format!("{}\n    use_vmac", peer("198.18.0.2"))),
    ));
    c.push(one(
        "use_vmac_unicast_xmit_base",
        base(
            "",
            &format!("    use_vmac\n    vmac_xmit_base\n{}", peer("198.18.0.2")),
        ),
    ));
    let bfd = "bfd_instance b1 {\n    neighbor_ip 198.18.0.2\n}\n";
    let track = "    track_bfd {\n        b1\n    }";
    c.push(one("track_bfd_known", format!("{bfd}{}", base("", track))));
    c.push(one(
        "track_bfd_defined_later",
        format!("{}{bfd}", base("", track)),
    ));
    c.push(one("track_bfd_unknown", base("", track)));
    c.push(one(
        "v6_instance_v4_peer",
        format!(
            "vrrp_instance VI_6 {{\n    interface eth0\n    virtual_router_id 9\n{}\n    virtual_ipaddress {{\n        2001:2::10/64\n    }}\n}}\n",
            peer("198.18.0.2")
        ),
    ));
}

#[test]
fn keepalived_and_we_agree_on_lvs_bfd_and_unrunnable_instances() {
    let mut c = Vec::new();
    family_cases(&mut c);
    lvs_cases(&mut c);
    checker_cases(&mut c);
    bfd_cases(&mut c);
    variations::compare(c, 60);
}
