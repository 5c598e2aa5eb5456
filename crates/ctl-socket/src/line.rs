//! Framing rules shared by the server and the client, free of I/O so they are unit-tested.

/// One answer to one command line, as the server writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    text: String,
    bad_request: bool,
    control: Option<SessionControl>,
}

/// A command about the session itself, as HAProxy's stats socket has them; only a
/// [`crate::Session::Stats`] session acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionControl {
    /// `prompt`: toggles interactive mode (the session stays open, answers end with `> `).
    TogglePrompt,
    /// `set timeout cli N`: the session's idle timeout.
    IdleTimeout(std::time::Duration),
    /// `quit`: the server closes without an answer.
    Quit,
}

impl Answer {
    /// An answer as the daemon rendered it (an `error:` text counts as an error answer for
    /// the client, but not as a bad request in the server's counters).
    pub fn text(text: impl Into<String>) -> Self {
        Answer {
            text: with_newline(text.into()),
            bad_request: false,
            control: None,
        }
    }

    /// No text: the session changes as `control` says.
    pub fn session(control: SessionControl) -> Self {
        Answer {
            text: String::new(),
            bad_request: false,
            control: Some(control),
        }
    }

    /// The session command this answer carries, if any.
    pub fn control(&self) -> Option<SessionControl> {
        self.control
    }

    /// `error: MSG`: the command was understood but failed.
    pub fn error(msg: impl std::fmt::Display) -> Self {
        Answer::text(format!("error: {msg}"))
    }

    /// `error: MSG` for a line the daemon could not understand; counted as a bad request.
    pub fn bad_request(msg: impl std::fmt::Display) -> Self {
        Answer {
            bad_request: true,
            ..Answer::error(msg)
        }
    }

    /// The text sent: ending with a newline, or empty for a session command.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the line was not understood.
    pub fn is_bad_request(&self) -> bool {
        self.bad_request
    }
}

fn with_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Whether an answer reports a failure (the `error:` convention of both daemons).
pub fn is_error(answer: &str) -> bool {
    answer.trim_start().starts_with("error:")
}

/// Why a received line is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// More than the limit arrived without a newline.
    #[error("line too long (limit {limit} bytes)")]
    TooLong {
        /// The limit in bytes, without the newline.
        limit: usize,
    },
    /// The bytes are not UTF-8.
    #[error("command is not UTF-8")]
    NotUtf8,
}

/// Turns the bytes read for one line (at most `limit + 1`, with or without its newline) into
/// the command text: the newline and a `\r` before it (socat, telnet) removed.
pub fn decode(raw: &[u8], limit: usize) -> Result<&str, LineError> {
    let body = match raw.strip_suffix(b"\n") {
        Some(body) => body,
        None if raw.len() > limit => return Err(LineError::TooLong { limit }),
        None => raw,
    };
    if body.len() > limit {
        return Err(LineError::TooLong { limit });
    }
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    std::str::from_utf8(body).map_err(|_| LineError::NotUtf8)
}

/// The line a client sends for `command`: one line, newline-terminated. Embedded newlines
/// would be read as several commands, so they are refused.
pub fn encode(command: &str) -> Option<String> {
    let command = command.trim_end_matches(['\n', '\r']);
    if command.contains(['\n', '\r']) {
        return None;
    }
    Some(format!("{command}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_strips_the_newline_and_a_carriage_return() {
        assert_eq!(decode(b"show stat\n", 64), Ok("show stat"));
        assert_eq!(decode(b"show stat\r\n", 64), Ok("show stat"));
        assert_eq!(decode(b"reload", 64), Ok("reload"));
        assert_eq!(decode(b"\n", 64), Ok(""));
    }

    #[test]
    fn decode_refuses_lines_over_the_limit_and_non_utf8() {
        assert_eq!(decode(b"abcde", 4), Err(LineError::TooLong { limit: 4 }));
        assert_eq!(decode(b"abcde\n", 4), Err(LineError::TooLong { limit: 4 }));
        assert_eq!(decode(b"abcd\n", 4), Ok("abcd"));
        assert_eq!(decode(b"\xff\xfe\n", 4), Err(LineError::NotUtf8));
    }

    #[test]
    fn answers_end_with_one_newline_and_errors_carry_the_prefix() {
        assert_eq!(Answer::text("ok").as_str(), "ok\n");
        assert_eq!(Answer::text("ok\n").as_str(), "ok\n");
        let e = Answer::error("no cluster 'x'");
        assert_eq!(e.as_str(), "error: no cluster 'x'\n");
        assert!(!e.is_bad_request());
        assert!(Answer::bad_request("unknown command").is_bad_request());
        assert!(is_error(e.as_str()));
        assert!(!is_error("ok\nerror: later lines do not count\n"));
    }

    #[test]
    fn encode_makes_exactly_one_line() {
        assert_eq!(encode("show info").as_deref(), Some("show info\n"));
        assert_eq!(encode("show info\r\n").as_deref(), Some("show info\n"));
        assert_eq!(encode("reload\nset proxy state drain"), None);
    }
}
