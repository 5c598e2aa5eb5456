//! Header rewriting between client and member, separately per direction: hop-by-hop headers
//! (RFC 9110 §7.6.1 plus the ones a `Connection` header names) are removed, and the
//! forwarding headers (`X-Forwarded-For/-Proto/-Host`, RFC 7239 `Forwarded`) are added.
//! Forwarding headers from a peer not in the trusted list are replaced, never extended, so a
//! client cannot forge its address. Pure functions over `HeaderMap`.

use std::fmt::Write as _;
use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Hop-by-hop headers always removed (besides those named in `Connection`).
/// `http2-settings` is the one Go's ReverseProxy once forgot. Static names hash cheaply.
static HOP_BY_HOP: [HeaderName; 10] = [
    header::CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("http2-settings"),
];

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Whether `name` is one of the always-removed hop-by-hop headers.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.iter().any(|h| h == name)
}

/// Removes hop-by-hop headers. Returns the `Upgrade` value when the message asked for an
/// upgrade (`Connection: upgrade` plus `Upgrade`), so the caller can re-add it for a tunnel.
/// One pass over the (usually few) headers finds out whether there is anything to remove,
/// which is cheaper than ten hashed lookups per message.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) -> Option<HeaderValue> {
    if !headers.keys().any(is_hop_by_hop) {
        return None;
    }
    let mut wants_upgrade = false;
    // Names listed in Connection are hop-by-hop too; collect before removing.
    let mut named: Vec<HeaderName> = Vec::new();
    for value in headers.get_all(&header::CONNECTION) {
        let Ok(text) = value.to_str() else { continue };
        for token in text.split(',') {
            let token = token.trim();
            if token.eq_ignore_ascii_case("upgrade") {
                wants_upgrade = true;
            } else if token.eq_ignore_ascii_case("close")
                || token.eq_ignore_ascii_case("keep-alive")
            {
                continue;
            } else if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
                named.push(name);
            }
        }
    }
    for name in named {
        headers.remove(name);
    }
    let upgrade = headers.get(&header::UPGRADE).cloned();
    for name in &HOP_BY_HOP {
        if headers.contains_key(name) {
            headers.remove(name);
        }
    }
    if wants_upgrade { upgrade } else { None }
}

/// Which forwarding headers the proxy adds (config `forward_headers`). A kind that is not
/// added is removed from requests of untrusted peers, so a client cannot forge it either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardSet {
    /// Add `X-Forwarded-For`.
    pub x_forwarded_for: bool,
    /// Add `X-Forwarded-Proto`.
    pub x_forwarded_proto: bool,
    /// Add `X-Forwarded-Host`.
    pub x_forwarded_host: bool,
    /// Add RFC 7239 `Forwarded`.
    pub forwarded: bool,
}

impl ForwardSet {
    /// Every forwarding header (the default).
    pub const ALL: Self = Self {
        x_forwarded_for: true,
        x_forwarded_proto: true,
        x_forwarded_host: true,
        forwarded: true,
    };

    /// The set named by the config's `forward_headers`.
    pub fn from_config(kinds: &[crate::config::ForwardHeader]) -> Self {
        use crate::config::ForwardHeader as K;
        Self {
            x_forwarded_for: kinds.contains(&K::XForwardedFor),
            x_forwarded_proto: kinds.contains(&K::XForwardedProto),
            x_forwarded_host: kinds.contains(&K::XForwardedHost),
            forwarded: kinds.contains(&K::Forwarded),
        }
    }
}

/// What the proxy knows about the client connection, prepared once per connection so that
/// requests only clone ref-counted header values.
#[derive(Debug, Clone)]
pub struct Forwarding {
    /// The client's address.
    pub peer: IpAddr,
    /// The peer is a trusted proxy: its forwarding headers are kept and extended.
    pub trusted: bool,
    /// The client spoke TLS (`https`).
    tls: bool,
    /// The peer address as an X-Forwarded-For element.
    xff: HeaderValue,
    /// The headers to add.
    pub set: ForwardSet,
}

