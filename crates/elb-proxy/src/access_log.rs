//! Access log: one line per answer the proxy sends, proxied or local (400/404/413/414/431,
//! 502/503/504). Lines are formatted and written by a dedicated thread fed through a
//! bounded queue: a slow disk never stalls a request, and a line that finds the queue full
//! is dropped and counted (`elb_proxy_access_log_dropped_total`). SIGUSR1 and the admin
//! command `reopen logs` reopen the file, for logrotate.

pub mod format;

use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::{Duration, SystemTime};

pub use format::{Format, FormatError};

/// Access log writer counters (process-wide: they survive reloads, which open a new log).
#[derive(Debug, Default)]
pub struct LogStats {
    /// Lines handed to the writer.
    pub queued: AtomicU64,
    /// Lines dropped because the writer's queue was full (a slow disk).
    pub dropped: AtomicU64,
    /// Lines the writer failed to write (full disk, closed pipe).
    pub write_errors: AtomicU64,
    /// Times the log file was reopened.
    pub reopens: AtomicU64,
}

/// The counters of every access log this process opened.
pub static LOG_STATS: LogStats = LogStats {
    queued: AtomicU64::new(0),
    dropped: AtomicU64::new(0),
    write_errors: AtomicU64::new(0),
    reopens: AtomicU64::new(0),
};

/// One answer's record.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// When the request head arrived.
    pub time: Option<SystemTime>,
    /// The TCP peer.
    pub client: Option<IpAddr>,
    /// The client's X-Forwarded-For header as received (kept only from trusted peers' view).
    pub forwarded_for: Option<String>,
    /// Listener name.
    pub listener: String,
    /// Request method (`-` when the head could not be parsed).
    pub method: String,
    /// Request target: path and query, as sent.
    pub target: String,
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    pub version: &'static str,
    /// Host header (or the authority of an absolute target).
    pub host: Option<String>,
    /// Status sent.
    pub status: u16,
    /// Request bytes received (head plus declared body length).
    pub bytes_in: u64,
    /// Response body bytes sent.
    pub bytes_out: u64,
    /// User-Agent header.
    pub user_agent: Option<String>,
    /// Referer header.
    pub referer: Option<String>,
    /// The client's X-Request-Id, or one made up for this line.
    pub request_id: String,
    /// Route name (empty before routing).
    pub route: String,
    /// Cluster name (empty when none was chosen).
    pub cluster: String,
    /// Member name (empty when none was chosen).
    pub member: String,
    /// Further members tried after a failure.
    pub retries: u32,
    /// From the request head to a member being chosen.
    pub queue: Option<Duration>,
    /// Time to open a fresh member connection (zero on a pooled one).
    pub connect: Option<Duration>,
    /// From the request head to the member's response head.
    pub first_byte: Option<Duration>,
    /// From the request head to the last byte of the answer.
    pub total: Duration,
    /// Who ended the exchange and in which phase, in HAProxy's two-letter form.
    pub termination: &'static str,
}

enum Msg {
    Line(Box<Entry>),
    Reopen(std::sync::mpsc::Sender<Result<(), String>>),
}

/// The running access log: a queue into the writer thread.
pub struct AccessLog {
    tx: SyncSender<Msg>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessLog")
    }
}

/// Where the writer writes.
enum Sink {
    Stderr,
    File(PathBuf, BufWriter<std::fs::File>),
}

fn open_file(path: &Path) -> std::io::Result<BufWriter<std::fs::File>> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    Ok(BufWriter::with_capacity(64 * 1024, f))
}

impl Sink {
    fn write(&mut self, line: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Stderr => std::io::stderr().write_all(line),
            Self::File(_, w) => w.write_all(line),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Stderr => Ok(()),
            Self::File(_, w) => w.flush(),
        }
    }

    fn reopen(&mut self) -> Result<(), String> {
        if let Self::File(path, w) = self {
            let _ = w.flush();
            // On failure the old file stays open, so lines keep going somewhere.
            *w = open_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        LOG_STATS.reopens.fetch_add(1, Relaxed);
        Ok(())
    }
}

impl AccessLog {
    /// Opens (appends to) the configured file, or stderr for the path `stderr`, and starts
    /// the writer thread. A bad template is refused here, so a config with one fails to load.
    pub fn open(cfg: &elb_proxy_core::config::AccessLog) -> Result<Self, String> {
        let format = Format::from_config(cfg).map_err(|e| e.to_string())?;
        let sink = if cfg.path == Path::new("stderr") {
            Sink::Stderr
        } else {
            Sink::File(
                cfg.path.clone(),
                open_file(&cfg.path).map_err(|e| e.to_string())?,
            )
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(cfg.buffer.max(1));
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer(rx, sink, format))
            .map_err(|e| format!("access log thread: {e}"))?;
        Ok(Self { tx })
    }

    /// Queues one line; when the queue is full the line is dropped and counted.
    pub fn write(&self, e: Entry) {
        match self.tx.try_send(Msg::Line(Box::new(e))) {
            Ok(()) => {
                LOG_STATS.queued.fetch_add(1, Relaxed);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                LOG_STATS.dropped.fetch_add(1, Relaxed);
            }
        }
    }

    /// Reopens the file after the lines queued before it are written (blocking: run it off
    /// the runtime's threads). Bounded by `within`.
    pub fn reopen(&self, within: Duration) -> Result<(), String> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.tx
            .send(Msg::Reopen(tx))
            .map_err(|_| "access log writer stopped".to_string())?;
        rx.recv_timeout(within)
            .map_err(|_| "access log writer did not answer in time".to_string())?
    }
}

/// Reopens the running access log (SIGUSR1, `reopen logs`), logging the outcome.
pub async fn reopen(shared: &std::sync::Arc<crate::shared::Shared>) -> Result<String, String> {
    let Some(log) = shared.access_log.load_full() else {
        return Ok("no access log configured".into());
    };
    let r = tokio::task::spawn_blocking(move || log.reopen(Duration::from_secs(5)))
        .await
        .map_err(|e| format!("access log reopen: {e}"))
        .and_then(|r| r);
    match &r {
        Ok(()) => tracing::info!("access log reopened"),
        Err(e) => {
            tracing::error!(error = %e, "access log reopen failed, writing on to the old file")
        }
    }
    r.map(|()| "access log reopened".into())
}

/// The writer thread: formats and writes lines, flushing whenever the queue runs empty;
/// ends when the log is replaced (reload) or the process ends.
fn writer(rx: Receiver<Msg>, mut sink: Sink, format: Format) {
    let mut line = String::with_capacity(512);
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line(e) => {
                    line.clear();
                    format.write(&e, &mut line);
                    if sink.write(line.as_bytes()).is_err() {
                        LOG_STATS.write_errors.fetch_add(1, Relaxed);
                    }
                }
                Msg::Reopen(reply) => {
                    let r = sink.reopen();
                    let _ = reply.send(r);
                }
            }
            next = rx.try_recv().ok();
        }
        if sink.flush().is_err() {
            LOG_STATS.write_errors.fetch_add(1, Relaxed);
        }
    }
    let _ = sink.flush();
}
