//! Replays the committed fuzz corpora (and any crash inputs kept under fuzz/regressions/)
//! through the fuzz targets' own checks on stable, so `cargo test` catches a regression
//! without the nightly fuzzer.

const CRATE: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn config_route_corpus_replays() {
    test_support::replay(
        CRATE,
        "config_route",
        3,
        elb_proxy_core::fuzzing::config_and_route,
    );
}

#[test]
fn admin_command_corpus_replays() {
    test_support::replay(
        CRATE,
        "admin_command",
        3,
        elb_proxy_core::fuzzing::admin_command,
    );
}

#[test]
fn proxy_header_corpus_replays() {
    test_support::replay(
        CRATE,
        "proxy_header",
        3,
        elb_proxy_core::fuzzing::proxy_header,
    );
}

#[test]
fn request_gate_corpus_replays() {
    test_support::replay(
        CRATE,
        "request_gate",
        3,
        elb_proxy_core::fuzzing::request_gate,
    );
}

#[test]
fn limits_table_corpus_replays() {
    test_support::replay(
        CRATE,
        "limits_table",
        3,
        elb_proxy_core::fuzzing::limits_table,
    );
}
