//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the stable test that replays
//! their committed corpora (`tests/fuzz_corpus.rs`). Each must accept any bytes without
//! panicking, hanging or allocating without bound.

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::config;
use crate::route::{RequestHead, Router};

/// Config loading and route matching: the bytes are a config file; when it is valid, a few
/// request heads derived from the same bytes are routed through its compiled table.
pub fn config_and_route(data: &[u8]) {
    // Bound input size the way a real deployment would (config files are small).
    if data.len() > 64 * 1024 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = config::parse(text, "fuzz.yaml") else {
        return;
    };
    let names: Vec<&str> = cfg.clusters.iter().map(|c| c.name.as_str()).collect();
    let router = Router::compile(&cfg, |n| names.iter().position(|x| *x == n));
    let mut headers = HeaderMap::new();
    for line in text.lines().take(8) {
        if let Some((k, v)) = line.split_once(':') {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.trim().as_bytes()),
                HeaderValue::from_str(v.trim()),
            ) {
                headers.append(k, v);
            }
        }
    }
    for word in text.split_whitespace().take(16) {
        let head = RequestHead {
            host: Some(word),
            path: word,
            method: &Method::GET,
            headers: &headers,
        };
        if let Some(r) = router.route(&head) {
            assert!(
                r.cluster < cfg.clusters.len(),
                "route points outside the cluster list"
            );
        }
    }
}

/// The admin command parser.
pub fn admin_command(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n').take(64) {
        let _ = crate::command::parse(line);
    }
}
