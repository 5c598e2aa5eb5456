//! The server: accepts clients on the bound socket and answers their lines through a
//! [`Handler`]. Every connection is bounded (line length, read, write and handler timeouts)
//! and so is their number, so a flood of clients, slow clients or garbage can neither stall
//! the daemon nor grow its memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::OwnedReadHalf;
use tokio::sync::Semaphore;

use crate::bind::SocketFile;
use crate::line::{self, Answer, LineError, SessionControl};

/// What the daemon does with one command line. Called concurrently from several
/// connections; each call is bounded by [`Limits::handler_timeout`].
pub trait Handler: Send + Sync + 'static {
    /// The answer to `line` (newline and `\r` already removed; may be empty).
    fn answer(&self, line: &str) -> impl Future<Output = Answer> + Send;
}

/// How many commands one connection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// One command, one answer, then the server closes (vrrpd's control socket).
    OneCommand,
    /// Commands until the client closes or goes idle; each answer is followed by an empty
    /// line.
    Lines,
    /// HAProxy's stats-socket session (elb-proxy's admin socket, so HAProxy's tools read it):
    /// one command, its answer and an empty line, then the server closes; after `prompt`
    /// ([`crate::SessionControl`]) the session stays open and each answer ends with `> `.
    Stats,
}

/// Bounds on each connection and on their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line accepted, in bytes (without the newline).
    pub max_line: usize,
    /// Time a client has to send a whole line (also the idle timeout between lines).
    pub read_timeout: Duration,
    /// Time a client has to take an answer.
    pub write_timeout: Duration,
    /// Time the daemon has to answer one command.
    pub handler_timeout: Duration,
    /// Connections served at once; more are told `error: busy` and closed.
    pub max_clients: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 1024,
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            handler_timeout: Duration::from_secs(30),
            max_clients: 16,
        }
    }
}

/// The server's own counters, for the daemons' stats commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections accepted, refused ones included.
    pub connections: u64,
    /// Connections refused because every slot was taken.
    pub rejected_busy: u64,
    /// Lines that were too long, not UTF-8, or that the handler did not understand.
    pub bad_requests: u64,
    /// Clients too slow to send or take, and commands the daemon did not answer in time.
    pub timeouts: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    rejected_busy: AtomicU64,
    bad_requests: AtomicU64,
    timeouts: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A handle on a server's counters that stays valid while it serves.
#[derive(Debug, Clone, Default)]
pub struct StatsHandle(Arc<Counters>);

impl StatsHandle {
    /// The counters now.
    pub fn snapshot(&self) -> ServerStats {
        let c = &self.0;
        ServerStats {
            connections: c.connections.load(Ordering::Relaxed),
            rejected_busy: c.rejected_busy.load(Ordering::Relaxed),
            bad_requests: c.bad_requests.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
        }
    }
}

/// A bound socket, ready to serve; the socket file is removed when it is dropped.
#[derive(Debug)]
pub struct Server {
    listener: std::os::unix::net::UnixListener,
    file: SocketFile,
    limits: Limits,
    session: Session,
    name: &'static str,
    counters: StatsHandle,
}

/// Everything one connection needs, shared by all of them.
struct Shared<H> {
    handler: Arc<H>,
    limits: Limits,
    session: Session,
    counters: StatsHandle,
}

impl Server {
    pub(crate) fn new(listener: std::os::unix::net::UnixListener, file: SocketFile) -> Self {
        Server {
            listener,
            file,
            limits: Limits::default(),
            session: Session::OneCommand,
            name: "control",
            counters: StatsHandle::default(),
        }
    }

    /// Sets the bounds.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets how many commands a connection carries.
    pub fn with_session(mut self, session: Session) -> Self {
        self.session = session;
        self
    }

    /// Names the socket in the busy answer and in logs (`control`, `admin`).
    pub fn with_name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The socket path.
    pub fn path(&self) -> &std::path::Path {
        &self.file.path
    }

    /// A handle on the counters, e.g. for the handler's stats command.
    pub fn stats(&self) -> StatsHandle {
        self.counters.clone()
    }

    /// Serves until the future is dropped (or its task aborted).
    pub async fn serve<H: Handler>(self, handler: Arc<H>) {
        self.serve_until(handler, std::future::pending()).await
    }

    /// Serves until `shutdown` completes; connections already open finish on their own
    /// bounds. Must run inside a tokio runtime.
    pub async fn serve_until<H: Handler>(
        self,
        handler: Arc<H>,
        shutdown: impl Future<Output = ()>,
    ) {
        let Server {
            listener,
            file: _file,
            limits,
            session,
            name,
            counters,
        } = self;
        let listener = tokio::net::UnixListener::from_std(listener)
            .expect("serving a control socket needs a tokio runtime with I/O enabled");
        let shared = Arc::new(Shared {
            handler,
            limits,
            session,
            counters,
        });
        let slots = Arc::new(Semaphore::new(limits.max_clients.max(1)));
        let busy = busy_answer(name, session);
        let mut accept_errors: u64 = 0;
        tokio::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // EMFILE and friends: log now and then, back off a little, keep serving.
                        accept_errors += 1;
                        if accept_errors.is_power_of_two() {
                            tracing::warn!(socket = name, error = %e, count = accept_errors, "accept failed");
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                },
                () = &mut shutdown => return,
            };
            Counters::bump(&shared.counters.0.connections);
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                Counters::bump(&shared.counters.0.rejected_busy);
                refuse(stream, &busy);
                continue;
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                serve_connection(stream, &shared).await;
                drop(permit);
            });
        }
    }
}

