//! `vrrp_track_process`: keepalived's fork-free watch on processes. One task watches every
//! tracked process: through the kernel's process-event connector, which answers only in the
//! initial network namespace (so vrrpd in another one opens its socket there when it may),
//! otherwise through a pidfd per matched process (exits are seen at once) plus a /proc rescan
//! every [`procfs::RESCAN_INTERVAL`] for processes started since. Processes already running are found by one /proc scan at start. The mechanism in
//! use is part of every report, so `show status` says which one runs.

// The connector's netlink socket and pidfd_open.
#[allow(unsafe_code)]
pub mod connector;
pub mod matcher;
#[allow(unsafe_code)]
pub mod procfs;
pub mod quorum;

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use keepalived_conf as kc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::scripts::TrackerUpdate;
use connector::{Connector, ProcEvent};
use matcher::{Matcher, ProcInfo};
use quorum::{Cause, QuorumRule, QuorumState};

/// One `vrrp_track_process` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackProcessSpec {
    /// The `vrrp_track_process` name.
    pub name: String,
    /// Which processes count.
    pub matcher: Matcher,
    /// How many must run, and the delays.
    pub rule: QuorumRule,
}

impl From<&kc::TrackProcess> for TrackProcessSpec {
    fn from(t: &kc::TrackProcess) -> Self {
        TrackProcessSpec {
            name: t.name.clone(),
            matcher: Matcher {
                process: t.process.clone(),
                params: t.params.clone(),
                param_match: t.param_match,
                full_command: t.full_command,
            },
            rule: QuorumRule {
                quorum: t.quorum,
                quorum_max: t.quorum_max,
                fork_delay: t.fork_delay,
                terminate_delay: t.terminate_delay,
            },
        }
    }
}

/// How process starts and exits are learnt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// The kernel's process-event connector (vrrpd runs in the initial network namespace).
    Connector,
    /// The connector, its socket made in the initial network namespace because the kernel
    /// refuses it in vrrpd's own (containers, labs).
    ConnectorFromInitialNamespace,
    /// The connector refused (the error says why, e.g. not the initial network namespace).
    PidfdRescan(String),
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mechanism::Connector => write!(f, "process-event connector"),
            Mechanism::ConnectorFromInitialNamespace => write!(
                f,
                "process-event connector (socket opened in the initial network namespace)"
            ),
            Mechanism::PidfdRescan(why) => write!(
                f,
                "pidfd exit watch + /proc rescan every {} ms (no process-event connector: {why})",
                procfs::RESCAN_INTERVAL.as_millis()
            ),
        }
    }
}

/// The running watch over every tracked process.
#[derive(Debug)]
pub struct ProcessTracker {
    stop_tx: watch::Sender<bool>,
    task: JoinHandle<()>,
    /// How this tracker learns of starts and exits (shown in `show status`).
    pub mechanism: Mechanism,
}

impl ProcessTracker {
    /// Opens the connector (or falls back), scans /proc once and reports every tracker's
    /// initial state on `updates`; the connector socket's receive buffer is `rcvbuf`
    /// (`process_monitor_rcv_bufs`; unset: 4 MiB asked).
    pub fn start(
        specs: Vec<TrackProcessSpec>,
        updates: mpsc::Sender<TrackerUpdate>,
        rcvbuf: keepalived_conf::RcvBuf,
    ) -> Self {
        Self::start_inner(specs, updates, true, rcvbuf)
    }

    /// As [`ProcessTracker::start`]; `try_connector` false forces the fallback (tests).
    pub fn start_with(
        specs: Vec<TrackProcessSpec>,
        updates: mpsc::Sender<TrackerUpdate>,
        try_connector: bool,
    ) -> Self {
        Self::start_inner(specs, updates, try_connector, Default::default())
    }

