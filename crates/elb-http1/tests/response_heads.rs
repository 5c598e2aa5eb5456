//! Member response heads as a table: the body framing a proxy must use,
//! or the refusal, for what a member might send.

use elb_http1::{
    Progress, RequestKind, ResponseBody, ResponseConfig, ResponseHead, ResponseReject,
    parse_response,
};

fn parse(raw: &[u8], req: RequestKind) -> Result<ResponseHead, ResponseReject> {
    let mut head = ResponseHead::default();
    match parse_response(raw, &ResponseConfig::default(), req, &mut head)? {
        Progress::Complete => Ok(head),
        Progress::Partial => panic!("partial"),
    }
}

const GET: RequestKind = RequestKind {
    head: false,
    connect: false,
};
const HEAD: RequestKind = RequestKind {
    head: true,
    connect: false,
};
const CONNECT: RequestKind = RequestKind {
    head: false,
    connect: true,
};

#[test]
fn framing_follows_rfc9112_section_6_3() {
    use ResponseBody::*;
    let rows: &[(&[u8], RequestKind, ResponseBody, bool)] = &[
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", GET, Length(5), true),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", GET, None, true),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", GET, Chunked, true),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", GET, CloseDelimited, false),
        (b"HTTP/1.1 200 OK\r\n\r\n", GET, CloseDelimited, false),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", HEAD, None, true),
        (b"HTTP/1.1 204 No Content\r\n\r\n", GET, None, true),
        (b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", GET, None, true),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", GET, None, true),
        (b"HTTP/1.1 100 Continue\r\n\r\n", GET, None, true),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", GET, Tunnel, false),
        (b"HTTP/1.1 200 Connection established\r\n\r\n", CONNECT, Tunnel, false),
        (b"HTTP/1.1 204 No Content\r\n\r\n", CONNECT, Tunnel, false),
        (b"HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\n", CONNECT, Length(2), true),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", GET, Length(1), false),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", GET, Length(1), true),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", GET, Length(1), false),
    ];
    for (raw, req, body, keep_alive) in rows {
        let h = parse(raw, *req)
            .unwrap_or_else(|e| panic!("{e:?}: {:?}", String::from_utf8_lossy(raw)));
        assert_eq!(
            (h.body, h.keep_alive),
            (*body, *keep_alive),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
    assert!(
        parse(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", GET)
            .unwrap()
            .informational
    );
}

#[test]
fn what_a_member_could_desync_with_is_refused() {
    use ResponseReject::*;
    let rows: &[(&[u8], ResponseReject)] = &[
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            LengthAndChunked,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            ContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            ContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
            ContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            TransferEncoding,
        ),
        (
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            TransferEncoding,
        ),
        (
            b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
            FramingWithoutBody,
        ),
        (
            b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
            FramingWithoutBody,
        ),
        (
            b"HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n",
            FramingWithoutBody,
        ),
        (b"HTTP/1.1 200 OK\nContent-Length: 5\r\n\r\n", BareLineEnd),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\n\n", BareLineEnd),
        (b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", Malformed),
        (b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n", Malformed),
        (b"HTTP/1.1 099 Low\r\n\r\n", Status),
        (b"HTTP/2 200 OK\r\n\r\n", Malformed),
    ];
    for (raw, want) in rows {
        assert_eq!(
            parse(raw, GET).err(),
            Some(*want),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn status_line_and_fields_are_ranges() {
    let raw = b"HTTP/1.1 200 OK\r\nServer: m\r\nKeep-Alive: timeout=5\r\n\r\nbody";
    let h = parse(raw, GET).unwrap();
    assert_eq!(&raw[h.status_line.clone()], b"HTTP/1.1 200 OK");
    assert_eq!(h.status, 200);
    assert_eq!(&raw[h.head_len..], b"body");
    let fwd: Vec<_> = h.fields.iter().map(|f| f.forward).collect();
    assert_eq!(fwd, vec![true, false], "Keep-Alive is hop-by-hop");
}
