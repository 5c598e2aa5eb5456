//! Request ids: which received id is kept, and how a made one is written. The id travels to
//! members in the configured header and is the access log's `request_id`; a client that is
//! not a trusted proxy cannot choose it (its value is replaced), so logs of several hops
//! line up only through proxies the operator trusts.

use http::HeaderName;

/// Longest received id kept (longer ones are replaced, as Envoy bounds its own).
pub const MAX_RECEIVED_ID: usize = 200;

/// The configured header, when request ids are on.
pub fn header_of(config: &crate::config::Config) -> Option<HeaderName> {
    config
        .request_id
        .as_ref()
        .and_then(|r| HeaderName::from_bytes(r.header.as_bytes()).ok())
}

/// Whether the received id `value` is kept: only from a trusted peer, and only a sane value
/// (1..=200 visible ASCII bytes); anything else gets a fresh id.
pub fn keeps(value: Option<&[u8]>, trusted: bool) -> bool {
    trusted
        && value.is_some_and(|v| {
            !v.is_empty() && v.len() <= MAX_RECEIVED_ID && v.iter().all(|b| b.is_ascii_graphic())
        })
}

/// A request id from 128 random bits, written as a version-4 UUID (the form Envoy makes and
/// most tracing tools expect).
pub fn format_id(random: u128) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let v = (random & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let mut out = String::with_capacity(36);
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        let nibble = (v >> (124 - 4 * i)) & 0xf;
        out.push(char::from(HEX[nibble as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_trusted_peers_sane_id_is_kept() {
        assert!(keeps(Some(b"req-42"), true));
        assert!(!keeps(Some(b"req-42"), false));
        assert!(!keeps(None, true));
        assert!(!keeps(Some(b""), true));
        assert!(!keeps(Some(b"two words"), true));
        assert!(!keeps(Some(&[b'a'; 201]), true));
        assert!(keeps(Some(&[b'a'; 200]), true));
    }

    #[test]
    fn made_ids_are_version_4_uuids() {
        let id = format_id(u128::MAX);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let id = format_id(0);
        assert_eq!(id, "00000000-0000-4000-8000-000000000000");
        assert_ne!(format_id(1), format_id(2));
    }
}
