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
use elb_proxy_core::config::Config;

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
    /// Plain HTTP/1.1 goes to the fast path (`crate::fast`) rather than hyper.
    pub fast: bool,
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
        let tls = match &l.tls {
            Some(t) => Some(TlsAcceptor::from(crate::tls::server_config(t).map_err(
                |source| ListenerError::Tls {
                    addr: l.address,
                    source,
                },
            )?)),
            None => None,
        };
        out.push((
            l.address,
            ListenerSettings {
                name: l.name.clone().unwrap_or_else(|| format!("listener#{i}")),
                tls,
                max_connections: l.max_connections,
                mode: Mode::Proxy,
                h2c: l.h2c,
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
                fast: false,
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
                fast: false,
            },
        ));
    }
    Ok(out)
}

struct Running {
    settings: Arc<ArcSwap<ListenerSettings>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// The running listeners.
#[derive(Default)]
pub struct ListenerSet {
    running: Mutex<HashMap<SocketAddr, Running>>,
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
            let l = crate::server::bind(*addr).map_err(|source| ListenerError::Bind {
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
            if let Some(r) = running.get(&addr) {
                r.settings.store(Arc::new(settings));
                continue;
            }
            let Some(listener) = bound.remove(&addr) else {
                continue;
            };
            tracing::info!(listener = %settings.name, address = %addr, tls = settings.tls.is_some(), "listening");
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
