//! A member's response head and how its body ends, with the framing rules
//! of RFC 9112 §6.3 for a proxy. Anything a member could use to make the
//! proxy and the client disagree on where the response ends is refused.

use std::mem::MaybeUninit;
use std::ops::Range;

use crate::fields::{Field, FieldKind, Summary};
use crate::head::{MAX_HEADERS, line_ends_ok, push_fields, within_limit};
use crate::reject::Reject;
use crate::request::{Progress, Version};

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseBody {
    /// No body (HEAD, 1xx, 204, 304, or a zero length).
    #[default]
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked.
    Chunked,
    /// Until the member closes; the client connection closes after it too.
    CloseDelimited,
    /// Bytes flow both ways unframed (101 Switching Protocols, 2xx to CONNECT).
    Tunnel,
}

/// Why a member's response is refused; the client gets 502 and the member
/// connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ResponseReject {
    /// Not an HTTP/1.x status line and fields.
    #[error("malformed response head")]
    Malformed,
    /// A line ended by a bare LF or CR.
    #[error("line not ended by CRLF")]
    BareLineEnd,
    /// A status code below 100.
    #[error("invalid status code")]
    Status,
    /// Too many fields or bytes.
    #[error("response head too large")]
    TooLarge,
    /// Content-Length not 1*DIGIT, or several of them.
    #[error("invalid Content-Length")]
    ContentLength,
    /// Content-Length with Transfer-Encoding.
    #[error("Content-Length with Transfer-Encoding")]
    LengthAndChunked,
    /// Chunked applied more than once, or Transfer-Encoding on HTTP/1.0.
    #[error("invalid Transfer-Encoding")]
    TransferEncoding,
    /// Framing fields on a status that has no body (1xx, 204).
    #[error("framing on a status without a body")]
    FramingWithoutBody,
}

impl ResponseReject {
    /// A stable label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseReject::Malformed => "malformed",
            ResponseReject::BareLineEnd => "bare_line_end",
            ResponseReject::Status => "status",
            ResponseReject::TooLarge => "too_large",
            ResponseReject::ContentLength => "content_length",
            ResponseReject::LengthAndChunked => "length_and_chunked",
            ResponseReject::TransferEncoding => "transfer_encoding",
            ResponseReject::FramingWithoutBody => "framing_without_body",
        }
    }
}

/// Limits for response heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseConfig {
    /// Largest head.
    pub max_head_bytes: usize,
    /// Most fields; at most [`MAX_HEADERS`].
    pub max_headers: usize,
}

impl Default for ResponseConfig {
    fn default() -> Self {
        ResponseConfig {
            max_head_bytes: 16 * 1024,
            max_headers: 100,
        }
    }
}

/// What the response answers, which decides whether it may have a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestKind {
    /// The request was HEAD.
    pub head: bool,
    /// The request was CONNECT.
    pub connect: bool,
}

/// A parsed response head, ranges into the member's buffer; reusable.
#[derive(Debug, Clone, Default)]
pub struct ResponseHead {
    /// Bytes of the head, final empty line included.
    pub head_len: usize,
    /// The status line without its CRLF.
    pub status_line: Range<usize>,
    /// The status code.
    pub status: u16,
    /// HTTP/1.0 or 1.1.
    pub version: Version,
    /// How the body ends.
    pub body: ResponseBody,
    /// A 1xx other than 101: the final response head follows it.
    pub informational: bool,
    /// The member connection can be reused after this response.
    pub keep_alive: bool,
    /// Every field line, in order.
    pub fields: Vec<Field>,
}

/// Parses the response head at the start of `buf` into `head`.
pub fn parse_response(
    buf: &[u8],
    cfg: &ResponseConfig,
    req: RequestKind,
    head: &mut ResponseHead,
) -> Result<Progress, ResponseReject> {
    let mut fields = std::mem::take(&mut head.fields);
    fields.clear();
    *head = ResponseHead {
        fields,
        ..ResponseHead::default()
    };
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let slots = &mut slots[..cfg.max_headers.min(MAX_HEADERS)];
    let mut res = httparse::Response::new(&mut []);
    let status = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, buf, slots)
        .map_err(|e| match e {
            httparse::Error::TooManyHeaders => ResponseReject::TooLarge,
            _ => ResponseReject::Malformed,
        })?;
    let Some(head_len) =
        within_limit(status, buf.len(), cfg.max_head_bytes).ok_or(ResponseReject::TooLarge)?
    else {
        return Ok(Progress::Partial);
    };
    let (Some(minor), Some(code)) = (res.version, res.code) else {
        return Err(ResponseReject::Malformed);
    };
    head.head_len = head_len;
    head.status = code;
    head.version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    push_fields(buf, res.headers, head_len - 2, &mut head.fields);
    let start = leading_empty_lines(buf);
    let first_end = head.fields.first().map_or(head_len - 2, |f| f.line.start) - 2;
    head.status_line = start..first_end;
    if !line_ends_ok(buf, start, first_end, &head.fields, head_len) {
        return Err(ResponseReject::BareLineEnd);
    }
    if code < 100 {
        return Err(ResponseReject::Status);
    }
    let mut s = Summary::default();
    for f in head.fields.iter().filter(|f| f.kind != FieldKind::Expect) {
        s.add(f.kind, &buf[f.value.clone()], f.value.clone())
            .map_err(|r| match r {
                Reject::InvalidContentLength | Reject::DuplicateContentLength => {
                    ResponseReject::ContentLength
                }
                _ => ResponseReject::Malformed,
            })?;
    }
    head.body = response_body(code, head.version, req, &s)?;
    head.informational = (100..200).contains(&code) && code != 101;
    head.keep_alive = head.body != ResponseBody::CloseDelimited
        && head.body != ResponseBody::Tunnel
        && match head.version {
            Version::Http11 => !s.close,
            Version::Http10 => s.keep_alive && !s.close,
        };
    Ok(Progress::Complete)
}

/// httparse skips empty lines before the status line; so do we, by offset.
fn leading_empty_lines(buf: &[u8]) -> usize {
    let mut i = 0;
    while buf[i..].starts_with(b"\r\n") {
        i += 2;
    }
    i
}

/// RFC 9112 §6.3, for a response that answers `req`.
fn response_body(
    code: u16,
    version: Version,
    req: RequestKind,
    s: &Summary,
) -> Result<ResponseBody, ResponseReject> {
    if s.te_present && s.content_length.is_some() {
        return Err(ResponseReject::LengthAndChunked);
    }
    if s.te_present && (version == Version::Http10 || s.chunked_count > 1) {
        return Err(ResponseReject::TransferEncoding);
    }
    let informational = (100..200).contains(&code);
    if (informational || code == 204) && (s.te_present || s.content_length.is_some_and(|n| n > 0)) {
        return Err(ResponseReject::FramingWithoutBody);
    }
    if informational && s.content_length.is_some() {
        return Err(ResponseReject::FramingWithoutBody);
    }
    if code == 101 || (req.connect && (200..300).contains(&code)) {
        return Ok(ResponseBody::Tunnel);
    }
    if req.head || informational || code == 204 || code == 304 {
        return Ok(ResponseBody::None);
    }
    if s.te_present {
        return Ok(if s.te_last_is_chunked {
            ResponseBody::Chunked
        } else {
            ResponseBody::CloseDelimited
        });
    }
    Ok(match s.content_length {
        Some(0) => ResponseBody::None,
        Some(n) => ResponseBody::Length(n),
        None => ResponseBody::CloseDelimited,
    })
}
