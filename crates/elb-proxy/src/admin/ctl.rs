//! `elb-proxy ctl WORDS...`: the admin socket's client. The socket comes from `--socket` or
//! from the `admin.socket` key of the config alone: a config that no longer loads (a typo
//! elsewhere, a half-finished edit) is exactly when an operator needs the socket, so nothing
//! else in the file is parsed or validated here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Deadline for one `elb-proxy ctl` exchange (a reload included).
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Longest answer taken (a `show stat` of thousands of members fits easily).
pub const MAX_ANSWER: usize = 16 << 20;

/// Why `elb-proxy ctl` got no answer; each is printed once, on one line.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// The config file, needed for the socket path, cannot be read.
    #[error("cannot read {path} for admin.socket: {source}; pass --socket PATH")]
    ReadConfig {
        /// The config file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The config names no admin socket.
    #[error("{path} has no admin.socket; pass --socket PATH")]
    NoSocket {
        /// The config file.
        path: PathBuf,
    },
    /// The socket did not answer.
    #[error("{0}")]
    Socket(#[from] ctl_socket::ClientError),
    /// The client could not start its runtime.
    #[error("cannot start the client: {0}")]
    Runtime(std::io::Error),
}

/// The admin socket to use: `socket` if given, else `admin.socket` of `config`.
pub fn socket_path(config: &Path, socket: Option<PathBuf>) -> Result<PathBuf, CtlError> {
    if let Some(socket) = socket {
        return Ok(socket);
    }
    let text = std::fs::read_to_string(config).map_err(|source| CtlError::ReadConfig {
        path: config.to_owned(),
        source,
    })?;
    admin_socket_in(&text).ok_or_else(|| CtlError::NoSocket {
        path: config.to_owned(),
    })
}

/// Sends `words` as one command line and returns the answer without its trailing empty
/// lines.
pub fn request(socket: &Path, words: &[String]) -> Result<String, CtlError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CtlError::Runtime)?;
    let client = ctl_socket::Client::new(socket)
        .with_timeout(TIMEOUT)
        .with_max_answer(MAX_ANSWER)
        .for_daemon("elb-proxy", "admin.socket in the config, or --socket");
    let answer = runtime.block_on(client.request(&words.join(" ")))?;
    Ok(answer.trim_end_matches('\n').to_owned())
}

/// `admin.socket` of a config text: read by a YAML parser that ignores every other key, and,
/// when the file is not valid YAML at all, by a scan of its `admin:` section.
pub fn admin_socket_in(text: &str) -> Option<PathBuf> {
    #[derive(Deserialize)]
    struct File {
        admin: Option<Admin>,
    }
    #[derive(Deserialize)]
    struct Admin {
        socket: PathBuf,
    }
    match serde_yaml::from_str::<File>(text) {
        Ok(file) => file.admin.map(|a| a.socket),
        Err(_) => scan_admin_socket(text).map(PathBuf::from),
    }
}

/// The `socket` value under a top-level `admin:` key, in block or flow style, from text that
/// a YAML parser refused.
fn scan_admin_socket(text: &str) -> Option<String> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("admin:") else {
            continue;
        };
        let rest = strip_comment(rest).trim();
        if let Some(flow) = rest.strip_prefix('{') {
            return flow.trim_end_matches('}').split(',').find_map(|pair| {
                let (key, value) = pair.split_once(':')?;
                (key.trim() == "socket").then(|| scalar(value)).flatten()
            });
        }
        if !rest.is_empty() {
            return None;
        }
        for line in lines.by_ref() {
            let body = line.trim_start();
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            if body.len() == line.len() {
                return None; // the next top-level key: no socket in this section
            }
            if let Some(value) = body.strip_prefix("socket:") {
                return scalar(value);
            }
        }
        return None;
    }
    None
}

/// A plain or quoted scalar, without a trailing comment.
fn scalar(value: &str) -> Option<String> {
    let value = value.trim();
    let unquoted = ['"', '\''].iter().find_map(|&q| {
        let inner = value.strip_prefix(q)?;
        Some(&inner[..inner.find(q)?])
    });
    let value = match unquoted {
        Some(inner) => inner,
        None => strip_comment(value).trim(),
    };
    (!value.is_empty()).then(|| value.to_owned())
}

fn strip_comment(text: &str) -> &str {
    match text.find(" #") {
        Some(at) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(text: &str) -> Option<String> {
        admin_socket_in(text).map(|p| p.display().to_string())
    }

    #[test]
    fn a_valid_config_gives_its_admin_socket_whatever_else_it_holds() {
        let text = "listeners:\n  - address: 127.0.0.1:80\nadmin:\n  socket: /run/elb/admin.sock\n  mode: \"0660\"\nunknown_key: 1\n";
        assert_eq!(socket(text).as_deref(), Some("/run/elb/admin.sock"));
        let text = "admin: { socket: \"/run/a b.sock\", mode: \"0600\" }\n";
        assert_eq!(socket(text).as_deref(), Some("/run/a b.sock"));
        assert_eq!(socket("listeners: []\n"), None);
    }

    #[test]
    fn a_config_with_a_yaml_syntax_error_elsewhere_still_gives_the_socket() {
        let broken = "listeners: [ { address: 127.0.0.1:80\nclusters:\n\t- bad\n";
        assert!(serde_yaml::from_str::<serde_yaml::Value>(broken).is_err());
        let flow = format!("{broken}admin: {{ socket: \"/run/elb.sock\" }} # ops\n");
        assert_eq!(socket(&flow).as_deref(), Some("/run/elb.sock"));
        let flow = format!("admin: {{ mode: '0600', socket: /run/plain.sock }}\n{broken}");
        assert_eq!(socket(&flow).as_deref(), Some("/run/plain.sock"));
        let block = format!(
            "admin:\n  # where ctl connects\n  mode: \"0600\"\n  socket: '/run/q.sock' # quoted\n{broken}"
        );
        assert_eq!(socket(&block).as_deref(), Some("/run/q.sock"));
    }

    #[test]
    fn a_broken_config_without_an_admin_socket_gives_none() {
        let broken = "listeners: [ {\n";
        assert_eq!(socket(broken), None);
        assert_eq!(
            socket(&format!(
                "admin:\n  mode: x\nlisteners:\n  socket: /no\n{broken}"
            )),
            None
        );
        assert_eq!(socket(&format!("admin:\n  socket:\n{broken}")), None);
        assert_eq!(
            socket(&format!("# admin: {{ socket: /no }}\n{broken}")),
            None
        );
    }
}
