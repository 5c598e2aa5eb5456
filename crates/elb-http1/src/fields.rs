//! The header fields a proxy must understand, recognised once per field,
//! and the per-request summary they add up to (framing, Host, hop-by-hop,
//! Expect). The request and response parsers share it.

use std::ops::Range;

use crate::reject::Reject;
use crate::syntax::{is_tchar, list_members, parse_content_length, trim_ows};

/// The fields the codec interprets; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Host.
    Host,
    /// Content-Length.
    ContentLength,
    /// Transfer-Encoding.
    TransferEncoding,
    /// Connection.
    Connection,
    /// Keep-Alive (hop-by-hop).
    KeepAlive,
    /// Proxy-Connection (hop-by-hop, never standard but still sent).
    ProxyConnection,
    /// TE (hop-by-hop).
    Te,
    /// Trailer.
    Trailer,
    /// Upgrade (hop-by-hop).
    Upgrade,
    /// Expect.
    Expect,
    /// Any other field.
    Other,
}

impl FieldKind {
    /// Recognises a field name, ASCII case-insensitively.
    pub fn of(name: &[u8]) -> FieldKind {
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        match name.len() {
            4 if is(b"host") => FieldKind::Host,
            2 if is(b"te") => FieldKind::Te,
            6 if is(b"expect") => FieldKind::Expect,
            7 if is(b"upgrade") => FieldKind::Upgrade,
            7 if is(b"trailer") => FieldKind::Trailer,
            10 if is(b"connection") => FieldKind::Connection,
            10 if is(b"keep-alive") => FieldKind::KeepAlive,
            14 if is(b"content-length") => FieldKind::ContentLength,
            16 if is(b"proxy-connection") => FieldKind::ProxyConnection,
            17 if is(b"transfer-encoding") => FieldKind::TransferEncoding,
            _ => FieldKind::Other,
        }
    }

    /// Fields that belong to one connection only (RFC 9110 §7.6.1) and so
    /// are never forwarded. Transfer-Encoding is kept: the body is
    /// forwarded with the framing it arrived in.
    pub fn is_hop_by_hop(self) -> bool {
        matches!(
            self,
            FieldKind::Connection
                | FieldKind::KeepAlive
                | FieldKind::ProxyConnection
                | FieldKind::Te
                | FieldKind::Trailer
                | FieldKind::Upgrade
        )
    }
}

/// One header field line, as ranges into the caller's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The name.
    pub name: Range<usize>,
    /// The value, without surrounding whitespace.
    pub value: Range<usize>,
    /// The whole line with its CRLF, for copying it unchanged.
    pub line: Range<usize>,
    /// What the codec recognised it as.
    pub kind: FieldKind,
    /// Whether it goes to the next hop: false for hop-by-hop fields, names
    /// listed in Connection, and names with underscores under the drop policy.
    pub forward: bool,
}

/// What the fields of one message add up to.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub hosts: u32,
    pub host: Option<Range<usize>>,
    pub content_length: Option<u64>,
    pub chunked_count: u32,
    pub te_present: bool,
    pub te_last_is_chunked: bool,
    /// A Transfer-Encoding list had an empty member (`chunked,`): RFC 9110 lets a recipient
    /// skip it, hyper refuses it, and a request's framing must mean one thing to every hop.
    pub te_empty_member: bool,
    pub te_other_coding: bool,
    pub close: bool,
    pub keep_alive: bool,
    pub conn_upgrade: bool,
    pub upgrade_field: bool,
    pub expect_continue: bool,
    /// Connection named a field other than close/keep-alive/upgrade.
    pub conn_names_fields: bool,
}

