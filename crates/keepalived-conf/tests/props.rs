//! Property tests: the loader never panics, whatever the bytes.

use keepalived_conf::{LoadOptions, MemResolver, load_with};
use proptest::prelude::*;
use std::path::Path;

/// Fragments that exercise every part of the reader and parser.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\n".to_string()),
        Just(" ".to_string()),
        Just("\"".to_string()),
        Just("#".to_string()),
        Just("\\".to_string()),
        Just("vrrp_instance VI".to_string()),
        Just("vrrp_script s".to_string()),
        Just("vrrp_sync_group g".to_string()),
        Just("global_defs".to_string()),
        Just("virtual_ipaddress".to_string()),
        Just("track_script".to_string()),
        Just("authentication".to_string()),
        Just("interface eth0".to_string()),
        Just("virtual_router_id".to_string()),
        Just("priority".to_string()),
        Just("state MASTER".to_string()),
        Just("198.18.0.1/24 dev eth0 brd +".to_string()),
        Just("2001:2::1".to_string()),
        Just("include *.conf".to_string()),
        Just("include main.conf".to_string()),
        Just("@nodeA ".to_string()),
        Just("@^nodeA ".to_string()),
        Just("$V=".to_string()),
        Just("$V".to_string()),
        Just("${V}".to_string()),
        Just("${_RANDOM 1 5}".to_string()),
        Just("~SEQ(N, 1, 3) ".to_string()),
        Just("~LST(N, a, b) ".to_string()),
        Just("script \"/bin/true x\" root".to_string()),
        "[ -~]{0,12}",
        any::<u8>().prop_map(|b| String::from_utf8_lossy(&[b]).into_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn loader_never_panics(parts in prop::collection::vec(fragment(), 0..60), other in prop::collection::vec(fragment(), 0..20)) {
        let r = MemResolver::new()
            .with_file("/c/main.conf", parts.concat())
            .with_file("/c/x.conf", other.concat());
        let opts = LoadOptions { config_id: Some("nodeA".into()), ..LoadOptions::default() };
        let loaded = load_with(&r, Path::new("/c/main.conf"), &opts);
        let class = loaded.exit_class();
        prop_assert!([0, 2, 4, 5, 6].contains(&class));
        prop_assert_eq!(loaded.config.is_none(), class == 2 || class == 4 && loaded.diagnostics.iter().any(|d| d.severity == keepalived_conf::Severity::Fatal));
        for d in &loaded.diagnostics {
            let _ = d.to_string();
        }
    }

    #[test]
    fn raw_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let r = MemResolver::new().with_file("/c/main.conf", bytes);
        let _ = load_with(&r, Path::new("/c/main.conf"), &LoadOptions::default());
    }
}
