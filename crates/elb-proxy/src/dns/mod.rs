//! Members given by DNS name (or SRV name). A resolver task asks for every name at start,
//! then each name again after min(`resolvers.interval`, its answer's TTL, at least a second)
//! (every name sooner after a connect failure to one of a name's members, at most once a
//! second); when an answer changes, the running snapshot is rebuilt from the config as loaded
//! with the new answers and the runtime changes in force (`crate::running`; members that stay
//! keep their pools, counters and state). Requests never wait for DNS: they run on the snapshot in place. A name that stops
//! resolving keeps its last good answer; the failure is logged on the change, counted, and shown
//! by `show resolvers` and in the metrics.

mod lookup;
mod report;

pub use report::{metrics, show};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use elb_proxy_core::config::{Endpoint, HostPort, ValidConfig};

use crate::shared::Shared;
use crate::snapshot::LiveCluster;

/// Asks the resolver task for a round now (a member from a name refused a connection).
static RESOLVE_NOW: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Shortest time between two rounds when rounds are asked for by connect failures; also the
/// shortest time an answer is kept, whatever its TTL (a TTL of 0 is asked again each second).
const MIN_ROUND_GAP: Duration = Duration::from_secs(1);

/// What is known of one name.
#[derive(Debug, Clone, Default)]
pub struct NameState {
    /// The last good answer (empty until the name first resolves).
    pub addresses: Vec<Endpoint>,
    /// The last good answer's smallest TTL, in seconds.
    pub ttl: Option<u32>,
    /// When the name is asked again.
    next: Option<Instant>,
    /// Why the last round found no address; `None` while the name resolves.
    pub error: Option<String>,
    /// Rounds that asked for this name.
    pub resolutions: u64,
    /// Rounds that found no address.
    pub failures: u64,
    /// When the answer last changed.
    pub changed: Option<SystemTime>,
}

/// The config as loaded and the answers of its names.
#[derive(Debug, Default)]
pub struct Names {
    declared: Mutex<Option<ValidConfig>>,
    answers: Mutex<BTreeMap<HostPort, NameState>>,
}