impl Forwarding {
    /// Prepares the values for a connection from `peer` (`tls`: the client spoke TLS).
    pub fn new(peer: IpAddr, trusted: bool, tls: bool, set: ForwardSet) -> Self {
        let xff =
            HeaderValue::from_str(&peer.to_string()).unwrap_or(HeaderValue::from_static("unknown"));
        Self {
            peer,
            trusted,
            tls,
            xff,
            set,
        }
    }

    /// `http` or `https`, the scheme the client spoke.
    pub fn proto(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// Removes a kind of forwarding header the proxy does not add, unless the peer is
    /// trusted (then it passes through as the trusted proxy wrote it).
    fn drop_untrusted(&self, headers: &mut HeaderMap, name: &HeaderName) {
        if !self.trusted && headers.contains_key(name) {
            headers.remove(name);
        }
    }

    /// Adds the forwarding headers to a request going upstream. `host` is the client's Host.
    pub fn apply(&self, headers: &mut HeaderMap, host: Option<&HeaderValue>) {
        if self.set.x_forwarded_for {
            self.apply_xff(headers);
        } else {
            self.drop_untrusted(headers, &X_FORWARDED_FOR);
        }
        if !self.set.x_forwarded_proto {
            self.drop_untrusted(headers, &X_FORWARDED_PROTO);
        } else if !(self.trusted && headers.contains_key(&X_FORWARDED_PROTO)) {
            headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static(self.proto()));
        }
        if !self.set.x_forwarded_host {
            self.drop_untrusted(headers, &X_FORWARDED_HOST);
        } else if !(self.trusted && headers.contains_key(&X_FORWARDED_HOST)) {
            match host {
                Some(h) => {
                    headers.insert(&X_FORWARDED_HOST, h.clone());
                }
                None => {
                    headers.remove(&X_FORWARDED_HOST);
                }
            }
        }
        if self.set.forwarded {
            self.apply_forwarded(headers, host);
        } else {
            self.drop_untrusted(headers, &header::FORWARDED);
        }
    }

    fn apply_xff(&self, headers: &mut HeaderMap) {
        let existing_xff = if self.trusted {
            joined(headers, &X_FORWARDED_FOR)
        } else {
            None
        };
        match existing_xff {
            Some(prev) => {
                let mut v = prev;
                v.push_str(", ");
                v.push_str(self.xff.to_str().unwrap_or("unknown"));
                if let Ok(v) = HeaderValue::from_str(&v) {
                    headers.insert(&X_FORWARDED_FOR, v);
                }
            }
            None => {
                headers.insert(&X_FORWARDED_FOR, self.xff.clone());
            }
        }
    }

    fn apply_forwarded(&self, headers: &mut HeaderMap, host: Option<&HeaderValue>) {
        let mut element = String::with_capacity(48);
        // The RFC 7239 `for=` value: IPv6 quoted and bracketed. Written per request (only
        // where `Forwarded` is configured) so a connection keeps no copy of it.
        let _ = match self.peer {
            IpAddr::V4(a) => write!(element, "for={a}"),
            IpAddr::V6(a) => write!(element, "for=\"[{a}]\""),
        };
        element.push_str(";proto=");
        element.push_str(self.proto());
        if let Some(h) = host.and_then(|h| h.to_str().ok()) {
            if h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            {
                element.push_str(";host=");
                if h.contains(':') {
                    element.push('"');
                    element.push_str(h);
                    element.push('"');
                } else {
                    element.push_str(h);
                }
            }
        }
        let value = match (self.trusted, joined(headers, &header::FORWARDED)) {
            (true, Some(mut prev)) => {
                prev.push_str(", ");
                prev.push_str(&element);
                prev
            }
            _ => element,
        };
        if let Ok(v) = HeaderValue::from_maybe_shared(bytes::Bytes::from(value)) {
            headers.insert(header::FORWARDED, v);
        }
    }
}

/// Value of cookie `name` in the request's Cookie headers (the sticky-session cookie).
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v.trim_matches('"'))
        })
}

