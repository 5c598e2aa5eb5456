//! The model: keepalived's defaults that bite, per-address syntax, scripts, deliberate
//! differences. In memory (no file system).

use keepalived_conf::*;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

fn load(text: &str) -> Loaded {
    let mut r = MemResolver::new().with_file("/etc/keepalived/keepalived.conf", text);
    r.scripts.insert("/bin/check".into(), true);
    r.users = Some(BTreeSet::from(["root".to_string()]));
    let opts = LoadOptions {
        config_id: Some("nodeA".into()),
        ..LoadOptions::default()
    };
    load_with(&r, Path::new("/etc/keepalived/keepalived.conf"), &opts)
}

fn cfg(text: &str) -> Config {
    let l = load(text);
    l.config
        .unwrap_or_else(|| panic!("no config: {:?}", l.diagnostics))
}

#[test]
fn state_master_without_priority_is_owner() {
    let c = cfg(
        "vrrp_instance A {\n state MASTER\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n",
    );
    let i = &c.instances[0];
    assert_eq!(i.priority, 255);
    assert_eq!(i.state, Some(InitialState::Master));
    assert_eq!(i.advert_int, Duration::from_secs(1));
    assert_eq!(i.version, 2);
    assert!(i.accept, "keepalived's default is accept mode");
    assert!(!i.nopreempt);
    assert_eq!(
        (i.garp_master_delay, i.garp_master_repeat),
        (Duration::from_secs(5), 5)
    );
    let c = cfg(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n",
    );
    assert_eq!(c.instances[0].priority, 100);
    assert_eq!(c.instances[0].state, None);
}

#[test]
fn auth_pass_cut_to_8_bytes_with_error() {
    let l = load(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n authentication {\n auth_type PASS\n auth_pass secret12345\n }\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n",
    );
    assert_eq!(l.exit_class(), 5);
    let c = l.config.unwrap();
    assert_eq!(
        c.instances[0].authentication,
        Some(Authentication::Pass("secret12".into()))
    );
    let d = l
        .diagnostics
        .iter()
        .find(|d| d.message.contains("Truncating"))
        .unwrap();
    assert_eq!((d.line, d.column), (6, 12));
    assert_eq!(
        d.to_string(),
        "/etc/keepalived/keepalived.conf:6:12: error: Truncating auth_pass to 8 characters"
    );
}

#[test]
fn script_defaults_and_weight_zero_means_fault() {
    let c = cfg(
        "global_defs {\n enable_script_security\n script_user root\n}\nvrrp_script chk {\n script \"/bin/check --x=1 'a b'\"\n interval 0.05\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n track_script {\n chk weight -20 reverse\n }\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n",
    );
    let s = &c.scripts["chk"];
    assert_eq!(
        s.weight, 0,
        "weight 0 (FAULT on failure) is keepalived's default"
    );
    assert_eq!((s.rise, s.fall), (1, 1));
    assert_eq!(
        s.interval,
        Duration::from_millis(50),
        "fractional interval kept as written"
    );
    assert_eq!(s.timeout, s.interval, "timeout unset means interval");
    assert_eq!(s.script.argv, ["/bin/check", "--x=1", "a b"]);
    let t = &c.instances[0].track_script[0];
    assert_eq!((t.weight, t.reverse), (Some(-20), Some(true)));
}

#[test]
fn vip_full_syntax() {
    let c = cfg(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1/24 dev eth1 brd + scope link label eth1:v no_track\n 198.18.0.2\n 2001:2::1/64\n }\n virtual_ipaddress_excluded {\n 2001:2::9/64 dev eth0 preferred_lft forever\n }\n}\n",
    );
    let i = &c.instances[0];
    assert_eq!(i.family, Family::V4);
    assert_eq!(
        i.virtual_ipaddress.len(),
        2,
        "IPv6 VIP in an IPv4 instance is dropped"
    );
    let v = &i.virtual_ipaddress[0];
    assert_eq!(v.addr, "198.18.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(v.prefix_len, 24);
    assert_eq!(v.dev.as_deref(), Some("eth1"));
    assert_eq!(v.brd, Some(Broadcast::Plus));
    assert_eq!(v.scope.as_deref(), Some("link"));
    assert_eq!(v.label.as_deref(), Some("eth1:v"));
    assert!(v.no_track);
    assert_eq!(i.virtual_ipaddress[1].prefix_len, 32);
    assert_eq!(
        i.virtual_ipaddress_excluded[0].preferred_lft,
        Some(u32::MAX)
    );
}

