//! Differential test: Debian's `keepalived -t` (2.2.7) and this crate must give the same exit
//! class on generated variations of a configuration (comments, braces, quotes, includes,
//! conditionals, definitions, repeats, unknown keywords, missing arguments, bad values,
//! scripts). keepalived runs inside a throw-away network namespace (`unshare -n`) holding a
//! veth pair named eth0/eth1, so its interface checks pass; nothing is sent anywhere.
//!
//! The oracle and its SKIPPED rule: `oracle/mod.rs`; the comparison: `variations/mod.rs`.

#[allow(dead_code)] // each test binary uses part of the shared oracle
mod oracle;
mod variations;

use variations::{Case, base, instance, one};

fn cases() -> Vec<Case> {
    let mut c = Vec::new();
    reader_cases(&mut c);
    value_cases(&mut c);
    bad_value_cases(&mut c);
    corner_cases(&mut c);
    more_corner_cases(&mut c);
    group_cases(&mut c);
    script_cases(&mut c);
    owner_cases(&mut c);
    garp_extra_if_cases(&mut c);
    garp_group_cases(&mut c);
    track_group_cases(&mut c);
    c
}

/// `track_group` blocks and the `track_group NAME` option of static entries (good, unknown,
/// duplicate, empty, missing names; entries without the interface a group tracks).
fn track_group_cases(c: &mut Vec<Case>) {
    let group = "track_group TG {\n group {\n VI_1\n }\n}\n";
    let statics = [
        "static_ipaddress {\n 198.18.5.1/24 dev eth1 track_group TG\n}",
        "static_ipaddress {\n 198.18.5.1/24 dev eth1 track_group NOPE\n}",
        "static_ipaddress {\n 198.18.5.1/24 dev eth1 track_group\n}",
        "static_ipaddress {\n 198.18.5.1/24 dev eth1 track_group TG track_group TG\n}",
        "static_routes {\n 198.18.7.0/24 via 198.18.5.254 dev eth1 track_group TG\n}",
        "static_routes {\n 198.18.7.0/24 via 198.18.5.254 track_group TG\n}",
        "static_routes {\n 198.18.7.0/24 via 198.18.5.254 dev eth1 track_group NOPE\n}",
        "static_routes {\n 198.18.7.0/24 via 198.18.5.254 dev eth1 track_group\n}",
        "static_rules {\n from 198.18.5.0/24 iif eth1 table 100 priority 100 track_group TG\n}",
        "static_rules {\n from 198.18.5.0/24 table 100 priority 100 track_group TG\n}",
        "static_rules {\n from 198.18.5.0/24 iif eth1 table 100 priority 100 track_group\n}",
    ];
    for (i, st) in statics.iter().enumerate() {
        c.push(one(
            &format!("track_group_static_{i}"),
            format!("{group}{st}\n{}", base("", "")),
        ));
    }
    // The group defined after the entry that names it is not found.
    c.push(one(
        "track_group_defined_later",
        format!("{}\n{group}{}", statics[0], base("", "")),
    ));
    let blocks = [
        "track_group TG {\n group {\n VI_1\n VI_9\n }\n}\n",
        "track_group TG {\n group {\n }\n}\n",
        "track_group TG {\n group {\n VI_1\n }\n group {\n VI_1\n }\n}\n",
        "track_group TG {\n group {\n VI_1\n }\n}\ntrack_group TG {\n group {\n VI_1\n }\n}\n",
        "track_group {\n group {\n VI_1\n }\n}\n",
        "track_group TG {\n bogus 1\n group {\n VI_1\n }\n}\n",
    ];
    for (i, b) in blocks.iter().enumerate() {
        c.push(one(
            &format!("track_group_block_{i}"),
            format!("{b}{}", base("", "")),
        ));
    }
}

