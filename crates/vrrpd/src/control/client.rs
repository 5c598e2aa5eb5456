//! The client side, for `vrrpd ctl <command...>`: validate the command locally, send one
//! line through the shared `ctl-socket` client, print the whole answer. The binary exits
//! non-zero on `error:` answers.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use ctl_socket::is_error as is_error_answer;
use thiserror::Error;

use super::command::{ParseError, parse_command};

/// Longest answer read (a `show config json` of a large config fits easily).
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// Why `vrrpd ctl` could not get an answer.
#[derive(Debug, Error)]
pub enum CtlError {
    /// The command words do not parse.
    #[error("{0}")]
    Usage(#[from] ParseError),
    /// The socket could not be reached or answered badly.
    #[error("{0}")]
    Socket(#[from] ctl_socket::ClientError),
    /// The answer could not be written out.
    #[error("writing the answer of {path}: {source}")]
    Output {
        /// Where the answer was going.
        path: PathBuf,
        /// The write error.
        #[source]
        source: std::io::Error,
    },
}

/// Sends `line` and returns the daemon's whole answer.
pub async fn request(path: &Path, line: &str, timeout: Duration) -> Result<String, CtlError> {
    let client = ctl_socket::Client::new(path)
        .with_timeout(timeout)
        .with_max_answer(MAX_ANSWER)
        .for_daemon("vrrpd", "--control-socket");
    Ok(client.request(line).await?)
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
    let io = |source| CtlError::Output {
        path: path.to_owned(),
        source,
    };
    out.write_all(answer.as_bytes()).map_err(io)?;
    out.flush().map_err(io)?;
    Ok(!is_error_answer(&answer))
}
