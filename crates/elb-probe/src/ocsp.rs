//! The facts of a DER OCSP response (RFC 6960) a server staples: whether the responder
//! answered `successful`, and for each certificate it speaks of, the serial number, the
//! status and until when the answer holds. A bounded DER walk that trusts nothing: the
//! client checks the responder's signature; this only lets an operator's check say that a
//! file is an OCSP response for the certificate it is configured with.

use crate::x509::{elements, next, parse_time};

/// One certificate's status in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspEntry {
    /// The certificate's serial number (INTEGER contents as encoded).
    pub serial: Vec<u8>,
    /// `good`, `revoked` or `unknown`.
    pub status: &'static str,
    /// `nextUpdate`, seconds since the Unix epoch, when given.
    pub next_update: Option<i64>,
}

/// Reads a DER OCSPResponse: `Err` says in words why it is not a usable one.
pub fn ocsp_entries(der: &[u8]) -> Result<Vec<OcspEntry>, String> {
    let bad = || "not a DER OCSP response".to_string();
    let (resp, _) = next(der).filter(|(t, _)| t.tag == 0x30).ok_or_else(bad)?;
    let mut parts = elements(resp.body);
    let status = parts.next().filter(|t| t.tag == 0x0a).ok_or_else(bad)?;
    if status.body != [0] {
        return Err(format!(
            "the OCSP responder did not answer successfully (responseStatus {:?})",
            status.body
        ));
    }
    let bytes = parts.next().filter(|t| t.tag == 0xa0).ok_or_else(bad)?;
    let (bytes, _) = next(bytes.body).ok_or_else(bad)?;
    let mut rb = elements(bytes.body);
    let _kind = rb.next().filter(|t| t.tag == 0x06).ok_or_else(bad)?;
    let basic = rb.next().filter(|t| t.tag == 0x04).ok_or_else(bad)?;
    let (basic, _) = next(basic.body).ok_or_else(bad)?;
    let (data, _) = next(basic.body).ok_or_else(bad)?;
    let mut fields = elements(data.body).peekable();
    if fields.peek().is_some_and(|t| t.tag == 0xa0) {
        fields.next(); // version
    }
    let _responder = fields.next().ok_or_else(bad)?;
    let _produced = fields.next().filter(|t| t.tag == 0x18).ok_or_else(bad)?;
    let responses = fields.next().filter(|t| t.tag == 0x30).ok_or_else(bad)?;
    elements(responses.body)
        .map(|r| entry(r.body).ok_or_else(bad))
        .collect()
}

fn entry(single: &[u8]) -> Option<OcspEntry> {
    let mut parts = elements(single);
    let cert_id = parts.next().filter(|t| t.tag == 0x30)?;
    let serial = elements(cert_id.body).nth(3).filter(|t| t.tag == 0x02)?;
    let status = match parts.next()?.tag {
        0x80 => "good",
        0xa1 => "revoked",
        0x82 => "unknown",
        _ => return None,
    };
    let _this_update = parts.next().filter(|t| t.tag == 0x18)?;
    let next_update = match parts.next() {
        Some(t) if t.tag == 0xa0 => Some(parse_time(&next(t.body)?.0)?),
        _ => None,
    };
    Some(OcspEntry {
        serial: serial.body.to_vec(),
        status,
        next_update,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_an_ocsp_response_is_said_so() {
        assert!(ocsp_entries(b"").is_err());
        assert!(ocsp_entries(b"\x30\x03\x0a\x01\x00").is_err());
        let unauthorized = b"\x30\x03\x0a\x01\x06";
        assert!(
            ocsp_entries(unauthorized)
                .unwrap_err()
                .contains("did not answer")
        );
    }
}
