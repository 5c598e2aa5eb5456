//! Upgrades without a failover, the running side: on `upgrade_socket` a new elb-proxy
//! process asks for the listening sockets, gets them (SCM_RIGHTS) and, once it serves on
//! them, says `ready`; this process then stops accepting, lets its connections finish and
//! exits, without ever answering 503 on the health path. Both processes accept from the
//! same kernel queues meanwhile, so no connection is refused or reset.

use std::io::{BufRead, BufReader, IoSlice, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use tokio::net::UnixListener;

use crate::shared::Shared;

/// What the new process sends first.
pub const TAKEOVER: &str = "takeover";
/// What it sends once it serves on the sockets.
pub const READY: &str = "ready";

/// Serves hand-over requests on `path` until one succeeds; `admin` is removed with it.
pub async fn serve(shared: Arc<Shared>, path: PathBuf, admin: Option<PathBuf>) {
    if std::os::unix::net::UnixStream::connect(&path).is_ok() {
        tracing::error!(socket = %path.display(), "upgrade socket in use by another process; upgrades disabled");
        return;
    }
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(socket = %path.display(), error = %e, "cannot bind the upgrade socket");
            return;
        }
    };
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    loop {
        let Ok((conn, _)) = listener.accept().await else {
            continue;
        };
        let Ok(conn) = conn.into_std() else { continue };
        let sh = shared.clone();
        let done = tokio::task::spawn_blocking(move || hand_over(&sh, conn)).await;
        match done {
            Ok(Ok(conn)) => {
                // The paths go before the connection closes: the new process binds them
                // once it sees the end of it.
                drop(listener);
                let _ = std::fs::remove_file(&path);
                if let Some(a) = &admin {
                    let _ = std::fs::remove_file(a);
                }
                drop(conn);
                tracing::info!("listening sockets handed over to a new process: draining");
                shared
                    .handed_over
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                shared.handover_done.notify_one();
                return;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "hand-over failed; still serving"),
            Err(e) => tracing::warn!(error = %e, "hand-over task failed; still serving"),
        }
    }
}

/// One hand-over exchange, blocking, bounded by socket timeouts.
fn hand_over(
    shared: &Shared,
    conn: std::os::unix::net::UnixStream,
) -> std::io::Result<std::os::unix::net::UnixStream> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if line.trim_end() != TAKEOVER {
        return Err(std::io::Error::other(format!(
            "unexpected request {line:?}"
        )));
    }
    let fds = shared.listeners.listening_fds();
    let text = fds
        .iter()
        .map(|(a, _)| a.to_string())
        .collect::<Vec<_>>()
        .join(" ")
        + "\n";
    let raw: Vec<RawFd> = fds.iter().map(|(_, fd)| fd.as_raw_fd()).collect();
    sendmsg::<()>(
        conn.as_raw_fd(),
        &[IoSlice::new(text.as_bytes())],
        &[ControlMessage::ScmRights(&raw)],
        MsgFlags::empty(),
        None,
    )
    .map_err(std::io::Error::from)?;
    drop(fds);
    // The new process binds its other sockets and starts its listeners before it answers.
    conn.set_read_timeout(Some(Duration::from_secs(60)))?;
    line.clear();
    reader.read_line(&mut line)?;
    if line.trim_end() != READY {
        return Err(std::io::Error::other(
            "the new process did not become ready",
        ));
    }
    let mut w = &conn;
    let _ = w.flush();
    Ok(conn)
}
