//! `--notify-socket`: each state change pushed to vrrpd's control socket as
//! `track NAME up|down`, with the control-socket library's client (one command per
//! connection, one answer). Bounded: one second and 4 KiB per push.

use std::path::Path;
use std::time::Duration;

/// Longest answer read from the daemon.
const MAX_ANSWER: usize = 4096;
/// Longest a push may take.
const PUSH_DEADLINE: Duration = Duration::from_secs(1);

/// Where to push and which tracker to name.
#[derive(Debug, Clone)]
pub struct Notifier {
    client: ctl_socket::Client,
    name: String,
}

impl Notifier {
    /// A notifier for tracker `name` on the control socket at `socket`.
    pub fn new(socket: &Path, name: &str) -> Self {
        Self {
            client: ctl_socket::Client::new(socket)
                .with_timeout(PUSH_DEADLINE)
                .with_max_answer(MAX_ANSWER)
                .for_daemon("vrrpd", "--notify-socket"),
            name: name.to_string(),
        }
    }

    /// The command for a state.
    pub fn command(&self, up: bool) -> String {
        format!("track {} {}", self.name, if up { "up" } else { "down" })
    }

    /// Sends the state; `Ok` with the daemon's answer, `Err` with why not.
    pub async fn push(&self, up: bool) -> Result<String, String> {
        let answer = self
            .client
            .request(&self.command(up))
            .await
            .map_err(|e| e.to_string())?;
        let answer = answer.trim().to_string();
        if ctl_socket::is_error(&answer) {
            return Err(format!("refused: {answer:?}"));
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_grammar() {
        let n = Notifier::new(Path::new("/run/vrrpd/vrrpd.sock"), "chk_elb");
        assert_eq!(n.command(true), "track chk_elb up");
        assert_eq!(n.command(false), "track chk_elb down");
    }
}
