//! Running one configured command the way keepalived does: an executable file is exec'd
//! directly with its argv, anything else goes through `/bin/sh -c`; the child gets a clean
//! environment, its own process group, no stdin/stdout/stderr (output is discarded, so a
//! script that writes megabytes cannot fill a pipe and stall), and a deadline after which its
//! whole group gets SIGTERM and, 2 s later, SIGKILL. The child is always waited for, so no
//! zombie is left behind.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use thiserror::Error;
use tokio::process::Command;

/// The `PATH` given to scripts (their environment is otherwise empty, like keepalived's
/// sanitised one) and used to resolve a command without a slash.
pub const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Grace period between SIGTERM and SIGKILL for a script past its timeout (keepalived's).
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// How a command string will be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecPlan {
    /// The first word names an executable file: exec it directly with these arguments.
    Direct {
        /// The executable.
        program: PathBuf,
        /// Its arguments.
        args: Vec<String>,
    },
    /// Not an executable file: hand the whole string to `/bin/sh -c`.
    Shell {
        /// The whole command string.
        command: String,
    },
}

/// A command that could not be prepared.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    /// Nothing to run.
    #[error("script command {0:?} is empty")]
    Empty(String),
}

impl ExecPlan {
    /// Decides how `command` is run, splitting it the way keepalived does (quotes and
    /// backslash escapes, the same splitter the config parser uses) and resolving a bare
    /// program name through `search_path`.
    pub fn for_command(command: &str, search_path: &str) -> Result<Self, PlanError> {
        let argv = keepalived_conf::script::split_argv(command);
        Self::for_argv(command, &argv, search_path)
    }

    /// Like [`ExecPlan::for_command`] with `argv` already split from `command`.
    pub fn for_argv(command: &str, argv: &[String], search_path: &str) -> Result<Self, PlanError> {
        let Some(first) = argv.first() else {
            return Err(PlanError::Empty(command.to_owned()));
        };
        let program = if first.contains('/') {
            Some(PathBuf::from(first)).filter(|p| is_executable_file(p))
        } else {
            search_path
                .split(':')
                .filter(|dir| !dir.is_empty())
                .map(|dir| Path::new(dir).join(first))
                .find(|p| is_executable_file(p))
        };
        Ok(match program {
            Some(program) => ExecPlan::Direct {
                program,
                args: argv[1..].to_vec(),
            },
            None => ExecPlan::Shell {
                command: command.to_owned(),
            },
        })
    }

    /// The file whose permissions script security must check: the program, or `/bin/sh`.
    pub fn program(&self) -> &Path {
        match self {
            ExecPlan::Direct { program, .. } => program,
            ExecPlan::Shell { .. } => Path::new("/bin/sh"),
        }
    }
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The user and group a script runs as (resolved once, when the config is loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// The user's name, for logs.
    pub user: String,
    /// The uid the script runs as.
    pub uid: u32,
    /// The gid the script runs as.
    pub gid: u32,
}

/// A user or group name in the config that does not exist on this system.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RunAsError {
    /// The named user does not exist.
    #[error("script user {0:?} does not exist")]
    NoUser(String),
    /// The named group does not exist.
    #[error("script group {0:?} does not exist")]
    NoGroup(String),
    /// The lookup of this name failed with this error.
    #[error("cannot look up {0:?}: {1}")]
    Lookup(String, String),
}

impl RunAs {
    /// Resolves `user [[:]group]` as written after a script (group defaults to the user's).
    pub fn resolve(user: &str, group: Option<&str>) -> Result<Self, RunAsError> {
        let entry = match user.parse::<u32>() {
            Ok(uid) => nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)),
            Err(_) => nix::unistd::User::from_name(user),
        }
        .map_err(|e| RunAsError::Lookup(user.to_owned(), e.to_string()))?
        .ok_or_else(|| RunAsError::NoUser(user.to_owned()))?;
        let gid = match group.map(|g| g.trim_start_matches(':')) {
            None | Some("") => entry.gid.as_raw(),
            Some(g) => match g.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => nix::unistd::Group::from_name(g)
                    .map_err(|e| RunAsError::Lookup(g.to_owned(), e.to_string()))?
                    .ok_or_else(|| RunAsError::NoGroup(g.to_owned()))?
                    .gid
                    .as_raw(),
            },
        };
        Ok(RunAs {
            user: entry.name,
            uid: entry.uid.as_raw(),
            gid,
        })
    }
}

/// How one bounded run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The process exited with this status code.
    Exited(i32),
    /// The process was killed by this signal (not by us).
    Signalled(i32),
    /// It ran past its timeout and its process group was killed.
    TimedOut(Duration),
    /// It could not be started (exec failure, missing user, ...).
    SpawnFailed(String),
}

impl RunOutcome {
    /// keepalived counts only exit status 0 as success; signals and timeouts are failures.
    pub fn is_success(&self) -> bool {
        matches!(self, RunOutcome::Exited(0))
    }
}

impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunOutcome::Exited(code) => write!(f, "exit status {code}"),
            RunOutcome::Signalled(sig) => write!(f, "killed by signal {sig}"),
            RunOutcome::TimedOut(t) => write!(f, "timed out after {:.3}s", t.as_secs_f64()),
            RunOutcome::SpawnFailed(e) => write!(f, "could not start: {e}"),
        }
    }
}

