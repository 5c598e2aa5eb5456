//! The forwarded request head, built with minimal rewriting into one
//! reusable buffer: kept lines are copied as they came (runs of them in
//! one copy), hop-by-hop and dropped fields left out, a few fields set or
//! appended by the caller; the body bytes already read go out beside it in
//! the same writev, uncopied.

use std::io::IoSlice;

use crate::fields::FieldKind;
use crate::request::{RequestHead, Version};
use crate::syntax::is_tchar;
use crate::target::TargetForm;

/// What to change in the forwarded head. Names are matched ASCII
/// case-insensitively; names must be tokens and values free of CR, LF and
/// NUL (checked: a violation is a bug in the caller's configuration).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rewrite<'a> {
    /// Send this target instead (e.g. the normalised path).
    pub target: Option<&'a [u8]>,
    /// Send an absolute-form target as origin-form (what an origin expects).
    pub origin_form: bool,
    /// Send HTTP/1.1 whatever the client spoke (RFC 9110 §6.2: an
    /// intermediary sends its own version).
    pub http11: bool,
    /// Fields to set: any received field of that name is left out.
    pub set: &'a [(&'a [u8], &'a [u8])],
    /// Fields to append to: received values are joined with `, ` and the
    /// given value added last (X-Forwarded-For, Via).
    pub append: &'a [(&'a [u8], &'a [u8])],
    /// A Connection field for the member hop (`keep-alive` or `close`).
    pub connection: Option<&'a [u8]>,
}

/// Builds forwarded heads; keep one per connection so its buffer is reused.
#[derive(Debug, Default, Clone)]
pub struct HeadWriter {
    buf: Vec<u8>,
}

impl HeadWriter {
    /// An empty writer.
    pub fn new() -> Self {
        HeadWriter::default()
    }

    /// Writes the head of the request `head` (parsed from `src`) as it is
    /// to be forwarded, and returns it.
    pub fn write_request(&mut self, src: &[u8], head: &RequestHead, rw: &Rewrite<'_>) -> &[u8] {
        for (n, v) in rw.set.iter().chain(rw.append) {
            assert!(valid_field(n, v), "caller field {n:?} is not a valid field");
        }
        self.buf.clear();
        self.request_line(src, head, rw);
        let mut run: Option<std::ops::Range<usize>> = None;
        for f in &head.fields {
            let name = &src[f.name.clone()];
            let replaced = (f.kind == FieldKind::Host && head.rewrite_host)
                || rw
                    .set
                    .iter()
                    .chain(rw.append)
                    .any(|(n, _)| n.eq_ignore_ascii_case(name));
            if f.forward && !replaced {
                run = match run {
                    Some(r) if r.end == f.line.start => Some(r.start..f.line.end),
                    Some(r) => {
                        self.buf.extend_from_slice(&src[r]);
                        Some(f.line.clone())
                    }
                    None => Some(f.line.clone()),
                };
            }
        }
        if let Some(r) = run {
            self.buf.extend_from_slice(&src[r]);
        }
        self.added_fields(src, head, rw);
        self.buf.extend_from_slice(b"\r\n");
        &self.buf
    }

    /// The last head written.
    pub fn head(&self) -> &[u8] {
        &self.buf
    }

    /// The last head and `body` (the body bytes already read, from the
    /// caller's buffer) as the two slices of one writev.
    pub fn io_slices<'a>(&'a self, body: &'a [u8]) -> [IoSlice<'a>; 2] {
        [IoSlice::new(&self.buf), IoSlice::new(body)]
    }

    fn request_line(&mut self, src: &[u8], head: &RequestHead, rw: &Rewrite<'_>) {
        let origin = rw.origin_form && head.form == Some(TargetForm::Absolute);
        let version_changes = rw.http11 && head.version == Version::Http10;
        if rw.target.is_none() && !origin && !version_changes {
            self.buf.extend_from_slice(&src[head.request_line.clone()]);
            self.buf.extend_from_slice(b"\r\n");
            return;
        }
        self.buf.extend_from_slice(head.method(src));
        self.buf.push(b' ');
        match rw.target {
            Some(t) => self.buf.extend_from_slice(t),
            None if origin => {
                let pq = &src[head.path_and_query.clone()];
                if !pq.starts_with(b"/") {
                    self.buf.push(b'/');
                }
                self.buf.extend_from_slice(pq);
            }
            None => self.buf.extend_from_slice(head.target(src)),
        }
        let http10 = head.version == Version::Http10 && !rw.http11;
        self.buf.extend_from_slice(if http10 {
            b" HTTP/1.0\r\n"
        } else {
            b" HTTP/1.1\r\n"
        });
    }

    fn added_fields(&mut self, src: &[u8], head: &RequestHead, rw: &Rewrite<'_>) {
        let had_host = head.fields.iter().any(|f| f.kind == FieldKind::Host);
        if let Some(a) = head
            .authority
            .clone()
            .filter(|_| head.rewrite_host || !had_host)
        {
            self.field(b"Host", &src[a]);
        } else if !had_host
            && rw.http11
            && !rw.set.iter().any(|(n, _)| n.eq_ignore_ascii_case(b"host"))
        {
            // HTTP/1.1 requires Host; with no authority it is empty (RFC 9112 §3.2).
            self.field(b"Host", b"");
        }
        for (n, v) in rw.set {
            self.field(n, v);
        }
        for (n, v) in rw.append {
            self.buf.extend_from_slice(n);
            self.buf.extend_from_slice(b": ");
            for f in head.fields.iter().filter(|f| f.forward) {
                if src[f.name.clone()].eq_ignore_ascii_case(n) && !f.value.is_empty() {
                    self.buf.extend_from_slice(&src[f.value.clone()]);
                    self.buf.extend_from_slice(b", ");
                }
            }
            self.buf.extend_from_slice(v);
            self.buf.extend_from_slice(b"\r\n");
        }
        if let Some(c) = rw.connection {
            self.field(b"Connection", c);
        }
    }

    fn field(&mut self, name: &[u8], value: &[u8]) {
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(b": ");
        self.buf.extend_from_slice(value);
        self.buf.extend_from_slice(b"\r\n");
    }
}

fn valid_field(name: &[u8], value: &[u8]) -> bool {
    !name.is_empty()
        && name.iter().all(|&b| is_tchar(b))
        && !value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))
}