#[test]
fn ipv6_instance_is_v3() {
    let c = cfg(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n advert_int 0.5\n virtual_ipaddress {\n fe80::1/64\n }\n}\n",
    );
    assert_eq!(c.instances[0].family, Family::V6);
    assert_eq!(c.instances[0].version, 3);
    assert_eq!(c.instances[0].advert_int, Duration::from_millis(500));
}

#[test]
fn notify_extra_words_are_user_and_group() {
    let c = cfg(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n notify_master /bin/check arg\n notify \"/bin/check x\" root :wheel\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n",
    );
    let n = &c.instances[0].notify;
    let m = n.master.as_ref().unwrap();
    assert_eq!(
        (m.argv.as_slice(), m.user.as_deref()),
        (&["/bin/check".to_string()][..], Some("arg"))
    );
    let g = n.generic.as_ref().unwrap();
    assert_eq!(g.argv, ["/bin/check", "x"]);
    assert_eq!(g.group.as_deref(), Some("wheel"));
}

#[test]
fn unknown_keyword_suggests_and_skips_its_block() {
    let l = load(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n advert_intt 2\n weird {\n priority 50\n }\n priority 90\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n",
    );
    assert_eq!(l.exit_class(), 5);
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.message.clone()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("did you mean `advert_int`?")),
        "{msgs:?}"
    );
    // The unknown block is skipped as a whole, the instance continues (keepalived would cascade).
    let c = l.config.unwrap();
    assert_eq!(c.instances[0].priority, 90);
    assert_eq!(c.instances[0].virtual_ipaddress.len(), 1);
}

#[test]
fn missing_argument_stops_with_class_2() {
    let l = load("vrrp_instance A {\n interface #IFACE#\n virtual_router_id 1\n}\n");
    assert_eq!(l.exit_class(), 2);
    assert!(l.config.is_none());
    let d = &l.diagnostics[0];
    assert_eq!(
        (d.severity, d.line, d.keyword.as_str()),
        (Severity::Fatal, 2, "interface")
    );
}

#[test]
fn missing_main_file_cannot_run() {
    let r = MemResolver::new();
    let l = load_with(&r, Path::new("/nope.conf"), &LoadOptions::default());
    assert_eq!(
        l.exit_class(),
        4,
        "keepalived exits 0 here (issue #955); vrrpd says it cannot run"
    );
    assert!(l.config.is_none());
}

#[test]
fn escaped_hash_is_kept() {
    let c = cfg("global_defs {\n router_id ab\\#cd\n}\n");
    assert_eq!(c.global_defs.router_id.as_deref(), Some("ab#cd"));
}

#[test]
fn script_security_classes() {
    let base = "vrrp_script c {\n script /bin/check\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n track_script {\n c\n }\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n";
    assert_eq!(load(base).exit_class(), 6);
    let secure = format!("global_defs {{\n enable_script_security\n script_user root\n}}\n{base}");
    assert_eq!(load(&secure).exit_class(), 0);
    let missing = base.replace("/bin/check", "/bin/none");
    let l = load(&missing);
    assert_eq!(l.exit_class(), 5);
    assert!(
        l.config.unwrap().instances[0].track_script.is_empty(),
        "disabled script untracked"
    );
}

#[test]
fn sync_groups_resolve_after_parsing() {
    let c = cfg(
        "vrrp_sync_group G {\n group {\n A B\n }\n notify_master /bin/check\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n 198.18.0.2\n }\n}\n",
    );
    assert_eq!(c.sync_groups[0].group, ["A", "B"]);
    assert_eq!(c.instances[1].sync_group.as_deref(), Some("G"));
}

#[test]
fn model_serialises_and_compares() {
    let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n";
    let a = cfg(text);
    let b = cfg(&text.replace("198.18.0.1", "198.18.0.2"));
    assert_ne!(a, b);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(
        json["instances"][0]["virtual_ipaddress"][0]["addr"],
        "198.18.0.1"
    );
    assert_eq!(json["instances"][0]["family"], "inet");
    assert_eq!(
        json["instances"][0]["advert_int"], 1.0,
        "durations dump as seconds"
    );
}