impl Summary {
    /// Adds one field; `value` is its bytes, at `range` in the buffer.
    pub fn add(
        &mut self,
        kind: FieldKind,
        value: &[u8],
        range: Range<usize>,
    ) -> Result<(), Reject> {
        match kind {
            FieldKind::Host => {
                self.hosts += 1;
                self.host = Some(range);
            }
            FieldKind::ContentLength => self.add_content_length(value)?,
            FieldKind::TransferEncoding => self.add_transfer_encoding(value),
            FieldKind::Connection => self.add_connection(value)?,
            FieldKind::Upgrade => self.upgrade_field = true,
            FieldKind::Expect => {
                if !value.eq_ignore_ascii_case(b"100-continue") {
                    return Err(Reject::Expectation);
                }
                self.expect_continue = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn add_content_length(&mut self, value: &[u8]) -> Result<(), Reject> {
        if self.content_length.is_some() || value.contains(&b',') {
            return Err(Reject::DuplicateContentLength);
        }
        let n = parse_content_length(value).ok_or(Reject::InvalidContentLength)?;
        self.content_length = Some(n);
        Ok(())
    }

    fn add_transfer_encoding(&mut self, value: &[u8]) {
        self.te_present = true;
        // A field with no member still counts: it ends in no coding at all.
        self.te_last_is_chunked = false;
        self.te_empty_member |= value.split(|&b| b == b',').any(|m| trim_ows(m).is_empty());
        for m in list_members(value) {
            let chunked = m.eq_ignore_ascii_case(b"chunked");
            self.chunked_count += u32::from(chunked);
            self.te_other_coding |= !chunked;
            self.te_last_is_chunked = chunked;
        }
    }

    fn add_connection(&mut self, value: &[u8]) -> Result<(), Reject> {
        for m in list_members(value) {
            if !m.iter().all(|&b| is_tchar(b)) {
                return Err(Reject::HeaderValue);
            }
            if m.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if m.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if m.eq_ignore_ascii_case(b"upgrade") {
                self.conn_upgrade = true;
            } else {
                self.conn_names_fields = true;
            }
        }
        Ok(())
    }
}

/// Marks every field whose name a Connection field lists as not forwarded
/// (RFC 9110 §7.6.1), except the fields that carry framing and routing,
/// which the proxy forwards as it interpreted them.
pub fn drop_connection_listed(buf: &[u8], fields: &mut [Field]) {
    for ci in 0..fields.len() {
        if fields[ci].kind != FieldKind::Connection {
            continue;
        }
        let value = fields[ci].value.clone();
        for member in list_members(&buf[value]) {
            for f in fields.iter_mut() {
                let keep = matches!(
                    f.kind,
                    FieldKind::Host | FieldKind::ContentLength | FieldKind::TransferEncoding
                );
                if !keep && buf[f.name.clone()].eq_ignore_ascii_case(member) {
                    f.forward = false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_recognised_case_insensitively() {
        assert_eq!(FieldKind::of(b"hOsT"), FieldKind::Host);
        assert_eq!(
            FieldKind::of(b"Transfer-Encoding"),
            FieldKind::TransferEncoding
        );
        assert_eq!(FieldKind::of(b"Transfer_Encoding"), FieldKind::Other);
        assert_eq!(FieldKind::of(b"Content-Lengths"), FieldKind::Other);
    }

    #[test]
    fn transfer_encoding_tracks_the_final_coding_across_fields() {
        let mut s = Summary::default();
        s.add_transfer_encoding(b"chunked");
        s.add_transfer_encoding(b"gzip");
        assert!(!s.te_last_is_chunked && s.te_other_coding);
        let mut s = Summary::default();
        s.add_transfer_encoding(b"gzip, chunked");
        assert!(s.te_last_is_chunked && s.te_other_coding && s.chunked_count == 1);
    }

    #[test]
    fn a_second_content_length_is_refused_even_if_equal() {
        let mut s = Summary::default();
        s.add(FieldKind::ContentLength, b"5", 0..1).unwrap();
        assert_eq!(
            s.add(FieldKind::ContentLength, b"5", 0..1),
            Err(Reject::DuplicateContentLength)
        );
    }
}