/// `garp_group` bodies: delays, members, an unknown keyword (a missing interface needs the
/// host check, which `vrrpd -t` in a namespace does and this in-memory side does not).
fn garp_group_cases(c: &mut Vec<Case>) {
    let bodies = [
        "garp_interval 0.3\n interface eth1",
        "garp_interval 0.3",
        "interface eth1",
        "gna_interval 0.5\n interfaces {\n eth0\n eth1\n }",
        "garp_interval abc\n interface eth1",
        "garp_interval 0\n interface eth1",
        "garp_interval 0.3\n foo 1",
        "garp_interval 0.3\n interface",
        "garp_interval 2147.483648\n interface eth1",
    ];
    for (i, b) in bodies.iter().enumerate() {
        let text = format!("garp_group {{\n {b}\n}}\n{}", base("", ""));
        c.push(one(&format!("garp_group_{i}"), text));
    }
    let delays = [
        "eth0 2",
        "eth0 2 1",
        "eth0",
        "eth0 abc",
        "eth0 256",
        "eth0 0.00001",
        "eth0 -1",
        "eth0 2 abc",
        "eth0 2 2 extra",
        "eth0 2\n eth0 3",
    ];
    for (i, d) in delays.iter().enumerate() {
        let text = format!("interface_up_down_delays {{\n {d}\n}}\n{}", base("", ""));
        c.push(one(&format!("up_down_delays_{i}"), text));
    }
}

/// `[all] SECS` of `garp_extra_if` (0 allowed) and `vrrp_garp_extra_if` (from 1).
fn garp_extra_if_cases(c: &mut Vec<Case>) {
    let args = [
        "2", "all 2", "2 all", "0", "", "86400", "86401", "foo", "all", "2 foo", "-1", "ALL 2",
    ];
    for (i, a) in args.iter().enumerate() {
        let inst = format!("    garp_extra_if {a}");
        c.push(one(&format!("garp_extra_if_{i}"), base("", &inst)));
        let glob = format!("    vrrp_garp_extra_if {a}");
        c.push(one(&format!("vrrp_garp_extra_if_{i}"), base(&glob, "")));
    }
    // The deprecated names (an error in 2.2.7) and `vmac_addr_prefix`.
    for (name, glob, inst) in [
        ("vrrp_vmac_garp_intvl", "    vrrp_vmac_garp_intvl all 2", ""),
        ("vmac_garp_intvl", "", "    vmac_garp_intvl 2"),
        ("vmac_addr_prefix", "    vmac_addr_prefix vx", ""),
        ("vmac_addr_prefix_missing", "    vmac_addr_prefix", ""),
    ] {
        c.push(one(name, base(glob, inst)));
    }
}