impl Names {
    fn answers(&self) -> MutexGuard<'_, BTreeMap<HostPort, NameState>> {
        self.answers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `config` with its names expanded to the answers known now (a name no round asked yet
    /// has no member until one does).
    pub fn expand(&self, config: &ValidConfig) -> ValidConfig {
        let answers = self.answers();
        config.expanded(|n| answers.get(n).map(|s| s.addresses.as_slice()))
    }

    /// Takes `config` as the one running (after a start or a reload that succeeded); names it
    /// no longer has are forgotten. True when it has a name no round asked yet.
    pub fn declare(&self, config: ValidConfig) -> bool {
        let names = config.member_names();
        let unknown = {
            let mut answers = self.answers();
            answers.retain(|n, _| names.contains(n));
            names.iter().any(|n| !answers.contains_key(n))
        };
        *self.declared.lock().unwrap_or_else(|p| p.into_inner()) = Some(config);
        unknown
    }

    /// Every name of the loaded config with what is known of it, in name order.
    pub fn report(&self) -> Vec<(HostPort, NameState)> {
        let declared = self.declared();
        let answers = self.answers();
        declared.map_or_else(Vec::new, |c| {
            c.member_names()
                .into_iter()
                .map(|n| {
                    let s = answers.get(&n).cloned().unwrap_or_default();
                    (n, s)
                })
                .collect()
        })
    }

    /// The config as loaded (before its names are expanded).
    pub fn declared(&self) -> Option<ValidConfig> {
        self.declared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records one name's result; true when its addresses changed. The name is asked again
    /// after min(`interval`, the last good answer's TTL, at least [`MIN_ROUND_GAP`]).
    fn record(
        &self,
        name: &HostPort,
        result: Result<lookup::Found, String>,
        interval: Duration,
    ) -> bool {
        let mut answers = self.answers();
        let state = answers.entry(name.clone()).or_default();
        state.resolutions += 1;
        if let Ok((_, ttl)) = &result {
            state.ttl = *ttl;
        }
        let keep = state.ttl.map_or(interval, |t| {
            interval.min(Duration::from_secs(t.into()).max(MIN_ROUND_GAP))
        });
        state.next = Some(Instant::now() + keep);
        match result {
            Ok((addresses, _)) => {
                if state.error.take().is_some() {
                    tracing::info!(name = %name, ?addresses, "name resolves again");
                }
                if addresses == state.addresses {
                    return false;
                }
                tracing::info!(name = %name, from = ?state.addresses, to = ?addresses, "name's addresses changed");
                state.addresses = addresses;
                state.changed = Some(SystemTime::now());
                true
            }
            Err(why) => {
                state.failures += 1;
                if state.error.is_none() {
                    tracing::warn!(name = %name, error = %why, kept = ?state.addresses, "name does not resolve; keeping its last good addresses");
                }
                state.error = Some(why);
                false
            }
        }
    }
}

impl Names {
    /// When the first name is due (`None`: no name asked yet, or none).
    fn next_due(&self) -> Option<Instant> {
        self.answers().values().filter_map(|s| s.next).min()
    }

    /// Whether `name` is due at `now` (a name never asked is).
    fn due(&self, name: &HostPort, now: Instant) -> bool {
        self.answers()
            .get(name)
            .and_then(|s| s.next)
            .is_none_or(|t| t <= now)
    }
}

/// One round: every name of the loaded config (with `only_due`, those whose time has come)
/// asked at once, each within `resolvers.timeout`. Returns whether some name's addresses
/// changed.
async fn round(names: &Names, only_due: bool) -> bool {
    let Some(declared) = names.declared() else {
        return false;
    };
    let now = Instant::now();
    let mut wanted = declared.member_names();
    if only_due {
        wanted.retain(|n| names.due(n, now));
    }
    if wanted.is_empty() {
        return false;
    }
    let cfg = &declared.resolvers;
    let interval = cfg.interval.0;
    let resolver = match lookup::resolver(cfg) {
        Ok(r) => r,
        Err(why) => {
            let mut changed = false;
            for n in &wanted {
                changed |= names.record(n, Err(why.clone()), interval);
            }
            return changed;
        }
    };
    let lookups = wanted.iter().map(|n| {
        let resolver = &resolver;
        async move { (n, lookup::endpoints(resolver, n, cfg.timeout.0).await) }
    });
    let results = futures_util::future::join_all(lookups).await;
    let mut changed = false;
    for (n, result) in results {
        changed |= names.record(n, result, interval);
    }
    changed
}

/// Rebuilds the running snapshot with the current answers (serialised with reloads and
/// runtime changes, which it keeps: see `crate::running`).
async fn apply(shared: &Arc<Shared>) {
    let _serial = shared.reload_lock.lock().await;
    if let Some(new) = crate::running::rebuild(shared, "DNS answers") {
        tracing::info!(
            members = new.clusters.iter().map(|c| c.members.len()).sum::<usize>(),
            "members updated from DNS answers"
        );
    }
}

/// The first round (bounded by `resolvers.timeout`), before listeners open; then the task
/// that keeps asking. It runs for a config without names too (a round then asks nothing),
/// so a reload that adds names is served by it.
pub async fn start(shared: &Arc<Shared>) {
    if round(&shared.names, false).await {
        apply(shared).await;
    }
    for (name, state) in shared.names.report() {
        if let Some(why) = &state.error {
            tracing::warn!(name = %name, error = %why, "name does not resolve at start: its cluster has no member from it until it does");
        }
    }
    tokio::spawn(keep_resolving(shared.clone()));
}

async fn keep_resolving(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut last = Instant::now();
    loop {
        let interval = shared.snapshot.load().config.resolvers.interval.0;
        // The first name due, at the latest one interval on (a reload may bring names).
        let wake = shared
            .names
            .next_due()
            .map_or(last + interval, |t| t.min(last + interval))
            .max(last + MIN_ROUND_GAP.min(interval));
        let only_due = tokio::select! {
            () = tokio::time::sleep_until(wake.into()) => true,
            () = RESOLVE_NOW.notified() => {
                tokio::time::sleep_until((last + MIN_ROUND_GAP).into()).await;
                false
            }
            () = crate::shared::until_shutdown(&mut shutdown) => return,
        };
        last = Instant::now();
        if round(&shared.names, only_due).await {
            apply(&shared).await;
        }
    }
}

/// Asks the resolver task for a round soon (a reload brought new names).
pub fn resolve_soon() {
    RESOLVE_NOW.notify_one();
}

/// A connect to member `idx` failed: when it is an answer of a name, ask again soon (the
/// name may have moved).
pub fn connect_failed(cluster: &LiveCluster, idx: usize) {
    if cluster
        .config
        .members
        .get(idx)
        .is_some_and(|m| m.resolved_from.is_some())
    {
        RESOLVE_NOW.notify_one();
    }
}

/// What `--check` says of the names: each asked once within `resolvers.timeout`; one that
/// does not resolve is a warning (the proxy starts without its members and keeps asking).
pub async fn check_names(config: &ValidConfig) -> Vec<String> {
    let names = Names::default();
    let _ = names.declare(config.clone());
    round(&names, false).await;
    names
        .report()
        .into_iter()
        .filter_map(|(n, s)| {
            s.error.map(|why| {
                format!(
                    "member name {n} does not resolve now ({why}); elb-proxy would start without its members and ask again every {:?}",
                    config.resolvers.interval.0
                )
            })
        })
        .collect()
}
