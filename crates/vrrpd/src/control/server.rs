//! vrrpd's control socket on the shared `ctl-socket` server: one command line per connection,
//! one answer, close, within [`ControlLimits`]. This module only turns a parsed [`Command`]
//! into the daemon's answer; socket placement, bounds and the `error:` framing are the
//! library's.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ctl_socket::{Answer, Session, SocketOptions, StatsHandle};
pub use ctl_socket::{BindError as ControlError, Limits as ControlLimits};

use super::command::{Command, Format, HELP, parse_command};
use super::report::{
    ControlStats, StatsReport, StatusReport, render_stats_text, render_status_text,
};

/// `show config`: the daemon renders its own configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigDump {
    /// The answer to the text form.
    pub text: String,
    /// The answer to the `json` form.
    pub json: serde_json::Value,
}

/// What the daemon provides to the control socket. Methods are async so the daemon can ask
/// its event loop and await the answer; each call is bounded by
/// [`ControlLimits::handler_timeout`]. Error strings become `error: ...` answers.
pub trait ControlHandler: Send + Sync + 'static {
    /// Answers `show status`.
    fn status(&self) -> impl Future<Output = StatusReport> + Send;
    /// Answers `show stats`.
    fn stats(&self) -> impl Future<Output = StatsReport> + Send;
    /// Answers `show config`.
    fn config(&self) -> impl Future<Output = ConfigDump> + Send;
    /// Reloads the config; the text is the answer or the reason it failed.
    fn reload(&self) -> impl Future<Output = Result<String, String>> + Send;
    /// Enters (`on`) or leaves maintenance.
    fn set_maintenance(&self, on: bool) -> impl Future<Output = Result<String, String>> + Send;
    /// Pushes tracker `name` up or down.
    fn track(&self, name: &str, up: bool) -> impl Future<Output = Result<String, String>> + Send;
}

/// A bound control socket; the socket file is removed when this is dropped.
#[derive(Debug)]
pub struct ControlSocket {
    server: ctl_socket::Server,
}

/// Binds the control socket at `path`, mode 0600. A stale socket left by a dead daemon is
/// replaced; a live one or a non-socket file is an error.
pub fn bind(path: &Path, limits: ControlLimits) -> Result<ControlSocket, ControlError> {
    bind_for_group(path, limits, None)
}

/// Like [`bind`], but with `group` the socket is mode 0660 and owned by that group, for a
/// program running as another user (elb-proxy's drain push). Both are set before the socket
/// is reachable under its name.
pub fn bind_for_group(
    path: &Path,
    limits: ControlLimits,
    group: Option<nix::unistd::Gid>,
) -> Result<ControlSocket, ControlError> {
    let options = SocketOptions {
        mode: if group.is_some() { 0o660 } else { 0o600 },
        group: group.map(|g| g.as_raw()),
    };
    let server = ctl_socket::bind(path, &options)?
        .with_limits(limits)
        .with_session(Session::OneCommand)
        .with_name("control");
    Ok(ControlSocket { server })
}

impl ControlSocket {
    /// Where the socket is bound.
    pub fn path(&self) -> &Path {
        self.server.path()
    }

    /// Accepts connections forever (drop the future, or abort its task, to stop).
    pub async fn serve<H: ControlHandler>(self, handler: Arc<H>) {
        let stats = self.server.stats();
        self.server
            .serve(Arc::new(Commands { handler, stats }))
            .await
    }
}

/// Parses each line into a [`Command`] and asks the daemon.
struct Commands<H> {
    handler: Arc<H>,
    stats: StatsHandle,
}

impl<H: ControlHandler> ctl_socket::Handler for Commands<H> {
    async fn answer(&self, line: &str) -> Answer {
        match parse_command(line) {
            Ok(cmd) => Answer::text(answer(&*self.handler, cmd, &self.stats).await),
            Err(e) => Answer::bad_request(e),
        }
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn json_line<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(s) => s,
        Err(e) => format!("error: cannot render JSON: {e}"),
    }
}

fn result_line(result: Result<String, String>) -> String {
    match result {
        Ok(msg) => msg,
        Err(e) => format!("error: {e}"),
    }
}

fn control_stats(stats: &StatsHandle) -> ControlStats {
    let s = stats.snapshot();
    ControlStats {
        connections: s.connections,
        rejected_busy: s.rejected_busy,
        bad_requests: s.bad_requests,
        timeouts: s.timeouts,
    }
}

async fn answer<H: ControlHandler>(handler: &H, cmd: Command, server: &StatsHandle) -> String {
    match cmd {
        Command::Help => HELP.to_owned(),
        Command::ShowStatus(Format::Text) => {
            render_status_text(&handler.status().await, now_unix_ms())
        }
        Command::ShowStatus(Format::Json) => json_line(&handler.status().await),
        Command::ShowStats(format) => {
            let mut stats = handler.stats().await;
            stats.control = control_stats(server);
            match format {
                Format::Text => render_stats_text(&stats),
                Format::Json => json_line(&stats),
            }
        }
        Command::ShowConfig(Format::Text) => handler.config().await.text,
        Command::ShowConfig(Format::Json) => json_line(&handler.config().await.json),
        Command::Reload => result_line(handler.reload().await),
        Command::SetMaintenance(on) => result_line(handler.set_maintenance(on).await),
        Command::Track { name, up } => result_line(handler.track(&name, up).await),
    }
}
