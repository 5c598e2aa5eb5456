//! Where a probe connects when that is not what the URL says, in curl's
//! syntax: `--connect-to HOST1:PORT1:HOST2:PORT2` (a request for HOST1:PORT1
//! goes to HOST2:PORT2; an empty field matches or keeps anything) and
//! `--resolve HOST:PORT:ADDR[,ADDR...]` (the name resolves to these
//! addresses). The URL still gives the Host header and the TLS name, which
//! is the point: probe a named virtual host on one balancer. Pure.

use std::net::IpAddr;
use std::str::FromStr;

use crate::target::Host;

/// Why a `--connect-to` or `--resolve` entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?}: {why}")]
pub struct ReachError {
    entry: String,
    why: &'static str,
}

fn refuse(entry: &str, why: &'static str) -> ReachError {
    ReachError {
        entry: entry.to_string(),
        why,
    }
}

/// Splits off one host field (a name, an IP, or `[v6]`) up to the next `:`.
fn host_field<'a>(entry: &str, text: &'a str) -> Result<(&'a str, &'a str), ReachError> {
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| refuse(entry, "unclosed [ in an IPv6 address"))?;
        let after = after
            .strip_prefix(':')
            .ok_or_else(|| refuse(entry, "expected : after ]"))?;
        return Ok((inside, after));
    }
    text.split_once(':')
        .ok_or_else(|| refuse(entry, "too few fields"))
}

fn port_field(entry: &str, text: &str) -> Result<Option<u16>, ReachError> {
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(Some(port)),
        _ => Err(refuse(entry, "port must be 1-65535")),
    }
}

fn host_matches(pattern: &str, host: &Host) -> bool {
    match host {
        Host::Ip(ip) => pattern.parse::<IpAddr>().is_ok_and(|p| p == *ip),
        Host::Name(name) => {
            let name = name.strip_suffix('.').unwrap_or(name);
            let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
            pattern.eq_ignore_ascii_case(name)
        }
    }
}

fn parse_host(text: &str) -> Host {
    match text.parse::<IpAddr>() {
        Ok(ip) => Host::Ip(ip),
        Err(_) => Host::Name(text.to_string()),
    }
}

/// One `--connect-to` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    from_host: Option<String>,
    from_port: Option<u16>,
    to_host: Option<Host>,
    to_port: Option<u16>,
}

impl FromStr for ConnectTo {
    type Err = ReachError;

    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        let (from_host, rest) = host_field(entry, entry)?;
        let (from_port, rest) = rest
            .split_once(':')
            .ok_or_else(|| refuse(entry, "expected HOST1:PORT1:HOST2:PORT2"))?;
        let (to_host, to_port) = if rest.starts_with('[') {
            let (h, p) = host_field(entry, rest)?;
            (h, p)
        } else {
            rest.rsplit_once(':')
                .ok_or_else(|| refuse(entry, "expected HOST1:PORT1:HOST2:PORT2"))?
        };
        if to_host.contains(':') && !rest.starts_with('[') {
            return Err(refuse(
                entry,
                "write IPv6 addresses in brackets, e.g. [::1]",
            ));
        }
        Ok(Self {
            from_host: (!from_host.is_empty()).then(|| from_host.to_string()),
            from_port: port_field(entry, from_port)?,
            to_host: (!to_host.is_empty()).then(|| parse_host(to_host)),
            to_port: port_field(entry, to_port)?,
        })
    }
}

impl ConnectTo {
    /// Where to connect instead of `host:port`, if this entry applies.
    pub fn apply(&self, host: &Host, port: u16) -> Option<(Host, u16)> {
        let host_ok = self
            .from_host
            .as_deref()
            .is_none_or(|h| host_matches(h, host));
        let port_ok = self.from_port.is_none_or(|p| p == port);
        (host_ok && port_ok).then(|| {
            (
                self.to_host.clone().unwrap_or_else(|| host.clone()),
                self.to_port.unwrap_or(port),
            )
        })
    }
}

/// One `--resolve` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    /// The name (`*`: any name).
    host: String,
    port: u16,
    addrs: Vec<IpAddr>,
}

impl FromStr for Resolve {
    type Err = ReachError;

    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        let (host, rest) = host_field(entry, entry)?;
        let (port, addrs) = rest
            .split_once(':')
            .ok_or_else(|| refuse(entry, "expected HOST:PORT:ADDR[,ADDR...]"))?;
        let port = port_field(entry, port)?.ok_or_else(|| refuse(entry, "missing port"))?;
        if host.is_empty() {
            return Err(refuse(entry, "missing host"));
        }
        let addrs = addrs
            .split(',')
            .map(|a| {
                let a = a.trim();
                let a = a
                    .strip_prefix('[')
                    .and_then(|a| a.strip_suffix(']'))
                    .unwrap_or(a);
                a.parse::<IpAddr>()
                    .map_err(|_| refuse(entry, "addresses must be IP literals"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            host: host.to_string(),
            port,
            addrs,
        })
    }
}

impl Resolve {
    /// The addresses for `host:port`, if this entry names them.
    pub fn lookup(&self, host: &Host, port: u16) -> Option<&[IpAddr]> {
        let matches = self.host == "*" || host_matches(&self.host, host);
        (matches && self.port == port).then_some(self.addrs.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Host {
        Host::Name(n.to_string())
    }

    #[test]
    fn connect_to_in_curls_syntax() {
        let c: ConnectTo = "app.example:443:127.0.0.1:8443".parse().unwrap();
        assert_eq!(
            c.apply(&name("APP.example"), 443),
            Some(("127.0.0.1".parse::<IpAddr>().unwrap().into_host(), 8443))
        );
        assert_eq!(c.apply(&name("app.example"), 80), None);
        assert_eq!(c.apply(&name("other"), 443), None);
        let any: ConnectTo = "::[::1]:".parse().unwrap();
        assert_eq!(
            any.apply(&name("x"), 81),
            Some(("::1".parse::<IpAddr>().unwrap().into_host(), 81))
        );
        let port_only: ConnectTo = "app:80::8080".parse().unwrap();
        assert_eq!(port_only.apply(&name("app"), 80), Some((name("app"), 8080)));
        for bad in [
            "app:80:127.0.0.1",
            "app:x:h:1",
            "app:80:::1:8",
            "[::1:80:h:1",
            "a:0:h:1",
        ] {
            assert!(bad.parse::<ConnectTo>().is_err(), "{bad}");
        }
    }

    #[test]
    fn resolve_in_curls_syntax() {
        let r: Resolve = "app.example:443:127.0.0.1,[::1]".parse().unwrap();
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(r.lookup(&name("app.example"), 443), Some(&[v4, v6][..]));
        assert_eq!(r.lookup(&name("app.example"), 80), None);
        let any: Resolve = "*:80:127.0.0.2".parse().unwrap();
        assert!(any.lookup(&name("whatever"), 80).is_some());
        for bad in [
            "app:443",
            "app:443:localhost",
            ":443:127.0.0.1",
            "app::127.0.0.1",
        ] {
            assert!(bad.parse::<Resolve>().is_err(), "{bad}");
        }
    }

    trait IntoHost {
        fn into_host(self) -> Host;
    }
    impl IntoHost for IpAddr {
        fn into_host(self) -> Host {
            Host::Ip(self)
        }
    }
}