/// Comments, braces, quotes, includes, conditionals, definitions, unknown keywords.
fn reader_cases(c: &mut Vec<Case>) {
    // --- clean baselines and comments
    c.push(one("clean", base("", "")));
    c.push(one(
        "comments",
        format!(
            "# top\n! bang\n{}",
            base(
                "   # c\n   ! c",
                "    priority 100 # trailing\n    advert_int 1 ! trailing"
            )
        ),
    ));
    c.push(one("comment_in_quotes", base("    router_id \"a#b\"", "")));
    c.push(one("comment_eats_arg", base("", "    interface #eth0#")));
    c.push(one(
        "single_quotes_plain",
        base("    router_id 'my router'", ""),
    ));
    // --- braces
    c.push(one("brace_next_line", "vrrp_instance VI_1\n{\n interface eth0\n virtual_router_id 5\n virtual_ipaddress\n {\n 198.18.0.1\n }\n}\n".into()));
    c.push(one("brace_glued", "vrrp_instance VI_1{\n interface eth0\n virtual_router_id 5\n virtual_ipaddress{198.18.0.1}}\n".into()));
    c.push(one("one_line_blocks", "vrrp_script s { script \"/bin/true\" }\nvrrp_instance VI_1 { interface eth0\n virtual_router_id 5\n track_script { s }\n virtual_ipaddress { 198.18.0.1 } }\n".into()));
    c.push(one("extra_close", format!("{}}}\n", base("", ""))));
    c.push(one(
        "missing_close",
        base("", "").trim_end().trim_end_matches('}').to_string(),
    ));
    c.push(one(
        "missing_open",
        "vrrp_instance VI_1\n interface eth0\n virtual_router_id 5\n".into(),
    ));
    // --- quotes
    c.push(one(
        "quoted_numbers",
        base("", "    priority \"150\"\n    virtual_router_id \"52\""),
    ));
    c.push(one("quoted_name", instance("\"VI Q\"", "51", "")));
    c.push(one("unmatched_quote", base("    router_id \"abc", "")));
    // --- includes
    c.push(Case {
        name: "include_relative_glob".into(),
        files: vec![
            (
                "keepalived.conf".into(),
                "global_defs {\n router_id x\n}\ninclude conf.d/*.conf\n".into(),
            ),
            ("conf.d/a.conf".into(), instance("VI_1", "51", "")),
            ("conf.d/b.conf".into(), instance("VI_2", "52", "")),
        ],
    });
    c.push(Case {
        name: "include_inside_block".into(),
        files: vec![
            ("keepalived.conf".into(), "vrrp_instance VI_1 {\n interface eth0\n include vrid.inc\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n".into()),
            ("vrid.inc".into(), "virtual_router_id 9\npriority 120\n".into()),
        ],
    });
    c.push(Case {
        name: "include_nested_subdir".into(),
        files: vec![
            ("keepalived.conf".into(), "include sub/first.conf\n".into()),
            ("sub/first.conf".into(), "include second.conf\n".into()),
            (
                "sub/second.conf".into(),
                instance("VI_1", "51", "    bogus_in_nested 1"),
            ),
        ],
    });
    c.push(one(
        "include_missing",
        format!("include nothere.conf\n{}", base("", "")),
    ));
    c.push(one(
        "include_brace_glob",
        format!("include {{a,b}}.conf\n{}", base("", "")),
    ));
    // --- conditionals
    c.push(one(
        "cond_match",
        base("", "@HOST priority 150\n@^HOST priority 50"),
    ));
    c.push(one(
        "cond_other",
        base("", "@otherhost bogus_kw 1\n@^otherhost priority 90"),
    ));
    c.push(one("cond_unknown_when_kept", base("", "@HOST bogus_kw 1")));
    // --- definitions and repeats
    c.push(one(
        "defs",
        format!(
            "$PRIO=150\n$IF=eth0\n{}",
            base("", "    priority $PRIO\n    interface ${IF}")
        ),
    ));
    c.push(one("defs_undefined_kept", base("    router_id $NOPE", "")));
    c.push(one(
        "defs_late_binding",
        format!("$A=bog${{B}}\n$B=us\n{}", base("    $A 1", "")),
    ));
    c.push(one("seq_vips", "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n~SEQ(N, 1, 3) 198.18.0.${N}/24\n }\n}\n".into()));
    c.push(one("seq_bad", base("~SEQ(N, 1, 0, 3) router_id x", "")));
    c.push(one("lst", base("~LST(N, a, b) bogus_${N} 1", "")));
    // --- unknown keywords
    c.push(one("unknown_global", base("    advert_intt 1", "")));
    c.push(one("unknown_instance", base("", "    prioritty 100")));
    c.push(one("unknown_top", format!("bogus_top 1\n{}", base("", ""))));
    c.push(one(
        "unknown_block_in_instance",
        base("", "    weird {\n        priority 50\n    }"),
    ));
    c.push(one(
        "misplaced_instance_kw_in_global",
        base("    garp_master_delay 5", ""),
    ));
    c.push(one("lvs_blocks_skipped", format!("{}virtual_server 198.18.0.10 80 {{\n delay_loop 6\n lb_algo rr\n lb_kind DR\n protocol TCP\n real_server 198.18.0.20 80 {{\n weight 1\n TCP_CHECK {{\n connect_timeout 3\n }}\n }}\n}}\n", base("    lvs_id LVS1", ""))));
}

/// Missing arguments (keepalived exits 2).
fn value_cases(c: &mut Vec<Case>) {
    // --- missing arguments (keepalived exits 2)
    for kw in [
        "priority",
        "interface",
        "virtual_router_id",
        "state",
        "advert_int",
        "unicast_src_ip",
    ] {
        c.push(one(
            &format!("missing_arg_{kw}"),
            base("", &format!("    {kw}")),
        ));
    }
    c.push(one("missing_arg_router_id", base("    router_id", "")));
    c.push(one(
        "missing_arg_auth_pass",
        base(
            "",
            "    authentication {\n        auth_type PASS\n        auth_pass\n    }",
        ),
    ));
}

