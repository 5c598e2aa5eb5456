//! Replays the committed fuzz seed corpora and every input that once found
//! a bug (`fuzz/regressions/<target>/`) through the same code the fuzz
//! targets run, on stable, as part of `cargo test`.

use std::path::Path;

#[path = "../fuzz/logic/decode.rs"]
mod decode;
#[path = "../fuzz/logic/instance_rx.rs"]
mod instance_rx;

const CRATE: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn decode_corpus_replays_clean() {
    test_support::replay(CRATE, "decode", 5, decode::run);
}

#[test]
fn instance_rx_corpus_replays_clean() {
    test_support::replay(CRATE, "instance_rx", 4, instance_rx::run);
}

#[test]
fn seeds_reach_the_interesting_paths() {
    // The keepalived captures in the seed corpus must pass every check, so
    // the fuzzer starts from accepted packets, not only rejected ones.
    let data = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode/keepalived-v2-pass"),
    )
    .unwrap();
    let pkt = vrrp::rx::parse_ipv4(&data[1..]).unwrap();
    let mut cfg = vrrp::InstanceConfig::new(
        "v2",
        51,
        vrrp::Version::V2,
        std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 88, 1)),
    );
    cfg.auth = vrrp::Auth::pass(b"secret12");
    assert!(vrrp::rx::check(&cfg, &pkt, 100, None).is_ok());
}

mod random_inputs {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// The fuzz targets' invariants on random inputs, on stable, in `cargo test`.
        #[test]
        fn decode_holds_its_invariants(data in prop::collection::vec(any::<u8>(), 0..200)) {
            super::decode::run(&data);
        }

        #[test]
        fn instance_rx_holds_its_invariants(data in prop::collection::vec(any::<u8>(), 0..400)) {
            super::instance_rx::run(&data);
        }
    }
}
