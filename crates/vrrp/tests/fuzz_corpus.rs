//! Replays the committed fuzz seed corpora and every input that once found
//! a bug (`fuzz/regressions/<target>/`) through the same code the fuzz
//! targets run, on stable, as part of `cargo test`.

use std::path::Path;

#[path = "../fuzz/logic/decode.rs"]
mod decode;
#[path = "../fuzz/logic/instance_rx.rs"]
mod instance_rx;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for p in paths {
            let data = std::fs::read(&p).unwrap();
            let r = std::panic::catch_unwind(|| run(&data));
            assert!(r.is_ok(), "{} failed", p.display());
            n += 1;
        }
    }
    n
}

#[test]
fn decode_corpus_replays_clean() {
    assert!(replay("decode", decode::run) >= 5);
}

#[test]
fn instance_rx_corpus_replays_clean() {
    assert!(replay("instance_rx", instance_rx::run) >= 4);
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
