//! One task per `vrrp_script`: runs it every `interval` (fractional, down to 50 ms), bounded
//! by `timeout`, feeds the results through rise/fall, and reports filtered state changes on
//! a channel. The VRRP state machine only ever sees those channel messages, so a slow,
//! hanging, forking or chatty script cannot delay it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::exec::{
    ExecPlan, PlanError, RunAs, RunAsError, RunOutcome, SCRIPT_PATH, build_command,
    run_bounded_until,
};
use super::filter::{ChangeCause, RiseFall};
use super::security::{UnsafeScript, check_script_secure};

/// The shortest interval accepted (fractional intervals, down to 0.05 s, for fast failover).
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// A `vrrp_script` block, independent of the config crate's representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackScriptSpec {
    /// The `vrrp_script` name.
    pub name: String,
    /// The command string (already unquoted by the config parser; split here).
    pub command: String,
    /// How often it runs.
    pub interval: Duration,
    /// Kill the run after this long; `None` means `interval` (keepalived's default).
    pub timeout: Option<Duration>,
    /// Priority change while it fails (0: failure means FAULT).
    pub weight: i64,
    /// `reverse`: the weight applies while it passes.
    pub reverse: bool,
    /// Successes needed to count as up.
    pub rise: u32,
    /// Failures needed to count as down.
    pub fall: u32,
    /// `user USER [GROUP]`; `None` uses the default script user.
    pub user: Option<(String, Option<String>)>,
    /// `init_fail`: start as failed until the first `rise` successes.
    pub init_fail: bool,
}

impl TrackScriptSpec {
    /// A spec with keepalived's defaults: interval 1 s, weight 0, rise/fall 1.
    pub fn new(name: impl Into<String>, command: impl Into<String>) -> Self {
        TrackScriptSpec {
            name: name.into(),
            command: command.into(),
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
        }
    }

    /// The interval actually used: at least [`MIN_INTERVAL`].
    pub fn effective_interval(&self) -> Duration {
        self.interval.max(MIN_INTERVAL)
    }

    /// The timeout actually used: the configured one, else the interval.
    pub fn effective_timeout(&self) -> Duration {
        self.timeout
            .filter(|t| !t.is_zero())
            .unwrap_or_else(|| self.effective_interval())
    }
}

/// Settings shared by every script: `enable_script_security` and the default user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptSettings {
    /// Refuse scripts that a non-root user could change.
    pub enable_script_security: bool,
    /// `script_user`: who runs scripts that name no user.
    pub default_user: Option<RunAs>,
}

/// A filtered change of a tracker's state, sent to the daemon's event loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerUpdate {
    /// The tracker's name.
    pub name: String,
    /// Script passing / file not forcing FAULT.
    pub up: bool,
    /// For `track_file`: the integer read from the file.
    pub value: Option<i64>,
    /// Human-readable cause, for logs, `show status` and mail.
    pub reason: String,
}

/// Why a tracker could not be started or controlled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TrackerError {
    /// A command that cannot be started.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The script's user or group does not exist.
    #[error("track script {script}: {source}")]
    User {
        /// The script's name.
        script: String,
        /// The lookup failure.
        #[source]
        source: RunAsError,
    },
    /// `enable_script_security` refused the script.
    #[error(transparent)]
    Unsafe(#[from] UnsafeScript),
    /// The tracker's task is gone.
    #[error("track script {0} has stopped")]
    Stopped(String),
    /// A run is already in progress.
    #[error("track script {0}: too many pushed changes queued")]
    Busy(String),
}

/// Run counters of one script, for `show stats`, and whether a push is in force.
#[derive(Debug, Default)]
pub struct ScriptCounters {
    /// Runs started.
    pub runs: AtomicU64,
    /// Runs that failed.
    pub failures: AtomicU64,
    /// Runs killed at their timeout.
    pub timeouts: AtomicU64,
    /// Runs skipped because one was still running.
    pub skipped: AtomicU64,
    /// 0: no push in force, 1: pushed up, 2: pushed down.
    pushed: std::sync::atomic::AtomicU8,
}

