//! TLS from the proxy to members (`tls:` on a cluster or a member): which CA the member's
//! certificate must verify to, the name checked, a client certificate, and ALPN.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Cluster, Member, MemberProtocol};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// TLS to members; a member's own block replaces its cluster's as a whole.
pub struct MemberTls {
    /// PEM CA certificates the member's certificate must verify to; absent: the system
    /// store (as curl does without `--cacert`).
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Name sent as SNI and checked against the certificate; absent: the member's IP
    /// address (checked against the certificate's IP SANs; no SNI is sent for an IP).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Check the member's certificate; `false` accepts any (the connection is still
    /// encrypted), as HAProxy's `verify none`.
    #[serde(default = "default_verify")]
    pub verify: bool,
    /// PEM client certificate chain presented to members that ask for one.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// ALPN protocols offered, in preference order (`h2`, `http/1.1`); the one the member
    /// picks is spoken. Absent: the member's `protocol` alone.
    #[serde(default)]
    pub alpn: Vec<String>,
}

fn default_verify() -> bool {
    true
}

impl MemberTls {
    /// The ALPN list offered to a member speaking `protocol`.
    pub fn alpn_for(&self, protocol: MemberProtocol) -> Vec<String> {
        if !self.alpn.is_empty() {
            return self.alpn.clone();
        }
        vec![
            match protocol {
                MemberProtocol::H2 => "h2",
                MemberProtocol::Http1 => "http/1.1",
            }
            .to_string(),
        ]
    }
}

impl Cluster {
    /// The TLS settings a member's connections use: its own, else its cluster's.
    pub fn tls_for<'a>(&'a self, m: &'a Member) -> Option<&'a MemberTls> {
        m.tls.as_ref().or(self.tls.as_ref())
    }
}
