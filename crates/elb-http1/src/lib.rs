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
