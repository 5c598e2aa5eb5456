//! Notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`): one line per event in keepalived's
//! format (`INSTANCE "VI_1" MASTER 100`, `GROUP "G" BACKUP 0`, `INSTANCE "VI_1"
//! MASTER_PRIORITY 90`), for monitoring that follows state without forking a script.
//!
//! The FIFO is created if missing (and removed at stop only then), opened read-write and
//! non-blocking, so the daemon never waits for a reader: the pipe buffer is the bounded
//! queue, and a line that does not fit is dropped and counted. The optional `_script` reader
//! is started with the FIFO's path as its argument, as keepalived does, and stopped at exit.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::NotifyScript;
use crate::scripts::exec::{ExecPlan, PlanError, RunAs, RunAsError, SCRIPT_PATH, build_command};
use crate::scripts::runner::ScriptSettings;
use crate::scripts::security::{UnsafeScript, check_script_secure};

/// One configured FIFO: path, owner of a FIFO vrrpd creates, and its reader script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoSpec {
    /// The FIFO's path.
    pub path: PathBuf,
    /// The owner the FIFO is created with, if it is created.
    pub owner: Option<(String, Option<String>)>,
    /// The `_script` reader vrrpd starts on the FIFO.
    pub script: Option<NotifyScript>,
    /// The mode it is created with, before the umask.
    pub mode: u32,
}

impl FifoSpec {
    /// The spec of one `notify_fifo`-style block. With a `umask` keyword the umask decides
    /// the mode (0666 before it, as keepalived creates it); without, 0600 (what keepalived's
    /// default umask 0177 leaves).
    pub fn from_conf(f: &keepalived_conf::NotifyFifo, umask: Option<u32>) -> Self {
        FifoSpec {
            path: PathBuf::from(&f.path),
            owner: f.user.clone().map(|u| (u, f.group.clone())),
            script: f.script.as_ref().map(NotifyScript::from),
            mode: if umask.is_some() { 0o666 } else { 0o600 },
        }
    }
}

