//! The comparison of the differential target, and the only differences it
//! excuses: places where elb-http1 is deliberately stricter than hyper,
//! each named, each checked against what hyper itself reported so that a
//! wrong reason from our side is still caught. docs/http1-strictness.md
//! lists the same names.

use elb_http1::{
    ChunkError, ChunkedDecoder, ChunkedLimits, Progress, Reject, RequestBody, RequestConfig,
    RequestHead, parse_request,
};

use crate::hyper_side::Seen;

/// The deliberate strictness differences (our rejection, hyper's accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Excuse {
    /// HTTP/1.1 without Host: RFC 9112 §3.2 says 400; hyper forwards.
    MissingHost,
    /// Several Host fields: RFC 9112 §3.2 says 400; hyper keeps them all.
    DuplicateHost,
    /// A Host value that is not an authority: RFC 9112 §3.2 says 400.
    InvalidHost,
    /// An absolute-form target whose authority differs from Host (refused
    /// by default, as HAProxy does; hyper passes both on).
    HostMismatch,
    /// Several Content-Length values, even equal ones (hyper merges equal ones).
    DuplicateContentLength,
    /// Content-Length with Transfer-Encoding (hyper drops the length).
    LengthAndChunked,
    /// A transfer coding other than chunked before chunked: 501 (hyper passes it).
    UnsupportedTransferCoding,
    /// chunked applied more than once (RFC 9112 §7 forbids it; hyper takes
    /// any Transfer-Encoding whose last coding is chunked).
    ChunkedTwice,
    /// A Transfer-Encoding list with an empty member (`chunked,`, or an empty field line
    /// beside `chunked`): hyper skips an empty field line; framing must mean one thing to
    /// every hop, so we refuse either.
    EmptyTransferCoding,
    /// Transfer-Encoding on HTTP/1.0: RFC 9112 §6.1 faulty framing.
    TransferEncodingOnHttp10,
    /// A line ended by a bare LF (RFC 9112 §2.2 allows either; we refuse).
    BareLineEnd,
    /// A target byte outside RFC 3986 (http::Uri takes some, e.g. `"{}|^`),
    /// a fragment, userinfo, a scheme other than http(s), a bad escape.
    TargetBytes,
    /// A target form the method may not use (RFC 9112 §3.2).
    TargetForm,
    /// Expect other than 100-continue: 417 (hyper ignores it).
    Expectation,
    /// A Connection member that is not a token (hyper does not look).
    ConnectionNotToken,
}

/// Deliberate strictness differences in a chunked body (our refusal,
/// hyper's accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyExcuse {
    /// Whitespace after a chunk size without an extension (`5 \r\n`):
    /// not in RFC 9112's grammar; hyper, HAProxy and nginx take it.
    SizeTrailingSpace,
    /// A control byte in a chunk extension (hyper does not look).
    ExtensionControl,
    /// A trailer naming a framing, routing or connection field, or a
    /// trailer line hyper's lenient trailer parser takes.
    TrailerField,
    /// A bare LF in the trailer section (hyper's trailer reader takes it;
    /// its chunk-line reader, like ours, does not).
    TrailerBareLf,
}

fn body_excuse(e: ChunkError, body: &[u8]) -> Option<BodyExcuse> {
    let has_ws_before_cr = body.windows(2).any(|w| (w[0] == b' ' || w[0] == b'\t') && w[1] == b'\r');
    match e {
        ChunkError::InvalidSize if has_ws_before_cr => Some(BodyExcuse::SizeTrailingSpace),
        ChunkError::InvalidExtension => Some(BodyExcuse::ExtensionControl),
        ChunkError::InvalidTrailer | ChunkError::TrailersTooLarge => Some(BodyExcuse::TrailerField),
        ChunkError::MissingCrlf if has_bare_lf(body) => Some(BodyExcuse::TrailerBareLf),
        _ => None,
    }
}

