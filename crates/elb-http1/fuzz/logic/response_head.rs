//! Shared by the `response_head` fuzz target and the corpus-replay test:
//! no panic, ranges inside the head, and bodiless answers stay bodiless.

use elb_http1::{
    Progress, RequestKind, ResponseBody, ResponseConfig, ResponseHead, parse_response,
};

/// The first byte picks the request kind (HEAD, CONNECT); the rest is the head.
pub fn run(data: &[u8]) {
    let Some((&mode, raw)) = data.split_first() else {
        return;
    };
    let req = RequestKind {
        head: mode & 1 != 0,
        connect: mode & 2 != 0,
    };
    let mut head = ResponseHead::default();
    if parse_response(raw, &ResponseConfig::default(), req, &mut head) != Ok(Progress::Complete) {
        return;
    }
    let n = head.head_len;
    assert!(n <= raw.len() && raw[..n].ends_with(b"\r\n\r\n"));
    assert!(head.status_line.end <= n && head.fields.iter().all(|f| f.line.end <= n - 2));
    // Any 2xx to CONNECT is a tunnel, 204 included (RFC 9110 §9.3.6).
    let tunnel = head.status == 101 || (req.connect && (200..300).contains(&head.status));
    assert_eq!(head.body == ResponseBody::Tunnel, tunnel, "tunnel decision");
    let bodiless = !tunnel
        && (req.head
            || (100..200).contains(&head.status)
            || head.status == 204
            || head.status == 304);
    if bodiless {
        assert_eq!(
            head.body,
            ResponseBody::None,
            "status {} must have no body",
            head.status
        );
    }
    if matches!(
        head.body,
        ResponseBody::CloseDelimited | ResponseBody::Tunnel
    ) {
        assert!(!head.keep_alive);
    }
    let mut short = ResponseHead::default();
    assert_eq!(
        parse_response(&raw[..n - 1], &ResponseConfig::default(), req, &mut short),
        Ok(Progress::Partial)
    );
}