impl ScriptCounters {
    fn set_pushed(&self, pushed: Option<bool>) {
        let v = match pushed {
            None => 0,
            Some(true) => 1,
            Some(false) => 2,
        };
        self.pushed.store(v, Ordering::Relaxed);
    }

    fn pushed(&self) -> Option<bool> {
        match self.pushed.load(Ordering::Relaxed) {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }
}

/// A point-in-time copy of [`ScriptCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScriptCountersSnapshot {
    /// Runs started.
    pub runs: u64,
    /// Runs that failed.
    pub failures: u64,
    /// Runs killed at their timeout.
    pub timeouts: u64,
    /// Runs skipped because one was still running.
    pub skipped: u64,
}

impl ScriptCounters {
    /// The counters' values now.
    pub fn snapshot(&self) -> ScriptCountersSnapshot {
        ScriptCountersSnapshot {
            runs: self.runs.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }
}

/// A running track script.
#[derive(Debug)]
pub struct ScriptTracker {
    name: String,
    push_tx: mpsc::Sender<bool>,
    stop_tx: watch::Sender<bool>,
    task: JoinHandle<()>,
    counters: Arc<ScriptCounters>,
}

impl ScriptTracker {
    /// Checks and starts the script's task. Must be called inside a tokio runtime. The
    /// initial state (up, or down with `init_fail`) is sent on `updates` first.
    pub fn start(
        spec: TrackScriptSpec,
        settings: &ScriptSettings,
        updates: mpsc::Sender<TrackerUpdate>,
    ) -> Result<Self, TrackerError> {
        let plan = ExecPlan::for_command(&spec.command, SCRIPT_PATH)?;
        let run_as = match &spec.user {
            Some((user, group)) => {
                Some(RunAs::resolve(user, group.as_deref()).map_err(|source| {
                    TrackerError::User {
                        script: spec.name.clone(),
                        source,
                    }
                })?)
            }
            None => settings.default_user.clone(),
        };
        if settings.enable_script_security {
            check_script_secure(&spec.name, plan.program())?;
        }
        let (push_tx, push_rx) = mpsc::channel(16);
        let (stop_tx, stop_rx) = watch::channel(false);
        let counters = Arc::new(ScriptCounters::default());
        let name = spec.name.clone();
        let task = tokio::spawn(run_loop(
            spec,
            plan,
            run_as,
            push_rx,
            stop_rx,
            updates,
            counters.clone(),
        ));
        Ok(ScriptTracker {
            name,
            push_tx,
            stop_tx,
            task,
            counters,
        })
    }

    /// The script's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Pushes a state from outside (`track NAME up|down`); never blocks.
    pub fn push(&self, up: bool) -> Result<(), TrackerError> {
        self.push_tx.try_send(up).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => TrackerError::Busy(self.name.clone()),
            mpsc::error::TrySendError::Closed(_) => TrackerError::Stopped(self.name.clone()),
        })
    }

    /// Its run counters now.
    pub fn counters(&self) -> ScriptCountersSnapshot {
        self.counters.snapshot()
    }

    /// The pushed state in force (`track NAME up|down`), until a script result agrees with it
    /// and releases it; `None` when the script drives the state.
    pub fn pushed(&self) -> Option<bool> {
        self.counters.pushed()
    }

    /// Stops the task; a run in progress gets SIGTERM (SIGKILL 2 s later) and is reaped.
    pub async fn stop(self) {
        let _ = self.stop_tx.send(true);
        let _ = self.task.await;
    }
}

