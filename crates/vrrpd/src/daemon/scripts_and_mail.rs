//! The daemon's side effects beyond the network: track scripts and files (their updates come
//! back to the event loop), notify scripts and e-mail alerts on transitions. Built from the
//! keepalived-conf model and re-applied on reload: a script whose definition did not change
//! keeps running (no spurious state change), others are stopped or started.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use keepalived_conf as kc;
use tokio::sync::mpsc;

use crate::alert::{Alert, AlertKind, AlertQueue, SmtpSpec, should_mail};
use crate::control::{AlertStats, ScriptStats, TrackerKind};
use crate::notify::fifo::{self, FifoSpec, NotifyFifo};
use crate::notify::{Notifier, NotifySpec, NotifyState, Target};
use crate::scripts::{FileTracker, ScriptSettings, ScriptTracker, TrackScriptSpec, TrackerUpdate};
use crate::scripts::{TrackFileSpec, conf::instance_trackers};
use crate::spec::TrackerId;
use crate::track_process::{ProcessTracker, TrackProcessSpec};

/// How often `track_file`s are read.
const FILE_POLL: Duration = Duration::from_millis(500);

/// The last known state of one tracker, for `show status`.
#[derive(Debug, Clone, Default)]
pub(super) struct TrackerState {
    pub up: bool,
    pub value: Option<i64>,
    pub reason: String,
}

pub(super) struct ScriptsAndMail {
    conf: Option<Arc<kc::Config>>,
    scripts: HashMap<String, (TrackScriptSpec, ScriptTracker)>,
    files: HashMap<String, (TrackFileSpec, FileTracker)>,
    processes: Option<(Vec<TrackProcessSpec>, ProcessTracker)>,
    notifiers: HashMap<(bool, String), (NotifySpec, Notifier)>,
    /// Notifiers of instances and groups a reload removes: kept until their STOP or DELETED
    /// has been queued ([`ScriptsAndMail::finish_apply`]).
    leaving: HashMap<(bool, String), (NotifySpec, Notifier)>,
    /// The configuration before the last reload (whether a removed instance wants DELETED).
    previous: Option<Arc<kc::Config>>,
    /// `notify_fifo` and `vrrp_notify_fifo` (one entry when both name the same path).
    fifos: Vec<NotifyFifo>,
    /// Group lines waiting for the end of their unit's batch of actions.
    pending_groups: Vec<String>,
    /// Lines held while units start: (groups' initial lines, the others).
    held: Option<(Vec<String>, Vec<String>)>,
    alerts: Option<(SmtpSpec, AlertQueue)>,
    /// Last state notified per sync group, so a group is notified once per group change.
    group_state: HashMap<String, &'static str>,
    pub trackers: HashMap<TrackerId, TrackerState>,
    updates_tx: mpsc::Sender<TrackerUpdate>,
    pub updates_rx: mpsc::Receiver<TrackerUpdate>,
    /// Process trackers report apart: their names may also be scripts' or files'.
    process_tx: mpsc::Sender<TrackerUpdate>,
    pub process_rx: mpsc::Receiver<TrackerUpdate>,
}

impl ScriptsAndMail {
    pub(super) fn new() -> Self {
        let (updates_tx, updates_rx) = mpsc::channel(1024);
        let (process_tx, process_rx) = mpsc::channel(1024);
        ScriptsAndMail {
            conf: None,
            scripts: HashMap::new(),
            files: HashMap::new(),
            processes: None,
            notifiers: HashMap::new(),
            leaving: HashMap::new(),
            previous: None,
            fifos: Vec::new(),
            pending_groups: Vec::new(),
            held: None,
            alerts: None,
            group_state: HashMap::new(),
            trackers: HashMap::new(),
            updates_tx,
            updates_rx,
            process_tx,
            process_rx,
        }
    }

    pub(super) fn conf(&self) -> Option<&Arc<kc::Config>> {
        self.conf.as_ref()
    }

