//! The control socket server: a Unix stream socket, mode 0600, one command line per
//! connection, one answer, close. Every connection is bounded (line length, read and write
//! timeouts, handler timeout) and so is their number, so a flood of clients, slow clients or
//! garbage cannot stall the daemon or grow its memory without bound.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

use super::command::{Command, Format, HELP, parse_command};
use super::report::{
    ControlStats, StatsReport, StatusReport, render_stats_text, render_status_text,
};

/// `show config`: the daemon renders its own configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigDump {
    pub text: String,
    pub json: serde_json::Value,
}

/// What the daemon provides to the control socket. Methods are async so the daemon can ask
/// its event loop and await the answer; each call is bounded by
/// [`ControlLimits::handler_timeout`]. Error strings become `error: ...` answers.
pub trait ControlHandler: Send + Sync + 'static {
    fn status(&self) -> impl Future<Output = StatusReport> + Send;
    fn stats(&self) -> impl Future<Output = StatsReport> + Send;
    fn config(&self) -> impl Future<Output = ConfigDump> + Send;
    fn reload(&self) -> impl Future<Output = Result<String, String>> + Send;
    fn set_maintenance(&self, on: bool) -> impl Future<Output = Result<String, String>> + Send;
    fn track(&self, name: &str, up: bool) -> impl Future<Output = Result<String, String>> + Send;
}

/// Bounds on each connection and on their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlLimits {
    /// Longest command line accepted, in bytes (without the newline).
    pub max_line: usize,
    /// Time a client has to send its whole line.
    pub read_timeout: Duration,
    /// Time a client has to take the answer.
    pub write_timeout: Duration,
    /// Time the daemon has to answer one command.
    pub handler_timeout: Duration,
    /// Connections served at once; more get `error: busy` and are closed.
    pub max_clients: usize,
}

impl Default for ControlLimits {
    fn default() -> Self {
        ControlLimits {
            max_line: 1024,
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            handler_timeout: Duration::from_secs(30),
            max_clients: 16,
        }
    }
}

/// Why the socket could not be set up.
#[derive(Debug, Error)]
pub enum ControlError {
    #[error("control socket {path}: another daemon is listening there")]
    InUse { path: PathBuf },
    #[error("control socket {path}: exists and is not a socket; refusing to replace it")]
    NotASocket { path: PathBuf },
    #[error("control socket {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    rejected_busy: AtomicU64,
    bad_requests: AtomicU64,
    timeouts: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> ControlStats {
        ControlStats {
            connections: self.connections.load(Ordering::Relaxed),
            rejected_busy: self.rejected_busy.load(Ordering::Relaxed),
            bad_requests: self.bad_requests.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
        }
    }
}

/// A bound control socket; the socket file is removed when this is dropped.
#[derive(Debug)]
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    limits: ControlLimits,
    counters: Arc<Counters>,
}

/// Binds the control socket at `path` with mode 0600 (created under a temporary name,
/// chmod'ed, then renamed into place, so it is never reachable with looser permissions). A
/// stale socket left by a dead daemon is replaced; a live one or a non-socket file is an
/// error. Must be called inside a tokio runtime.
pub fn bind(path: &Path, limits: ControlLimits) -> Result<ControlSocket, ControlError> {
    let io = |source| ControlError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => {
                    return Err(ControlError::InUse {
                        path: path.to_owned(),
                    });
                }
                Err(_) => std::fs::remove_file(path).map_err(io)?,
            }
        }
        Ok(_) => {
            return Err(ControlError::NotASocket {
                path: path.to_owned(),
            });
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vrrpd.sock".to_owned());
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp).map_err(io)?;
    let placed = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(ControlSocket {
        listener,
        path: path.to_owned(),
        limits,
        counters: Arc::default(),
    })
}

/// Opens a bound control socket to one group: owner root (unchanged), group `gid`, mode 0660.
/// Used when a program running as another user (elb-proxy's drain push) must reach it.
pub fn allow_group(path: &Path, gid: nix::unistd::Gid) -> std::io::Result<()> {
    nix::unistd::chown(path, None, Some(gid)).map_err(std::io::Error::from)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
}

/// Binds `path` with default limits and serves `handler` until the future is dropped.
pub async fn serve<H: ControlHandler>(path: &Path, handler: Arc<H>) -> Result<(), ControlError> {
    bind(path, ControlLimits::default())?.serve(handler).await;
    Ok(())
}

