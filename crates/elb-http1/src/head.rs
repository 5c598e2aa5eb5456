//! What request and response heads share: the header-slot array size,
//! buffer offsets of httparse's slices, and the reasons behind its errors.

use std::ops::Range;

use crate::fields::{Field, FieldKind};
use crate::reject::Reject;

/// The most header fields a head may have, whatever the configured limit
/// (the slots live on the stack, uninitialised, so a high cap costs nothing).
pub const MAX_HEADERS: usize = 256;

/// The range `part` occupies in `buf`; `part` must be a sub-slice of it.
pub fn offset_of(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    assert!(
        start <= buf.len() && part.len() <= buf.len() - start,
        "slice outside the buffer"
    );
    start..start + part.len()
}

/// The head's length when complete (`Some(Some(n))`), `Some(None)` when
/// more bytes are needed, `None` when the head is or must grow over `max`.
pub fn within_limit(
    status: httparse::Status<usize>,
    buf_len: usize,
    max: usize,
) -> Option<Option<usize>> {
    match status {
        httparse::Status::Partial if buf_len > max => None,
        httparse::Status::Partial => Some(None),
        httparse::Status::Complete(n) if n > max => None,
        httparse::Status::Complete(n) => Some(Some(n)),
    }
}

/// Names the rule behind an httparse error, looking at the bytes where
/// httparse does not say (a continuation line is obs-fold, a lone CR or LF
/// a bad line end).
pub fn classify_httparse_error(e: httparse::Error, buf: &[u8], max_head: usize) -> Reject {
    let window = &buf[..buf.len().min(max_head)];
    match e {
        httparse::Error::TooManyHeaders => Reject::TooManyHeaders,
        httparse::Error::Version if names_a_version(window) => Reject::Version,
        httparse::Error::Version => Reject::RequestLine,
        httparse::Error::Token => {
            if window.first().is_some_and(|&b| crate::syntax::is_tchar(b)) {
                Reject::RequestLine
            } else {
                Reject::Method
            }
        }
        httparse::Error::HeaderName | httparse::Error::HeaderValue | httparse::Error::NewLine => {
            if window.windows(2).any(|w| w == b"\n " || w == b"\n\t") {
                Reject::ObsFold
            } else if e == httparse::Error::HeaderValue {
                Reject::HeaderValue
            } else if e == httparse::Error::NewLine {
                let bare_cr = window.windows(2).any(|w| w[0] == b'\r' && w[1] != b'\n');
                if bare_cr {
                    Reject::BareLineEnd
                } else {
                    Reject::RequestLine
                }
            } else {
                Reject::HeaderName
            }
        }
        httparse::Error::Status => Reject::RequestLine,
    }
}

/// Appends one [`Field`] per httparse header, each with its whole line
/// (up to the next field, or to `end_of_fields` for the last), recognised
/// and marked forwardable unless hop-by-hop.
pub fn push_fields(
    buf: &[u8],
    headers: &[httparse::Header<'_>],
    end_of_fields: usize,
    out: &mut Vec<Field>,
) {
    for (i, h) in headers.iter().enumerate() {
        let name = offset_of(buf, h.name.as_bytes());
        let line_end = headers
            .get(i + 1)
            .map_or(end_of_fields, |n| offset_of(buf, n.name.as_bytes()).start);
        let kind = FieldKind::of(h.name.as_bytes());
        out.push(Field {
            line: name.start..line_end,
            name,
            value: offset_of(buf, h.value),
            kind,
            forward: !kind.is_hop_by_hop(),
        });
    }
}

/// Whether every line of a head ends in CRLF: the empty lines before the
/// start line, the start line (ending at `first_end`), each field and the
/// final empty line. httparse also takes a bare LF, which another parser
/// on the path may read differently.
pub fn line_ends_ok(
    buf: &[u8],
    start: usize,
    first_end: usize,
    fields: &[Field],
    head_len: usize,
) -> bool {
    let crlf = |end: usize| end >= 2 && &buf[end - 2..end] == b"\r\n";
    let leading = &buf[..start];
    leading.len() % 2 == 0
        && leading.chunks(2).all(|c| c == b"\r\n")
        && crlf(first_end + 2)
        && fields.iter().all(|f| crlf(f.line.end))
        && crlf(head_len)
}

/// Whether the request line's last word is `HTTP/d.d`: only then is the
/// refusal about the version (505) rather than the line (400).
fn names_a_version(buf: &[u8]) -> bool {
    let line = buf
        .split(|&b| b == b'\n')
        .find(|l| !l.is_empty() && l != b"\r");
    let Some(line) = line else { return false };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let word = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    matches!(word, [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit())
}