/// Bad values: out of range, wrong type, wrong family.
fn bad_value_cases(c: &mut Vec<Case>) {
    // --- bad values
    for (n, body) in [
        ("prio_0", "    priority 0"),
        ("prio_256", "    priority 256"),
        ("prio_abc", "    priority abc"),
        ("vrid_0", "    virtual_router_id 0"),
        ("vrid_256", "    virtual_router_id 256"),
        ("advert_0", "    advert_int 0"),
        ("advert_frac", "    advert_int 0.5"),
        ("state_foo", "    state SLAVE"),
        (
            "auth_type_foo",
            "    authentication {\n        auth_type FOO\n        auth_pass x\n    }",
        ),
        (
            "auth_pass_long",
            "    authentication {\n        auth_type PASS\n        auth_pass 123456789\n    }",
        ),
        (
            "auth_ah_master",
            "    state MASTER\n    authentication {\n        auth_type AH\n        auth_pass x\n    }",
        ),
        (
            "v3_auth",
            "    version 3\n    authentication {\n        auth_type PASS\n        auth_pass x\n    }",
        ),
        ("version_4", "    version 4"),
        ("garp_delay_abc", "    garp_master_delay abc"),
        ("nopreempt_master", "    state MASTER\n    nopreempt"),
        ("nopreempt_backup", "    nopreempt"),
        (
            "preempt_delay_nopreempt",
            "    nopreempt\n    preempt_delay 10",
        ),
        ("preempt_delay", "    preempt_delay 10"),
        (
            "track_own_iface",
            "    track_interface {\n        eth0\n    }",
        ),
        (
            "track_iface_weight",
            "    track_interface {\n        eth1 weight 10\n    }",
        ),
        (
            "track_script_missing",
            "    track_script {\n        nope\n    }",
        ),
        (
            "unicast",
            "    unicast_src_ip 198.18.0.2\n    unicast_peer {\n        198.18.0.3\n    }",
        ),
        (
            "unicast_bad_peer",
            "    unicast_peer {\n        198.18.0.\n    }",
        ),
        (
            "mixed_family_vips",
            "    virtual_ipaddress {\n        2001:2::1/64\n    }",
        ),
        (
            "vip_options",
            "    virtual_ipaddress_excluded {\n        198.18.1.1/24 dev eth1 brd + scope link label eth1:x\n        198.18.1.2 dev eth0 no_track\n    }",
        ),
        (
            "vip_bad",
            "    virtual_ipaddress_excluded {\n        198.18.999.1\n    }",
        ),
        (
            "routes_no_dev",
            "    virtual_routes {\n        198.19.0.0/24 via 198.18.0.1\n    }",
        ),
        (
            "routes_dev",
            "    virtual_routes {\n        198.19.0.0/24 via 198.18.0.1 dev eth0\n    }",
        ),
        (
            "rules_no_pref",
            "    virtual_rules {\n        from 198.18.0.0/24 table 2\n    }",
        ),
        (
            "rules_pref",
            "    virtual_rules {\n        from 198.18.0.0/24 table 2 preference 100\n    }",
        ),
        (
            "strict_master_nonowner",
            "    strict_mode\n    state MASTER",
        ),
        ("use_vmac", "    use_vmac vrrp51"),
        ("smtp_alert", "    smtp_alert"),
    ] {
        c.push(one(n, base("", body)));
    }
    for (n, g) in [
        ("garp_interval_0", "    vrrp_garp_interval 0"),
        ("garp_interval_frac", "    vrrp_garp_interval 0.001"),
        ("vrrp_version_3", "    vrrp_version 3"),
        ("vrrp_version_bad", "    vrrp_version 7"),
        ("mcast_group_bad", "    vrrp_mcast_group4 198.18.0.1"),
        ("strict_global", "    vrrp_strict"),
        (
            "smtp",
            "    notification_email {\n        a@b.c\n    }\n    notification_email_from k@b.c\n    smtp_server 127.0.0.1\n    smtp_connect_timeout 30",
        ),
        ("max_auto_priority_bare", "    max_auto_priority"),
    ] {
        c.push(one(n, base(g, "")));
    }
}

