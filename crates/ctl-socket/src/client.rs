//! The client: one command line out, the whole answer back, within a deadline and a size cap,
//! so a `ctl` subcommand or a push from another daemon never hangs and never buffers without
//! bound.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::line;

/// Why no answer came back.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The command would be read as several lines.
    #[error("a command is one line; this one has a line break")]
    NotOneLine,
    /// Nothing accepted the connection.
    #[error("cannot connect to {path}: {source}{hint}")]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// What to check, e.g. whether the daemon runs.
        hint: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The exchange broke off.
    #[error("{path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The whole exchange took longer than the deadline.
    #[error("{path}: no answer within {secs}s")]
    Timeout {
        /// The socket path.
        path: PathBuf,
        /// The deadline in seconds.
        secs: f64,
    },
    /// The answer is longer than the client takes.
    #[error("{path}: answer longer than {limit} bytes; refused")]
    TooLarge {
        /// The socket path.
        path: PathBuf,
        /// The cap in bytes.
        limit: usize,
    },
    /// The daemon closed the connection without a word.
    #[error("{path}: the daemon closed the connection without answering")]
    NoAnswer {
        /// The socket path.
        path: PathBuf,
    },
}

/// A client for one socket.
#[derive(Debug, Clone)]
pub struct Client {
    path: PathBuf,
    timeout: Duration,
    max_answer: usize,
    daemon: Option<(&'static str, &'static str)>,
}

impl Client {
    /// A client for the socket at `path`: 30 s deadline, answers up to 16 MiB.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Client {
            path: path.into(),
            timeout: Duration::from_secs(30),
            max_answer: 16 << 20,
            daemon: None,
        }
    }

    /// Deadline for the whole exchange: connect, send, read the answer.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest answer taken, in bytes.
    pub fn with_max_answer(mut self, bytes: usize) -> Self {
        self.max_answer = bytes;
        self
    }

    /// Names the daemon and the option that sets its socket, for the hint when nothing
    /// listens (`is vrrpd running? see --control-socket`).
    pub fn for_daemon(mut self, name: &'static str, socket_option: &'static str) -> Self {
        self.daemon = Some((name, socket_option));
        self
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends `command` and returns the whole answer as the daemon wrote it (check it with
    /// [`line::is_error`]).
    pub async fn request(&self, command: &str) -> Result<String, ClientError> {
        let sent = line::encode(command).ok_or(ClientError::NotOneLine)?;
        tokio::time::timeout(self.timeout, self.exchange(&sent))
            .await
            .map_err(|_| ClientError::Timeout {
                path: self.path.clone(),
                secs: self.timeout.as_secs_f64(),
            })?
    }

    async fn exchange(&self, sent: &str) -> Result<String, ClientError> {
        let mut stream =
            UnixStream::connect(&self.path)
                .await
                .map_err(|source| ClientError::Connect {
                    path: self.path.clone(),
                    hint: self.hint(source.kind()),
                    source,
                })?;
        let io = |source| ClientError::Io {
            path: self.path.clone(),
            source,
        };
        // A daemon that refuses (busy) may answer and close before reading our line: a
        // failed write is no failure while the answer can still be read.
        let _ = async {
            stream.write_all(sent.as_bytes()).await?;
            stream.shutdown().await
        }
        .await;
        let answer = read_capped(&mut stream, self.max_answer).await;
        match answer {
            Ok(Some(bytes)) if bytes.is_empty() => Err(ClientError::NoAnswer {
                path: self.path.clone(),
            }),
            Ok(Some(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Ok(None) => Err(ClientError::TooLarge {
                path: self.path.clone(),
                limit: self.max_answer,
            }),
            Err(e) => Err(io(e)),
        }
    }

    fn hint(&self, kind: ErrorKind) -> String {
        match (kind, self.daemon) {
            (ErrorKind::PermissionDenied, _) => {
                " (permission denied: run as the daemon's user or a member of the socket's group)"
                    .to_owned()
            }
            (ErrorKind::NotFound | ErrorKind::ConnectionRefused, Some((name, option))) => {
                format!(" (is {name} running? see {option})")
            }
            (ErrorKind::NotFound | ErrorKind::ConnectionRefused, None) => {
                " (is the daemon running?)".to_owned()
            }
            _ => String::new(),
        }
    }
}

/// Reads to EOF: `Some(bytes)` within `cap`, `None` beyond it. A reset (the daemon closed
/// with our line unread) ends the answer like EOF: what arrived before it is kept.
async fn read_capped(stream: &mut UnixStream, cap: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) => return Ok(Some(answer)),
            Ok(n) => {
                if answer.len() + n > cap {
                    return Ok(None);
                }
                answer.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                return Ok(Some(answer));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
