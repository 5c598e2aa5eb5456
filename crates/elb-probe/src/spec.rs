//! What one probe does: the target, the request and the rules that judge
//! the answer. Built once (by elb-check from its flags, by elb-proxy from its
//! config) and reused; the TLS client configuration it implies is built on
//! the first https probe and cached, so plain-http probes never pay for it.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::proxy_protocol::ProxyProtocol;
use crate::reach::{ConnectTo, Resolve};
use crate::response::Limits;
use crate::status_set::StatusSet;
use crate::target::Target;

/// Request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// `GET` (default).
    #[default]
    Get,
    /// `HEAD`: the answer has no body, so body rules cannot be used with it.
    Head,
    /// `POST`, for probes that must send a body (`--data`).
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `OPTIONS`.
    Options,
    /// `PATCH`.
    Patch,
}

impl Method {
    /// The method token sent on the request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Patch => "PATCH",
        }
    }
}

/// Which HTTP version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// HTTP/1.1 (default).
    #[default]
    Http1,
    /// HTTP/2 over TLS when the server accepts it by ALPN, else HTTP/1.1 (curl's `--http2`).
    Http2,
    /// HTTP/2 without TLS and without negotiation (curl's `--http2-prior-knowledge`).
    H2c,
}

/// Where the local end of a TCP connection is bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bind {
    /// Source address (`--source`, or `--interface ADDR`).
    pub source: Option<std::net::IpAddr>,
    /// Network device to send through (`--interface NAME`, SO_BINDTODEVICE).
    pub interface: Option<String>,
}

/// A rule on a JSON answer: the value at an RFC 6901 pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonRule {
    /// The pointer, e.g. `/status` or `/checks/0/ok`.
    pub pointer: String,
    /// The expected value: JSON (`true`, `3`, `"UP"`), or else a bare string (`UP`).
    pub expected: String,
}

/// Which address family a host name may resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpFamily {
    /// Either; addresses are tried in resolver order.
    #[default]
    Any,
    /// IPv4 only (`-4`).
    V4,
    /// IPv6 only (`-6`).
    V6,
}

/// A rule on a response header: present, and its value contains `contains`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRule {
    /// Header name, compared case-insensitively.
    pub name: String,
    /// Substring the value must contain (empty: presence is enough).
    pub contains: String,
}

/// TLS settings for https targets.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM file of CA certificates to trust instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain and private key, for servers that ask for one.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Server name for SNI and certificate checking, overriding Host and URL.
    pub sni: Option<String>,
    /// Skip certificate verification entirely (explicit, never a fallback).
    pub insecure: bool,
    /// The client configuration built from the fields above on first use.
    pub(crate) cached: OnceLock<Arc<rustls::ClientConfig>>,
}

/// One probe's full description.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    /// Where to connect and what path to ask for.
    pub target: Target,
    /// Request method.
    pub method: Method,
    /// `Host` header value overriding the URL's authority (for probing a route on 127.0.0.1).
    pub host: Option<String>,
    /// Extra request header fields; a probe with a name or value that could corrupt the request head ends as a setup error.
    pub headers: Vec<(String, String)>,
    /// Accepted status codes.
    pub expect: StatusSet,
    /// The body must contain this string.
    pub body_contains: Option<String>,
    /// The body must match this regular expression.
    pub body_regex: Option<regex_lite::Regex>,
    /// Header rules that must all hold.
    pub header_rules: Vec<HeaderRule>,
    /// JSON rules on the body that must all hold.
    pub json_rules: Vec<JsonRule>,
    /// Request body (`--data`), sent with a Content-Length.
    pub body: Option<Vec<u8>>,
    /// `--connect-to` entries, first match wins.
    pub connect_to: Vec<ConnectTo>,
    /// `--resolve` entries, first match wins.
    pub resolve: Vec<Resolve>,
    /// Local address or device for TCP connections.
    pub bind: Bind,
    /// HTTP version to speak.
    pub http_version: HttpVersion,
    /// PROXY protocol header to send first, for listeners that expect one.
    pub proxy_protocol: Option<ProxyProtocol>,
    /// TLS settings (used only for https).
    pub tls: TlsOptions,
    /// Address family for host names.
    pub family: IpFamily,
    /// One deadline for everything: DNS, connect, TLS, request and answer.
    pub timeout: Duration,
    /// How many redirects to follow (0: judge the 3xx itself).
    pub max_redirects: u32,
    /// Size bounds on the answer.
    pub limits: Limits,
    /// `User-Agent` value.
    pub user_agent: String,
}

impl ProbeSpec {
    /// A GET of `target` expecting 200 within one second, as the wget track script it replaces.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            method: Method::Get,
            host: None,
            headers: Vec::new(),
            expect: StatusSet::default(),
            body_contains: None,
            body_regex: None,
            header_rules: Vec::new(),
            json_rules: Vec::new(),
            body: None,
            connect_to: Vec::new(),
            resolve: Vec::new(),
            bind: Bind::default(),
            http_version: HttpVersion::Http1,
            proxy_protocol: None,
            tls: TlsOptions::default(),
            family: IpFamily::Any,
            timeout: Duration::from_secs(1),
            max_redirects: 0,
            limits: Limits::default(),
            user_agent: concat!("elb-check/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }

    /// Whether judging needs the body (otherwise reading stops after the head).
    pub fn wants_body(&self) -> bool {
        self.method != Method::Head
            && (self.body_contains.is_some()
                || self.body_regex.is_some()
                || !self.json_rules.is_empty())
    }
}

/// Whether `text` can be sent as a header name (an RFC 9110 token).
pub fn valid_header_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `text` can be sent as a header value (no CR, LF or other controls but tab).
pub fn valid_header_value(text: &str) -> bool {
    text.bytes().all(|b| b == b'\t' || (b >= b' ' && b != 0x7f))
}
