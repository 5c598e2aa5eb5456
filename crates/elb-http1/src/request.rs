//! The request head: httparse finds the lines, then the strict layer of
//! RFC 9110/9112 decides framing, Host, the target form and what is
//! forwarded. Output is ranges into the caller's buffer, in a reusable head.

use std::mem::MaybeUninit;
use std::ops::Range;

use crate::fields::{Field, FieldKind, Summary, drop_connection_listed};
use crate::head::{
    MAX_HEADERS, classify_httparse_error, line_ends_ok, offset_of, push_fields, within_limit,
};
use crate::reject::Reject;
use crate::syntax::is_valid_authority;
use crate::target::{TargetForm, classify};

/// HTTP/1.0 or HTTP/1.1, the only versions HTTP/1 framing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    #[default]
    Http11,
}

/// How the request body is delimited (RFC 9112 §6.3); a request is never
/// delimited by closing the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestBody {
    /// No body.
    #[default]
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked: feed it to [`crate::ChunkedDecoder`].
    Chunked,
}

/// What to do with a header name that has an underscore, which CGI-style
/// members cannot tell from the dash form (nginx's `underscores_in_headers`,
/// Envoy's `headers_with_underscores_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Underscores {
    /// Parse the request, do not forward the field.
    #[default]
    Drop,
    /// Refuse the request.
    Reject,
    /// Forward it.
    Allow,
}

/// An absolute-form target whose authority differs from Host. Refused by
/// default, as HAProxy does: a client that sends both and makes them differ
/// is probing for a proxy and a member that route by different ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostMismatch {
    /// Refuse the request (400).
    #[default]
    Reject,
    /// The target's authority wins and replaces Host (RFC 9112 §3.2.2).
    UseTarget,
}

/// Limits and policies for request heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestConfig {
    /// Largest head, request line to the empty line (431 beyond).
    pub max_head_bytes: usize,
    /// Most header fields (431 beyond); at most [`MAX_HEADERS`].
    pub max_headers: usize,
    /// Longest request-target (414 beyond).
    pub max_target_bytes: usize,
    /// Underscores in names.
    pub underscores: Underscores,
    /// Host against an absolute-form target.
    pub host_mismatch: HostMismatch,
}

impl Default for RequestConfig {
    fn default() -> Self {
        RequestConfig {
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            max_target_bytes: 8 * 1024,
            underscores: Underscores::Drop,
            host_mismatch: HostMismatch::Reject,
        }
    }
}

/// Whether a head is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More bytes are needed; call again with the grown buffer.
    Partial,
    /// The head is complete and valid; [`RequestHead`] describes it.
    Complete,
}

/// A parsed, validated request head: every range indexes the buffer that
/// was parsed. Reuse one per connection: parsing clears and refills it
/// without allocating once its field list has grown to the usual size.
#[derive(Debug, Clone, Default)]
pub struct RequestHead {
    /// Bytes of the head, the final empty line included; the body starts here.
    pub head_len: usize,
    /// The request line without its CRLF.
    pub request_line: Range<usize>,
    /// The method.
    pub method: Range<usize>,
    /// The request-target as received.
    pub target: Range<usize>,
    /// HTTP/1.0 or 1.1.
    pub version: Version,
    /// The target's form.
    pub form: Option<TargetForm>,
    /// Path and query (empty range for authority- and asterisk-form, and
    /// for an absolute-form target without a path, which means `/`).
    pub path_and_query: Range<usize>,
    /// The authority the request is for: the target's in absolute- and
    /// authority-form, else Host's; `None` for an empty or missing Host.
    pub authority: Option<Range<usize>>,
    /// The Host field must be rewritten to `authority` when forwarded.
    pub rewrite_host: bool,
    /// How the body is delimited.
    pub body: RequestBody,
    /// The connection stays open after this exchange.
    pub keep_alive: bool,
    /// The client asks to switch protocols (Upgrade listed in Connection).
    pub upgrade: bool,
    /// `Expect: 100-continue` on HTTP/1.1.
    pub expect_continue: bool,
    /// Every field line, in order.
    pub fields: Vec<Field>,
}

impl RequestHead {
    /// The method's bytes in `buf`.
    pub fn method<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.method.clone()]
    }

    /// The target's bytes in `buf`.
    pub fn target<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.target.clone()]
    }

    /// The first value of the field called `name`, if any.
    pub fn field<'b>(&self, buf: &'b [u8], name: &[u8]) -> Option<&'b [u8]> {
        self.fields
            .iter()
            .find(|f| buf[f.name.clone()].eq_ignore_ascii_case(name))
            .map(|f| &buf[f.value.clone()])
    }

    fn reset(&mut self) {
        let mut fields = std::mem::take(&mut self.fields);
        fields.clear();
        *self = RequestHead {
            fields,
            ..RequestHead::default()
        };
    }
}

