//! Client certificates on TLS listeners as members see them: after a handshake on a
//! listener with `client_auth`, the verified subject (or none) is kept for the connection
//! and set on each request in the listener's `client_auth.headers` (by default
//! `X-Client-Cert-Verified` / `X-Client-Cert-Subject`). Copies a client sent of any
//! listener's names, and of the default names, are removed on every listener of a config
//! that uses `client_auth`, so no listener lets a client forge what another listener
//! vouches for. A copy written with `_` for `-` is removed too: CGI/WSGI members read both
//! forms as one.

use std::sync::{Arc, OnceLock};

use http::{HeaderMap, HeaderName, HeaderValue};

use elb_proxy_core::config::{
    CLIENT_CERT_SUBJECT_HEADER, CLIENT_CERT_VERIFIED_HEADER, ClientCertHeaderNames, Config,
    Listener,
};

/// What a listener does with the client certificate headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertHeaders {
    /// Remove what clients send (some listener of the config verifies certificates).
    pub strip: bool,
    /// This listener verifies client certificates and sets the headers.
    pub set: bool,
    /// Every name that is removed from what clients send.
    removed: Arc<[HeaderName]>,
    /// This listener's names: verified, subject (when `set`).
    names: Option<(HeaderName, HeaderName)>,
}

fn header(name: &str) -> HeaderName {
    HeaderName::from_bytes(name.as_bytes()).expect("validated client_auth header name")
}

fn names_of(l: &Listener) -> Option<&ClientCertHeaderNames> {
    let auth = l.tls.as_ref()?.client_auth.as_ref()?;
    Some(&auth.headers)
}

impl CertHeaders {
    /// The policy of listener `l` in `config` (a validated one: its names parse).
    pub fn of(config: &Config, l: &Listener) -> Self {
        let mut removed = vec![
            HeaderName::from_static(CLIENT_CERT_VERIFIED_HEADER),
            HeaderName::from_static(CLIENT_CERT_SUBJECT_HEADER),
        ];
        for h in config.listeners.iter().filter_map(names_of) {
            removed.extend([header(&h.verified), header(&h.subject)]);
        }
        removed.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        removed.dedup();
        Self {
            strip: config.listeners.iter().any(|l| names_of(l).is_some()),
            set: names_of(l).is_some(),
            removed: removed.into(),
            names: names_of(l).map(|h| (header(&h.verified), header(&h.subject))),
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

/// Whether `name` is `ours` written with `_` for some `-`.
fn underscored(name: &HeaderName, ours: &HeaderName) -> bool {
    let (a, b) = (name.as_str().as_bytes(), ours.as_str().as_bytes());
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (*x, *y) == (b'_', b'-'))
}

/// Removes client copies (when `policy.strip`) and sets the connection's certificate
/// headers (when `policy.set`).
pub fn apply(headers: &mut HeaderMap, policy: &CertHeaders, cert: &ClientCert) {
    if !policy.strip {
        return;
    }
    for name in policy.removed.iter() {
        headers.remove(name);
    }
    let forged: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().contains('_'))
        .filter(|k| policy.removed.iter().any(|ours| underscored(k, ours)))
        .cloned()
        .collect();
    for name in &forged {
        headers.remove(name);
    }
    let Some((verified, subject)) = &policy.names else {
        return;
    };
    match cert.get().and_then(Option::as_ref) {
        Some(s) => {
            headers.insert(verified.clone(), HeaderValue::from_static("SUCCESS"));
            headers.insert(subject.clone(), s.clone());
        }
        None => {
            headers.insert(verified.clone(), HeaderValue::from_static("NONE"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_underscored_copy_matches_only_where_ours_has_a_dash() {
        let ours = HeaderName::from_static("x-ssl-subject");
        let at = |n: &'static str| underscored(&HeaderName::from_static(n), &ours);
        assert!(at("x_ssl_subject") && at("x-ssl_subject"));
        assert!(!at("x_ssl_subjec") && !at("xassl-subject"));
    }
}
