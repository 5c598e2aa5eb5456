//! Client certificates on a TLS listener (`tls.client_auth`): which CA they must chain to
//! and whether one is required. The verified subject reaches members in headers only the
//! proxy sets.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Client certificate verification on a TLS listener.
pub struct ClientAuth {
    /// PEM CA certificates a client certificate must chain to.
    pub ca: PathBuf,
    /// `required`: the handshake fails without a valid certificate; `optional`: a client
    /// without one is served too (and a presented certificate must still verify).
    #[serde(default)]
    pub mode: ClientAuthMode,
    /// The names of the headers that carry the outcome to members.
    #[serde(default)]
    pub headers: ClientCertHeaderNames,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Names of the client certificate headers a listener sets (`client_auth.headers`).
pub struct ClientCertHeaderNames {
    /// `SUCCESS` or `NONE`.
    #[serde(default = "default_verified")]
    pub verified: String,
    /// The verified certificate's subject; absent without a certificate.
    #[serde(default = "default_subject")]
    pub subject: String,
}

impl Default for ClientCertHeaderNames {
    fn default() -> Self {
        Self {
            verified: default_verified(),
            subject: default_subject(),
        }
    }
}

fn default_verified() -> String {
    "X-Client-Cert-Verified".into()
}

fn default_subject() -> String {
    "X-Client-Cert-Subject".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
/// Whether a client certificate is required.
pub enum ClientAuthMode {
    /// A valid certificate is needed to complete the handshake.
    #[default]
    Required,
    /// Clients without a certificate are served; members see `NONE`.
    Optional,
}

/// The default name of the header set on requests from listeners with `client_auth`:
/// `SUCCESS` or `NONE`. Removed from what clients send on every listener of a config that
/// has `client_auth` somewhere, as are the names any listener sets instead.
pub const CLIENT_CERT_VERIFIED_HEADER: &str = "x-client-cert-verified";
/// The default name of the header with the verified client certificate's subject (RFC 4514
/// form, e.g. `CN=alice,O=Example`); absent without a certificate. Removed from what
/// clients send, as the one above.
pub const CLIENT_CERT_SUBJECT_HEADER: &str = "x-client-cert-subject";
