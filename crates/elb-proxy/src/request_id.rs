//! Request ids on both engines (`request_id:` in the config): the received id kept from a
//! trusted peer, a fresh one otherwise, in the configured header toward the member and in the
//! access log. Off unless configured; then a single branch per request.

use http::{HeaderName, HeaderValue, Request};

use elb_proxy_core::request_id::{format_id, keeps};

/// The id of one request, carried in its extensions for the access log and the header
/// rules' `%{request_id}`: the value the member gets.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// A fresh id (a version-4 UUID).
pub fn new_id() -> String {
    format_id(fastrand::u128(..))
}

/// hyper path: sets the configured header on `req` (the received value when kept, a fresh
/// one otherwise; several received values are never kept) and records the id for the log.
pub fn assign<B>(header: Option<&HeaderName>, trusted: bool, req: &mut Request<B>) {
    let Some(name) = header else {
        return;
    };
    let mut received = req.headers().get_all(name).iter();
    let first = received.next();
    let kept = (received.next().is_none() && keeps(first.map(HeaderValue::as_bytes), trusted))
        .then(|| first.cloned())
        .flatten();
    let id = match kept {
        Some(id) => id,
        None => {
            // A UUID is always a valid header value.
            let id = HeaderValue::from_str(&new_id()).unwrap_or(HeaderValue::from_static("-"));
            req.headers_mut().insert(name.clone(), id.clone());
            id
        }
    };
    req.extensions_mut().insert(RequestId(id));
}

/// Fast path: the id of the request whose head is `head` in `buf`.
#[derive(Debug)]
pub struct FastId {
    /// The header it travels in.
    pub name: HeaderName,
    /// The id.
    pub value: String,
    /// The forwarded head must carry `value` instead of what was received.
    pub replace: bool,
}

/// Fast path: keeps a trusted peer's single sane id, or makes a fresh one to set.
pub fn for_fast(
    name: &HeaderName,
    trusted: bool,
    buf: &[u8],
    head: &elb_http1::RequestHead,
) -> FastId {
    let mut values = head
        .fields
        .iter()
        .filter(|f| buf[f.name.clone()].eq_ignore_ascii_case(name.as_str().as_bytes()))
        .map(|f| &buf[f.value.clone()]);
    let first = values.next();
    let kept = if values.next().is_none() && keeps(first, trusted) {
        first.and_then(|v| std::str::from_utf8(v).ok())
    } else {
        None
    };
    FastId {
        name: name.clone(),
        replace: kept.is_none(),
        value: kept.map_or_else(new_id, str::to_string),
    }
}
