//! The fast path's own answers (errors, the health service, redirects, 429), byte for byte what the hyper
//! path sends for the same cases: status, `LOCAL_HEADERS`, a short text body.

use std::io::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use elb_proxy_core::{LOCAL_HEADERS, RequestError};

use crate::shared::Shared;
use crate::stats::local_error_index;

/// Appends a complete local answer to `out`; `head_only` leaves the body out (HEAD) but
/// keeps its length, `close` adds `Connection: close`.
pub(crate) fn write_local(
    out: &mut Vec<u8>,
    status: http::StatusCode,
    body: &[u8],
    head_only: bool,
    close: bool,
) {
    write_status_and_local_headers(out, status);
    let _ = write!(out, "content-length: {}\r\n", body.len());
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(body);
    }
}

/// The status line and the headers every local answer carries (`LOCAL_HEADERS`).
fn write_status_and_local_headers(out: &mut Vec<u8>, status: http::StatusCode) {
    let reason = status.canonical_reason().unwrap_or("");
    let _ = write!(out, "HTTP/1.1 {} {reason}\r\n", status.as_u16());
    for (name, value) in &LOCAL_HEADERS {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// A redirect route's answer: the status, `Location`, an empty body (as the hyper path's).
pub(crate) fn write_redirect(
    out: &mut Vec<u8>,
    status: http::StatusCode,
    location: &str,
    close: bool,
) {
    write_status_and_local_headers(out, status);
    let _ = write!(out, "content-length: 0\r\nlocation: {location}\r\n");
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// The answer to a client over its request rate: 429 with `Retry-After` (as the hyper
/// path's). Returns the body's length.
pub(crate) fn write_too_many(
    out: &mut Vec<u8>,
    wait: std::time::Duration,
    head_only: bool,
    close: bool,
) -> u64 {
    const BODY: &[u8] = b"Too Many Requests\n";
    write_status_and_local_headers(out, http::StatusCode::TOO_MANY_REQUESTS);
    let after = crate::client_limits::retry_after(wait);
    out.extend_from_slice(b"retry-after: ");
    out.extend_from_slice(after.as_bytes());
    let _ = write!(out, "\r\ncontent-length: {}\r\n", BODY.len());
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(BODY);
    }
    BODY.len() as u64
}

/// The answer for a failed request, counted as the hyper path counts it. Returns the
/// body's length (what the access log records, a HEAD request's included).
pub(crate) fn write_error(
    out: &mut Vec<u8>,
    shared: &Shared,
    err: RequestError,
    head_only: bool,
    close: bool,
) -> u64 {
    let answer = err.answer();
    if let Some(i) = local_error_index(answer.status.as_u16()) {
        shared.stats.local_errors[i].fetch_add(1, Relaxed);
    }
    write_local(out, answer.status, answer.body.as_bytes(), head_only, close);
    answer.body.len() as u64
}

/// The health service's answer (200 or 503 with the reason).
pub(crate) fn write_health(out: &mut Vec<u8>, shared: &Shared, head_only: bool, close: bool) {
    match shared.health() {
        Ok(()) => write_local(
            out,
            http::StatusCode::OK,
            b"EchoProxy OK\n",
            head_only,
            close,
        ),
        Err(reason) => {
            let body = format!("EchoProxy unavailable: {reason}\n");
            write_local(
                out,
                http::StatusCode::SERVICE_UNAVAILABLE,
                body.as_bytes(),
                head_only,
                close,
            );
        }
    }
}