#[test]
fn includes_through_the_resolver() {
    let r = MemResolver::new()
        .with_file("/k/keepalived.conf", "include conf.d/*.conf\n")
        .with_file("/k/conf.d/1.conf", "@nodeA $P=150\n@^nodeA $P=50\n")
        .with_file("/k/conf.d/2.conf", "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority $P\n virtual_ipaddress {\n~SEQ(N, 1, 3) 198.18.0.${N}\n }\n}\n");
    let opts = LoadOptions {
        config_id: Some("nodeA".into()),
        ..LoadOptions::default()
    };
    let c = load_with(&r, Path::new("/k/keepalived.conf"), &opts)
        .config
        .unwrap();
    assert_eq!(c.instances[0].priority, 150);
    assert_eq!(c.instances[0].virtual_ipaddress.len(), 3);
    let opts = LoadOptions {
        config_id: Some("nodeB".into()),
        ..LoadOptions::default()
    };
    let c = load_with(&r, Path::new("/k/keepalived.conf"), &opts)
        .config
        .unwrap();
    assert_eq!(c.instances[0].priority, 50);
}

#[test]
fn min_garp_changes_defaults_only() {
    let c = cfg(
        "global_defs {\n vrrp_min_garp\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 2\n garp_master_repeat 3\n virtual_ipaddress {\n 198.18.0.2\n }\n}\n",
    );
    assert_eq!(
        (
            c.instances[0].garp_master_repeat,
            c.instances[0].garp_master_delay
        ),
        (1, Duration::ZERO)
    );
    assert_eq!(c.instances[1].garp_master_repeat, 3);
}

#[test]
fn no_virtual_ipaddress_instance_loads_without_vips() {
    let text =
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n no_virtual_ipaddress\n}\n";
    let l = load(text);
    let i = &l.config.as_ref().expect("config").instances[0];
    assert!(i.virtual_ipaddress.is_empty() && i.no_virtual_ipaddress);
    assert!(
        !l.diagnostics.iter().any(|d| d.message.contains("No VIP")),
        "no_virtual_ipaddress silences the missing-VIP warning: {:?}",
        l.diagnostics
    );
    // Without it the same instance gets the warning.
    let l = load(&text.replace(" no_virtual_ipaddress\n", ""));
    assert!(l.diagnostics.iter().any(|d| d.message.contains("No VIP")));
}

#[test]
fn a_stray_brace_is_dropped_and_the_lines_after_it_are_still_read() {
    let l = load(
        "{\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n {\n priority 90\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n",
    );
    assert_eq!(l.exit_class(), 5);
    let strays: Vec<u32> = l
        .diagnostics
        .iter()
        .filter(|d| d.message == "unexpected '{' - ignoring")
        .map(|d| d.line)
        .collect();
    assert_eq!(strays, [1, 5]);
    let c = l.config.unwrap();
    assert_eq!(c.instances[0].priority, 90);
    assert_eq!(c.instances[0].virtual_ipaddress.len(), 1);
}

#[test]
fn a_tracker_block_without_a_name_is_a_missing_parameter() {
    for kw in ["vrrp_script", "track_file", "vrrp_track_process"] {
        let l = load(&format!("{kw} {{\n script /bin/check\n}}\n"));
        assert_eq!(l.exit_class(), 2, "{kw}: {:?}", l.diagnostics);
        assert_eq!(l.diagnostics[0].keyword, kw);
    }
}

#[test]
fn nftables_table_name_and_instance_are_kept_and_a_name_nft_cannot_take_is_an_error() {
    let inst = "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n";
    let c = cfg(&format!(
        "instance lb-a\nglobal_defs {{\n nftables lb_tables\n}}\n{inst}"
    ));
    assert_eq!(c.global_defs.nftables.as_deref(), Some("lb_tables"));
    assert_eq!(c.instance.as_deref(), Some("lb-a"));
    let bare = cfg(&format!("global_defs {{\n nftables\n}}\n{inst}"));
    assert_eq!(bare.global_defs.nftables, None);
    let l = load(&format!("global_defs {{\n nftables 9bad\n}}\n{inst}"));
    let d = l
        .diagnostics
        .iter()
        .find(|d| d.message.contains("nftables: table name \"9bad\""))
        .unwrap_or_else(|| panic!("{:?}", l.diagnostics));
    assert_eq!(d.severity, Severity::Error, "{d:?}");
}

