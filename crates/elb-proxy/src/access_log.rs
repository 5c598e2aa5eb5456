//! Access log: one line per answer the proxy sends, proxied or local (400/404/413/414/431,
//! 502/503/504). Lines are formatted and written by a dedicated thread fed through a
//! bounded queue: a slow disk never stalls a request, and a line that finds the queue full
//! is dropped and counted (`elb_proxy_access_log_dropped_total`). SIGUSR1 and the admin
//! command `reopen logs` reopen the file, for logrotate.

mod buf;
pub mod format;
mod json;
pub mod line;
mod recycle;
mod scan;

use buf::LineBuf;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

pub use format::{Format, FormatError, LineWriter};
pub use line::{Head, Id, Line, Record, Text, WallClock};
pub use recycle::boxed;

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

/// One answer's record with owned texts, for answers made without a parsed request (a
/// request's own record is the cheaper [`Record`]).
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

/// The queue's vector is swapped with the writer's, so its room is reused; records travel
/// boxed, so a line moves a pointer, not a few hundred bytes, through the queue.
enum Msg {
    Line(Box<Entry>),
    /// Boxed from the start ([`boxed`]), and the box goes back to the workers once written.
    Trace(Box<Record>),
    Reopen(std::sync::mpsc::Sender<Result<(), String>>),
}

/// Lines waiting for the writer, bounded. The writer is woken when a batch is full (or by
/// its flush interval), not per line: a wake-up per request would cost more than the line.
struct Queue {
    state: Mutex<QueueState>,
    wake: Condvar,
    cap: usize,
}

#[derive(Default)]
struct QueueState {
    msgs: Vec<Msg>,
    /// Written records for the workers to reuse ([`recycle`]).
    returned: recycle::Stock,
    /// A control message waits: the writer takes the queue at once.
    urgent: bool,
    closed: bool,
}

/// Lines that make the writer start at once.
const BATCH: usize = 256;
/// Longest a line waits for the writer when traffic is light.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running access log: a queue into the writer thread.
pub struct AccessLog {
    queue: Arc<Queue>,
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.wake.notify_one();
    }
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessLog")
    }
}

/// Where the writer writes.
enum Sink {
    Stderr,
    /// Written a whole formatted batch at a time, so no buffer of its own (a second copy).
    File(PathBuf, std::fs::File),
}

fn open_file(path: &Path) -> std::io::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    Ok(f)
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
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState::default()),
            wake: Condvar::new(),
            cap: cfg.buffer.max(1),
        });
        let q = queue.clone();
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer(&q, sink, format))
            .map_err(|e| format!("access log thread: {e}"))?;
        Ok(Self { queue })
    }

    /// Queues one line; when the queue is full the line is dropped and counted.
    pub fn write(&self, e: Entry) {
        self.push(Msg::Line(Box::new(e)));
    }

    /// Queues a request's line, as [`AccessLog::write`].
    pub fn write_record(&self, r: Box<Record>) {
        self.push(Msg::Trace(r));
    }

    fn push(&self, msg: Msg) {
        let mut st = self.queue.lock();
        if st.msgs.len() >= self.queue.cap {
            drop(st);
            LOG_STATS.dropped.fetch_add(1, Relaxed);
            return;
        }
        st.msgs.push(msg);
        if !st.returned.is_empty() {
            recycle::restock(&mut st.returned);
        }
        let full = st.msgs.len() == BATCH;
        drop(st);
        LOG_STATS.queued.fetch_add(1, Relaxed);
        if full {
            self.queue.wake.notify_one();
        }
    }

    /// Reopens the file after the lines queued before it are written (blocking: run it off
    /// the runtime's threads). Bounded by `within`.
    pub fn reopen(&self, within: Duration) -> Result<(), String> {
        let (tx, rx) = std::sync::mpsc::channel();
        // Control messages are never dropped: they may exceed the line bound by one.
        let mut st = self.queue.lock();
        st.msgs.push(Msg::Reopen(tx));
        st.urgent = true;
        drop(st);
        self.queue.wake.notify_one();
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

/// Waits until a full batch, a control message or the log's end, or until the flush
/// interval has passed; then takes the whole queue. Returns whether the log has ended.
/// `written` (the last batch's records) goes back to the workers under the same lock.
fn take_batch(queue: &Queue, batch: &mut Vec<Msg>, written: &mut recycle::Stock) -> bool {
    let mut st = queue.lock();
    recycle::give_back(written, &mut st.returned);
    let deadline = Instant::now() + FLUSH_INTERVAL;
    while st.msgs.len() < BATCH && !st.urgent && !st.closed {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        st = queue
            .wake
            .wait_timeout(st, left)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0);
    }
    st.urgent = false;
    std::mem::swap(&mut st.msgs, batch);
    st.closed
}

/// The writer thread: takes the queued lines in batches, formats a batch into one reused
/// buffer and writes it at once, flushes; ends (after writing what is queued) when the log
/// is replaced (reload) or dropped.
fn writer(queue: &Queue, mut sink: Sink, format: Format) {
    let mut lines = LineWriter::new(format);
    let mut buf = LineBuf::with_room(BATCH * 512);
    let mut batch = Vec::with_capacity(BATCH);
    let mut written = Vec::with_capacity(BATCH);
    loop {
        let closed = take_batch(queue, &mut batch, &mut written);
        if batch.is_empty() && !closed {
            continue;
        }
        let clock = WallClock::now();
        for msg in batch.drain(..) {
            match msg {
                Msg::Line(e) => lines.write_to(&e.line(), &mut buf),
                Msg::Trace(r) => {
                    lines.write_to(&r.line(&clock), &mut buf);
                    written.push(r);
                }
                Msg::Reopen(reply) => {
                    write_out(&mut sink, &mut buf);
                    let r = sink.reopen();
                    let _ = reply.send(r);
                }
            }
        }
        write_out(&mut sink, &mut buf);
        if sink.flush().is_err() {
            LOG_STATS.write_errors.fetch_add(1, Relaxed);
        }
        if closed && queue.lock().msgs.is_empty() {
            return;
        }
    }
}

/// Writes and empties the formatted lines; a failed write counts each of its lines.
fn write_out(sink: &mut Sink, buf: &mut LineBuf) {
    let lines = buf.as_bytes();
    if !lines.is_empty() && sink.write(lines).is_err() {
        let lines = lines.iter().filter(|b| **b == b'\n').count() as u64;
        LOG_STATS.write_errors.fetch_add(lines, Relaxed);
    }
    buf.clear();
}