/// Why a FIFO could not be opened or its reader not started.
#[derive(Debug, Error)]
pub enum FifoError {
    /// The FIFO could not be created or opened.
    #[error("{path}: {source}")]
    Io {
        /// The FIFO's path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The path exists and is not a FIFO.
    #[error("{0} exists and is not a FIFO")]
    NotFifo(String),
    /// The reader script cannot be started.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The reader script's user does not exist.
    #[error("fifo owner or script user: {0}")]
    User(#[from] RunAsError),
    /// `enable_script_security` refused the reader script.
    #[error(transparent)]
    Unsafe(#[from] UnsafeScript),
}

/// What a state's word is on a FIFO line (keepalived's `%s "%s" %s %d`).
pub fn line(kind: &str, name: &str, word: &str, priority: u8) -> String {
    format!("{kind} \"{name}\" {word} {priority}\n")
}

/// An open notify FIFO with its reader.
#[derive(Debug)]
pub struct NotifyFifo {
    spec: FifoSpec,
    file: File,
    created: bool,
    reader: Option<tokio::process::Child>,
    written: u64,
    dropped: u64,
}

impl NotifyFifo {
    /// Creates the FIFO if missing, opens it without blocking and starts the reader script.
    pub fn open(spec: FifoSpec, settings: &ScriptSettings) -> Result<Self, FifoError> {
        let path_s = spec.path.display().to_string();
        let io = |source| FifoError::Io {
            path: path_s.clone(),
            source,
        };
        let created = match std::fs::symlink_metadata(&spec.path) {
            Ok(m) if m.file_type().is_fifo() => false,
            Ok(_) => return Err(FifoError::NotFifo(path_s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                nix::unistd::mkfifo(
                    &spec.path,
                    nix::sys::stat::Mode::from_bits_truncate(spec.mode),
                )
                .map_err(|e| io(e.into()))?;
                if let Some((user, group)) = &spec.owner {
                    let who = RunAs::resolve(user, group.as_deref())?;
                    std::os::unix::fs::chown(&spec.path, Some(who.uid), Some(who.gid))
                        .map_err(io)?;
                }
                true
            }
            Err(e) => return Err(io(e)),
        };
        // Read-write: opening never waits for a reader and writes never see EPIPE.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&spec.path)
            .map_err(io)?;
        let mut fifo = NotifyFifo {
            spec,
            file,
            created,
            reader: None,
            written: 0,
            dropped: 0,
        };
        fifo.reader = fifo.start_reader(settings)?;
        Ok(fifo)
    }

    fn start_reader(
        &self,
        settings: &ScriptSettings,
    ) -> Result<Option<tokio::process::Child>, FifoError> {
        let Some(script) = &self.spec.script else {
            return Ok(None);
        };
        let plan = ExecPlan::for_command(&script.command, SCRIPT_PATH)?;
        let run_as = match &script.user {
            Some((u, g)) => Some(RunAs::resolve(u, g.as_deref())?),
            None => settings.default_user.clone(),
        };
        if settings.enable_script_security {
            check_script_secure("notify_fifo_script", plan.program())?;
        }
        let arg = [self.spec.path.display().to_string()];
        let child = build_command(&plan, &arg, run_as.as_ref())
            .spawn()
            .map_err(|source| FifoError::Io {
                path: plan.program().display().to_string(),
                source,
            })?;
        Ok(Some(child))
    }

    /// The spec it was opened from.
    pub fn spec(&self) -> &FifoSpec {
        &self.spec
    }

    /// The FIFO's path.
    pub fn path(&self) -> &Path {
        &self.spec.path
    }

    /// Writes one line without waiting; a line the pipe has no room for is dropped and counted.
    pub fn write_line(&mut self, text: &str) {
        let written = self.file.write(text.as_bytes());
        let path = self.spec.path.to_string_lossy();
        let result = match written {
            Ok(n) if n == text.len() => "success",
            _ => "dropped",
        };
        crate::metrics::events::notify("fifo", &path, result);
        match written {
            Ok(n) if n == text.len() => self.written += 1,
            Ok(_) => self.dropped += 1,
            Err(e) => {
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    tracing::warn!(fifo = %self.spec.path.display(), error = %e, dropped = self.dropped, "notify FIFO full or unwritable; line dropped");
                }
            }
        }
    }

    /// (lines written, lines dropped).
    pub fn counters(&self) -> (u64, u64) {
        (self.written, self.dropped)
    }

    /// Stops the reader (SIGTERM to its process group) and removes a FIFO vrrpd created.
    pub async fn close(mut self) {
        tracing::info!(
            fifo = %self.spec.path.display(),
            written = self.written,
            dropped = self.dropped,
            "notify FIFO closed"
        );
        if let Some(mut child) = self.reader.take() {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
            let waited =
                tokio::time::timeout(std::time::Duration::from_secs(2), child.wait()).await;
            if waited.is_err() {
                let _ = child.kill().await;
            }
        }
        if self.created {
            let _ = std::fs::remove_file(&self.spec.path);
        }
    }
}

/// Whether a FIFO exists at `path` (for tests and `-t`).
pub fn is_fifo(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn lines_follow_keepalived_format() {
        assert_eq!(
            line("INSTANCE", "VI_1", "MASTER", 100),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(line("GROUP", "G", "BACKUP", 0), "GROUP \"G\" BACKUP 0\n");
    }

    #[tokio::test]
    async fn fifo_is_created_written_without_reader_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        let spec = FifoSpec {
            path: path.clone(),
            owner: None,
            script: None,
            mode: 0o600,
        };
        let mut f = NotifyFifo::open(spec, &ScriptSettings::default()).unwrap();
        assert!(is_fifo(&path));
        f.write_line(&line("INSTANCE", "VI_1", "MASTER", 100));
        let mut r = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        let mut buf = [0u8; 64];
        let n = r.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"INSTANCE \"VI_1\" MASTER 100\n");
        f.close().await;
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn fifo_reader_script_gets_the_fifo_path_and_the_lines() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        let out = dir.path().join("out");
        let script = dir.path().join("reader.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nread -r l < \"$1\"\necho \"$1 $l\" > {}.tmp\nmv {}.tmp {}\n",
                out.display(),
                out.display(),
                out.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let spec = FifoSpec {
            path: path.clone(),
            owner: None,
            script: Some(NotifyScript::new(script.display().to_string())),
            mode: 0o600,
        };
        let mut f = NotifyFifo::open(spec, &ScriptSettings::default()).unwrap();
        f.write_line(&line("GROUP", "G", "FAULT", 0));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let text = loop {
            if let Ok(t) = std::fs::read_to_string(&out) {
                break t;
            }
            assert!(std::time::Instant::now() < deadline, "reader never wrote");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        assert_eq!(text, format!("{} GROUP \"G\" FAULT 0\n", path.display()));
        f.close().await;
    }

    #[tokio::test]
    async fn a_full_fifo_drops_and_counts_instead_of_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let spec = FifoSpec {
            path: path.clone(),
            owner: None,
            script: None,
            mode: 0o600,
        };
        let mut f = NotifyFifo::open(spec, &ScriptSettings::default()).unwrap();
        let l = line("INSTANCE", "VI_1", "MASTER_PRIORITY", 90);
        // A pipe holds 64 KiB by default: 10 000 lines of 36 bytes cannot all fit.
        for _ in 0..10_000 {
            f.write_line(&l);
        }
        let (written, dropped) = f.counters();
        assert_eq!(written + dropped, 10_000);
        assert!(written > 0 && dropped > 0, "{written} {dropped}");
        f.close().await;
        // Not created by vrrpd: left in place.
        assert!(is_fifo(&path));
    }
}