/// Our body decision against hyper's for an accepted head.
fn same_body(data: &[u8], head: &RequestHead, seen: &Seen) {
    let body = &data[head.head_len..];
    let ours: Result<Option<Vec<u8>>, ChunkError> = match head.body {
        RequestBody::None => Ok(Some(Vec::new())),
        RequestBody::Length(n) => Ok((body.len() as u64 >= n).then(|| body[..n as usize].to_vec())),
        RequestBody::Chunked => decode_all(body),
    };
    match (ours, &seen.body) {
        (Ok(Some(a)), Some(b)) => assert_eq!(&a, b, "body data"),
        (Ok(None), None) => {}
        (Ok(Some(_)), None) => panic!("hyper's body decoder refuses a body we accept"),
        (Ok(None), Some(_)) => panic!("hyper ends a body we find incomplete"),
        (Err(_), None) => {}
        (Err(e), Some(_)) => {
            assert!(body_excuse(e, body).is_some(), "we refuse the body ({e:?}), hyper accepts it");
        }
    }
}

/// Decodes a whole chunked body: its data, `None` if the input ends first.
fn decode_all(mut rest: &[u8]) -> Result<Option<Vec<u8>>, ChunkError> {
    let mut d = ChunkedDecoder::new(ChunkedLimits::default());
    let mut out = Vec::new();
    loop {
        let r = d.decode(rest)?;
        if let Some(range) = r.data.clone() {
            out.extend_from_slice(&rest[range]);
        }
        rest = &rest[r.consumed..];
        if r.done {
            return Ok(Some(out));
        }
        if rest.is_empty() {
            return Ok(None);
        }
    }
}

/// Whether hyper's own view of the request supports the excuse claimed.
fn excuse_for(reason: Reject, seen: &Seen, data: &[u8]) -> Option<Excuse> {
    let values = |name: &'static str| {
        seen.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v)
    };
    let count = |name: &'static str| values(name).count();
    let e = match reason {
        Reject::MissingHost if !seen.http10 && count("host") == 0 => Excuse::MissingHost,
        Reject::DuplicateHost if count("host") > 1 => Excuse::DuplicateHost,
        Reject::InvalidHost if count("host") == 1 => Excuse::InvalidHost,
        Reject::HostMismatch if count("host") == 1 && !seen.uri.starts_with('/') => Excuse::HostMismatch,
        // hyper keeps one of several identical Content-Length fields, so its view can show
        // one where the wire had more.
        Reject::DuplicateContentLength
            if count("content-length") > 1
                || values("content-length").any(|v| v.contains(&b','))
                || raw_field_count(data, b"content-length") > 1 =>
        {
            Excuse::DuplicateContentLength
        }
        Reject::LengthAndChunked if count("transfer-encoding") > 0 => Excuse::LengthAndChunked,
        // A Content-Length list beside Transfer-Encoding: hyper drops the length unread.
        Reject::DuplicateContentLength
            if count("transfer-encoding") > 0 && raw_field_count(data, b"content-length") > 0 =>
        {
            Excuse::LengthAndChunked
        }
        // hyper drops Content-Length, however malformed, when Transfer-Encoding is present;
        // we refuse the pair in any case.
        Reject::InvalidContentLength
            if count("transfer-encoding") > 0 && raw_field_count(data, b"content-length") > 0 =>
        {
            Excuse::LengthAndChunked
        }
        Reject::UnsupportedTransferCoding if count("transfer-encoding") > 0 => {
            Excuse::UnsupportedTransferCoding
        }
        Reject::InvalidTransferEncoding if chunked_twice(values("transfer-encoding")) => {
            Excuse::ChunkedTwice
        }
        Reject::InvalidTransferEncoding if empty_coding(values("transfer-encoding")) => {
            Excuse::EmptyTransferCoding
        }
        Reject::TransferEncodingOnHttp10 if seen.http10 && count("transfer-encoding") > 0 => {
            Excuse::TransferEncodingOnHttp10
        }
        Reject::BareLineEnd if has_bare_lf(data) => Excuse::BareLineEnd,
        // A head with a bare LF is refused whatever else it holds; which rule fires first
        // can differ, because hyper splits its fields at that LF where we do not.
        _ if has_bare_lf(head_of(data)) => Excuse::BareLineEnd,
        Reject::Target if target_breaks_rfc3986(data) => Excuse::TargetBytes,
        Reject::TargetForm => Excuse::TargetForm,
        Reject::Expectation if count("expect") > 0 => Excuse::Expectation,
        Reject::HeaderValue if count("connection") > 0 => Excuse::ConnectionNotToken,
        _ => return None,
    };
    Some(e)
}

