//! Notify scripts: `notify_master|backup|fault|stop|deleted` and the generic `notify` (which
//! gets `INSTANCE|GROUP name STATE priority` appended), for instances and sync groups.
//!
//! Each instance or group has its own queue and worker task: the state machine hands a
//! transition over without waiting (`try_send`), and the worker runs that transition's
//! scripts (the specific one and the generic one, concurrently, as keepalived forks both),
//! waits for them (bounded by the timeout), then takes the next transition. So scripts run
//! once per transition, in transition order, and never block VRRP.

pub mod fifo;

use std::time::Duration;

use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::scripts::exec::{
    ExecPlan, PlanError, RunAs, RunAsError, RunOutcome, SCRIPT_PATH, build_command, run_bounded,
};
use crate::scripts::runner::ScriptSettings;
use crate::scripts::security::{UnsafeScript, check_script_secure};

/// Default bound on one notify script run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default number of transitions that may wait for their scripts.
pub const DEFAULT_QUEUE: usize = 64;

/// Whether the notified object is an instance or a sync group (the generic script's `$1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A `vrrp_instance`.
    Instance,
    /// A `vrrp_sync_group`.
    Group,
}

impl Target {
    /// The word scripts and FIFOs see.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Instance => "INSTANCE",
            Target::Group => "GROUP",
        }
    }
}

/// The state a transition enters (the generic script's `$3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyState {
    /// Became MASTER.
    Master,
    /// Became BACKUP.
    Backup,
    /// Entered FAULT.
    Fault,
    /// The daemon is stopping (`notify_stop`).
    Stop,
    /// Removed by a reload (`notify_deleted`).
    Deleted,
    /// A MASTER heard a lower-priority advert (`notify_master_rx_lower_pri`; no generic run).
    MasterRxLowerPri,
}

impl NotifyState {
    /// The word scripts and FIFOs see.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
            NotifyState::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
        }
    }
}

/// `notify_* CMD [user [group]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyScript {
    /// The command line, as written in the config.
    pub command: String,
    /// `user USER [GROUP]` to run it as.
    pub user: Option<(String, Option<String>)>,
}

impl NotifyScript {
    /// A script run as the default user.
    pub fn new(command: impl Into<String>) -> Self {
        NotifyScript {
            command: command.into(),
            user: None,
        }
    }
}

/// The notify configuration of one instance or sync group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySpec {
    /// Whether these are an instance's or a group's scripts.
    pub target: Target,
    /// The instance or group name passed to the scripts.
    pub name: String,
    /// `notify_master`.
    pub master: Option<NotifyScript>,
    /// `notify_backup`.
    pub backup: Option<NotifyScript>,
    /// `notify_fault`.
    pub fault: Option<NotifyScript>,
    /// `notify_stop`.
    pub stop: Option<NotifyScript>,
    /// `notify_deleted`.
    pub deleted: Option<NotifyScript>,
    /// `notify`: the generic script, given type, name, state and priority.
    pub generic: Option<NotifyScript>,
    /// `notify_master_rx_lower_pri`.
    pub master_rx_lower_pri: Option<NotifyScript>,
    /// How long a script may run before it is killed.
    pub timeout: Duration,
}

