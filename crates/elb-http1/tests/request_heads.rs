//! Request heads, accepted and refused, as a table: each row is raw bytes
//! and the decision the strict layer must reach.

use elb_http1::{
    HostMismatch, Progress, Reject, RequestBody, RequestConfig, RequestHead, TargetForm,
    Underscores, Version, parse_request,
};

fn parse(raw: &[u8], cfg: &RequestConfig) -> Result<RequestHead, Reject> {
    let mut head = RequestHead::default();
    match parse_request(raw, cfg, &mut head)? {
        Progress::Complete => Ok(head),
        Progress::Partial => panic!("partial: {:?}", String::from_utf8_lossy(raw)),
    }
}

#[test]
fn refused_heads_get_their_reason() {
    use Reject::*;
    let rows: &[(&[u8], Reject)] = &[
        (b"GET / HTTP/1.1\r\n\r\n", MissingHost),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", DuplicateHost),
        (b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", DuplicateHost),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", InvalidHost),
        (b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", InvalidHost),
        (b"GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", InvalidHost),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", InvalidHost),
        (b"GET / HTTP/1.1\r\nHost: b.ex%61mple\r\n\r\n", InvalidHost),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", DuplicateContentLength),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", DuplicateContentLength),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", InvalidContentLength),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", InvalidContentLength),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", InvalidContentLength),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\n", InvalidContentLength),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", InvalidContentLength),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", InvalidContentLength),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", LengthAndChunked),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", LengthAndChunked),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", InvalidTransferEncoding),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", InvalidTransferEncoding),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", InvalidTransferEncoding),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", InvalidTransferEncoding),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", InvalidTransferEncoding),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n", InvalidTransferEncoding),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n", InvalidTransferEncoding),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", InvalidTransferEncoding),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", UnsupportedTransferCoding),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", TransferEncodingOnHttp10),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", ObsFold),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", ObsFold),
        (b"GET / HTTP/1.1\nHost: a\r\n\r\n", BareLineEnd),
        (b"GET / HTTP/1.1\r\nHost: a\n\r\n", BareLineEnd),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\n", BareLineEnd),
        (b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", BareLineEnd),
        (b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", HeaderValue),
        (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", HeaderName),
        (b"GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", HeaderName),
        (b"GET / HTTP/1.1\r\n: a\r\n\r\n", HeaderName),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", HeaderValue),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", HeaderValue),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", Version),
        (b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", Version),
        (b"GET / http/1.1\r\nHost: a\r\n\r\n", RequestLine),
        (b"GET / HTTP/1.1x\r\nHost: a\r\n\r\n", RequestLine),
        (b"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", HostMismatch),
        (b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", Target),
        (b"GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n", Target),
        (b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", Target),
        (b"GET \xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", Target),
        (b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", TargetForm),
        (b"GET a:80 HTTP/1.1\r\nHost: a\r\n\r\n", TargetForm),
        (b"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", TargetForm),
        (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", RequestLine),
        (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", RequestLine),
        (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", Expectation),
    ];
    let cfg = RequestConfig::default();
    for (raw, want) in rows {
        let got = parse(raw, &cfg).err();
        assert_eq!(got, Some(*want), "{:?}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn accepted_heads_get_framing_and_flags() {
    let cfg = RequestConfig::default();
    let h = parse(
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n",
        &cfg,
    )
    .unwrap();
    assert_eq!(h.body, RequestBody::Length(12));
    assert!(h.keep_alive);
    let h = parse(
        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
        &cfg,
    )
    .unwrap();
    assert_eq!(h.body, RequestBody::Chunked);
    let h = parse(b"GET / HTTP/1.0\r\n\r\n", &cfg).unwrap();
    assert_eq!(
        (h.version, h.keep_alive, h.authority.clone()),
        (Version::Http10, false, None)
    );
    let h = parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &cfg).unwrap();
    assert!(h.keep_alive);
    let h = parse(
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        &cfg,
    )
    .unwrap();
    assert!(!h.keep_alive);
    let h = parse(
        b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n",
        &cfg,
    )
    .unwrap();
    assert!(h.expect_continue);
    let h = parse(b"GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &cfg).unwrap();
    assert!(!h.expect_continue, "HTTP/1.0 never gets 100 Continue");
    let h = parse(
        b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        &cfg,
    )
    .unwrap();
    assert!(h.upgrade);
    let h = parse(
        b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
        &cfg,
    )
    .unwrap();
    assert!(!h.upgrade, "Upgrade not listed in Connection is ignored");
    let h = parse(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &cfg).unwrap();
    assert_eq!(h.form, Some(TargetForm::Asterisk));
    let raw = b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n";
    let h = parse(raw, &cfg).unwrap();
    assert_eq!(&raw[h.authority.clone().unwrap()], b"a:443");
    let h = parse(b"GET / HTTP/1.1\r\nHost:\r\n\r\n", &cfg).unwrap();
    assert_eq!(
        h.authority, None,
        "an empty Host is allowed and names no authority"
    );
    let h = parse(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &cfg).unwrap();
    assert_eq!(h.method.start, 4, "leading empty lines are skipped");
}

#[test]
fn the_targets_authority_wins_over_host() {
    let raw = b"GET http://b.example:8080/p?q HTTP/1.1\r\nHost: a.example\r\n\r\n";
    let lenient = RequestConfig {
        host_mismatch: HostMismatch::UseTarget,
        ..RequestConfig::default()
    };
    let h = parse(raw, &lenient).unwrap();
    assert_eq!(&raw[h.authority.clone().unwrap()], b"b.example:8080");
    assert_eq!(&raw[h.path_and_query.clone()], b"/p?q");
    assert!(h.rewrite_host);
    let same = b"GET http://A.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n";
    assert!(!parse(same, &RequestConfig::default()).unwrap().rewrite_host);
    let strict = RequestConfig {
        host_mismatch: HostMismatch::Reject,
        ..RequestConfig::default()
    };
    assert_eq!(parse(raw, &strict).err(), Some(Reject::HostMismatch));
    let no_host = b"GET http://b/ HTTP/1.1\r\n\r\n";
    assert_eq!(
        parse(no_host, &RequestConfig::default()).err(),
        Some(Reject::MissingHost)
    );
}

#[test]
fn underscores_follow_the_policy() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 1.2.3.4\r\nContent_Length: 5\r\n\r\n";
    let h = parse(raw, &RequestConfig::default()).unwrap();
    let fwd: Vec<_> = h.fields.iter().map(|f| f.forward).collect();
    assert_eq!(fwd, vec![true, false, false]);
    assert_eq!(
        h.body,
        RequestBody::None,
        "a dropped Content_Length frames nothing"
    );
    let reject = RequestConfig {
        underscores: Underscores::Reject,
        ..RequestConfig::default()
    };
    assert_eq!(parse(raw, &reject).err(), Some(Reject::Underscore));
    let allow = RequestConfig {
        underscores: Underscores::Allow,
        ..RequestConfig::default()
    };
    assert!(parse(raw, &allow).unwrap().fields.iter().all(|f| f.forward));
}

#[test]
fn hop_by_hop_and_connection_listed_fields_are_not_forwarded() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: x-secret, keep-alive, Host\r\n\
        X-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nProxy-Connection: x\r\nX-Kept: 2\r\n\r\n";
    let h = parse(raw, &RequestConfig::default()).unwrap();
    let kept: Vec<_> = h
        .fields
        .iter()
        .filter(|f| f.forward)
        .map(|f| String::from_utf8_lossy(&raw[f.name.clone()]).into_owned())
        .collect();
    assert_eq!(kept, vec!["Host", "X-Kept"]);
}

#[test]
fn lines_and_ranges_cover_the_head_exactly() {
    let raw = b"GET /a HTTP/1.1\r\nHost: h\r\nX-A:  v  \r\n\r\nBODY";
    let h = parse(raw, &RequestConfig::default()).unwrap();
    assert_eq!(&raw[h.request_line.clone()], b"GET /a HTTP/1.1");
    assert_eq!(&raw[h.fields[0].line.clone()], b"Host: h\r\n");
    assert_eq!(&raw[h.fields[1].line.clone()], b"X-A:  v  \r\n");
    assert_eq!(&raw[h.fields[1].value.clone()], b"v");
    assert_eq!(&raw[h.head_len..], b"BODY");
}

#[test]
fn limits_give_414_and_431_and_partial_input_asks_for_more() {
    let cfg = RequestConfig {
        max_head_bytes: 64,
        max_headers: 2,
        max_target_bytes: 8,
        ..RequestConfig::default()
    };
    let long = b"GET /123456789 HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(parse(long, &cfg).err(), Some(Reject::TargetTooLong));
    let many = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    assert_eq!(parse(many, &cfg).err(), Some(Reject::TooManyHeaders));
    let mut head = RequestHead::default();
    assert_eq!(
        parse_request(b"GET / HTTP/1.1\r\nHost: a\r\n", &cfg, &mut head),
        Ok(Progress::Partial)
    );
    let big = [b"GET / HTTP/1.1\r\nHost: a\r\nX: ".as_slice(), &[b'v'; 80]].concat();
    assert_eq!(
        parse_request(&big, &cfg, &mut head),
        Err(Reject::HeadTooLarge)
    );
    for r in [Reject::TargetTooLong, Reject::TooManyHeaders] {
        assert!(matches!(r.status(), 414 | 431));
    }
}

#[test]
fn a_reused_head_keeps_its_field_capacity() {
    let raw = b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    let mut head = RequestHead::default();
    parse_request(raw, &RequestConfig::default(), &mut head).unwrap();
    let cap = head.fields.capacity();
    let ptr = head.fields.as_ptr();
    parse_request(raw, &RequestConfig::default(), &mut head).unwrap();
    assert_eq!((head.fields.capacity(), head.fields.as_ptr()), (cap, ptr));
    assert_eq!(head.fields.len(), 3);
}