/// Parses the request head at the start of `buf` into `head`.
///
/// `Ok(Partial)` asks for more bytes (a head still incomplete past
/// `max_head_bytes` is refused); `Err` is the reason to refuse it, after
/// which the connection must be closed once the answer is sent.
pub fn parse_request(
    buf: &[u8],
    cfg: &RequestConfig,
    head: &mut RequestHead,
) -> Result<Progress, Reject> {
    head.reset();
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let slots = &mut slots[..cfg.max_headers.min(MAX_HEADERS)];
    let mut req = httparse::Request::new(&mut []);
    let status = httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut req, buf, slots)
        .map_err(|e| classify_httparse_error(e, buf, cfg.max_head_bytes))?;
    let Some(head_len) =
        within_limit(status, buf.len(), cfg.max_head_bytes).ok_or(Reject::HeadTooLarge)?
    else {
        return Ok(Progress::Partial);
    };
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(Reject::RequestLine);
    };
    head.head_len = head_len;
    head.method = offset_of(buf, method.as_bytes());
    head.target = offset_of(buf, target.as_bytes());
    head.version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    if head.target.len() > cfg.max_target_bytes {
        return Err(Reject::TargetTooLong);
    }
    let mut summary = Summary::default();
    collect_fields(buf, req.headers, cfg, head, &mut summary)?;
    apply_target(buf, cfg, head, &summary)?;
    head.body = request_body(head.version, &summary)?;
    head.keep_alive = match head.version {
        Version::Http11 => !summary.close,
        Version::Http10 => summary.keep_alive && !summary.close,
    };
    head.upgrade = summary.upgrade_field && summary.conn_upgrade;
    head.expect_continue = summary.expect_continue && head.version == Version::Http11;
    if summary.conn_names_fields {
        drop_connection_listed(buf, &mut head.fields);
    }
    Ok(Progress::Complete)
}

/// Records every field with its line, applying the underscore policy and
/// adding it to the summary.
fn collect_fields(
    buf: &[u8],
    headers: &[httparse::Header<'_>],
    cfg: &RequestConfig,
    head: &mut RequestHead,
    summary: &mut Summary,
) -> Result<(), Reject> {
    let end_of_fields = head.head_len - 2;
    push_fields(buf, headers, end_of_fields, &mut head.fields);
    for f in &mut head.fields {
        let name = &buf[f.name.clone()];
        if name.contains(&b'_') {
            match cfg.underscores {
                Underscores::Reject => return Err(Reject::Underscore),
                Underscores::Drop => f.forward = false,
                Underscores::Allow => {}
            }
            // Never read as its dash twin (Content_Length is not a length).
            f.kind = FieldKind::Other;
        }
        summary.add(f.kind, &buf[f.value.clone()], f.value.clone())?;
    }
    let line_end = head.fields.first().map_or(end_of_fields, |f| f.line.start);
    head.request_line = head.method.start..line_end - 2;
    if !line_ends_ok(
        buf,
        head.method.start,
        head.request_line.end,
        &head.fields,
        head.head_len,
    ) {
        return Err(Reject::BareLineEnd);
    }
    Ok(())
}

/// Classifies the target and settles the request's authority.
fn apply_target(
    buf: &[u8],
    cfg: &RequestConfig,
    head: &mut RequestHead,
    summary: &Summary,
) -> Result<(), Reject> {
    let t0 = head.target.start;
    let parts = classify(head.method(buf), head.target(buf))?;
    head.form = Some(parts.form);
    head.path_and_query = t0 + parts.path_and_query.start..t0 + parts.path_and_query.end;
    if summary.hosts > 1 {
        return Err(Reject::DuplicateHost);
    }
    let host = summary.host.clone();
    match &host {
        None if head.version == Version::Http11 => return Err(Reject::MissingHost),
        Some(h) if !h.is_empty() && !is_valid_authority(&buf[h.clone()]) => {
            return Err(Reject::InvalidHost);
        }
        _ => {}
    }
    let host = host.filter(|h| !h.is_empty());
    head.authority = match parts.authority {
        Some(a) => {
            let a = t0 + a.start..t0 + a.end;
            let agrees = host
                .as_ref()
                .is_some_and(|h| buf[h.clone()].eq_ignore_ascii_case(&buf[a.clone()]));
            if !agrees && host.is_some() && cfg.host_mismatch == HostMismatch::Reject {
                return Err(Reject::HostMismatch);
            }
            head.rewrite_host = !agrees;
            Some(a)
        }
        None => host,
    };
    Ok(())
}

/// The framing decision of RFC 9112 §6.3 for a request at a proxy.
fn request_body(version: Version, s: &Summary) -> Result<RequestBody, Reject> {
    if s.te_present {
        if version == Version::Http10 {
            return Err(Reject::TransferEncodingOnHttp10);
        }
        if s.content_length.is_some() {
            return Err(Reject::LengthAndChunked);
        }
        if !s.te_last_is_chunked || s.chunked_count != 1 || s.te_empty_member {
            return Err(Reject::InvalidTransferEncoding);
        }
        if s.te_other_coding {
            return Err(Reject::UnsupportedTransferCoding);
        }
        return Ok(RequestBody::Chunked);
    }
    Ok(match s.content_length {
        Some(0) | None => RequestBody::None,
        Some(n) => RequestBody::Length(n),
    })
}
