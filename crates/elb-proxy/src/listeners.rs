//! The set of running listeners (proxy listeners, the dedicated health port, the metrics
//! port) and how a reload changes it. A reload is two-phase so that it is all or nothing:
//! `prepare` loads certificates and binds every address that is new (any failure drops what
//! was bound and refuses the reload, the running set untouched), then `commit` — after the
//! new config is in force — starts the new listeners, hands kept ones their new settings
//! (TLS certificates, limits, h2c: used from the next accepted connection or handshake) and
//! stops removed ones: a removed listener closes its socket at once and asks its open
//! connections to finish (h1 after the in-flight request, h2 with GOAWAY).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::proxy::Mode;
use crate::shared::Shared;
use elb_proxy_core::config::{ClientLimits, Config, Listener, UnderscorePolicy};
use elb_proxy_core::gate::{GateConfig, MAX_HEADERS, RequestConfig};
use elb_proxy_core::limits::Scope;
use elb_proxy_core::{ClientPolicy, PathOptions, Underscores};

/// What a listener does with the connections it accepts; swappable while it runs.
pub struct ListenerSettings {
    /// Name used in logs and metrics.
    pub name: String,
    /// TLS acceptor, for TLS listeners.
    pub tls: Option<TlsAcceptor>,
    /// Connection cap of this listener.
    pub max_connections: Option<usize>,
    /// What the listener serves.
    pub mode: Mode,
    /// Accept h2c prior knowledge on a plain listener.
    pub h2c: bool,
    /// What is checked and rewritten in client requests.
    pub policy: ClientPolicy,
    /// The strict HTTP/1.1 gate's limits and policies.
    pub gate: GateConfig,
    /// Certificates of this listener that expire soon (for `show info`).
    pub tls_warnings: Vec<String>,
    /// This listener's scope and limits per client.
    pub per_client: (Scope, ClientLimits),
    /// Connections start with a PROXY protocol header (from `trusted_proxies` only).
    pub proxy_protocol: bool,
    /// Plain HTTP/1.1 goes to the fast path (`crate::fast`) rather than hyper.
    pub fast: bool,
    /// Client certificate headers on this listener's requests.
    pub client_certs: Arc<crate::client_cert::CertHeaders>,
}

/// The client-request policy and gate settings of a listener.
/// The name of config listener `i`: its own, else `listener#i` (in logs and metrics).
pub fn listener_name(i: usize, l: &Listener) -> String {
    l.name.clone().unwrap_or_else(|| format!("listener#{i}"))
}

fn client_rules(config: &Config, l: Option<&Listener>) -> (ClientPolicy, GateConfig) {
    let underscores = match l.map(|l| l.underscores_in_headers) {
        Some(UnderscorePolicy::Reject) => Underscores::Reject,
        Some(UnderscorePolicy::Allow) => Underscores::Allow,
        _ => Underscores::Drop,
    };
    let policy = ClientPolicy {
        underscores,
        path: PathOptions {
            merge_slashes: l.is_some_and(|l| l.merge_slashes),
            ..PathOptions::default()
        },
        forward_normalized: l.is_none_or(|l| l.normalize_path),
    };
    let request = RequestConfig {
        max_head_bytes: usize::try_from(config.limits.max_header_bytes.0).unwrap_or(usize::MAX),
        max_headers: config.limits.max_headers.min(MAX_HEADERS),
        underscores,
        ..RequestConfig::default()
    };
    let gate = GateConfig {
        request,
        h2c: l.is_some_and(|l| l.h2c),
        ..GateConfig::default()
    };
    (policy, gate)
}

/// Why a listener set could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("TLS for listener {addr}: {source}")]
    /// A certificate or key could not be loaded.
    Tls {
        /// The listener's address.
        addr: SocketAddr,
        /// What loading said.
        source: crate::tls::TlsError,
    },
    #[error("binding {name} {addr}: {source}")]
    /// The address could not be bound.
    Bind {
        /// The listener's name.
        name: String,
        /// The listener's address.
        addr: SocketAddr,
        /// What binding said.
        source: std::io::Error,
    },
}

