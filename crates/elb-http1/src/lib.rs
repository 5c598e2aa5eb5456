//! Strict, sans-IO HTTP/1.1 for elb-proxy's fast path: bytes in, decisions
//! and ranges into the caller's buffer out; no I/O, no clock, no allocation
//! per request once the reusable heads and buffers have grown.
//!
//! - [`parse_request`]: request head, validated as RFC 9110/9112 ask of a
//!   proxy, or a [`Reject`] naming the rule and the status owed.
//! - [`normalize_path`]: the path route matching should see.
//! - [`ChunkedDecoder`]: chunked bodies, strictly framed.
//! - [`parse_response`]: a member's response head and how its body ends.
//! - [`HeadWriter`]: the forwarded head, minimally rewritten, for one writev.
//!
//! The fast path's loop, per connection (all state reused across requests):
//!
//! ```
//! use elb_http1::*;
//!
//! let buf = b"POST /%61pi/../v1 HTTP/1.1\r\nHost: a\r\nX_Forged: 1\r\n\
//!             Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
//! let (cfg, mut head, mut path, mut writer) =
//!     (RequestConfig::default(), RequestHead::default(), Vec::new(), HeadWriter::new());
//! match parse_request(buf, &cfg, &mut head) {
//!     Err(reject) => { /* count reject.as_str(), answer reject.status(), close */ }
//!     Ok(Progress::Partial) => { /* read more, call again */ }
//!     Ok(Progress::Complete) => {
//!         normalize_path(&buf[head.path_and_query.clone()], &PathOptions::default(), &mut path)
//!             .expect("valid path");
//!         assert_eq!(path, b"/v1"); // route on this
//!         let body = &buf[head.head_len..];
//!         // Check the body bytes already read before anything goes out.
//!         let mut chunks = ChunkedDecoder::new(ChunkedLimits::default());
//!         let mut rest = body;
//!         while let Ok(d) = chunks.decode(rest) {
//!             rest = &rest[d.consumed..];
//!             if d.done || d.consumed == 0 { break; }
//!         }
//!         assert!(chunks.is_done());
//!         let rw = Rewrite { target: Some(&path), append: &[(b"X-Forwarded-For", b"198.18.0.9")],
//!                            ..Rewrite::default() };
//!         writer.write_request(buf, &head, &rw);
//!         let slices = writer.io_slices(body); // one writev to the member
//!         assert!(slices[0].starts_with(b"POST /v1 HTTP/1.1\r\nHost: a\r\n"));
//!         assert!(!slices[0].windows(8).any(|w| w == b"X_Forged"));
//!     }
//! }
//! ```

mod chunked;
mod fields;
mod head;
mod path;
mod reject;
mod request;
mod response;
mod syntax;
mod target;
mod writer;

pub use chunked::{ChunkError, ChunkedDecoder, ChunkedLimits, Decoded};
pub use fields::{Field, FieldKind};
pub use head::MAX_HEADERS;
pub use path::{EncodedSlash, PathOptions, normalize_path};
pub use reject::Reject;
pub use request::{
    HostMismatch, Progress, RequestBody, RequestConfig, RequestHead, Underscores, Version,
    parse_request,
};
pub use response::{
    RequestKind, ResponseBody, ResponseConfig, ResponseHead, ResponseReject, parse_response,
};
pub use syntax::is_valid_authority;
pub use target::TargetForm;
pub use writer::{HeadWriter, Rewrite};
