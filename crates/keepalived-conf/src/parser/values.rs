//! Reading typed values from words, with keepalived's syntax (booleans, decimal seconds,
//! addresses with prefixes).

use crate::model::Prefix;
use std::net::IpAddr;
use std::time::Duration;

/// `on|off|true|false|yes|no`.
pub(crate) fn parse_bool(w: &str) -> Option<bool> {
    match w {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// Decimal seconds with up to 6 fractional digits (`read_decimal_unsigned`), e.g. `0.05`.
pub(crate) fn parse_seconds(w: &str) -> Option<Duration> {
    let (int, frac) = match w.split_once('.') {
        Some((i, f)) => (i, f),
        None => (w, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|c| c.is_ascii_digit()) || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 6 || int.len() > 12 {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros: u32 = 0;
    for (i, d) in frac.bytes().enumerate() {
        micros += u32::from(d - b'0') * 10u32.pow(5 - i as u32);
    }
    Some(Duration::from_secs(secs) + Duration::from_micros(u64::from(micros)))
}

/// An integer in `min..=max`.
pub(crate) fn parse_int(w: &str, min: i64, max: i64) -> Option<i64> {
    let v: i64 = w.parse().ok()?;
    (min..=max).contains(&v).then_some(v)
}

/// `ADDR[/LEN]`; without `/LEN` (or with an empty one) the host length (32 or 128).
pub(crate) fn parse_prefix(w: &str) -> Option<Prefix> {
    let (a, len) = match w.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (w, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        // keepalived takes `ADDR/` as the host address.
        Some("") => max,
        Some(l) => {
            let n: u8 = l.parse().ok()?;
            (n <= max).then_some(n)?
        }
        None => max,
    };
    Some(Prefix { addr, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_microseconds() {
        assert_eq!(parse_seconds("0.05"), Some(Duration::from_millis(50)));
        assert_eq!(parse_seconds("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_seconds("1.000001"),
            Some(Duration::from_micros(1_000_001))
        );
        assert_eq!(parse_seconds("1.0000001"), None);
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("."), None);
        assert_eq!(parse_seconds("1e3"), None);
    }

    #[test]
    fn prefixes() {
        let p = parse_prefix("198.18.0.1/24").unwrap();
        assert_eq!((p.addr.to_string(), p.len), ("198.18.0.1".to_string(), 24));
        assert_eq!(parse_prefix("fe80::1").unwrap().len, 128);
        assert!(parse_prefix("192.168.100./24").is_none());
        assert!(parse_prefix("198.18.0.1/33").is_none());
    }
}
