//! Where a probe goes: the small URL grammar elb-check accepts
//! (`http://host[:port]/path`, `https://...`, `unix:/path/to.sock:/uri`) and
//! the resolution of a redirect's `Location` against the current target.
//!
//! Hand-written rather than pulled from the `url` crate: the grammar is tiny,
//! and elb-check's start-up cost and size matter more than generality. Pure.

use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Not `http://`, `https://` or `unix:`.
    #[error("unsupported URL scheme in {0:?} (use http://, https:// or unix:/path.sock:/uri)")]
    Scheme(String),
    /// No host between `//` and the path.
    #[error("URL {0:?} has no host")]
    NoHost(String),
    /// The port is not a number in 1..=65535.
    #[error("bad port in URL {0:?}")]
    Port(String),
    /// A bracketed IPv6 literal that does not parse, or a stray bracket.
    #[error("bad IPv6 address in URL {0:?}")]
    Ipv6(String),
    /// `user:pass@` is not supported: a health probe has no business sending credentials in the URL.
    #[error("credentials in URL {0:?} are not supported (use -H 'Authorization: ...')")]
    Credentials(String),
    /// Spaces or control characters, which would corrupt the request line.
    #[error("URL {0:?} contains spaces or control characters")]
    BadCharacter(String),
    /// A `unix:` URL without a socket path.
    #[error("unix URL {0:?} has no socket path (form: unix:/path/to.sock:/uri)")]
    NoSocket(String),
}

/// Plain HTTP or HTTP over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `http://` and `unix:`.
    Http,
    /// `https://`.
    Https,
}

impl Scheme {
    /// The port a URL without one means.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

/// A host as written in the URL: literal addresses skip DNS entirely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An IPv4 or IPv6 literal.
    Ip(IpAddr),
    /// A name to resolve (`localhost` is resolved without DNS, see `connect`).
    Name(String),
}

/// The transport endpoint of a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// TCP to a host and port.
    Tcp {
        /// The host to connect to.
        host: Host,
        /// The TCP port.
        port: u16,
    },
    /// A Unix stream socket (the daemons' sockets, or a proxy listening on one).
    Unix {
        /// The socket's path.
        path: PathBuf,
    },
}

/// A parsed probe target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Whether TLS is spoken on the connection.
    pub scheme: Scheme,
    /// Where to connect.
    pub endpoint: Endpoint,
    /// The `Host` header value the URL implies (`host[:port]`, port only when not the default).
    pub authority: String,
    /// The host name for TLS (SNI and certificate check), without brackets or port.
    pub server_name: String,
    /// Path and query sent in the request line; always starts with `/`.
    pub path: String,
}