/// Keywords newer than 2.2.7, escapes, predefined names, long lines, reader corners.
fn corner_cases(c: &mut Vec<Case>) {
    // --- keywords newer than 2.2.7 (vrrpd honours them, -t class stays 2.2.7's)
    c.push(one(
        "newer_owner_ignore_adverts",
        base("", "    owner_ignore_adverts"),
    ));
    c.push(one(
        "newer_no_virtual_ipaddress",
        base("    v3_checksum_as_v2", "    no_virtual_ipaddress"),
    ));
    // --- escapes, predefined names, long lines
    c.push(one("escaped_hash", base("    router_id ab\\#cd", "")));
    c.push(one(
        "predefined_names",
        base(
            "    router_id ${_INSTANCE}_${_RANDOM 1 9}\n    smtp_helo_name ${_PWD}",
            "",
        ),
    ));
    c.push(one("hash_define", base("    router_id a${_HASH}b", "")));
    c.push(one("seqx_vips", "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n~SEQx(N, 10, 2, 14) 2001:2::${N}\n }\n}\n".into()));
    c.push(one(
        "long_line",
        base(&format!("    router_id {}", "x".repeat(1100)), ""),
    ));
    c.push(one("crlf", base("", "").replace('\n', "\r\n")));
    c.push(one("tabs", base("", "").replace("    ", "\t")));
    // --- more reader corners
    c.push(Case {
        name: "include_quoted".into(),
        files: vec![
            (
                "keepalived.conf".into(),
                "include \"conf.d/*.conf\"\n".into(),
            ),
            ("conf.d/a.conf".into(), instance("VI_1", "51", "")),
        ],
    });
    c.push(one(
        "cond_definition",
        format!(
            "@HOST $P=150\n@^HOST $P=bad\n{}",
            base("", "    priority $P")
        ),
    ));
    c.push(one(
        "var_in_quotes",
        format!(
            "$X=/bin/true\n{}",
            base(
                "    enable_script_security\n    script_user root",
                "    notify_master \"$X arg\""
            )
        ),
    ));
    c.push(one(
        "comment_in_definition",
        format!("$P=120 # c\n{}", base("", "    priority $P")),
    ));
    c.push(one(
        "bang_in_vip",
        base(
            "",
            "    virtual_ipaddress_excluded {\n        198.18.2.1/24 ! note\n    }",
        ),
    ));
    c.push(one(
        "nested_unknown_top",
        format!("foo {{\n bar {{\n x 1\n }}\n}}\n{}", base("", "")),
    ));
    c.push(one(
        "brace_glued_value",
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n priority 100}\n".into(),
    ));
    c.push(one("quoted_braces", base("    router_id \"a{b}\"", "")));
    c.push(one("empty_quoted", base("    router_id \"\"", "")));
    c.push(one("quote_mid_word", base("    router_id a\"b c\"", "")));
}

