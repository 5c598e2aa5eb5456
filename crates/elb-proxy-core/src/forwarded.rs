//! The `for=` addresses of RFC 7239 `Forwarded` headers, read so that a trusted proxy's
//! `Forwarded` can name the client as its `X-Forwarded-For` does. Only what names a real
//! address counts: an obfuscated identifier (`_hidden`), `unknown` or anything malformed
//! yields `None`, which stops the walk towards the client there.

use std::net::{IpAddr, SocketAddr};

/// The `for=` value of each element of `values` (header lines in order; elements in
/// order within a line), parsed as an address; `None` where an element has no usable one.
pub fn forwarded_for_hops(values: &[&str]) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for line in values {
        for element in split_outside_quotes(line, ',') {
            if element.trim().is_empty() {
                continue;
            }
            hops.push(for_of_element(element));
        }
    }
    hops
}

/// The address in one element's `for=` pair (`None`: no `for`, or not an address).
fn for_of_element(element: &str) -> Option<IpAddr> {
    let mut found = None;
    for pair in split_outside_quotes(element, ';') {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            continue;
        }
        if found.is_some() {
            // Two `for` pairs in one element: not well-formed, trust neither.
            return None;
        }
        found = Some(node_address(&unquote(value.trim())?)?);
    }
    found
}

/// A quoted-string's content (backslash escapes resolved), or a token as it is.
fn unquote(v: &str) -> Option<String> {
    let Some(inner) = v.strip_prefix('"') else {
        // A token (RFC 9110 tchar): IPv6 brackets and ports need the quoted form.
        let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        return (!v.is_empty() && v.bytes().all(tchar)).then(|| v.to_string());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// RFC 7239 section 6 `node`: an IPv4 address or a bracketed IPv6 address, with an
/// optional port; `unknown` and obfuscated names (`_…`) are no address.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        if !(after.is_empty() || valid_port(after.strip_prefix(':')?)) {
            return None;
        }
        return ip.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = node.parse::<std::net::Ipv4Addr>() {
        return Some(IpAddr::V4(ip));
    }
    match node.parse::<SocketAddr>() {
        Ok(SocketAddr::V4(a)) => Some(IpAddr::V4(*a.ip())),
        _ => None,
    }
}

/// A decimal port (an obfuscated port `_abc` is allowed by the RFC but names no client
/// better than its address, so it is accepted too).
fn valid_port(p: &str) -> bool {
    let digits = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    (digits && p.parse::<u16>().is_ok()) || (p.starts_with('_') && p.len() > 1)
}

/// Splits on `sep` where it is not inside a quoted string.
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_rfc_examples_give_their_addresses() {
        assert_eq!(
            forwarded_for_hops(&["for=\"_gazonk\""]),
            vec![None],
            "obfuscated"
        );
        assert_eq!(
            forwarded_for_hops(&["For=\"[2001:db8:cafe::17]:4711\""]),
            vec![ip("2001:db8:cafe::17")]
        );
        assert_eq!(
            forwarded_for_hops(&["for=192.0.2.60;proto=http;by=203.0.113.43"]),
            vec![ip("192.0.2.60")]
        );
        assert_eq!(
            forwarded_for_hops(&["for=192.0.2.43, for=198.51.100.17"]),
            vec![ip("192.0.2.43"), ip("198.51.100.17")]
        );
    }

    #[test]
    fn lines_and_ports_and_quotes_are_read_in_order() {
        assert_eq!(
            forwarded_for_hops(&[
                "for=\"198.18.0.1:8080\"",
                "proto=https;for=\"198.18.0.2\", for=\"[::1]\""
            ]),
            vec![ip("198.18.0.1"), ip("198.18.0.2"), ip("::1")]
        );
        // A comma inside a quoted value does not split the element.
        assert_eq!(
            forwarded_for_hops(&["host=\"a,b\";for=198.18.0.3"]),
            vec![ip("198.18.0.3")]
        );
    }

    #[test]
    fn what_names_no_address_is_none() {
        for bad in [
            "for=unknown",
            "for=_hidden",
            "for=2001:db8::1",
            "for=\"[2001:db8::1\"",
            "for=[2001:db8::1]",
            "for=198.18.0.1:8080",
            "for=\"[2001:db8::1]:99999\"",
            "for=\"198.18.0.1",
            "for=198.18.0.1;for=198.18.0.2",
            "proto=http",
            "for=",
            "for=app.example",
            "junk",
        ] {
            assert_eq!(forwarded_for_hops(&[bad]), vec![None], "{bad}");
        }
    }
}
