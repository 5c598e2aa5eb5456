//! Replays the committed fuzz seed corpora and every input that once found
//! a bug (`fuzz/regressions/<target>/`) through the same code the fuzz
//! targets run, on stable, as part of `cargo test`. The differential
//! target's inputs replay through the request checks (hyper is only in
//! the fuzz crate).

use std::path::Path;

#[path = "../fuzz/logic/chunked.rs"]
mod chunked;
#[path = "../fuzz/logic/request_head.rs"]
mod request_head;
#[path = "../fuzz/logic/response_head.rs"]
mod response_head;

const CRATE: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn request_corpora_replay_clean() {
    test_support::replay(CRATE, "request_head", 7, request_head::run);
    test_support::replay(CRATE, "differential", 7, request_head::run);
}

#[test]
fn chunked_corpus_replays_clean() {
    test_support::replay(CRATE, "chunked", 3, chunked::run);
}

#[test]
fn response_corpus_replays_clean() {
    test_support::replay(CRATE, "response_head", 6, response_head::run);
}

#[test]
fn seeds_reach_the_accepting_paths() {
    // The fuzzer should start from heads that pass, not only refusals.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/request_head");
    let mut head = elb_http1::RequestHead::default();
    for seed in ["get", "post-chunked", "absolute-same", "connect"] {
        let data = std::fs::read(root.join(seed)).unwrap();
        let r = elb_http1::parse_request(&data, &Default::default(), &mut head);
        assert_eq!(r, Ok(elb_http1::Progress::Complete), "{seed}");
    }
}

mod random_inputs {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// The fuzz targets' invariants on random inputs, on stable.
        #[test]
        fn request_head_holds_its_invariants(data in prop::collection::vec(any::<u8>(), 0..300)) {
            super::request_head::run(&data);
        }

        #[test]
        fn chunked_holds_its_invariants(data in prop::collection::vec(any::<u8>(), 0..200)) {
            super::chunked::run(&data);
        }

        #[test]
        fn response_head_holds_its_invariants(data in prop::collection::vec(any::<u8>(), 0..300)) {
            super::response_head::run(&data);
        }

        /// Random heads built from real parts, so the accepting paths are hit.
        #[test]
        fn assembled_heads_hold_the_invariants(
            method in prop::sample::select(vec!["GET", "POST", "OPTIONS", "CONNECT", "PUT"]),
            target in prop::sample::select(vec!["/", "/a/../b", "*", "h:443", "http://h/x", "/%61?q", "//x/./y"]),
            version in prop::sample::select(vec!["HTTP/1.0", "HTTP/1.1"]),
            fields in prop::collection::vec(prop::sample::select(vec![
                "Host: h", "Host: h2", "Content-Length: 3", "Transfer-Encoding: chunked",
                "Connection: close, X-A", "X-A: 1", "X_B: 2", "Expect: 100-continue",
                "Upgrade: ws", "Connection: upgrade", "TE: trailers", "X-Forwarded-For: 1.1.1.1",
            ]), 0..6),
        ) {
            let mut raw = format!("{method} {target} {version}\r\n");
            for f in fields {
                raw.push_str(f);
                raw.push_str("\r\n");
            }
            raw.push_str("\r\n");
            super::request_head::run(raw.as_bytes());
        }
    }
}
