//! Every tracker of a configuration, started together: the `vrrp_script`s and `track_file`s
//! that some instance or sync group tracks (keepalived runs only tracked scripts), keyed by
//! name, so the daemon can push states, read counters and stop them all on reload or exit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use keepalived_conf as kc;
use tokio::sync::mpsc;

use super::runner::{ScriptSettings, ScriptTracker, TrackScriptSpec, TrackerError, TrackerUpdate};
use super::track_file::{DEFAULT_POLL, FileTracker, TrackFileSpec};
use crate::control::ScriptStats;

/// A tracker that could not be started (the others run).
#[derive(Debug)]
pub struct StartFailure {
    pub name: String,
    pub error: String,
}

/// The running trackers of one configuration.
#[derive(Debug, Default)]
pub struct TrackerSet {
    scripts: BTreeMap<String, ScriptTracker>,
    files: BTreeMap<String, FileTracker>,
}

/// Names of the scripts and files tracked by at least one instance or sync group.
fn tracked_names(config: &kc::Config) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut scripts = BTreeSet::new();
    let mut files = BTreeSet::new();
    for i in &config.instances {
        scripts.extend(i.track_script.iter().map(|r| r.name.clone()));
        files.extend(i.track_file.iter().map(|r| r.name.clone()));
    }
    for g in &config.sync_groups {
        scripts.extend(g.track_script.iter().map(|r| r.name.clone()));
        files.extend(g.track_file.iter().map(|r| r.name.clone()));
    }
    (scripts, files)
}

impl TrackerSet {
    /// Starts every tracked script and file (inside a tokio runtime). Each sends its initial
    /// state, then its changes, on `updates`. A tracker that cannot start (unknown user,
    /// refused by script security, unwritable `init_file`) is returned as a failure: the
    /// daemon logs it and treats the tracker as down, as keepalived does.
    pub fn start(
        config: &kc::Config,
        settings: &ScriptSettings,
        updates: mpsc::Sender<TrackerUpdate>,
    ) -> (Self, Vec<StartFailure>) {
        let (script_names, file_names) = tracked_names(config);
        let mut set = TrackerSet::default();
        let mut failures = Vec::new();
        for name in script_names {
            let Some(script) = config.scripts.get(&name) else {
                continue;
            };
            match ScriptTracker::start(TrackScriptSpec::from(script), settings, updates.clone()) {
                Ok(t) => {
                    set.scripts.insert(name, t);
                }
                Err(e) => failures.push(StartFailure {
                    name,
                    error: e.to_string(),
                }),
            }
        }
        for name in file_names {
            let Some(file) = config.track_files.get(&name) else {
                continue;
            };
            match FileTracker::start(TrackFileSpec::from(file), DEFAULT_POLL, updates.clone()) {
                Ok(t) => {
                    set.files.insert(name, t);
                }
                Err(e) => failures.push(StartFailure {
                    name,
                    error: format!("track file {}: {e}", file.file),
                }),
            }
        }
        (set, failures)
    }

    /// `track NAME up|down`: pushes a script's state.
    pub fn push(&self, name: &str, up: bool) -> Result<(), TrackerError> {
        self.scripts
            .get(name)
            .ok_or_else(|| TrackerError::Stopped(name.to_owned()))?
            .push(up)
    }

    /// Whether a script of that name is running (for a clear `track` error).
    pub fn has_script(&self, name: &str) -> bool {
        self.scripts.contains_key(name)
    }

    /// Per-script counters for `show stats`.
    pub fn script_stats(&self) -> Vec<ScriptStats> {
        self.scripts
            .iter()
            .map(|(name, t)| {
                let c = t.counters();
                ScriptStats {
                    name: name.clone(),
                    runs: c.runs,
                    failures: c.failures,
                    timeouts: c.timeouts,
                    skipped: c.skipped,
                }
            })
            .collect()
    }

    /// Stops everything at once; scripts still running get SIGTERM (SIGKILL 2 s later), so
    /// this takes at most [`STOP_BOUND`].
    pub async fn stop(self) {
        let scripts = self.scripts.into_values().map(|t| Box::pin(t.stop()));
        let files = self.files.into_values().map(|f| Box::pin(f.stop()));
        futures_util::future::join_all(scripts).await;
        futures_util::future::join_all(files).await;
    }
}

/// How long [`TrackerSet::stop`] takes at most: the kill grace of a running script.
pub const STOP_BOUND: Duration = super::exec::KILL_GRACE;

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
        let (tx, mut rx) = mpsc::channel(16);
        let (set, failures) = TrackerSet::start(&config, &ScriptSettings::default(), tx);
        assert!(failures.is_empty(), "{failures:?}");
        assert!(set.has_script("tracked") && !set.has_script("untracked"));
        let first = rx.recv().await.unwrap();
        assert_eq!((first.name.as_str(), first.up), ("tracked", true));
        set.push("tracked", false).unwrap();
        let pushed = rx.recv().await.unwrap();
        assert!(!pushed.up && pushed.reason.contains("pushed"));
        assert!(set.push("untracked", false).is_err());
        assert_eq!(set.script_stats().len(), 1);
        set.stop().await;
    }
}
