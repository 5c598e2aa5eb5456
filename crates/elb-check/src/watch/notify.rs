//! `--notify-socket`: each state change pushed to vrrpd's control socket as
//! `track NAME up|down` (one command per connection, one answer line, as
//! vrrpd's control protocol has it). Bounded: one second and 4 KiB per push.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixStream;

/// Longest answer read from the daemon.
const MAX_ANSWER: u64 = 4096;
/// Longest a push may take.
const PUSH_DEADLINE: Duration = Duration::from_secs(1);

/// Where to push and which tracker to name.
#[derive(Debug, Clone)]
pub struct Notifier {
    socket: PathBuf,
    name: String,
}

impl Notifier {
    /// A notifier for tracker `name` on the control socket at `socket`.
    pub fn new(socket: &Path, name: &str) -> Self {
        Self {
            socket: socket.to_path_buf(),
            name: name.to_string(),
        }
    }

    /// The command line for a state.
    pub fn command(&self, up: bool) -> String {
        format!("track {} {}\n", self.name, if up { "up" } else { "down" })
    }

    /// Sends the state; `Ok` with the daemon's answer, `Err` with why not.
    pub async fn push(&self, up: bool) -> Result<String, String> {
        let exchange = async {
            let mut stream = UnixStream::connect(&self.socket)
                .await
                .map_err(|e| format!("{}: {e}", self.socket.display()))?;
            stream
                .write_all(self.command(up).as_bytes())
                .await
                .map_err(|e| format!("send: {e}"))?;
            let mut answer = String::new();
            (&mut stream)
                .take(MAX_ANSWER)
                .read_to_string(&mut answer)
                .await
                .map_err(|e| format!("read: {e}"))?;
            let answer = answer.trim().to_string();
            if answer.starts_with("error") || answer.is_empty() {
                return Err(format!("refused: {answer:?}"));
            }
            Ok(answer)
        };
        tokio::time::timeout(PUSH_DEADLINE, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("no answer in {PUSH_DEADLINE:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_grammar() {
        let n = Notifier::new(Path::new("/run/vrrpd/vrrpd.sock"), "chk_elb");
        assert_eq!(n.command(true), "track chk_elb up\n");
        assert_eq!(n.command(false), "track chk_elb down\n");
    }
}