/// Builds the process for `plan` with extra trailing arguments (the generic `notify` gets
/// four): empty environment except `PATH`, own process group, no standard streams.
pub fn build_command(plan: &ExecPlan, extra_args: &[String], run_as: Option<&RunAs>) -> Command {
    let mut cmd = match plan {
        ExecPlan::Direct { program, args } => {
            let mut c = Command::new(program);
            c.args(args);
            c.args(extra_args);
            c
        }
        ExecPlan::Shell { command } => {
            // Extra arguments are appended to the command line, quoted, as if written there.
            let mut line = command.clone();
            for arg in extra_args {
                line.push(' ');
                line.push_str(&shell_quote(arg));
            }
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(line);
            c
        }
    };
    cmd.env_clear()
        .env("PATH", SCRIPT_PATH)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(false);
    if let Some(r) = run_as {
        cmd.uid(r.uid).gid(r.gid);
    }
    // SAFETY: the closure only calls prctl(2), which is async-signal-safe, between fork and
    // exec. It asks the kernel to SIGTERM the script if vrrpd dies, like keepalived does.
    // (The signal follows the death of the *thread* that forked: spawn from runtime worker
    // threads, which live as long as the daemon, never from a `spawn_blocking` thread.)
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Runs `cmd` to completion, at most `timeout`; past it the process group gets SIGTERM and,
/// after [`KILL_GRACE`], SIGKILL. Always reaps the child.
pub async fn run_bounded(cmd: Command, timeout: Duration) -> RunOutcome {
    run_bounded_until(cmd, timeout, std::future::pending()).await
}

/// Like [`run_bounded`], but also terminates the group early when `stop` completes (daemon
/// shutdown); the run then counts as timed out at the time it was stopped.
pub async fn run_bounded_until(
    mut cmd: Command,
    timeout: Duration,
    stop: impl std::future::Future<Output = ()>,
) -> RunOutcome {
    let started = tokio::time::Instant::now();
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return RunOutcome::SpawnFailed(e.to_string()),
    };
    let Some(pid) = child.id() else {
        // Already reaped by tokio: cannot happen before the first wait, but never panic.
        return match child.wait().await {
            Ok(status) => outcome_of(status),
            Err(e) => RunOutcome::SpawnFailed(e.to_string()),
        };
    };
    tokio::select! {
        status = tokio::time::timeout(timeout, child.wait()) => match status {
            Ok(Ok(status)) => outcome_of(status),
            Ok(Err(e)) => RunOutcome::SpawnFailed(e.to_string()),
            Err(_) => {
                terminate_group(pid, &mut child).await;
                RunOutcome::TimedOut(timeout)
            }
        },
        () = stop => {
            terminate_group(pid, &mut child).await;
            RunOutcome::TimedOut(started.elapsed())
        }
    }
}

/// SIGTERM to the group, SIGKILL after the grace period, then reap the leader.
pub(crate) async fn terminate_group(pid: u32, child: &mut tokio::process::Child) {
    let group = Pid::from_raw(pid as i32);
    let _ = killpg(group, Signal::SIGTERM);
    if tokio::time::timeout(KILL_GRACE, child.wait())
        .await
        .is_err()
    {
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait().await;
    }
    // Children of the script that ignored SIGTERM still belong to the group.
    let _ = killpg(group, Signal::SIGKILL);
}

/// Quotes `arg` for `/bin/sh` (single quotes; an embedded `'` becomes `'\''`).
pub fn shell_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

fn outcome_of(status: ExitStatus) -> RunOutcome {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => RunOutcome::Exited(code),
        (None, Some(sig)) => RunOutcome::Signalled(sig),
        (None, None) => RunOutcome::Exited(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_file_is_exec_directly_with_split_args() {
        let plan = ExecPlan::for_command("true 'a b' c", SCRIPT_PATH).unwrap();
        match plan {
            ExecPlan::Direct { program, args } => {
                assert!(program.ends_with("true"), "{program:?}");
                assert_eq!(args, ["a b", "c"]);
            }
            other => panic!("expected direct exec, got {other:?}"),
        }
    }

    #[test]
    fn shell_syntax_and_missing_files_go_through_sh() {
        for cmd in [
            "[[ -f /x ]] && exit 1",
            "</dev/tcp/127.0.0.1/80",
            "/no/such/file arg",
        ] {
            assert_eq!(
                ExecPlan::for_command(cmd, SCRIPT_PATH).unwrap(),
                ExecPlan::Shell {
                    command: cmd.to_owned()
                },
                "{cmd}"
            );
        }
    }

    #[test]
    fn a_directory_or_non_executable_file_is_not_exec_directly() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "exit 0\n").unwrap();
        let cmd = file.to_str().unwrap().to_owned();
        assert!(matches!(
            ExecPlan::for_command(&cmd, SCRIPT_PATH).unwrap(),
            ExecPlan::Shell { .. }
        ));
        let d = dir.path().to_str().unwrap().to_owned();
        assert!(matches!(
            ExecPlan::for_command(&d, SCRIPT_PATH).unwrap(),
            ExecPlan::Shell { .. }
        ));
    }

    #[test]
    fn quotes_and_escapes_are_processed_and_empty_is_an_error() {
        let plan = ExecPlan::for_command(r#"/bin/echo "a b" c\ d"#, SCRIPT_PATH).unwrap();
        assert_eq!(
            plan,
            ExecPlan::Direct {
                program: "/bin/echo".into(),
                args: vec!["a b".into(), "c d".into()]
            }
        );
        assert_eq!(
            ExecPlan::for_command("  ", SCRIPT_PATH),
            Err(PlanError::Empty("  ".into()))
        );
    }

    #[test]
    fn shell_quote_survives_sh() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn unknown_user_is_a_clear_error() {
        assert_eq!(
            RunAs::resolve("no-such-user-elbha", None),
            Err(RunAsError::NoUser("no-such-user-elbha".into()))
        );
        let root = RunAs::resolve("root", None).unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
    }
}