    /// Starts, keeps or stops trackers, notifiers and the mail queue to match `conf`.
    pub(super) async fn apply(&mut self, conf: Arc<kc::Config>) {
        let settings = match ScriptSettings::from_global(&conf.global_defs) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "script_user cannot be used; scripts run as vrrpd's user");
                ScriptSettings::default()
            }
        };
        // Scripts and files referenced by some instance (keepalived runs no unused script).
        let mut wanted_scripts = HashMap::new();
        let mut wanted_files = HashMap::new();
        let mut wanted_processes = std::collections::BTreeMap::new();
        for i in &conf.instances {
            for t in instance_trackers(&conf, i) {
                match t.kind {
                    TrackerKind::Script => {
                        if let Some(s) = conf.scripts.get(&t.weight.name) {
                            wanted_scripts.insert(s.name.clone(), TrackScriptSpec::from(s));
                        }
                    }
                    TrackerKind::File => {
                        if let Some(f) = conf.track_files.get(&t.weight.name) {
                            wanted_files.insert(f.name.clone(), TrackFileSpec::from(f));
                        }
                    }
                    TrackerKind::Process => {
                        if let Some(p) = conf.track_processes.get(&t.weight.name) {
                            wanted_processes.insert(p.name.clone(), TrackProcessSpec::from(p));
                        }
                    }
                    TrackerKind::Interface => {}
                }
            }
        }
        let old: Vec<String> = self.scripts.keys().cloned().collect();
        for name in old {
            if wanted_scripts.get(&name) != self.scripts.get(&name).map(|(s, _)| s)
                && let Some((_, t)) = self.scripts.remove(&name)
            {
                t.stop().await;
                self.trackers.remove(&TrackerId::Script(name));
            }
        }
        for (name, spec) in wanted_scripts {
            if self.scripts.contains_key(&name) {
                continue;
            }
            match ScriptTracker::start(spec.clone(), &settings, self.updates_tx.clone()) {
                Ok(t) => {
                    self.scripts.insert(name, (spec, t));
                }
                Err(e) => tracing::error!(script = %name, error = %e, "track script not started"),
            }
        }
        let old: Vec<String> = self.files.keys().cloned().collect();
        for name in old {
            if wanted_files.get(&name) != self.files.get(&name).map(|(s, _)| s)
                && let Some((_, t)) = self.files.remove(&name)
            {
                t.stop().await;
                self.trackers.remove(&TrackerId::File(name));
            }
        }
        for (name, spec) in wanted_files {
            if self.files.contains_key(&name) {
                continue;
            }
            match FileTracker::start(spec.clone(), FILE_POLL, self.updates_tx.clone()) {
                Ok(t) => {
                    self.files.insert(name, (spec, t));
                }
                Err(e) => tracing::error!(track_file = %name, error = %e, "track file not started"),
            }
        }
        let rcvbuf = conf.global_defs.process.process_monitor;
        self.apply_processes(wanted_processes.into_values().collect(), rcvbuf)
            .await;
        self.apply_notifiers(&conf, &settings).await;
        self.apply_fifos(&conf, &settings).await;
        // Mail.
        let smtp = SmtpSpec::from_global(&conf.global_defs, &hostname(), &username());
        if smtp.as_ref() != self.alerts.as_ref().map(|(s, _)| s) {
            if let Some((_, q)) = self.alerts.take() {
                q.shutdown(Duration::from_secs(1)).await;
            }
            if let Some(spec) = smtp {
                match AlertQueue::start(spec.clone(), crate::alert::DEFAULT_QUEUE) {
                    Ok(q) => self.alerts = Some((spec, q)),
                    Err(e) => tracing::error!(error = %e, "e-mail alerts disabled"),
                }
            }
        }
        self.previous = self.conf.replace(conf);
    }

    /// Starts, keeps or retires the notify scripts of instances and sync groups.
    async fn apply_notifiers(&mut self, conf: &kc::Config, settings: &ScriptSettings) {
        let mut wanted = HashMap::new();
        for i in &conf.instances {
            let spec = NotifySpec::from_conf(Target::Instance, &i.name, &i.notify);
            if !spec.is_empty() {
                wanted.insert((false, i.name.clone()), spec);
            }
        }
        for g in &conf.sync_groups {
            let spec = NotifySpec::from_conf(Target::Group, &g.name, &g.notify);
            if !spec.is_empty() {
                wanted.insert((true, g.name.clone()), spec);
            }
        }
        let old: Vec<(bool, String)> = self.notifiers.keys().cloned().collect();
        for k in old {
            if wanted.get(&k) != self.notifiers.get(&k).map(|(s, _)| s)
                && let Some(n) = self.notifiers.remove(&k)
            {
                if wanted.contains_key(&k) {
                    n.1.shutdown(Duration::from_secs(1)).await;
                } else {
                    self.leaving.insert(k, n);
                }
            }
        }
        for (k, spec) in wanted {
            if self.notifiers.contains_key(&k) {
                continue;
            }
            match Notifier::start(spec.clone(), settings, crate::notify::DEFAULT_QUEUE) {
                Ok(n) => {
                    self.notifiers.insert(k, (spec, n));
                }
                Err(e) => tracing::error!(name = %k.1, error = %e, "notify scripts not started"),
            }
        }
    }

    /// Opens, keeps or closes the notify FIFOs (a FIFO whose settings did not change stays open
    /// with its reader running).
    async fn apply_fifos(&mut self, conf: &kc::Config, settings: &ScriptSettings) {
        let g = &conf.global_defs;
        let mut wanted: Vec<FifoSpec> = Vec::new();
        for f in [&g.notify_fifo, &g.vrrp_notify_fifo].into_iter().flatten() {
            let spec = FifoSpec::from_conf(f, g.process.umask);
            if !wanted.iter().any(|w| w.path == spec.path) {
                wanted.push(spec);
            }
        }
        let mut kept = Vec::new();
        for f in std::mem::take(&mut self.fifos) {
            match wanted.iter().position(|w| w == f.spec()) {
                Some(i) => {
                    wanted.remove(i);
                    kept.push(f);
                }
                None => f.close().await,
            }
        }
        for spec in wanted {
            let path = spec.path.display().to_string();
            match NotifyFifo::open(spec, settings) {
                Ok(f) => kept.push(f),
                Err(e) => tracing::error!(fifo = %path, error = %e, "notify FIFO not opened"),
            }
        }
        self.fifos = kept;
    }

    /// Shuts the notifiers of what the last reload removed, once their last event is queued.
    pub(super) async fn finish_apply(&mut self) {
        for (_, (_, n)) in self.leaving.drain() {
            n.shutdown(Duration::from_secs(1)).await;
        }
        self.previous = None;
    }

    /// `fifo_write_vrrp_states_on_reload`: once a reload is in place, every sync group's state
    /// again (keepalived 2.2.7 writes the groups' lines then, not the instances').
    pub(super) fn write_states_after_reload(&mut self) {
        let Some(conf) = self.conf.as_ref() else {
            return;
        };
        if !conf.global_defs.fifo_write_vrrp_states_on_reload {
            return;
        }
        let lines: Vec<String> = conf
            .sync_groups
            .iter()
            .filter_map(|g| {
                let state = notify_state(self.group_state.get(&g.name)?)?;
                Some(fifo::line(
                    Target::Group.as_str(),
                    &g.name,
                    state.as_str(),
                    0,
                ))
            })
            .collect();
        for text in lines {
            self.emit(text, false);
        }
    }

    fn fifo_line(&mut self, kind: Target, name: &str, word: &str, priority: u8) {
        self.emit(fifo::line(kind.as_str(), name, word, priority), false);
    }

    /// Writes a FIFO line, or holds it while units start (`initial_group`: a group's first
    /// line, which goes before the held instance lines, as keepalived announces groups first).
    fn emit(&mut self, text: String, initial_group: bool) {
        match &mut self.held {
            Some((groups, _)) if initial_group => groups.push(text),
            Some((_, rest)) => rest.push(text),
            None => {
                for f in &mut self.fifos {
                    f.write_line(&text);
                }
            }
        }
    }

    /// Writes the group lines of the batch of actions just carried out (after its members').
    pub(super) fn flush_group_lines(&mut self) {
        for text in std::mem::take(&mut self.pending_groups) {
            self.emit(text, false);
        }
    }

    /// Holds FIFO lines while a set of units starts ([`ScriptsAndMail::release_held`]).
    pub(super) fn hold_lines(&mut self) {
        self.held.get_or_insert_default();
    }

    /// Writes the held lines: the groups' initial states first, then the rest in order.
    pub(super) fn release_held(&mut self) {
        if let Some((groups, rest)) = self.held.take() {
            for text in groups.into_iter().chain(rest) {
                self.emit(text, false);
            }
        }
    }

    fn notifier(&self, key: &(bool, String)) -> Option<&Notifier> {
        self.notifiers
            .get(key)
            .or_else(|| self.leaving.get(key))
            .map(|(_, n)| n)
    }

    /// How an instance removed by the reload in progress is notified: DELETED with
    /// `notify_deleted`, otherwise FAULT (as keepalived 2.2.7 does); `None` when not removed.
    fn removed_by_reload(&self, instance: &str) -> Option<NotifyState> {
        let prev = self.previous.as_ref()?;
        let in_new = self
            .conf
            .as_ref()
            .is_some_and(|c| c.instances.iter().any(|i| i.name == instance));
        if in_new {
            return None;
        }
        let old = prev.instances.iter().find(|i| i.name == instance)?;
        Some(if old.notify.send_deleted {
            NotifyState::Deleted
        } else {
            NotifyState::Fault
        })
    }

    /// `notify_priority_changes`: a MASTER's or BACKUP's effective priority changed.
    pub(super) fn on_priority_change(&mut self, instance: &str, state: &str, priority: u8) {
        let wanted = self.conf.as_ref().is_some_and(|c| {
            c.instances
                .iter()
                .any(|i| i.name == instance && i.notify_priority_changes)
        });
        if wanted && matches!(state, "MASTER" | "BACKUP") {
            self.fifo_line(
                Target::Instance,
                instance,
                &format!("{state}_PRIORITY"),
                priority,
            );
        }
    }

    /// `notify_master_rx_lower_pri`: a MASTER heard a lower-priority advert.
    pub(super) fn on_master_rx_lower(&mut self, instance: &str, priority: u8) {
        let configured = self.conf.as_ref().is_some_and(|c| {
            c.instances
                .iter()
                .any(|i| i.name == instance && i.notify.master_rx_lower_pri.is_some())
        });
        if !configured {
            return;
        }
        let state = NotifyState::MasterRxLowerPri;
        self.fifo_line(Target::Instance, instance, state.as_str(), priority);
        if let Some(n) = self.notifier(&(false, instance.to_string())) {
            let _ = n.notify(state, priority);
        }
    }

    /// One watch for every tracked process, restarted when their definitions change.
    async fn apply_processes(&mut self, wanted: Vec<TrackProcessSpec>, rcvbuf: kc::RcvBuf) {
        if self.processes.as_ref().map(|(s, _)| s) == Some(&wanted) {
            return;
        }
        if let Some((old, t)) = self.processes.take() {
            t.stop().await;
            for s in old {
                self.trackers.remove(&TrackerId::Process(s.name));
            }
        }
        if !wanted.is_empty() {
            let t = ProcessTracker::start(wanted.clone(), self.process_tx.clone(), rcvbuf);
            self.processes = Some((wanted, t));
        }
    }

    /// Records a process tracker's update.
    pub(super) fn on_process_update(&mut self, u: &TrackerUpdate) -> TrackerId {
        let id = TrackerId::Process(u.name.clone());
        self.record(&id, u);
        id
    }

    /// Records a tracker update; returns which tracker it is.
    pub(super) fn on_update(&mut self, u: &TrackerUpdate) -> TrackerId {
        let id = if self.files.contains_key(&u.name) && !self.scripts.contains_key(&u.name) {
            TrackerId::File(u.name.clone())
        } else {
            TrackerId::Script(u.name.clone())
        };
        self.record(&id, u);
        id
    }

    fn record(&mut self, id: &TrackerId, u: &TrackerUpdate) {
        let st = self.trackers.entry(id.clone()).or_default();
        st.up = u.up;
        st.value = u.value;
        st.reason = u.reason.clone();
    }

    /// The push in force on track script `name`, if any (`None` once a result agreed).
    pub(super) fn pushed(&self, name: &str) -> Option<bool> {
        self.scripts.get(name).and_then(|(_, t)| t.pushed())
    }

    /// `track NAME up|down` from the control socket.
    pub(super) fn push(&mut self, name: &str, up: bool) -> Result<String, String> {
        let (_, t) = self
            .scripts
            .get(name)
            .ok_or_else(|| format!("no running track script named {name}"))?;
        t.push(up).map_err(|e| e.to_string())?;
        Ok(format!("track {name} {}", if up { "up" } else { "down" }))
    }

    /// Runs notify scripts and queues mail for one instance transition (and its group's);
    /// `group` is the group's name, its state, and whether a change of it is told (a group
    /// that is not told still records the state, so its next change is).
    pub(super) fn on_transition(
        &mut self,
        instance: &str,
        group: Option<(&str, &'static str, bool)>,
        from: &str,
        to: &'static str,
        priority: u8,
        reason: &str,
    ) {
        let Some(mut state) = notify_state(to) else {
            return;
        };
        if state == NotifyState::Stop
            && let Some(removed) = self.removed_by_reload(instance)
        {
            state = removed;
        }
        // keepalived writes a group's first line (at start) before its members' lines, and
        // later ones after those of all members that changed with it.
        if let Some((g, s, _)) =
            group.filter(|(g, s, told)| *told && self.group_state.get(*g) != Some(s))
            && let Some(gs) = notify_state(s)
        {
            let text = fifo::line(Target::Group.as_str(), g, gs.as_str(), 0);
            if self.group_state.contains_key(g) {
                self.pending_groups.push(text);
            } else {
                self.emit(text, true);
            }
        }
        self.emit(
            fifo::line(
                Target::Instance.as_str(),
                instance,
                state.as_str(),
                priority,
            ),
            false,
        );
        if let Some(n) = self.notifier(&(false, instance.to_string())) {
            let _ = n.notify(state, priority);
        }
        let conf = self.conf.clone();
        let Some(conf) = conf else { return };
        let inst_alert = conf
            .instances
            .iter()
            .find(|i| i.name == instance)
            .is_some_and(|i| i.smtp_alert);
        if should_mail(&conf.global_defs, inst_alert, to) {
            self.mail(Alert {
                kind: AlertKind::Instance,
                name: instance.to_string(),
                old_state: from.to_string(),
                new_state: to.to_string(),
                priority: Some(priority),
                reason: reason.to_string(),
            });
        }
        if let Some((g, group_state, told)) = group
            && self.group_state.get(g) != Some(&group_state)
            && let Some(gstate) = notify_state(group_state)
        {
            let old = self.group_state.insert(g.to_string(), group_state);
            if !told {
                return;
            }
            if let Some(n) = self.notifier(&(true, g.to_string())) {
                let _ = n.notify(gstate, 0);
            }
            let group_alert = conf
                .sync_groups
                .iter()
                .find(|s| s.name == g)
                .is_some_and(|s| s.smtp_alert);
            if should_mail(&conf.global_defs, group_alert, group_state) {
                self.mail(Alert {
                    kind: AlertKind::SyncGroup,
                    name: g.to_string(),
                    old_state: old.unwrap_or("INIT").to_string(),
                    new_state: group_state.to_string(),
                    priority: None,
                    reason: reason.to_string(),
                });
            }
        }
    }

    fn mail(&self, alert: Alert) {
        if let Some((_, q)) = &self.alerts
            && let Err(e) = q.send(&alert)
        {
            tracing::warn!(error = %e, "alert mail not queued");
        }
    }

    pub(super) fn script_stats(&self) -> Vec<ScriptStats> {
        let mut v: Vec<ScriptStats> = self
            .scripts
            .iter()
            .map(|(name, (_, t))| {
                let c = t.counters();
                ScriptStats {
                    name: name.clone(),
                    runs: c.runs,
                    failures: c.failures,
                    timeouts: c.timeouts,
                    skipped: c.skipped,
                }
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    pub(super) fn alert_stats(&self) -> AlertStats {
        self.alerts
            .as_ref()
            .map(|(_, q)| q.stats())
            .unwrap_or_default()
    }

    /// Stops scripts; lets queued notifications (STOP) and mails run briefly.
    pub(super) async fn shutdown(&mut self) {
        for (_, (_, t)) in self.scripts.drain() {
            t.stop().await;
        }
        for (_, (_, t)) in self.files.drain() {
            t.stop().await;
        }
        if let Some((_, t)) = self.processes.take() {
            t.stop().await;
        }
        for (_, (_, n)) in self.notifiers.drain().chain(self.leaving.drain()) {
            n.shutdown(Duration::from_secs(5)).await;
        }
        for f in self.fifos.drain(..) {
            f.close().await;
        }
        if let Some((_, q)) = self.alerts.take() {
            q.shutdown(Duration::from_secs(5)).await;
        }
    }
}

impl Default for ScriptsAndMail {
    fn default() -> Self {
        Self::new()
    }
}

fn notify_state(s: &str) -> Option<NotifyState> {
    match s {
        "MASTER" => Some(NotifyState::Master),
        "BACKUP" => Some(NotifyState::Backup),
        "FAULT" => Some(NotifyState::Fault),
        "STOP" => Some(NotifyState::Stop),
        _ => None,
    }
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into())
}

fn username() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| "root".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"
vrrp_script tracked {
    script "/bin/true"
    interval 0.1
    weight 2
}
vrrp_script untracked {
    script "/bin/false"
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress { 198.18.0.100/24 }
    track_script { tracked }
}
"#;

    #[tokio::test]
    async fn only_tracked_scripts_run_and_pushes_reach_them() {
        let res = kc::MemResolver::new().with_file("/k.conf", CONF);
        let config = kc::load_with(
            &res,
            std::path::Path::new("/k.conf"),
            &kc::LoadOptions {
                skip_script_checks: true,
                ..Default::default()
            },
        )
        .config
        .unwrap();
        let mut sm = ScriptsAndMail::new();
        sm.apply(Arc::new(config)).await;
        let stats = sm.script_stats();
        assert_eq!(
            stats.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["tracked"]
        );
        let first = sm.updates_rx.recv().await.unwrap();
        assert_eq!((first.name.as_str(), first.up), ("tracked", true));
        assert_eq!(sm.on_update(&first), TrackerId::Script("tracked".into()));
        sm.push("tracked", false).unwrap();
        let pushed = sm.updates_rx.recv().await.unwrap();
        assert!(!pushed.up && pushed.reason.contains("pushed"));
        assert!(sm.push("untracked", false).is_err());
        sm.shutdown().await;
    }

    #[tokio::test]
    async fn a_process_tracker_named_like_a_script_is_reported_as_a_process() {
        let text = "vrrp_script same {\n script \"/bin/true\"\n interval 0.1\n}\n\
            vrrp_track_process same {\n process no-such-proc-xq\n}\n\
            vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n\
            virtual_ipaddress { 198.18.0.100/24 }\n track_script { same }\n track_process { same }\n}\n";
        let res = kc::MemResolver::new().with_file("/k.conf", text);
        let opts = kc::LoadOptions {
            skip_script_checks: true,
            ..Default::default()
        };
        let config = kc::load_with(&res, std::path::Path::new("/k.conf"), &opts)
            .config
            .unwrap();
        let mut sm = ScriptsAndMail::new();
        sm.apply(Arc::new(config)).await;
        let deadline = Duration::from_secs(10);
        let p = tokio::time::timeout(deadline, sm.process_rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(!p.up, "no such process runs: {}", p.reason);
        assert_eq!(sm.on_process_update(&p), TrackerId::Process("same".into()));
        let s = tokio::time::timeout(deadline, sm.updates_rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(s.up);
        assert_eq!(sm.on_update(&s), TrackerId::Script("same".into()));
        assert!(sm.trackers[&TrackerId::Script("same".into())].up);
        assert!(!sm.trackers[&TrackerId::Process("same".into())].up);
        sm.shutdown().await;
    }
}
