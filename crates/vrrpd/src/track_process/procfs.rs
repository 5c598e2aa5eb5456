//! /proc reads and pidfds: the names and command lines the matcher needs, the scan at start
//! (processes started before vrrpd), and the fallback where the connector does not answer
//! (inside a network namespace): a pidfd per matched process reports its exit at once, and
//! a bounded rescan every [`RESCAN_INTERVAL`] finds processes started since.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

use tokio::io::unix::AsyncFd;

use super::matcher::{ProcInfo, split_cmdline};

/// How often the fallback rescans /proc for new processes (exits are seen at once).
pub const RESCAN_INTERVAL: Duration = Duration::from_secs(1);

/// Reads at most this much of a command line (matching needs the first arguments only).
const MAX_CMDLINE: usize = 64 * 1024;

/// Name and command line of `pid`; None when it is gone (or a kernel thread vanished).
pub fn read(pid: i32) -> Option<ProcInfo> {
    let comm = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
    let comm = String::from_utf8_lossy(&comm)
        .trim_end_matches('\n')
        .to_string();
    let mut cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    cmdline.truncate(MAX_CMDLINE);
    Some(ProcInfo {
        comm,
        argv: split_cmdline(&cmdline),
    })
}

/// Every process id in /proc.
pub fn pids() -> io::Result<Vec<i32>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc")? {
        let Ok(e) = e else { continue };
        if let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) {
            out.push(pid);
        }
    }
    Ok(out)
}

/// A process's pidfd, readable once the process has ended.
pub struct PidFd(AsyncFd<OwnedFd>);

impl PidFd {
    /// A pidfd for `pid`, readable when the process exits.
    pub fn open(pid: i32) -> io::Result<Self> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the descriptor was just returned to us and is owned by nobody else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // SAFETY: the OwnedFd stays open until it is dropped together with the AsyncFd.
        let fd = unsafe { AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(PidFd(fd))
    }

    /// Resolves when the process has ended.
    pub async fn exited(&self) {
        let _ = self.0.readable().await;
    }
}