    fn start_inner(
        specs: Vec<TrackProcessSpec>,
        updates: mpsc::Sender<TrackerUpdate>,
        try_connector: bool,
        rcvbuf: keepalived_conf::RcvBuf,
    ) -> Self {
        let opened = if try_connector {
            Connector::open().inspect(|(c, _)| c.set_rcvbuf(rcvbuf))
        } else {
            Err(std::io::Error::other("not tried"))
        };
        let (conn, mechanism) = match opened {
            Ok((c, connector::Opened::Here)) => (Some(c), Mechanism::Connector),
            Ok((c, connector::Opened::InitialNamespace)) => {
                (Some(c), Mechanism::ConnectorFromInitialNamespace)
            }
            Err(e) => (None, Mechanism::PidfdRescan(e.to_string())),
        };
        tracing::info!(mechanism = %mechanism, trackers = specs.len(), "tracking processes");
        let (stop_tx, stop_rx) = watch::channel(false);
        let state = Watch::new(specs, mechanism.to_string(), updates);
        let task = tokio::spawn(state.run(conn, stop_rx));
        ProcessTracker {
            stop_tx,
            task,
            mechanism,
        }
    }

    /// Stops watching and waits for the task to end.
    pub async fn stop(self) {
        let _ = self.stop_tx.send(true);
        let _ = self.task.await;
    }
}

struct Watch {
    specs: Vec<TrackProcessSpec>,
    matched: Vec<BTreeSet<i32>>,
    states: Vec<QuorumState>,
    mechanism: String,
    updates: mpsc::Sender<TrackerUpdate>,
    /// Fallback only: a waiter per matched process, sending its pid when it ends.
    pidfds: HashMap<i32, JoinHandle<()>>,
    exits_tx: mpsc::Sender<i32>,
}

impl Watch {
    fn new(
        specs: Vec<TrackProcessSpec>,
        mechanism: String,
        updates: mpsc::Sender<TrackerUpdate>,
    ) -> Self {
        let (exits_tx, _) = mpsc::channel(1);
        Watch {
            matched: vec![BTreeSet::new(); specs.len()],
            states: specs.iter().map(|s| QuorumState::new(s.rule)).collect(),
            specs,
            mechanism,
            updates,
            pidfds: HashMap::new(),
            exits_tx,
        }
    }

