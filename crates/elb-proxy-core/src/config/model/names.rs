//! Members given by DNS name (`address: app1.internal:8080`) and the `resolvers:` section that
//! says which servers answer and how often a name is asked again. The model only checks a
//! name's syntax; resolving is the proxy's resolver task.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::super::units::Dur;

/// A member's address: an IP literal with its port, a DNS name with its port whose every
/// A/AAAA answer becomes a member, or an SRV name (`_http._tcp.web.internal`, no port) whose
/// every record becomes members at the record's target, port and weight.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MemberAddress {
    /// `127.0.0.1:9001`, `[::1]:9001`.
    Ip(SocketAddr),
    /// `app1.internal:8080`, or an SRV name (port 0: the records give the ports).
    Name(HostPort),
}

/// A DNS name and a port; port 0 for an SRV name (its records give the ports).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    /// The name as written (lower-cased, trailing dot kept if given).
    pub host: String,
    /// The member port; 0 for an SRV name.
    pub port: u16,
}

impl HostPort {
    /// An SRV name (`_service._proto.name`): asked for SRV records, not A/AAAA.
    pub fn is_srv(&self) -> bool {
        self.port == 0
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_srv() {
            f.write_str(&self.host)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for MemberAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(a) => a.fmt(f),
            Self::Name(n) => n.fmt(f),
        }
    }
}

impl MemberAddress {
    /// The socket address of an IP member; `None` for a name not yet expanded.
    pub fn ip(&self) -> Option<SocketAddr> {
        match self {
            Self::Ip(a) => Some(*a),
            Self::Name(_) => None,
        }
    }

    /// The member port, whether the member is given by address or by name (0 for an SRV
    /// name, whose records give the ports).
    pub fn port(&self) -> u16 {
        match self {
            Self::Ip(a) => a.port(),
            Self::Name(n) => n.port,
        }
    }

    /// The name of a member given by name.
    pub fn name(&self) -> Option<&HostPort> {
        match self {
            Self::Ip(_) => None,
            Self::Name(n) => Some(n),
        }
    }
}

impl From<SocketAddr> for MemberAddress {
    fn from(a: SocketAddr) -> Self {
        Self::Ip(a)
    }
}

impl std::str::FromStr for MemberAddress {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if let Ok(a) = text.parse::<SocketAddr>() {
            return Ok(Self::Ip(a));
        }
        if text.starts_with('_') {
            check_srv_name(text).map_err(|why| format!("member address `{text}`: {why}"))?;
            return Ok(Self::Name(HostPort {
                host: text.to_ascii_lowercase(),
                port: 0,
            }));
        }
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("member address `{text}` needs a port (host:port)"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("member address `{text}`: port `{port}` is not 0..=65535"))?;
        if port == 0 {
            return Err(format!("member address `{text}`: port 0"));
        }
        check_host_name(host).map_err(|why| format!("member address `{text}`: {why}"))?;
        Ok(Self::Name(HostPort {
            host: host.to_ascii_lowercase(),
            port,
        }))
    }
}

/// SRV name syntax (RFC 2782): `_service._proto.` and a host name; no port (the records
/// give each target's port).
pub fn check_srv_name(text: &str) -> Result<(), String> {
    if text.contains(':') {
        return Err("an SRV name takes each record's port: write it without `:PORT`".into());
    }
    let mut labels = text.splitn(3, '.');
    let (Some(service), Some(proto), Some(rest)) = (labels.next(), labels.next(), labels.next())
    else {
        return Err(
            "an SRV name is `_service._proto.name` (e.g. `_http._tcp.web.internal`)".into(),
        );
    };
    for label in [service, proto] {
        let bare = label.strip_prefix('_').unwrap_or("");
        if bare.is_empty()
            || bare.len() > 62
            || bare.starts_with('-')
            || bare.ends_with('-')
            || !bare.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(format!(
                "SRV label `{label}` must be `_` and 1 to 62 letters, digits or '-'"
            ));
        }
    }
    check_host_name(rest)
}

/// RFC 1123 host name syntax: dot-separated labels of letters, digits and `-` (not at a
/// label's ends), 1..=63 bytes each, 253 in all, an optional final dot; an all-digit last
/// label is refused so a mistyped IP address (`10.0.0:80`) is not taken for a name.
pub fn check_host_name(host: &str) -> Result<(), String> {
    let bare = host.strip_suffix('.').unwrap_or(host);
    if bare.is_empty() {
        return Err("empty host name".into());
    }
    if bare.len() > 253 {
        return Err("host name longer than 253 bytes".into());
    }
    for label in bare.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("label `{label}` must be 1 to 63 bytes"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with '-'"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("`{c}` is not allowed in a host name"));
        }
    }
    if bare
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("not an IP address, and an all-digit last label is not a name".into());
    }
    Ok(())
}

impl Serialize for MemberAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MemberAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Which DNS servers resolve member names and how often (HAProxy's `resolvers` section).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Resolvers {
    /// DNS servers (`address:port`), asked over UDP (TCP for truncated answers); empty means
    /// the system's, from /etc/resolv.conf.
    #[serde(default)]
    pub nameservers: Vec<SocketAddr>,
    /// Time between two resolutions of a name (HAProxy's `hold valid`); a connect failure to
    /// a member from a name asks again sooner, at most once a second.
    #[serde(default = "default_resolve_interval")]
    pub interval: Dur,
    /// Time one resolution may take (HAProxy's `timeout resolve` times its retries).
    #[serde(default = "default_resolve_timeout")]
    pub timeout: Dur,
}

impl Default for Resolvers {
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            interval: default_resolve_interval(),
            timeout: default_resolve_timeout(),
        }
    }
}

fn default_resolve_interval() -> Dur {
    Dur(Duration::from_secs(10))
}
fn default_resolve_timeout() -> Dur {
    Dur(Duration::from_secs(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_and_names_parse() {
        assert_eq!(
            "127.0.0.1:80".parse::<MemberAddress>().unwrap(),
            MemberAddress::Ip("127.0.0.1:80".parse().unwrap())
        );
        assert!("[::1]:80".parse::<MemberAddress>().unwrap().ip().is_some());
        let n = "App1.Internal:8080".parse::<MemberAddress>().unwrap();
        assert_eq!(n.to_string(), "app1.internal:8080");
        assert!(
            "svc.ns.svc.cluster.local.:80"
                .parse::<MemberAddress>()
                .is_ok()
        );
    }

    #[test]
    fn srv_names_parse_without_a_port() {
        let n = "_HTTP._tcp.Web.lab".parse::<MemberAddress>().unwrap();
        assert_eq!(n.to_string(), "_http._tcp.web.lab");
        assert!(n.name().unwrap().is_srv());
        for (text, why) in [
            ("_http._tcp.web.lab:80", "without `:PORT`"),
            ("_http.web", "_service._proto.name"),
            ("_._tcp.web.lab", "SRV label `_`"),
            ("_http.tcp.web.lab", "SRV label `tcp`"),
            ("_http._tcp.web_1.lab", "`_` is not allowed"),
        ] {
            let e = text.parse::<MemberAddress>().unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        for (text, why) in [
            ("app1.internal", "needs a port"),
            ("app1.internal:http", "port `http`"),
            ("app1.internal:0", "port 0"),
            ("-app.internal:80", "starts or ends"),
            ("app_1.internal:80", "`_` is not allowed"),
            ("10.0.0:80", "all-digit"),
            ("a..b:80", "1 to 63"),
            (":80", "empty host name"),
        ] {
            let e = text.parse::<MemberAddress>().unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