/// keepalived 2.2.7 run side by side: an owner drops weighted scripts, interfaces and files
/// with a written weight, keeps a default-weight file at weight 0 (so a non-zero value is
/// FAULT), and keeps process trackers, whose weights cannot move priority 255.
#[test]
fn address_owner_drops_weighted_trackers_and_zeroes_a_default_file_weight() {
    let l = load(concat!(
        "global_defs {\n enable_script_security\n script_user root\n}\n",
        "vrrp_script chk {\n script /bin/check\n weight -20\n}\n",
        "vrrp_track_file plain {\n file /run/plain\n}\n",
        "vrrp_track_file heavy {\n file /run/heavy\n weight 10\n}\n",
        "vrrp_track_file zero {\n file /run/zero\n}\n",
        "vrrp_track_process proc {\n process elb-proxy\n weight -5\n}\n",
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 255\n",
        " track_interface {\n eth1 weight 4\n eth2\n }\n",
        " track_script {\n chk\n }\n",
        " track_file {\n plain\n heavy\n zero weight 0\n }\n",
        " track_process {\n proc\n }\n",
        " virtual_ipaddress {\n 198.18.0.1\n }\n}\n",
    ));
    let c = l.config.as_ref().expect("config");
    let i = &c.instances[0];
    let names = |v: &[TrackRef]| {
        v.iter()
            .map(|t| (t.name.clone(), t.weight))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        i.track_interface
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["eth2"]
    );
    assert!(i.track_script.is_empty());
    assert_eq!(
        names(&i.track_file),
        [
            ("plain".to_string(), Some(0)),
            ("zero".to_string(), Some(0))
        ]
    );
    assert_eq!(names(&i.track_process), [("proc".to_string(), None)]);
    let said: Vec<_> = l.diagnostics.iter().map(|d| d.message.as_str()).collect();
    for expected in [
        "(A) ignoring eth1 tracked interface due to address owner",
        "(A) ignoring tracked script chk with weights due to address_owner",
        "(A) ignoring tracked file heavy with weight 10 due to address_owner",
        "(A) ignoring weight from tracked file plain due to address_owner. specify weight 0",
    ] {
        assert!(said.contains(&expected), "{expected:?} not in {said:?}");
    }
}

/// The priority `${_RANDOM 1 200}` expands to when the daemon's own seed is `daemon_seed`.
fn random_priority(global: &str, daemon_seed: u64) -> u8 {
    let text = format!(
        "global_defs {{\n{global}}}\nvrrp_instance A {{\n interface eth0\n virtual_router_id 1\n priority ${{_RANDOM 1 200}}\n virtual_ipaddress {{\n 198.18.0.1\n }}\n}}\n"
    );
    let r = MemResolver::new().with_file("/etc/keepalived/keepalived.conf", text);
    let opts = LoadOptions {
        config_id: Some("nodeA".into()),
        random_seed: daemon_seed,
        ..LoadOptions::default()
    };
    let l = load_with(&r, Path::new("/etc/keepalived/keepalived.conf"), &opts);
    let c = l
        .config
        .unwrap_or_else(|| panic!("no config: {:?}", l.diagnostics));
    assert!(
        !l.diagnostics
            .iter()
            .any(|d| d.message.contains("random_seed")),
        "{:?}",
        l.diagnostics
    );
    assert_eq!(
        c.global_defs.random_seed.is_some(),
        global.contains("random_seed")
    );
    c.instances[0].priority
}

#[test]
fn random_seed_makes_random_expansions_repeatable() {
    // Without the keyword the daemon's changing seed decides (these two seeds differ).
    let unseeded: BTreeSet<u8> = (1..=8).map(|s| random_priority("", s)).collect();
    assert!(unseeded.len() > 1, "{unseeded:?}");
    // With it, every start reads the same value whatever the daemon's seed, and another
    // `random_seed` reads another.
    let seeded: BTreeSet<u8> = (1..=8)
        .map(|s| random_priority(" random_seed 7\n", s))
        .collect();
    assert_eq!(seeded.len(), 1, "{seeded:?}");
    let other: BTreeSet<u8> = (1..=8)
        .map(|s| random_priority(" random_seed 8\n", s))
        .collect();
    assert_eq!(other.len(), 1, "{other:?}");
    assert_ne!(seeded, other);
}

#[test]
fn random_seed_takes_keepalived_unsigned_range() {
    for (value, ok) in [
        ("0", true),
        ("4294967295", true),
        ("4294967296", false),
        ("-1", false),
        ("abc", false),
    ] {
        let l = load(&format!("global_defs {{\n random_seed {value}\n}}\n"));
        let errors = l
            .diagnostics
            .iter()
            .filter(|d| d.message.contains("random_seed"))
            .count();
        assert_eq!(errors == 0, ok, "{value}: {:?}", l.diagnostics);
    }
}