/// The listeners a config asks for, keyed by address.
pub fn desired(config: &Config) -> Result<Vec<(SocketAddr, ListenerSettings)>, ListenerError> {
    let mut out = Vec::new();
    for (i, l) in config.listeners.iter().enumerate() {
        let (tls, tls_warnings) = match &l.tls {
            Some(t) => {
                let loaded = crate::tls::server_config(t).map_err(|source| ListenerError::Tls {
                    addr: l.address,
                    source,
                })?;
                (Some(TlsAcceptor::from(loaded.config)), loaded.warnings)
            }
            None => (None, Vec::new()),
        };
        let (policy, gate) = client_rules(config, Some(l));
        out.push((
            l.address,
            ListenerSettings {
                name: listener_name(i, l),
                tls,
                max_connections: l.max_connections,
                mode: Mode::Proxy,
                h2c: l.h2c,
                policy,
                gate,
                tls_warnings,
                per_client: (Scope::Listener(i as u32), l.per_client),
                proxy_protocol: l.proxy_protocol,
                client_certs: Arc::new(crate::client_cert::CertHeaders::of(config, l)),
                fast: l.tls.is_none()
                    && !l.h2c
                    && l.engine.map_or_else(crate::fast::default_is_fast, |e| {
                        e == elb_proxy_core::config::Engine::Fast
                    }),
            },
        ));
    }
    if let Some(a) = config.health.address {
        out.push((
            a,
            ListenerSettings {
                name: "health".into(),
                tls: None,
                max_connections: Some(256),
                mode: Mode::HealthOnly,
                h2c: false,
                policy: client_rules(config, None).0,
                gate: client_rules(config, None).1,
                tls_warnings: Vec::new(),
                per_client: (Scope::Global, ClientLimits::default()),
                proxy_protocol: false,
                fast: false,
                client_certs: Default::default(),
            },
        ));
    }
    if let Some(m) = &config.metrics {
        out.push((
            m.address,
            ListenerSettings {
                name: "metrics".into(),
                tls: None,
                max_connections: Some(64),
                mode: Mode::Metrics,
                h2c: false,
                policy: client_rules(config, None).0,
                gate: client_rules(config, None).1,
                tls_warnings: Vec::new(),
                per_client: (Scope::Global, ClientLimits::default()),
                proxy_protocol: false,
                fast: false,
                client_certs: Default::default(),
            },
        ));
    }
    Ok(out)
}

struct Running {
    /// A duplicate of the listening socket, for a hand-over to a new process.
    fd: std::os::fd::OwnedFd,
    settings: Arc<ArcSwap<ListenerSettings>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// The running listeners.
#[derive(Default)]
pub struct ListenerSet {
    running: Mutex<HashMap<SocketAddr, Running>>,
    /// Sockets received from the process this one replaces, used instead of binding.
    inherited: Mutex<HashMap<SocketAddr, std::net::TcpListener>>,
}

impl std::fmt::Debug for ListenerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let addrs: Vec<SocketAddr> = self
            .running
            .lock()
            .map(|r| r.keys().copied().collect())
            .unwrap_or_default();
        f.debug_struct("ListenerSet")
            .field("running", &addrs)
            .finish()
    }
}

/// A change ready to be committed: the new sockets are bound already.
pub struct Prepared {
    wanted: Vec<(SocketAddr, ListenerSettings)>,
    bound: HashMap<SocketAddr, TcpListener>,
}

/// What `commit` changed, for the reload summary.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Addresses now listened on that were not before.
    pub added: Vec<SocketAddr>,
    /// Addresses no longer listened on.
    pub removed: Vec<SocketAddr>,
}