impl Target {
    /// Parses `http://`, `https://` or `unix:/path.sock[:/uri]`.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(UrlError::BadCharacter(url.to_string()));
        }
        if let Some(rest) = strip_prefix_ci(url, "unix:") {
            return parse_unix(url, rest);
        }
        let (scheme, rest) = if let Some(rest) = strip_prefix_ci(url, "http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = strip_prefix_ci(url, "https://") {
            (Scheme::Https, rest)
        } else {
            return Err(UrlError::Scheme(url.to_string()));
        };
        let (authority, path) = split_authority(rest);
        let (host, port) = parse_authority(url, authority, scheme)?;
        Ok(Self::tcp(scheme, host, port, normalise_path(path)))
    }

    /// Routes this target's requests through a Unix socket instead of TCP
    /// (curl's `--unix-socket`): the URL still supplies Host, SNI and path.
    pub fn via_unix_socket(mut self, path: PathBuf) -> Self {
        self.endpoint = Endpoint::Unix { path };
        self
    }

    fn tcp(scheme: Scheme, host: Host, port: u16, path: String) -> Self {
        let server_name = match &host {
            Host::Ip(ip) => ip.to_string(),
            Host::Name(name) => name.clone(),
        };
        let host_text = match &host {
            Host::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            _ => server_name.clone(),
        };
        let authority = if port == scheme.default_port() {
            host_text
        } else {
            format!("{host_text}:{port}")
        };
        Self {
            scheme,
            endpoint: Endpoint::Tcp { host, port },
            authority,
            server_name,
            path,
        }
    }

    /// The URL this target stands for, for messages.
    pub fn display_url(&self) -> String {
        match &self.endpoint {
            Endpoint::Unix { path } if self.scheme == Scheme::Http => {
                format!("unix:{}:{}", path.display(), self.path)
            }
            _ => {
                let scheme = match self.scheme {
                    Scheme::Http => "http",
                    Scheme::Https => "https",
                };
                format!("{scheme}://{}{}", self.authority, self.path)
            }
        }
    }

    /// Resolves a redirect's `Location` value against this target. An
    /// absolute URL replaces scheme and host (but a Unix-socket target keeps
    /// its socket, as curl does); a path replaces only the path.
    pub fn follow(&self, location: &str) -> Result<Self, UrlError> {
        let location = location.trim();
        if strip_prefix_ci(location, "http://").is_some()
            || strip_prefix_ci(location, "https://").is_some()
        {
            let next = Self::parse(location)?;
            return Ok(match &self.endpoint {
                Endpoint::Unix { path } => next.via_unix_socket(path.clone()),
                Endpoint::Tcp { .. } => next,
            });
        }
        if location.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(UrlError::BadCharacter(location.to_string()));
        }
        if let Some(rest) = location.strip_prefix("//") {
            let (authority, path) = split_authority(rest);
            let (host, port) = parse_authority(location, authority, self.scheme)?;
            let next = Self::tcp(self.scheme, host, port, normalise_path(path));
            return Ok(match &self.endpoint {
                Endpoint::Unix { path } => next.via_unix_socket(path.clone()),
                Endpoint::Tcp { .. } => next,
            });
        }
        if location.contains("://") {
            return Err(UrlError::Scheme(location.to_string()));
        }
        let mut next = self.clone();
        let location = location.split('#').next().unwrap_or("");
        next.path = if location.starts_with('/') {
            location.to_string()
        } else if location.starts_with('?') {
            let base = self.path.split('?').next().unwrap_or("/");
            format!("{base}{location}")
        } else {
            let base = self.path.split('?').next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        if next.path.is_empty() {
            next.path.push('/');
        }
        Ok(next)
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Splits `host:port/path?q#frag` into the authority and the path+query.
fn split_authority(rest: &str) -> (&str, &str) {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (&rest[..end], &rest[end..])
}

/// Drops the fragment and makes sure the path starts with `/`.
fn normalise_path(path: &str) -> String {
    let path = path.split('#').next().unwrap_or("");
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

fn parse_authority(url: &str, authority: &str, scheme: Scheme) -> Result<(Host, u16), UrlError> {
    if authority.contains('@') {
        return Err(UrlError::Credentials(url.to_string()));
    }
    let (host_text, port_text) = if let Some(rest) = authority.strip_prefix('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| UrlError::Ipv6(url.to_string()))?;
        let after = &rest[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(UrlError::Ipv6(url.to_string())),
        };
        (&rest[..close], port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host_text.is_empty() {
        return Err(UrlError::NoHost(url.to_string()));
    }
    if host_text.contains(['[', ']']) {
        return Err(UrlError::Ipv6(url.to_string()));
    }
    let port = match port_text {
        None => scheme.default_port(),
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port != 0 && p.bytes().all(|b| b.is_ascii_digit()) => port,
            _ => return Err(UrlError::Port(url.to_string())),
        },
    };
    let host = if authority.starts_with('[') {
        Host::Ip(IpAddr::V6(
            host_text
                .parse::<Ipv6Addr>()
                .map_err(|_| UrlError::Ipv6(url.to_string()))?,
        ))
    } else if let Ok(ip) = host_text.parse::<IpAddr>() {
        Host::Ip(ip)
    } else {
        Host::Name(host_text.to_ascii_lowercase())
    };
    Ok((host, port))
}

/// `unix:/path/to.sock:/uri` — the socket path ends at the first `:/` (use
/// `--unix-socket` for a path containing `:/`); without a URI, `/`.
fn parse_unix(url: &str, rest: &str) -> Result<Target, UrlError> {
    let (socket, path) = match rest.find(":/") {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, "/"),
    };
    if socket.is_empty() {
        return Err(UrlError::NoSocket(url.to_string()));
    }
    Ok(Target {
        scheme: Scheme::Http,
        endpoint: Endpoint::Unix {
            path: PathBuf::from(socket),
        },
        authority: "localhost".to_string(),
        server_name: "localhost".to_string(),
        path: normalise_path(path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_url() {
        let t = Target::parse("http://localhost:8280/services/EchoProxy").unwrap();
        assert_eq!(t.scheme, Scheme::Http);
        assert_eq!(
            t.endpoint,
            Endpoint::Tcp {
                host: Host::Name("localhost".into()),
                port: 8280
            }
        );
        assert_eq!(t.authority, "localhost:8280");
        assert_eq!(t.path, "/services/EchoProxy");
        assert_eq!(t.display_url(), "http://localhost:8280/services/EchoProxy");
    }

    #[test]
    fn defaults_ipv6_query_fragment() {
        let t = Target::parse("https://[::1]/a?b=c#frag").unwrap();
        assert_eq!(t.scheme, Scheme::Https);
        assert_eq!(
            t.endpoint,
            Endpoint::Tcp {
                host: Host::Ip("::1".parse().unwrap()),
                port: 443
            }
        );
        assert_eq!(t.authority, "[::1]");
        assert_eq!(t.server_name, "::1");
        assert_eq!(t.path, "/a?b=c");
        let bare = Target::parse("HTTP://Example.COM").unwrap();
        assert_eq!(bare.path, "/");
        assert_eq!(bare.authority, "example.com");
        let q = Target::parse("http://127.0.0.1:81?x").unwrap();
        assert_eq!(q.path, "/?x");
        assert_eq!(q.authority, "127.0.0.1:81");
    }

    #[test]
    fn unix_urls() {
        let t = Target::parse("unix:/run/elb/admin.sock:/health").unwrap();
        assert_eq!(
            t.endpoint,
            Endpoint::Unix {
                path: "/run/elb/admin.sock".into()
            }
        );
        assert_eq!(t.path, "/health");
        assert_eq!(t.display_url(), "unix:/run/elb/admin.sock:/health");
        let no_uri = Target::parse("unix:/tmp/s.sock").unwrap();
        assert_eq!(no_uri.path, "/");
        assert!(Target::parse("unix::/x").is_err());
    }

    #[test]
    fn refusals() {
        for bad in [
            "ftp://x/",
            "http://",
            "http:///p",
            "http://h:0/",
            "http://h:70000/",
            "http://h:+80/",
            "http://u:p@h/",
            "http://[::1/",
            "http://[zz]/",
            "http://[::1]x/",
            "http://h/a b",
            "http://h/\r\nX: y",
            "localhost:80",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn redirects() {
        let base = Target::parse("http://127.0.0.1:8080/a/b?q").unwrap();
        assert_eq!(base.follow("/x").unwrap().path, "/x");
        assert_eq!(base.follow("c").unwrap().path, "/a/c");
        assert_eq!(base.follow("?z").unwrap().path, "/a/b?z");
        let abs = base.follow("https://example.org/y").unwrap();
        assert_eq!(abs.scheme, Scheme::Https);
        assert_eq!(abs.authority, "example.org");
        let rel = base.follow("//other:9/p").unwrap();
        assert_eq!(rel.authority, "other:9");
        assert_eq!(rel.scheme, Scheme::Http);
        assert!(base.follow("gopher://x/").is_err());
        let unix = Target::parse("unix:/s.sock:/a").unwrap();
        let moved = unix.follow("http://elsewhere/b").unwrap();
        assert_eq!(
            moved.endpoint,
            Endpoint::Unix {
                path: "/s.sock".into()
            }
        );
        assert_eq!(moved.path, "/b");
    }
}
