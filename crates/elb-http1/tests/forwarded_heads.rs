//! The forwarded head: only what must change changes, and what it writes
//! parses again to the same request.

use elb_http1::{
    HeadWriter, HostMismatch, Progress, RequestBody, RequestConfig, RequestHead, Rewrite,
    parse_request,
};

fn parsed(raw: &[u8]) -> RequestHead {
    let cfg = RequestConfig {
        host_mismatch: HostMismatch::UseTarget,
        ..RequestConfig::default()
    };
    let mut head = RequestHead::default();
    assert_eq!(parse_request(raw, &cfg, &mut head), Ok(Progress::Complete));
    head
}

#[test]
fn an_ordinary_request_is_forwarded_byte_for_byte() {
    let raw = b"GET /a?b HTTP/1.1\r\nHost: h\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n";
    let head = parsed(raw);
    let mut w = HeadWriter::new();
    assert_eq!(w.write_request(raw, &head, &Rewrite::default()), raw);
}

#[test]
fn hop_by_hop_and_underscore_fields_are_left_out() {
    let raw = b"POST /a HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\
        Content-Length: 3\r\nX_Real_IP: 6.6.6.6\r\nTE: trailers\r\nAccept: */*\r\n\r\nabc";
    let head = parsed(raw);
    let mut w = HeadWriter::new();
    let out = w
        .write_request(
            raw,
            &head,
            &Rewrite {
                connection: Some(b"keep-alive"),
                ..Rewrite::default()
            },
        )
        .to_vec();
    assert_eq!(
        out,
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n"
    );
    let body = &raw[head.head_len..];
    let slices = w.io_slices(body);
    assert_eq!((slices[0].len(), &*slices[1]), (out.len(), &b"abc"[..]));
}

#[test]
fn forwarding_fields_are_appended_or_set() {
    let raw = b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nX-Request-Id: forged\r\n\
        x-forwarded-for: 2.2.2.2\r\n\r\n";
    let head = parsed(raw);
    let rw = Rewrite {
        set: &[(b"X-Request-Id", b"r-42")],
        append: &[(b"X-Forwarded-For", b"9.9.9.9"), (b"Via", b"1.1 elb")],
        ..Rewrite::default()
    };
    let out = HeadWriter::new().write_request(raw, &head, &rw).to_vec();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: r-42\r\n\
         X-Forwarded-For: 1.1.1.1, 2.2.2.2, 9.9.9.9\r\nVia: 1.1 elb\r\n\r\n"
    );
}

#[test]
fn absolute_form_goes_out_as_origin_form_with_the_targets_host() {
    let raw = b"GET http://b.example:8080?q HTTP/1.0\r\nHost: a.example\r\nX: 1\r\n\r\n";
    let head = parsed(raw);
    let rw = Rewrite {
        origin_form: true,
        http11: true,
        ..Rewrite::default()
    };
    let out = HeadWriter::new().write_request(raw, &head, &rw).to_vec();
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        "GET /?q HTTP/1.1\r\nX: 1\r\nHost: b.example:8080\r\n\r\n"
    );
    let again = parsed(&out);
    assert_eq!(&out[again.authority.unwrap()], b"b.example:8080");
}

#[test]
fn a_normalised_target_and_an_http10_request_without_host() {
    let raw = b"GET /%61pi/../x HTTP/1.0\r\n\r\n";
    let head = parsed(raw);
    let rw = Rewrite {
        target: Some(b"/x"),
        http11: true,
        ..Rewrite::default()
    };
    let out = HeadWriter::new().write_request(raw, &head, &rw).to_vec();
    assert_eq!(out, b"GET /x HTTP/1.1\r\nHost: \r\n\r\n");
    assert_eq!(parsed(&out).body, RequestBody::None);
}

#[test]
#[should_panic(expected = "not a valid field")]
fn a_caller_value_with_crlf_is_a_bug_not_an_injection() {
    let raw = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    let head = parsed(raw);
    let rw = Rewrite {
        set: &[(b"X-Id", b"a\r\nEvil: 1")],
        ..Rewrite::default()
    };
    HeadWriter::new().write_request(raw, &head, &rw);
}
