//! Long-lived processes inside a lab host, with their output captured line by line so tests
//! can wait for a log line instead of sleeping, and see everything a daemon said when a test
//! fails.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use regex::Regex;

#[derive(Default)]
struct Lines {
    lines: Vec<String>,
    /// Both output streams reached end of file.
    closed: usize,
}

struct Shared {
    lines: Mutex<Lines>,
    changed: Condvar,
}

/// A process started by [`crate::Host::spawn`]. Killed, with its whole process group, on drop.
pub struct Proc {
    label: String,
    child: Child,
    shared: Arc<Shared>,
    /// Index of the first line `wait_for_line` has not consumed yet.
    cursor: Mutex<usize>,
    exited: Option<ExitStatus>,
}

impl Proc {
    pub(crate) fn start(label: &str, mut cmd: Command) -> Result<Self> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {label}: {cmd:?}"))?;
        let shared = Arc::new(Shared {
            lines: Mutex::new(Lines::default()),
            changed: Condvar::new(),
        });
        let out = child.stdout.take().expect("stdout was piped");
        let err = child.stderr.take().expect("stderr was piped");
        spawn_reader(out, shared.clone());
        spawn_reader(err, shared.clone());
        Ok(Self {
            label: label.to_string(),
            child,
            shared,
            cursor: Mutex::new(0),
            exited: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// Everything the process printed so far (stdout and stderr interleaved by arrival).
    pub fn output(&self) -> String {
        let lines = self.shared.lines.lock().expect("output lock");
        lines.lines.join("\n")
    }

    /// Waits for the next line (after the ones earlier calls consumed) matching `pattern`,
    /// and returns it. Fails at the timeout or when the process closed its output.
    pub fn wait_for_line(&self, pattern: &str, timeout: Duration) -> Result<String> {
        let re = Regex::new(pattern).with_context(|| format!("bad pattern {pattern:?}"))?;
        let mut cursor = self.cursor.lock().expect("cursor lock");
        self.wait_on_output(timeout, &format!("a line matching /{pattern}/"), |lines| {
            let found = lines[*cursor..].iter().position(|l| re.is_match(l));
            match found {
                Some(offset) => {
                    *cursor += offset + 1;
                    Some(lines[*cursor - 1].clone())
                }
                None => {
                    *cursor = lines.len();
                    None
                }
            }
        })
    }

    /// Waits until at least `count` lines printed since the start (consumed or not) match
    /// `pattern`, and returns the `count`-th. For events whose order among themselves is not
    /// fixed (mails from two hosts), or that repeat (the second MASTER transition).
    pub fn wait_for_nth_line(
        &self,
        pattern: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<String> {
        let re = Regex::new(pattern).with_context(|| format!("bad pattern {pattern:?}"))?;
        let what = format!("{count} lines matching /{pattern}/");
        self.wait_on_output(timeout, &what, |lines| {
            lines
                .iter()
                .filter(|l| re.is_match(l))
                .nth(count.max(1) - 1)
                .cloned()
        })
    }

    /// Re-runs `found` over the output each time a line arrives, until it returns a line, the
    /// process closes its output, or `timeout` passes.
    fn wait_on_output(
        &self,
        timeout: Duration,
        what: &str,
        mut found: impl FnMut(&[String]) -> Option<String>,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let mut lines = self.shared.lines.lock().expect("output lock");
        loop {
            if let Some(line) = found(&lines.lines) {
                return Ok(line);
            }
            if lines.closed == 2 {
                bail!("{} ended its output without {what}", self.label);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("{}: no {what} within {timeout:?}", self.label);
            }
            lines = self
                .shared
                .changed
                .wait_timeout(lines, left)
                .expect("output lock")
                .0;
        }
    }

    /// Sends `signal` to the process (not its group: the process decides about its children).
    pub fn signal(&self, signal: Signal) -> Result<()> {
        nix::sys::signal::kill(Pid::from_raw(self.child.id() as i32), signal)
            .with_context(|| format!("signal {signal} to {}", self.label))
    }

    /// Sends `signal` to the whole process group (a daemon and every child it forked).
    pub fn signal_group(&self, signal: Signal) -> Result<()> {
        killpg(Pid::from_raw(self.child.id() as i32), signal)
            .with_context(|| format!("signal {signal} to group of {}", self.label))
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        if let Some(status) = self.exited {
            return Ok(status);
        }
        let deadline = Instant::now() + timeout;
        // The event to wait on: both output pipes closing, which happens when the process
        // (and any child that inherited them) has exited.
        {
            let mut lines = self.shared.lines.lock().expect("output lock");
            while lines.closed < 2 {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                lines = self
                    .shared
                    .changed
                    .wait_timeout(lines, left)
                    .expect("output lock")
                    .0;
            }
        }
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.exited = Some(status);
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("{} still running after {timeout:?}", self.label);
            }
            // Pipes closed (or were handed to a grandchild) but the leader is not reaped
            // yet: the exit is imminent, so a short pause bounded by the deadline.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Kills the whole process group with SIGKILL and reaps the process.
    pub fn kill(&mut self) {
        if self.exited.is_none() {
            let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
            // SIGKILL cannot be caught: only a process stuck in the kernel outlasts the bound.
            self.exited =
                test_support::wait::poll(REAP_AFTER_KILL, || self.child.try_wait().ok().flatten());
        } else {
            // The leader is gone but children in its group may remain.
            let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "----- output of {} (pid {}) -----\n{}\n----- end of {} -----",
                self.label,
                self.child.id(),
                self.output(),
                self.label
            );
        }
    }
}

/// How long a SIGKILLed process group leader may take to be reaped.
const REAP_AFTER_KILL: Duration = Duration::from_secs(5);

fn spawn_reader(stream: impl Read + Send + 'static, shared: Arc<Shared>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                    shared.lines.lock().expect("output lock").lines.push(line);
                    shared.changed.notify_all();
                }
            }
        }
        shared.lines.lock().expect("output lock").closed += 1;
        shared.changed.notify_all();
    });
}
