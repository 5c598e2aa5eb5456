//! Chaos in the lab: seeded random faults on three topologies with the VIP's invariants
//! checked throughout (see `harness/chaos.rs`). A short run per topology on a fixed seed is
//! part of `make test`, so CI replays the same fault plans every time; `scripts/chaos.sh`
//! (`make chaos`) runs long ones on fresh seeds.
//!
//! `CHAOS_SEED=N` replays a run's fault plan, `CHAOS_DURATION=secs` sets how long rounds keep
//! starting (default 20 s per topology), `CHAOS_ADVERT_MS` and `CHAOS_SLACK_MS` tune timers.

use std::sync::Mutex;
use std::time::Duration;

use elb_ha_e2e::chaos::{RunOptions, run};
use netlab::require_root_or_skip;

/// The short run's length per topology (about 25-30 s each with start-up and the last round).
const SHORT_RUN: Duration = Duration::from_secs(20);

/// The fault plans `make test` runs, one per topology; a seed that once broke an invariant
/// belongs here after its fix (or replays with `CHAOS_SEED`).
const FIXED_SEEDS: [(&str, u64); 3] = [
    ("pair", 0x5eed_0001_c4a0_5001),
    ("mixed", 0x5eed_0002_c4a0_5002),
    ("three", 0x5eed_0003_c4a0_5003),
];

/// One topology at a time: three labs at once would compete for the machine's two cores and
/// turn scheduling delays into missed adverts.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn chaos(topology: &str) {
    if !require_root_or_skip(&format!("chaos {topology}")) {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let seed = FIXED_SEEDS
        .iter()
        .find(|(t, _)| *t == topology)
        .map(|&(_, s)| s);
    assert!(seed.is_some(), "no fixed seed for topology {topology}");
    let opts = RunOptions::from_env(topology, SHORT_RUN, seed);
    match run(opts) {
        Ok(counts) => {
            assert_eq!(counts.violations, 0);
            assert!(counts.rounds > 0, "no round ran:\n{}", counts.summary());
            assert!(counts.checks > 0, "nothing was checked");
        }
        Err(report) => panic!("{report}"),
    }
}

/// The seed deployment: two vrrpd nodes, each with elb-proxy and elb-check as track script.
#[test]
fn pair() {
    chaos("pair");
}

/// Debian's keepalived 2.2.7 and vrrpd on one VRID (roles drawn from the seed).
#[test]
fn mixed() {
    chaos("mixed");
}

/// Three vrrpd nodes, priorities 150/100/50.
#[test]
fn three() {
    chaos("three");
}