/// All values of a header joined with ", " (None when absent or not text).
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut out: Option<String> = None;
    for v in headers.get_all(name) {
        let s = v.to_str().ok()?;
        match &mut out {
            Some(o) => {
                o.push_str(", ");
                o.push_str(s);
            }
            None => out = Some(s.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn strips_standard_and_connection_named_headers() {
        let mut h = map(&[
            ("connection", "keep-alive, X-Secret, close"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("proxy-connection", "keep-alive"),
            ("http2-settings", "AAA"),
            ("upgrade", "h2c"),
            ("x-kept", "yes"),
        ]);
        assert_eq!(
            strip_hop_by_hop(&mut h),
            None,
            "no upgrade token in Connection"
        );
        assert_eq!(h.len(), 1);
        assert_eq!(h["x-kept"], "yes");
    }

    #[test]
    fn upgrade_is_reported_for_tunnels() {
        let mut h = map(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "k"),
        ]);
        assert_eq!(strip_hop_by_hop(&mut h).unwrap(), "websocket");
        assert!(h.get("upgrade").is_none() && h.get("connection").is_none());
        assert!(h.get("sec-websocket-key").is_some());
    }

    #[test]
    fn untrusted_peer_cannot_forge_forwarding_headers() {
        let f = Forwarding::new("198.18.0.7".parse().unwrap(), false, false, ForwardSet::ALL);
        let mut h = map(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil"),
            ("forwarded", "for=6.6.6.6"),
        ]);
        let host = HeaderValue::from_static("app.example.com");
        f.apply(&mut h, Some(&host));
        assert_eq!(h["x-forwarded-for"], "198.18.0.7");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "app.example.com");
        assert_eq!(
            h["forwarded"],
            "for=198.18.0.7;proto=http;host=app.example.com"
        );
    }

    #[test]
    fn trusted_peer_is_appended_to() {
        let f = Forwarding::new("2001:2::1".parse().unwrap(), true, true, ForwardSet::ALL);
        let mut h = map(&[
            ("x-forwarded-for", "198.18.0.1"),
            ("x-forwarded-for", "198.18.0.2"),
            ("x-forwarded-proto", "http"),
            ("forwarded", "for=198.18.0.1"),
        ]);
        let host = HeaderValue::from_static("a.example:8443");
        f.apply(&mut h, Some(&host));
        assert_eq!(h["x-forwarded-for"], "198.18.0.1, 198.18.0.2, 2001:2::1");
        assert_eq!(h["x-forwarded-proto"], "http", "kept from trusted proxy");
        assert_eq!(
            h["forwarded"],
            "for=198.18.0.1, for=\"[2001:2::1]\";proto=https;host=\"a.example:8443\""
        );
    }

    #[test]
    fn only_configured_forwarding_headers_are_added_and_others_not_forgeable() {
        let set = ForwardSet {
            x_forwarded_for: true,
            x_forwarded_proto: false,
            x_forwarded_host: false,
            forwarded: false,
        };
        let forged = [
            ("forwarded", "for=198.18.9.9"),
            ("x-forwarded-host", "evil"),
            ("x-forwarded-proto", "https"),
        ];
        let mut h = map(&forged);
        let host = HeaderValue::from_static("app.test");
        Forwarding::new("198.18.0.7".parse().unwrap(), false, false, set)
            .apply(&mut h, Some(&host));
        assert_eq!(h["x-forwarded-for"], "198.18.0.7");
        assert!(!h.contains_key("forwarded") && !h.contains_key("x-forwarded-host"));
        assert!(!h.contains_key("x-forwarded-proto"));
        // From a trusted proxy they pass through untouched.
        let mut h = map(&forged);
        Forwarding::new("198.18.0.7".parse().unwrap(), true, false, set).apply(&mut h, Some(&host));
        assert_eq!(h["forwarded"], "for=198.18.9.9");
        assert_eq!(h["x-forwarded-host"], "evil");
    }

    #[test]
    fn messages_without_hop_by_hop_headers_are_left_alone() {
        let mut h = map(&[("host", "a"), ("accept", "*/*")]);
        assert_eq!(strip_hop_by_hop(&mut h), None);
        assert_eq!(h.len(), 2);
    }
}
