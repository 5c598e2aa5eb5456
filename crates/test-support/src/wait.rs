//! Bounded waits: every wait in a test names what it waits for and has a deadline.
//!
//! Polling starts at 2 ms and backs off to 50 ms, so a state reached quickly is seen
//! quickly and a slow one does not burn a loaded CI machine's cores.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

const FIRST_POLL: Duration = Duration::from_millis(2);
const LONGEST_POLL: Duration = Duration::from_millis(50);

fn next_poll(step: Duration) -> Duration {
    (step * 2).min(LONGEST_POLL)
}

/// Polls `probe` until it yields a value and returns it; panics past `deadline`, naming `what`.
pub fn wait_until<T>(deadline: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    match poll(deadline, &mut probe) {
        Some(v) => v,
        None => panic!("timed out after {deadline:?} waiting for {what}"),
    }
}

/// Polls `probe` until it yields a value; `None` past `deadline` (for harness code that
/// reports the timeout as its own error).
pub fn poll<T>(deadline: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + deadline;
    let mut step = FIRST_POLL;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= end {
            return None;
        }
        std::thread::sleep(step.min(end - now));
        step = next_poll(step);
    }
}

/// [`wait_until`] for async tests: `probe` is a future per attempt, polled on tokio's clock.
pub async fn wait_until_async<T, F, Fut>(deadline: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline;
    let mut step = FIRST_POLL;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        let now = Instant::now();
        assert!(now < end, "timed out after {deadline:?} waiting for {what}");
        tokio::time::sleep(step.min(end - now)).await;
        step = next_poll(step);
    }
}

/// Waits for `child` to exit within `deadline`; past it, kills the child (SIGKILL), reaps it
/// and panics naming `what`, so a hung process fails the test instead of blocking it.
pub fn wait_child(child: &mut Child, deadline: Duration, what: &str) -> ExitStatus {
    match try_wait_child(child, deadline) {
        Ok(status) => status,
        Err(_) => panic!(
            "{what} (pid {}) did not exit within {deadline:?}; killed",
            child.id()
        ),
    }
}

/// [`wait_child`] returning an error instead of panicking; the child is killed and reaped
/// either way, never left running.
pub fn try_wait_child(child: &mut Child, deadline: Duration) -> std::io::Result<ExitStatus> {
    let status = poll(deadline, || child.try_wait().transpose()).transpose()?;
    match status {
        Some(status) => Ok(status),
        None => {
            kill_and_reap(child);
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("pid {} still running after {deadline:?}", child.id()),
            ))
        }
    }
}

/// How long a SIGKILLed process may take to be reaped: SIGKILL cannot be caught, so only a
/// process stuck in the kernel takes longer, and then it is reported and left.
const REAP_AFTER_KILL: Duration = Duration::from_secs(5);

/// Kills `child` (SIGKILL) and reaps it, bounded; for `Drop` of a test's helper process, so
/// it never panics and never blocks on a process stuck in the kernel.
pub fn kill_and_reap(child: &mut Child) {
    let _ = child.kill();
    if poll(REAP_AFTER_KILL, || child.try_wait().ok().flatten()).is_none() {
        eprintln!(
            "pid {} not reaped {REAP_AFTER_KILL:?} after SIGKILL",
            child.id()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_returns_the_first_value() {
        let mut n = 0;
        let v = wait_until(Duration::from_secs(5), "third poll", || {
            n += 1;
            (n == 3).then_some(n)
        });
        assert_eq!(v, 3);
    }

    #[test]
    #[should_panic(expected = "waiting for never")]
    fn wait_until_panics_past_its_deadline() {
        wait_until(Duration::from_millis(20), "never", || None::<()>);
    }

    #[test]
    fn a_hung_child_is_killed_at_the_deadline() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let err = try_wait_child(&mut child, Duration::from_millis(100)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(child.try_wait().unwrap().is_some(), "killed and reaped");
    }

    #[test]
    fn a_quick_child_gives_its_status() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        assert!(wait_child(&mut child, Duration::from_secs(10), "true").success());
    }
}