impl ListenerSet {
    /// Loads certificates and binds every address not already listening. Nothing running
    /// changes; on error everything bound here is closed again.
    pub fn prepare(&self, config: &Config) -> Result<Prepared, ListenerError> {
        let wanted = desired(config)?;
        let running: Vec<SocketAddr> = self
            .running
            .lock()
            .map(|r| r.keys().copied().collect())
            .unwrap_or_default();
        let mut bound = HashMap::new();
        for (addr, s) in &wanted {
            if running.contains(addr) {
                continue;
            }
            let inherited = self
                .inherited
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(addr);
            let l = match inherited {
                Some(l) => l
                    .set_nonblocking(true)
                    .and_then(|()| TcpListener::from_std(l)),
                None => crate::server::bind(*addr),
            }
            .map_err(|source| ListenerError::Bind {
                name: s.name.clone(),
                addr: *addr,
                source,
            })?;
            bound.insert(*addr, l);
        }
        Ok(Prepared { wanted, bound })
    }

    /// Puts a prepared set in force (see the module doc).
    pub fn commit(&self, prepared: Prepared, shared: &Arc<Shared>) -> Changes {
        let Prepared { wanted, mut bound } = prepared;
        let mut changes = Changes::default();
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let keep: Vec<SocketAddr> = wanted.iter().map(|(a, _)| *a).collect();
        let gone: Vec<SocketAddr> = running
            .keys()
            .filter(|a| !keep.contains(a))
            .copied()
            .collect();
        for addr in gone {
            if let Some(r) = running.remove(&addr) {
                tracing::info!(listener = %r.settings.load().name, address = %addr, "listener removed by reload: closing, its connections drain");
                let _ = r.stop.send(true);
                changes.removed.push(addr);
            }
        }
        for (addr, settings) in wanted {
            for w in &settings.tls_warnings {
                tracing::warn!(listener = %settings.name, address = %addr, "{w}");
            }
            if let Some(r) = running.get(&addr) {
                r.settings.store(Arc::new(settings));
                continue;
            }
            let Some(listener) = bound.remove(&addr) else {
                continue;
            };
            tracing::info!(listener = %settings.name, address = %addr, tls = settings.tls.is_some(), "listening");
            let Ok(fd) = std::os::fd::AsFd::as_fd(&listener).try_clone_to_owned() else {
                tracing::error!(address = %addr, "cannot duplicate the listening socket");
                continue;
            };
            let settings = Arc::new(ArcSwap::from_pointee(settings));
            let (stop, stop_rx) = tokio::sync::watch::channel(false);
            let task = tokio::spawn(crate::server::run_listener(
                listener,
                settings.clone(),
                stop_rx,
                shared.clone(),
            ));
            running.insert(
                addr,
                Running {
                    fd,
                    settings,
                    stop,
                    task,
                },
            );
            changes.added.push(addr);
        }
        changes.added.sort();
        changes.removed.sort();
        changes
    }

    /// Sockets handed over by the process this one replaces (see `handover`).
    pub fn inherit(&self, sockets: HashMap<SocketAddr, std::net::TcpListener>) {
        *self.inherited.lock().unwrap_or_else(|p| p.into_inner()) = sockets;
    }

    /// Duplicates of every listening socket, for a new process taking over.
    pub fn listening_fds(&self) -> Vec<(SocketAddr, std::os::fd::OwnedFd)> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running
            .iter()
            .filter_map(|(a, r)| r.fd.try_clone().ok().map(|fd| (*a, fd)))
            .collect()
    }

    /// Certificates of the running listeners that expire within their warning window.
    pub fn tls_warnings(&self) -> Vec<String> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<String> = running
            .values()
            .flat_map(|r| r.settings.load().tls_warnings.clone())
            .collect();
        out.sort();
        out
    }

    /// Waits for every listener task to end (after shutdown was signalled).
    pub async fn join_all(&self) {
        let tasks: Vec<_> = self
            .running
            .lock()
            .map(|mut r| r.drain().map(|(_, x)| x.task).collect())
            .unwrap_or_default();
        for t in tasks {
            let _ = t.await;
        }
    }
}