/// More reader and instance corners.
fn more_corner_cases(c: &mut Vec<Case>) {
    c.push(one("dup_script_name", format!("vrrp_script chk {{\n script /bin/true\n}}\nvrrp_script chk {{\n script /bin/false\n}}\n{}", base("    enable_script_security\n    script_user root", "    track_script {\n        chk\n    }"))));
    c.push(one(
        "track_file",
        format!(
            "track_file tf {{\n file /tmp/elb-ha-nonexistent-track\n weight 5\n}}\n{}",
            base("", "    track_file {\n        tf weight 3\n    }")
        ),
    ));
    c.push(one(
        "track_file_missing",
        base("", "    track_file {\n        nope\n    }"),
    ));
    c.push(one("unicast_ttl_300", base("", "    unicast_ttl 300")));
    c.push(one("mcast_src", base("", "    mcast_src_ip 198.18.0.2")));
    c.push(one(
        "owner_nopreempt",
        base("", "    state MASTER\n    priority 255\n    nopreempt"),
    ));
    c.push(one(
        "v2_ipv6",
        base(
            "",
            "    version 2\n    virtual_ipaddress {\n        2001:2::1/64\n    }",
        )
        .replace("        198.18.0.10/24\n", ""),
    ));
    c.push(one("ipv6_only", "vrrp_instance V6 {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n 2001:2::1/64\n }\n}\n".into()));
    c.push(one("sync_two_groups", format!("vrrp_sync_group G {{\n group {{\n VI_1\n VI_2\n }}\n}}\nvrrp_sync_group H {{\n group {{\n VI_1\n VI_2\n }}\n}}\n{}{}", instance("VI_1", "51", ""), instance("VI_2", "52", ""))));
    c.push(one("static_blocks", format!("static_ipaddress {{\n 198.18.9.1/24 dev eth0\n}}\nstatic_routes {{\n 198.19.0.0/24 via 198.18.9.254 dev eth0\n}}\n{}", base("", ""))));
    c.push(one(
        "vs_group",
        format!(
            "virtual_server_group VSG {{\n 198.18.0.10 80\n}}\n{}",
            base("", "")
        ),
    ));
    c.push(one("garp_lower_prio", base("    vrrp_garp_lower_prio_repeat 2\n    vrrp_garp_lower_prio_delay 3\n    vrrp_garp_master_refresh 60", "    garp_master_refresh_repeat 2")));
    c.push(one(
        "strict_unicast",
        base(
            "    vrrp_strict",
            "    unicast_peer {\n        198.18.0.3\n    }",
        ),
    ));
    c.push(one(
        "owner_weighted_track",
        base(
            "",
            "    priority 255\n    track_interface {\n        eth1 weight 10\n    }",
        ),
    ));
    c.push(one(
        "long_iface_name",
        base("", "    interface abcdefghijklmnopq"),
    ));
    c.push(one("iface_lo", base("", "    interface lo")));
    c.push(one(
        "track_weight_254",
        base("", "    track_interface {\n        eth1 weight 254\n    }"),
    ));
    c.push(one(
        "track_weight_300",
        base("", "    track_interface {\n        eth1 weight 300\n    }"),
    ));
    c.push(one("advert_300", base("", "    advert_int 300")));
    c.push(one(
        "v3_advert_frac",
        base("", "    version 3\n    advert_int 0.333"),
    ));
    c.push(one(
        "v3_advert_50",
        base("", "    version 3\n    advert_int 50"),
    ));
    c.push(one(
        "preempt_delay_2000",
        base("", "    preempt_delay 2000"),
    ));
    c.push(one(
        "smtp_server_port",
        base("    smtp_server 127.0.0.1 2525", ""),
    ));
    c.push(one(
        "smtp_connect_timeout_0",
        base("    smtp_connect_timeout 0", ""),
    ));
    c.push(one(
        "garp_repeat_0",
        base("    vrrp_garp_master_repeat 0", ""),
    ));
    c.push(one(
        "down_timer_adverts_0",
        base("", "    down_timer_adverts 0"),
    ));
    c.push(one(
        "state_backup_after_master",
        base("", "    state MASTER\n    state BACKUP"),
    ));
}

/// Duplicates and sync groups.
fn group_cases(c: &mut Vec<Case>) {
    // --- duplicates and groups
    c.push(one(
        "dup_vrid",
        format!(
            "{}{}",
            instance("VI_1", "51", ""),
            instance("VI_2", "51", "")
        ),
    ));
    c.push(one(
        "dup_name",
        format!(
            "{}{}",
            instance("VI_1", "51", ""),
            instance("VI_1", "52", "")
        ),
    ));
    c.push(one(
        "no_vrid",
        "vrrp_instance VI_1 {\n interface eth0\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n".into(),
    ));
    c.push(one(
        "no_name",
        "vrrp_instance {\n interface eth0\n virtual_router_id 5\n}\n".into(),
    ));
    c.push(one(
        "no_vips",
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n}\n".into(),
    ));
    c.push(one(
        "sync_group",
        format!(
            "vrrp_sync_group G {{\n group {{\n VI_1\n VI_2\n }}\n}}\n{}{}",
            instance("VI_1", "51", ""),
            instance("VI_2", "52", "")
        ),
    ));
    c.push(one(
        "sync_group_one",
        format!(
            "vrrp_sync_group G {{\n group {{\n VI_1\n }}\n}}\n{}",
            instance("VI_1", "51", "")
        ),
    ));
    c.push(one(
        "sync_group_missing_member",
        format!(
            "vrrp_sync_group G {{\n group {{\n VI_1\n VI_9\n }}\n}}\n{}",
            instance("VI_1", "51", "")
        ),
    ));
    c.push(one(
        "sync_group_no_group_block",
        format!(
            "vrrp_sync_group G {{\n VI_1\n}}\n{}",
            instance("VI_1", "51", "")
        ),
    ));
}

