//! What request and response heads share: the header-slot array size,
//! buffer offsets of httparse's slices, and the reasons behind its errors.

use std::ops::Range;

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

/// Names the rule behind an httparse error, looking at the bytes where
/// httparse does not say (a continuation line is obs-fold, a lone CR or LF
/// a bad line end).
pub fn classify_httparse_error(e: httparse::Error, buf: &[u8], max_head: usize) -> Reject {
    let window = &buf[..buf.len().min(max_head)];
    match e {
        httparse::Error::TooManyHeaders => Reject::TooManyHeaders,
        httparse::Error::Version => Reject::Version,
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
                Reject::BareLineEnd
            } else {
                Reject::HeaderName
            }
        }
        httparse::Error::Status => Reject::RequestLine,
    }
}