    async fn run(mut self, conn: Option<Connector>, mut stop_rx: watch::Receiver<bool>) {
        let (exits_tx, mut exits_rx) = mpsc::channel(1024);
        self.exits_tx = exits_tx;
        let fallback = conn.is_none();
        self.rescan(fallback).await;
        let mut buf = vec![0u8; 64 * 1024];
        let mut rescan = tokio::time::interval(procfs::RESCAN_INTERVAL);
        rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        rescan.reset();
        loop {
            let deadline = self.states.iter().filter_map(QuorumState::deadline).min();
            let sleep =
                deadline.unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(3600));
            tokio::select! {
                () = async { let _ = stop_rx.wait_for(|s| *s).await; } => break,
                r = async { conn.as_ref().expect("connector").recv(&mut buf).await }, if !fallback => {
                    match r {
                        Ok(events) => self.on_events(&events).await,
                        Err(e) => {
                            // ENOBUFS: the kernel dropped events; learn the truth again.
                            tracing::warn!(error = %e, "process events lost; rescanning /proc");
                            self.rescan(false).await;
                        }
                    }
                }
                Some(pid) = exits_rx.recv() => {
                    self.pidfds.remove(&pid);
                    self.apply(pid, None).await;
                }
                _ = rescan.tick(), if fallback => self.rescan(true).await,
                _ = tokio::time::sleep_until(sleep.into()) => self.on_time().await,
            }
        }
        for (_, h) in self.pidfds.drain() {
            h.abort();
        }
    }

    async fn on_events(&mut self, events: &[ProcEvent]) {
        for e in events {
            match *e {
                ProcEvent::Fork(pid) | ProcEvent::Exec(pid) | ProcEvent::Comm(pid) => {
                    let info = procfs::read(pid);
                    self.apply(pid, info.as_ref()).await;
                }
                ProcEvent::Exit(pid) => self.apply(pid, None).await,
            }
        }
    }

    /// `pid` is now `info` (None: gone); reports the trackers whose state changes.
    async fn apply(&mut self, pid: i32, info: Option<&ProcInfo>) {
        let now = Instant::now();
        for i in 0..self.specs.len() {
            let is = info.is_some_and(|p| self.specs[i].matcher.matches(p));
            let changed = if is {
                self.matched[i].insert(pid).then_some(Cause::Appeared)
            } else {
                self.matched[i].remove(&pid).then_some(Cause::Vanished)
            };
            if let Some(cause) = changed {
                let n = self.matched[i].len();
                if let Some(up) = self.states[i].on_count(n, cause, now) {
                    self.report(i, up).await;
                }
            }
        }
    }

    /// One pass over /proc: the set of matching processes of every tracker, afresh.
    async fn rescan(&mut self, with_pidfds: bool) {
        let pids = match procfs::pids() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read /proc; process trackers keep their state");
                return;
            }
        };
        let mut fresh = vec![BTreeSet::new(); self.specs.len()];
        for pid in pids {
            let Some(info) = procfs::read(pid) else {
                continue;
            };
            for (i, s) in self.specs.iter().enumerate() {
                if s.matcher.matches(&info) {
                    fresh[i].insert(pid);
                }
            }
        }
        if with_pidfds {
            self.watch_exits(fresh.iter().flatten().copied().collect());
        }
        let now = Instant::now();
        for (i, set) in fresh.into_iter().enumerate() {
            let first = self.states[i].reported().is_none();
            if set == self.matched[i] && !first {
                continue;
            }
            let cause = if set.len() < self.matched[i].len() || !set.is_superset(&self.matched[i]) {
                Cause::Vanished
            } else {
                Cause::Appeared
            };
            self.matched[i] = set;
            if let Some(up) = self.states[i].on_count(self.matched[i].len(), cause, now) {
                self.report(i, up).await;
            }
        }
    }

    /// Fallback: a pidfd waiter for each newly matched process.
    fn watch_exits(&mut self, pids: BTreeSet<i32>) {
        self.pidfds.retain(|pid, h| {
            let keep = pids.contains(pid);
            if !keep {
                h.abort();
            }
            keep
        });
        for pid in pids {
            if self.pidfds.contains_key(&pid) {
                continue;
            }
            let tx = self.exits_tx.clone();
            match procfs::PidFd::open(pid) {
                Ok(fd) => {
                    let h = tokio::spawn(async move {
                        fd.exited().await;
                        let _ = tx.send(pid).await;
                    });
                    self.pidfds.insert(pid, h);
                }
                // Gone between the scan and now: the next rescan drops it.
                Err(e) => tracing::debug!(pid, error = %e, "pidfd_open"),
            }
        }
    }

    async fn on_time(&mut self) {
        let now = Instant::now();
        for i in 0..self.specs.len() {
            if let Some(up) = self.states[i].on_time(now) {
                self.report(i, up).await;
            }
        }
    }

    async fn report(&mut self, i: usize, up: bool) {
        let s = &self.specs[i];
        let n = self.matched[i].len();
        let bounds = match s.rule.quorum_max {
            Some(max) => format!("{}..{max}", s.rule.quorum),
            None => format!("{}+", s.rule.quorum),
        };
        let reason = format!(
            "track process {}: {n} `{}` running (quorum {bounds}) via {}",
            s.name, s.matcher.process, self.mechanism
        );
        tracing::info!(process = %s.name, running = n, up, "{reason}");
        let _ = self
            .updates
            .send(TrackerUpdate {
                name: s.name.clone(),
                up,
                value: None,
                reason,
            })
            .await;
    }
}