/// Scripts and their security.
fn script_cases(c: &mut Vec<Case>) {
    // --- scripts
    let script = "vrrp_script chk {\n    script \"/bin/true\"\n    interval 2\n    weight -20\n    fall 2\n    rise 2\n}\n";
    let tracked = "    track_script {\n        chk\n    }";
    c.push(one(
        "script_root_insecure",
        format!("{script}{}", base("", tracked)),
    ));
    c.push(one(
        "script_secure_root",
        format!(
            "{script}{}",
            base("    enable_script_security\n    script_user root", tracked)
        ),
    ));
    c.push(one(
        "script_secure_no_user",
        format!("{script}{}", base("    enable_script_security", tracked)),
    ));
    c.push(one(
        "script_missing",
        format!(
            "vrrp_script chk {{\n script /nonexistent/x.sh\n}}\n{}",
            base("", tracked)
        ),
    ));
    c.push(one(
        "script_in_path",
        format!(
            "vrrp_script chk {{\n script \"true\"\n}}\n{}",
            base("    enable_script_security\n    script_user root", tracked)
        ),
    ));
    c.push(one(
        "script_no_script",
        format!("vrrp_script chk {{\n interval 2\n}}\n{}", base("", tracked)),
    ));
    c.push(one(
        "script_interval_frac",
        format!(
            "vrrp_script chk {{\n script /bin/true\n interval 0.5\n}}\n{}",
            base("    enable_script_security\n    script_user root", tracked)
        ),
    ));
    c.push(one(
        "script_weight_300",
        format!(
            "vrrp_script chk {{\n script /bin/true\n weight 300\n}}\n{}",
            base("    enable_script_security\n    script_user root", tracked)
        ),
    ));
    c.push(one(
        "script_defined_after_use",
        format!(
            "{}{script}",
            base("    enable_script_security\n    script_user root", tracked)
        ),
    ));
    c.push(one(
        "notify_root",
        base("", "    notify_master \"/bin/true master\""),
    ));
    c.push(one(
        "notify_missing",
        base("", "    notify_master /nonexistent/n.sh"),
    ));
    c.push(one(
        "notify_secure",
        base(
            "    enable_script_security\n    script_user root",
            "    notify_master /bin/true\n    notify /bin/true",
        ),
    ));
    c.push(one(
        "notify_twice",
        base(
            "    enable_script_security\n    script_user root",
            "    notify_master /bin/true\n    notify_master /bin/false",
        ),
    ));
}

#[test]
fn keepalived_and_we_agree_on_variations() {
    variations::compare(cases(), 140);
}

/// `interface_up_down_delays` naming an interface the oracle's namespace lacks: keepalived
/// stops there (class 4) without reading that line's delays; a bad line elsewhere is 5.
#[test]
fn up_down_delays_of_a_missing_interface_agree_with_keepalived() {
    let lines = [
        "eth9 2",
        "eth9",
        "eth9 abc",
        "eth9 -1",
        "eth9 256",
        "eth9 2 abc",
        "eth9 2\n eth0 abc",
    ];
    let c: Vec<Case> = (lines.iter().enumerate())
        .map(|(i, d)| {
            let text = format!("interface_up_down_delays {{\n {d}\n}}\n{}", base("", ""));
            one(&format!("up_down_delays_missing_{i}"), text)
        })
        .collect();
    variations::compare_with(c, lines.len(), &oracle::Sandbox(&[]));
}

/// An address owner's weighted trackers, one kind of tracker at a time.
fn owner_cases(c: &mut Vec<Case>) {
    let owner_files = "vrrp_track_file plain {\n    file /tmp/elb-owner-plain\n}\nvrrp_track_file heavy {\n    file /tmp/elb-owner-heavy\n    weight 10\n}\n";
    c.push(one(
        "owner_track_files",
        format!(
            "{owner_files}{}",
            base(
                "",
                "    priority 255\n    track_file {\n        plain\n        heavy\n    }"
            )
        ),
    ));
    c.push(one(
        "owner_track_file_default_weight_only",
        format!(
            "{owner_files}{}",
            base(
                "",
                "    priority 255\n    track_file {\n        plain\n    }"
            )
        ),
    ));
    c.push(one(
        "owner_weighted_track_process",
        format!(
            "vrrp_track_process p {{\n    process elb-proxy\n    weight -5\n}}\n{}",
            base(
                "",
                "    priority 255\n    track_process {\n        p\n    }"
            )
        ),
    ));
}
