//! The client side, for `vrrpd ctl <command...>`: validate the command locally, send one
//! line, read the whole answer. The binary prints it and exits non-zero on `error:` answers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::command::{ParseError, parse_command};

/// Longest answer read (a `show config json` of a large config fits easily).
pub const MAX_ANSWER: u64 = 16 * 1024 * 1024;

/// Why `vrrpd ctl` could not get an answer.
#[derive(Debug, Error)]
pub enum CtlError {
    #[error("{0}")]
    Usage(#[from] ParseError),
    #[error("cannot connect to control socket {path}: {source}{hint}")]
    Connect {
        path: PathBuf,
        hint: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("control socket {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("control socket {path}: no answer within {secs}s")]
    Timeout { path: PathBuf, secs: f64 },
}

/// Whether an answer reports an error.
pub fn is_error_answer(answer: &str) -> bool {
    answer.starts_with("error:")
}

/// Sends `line` and returns the daemon's whole answer.
pub async fn request(path: &Path, line: &str, timeout: Duration) -> Result<String, CtlError> {
    let exchange = async {
        let mut stream = UnixStream::connect(path).await.map_err(|source| {
            let hint = match source.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    " (the socket is mode 0600: run as the daemon's user, usually root)"
                }
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                    " (is vrrpd running? see --control-socket)"
                }
                _ => "",
            };
            CtlError::Connect {
                path: path.to_owned(),
                hint,
                source,
            }
        })?;
        let io = |source| CtlError::Io {
            path: path.to_owned(),
            source,
        };
        stream
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(io)?;
        let mut answer = String::new();
        stream
            .take(MAX_ANSWER)
            .read_to_string(&mut answer)
            .await
            .map_err(io)?;
        Ok(answer)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| CtlError::Timeout {
            path: path.to_owned(),
            secs: timeout.as_secs_f64(),
        })?
}

/// `vrrpd ctl WORDS...`: checks the command, sends its canonical form, writes the answer to
/// `out`; `Ok(true)` when the daemon answered without error.
pub async fn ctl(
    path: &Path,
    words: &[String],
    timeout: Duration,
    out: &mut (dyn std::io::Write + Send),
) -> Result<bool, CtlError> {
    let command = parse_command(&words.join(" "))?;
    let answer = request(path, &command.to_string(), timeout).await?;
    let io = |source| CtlError::Io {
        path: path.to_owned(),
        source,
    };
    out.write_all(answer.as_bytes()).map_err(io)?;
    out.flush().map_err(io)?;
    Ok(!is_error_answer(&answer))
}