fn busy_answer(name: &str, session: Session) -> String {
    let mut text = format!("error: busy, too many {name} clients\n");
    if session != Session::OneCommand {
        text.push('\n');
    }
    text
}

/// Never waits on a client there is no room for: one non-blocking write, then close. The
/// stream leaves the reactor first (as dropping it would): under a flood the reactor has not
/// yet seen a fresh stream writable, and tokio's `try_write` would give up without trying.
/// A line the client sent stays unread, so its read may end in a reset after the answer;
/// [`crate::Client`] keeps the answer.
fn refuse(stream: UnixStream, answer: &str) {
    use std::io::Write;
    if let Ok(stream) = stream.into_std() {
        // Still non-blocking: the write cannot wait.
        let _ = (&stream).write(answer.as_bytes());
    }
}

/// What reading one line gave.
enum Read {
    Line(Vec<u8>),
    Closed,
    TimedOut { partial: bool },
}

async fn read_line(reader: &mut BufReader<OwnedReadHalf>, limits: Limits, idle: Duration) -> Read {
    let mut buf = Vec::new();
    let mut take = (&mut *reader).take(limits.max_line as u64 + 1);
    match tokio::time::timeout(idle, take.read_until(b'\n', &mut buf)).await {
        Err(_) => Read::TimedOut {
            partial: !buf.is_empty(),
        },
        Ok(Err(_)) => Read::Closed,
        Ok(Ok(0)) => Read::Closed,
        Ok(Ok(_)) => Read::Line(buf),
    }
}

async fn serve_connection<H: Handler>(stream: UnixStream, shared: &Shared<H>) {
    let limits = shared.limits;
    let counters = &shared.counters.0;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::with_capacity(1024, read);
    let mut answered = 0u64;
    let mut interactive = false;
    let mut idle = limits.read_timeout;
    loop {
        let raw = match read_line(&mut reader, limits, idle).await {
            Read::Line(raw) => raw,
            Read::Closed => return,
            Read::TimedOut { partial } => {
                Counters::bump(&counters.timeouts);
                if partial || answered == 0 {
                    let answer = Answer::error(format_args!(
                        "no complete command within {}s",
                        idle.as_secs_f64()
                    ));
                    let _ = send(&mut write, &answer, shared, interactive).await;
                }
                return;
            }
        };
        let complete = raw.last() == Some(&b'\n');
        let decoded = line::decode(&raw, limits.max_line);
        let too_long = matches!(decoded, Err(LineError::TooLong { .. }));
        let answer = match decoded {
            Ok(text) => {
                let answered_in_time =
                    tokio::time::timeout(limits.handler_timeout, shared.handler.answer(text)).await;
                answered_in_time.unwrap_or_else(|_| {
                    Counters::bump(&counters.timeouts);
                    Answer::error("the daemon did not answer in time")
                })
            }
            Err(e) => Answer::bad_request(e),
        };
        if answer.is_bad_request() {
            Counters::bump(&counters.bad_requests);
        }
        if shared.session == Session::Stats {
            match answer.control() {
                Some(SessionControl::Quit) => return,
                Some(SessionControl::TogglePrompt) => interactive = !interactive,
                Some(SessionControl::IdleTimeout(t)) => idle = t,
                None => {}
            }
        }
        if !send(&mut write, &answer, shared, interactive).await {
            return;
        }
        answered += 1;
        if too_long {
            let _ = write.shutdown().await;
            discard(&mut reader).await;
            return;
        }
        let one_command = match shared.session {
            Session::OneCommand => true,
            Session::Lines => false,
            Session::Stats => !interactive,
        };
        if !complete || one_command {
            if shared.session == Session::Stats {
                let _ = write.shutdown().await;
            }
            return;
        }
    }
}

/// The bytes that end an answer in a session.
fn terminator(session: Session, answer: &Answer, interactive: bool) -> &'static [u8] {
    match session {
        Session::Lines => b"\n",
        Session::OneCommand => b"",
        // The empty line after a text; a session command answers the empty line alone.
        Session::Stats => match (answer.as_str().is_empty(), interactive) {
            (false, false) => b"\n",
            (false, true) => b"\n> ",
            (true, false) => b"\n",
            (true, true) => b"> ",
        },
    }
}

/// Writes one answer (with the session's terminator) within the write timeout.
async fn send<H>(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    answer: &Answer,
    shared: &Shared<H>,
    interactive: bool,
) -> bool {
    let terminator = terminator(shared.session, answer, interactive);
    let once = async {
        write.write_all(answer.as_str().as_bytes()).await?;
        write.write_all(terminator).await?;
        if shared.session == Session::OneCommand {
            write.shutdown().await?;
        }
        write.flush().await
    };
    match tokio::time::timeout(shared.limits.write_timeout, once).await {
        Ok(Ok(())) => true,
        Ok(Err(_)) => false,
        Err(_) => {
            Counters::bump(&shared.counters.0.timeouts);
            false
        }
    }
}

/// After refusing an over-long line: tells the client the answer is complete, then takes (a
/// bounded amount of) what it still sends, so closing does not reset the connection before it
/// has read the answer.
async fn discard(reader: &mut BufReader<OwnedReadHalf>) {
    let mut sink = [0u8; 8192];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut left: usize = 1 << 20;
        while left > 0 {
            match reader.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}
