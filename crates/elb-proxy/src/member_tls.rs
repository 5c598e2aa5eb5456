//! TLS from the proxy to members: one connector per member holding its rustls client
//! configurations (kept across reloads while the settings stay the same, so the session
//! cache keeps resuming), the handshake with ALPN, and the check of every `tls:` block's
//! files at `--check`, start and reload, with the config line of the key at fault. Trust
//! rules are elb-probe's (the health checks of the same members use them too).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use elb_proxy_core::config::{Config, MemberProtocol, MemberTls};

/// Handshakes with members, full and resumed (process-wide, for metrics and `show info`).
#[derive(Debug, Default)]
pub struct MemberTlsStats {
    /// Full handshakes completed.
    pub full: AtomicU64,
    /// Handshakes that resumed an earlier session.
    pub resumed: AtomicU64,
    /// Handshakes that failed.
    pub failed: AtomicU64,
}

/// The process-wide counters of member handshakes.
pub static MEMBER_TLS: MemberTlsStats = MemberTlsStats {
    full: AtomicU64::new(0),
    resumed: AtomicU64::new(0),
    failed: AtomicU64::new(0),
};

/// The client configurations of one settings block.
#[derive(Debug)]
struct Configs {
    /// ALPN as configured.
    offer: Arc<ClientConfig>,
    /// `http/1.1` only, for connections that may switch protocols (WebSocket).
    http1: Arc<ClientConfig>,
}

/// TLS to one member.
#[derive(Debug)]
pub struct MemberConnector {
    /// The settings it was built from (a reload with equal settings keeps the connector).
    pub settings: MemberTls,
    /// The member's protocol when the settings were applied (it decides the ALPN offer).
    protocol: MemberProtocol,
    /// Or why the files could not be loaded (checked before a config is taken, so only a
    /// file changed in between lands here; every connect then fails saying so).
    configs: Result<Configs, String>,
    server_name: ServerName<'static>,
}

/// What the handshake agreed.
pub struct Negotiated {
    /// The member picked `h2` by ALPN (`Some(false)`: `http/1.1`; `None`: no ALPN).
    pub h2: Option<bool>,
}

impl MemberConnector {
    /// The connector for a member at `addr` speaking `protocol`.
    pub fn new(settings: &MemberTls, protocol: MemberProtocol, addr: SocketAddr) -> Self {
        let server_name = settings
            .server_name
            .as_ref()
            .and_then(|n| ServerName::try_from(n.clone()).ok())
            .unwrap_or_else(|| ServerName::IpAddress(addr.ip().into()));
        Self {
            settings: settings.clone(),
            protocol,
            configs: configs(settings, protocol),
            server_name,
        }
    }

    /// Whether this connector was built for `settings` and `protocol` (then a reload keeps it).
    pub fn same(&self, settings: &MemberTls, protocol: MemberProtocol) -> bool {
        self.settings == *settings && self.protocol == protocol
    }

    /// Runs the TLS handshake over `tcp`; `upgrades` offers only `http/1.1`.
    pub async fn handshake(
        &self,
        tcp: TcpStream,
        upgrades: bool,
    ) -> Result<(TlsStream<TcpStream>, Negotiated), String> {
        let configs = self.configs.as_ref().map_err(Clone::clone)?;
        let config = if upgrades {
            &configs.http1
        } else {
            &configs.offer
        };
        let connector = tokio_rustls::TlsConnector::from(config.clone());
        let tls = connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| {
                MEMBER_TLS.failed.fetch_add(1, Relaxed);
                describe(&e)
            })?;
        let conn = tls.get_ref().1;
        if conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
            MEMBER_TLS.resumed.fetch_add(1, Relaxed);
        } else {
            MEMBER_TLS.full.fetch_add(1, Relaxed);
        }
        let h2 = conn.alpn_protocol().map(|p| p == b"h2");
        Ok((tls, Negotiated { h2 }))
    }
}

/// The TLS error in plain words (elb-probe's wording for certificate refusals).
fn describe(e: &std::io::Error) -> String {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(tls) => format!("TLS handshake: {tls}"),
        None => format!("TLS handshake: {e}"),
    }
}

/// elb-probe's options for a settings block (the health checks use the same).
pub fn probe_options(settings: &MemberTls) -> elb_probe::TlsOptions {
    let mut o = elb_probe::TlsOptions::default();
    o.ca_file = settings.ca.clone();
    o.client_cert = settings
        .client_cert
        .clone()
        .zip(settings.client_key.clone());
    o.sni = settings.server_name.clone();
    o.insecure = !settings.verify;
    o
}

fn configs(settings: &MemberTls, protocol: MemberProtocol) -> Result<Configs, String> {
    check_key_pair(settings)?;
    let options = probe_options(settings);
    let alpn: Vec<Vec<u8>> = settings
        .alpn_for(protocol)
        .into_iter()
        .map(String::into_bytes)
        .collect();
    let offer: Vec<&[u8]> = alpn.iter().map(Vec::as_slice).collect();
    let build = |alpn: &[&[u8]]| {
        elb_probe::client_config_offering(&options, alpn)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    };
    Ok(Configs {
        offer: build(&offer)?,
        http1: build(&[b"http/1.1"])?,
    })
}

/// A client key that does not belong to its certificate would fail every handshake with
/// a member that asks for it; say so at load instead.
fn check_key_pair(settings: &MemberTls) -> Result<(), String> {
    let (Some(cert), Some(key)) = (&settings.client_cert, &settings.client_key) else {
        return Ok(());
    };
    let read =
        |p: &Path| std::fs::read(p).map_err(|e| format!("{}: cannot read: {e}", p.display()));
    let chain = rustls_pemfile::certs(&mut read(cert)?.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no PEM certificate found", cert.display()));
    }
    let key_der = rustls_pemfile::private_key(&mut read(key)?.as_slice())
        .map_err(|e| format!("{}: {e}", key.display()))?
        .ok_or_else(|| format!("{}: no PEM private key found", key.display()))?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    rustls::sign::CertifiedKey::new(chain, signing)
        .keys_match()
        .map_err(|e| {
            format!(
                "{}: the private key does not match the certificate {} ({e})",
                key.display(),
                cert.display()
            )
        })
}

/// Loads every member's TLS settings as a connection would; the first that fails is
/// reported as `file:line: cluster …: message`, the line that of the key at fault.
pub fn check(config: &Config, path: &Path) -> Result<(), String> {
    for c in &config.clusters {
        for m in &c.members {
            let Some(t) = c.tls_for(m) else {
                continue;
            };
            if let Err(e) = configs(t, m.protocol.unwrap_or(c.protocol)) {
                return Err(locate(path, t, &c.name, &m.display_name(), &e));
            }
        }
    }
    Ok(())
}

/// The error with the config line of the key whose file it names (else the cluster's).
fn locate(path: &Path, t: &MemberTls, cluster: &str, member: &str, error: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let keys = [
        ("client_key", &t.client_key),
        ("client_cert", &t.client_cert),
        ("ca", &t.ca),
    ];
    let line = keys
        .iter()
        .filter_map(|(k, p)| Some((*k, p.as_ref()?.display().to_string())))
        .find(|(_, p)| error.contains(p.as_str()))
        .and_then(|(k, p)| elb_proxy_core::config::line_of(&text, k, &p))
        .or_else(|| elb_proxy_core::config::line_of(&text, "name", cluster));
    let at = line.map_or_else(
        || path.display().to_string(),
        |l| format!("{}:{l}", path.display()),
    );
    format!("{at}: cluster `{cluster}` member `{member}`: tls: {error}")
}
