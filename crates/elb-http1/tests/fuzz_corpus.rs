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

fn replay(dirs: &[&str], run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for target in dirs {
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
    }
    n
}

#[test]
fn request_corpora_replay_clean() {
    assert!(replay(&["request_head", "differential"], request_head::run) >= 14);
}

#[test]
fn chunked_corpus_replays_clean() {
    assert!(replay(&["chunked"], chunked::run) >= 3);
}

#[test]
fn response_corpus_replays_clean() {
    assert!(replay(&["response_head"], response_head::run) >= 6);
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
