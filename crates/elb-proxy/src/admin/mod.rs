//! The admin Unix socket: HAProxy-stats-socket style line commands (see `command`), usable
//! with `socat` and with `elb-proxy ctl`. Each client runs in its own task with a bounded
//! line length, an idle timeout and a write timeout, and the number of clients is capped, so
//! a slow or hostile client cannot stall the others or grow memory. The socket file is
//! created with the configured mode (0600 by default), so only its owner can connect.

pub mod report;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::shared::Shared;
use elb_proxy_core::{AdminState, Command, ServerRef, StatFormat, parse_command};

/// Longest accepted command line.
pub const MAX_LINE: usize = 4096;
/// Concurrent admin clients.
pub const MAX_CLIENTS: usize = 32;
/// A client silent this long is disconnected.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates the socket (replacing a stale one) with `mode`.
pub fn bind(path: &Path, mode: u32) -> std::io::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
    }
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    // Bind with a tight umask-independent mode: create, then chmod before serving.
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(listener)
}

/// Serves admin clients until shutdown.
pub async fn run(listener: UnixListener, shared: Arc<Shared>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CLIENTS));
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let (mut stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = crate::shared::until_shutdown(&mut shutdown) => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            // Refuse in a short-lived task: answer, then read what the client sent (up to
            // 100 ms) so the close does not reset the connection before it sees the answer.
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_millis(100), async {
                    let _ = stream.write_all(b"error: too many admin clients\n\n").await;
                    let _ = stream.shutdown().await;
                    let mut sink = [0u8; 1024];
                    while let Ok(n) = stream.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                })
                .await;
            });
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _permit = permit;
            client(stream, shared).await;
        });
    }
}

/// One admin session, with HAProxy's stats-socket semantics: one command, its answer and
/// an empty line, then the socket closes (so `socat` and HAProxy tools reading to EOF
/// work); after `prompt` the session stays open and each answer ends with the `> ` prompt.
async fn client(stream: UnixStream, shared: Arc<Shared>) {
    let (r, mut w) = stream.into_split();
    let mut reader = BufReader::with_capacity(1024, r);
    let mut line = Vec::with_capacity(128);
    let mut interactive = false;
    let mut idle = IDLE_TIMEOUT;
    loop {
        line.clear();
        let read = tokio::time::timeout(
            idle,
            (&mut reader)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line),
        )
        .await;
        let n = match read {
            Ok(Ok(n)) => n,
            Ok(Err(_)) | Err(_) => return,
        };
        if n == 0 {
            return;
        }
        let complete = line.last() == Some(&b'\n');
        if !complete && line.len() > MAX_LINE {
            let _ =
                tokio::time::timeout(WRITE_TIMEOUT, w.write_all(b"error: line too long\n\n")).await;
            let _ = w.shutdown().await;
            // Discard (a bounded amount of) what the client still sends, so closing does not
            // reset the connection before it has read the error line.
            let mut sink = [0u8; 8192];
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                let mut left: usize = 1 << 20;
                while left > 0 {
                    match reader.read(&mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => left = left.saturating_sub(n),
                    }
                }
            })
            .await;
            return;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        let mut out = match parse_command(text) {
            Ok(Command::Quit) => return,
            Ok(Command::Prompt) => {
                interactive = !interactive;
                String::new()
            }
            Ok(Command::SetTimeoutCli(secs)) => {
                idle = Duration::from_secs(secs);
                String::new()
            }
            Ok(cmd) => execute(&shared, cmd).await,
            Err(e) => format!("error: {e}\n"),
        };
        if !out.is_empty() {
            out.push('\n');
        }
        if interactive {
            out.push_str("> ");
        } else if out.is_empty() {
            // Leaving interactive mode (or a silent command) still answers the empty line.
            out.push('\n');
        }
        match tokio::time::timeout(WRITE_TIMEOUT, w.write_all(out.as_bytes())).await {
            Ok(Ok(())) => {}
            _ => return,
        }
        if !complete || !interactive {
            let _ = w.shutdown().await;
            return;
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
        Command::DisableServer(s) => set_state(shared, &s, AdminState::Maint),
        Command::EnableServer(s) => set_state(shared, &s, AdminState::Ready),
        Command::SetServerState(s, st) => set_state(shared, &s, st),
        Command::SetWeight(s, w) => with_member(shared, &s, |c, i| {
            c.lock().members[i].weight = w;
            format!("weight of {}/{} set to {w}\n", s.cluster, s.member)
        }),
        Command::GetWeight(s) => with_member(shared, &s, |c, i| {
            let w = c.lock().members[i].weight;
            let initial = c.config.members[i].weight;
            format!("{w} (initial {initial})\n")
        }),
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
