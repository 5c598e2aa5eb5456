//! The admin Unix socket: HAProxy-stats-socket style line commands (see `command`), usable
//! with `socat`, `elb-proxy ctl` and HAProxy's tools, served by the shared `ctl-socket` server
//! with HAProxy's session rules (one command per connection unless `prompt`; each answer
//! followed by an empty line), within [`limits`] (line length, idle and write timeouts, capped
//! clients). The socket file gets the configured mode
//! (0600 by default) before it is reachable.

pub mod ctl;
mod members;
pub mod report;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ctl_socket::{Answer, BindError, Limits, Server, Session, SessionControl, SocketOptions};

use crate::shared::Shared;
use elb_proxy_core::{AdminState, Command, ServerRef, StatFormat, parse_command};

/// Longest accepted command line.
pub const MAX_LINE: usize = 4096;
/// Concurrent admin clients.
pub const MAX_CLIENTS: usize = 32;
/// A client silent this long is disconnected.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a command may take before the client is told so (the command itself goes on).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The admin socket's bounds.
pub fn limits() -> Limits {
    Limits {
        max_line: MAX_LINE,
        read_timeout: IDLE_TIMEOUT,
        write_timeout: WRITE_TIMEOUT,
        handler_timeout: COMMAND_TIMEOUT,
        max_clients: MAX_CLIENTS,
    }
}

/// Creates the socket with `mode`: a stale one is replaced, one that a running elb-proxy
/// still answers on is not.
pub fn bind(path: &Path, mode: u32) -> Result<Server, BindError> {
    let options = SocketOptions { mode, group: None };
    Ok(ctl_socket::bind(path, &options)?
        .with_limits(limits())
        .with_session(Session::Stats)
        .with_name("admin"))
}

/// Serves admin clients until shutdown; the socket file is removed when it ends.
pub async fn run(server: Server, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let handler = Arc::new(Commands { shared });
    server
        .serve_until(handler, async move {
            crate::shared::until_shutdown(&mut shutdown).await;
        })
        .await
}

/// Parses each line and runs it.
struct Commands {
    shared: Arc<Shared>,
}

impl ctl_socket::Handler for Commands {
    async fn answer(&self, line: &str) -> Answer {
        let cmd = match parse_command(line) {
            Ok(Command::Prompt) => return Answer::session(SessionControl::TogglePrompt),
            Ok(Command::SetTimeoutCli(secs)) => {
                return Answer::session(SessionControl::IdleTimeout(Duration::from_secs(secs)));
            }
            Ok(Command::Quit) => return Answer::session(SessionControl::Quit),
            Ok(cmd) => cmd,
            Err(e) => return Answer::bad_request(e),
        };
        // In its own task: a client that gives up (or the command timeout) must not cancel a
        // reload halfway.
        let shared = self.shared.clone();
        match tokio::spawn(async move { execute(&shared, cmd).await }).await {
            Ok(text) => Answer::text(text),
            Err(e) => Answer::error(format_args!("command failed: {e}")),
        }
    }
}

/// Runs one command and returns its output (ending with a newline).
pub async fn execute(shared: &Arc<Shared>, cmd: Command) -> String {
    match cmd {
        Command::Help => elb_proxy_core::HELP.to_string(),
        Command::ShowInfo => report::info(shared),
        Command::ShowStat(StatFormat::Csv) => crate::haproxy_stat::stat_csv(shared),
        Command::ShowStat(StatFormat::Elb) => report::stat_csv(shared),
        Command::ShowStat(StatFormat::Json) => report::stat_json(shared),
        Command::ShowServersState => report::servers_state(shared),
        Command::ShowResolvers => crate::dns::show(shared),
        Command::DisableServer(s) => set_state(shared, &s, AdminState::Maint),
        Command::EnableServer(s) => set_state(shared, &s, AdminState::Ready),
        Command::SetServerState(s, st) => set_state(shared, &s, st),
        Command::SetWeight(s, w) => with_member(shared, &s, |c, i| {
            c.lock().set_weight(i, w);
            format!("weight of {}/{} set to {w}\n", s.cluster, s.member)
        }),
        Command::GetWeight(s) => with_member(shared, &s, |c, i| {
            let w = c.lock().members[i].weight;
            let initial = c.config.members[i].weight;
            format!("{w} (initial {initial})\n")
        }),
        Command::AddServer(s, addr, weight) => members::add(shared, &s, addr, weight).await,
        Command::DelServer(s) => members::del(shared, &s).await,
        Command::SetServerAddr(s, addr) => members::set_addr(shared, &s, addr).await,
        Command::Reload => match crate::lifecycle::reload(shared).await {
            Ok(msg) => format!("{msg}\n"),
            Err(msg) => format!("error: {msg}\n"),
        },
        Command::ReopenLogs => match crate::access_log::reopen(shared).await {
            Ok(msg) => format!("{msg}\n"),
            Err(msg) => format!("error: {msg}\n"),
        },
        // Session commands, handled by the session itself.
        Command::Prompt | Command::SetTimeoutCli(_) | Command::Quit => String::new(),
        Command::SetProxyState(serving) => {
            crate::lifecycle::set_admin_drain(shared, !serving);
            if serving {
                "proxy serving\n".into()
            } else {
                "proxy draining (health 503)\n".into()
            }
        }
    }
}

fn with_member(
    shared: &Shared,
    s: &ServerRef,
    f: impl FnOnce(&crate::snapshot::LiveCluster, usize) -> String,
) -> String {
    let rt = shared.snapshot.load();
    let Some(c) = rt.cluster(&s.cluster) else {
        return format!("error: no cluster '{}'\n", s.cluster);
    };
    let Some(i) = c.member_index(&s.member) else {
        return format!(
            "error: no member '{}' in cluster '{}'\n",
            s.member, s.cluster
        );
    };
    f(c, i)
}

fn set_state(shared: &Shared, s: &ServerRef, admin: AdminState) -> String {
    with_member(shared, s, |c, i| {
        let old = std::mem::replace(&mut c.lock().members[i].admin, admin);
        if admin == AdminState::Ready && old != AdminState::Ready {
            // Back in rotation: slow start ramps it up (when configured).
            c.lock().returned(i, std::time::Instant::now());
        }
        if admin == AdminState::Maint {
            c.members[i].pool.clear();
        }
        if old != admin {
            c.members[i].stats.touch_change();
            tracing::info!(cluster = %c.name, member = %c.members[i].name, from = old.as_str(), to = admin.as_str(), "member admin state changed");
        }
        format!("{}/{} state {}\n", s.cluster, s.member, admin.as_str())
    })
}
