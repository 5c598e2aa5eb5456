//! TLS termination: loads PEM certificates and keys and picks one per handshake by SNI
//! (exact name or `*.suffix`; the first certificate when SNI is absent or matches none).
//! ALPN offers h2 and http/1.1 as configured; hyper's auto server then speaks what was agreed.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use elb_proxy_core::config::Tls;

#[derive(Debug, thiserror::Error)]
/// Why a listener's TLS settings could not be loaded.
pub enum TlsError {
    #[error("{path}: {message}")]
    /// A certificate or key file is missing or unreadable.
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    #[error("tls: {0}")]
    /// rustls refused the certificate or key.
    Rustls(#[from] rustls::Error),
    #[error("{0}")]
    /// The certificate failed a check (key mismatch, chain, expiry, names).
    Check(String),
}

/// A listener's TLS, checked and ready.
#[derive(Debug)]
pub struct LoadedTls {
    /// The rustls config to accept with.
    pub config: Arc<ServerConfig>,
    /// Certificates that expire within the warning window, as operator messages.
    pub warnings: Vec<String>,
}

/// PEM certificates of a file.
fn read_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_pem(path)?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::File {
            path: path.display().to_string(),
            message: "no certificate in file".into(),
        });
    }
    Ok(certs)
}

#[derive(Debug)]
struct SniResolver {
    /// (names, key); names are lowercase, wildcards stored as `.suffix`.
    certs: Vec<(Vec<String>, Arc<CertifiedKey>)>,
}

impl SniResolver {
    fn find(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = sni {
            let name = name.to_ascii_lowercase();
            for (names, key) in &self.certs {
                let hit = names.iter().any(|n| {
                    if n.starts_with('.') {
                        name.ends_with(n.as_str()) && name.len() > n.len()
                    } else {
                        *n == name
                    }
                });
                if hit {
                    return Some(key.clone());
                }
            }
        }
        self.certs.first().map(|(_, k)| k.clone())
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.find(hello.server_name())
    }
}

fn read_pem(path: &std::path::Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Reads a DER OCSP response to staple and checks it speaks of `leaf`: not a response,
/// one for another certificate, or a `revoked` status is an error; an `unknown` status or
/// a `nextUpdate` already past is a warning (clients may ignore or refuse such a staple).
fn ocsp_staple(
    path: &std::path::Path,
    leaf: &CertificateDer<'_>,
    now: std::time::SystemTime,
) -> Result<(Vec<u8>, Option<String>), TlsError> {
    let der = read_pem(path)?;
    let fail = |message: String| TlsError::File {
        path: path.display().to_string(),
        message,
    };
    let entries = elb_probe::ocsp_entries(&der).map_err(fail)?;
    let serial = elb_probe::serial_of(leaf).unwrap_or_default();
    let entry = entries.iter().find(|e| e.serial == serial).ok_or_else(|| {
        fail("the OCSP response is not for this certificate (serial number differs)".into())
    })?;
    if entry.status == "revoked" {
        return Err(fail(
            "the OCSP response says the certificate is revoked".into(),
        ));
    }
    let now = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let warning = if entry.status != "good" {
        Some(format!(
            "{}: OCSP status is {}",
            path.display(),
            entry.status
        ))
    } else if entry.next_update.is_some_and(|t| t < now) {
        Some(format!(
            "{}: OCSP response is past its nextUpdate; refresh it and reload",
            path.display()
        ))
    } else {
        None
    };
    Ok((der, warning))
}

/// The verifier of client certificates: they must chain to `auth.ca`; `optional` also
/// lets clients without one in.
fn client_verifier(
    auth: &elb_proxy_core::config::ClientAuth,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(&auth.ca)? {
        roots.add(cert).map_err(|e| TlsError::File {
            path: auth.ca.display().to_string(),
            message: format!("not a usable CA certificate: {e}"),
        })?;
    }
    let builder =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let builder = match auth.mode {
        elb_proxy_core::config::ClientAuthMode::Required => builder,
        elb_proxy_core::config::ClientAuthMode::Optional => builder.allow_unauthenticated(),
    };
    builder.build().map_err(|e| TlsError::File {
        path: auth.ca.display().to_string(),
        message: e.to_string(),
    })
}

/// Builds the rustls server config for a listener, checking every certificate first
/// (see `tls_check`).
pub fn server_config(tls: &Tls) -> Result<LoadedTls, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut certs = Vec::new();
    let mut warnings = Vec::new();
    let now = std::time::SystemTime::now();
    for c in &tls.certificates {
        let chain = read_certs(&c.cert)?;
        let ca = match &c.ca {
            Some(p) => read_certs(p)?,
            None => Vec::new(),
        };
        let key_pem = read_pem(&c.key)?;
        let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_slice())
            .map_err(|e| TlsError::File {
                path: c.key.display().to_string(),
                message: e.to_string(),
            })?
            .ok_or_else(|| TlsError::File {
                path: c.key.display().to_string(),
                message: "no private key in file".into(),
            })?;
        let signing = provider.key_provider.load_private_key(key)?;
        let mut certified = CertifiedKey::new(chain, signing);
        if let Some(p) = &c.ocsp_response {
            let (der, warning) = ocsp_staple(p, &certified.cert[0], now)?;
            certified.ocsp = Some(der);
            warnings.extend(warning);
        }
        let path = c.cert.display().to_string();
        let checked = crate::tls_check::check(
            &path,
            &certified.cert,
            &ca,
            &certified,
            &c.server_names,
            tls.expiry_warning.0,
            now,
        )
        .map_err(TlsError::Check)?;
        if let Some(at) = checked.expires_soon {
            let days = at.duration_since(now).unwrap_or_default().as_secs() / 86400;
            let unix = at
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            warnings.push(format!(
                "{path}: certificate chain expires in {days} days (unix time {unix})"
            ));
        }
        let names = checked
            .names
            .iter()
            .map(|n| n.strip_prefix('*').map_or(n.clone(), str::to_string))
            .collect();
        certs.push((names, Arc::new(certified)));
    }
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &tls.client_auth {
        None => builder.with_no_client_auth(),
        Some(auth) => builder.with_client_cert_verifier(client_verifier(auth, provider)?),
    };
    let mut config = builder.with_cert_resolver(Arc::new(SniResolver { certs }));
    config.alpn_protocols = tls.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(LoadedTls {
        config: Arc::new(config),
        warnings,
    })
}
