//! Shared by the `request_head` and `differential` fuzz targets and the
//! corpus-replay test of elb-http1 (`tests/fuzz_corpus.rs`), so stable
//! `cargo test` runs what the fuzzer runs.

use elb_http1::{
    FieldKind, HeadWriter, PathOptions, Progress, RequestConfig, RequestHead, Rewrite, Underscores,
    normalize_path, parse_request,
};

/// Parses `data` under two policies and checks what must always hold of
/// an accepted head: ranges inside the head, lines tiling it, the prefix
/// before the end still partial, normalisation idempotent.
pub fn run(data: &[u8]) {
    let strict = RequestConfig {
        underscores: Underscores::Reject,
        ..RequestConfig::default()
    };
    let lenient = RequestConfig {
        host_mismatch: elb_http1::HostMismatch::UseTarget,
        ..RequestConfig::default()
    };
    for cfg in [RequestConfig::default(), strict, lenient] {
        let mut head = RequestHead::default();
        if parse_request(data, &cfg, &mut head) == Ok(Progress::Complete) {
            check_head(data, &cfg, &head);
        }
    }
}

fn check_head(data: &[u8], cfg: &RequestConfig, head: &RequestHead) {
    let n = head.head_len;
    assert!(n <= data.len() && n <= cfg.max_head_bytes);
    assert_eq!(&data[n - 4..n], b"\r\n\r\n");
    for r in [
        &head.method,
        &head.target,
        &head.request_line,
        &head.path_and_query,
    ] {
        assert!(r.start <= r.end && r.end <= n, "{r:?} outside the head");
    }
    let mut at = head.request_line.end + 2;
    for f in &head.fields {
        assert_eq!(f.line.start, at, "lines must tile the head");
        assert!(f.name.start == f.line.start && f.value.end <= f.line.end);
        at = f.line.end;
    }
    assert_eq!(at + 2, n);
    // The same head alone parses the same; one byte short is still partial.
    let mut again = RequestHead::default();
    assert_eq!(
        parse_request(&data[..n], cfg, &mut again),
        Ok(Progress::Complete)
    );
    assert_eq!(
        (again.head_len, again.body, again.fields.len()),
        (n, head.body, head.fields.len())
    );
    assert_eq!(
        parse_request(&data[..n - 1], cfg, &mut again),
        Ok(Progress::Partial)
    );
    check_forwarded(data, cfg, head);
    if head.form == Some(elb_http1::TargetForm::Origin)
        || head.form == Some(elb_http1::TargetForm::Absolute)
    {
        check_normalisation(&data[head.path_and_query.clone()]);
    }
}

fn check_normalisation(pq: &[u8]) {
    for merge_slashes in [false, true] {
        let opts = PathOptions {
            merge_slashes,
            ..PathOptions::default()
        };
        let mut once = Vec::new();
        if normalize_path(pq, &opts, &mut once).is_ok() {
            let mut twice = Vec::new();
            normalize_path(&once, &opts, &mut twice).expect("a normalised path normalises");
            assert_eq!(once, twice, "normalisation must be idempotent");
            let path = once.split(|&b| b == b'?').next().unwrap_or_default();
            let dotted = path.split(|&b| b == b'/').any(|s| s == b"." || s == b"..");
            assert!(!dotted, "dot segment left in {once:?}");
        }
    }
}

/// The forwarded head parses again, frames the body the same way, and
/// carries no hop-by-hop or dropped field.
fn check_forwarded(data: &[u8], cfg: &RequestConfig, head: &RequestHead) {
    let rw = Rewrite {
        origin_form: true,
        http11: true,
        append: &[(b"X-Forwarded-For", b"198.18.0.1")],
        connection: Some(b"keep-alive"),
        ..Rewrite::default()
    };
    let out = HeadWriter::new().write_request(data, head, &rw).to_vec();
    let mut again = RequestHead::default();
    // The rewrite adds up to three fields (Host, X-Forwarded-For, Connection) and their
    // bytes: the member's limits must allow for them, not the client's.
    let member_cfg = RequestConfig {
        max_headers: (cfg.max_headers + 3).min(elb_http1::MAX_HEADERS),
        max_head_bytes: cfg.max_head_bytes + 256,
        ..*cfg
    };
    let reparsed = parse_request(&out, &member_cfg, &mut again);
    assert_eq!(
        reparsed,
        Ok(Progress::Complete),
        "forwarded head {:?}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(again.head_len, out.len());
    assert_eq!(again.body, head.body);
    // Authorities compare case-insensitively (a Host that agrees with the
    // target but for case is kept as received).
    assert_eq!(
        again.authority.map(|a| out[a].to_ascii_lowercase()),
        head.authority.clone().map(|a| data[a].to_ascii_lowercase())
    );
    for f in &again.fields {
        let name = &out[f.name.clone()];
        assert!(!name.contains(&b'_'), "underscore field forwarded");
        let hop = f.kind.is_hop_by_hop() && f.kind != FieldKind::Connection;
        assert!(!hop, "hop-by-hop field forwarded");
    }
}