async fn run_loop(
    spec: TrackScriptSpec,
    plan: ExecPlan,
    run_as: Option<RunAs>,
    mut push_rx: mpsc::Receiver<bool>,
    mut stop_rx: watch::Receiver<bool>,
    updates: mpsc::Sender<TrackerUpdate>,
    counters: Arc<ScriptCounters>,
) {
    let name = spec.name.clone();
    let mut filter = RiseFall::new(spec.rise, spec.fall, spec.init_fail);
    let initial = TrackerUpdate {
        name: name.clone(),
        up: filter.is_up(),
        value: None,
        reason: if spec.init_fail {
            format!("track script {name}: initial state down (init_fail)")
        } else {
            format!("track script {name}: initial state up")
        },
    };
    if updates.send(initial).await.is_err() {
        return;
    }
    let interval = spec.effective_interval();
    let timeout = spec.effective_timeout();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut running: Option<JoinHandle<RunOutcome>> = None;
    let run_stop = stop_rx.clone();
    let mut started = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if running.is_some() {
                    counters.skipped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(script = %name, "track script still running after {:.3}s, skipping this run", interval.as_secs_f64());
                    continue;
                }
                counters.runs.fetch_add(1, Ordering::Relaxed);
                started = tokio::time::Instant::now();
                let cmd = build_command(&plan, &[], run_as.as_ref());
                let mut stop = run_stop.clone();
                running = Some(tokio::spawn(run_bounded_until(cmd, timeout, async move {
                    let _ = stop.wait_for(|s| *s).await;
                })));
            }
            joined = async { running.as_mut().expect("guarded by the if").await }, if running.is_some() => {
                running = None;
                let outcome = joined.unwrap_or_else(|e| RunOutcome::SpawnFailed(e.to_string()));
                crate::metrics::events::script_run(&name, started.elapsed(), &outcome);
                if !outcome.is_success() {
                    counters.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(script = %name, %outcome, "track script failed");
                }
                if matches!(outcome, RunOutcome::TimedOut(_)) {
                    counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(script = %name, "track script {outcome}; killed its process group");
                }
                let change = filter.observe(outcome.is_success());
                counters.set_pushed(filter.pushed());
                if let Some(change) = change {
                    let reason = describe(&name, change.up, change.cause, Some(&outcome));
                    if send_change(&updates, &name, change.up, reason).await.is_err() {
                        break;
                    }
                }
            }
            pushed = push_rx.recv() => {
                let Some(up) = pushed else { continue };
                let change = filter.push(up);
                counters.set_pushed(filter.pushed());
                if let Some(change) = change {
                    let reason = describe(&name, change.up, change.cause, None);
                    if send_change(&updates, &name, change.up, reason).await.is_err() {
                        break;
                    }
                }
            }
            () = async { let _ = stop_rx.wait_for(|s| *s).await; } => break,
        }
    }
    if let Some(run) = running.take() {
        // A stop (or the tracker being dropped) also reaches the run, which then kills its
        // process group; otherwise the run ends within its timeout. Either way it is reaped.
        let _ = run.await;
    }
}

async fn send_change(
    updates: &mpsc::Sender<TrackerUpdate>,
    name: &str,
    up: bool,
    reason: String,
) -> Result<(), ()> {
    if up {
        tracing::info!(script = %name, "{reason}");
    } else {
        tracing::warn!(script = %name, "{reason}");
    }
    updates
        .send(TrackerUpdate {
            name: name.to_owned(),
            up,
            value: None,
            reason,
        })
        .await
        .map_err(|_| ())
}

fn describe(name: &str, up: bool, cause: ChangeCause, last: Option<&RunOutcome>) -> String {
    match (cause, up) {
        (ChangeCause::Pushed, true) => format!("track script {name}: pushed up"),
        (ChangeCause::Pushed, false) => format!("track script {name}: pushed down"),
        (ChangeCause::Counted { consecutive }, true) => {
            format!("track script {name}: succeeded {consecutive} time(s) in a row")
        }
        (ChangeCause::Counted { consecutive }, false) => match last {
            Some(outcome) => format!(
                "track script {name}: failed {consecutive} time(s) in a row (last: {outcome})"
            ),
            None => format!("track script {name}: failed {consecutive} time(s) in a row"),
        },
    }
}