impl ControlSocket {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts connections forever (drop the future, or abort its task, to stop).
    pub async fn serve<H: ControlHandler>(self, handler: Arc<H>) {
        let slots = Arc::new(Semaphore::new(self.limits.max_clients.max(1)));
        let mut accept_errors: u64 = 0;
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: log the first, back off a little, keep serving.
                    accept_errors += 1;
                    if accept_errors.is_power_of_two() {
                        tracing::warn!(error = %e, count = accept_errors, "control socket accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            self.counters.connections.fetch_add(1, Ordering::Relaxed);
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                self.counters.rejected_busy.fetch_add(1, Ordering::Relaxed);
                // Never wait on a client we have no room for: one non-blocking write, close.
                let _ = stream.try_write(b"error: busy, too many control clients\n");
                continue;
            };
            let handler = handler.clone();
            let counters = self.counters.clone();
            let limits = self.limits;
            tokio::spawn(async move {
                serve_connection(stream, &*handler, limits, &counters).await;
                drop(permit);
            });
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_socket()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Reads one line within the limits: `Ok(line)` or `Err(answer)` for the client.
async fn read_command_line(
    stream: &mut UnixStream,
    limits: ControlLimits,
    counters: &Counters,
) -> Result<String, Option<String>> {
    let mut reader = BufReader::new(stream).take(limits.max_line as u64 + 1);
    let mut buf = Vec::new();
    match tokio::time::timeout(limits.read_timeout, reader.read_until(b'\n', &mut buf)).await {
        Err(_) => {
            counters.timeouts.fetch_add(1, Ordering::Relaxed);
            return Err(Some(format!(
                "error: no complete command within {}s\n",
                limits.read_timeout.as_secs_f64()
            )));
        }
        Ok(Err(_)) => return Err(None),
        Ok(Ok(_)) => {}
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > limits.max_line {
        counters.bad_requests.fetch_add(1, Ordering::Relaxed);
        return Err(Some(format!(
            "error: command longer than {} bytes\n",
            limits.max_line
        )));
    }
    String::from_utf8(buf).map_err(|_| {
        counters.bad_requests.fetch_add(1, Ordering::Relaxed);
        Some("error: command is not UTF-8\n".to_owned())
    })
}

async fn serve_connection<H: ControlHandler>(
    mut stream: UnixStream,
    handler: &H,
    limits: ControlLimits,
    counters: &Counters,
) {
    let answer = match read_command_line(&mut stream, limits, counters).await {
        Ok(line) => match parse_command(&line) {
            Ok(cmd) => {
                match tokio::time::timeout(limits.handler_timeout, answer(handler, cmd, counters))
                    .await
                {
                    Ok(a) => a,
                    Err(_) => "error: the daemon did not answer in time\n".to_owned(),
                }
            }
            Err(e) => {
                counters.bad_requests.fetch_add(1, Ordering::Relaxed);
                format!("error: {e}\n")
            }
        },
        Err(Some(a)) => a,
        Err(None) => return,
    };
    let write = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    };
    if tokio::time::timeout(limits.write_timeout, write)
        .await
        .is_err()
    {
        counters.timeouts.fetch_add(1, Ordering::Relaxed);
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn json_line<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        Err(e) => format!("error: cannot render JSON: {e}\n"),
    }
}

fn result_line(result: Result<String, String>) -> String {
    let mut s = match result {
        Ok(msg) => msg,
        Err(e) => format!("error: {e}"),
    };
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

async fn answer<H: ControlHandler>(handler: &H, cmd: Command, counters: &Counters) -> String {
    match cmd {
        Command::Help => HELP.to_owned(),
        Command::ShowStatus(Format::Text) => {
            render_status_text(&handler.status().await, now_unix_ms())
        }
        Command::ShowStatus(Format::Json) => json_line(&handler.status().await),
        Command::ShowStats(format) => {
            let mut stats = handler.stats().await;
            stats.control = counters.snapshot();
            match format {
                Format::Text => render_stats_text(&stats),
                Format::Json => json_line(&stats),
            }
        }
        Command::ShowConfig(Format::Text) => result_line(Ok(handler.config().await.text)),
        Command::ShowConfig(Format::Json) => json_line(&handler.config().await.json),
        Command::Reload => result_line(handler.reload().await),
        Command::SetMaintenance(on) => result_line(handler.set_maintenance(on).await),
        Command::Track { name, up } => result_line(handler.track(&name, up).await),
    }
}
