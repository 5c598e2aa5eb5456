//! The sticky-session cookie: its value is an opaque id of the member (a keyed SipHash of
//! cluster and member name, so it stays the same across reloads while the member keeps its
//! name, and does not reveal the name); the proxy strips it from the request before the
//! member sees it (HAProxy's `insert indirect`).

use std::fmt::Write;
use std::hash::Hasher;

use http::header::{self, HeaderMap, HeaderValue};

use crate::config::{SameSite, Sticky};

/// The cookie value that names `member` of `cluster`.
pub fn cookie_id(secret: &str, cluster: &str, member: &str) -> String {
    let mut key = [0u8; 16];
    // The secret folded into the 128-bit key (any length accepted).
    for (i, b) in secret.bytes().enumerate() {
        key[i % 16] = key[i % 16].rotate_left(3) ^ b;
    }
    let (k0, k1) = key.split_at(8);
    let k0 = u64::from_le_bytes(k0.try_into().unwrap_or_default());
    let k1 = u64::from_le_bytes(k1.try_into().unwrap_or_default());
    // SipHash-2-4 as the standard library provides it: stable, documented, keyed.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new_with_keys(k0, k1);
    h.write(cluster.as_bytes());
    h.write_u8(0);
    h.write(member.as_bytes());
    let mut out = String::with_capacity(16);
    let _ = write!(out, "{:016x}", h.finish());
    out
}

/// The `Set-Cookie` value naming member id `id`.
pub fn set_cookie(s: &Sticky, id: &str) -> String {
    let mut v = format!("{}={id}; Path=/; HttpOnly", s.cookie);
    if s.secure {
        v.push_str("; Secure");
    }
    match s.same_site {
        SameSite::Lax => v.push_str("; SameSite=Lax"),
        SameSite::Strict => v.push_str("; SameSite=Strict"),
        SameSite::None => v.push_str("; SameSite=None"),
        SameSite::Unset => {}
    }
    if let Some(age) = s.max_age {
        let _ = write!(v, "; Max-Age={}", age.0.as_secs());
    }
    v
}

/// The request's cookies less those named `name`: `None` when there was none of that name
/// (nothing to change), else the other cookies joined into one value (`None` if no other).
pub fn without_cookie(headers: &HeaderMap, name: &str) -> Option<Option<String>> {
    let mut removed = false;
    let mut kept: Vec<&str> = Vec::new();
    for v in headers.get_all(header::COOKIE) {
        let Ok(text) = v.to_str() else {
            return None;
        };
        for pair in text.split(';') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            if pair.split_once('=').map_or(pair, |(k, _)| k) == name {
                removed = true;
            } else {
                kept.push(pair);
            }
        }
    }
    removed.then(|| (!kept.is_empty()).then(|| kept.join("; ")))
}

/// Removes cookie `name` from the request's Cookie headers (other cookies kept).
pub fn strip_cookie(headers: &mut HeaderMap, name: &str) {
    if let Some(left) = without_cookie(headers, name) {
        headers.remove(header::COOKIE);
        if let Some(v) = left.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::COOKIE, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_stable_opaque_and_keyed() {
        let a = cookie_id("", "app", "web1");
        assert_eq!(a, cookie_id("", "app", "web1"));
        assert_eq!(a.len(), 16);
        assert!(!a.contains("web1"));
        assert_ne!(a, cookie_id("", "app", "web2"));
        assert_ne!(a, cookie_id("", "app2", "web1"));
        assert_ne!(a, cookie_id("k", "app", "web1"));
    }

    #[test]
    fn attributes_follow_the_options() {
        let s: Sticky =
            serde_yaml::from_str("{ cookie: S, secure: true, same_site: strict, max_age: 1h }")
                .unwrap();
        assert_eq!(
            set_cookie(&s, "ab"),
            "S=ab; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=3600"
        );
        let s: Sticky = serde_yaml::from_str("{}").unwrap();
        assert_eq!(set_cookie(&s, "ab"), "ELBSTICKY=ab; Path=/; HttpOnly");
    }

    #[test]
    fn only_the_sticky_cookie_is_stripped() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; S=xyz"));
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        strip_cookie(&mut h, "S");
        assert_eq!(
            h.get_all(header::COOKIE).iter().collect::<Vec<_>>(),
            ["a=1; b=2"]
        );
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("S=xyz"));
        strip_cookie(&mut h, "S");
        assert!(h.get(header::COOKIE).is_none());
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("SS=1"));
        strip_cookie(&mut h, "S");
        assert_eq!(h.get(header::COOKIE).unwrap(), "SS=1");
    }
}
