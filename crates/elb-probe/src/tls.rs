//! TLS client settings for https probes, built from [`TlsOptions`] with
//! rustls and the ring provider, and the sorting of TLS errors into
//! "certificate not accepted" versus "the peer does not speak TLS".
//!
//! System roots are read only here, i.e. only for https probes without
//! `--cacert`, so plain-http probes start without touching the filesystem.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use crate::spec::TlsOptions;
use crate::verify::{Trust, Verifier};

/// Why TLS settings could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: io::Error,
    },
    /// A PEM file held nothing usable.
    #[error("{path}: {what}")]
    Content {
        /// The file.
        path: String,
        /// What was wrong.
        what: String,
    },
    /// No trusted roots at all (no system store, no --cacert).
    #[error("no trusted CA certificates found (system store empty; use --cacert or --insecure)")]
    NoRoots,
    /// rustls refused the combination (e.g. key does not match certificate).
    #[error("TLS settings refused: {0}")]
    Rustls(#[from] rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_pem(path: &Path) -> Result<Vec<u8>, TlsSetupError> {
    fs::read(path).map_err(|source| TlsSetupError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem = read_pem(path)?;
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut pem.as_slice()).collect();
    let certs = certs.map_err(|e| TlsSetupError::Content {
        path: path.display().to_string(),
        what: e.to_string(),
    })?;
    if certs.is_empty() {
        return Err(TlsSetupError::Content {
            path: path.display().to_string(),
            what: "no PEM certificate found".to_string(),
        });
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    let pem = read_pem(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| TlsSetupError::Content {
            path: path.display().to_string(),
            what: e.to_string(),
        })?
        .ok_or_else(|| TlsSetupError::Content {
            path: path.display().to_string(),
            what: "no PEM private key found".to_string(),
        })
}

/// The trusted roots, and the `--cacert` certificates themselves (trusted
/// also when a server presents one of them as its own, as curl does).
fn roots(
    options: &TlsOptions,
) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), TlsSetupError> {
    let mut store = RootCertStore::empty();
    let mut pinned = Vec::new();
    if let Some(ca) = &options.ca_file {
        for cert in load_certs(ca)? {
            store
                .add(cert.clone())
                .map_err(|e| TlsSetupError::Content {
                    path: ca.display().to_string(),
                    what: e.to_string(),
                })?;
            pinned.push(cert);
        }
    } else {
        let found = rustls_native_certs::load_native_certs();
        let (added, _ignored) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(TlsSetupError::NoRoots);
        }
    }
    Ok((store, pinned))
}

fn verifier(
    options: &TlsOptions,
    provider: &Arc<CryptoProvider>,
) -> Result<Verifier, TlsSetupError> {
    let algorithms = provider.signature_verification_algorithms;
    if options.insecure {
        return Ok(Verifier {
            trust: Trust::Any,
            algorithms,
        });
    }
    let (store, pinned) = roots(options)?;
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(|e| TlsSetupError::Content {
            path: options
                .ca_file
                .as_ref()
                .map_or_else(|| "system store".to_string(), |p| p.display().to_string()),
            what: e.to_string(),
        })?;
    Ok(Verifier {
        trust: Trust::Roots {
            webpki,
            pinned,
            from_file: options.ca_file.is_some(),
        },
        algorithms,
    })
}

/// Builds (once) and returns the client configuration for these options;
/// `h2` offers HTTP/2 by ALPN first (one spec always passes the same value).
pub(crate) fn client_config(
    options: &TlsOptions,
    h2: bool,
) -> Result<Arc<ClientConfig>, TlsSetupError> {
    if let Some(config) = options.cached.get() {
        return Ok(config.clone());
    }
    let alpn: &[&[u8]] = if h2 {
        &[b"h2", b"http/1.1"]
    } else {
        &[b"http/1.1"]
    };
    let config = Arc::new(client_config_offering(options, alpn)?);
    let _ = options.cached.set(config.clone());
    Ok(config)
}

/// A fresh client configuration for `options` offering `alpn`, with the same trust rules
/// as a probe (`ca_file`, else the system store; `insecure` accepts any certificate).
/// Not cached: a caller that keeps one per peer gets TLS session resumption from its
/// session cache (elb-proxy's member connections do).
pub fn client_config_offering(
    options: &TlsOptions,
    alpn: &[&[u8]],
) -> Result<ClientConfig, TlsSetupError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier(options, &provider)?));
    let mut config = match &options.client_cert {
        Some((cert, key)) => builder.with_client_auth_cert(load_certs(cert)?, load_key(key)?)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// The server name to present and verify: IP literals are checked against
/// the certificate's IP SANs (and not sent as SNI, per RFC 6066).
pub(crate) fn server_name(name: &str) -> Option<ServerName<'static>> {
    ServerName::try_from(name.to_string()).ok()
}

/// How a failed handshake is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandshakeFailure {
    /// Certificate not accepted, or the peer refused us with an alert.
    Tls,
    /// The peer does not speak TLS (garbage, or plain HTTP).
    Protocol,
    /// The transport failed (reset, closed).
    Network,
}

/// Sorts an error from the handshake.
pub(crate) fn classify(error: &io::Error) -> HandshakeFailure {
    let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return HandshakeFailure::Network;
    };
    match tls {
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. }
        | rustls::Error::DecryptError => HandshakeFailure::Protocol,
        _ => HandshakeFailure::Tls,
    }
}

/// One line for a failed handshake or read: plain words for certificate
/// problems, the I/O error otherwise.
pub(crate) fn describe_io(error: &io::Error) -> String {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => crate::verify::describe(tls),
        None => error.to_string(),
    }
}