/// An independent reading of the raw target (second word of the request
/// line): a byte outside RFC 3986's set, a bad escape, a scheme other than
/// http(s), userinfo, or no authority in absolute-form.
fn target_breaks_rfc3986(data: &[u8]) -> bool {
    let start = data.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(0);
    let Some(target) = data[start..].split(|&b| b == b' ').nth(1) else {
        return false;
    };
    const ALLOWED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?%[]";
    let bad_byte = target.iter().any(|b| !ALLOWED.contains(b));
    let bad_escape = target
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'%' && !(target.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))));
    let text = String::from_utf8_lossy(target).to_ascii_lowercase();
    let absolute = !text.starts_with('/') && text.contains("://");
    let bad_absolute = absolute && {
        let (scheme, rest) = text.split_once("://").unwrap_or_default();
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        !(scheme == "http" || scheme == "https") || authority.is_empty() || authority.contains('@')
    };
    // Brackets belong only in an IP-literal authority; an authority we refuse
    // as a whole (a bad port, a bad IP-literal) is also a target refusal.
    let path = if absolute {
        let rest = text.split_once("://").map(|(_, r)| r).unwrap_or_default();
        rest.find(['/', '?']).map_or("", |i| &rest[i..]).to_owned()
    } else {
        text.clone()
    };
    let brackets_in_path = path.contains(['[', ']']);
    let odd_authority = absolute && !bad_absolute && {
        let rest = text.split_once("://").map(|(_, r)| r).unwrap_or_default();
        odd_host_port(rest.split(['/', '?']).next().unwrap_or_default())
    };
    // Neither origin- nor absolute- nor asterisk-form: authority-form,
    // which only CONNECT may use and only with a valid host:port.
    let authority_like = !target.starts_with(b"/") && !absolute && target != b"*";
    bad_byte || bad_escape || bad_absolute || brackets_in_path || odd_authority || authority_like
}

/// A host[:port] that is not a plain reg-name or bracketed IPv6 with an
/// optional port of at most 65535.
fn odd_host_port(a: &str) -> bool {
    let (host, port) = match a.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => (h, Some(p)),
        _ => (a, None),
    };
    let port_bad = port.is_some_and(|p| !p.is_empty() && p.parse::<u16>().is_err() || p.len() > 5);
    let host_bad = if let Some(v6) = host.strip_prefix('[') {
        v6.strip_suffix(']').is_none_or(|v| v.parse::<std::net::Ipv6Addr>().is_err())
    } else {
        host.is_empty()
            || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b))
    };
    port_bad || host_bad
}

/// More than one chunked among the codings, the last one chunked.
fn chunked_twice<'a>(values: impl Iterator<Item = &'a Vec<u8>>) -> bool {
    let mut codings = Vec::new();
    for v in values {
        for m in v.split(|&b| b == b',') {
            let m = String::from_utf8_lossy(m).trim_matches([' ', '\t']).to_ascii_lowercase();
            if !m.is_empty() {
                codings.push(m);
            }
        }
    }
    codings.iter().filter(|c| *c == "chunked").count() > 1 && codings.last().is_some_and(|c| c == "chunked")
}

