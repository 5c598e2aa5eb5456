//! Process life: config reload (validate, then swap atomically; a bad file keeps the old
//! config and says why), whole-proxy drain with the optional push to vrrpd, signal handling
//! (SIGHUP reload, SIGTERM/SIGINT drain and stop) and sd_notify.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::shared::Shared;
use crate::snapshot::Snapshot;
use elb_proxy_core::config::VrrpdPush;

/// Tells systemd (when run under it) about a state; a no-op otherwise.
pub fn notify(state: &[sd_notify::NotifyState<'_>]) {
    let _ = sd_notify::notify(false, state);
}

/// Opens the access log named by the config (or none).
pub fn open_access_log(
    cfg: &elb_proxy_core::config::Config,
) -> Result<Option<Arc<crate::access_log::AccessLog>>, String> {
    match &cfg.access_log {
        None => Ok(None),
        Some(a) => crate::access_log::AccessLog::open(a)
            .map(|l| Some(Arc::new(l)))
            .map_err(|e| format!("access log {}: {e}", a.path.display())),
    }
}

/// Reloads the config file. Returns a summary, or why the old config stays.
pub async fn reload(shared: &Arc<Shared>) -> Result<String, String> {
    let _serial = shared.reload_lock.lock().await;
    notify(&[sd_notify::NotifyState::Reloading]);
    let result = reload_inner(shared);
    notify(&[sd_notify::NotifyState::Ready]);
    match &result {
        Ok(msg) => {
            shared.stats.reloads_ok.fetch_add(1, Relaxed);
            tracing::info!("{msg}");
        }
        Err(msg) => {
            shared.stats.reloads_failed.fetch_add(1, Relaxed);
            tracing::error!("reload failed, keeping the running config: {msg}");
        }
    }
    result
}

fn reload_inner(shared: &Arc<Shared>) -> Result<String, String> {
    let declared = elb_proxy_core::config::load(&shared.config_path).map_err(|e| e.to_string())?;
    crate::member_tls::check(&declared, &shared.config_path)?;
    let config = shared.names.expand(&declared);
    let old = shared.snapshot.load_full();
    let runtime = shared.running.changes().len();
    let admin_changed =
        old.config.admin.as_ref().map(|a| &a.socket) != config.admin.as_ref().map(|a| &a.socket);
    // Certificates are loaded and new addresses bound before anything changes: a bad
    // certificate or an address in use refuses the reload and keeps the old config.
    let prepared = shared
        .listeners
        .prepare(&config)
        .map_err(|e| e.to_string())?;
    let access_log = open_access_log(&config)?;
    let new = Arc::new(Snapshot::build(config, Some(&old), &shared.stats.traffic));
    shared.access_log.store(access_log);
    let size = new.config.limits.client_table_size;
    if size != old.config.limits.client_table_size {
        // A new table: every client starts with a full bucket and no counted connection.
        *shared.clients.lock().unwrap_or_else(|p| p.into_inner()) =
            elb_proxy_core::limits::ClientTable::new(size);
        tracing::info!(size, "per-client limits table replaced (new size)");
    }
    shared.snapshot.store(new.clone());
    // The file says again what runs: member changes made on the admin socket are gone
    // (HAProxy keeps them only through a server-state file; elb-proxy has none).
    shared.running.forget();
    let changes = shared.listeners.commit(prepared, shared);
    if shared.names.declare(declared) {
        crate::dns::resolve_soon();
    }
    crate::health_check::start(shared, &new);
    let mut msg = format!(
        "config reloaded from {}: {} clusters, {} routes",
        shared.config_path.display(),
        new.clusters.len(),
        new.router.len()
    );
    for a in &changes.added {
        msg.push_str(&format!("; listening on {a}"));
    }
    for a in &changes.removed {
        msg.push_str(&format!("; closed {a}"));
    }
    if runtime > 0 {
        msg.push_str(&format!(
            "; {runtime} member change(s) made on the admin socket undone (not in the file)"
        ));
    }
    if admin_changed {
        msg.push_str("; the admin socket path changed: it takes effect at the next restart");
    }
    Ok(msg)
}

/// Operator drain of the whole proxy (`set proxy state drain|ready`).
pub fn set_admin_drain(shared: &Arc<Shared>, drain: bool) {
    let was = shared.admin_drain.swap(drain, Relaxed);
    if was != drain {
        tracing::info!(
            from = if was { "draining" } else { "serving" },
            to = if drain { "draining" } else { "serving" },
            "proxy state changed by operator"
        );
        spawn_vrrpd_push(shared, !drain);
    }
}

/// Sends `track NAME up|down` to vrrpd in the background (never blocks serving).
pub fn spawn_vrrpd_push(shared: &Arc<Shared>, up: bool) -> Option<tokio::task::JoinHandle<()>> {
    let cfg = shared.snapshot.load().config.vrrpd.clone()?;
    let (done, next) = tokio::sync::oneshot::channel();
    let previous = shared
        .last_push
        .lock()
        .expect("push chain lock")
        .replace(next);
    Some(tokio::spawn(async move {
        // In order: a push spawned later must not overtake an earlier one.
        if let Some(previous) = previous {
            let _ = previous.await;
        }
        let _done = DoneOnDrop(Some(done));
        match push_vrrpd(&cfg, up).await {
            Ok(reply) => tracing::info!(track = %cfg.track, up, %reply, "told vrrpd"),
            Err(e) => {
                tracing::warn!(track = %cfg.track, up, error = %e, socket = %cfg.control_socket.display(), "could not tell vrrpd")
            }
        }
    }))
}

/// Signals the next queued push when this one ends, however it ends.
struct DoneOnDrop(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            let _ = done.send(());
        }
    }
}

