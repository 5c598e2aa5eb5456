//! Byte classes and small grammars of RFC 9110 and RFC 3986 shared by the
//! request and response parsers (tokens, lists, Content-Length, authority).

/// A 256-entry table of the bytes a const fn accepts, built at compile
/// time, so the per-byte checks on the hot path are one load each.
macro_rules! table {
    ($f:ident) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = $f(i as u8);
            i += 1;
        }
        t
    }};
}

const fn tchar(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+'
        | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

const fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const fn sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

const fn target_byte(b: u8) -> bool {
    unreserved(b) || sub_delim(b) || matches!(b, b':' | b'@' | b'/' | b'?' | b'%')
}

const fn reg_name_byte(b: u8) -> bool {
    unreserved(b) || sub_delim(b)
}

static TCHAR: [bool; 256] = table!(tchar);
static UNRESERVED: [bool; 256] = table!(unreserved);
static SUB_DELIM: [bool; 256] = table!(sub_delim);
static TARGET: [bool; 256] = table!(target_byte);
static REG_NAME: [bool; 256] = table!(reg_name_byte);

/// tchar (RFC 9110 §5.6.2).
pub fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// unreserved (RFC 3986 §2.3).
pub fn is_unreserved(b: u8) -> bool {
    UNRESERVED[usize::from(b)]
}

/// sub-delims (RFC 3986 §2.2).
pub fn is_sub_delim(b: u8) -> bool {
    SUB_DELIM[usize::from(b)]
}

/// A byte allowed in the path or query of a request-target:
/// pchar / "/" / "?" plus "%" (its hex digits are checked where decoded).
pub fn is_target_byte(b: u8) -> bool {
    TARGET[usize::from(b)]
}

/// The members of a comma-separated list (RFC 9110 §5.6.1), trimmed of
/// OWS, empty members skipped as the RFC asks recipients to.
pub fn list_members(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|m| !m.is_empty())
}

/// `value` without leading and trailing SP / HTAB.
pub fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// Content-Length = 1*DIGIT, nothing else (no sign, no list, no space
/// inside); `None` for anything else or a value above u64.
pub fn parse_content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// Whether `value` is `host [ ":" port ]` with host an IP-literal, an IPv4
/// address or a reg-name (RFC 3986 §3.2.2), port at most 65535, and no
/// userinfo. An empty value is left to the caller (RFC 9112 §3.2 allows it).
pub fn is_valid_authority(value: &[u8]) -> bool {
    let (host, port) = split_host_port(value);
    let Some(host) = host else { return false };
    if let Some(port) = port {
        if port.len() > 5 || !port.iter().all(u8::is_ascii_digit) {
            return false;
        }
        if !port.is_empty() && parse_content_length(port).is_none_or(|p| p > 65535) {
            return false;
        }
    }
    if let Some(inner) = host.strip_prefix(b"[") {
        let Some(inner) = inner.strip_suffix(b"]") else {
            return false;
        };
        return is_ip_literal_inner(inner);
    }
    !host.is_empty() && is_reg_name(host)
}

/// Splits an authority into host and optional port, `None` host when an
/// IP-literal is not closed.
pub fn split_host_port(value: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    if value.first() == Some(&b'[') {
        let Some(close) = value.iter().position(|&b| b == b']') else {
            return (None, None);
        };
        let (host, rest) = value.split_at(close + 1);
        return match rest.split_first() {
            None => (Some(host), None),
            Some((b':', port)) => (Some(host), Some(port)),
            Some(_) => (None, None),
        };
    }
    match value.iter().rposition(|&b| b == b':') {
        Some(i) => (Some(&value[..i]), Some(&value[i + 1..])),
        None => (Some(value), None),
    }
}

/// reg-name = *( unreserved / pct-encoded / sub-delims ) without pct-encoded: a host
/// spelled with escapes (`b.ex%61mple`) is matched by routing as written but may be decoded
/// by a member, so it is refused (http::Uri refuses it in a target too). IPv4 addresses are
/// a subset, so they pass here too.
fn is_reg_name(host: &[u8]) -> bool {
    host.iter().all(|&b| REG_NAME[usize::from(b)])
}

/// The inside of `[...]`: an IPv6 address (std's parser) or IPvFuture.
fn is_ip_literal_inner(inner: &[u8]) -> bool {
    if let Some(rest) = inner
        .strip_prefix(b"v")
        .or_else(|| inner.strip_prefix(b"V"))
    {
        let Some(dot) = rest.iter().position(|&b| b == b'.') else {
            return false;
        };
        let (ver, tail) = (&rest[..dot], &rest[dot + 1..]);
        return !ver.is_empty()
            && ver.iter().all(u8::is_ascii_hexdigit)
            && !tail.is_empty()
            && tail
                .iter()
                .all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':');
    }
    std::str::from_utf8(inner).is_ok_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_is_digits_only() {
        assert_eq!(parse_content_length(b"0"), Some(0));
        assert_eq!(parse_content_length(b"0012"), Some(12));
        assert_eq!(
            parse_content_length(b"18446744073709551615"),
            Some(u64::MAX)
        );
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b"1 2",
            b"1,1",
            b"0x10",
            b"18446744073709551616",
        ] {
            assert_eq!(parse_content_length(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn authority_accepts_names_addresses_and_ports() {
        for ok in [
            &b"example.com"[..],
            b"example.com:8080",
            b"127.0.0.1:80",
            b"[::1]",
            b"[::1]:443",
            b"[v1.fe]",
            b"host:",
        ] {
            assert!(is_valid_authority(ok), "{ok:?}");
        }
        for bad in [
            &b""[..],
            b":80",
            b"user@example.com",
            b"exa mple",
            b"example.com:99999",
            b"example.com:8x",
            b"[::1",
            b"[::1]x",
            b"[zz]",
            b"a/b",
            b"a%2Db",
            b"a%2",
            b"a%zz",
            b"a:1:2",
        ] {
            assert!(!is_valid_authority(bad), "{bad:?}");
        }
    }

    #[test]
    fn list_members_skip_empty_and_trim() {
        let m: Vec<_> = list_members(b" a ,, b\t,").collect();
        assert_eq!(m, vec![&b"a"[..], b"b"]);
    }
}