/// Whether a Transfer-Encoding value, or a member of its list, is empty.
fn empty_coding<'a>(mut values: impl Iterator<Item = &'a Vec<u8>>) -> bool {
    values.any(|v| {
        v.split(|&b| b == b',')
            .any(|m| m.iter().all(|&b| b == b' ' || b == b'\t'))
    })
}

/// How many field lines of the head in `data` are named `name` (any case).
fn raw_field_count(data: &[u8], name: &[u8]) -> usize {
    head_of(data)
        .split(|&b| b == b'\n')
        .skip(1)
        .filter(|line| {
            line.iter()
                .position(|&b| b == b':')
                .is_some_and(|i| line[..i].eq_ignore_ascii_case(name))
        })
        .count()
}

/// The bytes up to the first empty line (all of `data` when there is none).
fn head_of(data: &[u8]) -> &[u8] {
    let end = data.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(data.len());
    &data[..end]
}

fn has_bare_lf(data: &[u8]) -> bool {
    data.iter().enumerate().any(|(i, &b)| b == b'\n' && (i == 0 || data[i - 1] != b'\r'))
}

/// Fails on any unexcused disagreement between our decision on `data`
/// and hyper's (`seen`).
pub fn compare(data: &[u8], seen: Option<Seen>) {
    let mut head = RequestHead::default();
    let ours = parse_request(data, &RequestConfig::default(), &mut head);
    match (ours, seen) {
        (Ok(Progress::Complete), Some(seen)) => {
            same_head(data, &head, &seen);
            same_body(data, &head, &seen);
        }
        (Ok(Progress::Complete), None) => panic!("we accept, hyper refuses"),
        (Ok(Progress::Partial), Some(_)) => panic!("hyper accepts a head we find incomplete"),
        (Ok(Progress::Partial), None) | (Err(_), None) => {}
        (Err(reason), Some(seen)) => {
            assert!(
                excuse_for(reason, &seen, data).is_some(),
                "we refuse ({reason:?}), hyper accepts: {seen:?}"
            );
        }
    }
}

fn same_head(data: &[u8], head: &RequestHead, seen: &Seen) {
    assert_eq!(head.method(data), seen.method.as_bytes(), "method");
    let target = head.target(data);
    // http::Uri shows an absolute-form target without a path with its `/`.
    let pq = &data[head.path_and_query.clone()];
    let shown = match head.authority.clone() {
        Some(a) if head.form == Some(elb_http1::TargetForm::Absolute) && !pq.starts_with(b"/") => {
            [&data[head.target.start..a.end], b"/", pq].concat()
        }
        _ => target.to_vec(),
    };
    // ... and the scheme in lower case.
    let theirs = seen.uri.as_bytes();
    let scheme = shown.iter().position(|&b| b == b':').filter(|_| !shown.starts_with(b"/"));
    let uri_same = match scheme {
        Some(n) if head.form == Some(elb_http1::TargetForm::Absolute) => {
            theirs.len() == shown.len()
                && shown[..n].eq_ignore_ascii_case(&theirs[..n])
                && shown[n..] == theirs[n..]
        }
        _ => shown == theirs,
    };
    assert!(uri_same, "target {:?} vs {:?}", String::from_utf8_lossy(target), seen.uri);
    assert_eq!(head.version == elb_http1::Version::Http10, seen.http10, "version");
    let mut ours: Vec<(String, Vec<u8>)> = head
        .fields
        .iter()
        .map(|f| {
            let name = String::from_utf8_lossy(&data[f.name.clone()]).to_ascii_lowercase();
            (name, data[f.value.clone()].to_vec())
        })
        .collect();
    let mut theirs = seen.headers.clone();
    // hyper groups fields by name; order within a name is kept by both.
    ours.sort_by(|a, b| a.0.cmp(&b.0));
    theirs.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(ours, theirs, "fields");
    let exact = match head.body {
        RequestBody::None => Some(0),
        RequestBody::Length(n) => Some(n),
        RequestBody::Chunked => None,
    };
    assert_eq!(exact, seen.exact_len, "body framing");
}