/// Longest answer taken from vrrpd for a push (it answers one short line).
const PUSH_MAX_ANSWER: usize = 4096;

/// One push: connect, send the line, read vrrpd's answer; all within the configured timeout.
/// An `error:` answer (vrrpd does not know the tracker) is a failed push.
pub async fn push_vrrpd(cfg: &VrrpdPush, up: bool) -> Result<String, String> {
    let line = format!("track {} {}", cfg.track, if up { "up" } else { "down" });
    let client = ctl_socket::Client::new(&cfg.control_socket)
        .with_timeout(cfg.timeout.0)
        .with_max_answer(PUSH_MAX_ANSWER)
        .for_daemon("vrrpd", "vrrpd.control_socket in the config");
    let answer = client.request(&line).await.map_err(|e| e.to_string())?;
    let answer = answer.trim_end().to_string();
    if ctl_socket::is_error(&answer) {
        return Err(answer);
    }
    Ok(answer)
}

/// SIGTERM: health 503 and vrrpd told at once, keep accepting for `grace`, then close the
/// listeners and let in-flight requests finish up to `deadline`.
pub async fn stop(shared: &Arc<Shared>) {
    shared.stopping.store(true, Relaxed);
    notify(&[sd_notify::NotifyState::Stopping]);
    let (grace, deadline, push_timeout) = {
        let rt = shared.snapshot.load();
        let c = &rt.config;
        (
            c.shutdown.grace.0,
            c.shutdown.deadline.0,
            c.vrrpd.as_ref().map(|v| v.timeout.0),
        )
    };
    tracing::info!(?grace, ?deadline, "stopping: health now 503");
    if let Some(push) = spawn_vrrpd_push(shared, false) {
        let _ =
            tokio::time::timeout(push_timeout.unwrap_or(Duration::from_millis(200)), push).await;
    }
    if !grace.is_zero() {
        tokio::time::sleep(grace).await;
    }
    if close_connections(shared, deadline).await {
        tracing::info!("all connections finished");
    }
}

/// Asks every connection to finish and waits until none is open or `deadline` passes
/// (then says how many are left); true when all finished.
async fn close_connections(shared: &Shared, deadline: Duration) -> bool {
    crate::shared::signal_shutdown(&shared.shutdown);
    let waited = tokio::time::timeout(deadline, async {
        loop {
            let closed = shared.connection_closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            if shared.stats.connections_active.load(Relaxed) <= 0 {
                break;
            }
            closed.await;
        }
    })
    .await;
    if waited.is_err() {
        tracing::warn!(
            left = shared.stats.connections_active.load(Relaxed),
            "shutdown deadline reached with connections still open"
        );
    }
    waited.is_ok()
}

/// After a hand-over to a new process: stop accepting (the new process accepts from the
/// same sockets), health stays 200 on the connections still open, in-flight requests finish
/// up to `shutdown.deadline`.
pub async fn stop_handed_over(shared: &Arc<Shared>) {
    let deadline = shared.snapshot.load().config.shutdown.deadline.0;
    close_connections(shared, deadline).await;
}