impl NotifySpec {
    /// A spec without scripts.
    pub fn new(target: Target, name: impl Into<String>) -> Self {
        NotifySpec {
            target,
            name: name.into(),
            master: None,
            backup: None,
            fault: None,
            stop: None,
            deleted: None,
            generic: None,
            master_rx_lower_pri: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Whether no script is configured at all.
    pub fn is_empty(&self) -> bool {
        self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.deleted.is_none()
            && self.generic.is_none()
            && self.master_rx_lower_pri.is_none()
    }
}

/// Why notify scripts could not be set up or a transition was not queued.
#[derive(Debug, Error)]
pub enum NotifyError {
    /// A command that cannot be started.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The script's user or group does not exist.
    #[error("notify script for {name}: {source}")]
    User {
        /// The instance or group name.
        name: String,
        /// The lookup failure.
        #[source]
        source: RunAsError,
    },
    /// `enable_script_security` refused the script.
    #[error(transparent)]
    Unsafe(#[from] UnsafeScript),
    /// The queue of this instance or group is full.
    #[error("notify queue of {0} is full; dropping the notification")]
    QueueFull(String),
    /// The worker of this instance or group is gone.
    #[error("notify worker of {0} has stopped")]
    Stopped(String),
}

#[derive(Debug, Clone)]
struct Prepared {
    plan: ExecPlan,
    run_as: Option<RunAs>,
}

fn prepare(
    name: &str,
    script: &Option<NotifyScript>,
    settings: &ScriptSettings,
) -> Result<Option<Prepared>, NotifyError> {
    let Some(script) = script else {
        return Ok(None);
    };
    let plan = ExecPlan::for_command(&script.command, SCRIPT_PATH)?;
    let run_as = match &script.user {
        Some((user, group)) => {
            Some(
                RunAs::resolve(user, group.as_deref()).map_err(|source| NotifyError::User {
                    name: name.to_owned(),
                    source,
                })?,
            )
        }
        None => settings.default_user.clone(),
    };
    if settings.enable_script_security {
        check_script_secure(name, plan.program())?;
    }
    Ok(Some(Prepared { plan, run_as }))
}

#[derive(Debug, Clone)]
struct PreparedSpec {
    target: Target,
    name: String,
    master: Option<Prepared>,
    backup: Option<Prepared>,
    fault: Option<Prepared>,
    stop: Option<Prepared>,
    deleted: Option<Prepared>,
    generic: Option<Prepared>,
    master_rx_lower_pri: Option<Prepared>,
    timeout: Duration,
}

impl PreparedSpec {
    fn specific(&self, state: NotifyState) -> Option<&Prepared> {
        match state {
            NotifyState::Master => self.master.as_ref(),
            NotifyState::Backup => self.backup.as_ref(),
            NotifyState::Fault => self.fault.as_ref(),
            NotifyState::Stop => self.stop.as_ref(),
            NotifyState::Deleted => self.deleted.as_ref(),
            NotifyState::MasterRxLowerPri => self.master_rx_lower_pri.as_ref(),
        }
    }
}

/// The arguments appended to the generic `notify` script.
pub fn generic_args(target: Target, name: &str, state: NotifyState, priority: u8) -> Vec<String> {
    let priority = match target {
        Target::Instance => priority,
        Target::Group => 0,
    };
    vec![
        target.as_str().to_owned(),
        name.to_owned(),
        state.as_str().to_owned(),
        priority.to_string(),
    ]
}

/// The notify queue and worker of one instance or group.
#[derive(Debug)]
pub struct Notifier {
    name: String,
    tx: mpsc::Sender<(NotifyState, u8)>,
    task: JoinHandle<()>,
}

impl Notifier {
    /// Resolves users, checks script security, and starts the worker (inside a runtime).
    pub fn start(
        spec: NotifySpec,
        settings: &ScriptSettings,
        queue: usize,
    ) -> Result<Self, NotifyError> {
        let prepared = PreparedSpec {
            target: spec.target,
            name: spec.name.clone(),
            master: prepare(&spec.name, &spec.master, settings)?,
            backup: prepare(&spec.name, &spec.backup, settings)?,
            fault: prepare(&spec.name, &spec.fault, settings)?,
            stop: prepare(&spec.name, &spec.stop, settings)?,
            deleted: prepare(&spec.name, &spec.deleted, settings)?,
            generic: prepare(&spec.name, &spec.generic, settings)?,
            master_rx_lower_pri: prepare(&spec.name, &spec.master_rx_lower_pri, settings)?,
            timeout: spec.timeout,
        };
        let (tx, rx) = mpsc::channel(queue.max(1));
        let task = tokio::spawn(worker(prepared, rx));
        Ok(Notifier {
            name: spec.name,
            tx,
            task,
        })
    }

    /// Queues one transition; never waits.
    pub fn notify(&self, state: NotifyState, priority: u8) -> Result<(), NotifyError> {
        self.tx.try_send((state, priority)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                crate::metrics::events::notify("script", &self.name, "queue_full");
                tracing::error!(target_name = %self.name, "notify queue full; dropping {} notification", state.as_str());
                NotifyError::QueueFull(self.name.clone())
            }
            mpsc::error::TrySendError::Closed(_) => NotifyError::Stopped(self.name.clone()),
        })
    }

    /// Lets queued notifications (e.g. STOP at shutdown) run for at most `deadline`.
    pub async fn shutdown(self, deadline: Duration) {
        drop(self.tx);
        let mut task = self.task;
        if tokio::time::timeout(deadline, &mut task).await.is_err() {
            task.abort();
        }
    }
}

async fn run_one(spec: &PreparedSpec, p: &Prepared, extra: &[String], what: &str) {
    let outcome = run_bounded(
        build_command(&p.plan, extra, p.run_as.as_ref()),
        spec.timeout,
    )
    .await;
    let result = crate::metrics::events::result_label(&outcome);
    crate::metrics::events::notify("script", &spec.name, result);
    match outcome {
        RunOutcome::Exited(0) => {
            tracing::debug!(target_name = %spec.name, "{what} script finished")
        }
        other => tracing::warn!(target_name = %spec.name, "{what} script: {other}"),
    }
}

async fn worker(spec: PreparedSpec, mut rx: mpsc::Receiver<(NotifyState, u8)>) {
    while let Some((state, priority)) = rx.recv().await {
        let specific = async {
            if let Some(p) = spec.specific(state) {
                let what = format!("notify_{}", state.as_str().to_ascii_lowercase());
                run_one(&spec, p, &[], &what).await;
            }
        };
        let generic = async {
            if let Some(p) = spec
                .generic
                .as_ref()
                .filter(|_| state != NotifyState::MasterRxLowerPri)
            {
                let args = generic_args(spec.target, &spec.name, state, priority);
                run_one(&spec, p, &args, "notify").await;
            }
        };
        tokio::join!(specific, generic);
    }
}

impl From<&keepalived_conf::ScriptCommand> for NotifyScript {
    fn from(s: &keepalived_conf::ScriptCommand) -> Self {
        NotifyScript {
            command: s.argv_source.clone(),
            user: s.user.clone().map(|u| (u, s.group.clone())),
        }
    }
}

impl NotifySpec {
    /// The notify scripts of an instance or sync group from keepalived-conf's model.
    pub fn from_conf(target: Target, name: &str, notify: &keepalived_conf::Notify) -> Self {
        let conv = |s: &Option<keepalived_conf::ScriptCommand>| s.as_ref().map(NotifyScript::from);
        NotifySpec {
            master: conv(&notify.master),
            backup: conv(&notify.backup),
            fault: conv(&notify.fault),
            stop: conv(&notify.stop),
            deleted: conv(&notify.deleted),
            generic: conv(&notify.generic),
            master_rx_lower_pri: conv(&notify.master_rx_lower_pri),
            ..NotifySpec::new(target, name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_args_follow_keepalived() {
        assert_eq!(
            generic_args(Target::Instance, "VI_1", NotifyState::Master, 103),
            ["INSTANCE", "VI_1", "MASTER", "103"]
        );
        assert_eq!(
            generic_args(Target::Group, "G", NotifyState::Fault, 103),
            ["GROUP", "G", "FAULT", "0"]
        );
    }
}
