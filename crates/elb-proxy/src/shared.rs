//! Process-wide state shared by listeners, admin socket, health checks and signals: the
//! active config `Snapshot` (swapped by reloads), drain flags, global counters.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;
use elb_proxy_core::config::ValidConfig;

use crate::snapshot::Snapshot;
use crate::stats::GlobalStats;

/// Process-wide state shared by listeners, admin socket, health checks and signals.
#[derive(Debug)]
pub struct Shared {
    /// The active config; a reload swaps in a new one.
    pub snapshot: ArcSwap<Snapshot>,
    /// Completion signal of the last vrrpd push: each push waits for the one before it, so
    /// vrrpd sees `down`/`up` in the order they happened.
    pub last_push: std::sync::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
    /// SIGTERM received: health answers 503, listeners close soon.
    pub stopping: AtomicBool,
    /// Operator asked the whole proxy to drain (`set proxy state drain`).
    pub admin_drain: AtomicBool,
    /// Process-wide counters.
    pub stats: GlobalStats,
    /// The config file, read again on reload.
    pub config_path: PathBuf,
    /// Process start (for `show info`).
    pub started: std::time::SystemTime,
    /// Serialises reloads (signal and admin socket).
    pub reload_lock: tokio::sync::Mutex<()>,
    /// Wakes listeners and tasks on shutdown.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// Signalled whenever a client connection ends (drain waits on it).
    pub connection_closed: tokio::sync::Notify,
    /// Access log, when configured (reopened on reload).
    pub access_log: arc_swap::ArcSwapOption<crate::access_log::AccessLog>,
    /// Running listeners (changed by reloads).
    pub listeners: crate::listeners::ListenerSet,
    /// The listening sockets were handed over to a new process (upgrade): drain and exit.
    pub handed_over: AtomicBool,
    /// Signalled when a hand-over completed.
    pub handover_done: tokio::sync::Notify,
    /// Per-client request buckets and connection counts (see `elb_proxy_core::limits`).
    pub clients: std::sync::Mutex<elb_proxy_core::limits::ClientTable>,
    /// Members given by DNS name: the config as loaded and the answers (see `crate::dns`).
    pub names: crate::dns::Names,
    /// Member changes made on the admin socket since the file was loaded.
    pub running: crate::running::Running,
}

impl Shared {
    /// The state for a freshly loaded config (no listener bound yet).
    pub fn new(config: ValidConfig, config_path: PathBuf) -> Arc<Self> {
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let clients = elb_proxy_core::limits::ClientTable::new(config.limits.client_table_size);
        let names = crate::dns::Names::default();
        let running = names.expand(&config);
        let _ = names.declare(config);
        let stats = GlobalStats::default();
        let snapshot = Snapshot::build(running, None, &stats.traffic);
        Arc::new(Self {
            names,
            running: crate::running::Running::default(),
            snapshot: ArcSwap::from_pointee(snapshot),
            stopping: AtomicBool::new(false),
            admin_drain: AtomicBool::new(false),
            stats,
            config_path,
            started: std::time::SystemTime::now(),
            reload_lock: tokio::sync::Mutex::new(()),
            shutdown,
            access_log: arc_swap::ArcSwapOption::empty(),
            connection_closed: tokio::sync::Notify::new(),
            last_push: std::sync::Mutex::new(None),
            listeners: crate::listeners::ListenerSet::default(),
            clients: std::sync::Mutex::new(clients),
            handed_over: AtomicBool::new(false),
            handover_done: tokio::sync::Notify::new(),
        })
    }

    /// Health service decision: `Ok` to answer 200, `Err(reason)` for 503.
    pub fn health(&self) -> Result<(), String> {
        if self.stopping.load(Ordering::Relaxed) {
            return Err("stopping".into());
        }
        if self.admin_drain.load(Ordering::Relaxed) {
            return Err("draining".into());
        }
        let snap = self.snapshot.load();
        let now = Instant::now();
        for &i in &snap.must_be_up {
            let c = &snap.clusters[i];
            if !c.has_healthy_member(now) {
                return Err(format!("cluster {} has no healthy member", c.name));
            }
        }
        Ok(())
    }

    /// Whether the proxy is draining for any reason.
    pub fn draining(&self) -> bool {
        self.stopping.load(Ordering::Relaxed) || self.admin_drain.load(Ordering::Relaxed)
    }
}

/// Signals shutdown to every task, those that subscribe later included. `send` would store
/// nothing while no task holds a receiver (a SIGTERM right after READY can come before the
/// admin and listener tasks first ran and subscribed), and such a task then waited for a
/// shutdown already past: the process never exited.
pub fn signal_shutdown(tx: &tokio::sync::watch::Sender<bool>) {
    tx.send_replace(true);
}

/// Resolves once shutdown has been signalled (at once if it already was).
pub async fn until_shutdown(rx: &mut tokio::sync::watch::Receiver<bool>) {
    // The borrow guard is dropped right here, so callers stay `Send`.
    let _ = rx.wait_for(|s| *s).await.map(|_| ());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_subscribing_after_shutdown_was_signalled_still_sees_it() {
        let (tx, rx) = tokio::sync::watch::channel(false);
        drop(rx);
        signal_shutdown(&tx);
        let mut late = tx.subscribe();
        tokio::time::timeout(std::time::Duration::from_secs(5), until_shutdown(&mut late))
            .await
            .expect("a shutdown signalled before the subscription is seen");
    }
}
