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

/// Builds the rustls server config for a listener.
pub fn server_config(tls: &Tls) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut certs = Vec::new();
    for c in &tls.certificates {
        let pem = read_pem(&c.cert)?;
        let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut pem.as_slice())
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::File {
                path: c.cert.display().to_string(),
                message: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::File {
                path: c.cert.display().to_string(),
                message: "no certificate in file".into(),
            });
        }
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
        let names = c
            .server_names
            .iter()
            .map(|n| {
                let n = n.to_ascii_lowercase();
                n.strip_prefix('*').map_or(n.clone(), str::to_string)
            })
            .collect();
        certs.push((names, Arc::new(CertifiedKey::new(chain, signing))));
    }
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver { certs }));
    config.alpn_protocols = tls.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(Arc::new(config))
}
