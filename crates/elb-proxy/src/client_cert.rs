//! Client certificates on TLS listeners as members see them: after a handshake on a
//! listener with `client_auth`, the verified subject (or none) is kept for the connection
//! and set on each request in `X-Client-Cert-Verified` / `X-Client-Cert-Subject`. Copies a
//! client sent are removed on every listener of a config that uses `client_auth`, so no
//! listener lets a client forge what another listener vouches for.

use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue};

use elb_proxy_core::config::{
    CLIENT_CERT_SUBJECT_HEADER, CLIENT_CERT_VERIFIED_HEADER, Config, Listener,
};

static VERIFIED: HeaderName = HeaderName::from_static(CLIENT_CERT_VERIFIED_HEADER);
static SUBJECT: HeaderName = HeaderName::from_static(CLIENT_CERT_SUBJECT_HEADER);

/// What a listener does with the client certificate headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CertHeaders {
    /// Remove what clients send (some listener of the config verifies certificates).
    pub strip: bool,
    /// This listener verifies client certificates and sets the headers.
    pub set: bool,
}

impl CertHeaders {
    /// The policy of listener `l` in `config`.
    pub fn of(config: &Config, l: &Listener) -> Self {
        let verifies = |l: &Listener| l.tls.as_ref().is_some_and(|t| t.client_auth.is_some());
        Self {
            strip: config.listeners.iter().any(verifies),
            set: verifies(l),
        }
    }
}

/// The verified subject of a connection's client certificate, set once after its handshake
/// (`None` inside: no certificate was presented).
pub type ClientCert = OnceLock<Option<HeaderValue>>;

/// The subject header value of a handshake's peer certificates.
pub fn subject_of(certs: Option<&[rustls::pki_types::CertificateDer<'_>]>) -> Option<HeaderValue> {
    let leaf = certs?.first()?;
    let subject = elb_probe::subject_of(leaf)?;
    HeaderValue::from_bytes(subject.as_bytes()).ok()
}

/// Removes client copies (when `policy.strip`) and sets the connection's certificate
/// headers (when `policy.set`).
pub fn apply(headers: &mut HeaderMap, policy: CertHeaders, cert: &ClientCert) {
    if !policy.strip {
        return;
    }
    headers.remove(&VERIFIED);
    headers.remove(&SUBJECT);
    if !policy.set {
        return;
    }
    match cert.get().and_then(Option::as_ref) {
        Some(subject) => {
            headers.insert(VERIFIED.clone(), HeaderValue::from_static("SUCCESS"));
            headers.insert(SUBJECT.clone(), subject.clone());
        }
        None => {
            headers.insert(VERIFIED.clone(), HeaderValue::from_static("NONE"));
        }
    }
}
