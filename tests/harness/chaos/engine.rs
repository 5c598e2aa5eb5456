//! The chaos loop: rounds of planned faults injected into a running topology, every fault
//! healed, the quiet system watched until it settles, and every snapshot of the lab checked
//! against the invariants. The first violation ends the run with the seed and the events.

use std::time::{Duration, Instant};

use super::client::ClientProbe;
use super::invariants::{Bounds, Checker, DaemonView, Snapshot, Violation, VrrpState};
use super::lab::ChaosLab;
use super::plan::{FaultKind, PlanLimits, PlannedFault, kinds_mask, plan_round};
use super::report::{Counts, EventLog, HEAD_MARKER, ROW_MARKER};
use super::rng::{SplitMix64, fresh_seed};
use super::topology::TopologySpec;

/// How often the lab is looked at (each look: one `ip addr` and one status query per node).
const POLL: Duration = Duration::from_millis(100);
const CLIENT_PERIOD: Duration = Duration::from_millis(100);
/// A look at the lab takes well under this; a longer gap between two looks means the machine
/// starved the test (and the daemons) meanwhile.
const STALL_GAP: Duration = Duration::from_millis(500);
const CLIENT_TIMEOUT: Duration = Duration::from_millis(300);

/// What a run does; [`RunOptions::from_env`] reads the `CHAOS_*` variables.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub topology: String,
    pub seed: u64,
    /// Rounds start until this much time has passed (the last one then finishes).
    pub duration: Duration,
    pub advert_int: Duration,
    /// Room on top of every protocol bound for a loaded machine (scheduling, process starts).
    pub slack: Duration,
    /// `garp_master_refresh` seconds; None runs keepalived's default (no refresh).
    pub garp_refresh: Option<u32>,
    /// Print every event as it happens, not only in a failure report.
    pub verbose: bool,
    /// Only these fault kinds (comma-separated labels), to focus a run; None: all.
    pub kinds: Option<String>,
}

impl RunOptions {
    /// `CHAOS_SEED=N` (default: `default_seed`, or a fresh one when that is None),
    /// `CHAOS_DURATION=secs` (default
    /// `default_duration`), `CHAOS_ADVERT_MS` (default 200), `CHAOS_SLACK_MS` (default 1000),
    /// `CHAOS_GARP_REFRESH` (seconds, default 1; 0: none, keepalived's default),
    /// `CHAOS_VERBOSE=1` (print every event as it happens), `CHAOS_KINDS=kill-vrrp,loss` (only
    /// these fault kinds).
    pub fn from_env(topology: &str, default_duration: Duration, default_seed: Option<u64>) -> Self {
        fn var<T: std::str::FromStr>(name: &str) -> Option<T> {
            let text = std::env::var(name).ok()?;
            Some(
                text.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={text:?} is not a valid number")),
            )
        }
        Self {
            topology: topology.to_string(),
            seed: var("CHAOS_SEED")
                .or(default_seed)
                .unwrap_or_else(fresh_seed),
            duration: var::<f64>("CHAOS_DURATION")
                .map(Duration::from_secs_f64)
                .unwrap_or(default_duration),
            advert_int: Duration::from_millis(var("CHAOS_ADVERT_MS").unwrap_or(200)),
            slack: Duration::from_millis(var("CHAOS_SLACK_MS").unwrap_or(1000)),
            garp_refresh: Some(var("CHAOS_GARP_REFRESH").unwrap_or(1)).filter(|&s| s > 0),
            verbose: var::<u8>("CHAOS_VERBOSE").is_some_and(|v| v > 0),
            kinds: std::env::var("CHAOS_KINDS").ok().filter(|k| !k.is_empty()),
        }
    }

    /// The command line that replays this run.
    pub fn replay(&self) -> String {
        format!(
            "CHAOS_SEED={} CHAOS_DURATION={} CHAOS_ADVERT_MS={} CHAOS_SLACK_MS={} CHAOS_GARP_REFRESH={} {}cargo test -p elb-ha-e2e --test chaos {}",
            self.seed,
            self.duration.as_secs_f64(),
            self.advert_int.as_millis(),
            self.slack.as_millis(),
            self.garp_refresh.unwrap_or(0),
            self.kinds
                .as_ref()
                .map_or(String::new(), |k| format!("CHAOS_KINDS={k} ")),
            self.topology
        )
    }
}

/// Linux ignores an ARP update for an entry changed less than `locktime` (1 s) ago, so a
/// client that took the wrong node's gratuitous ARP first keeps it for that long at least.
const ARP_LOCKTIME: Duration = Duration::from_secs(1);

/// The bounds each invariant is held to, from the topology's timers plus `slack`.
pub fn bounds_for(spec: &TopologySpec, slack: Duration) -> Bounds {
    let md = spec.master_down();
    let settled = spec.check_delay() + md + spec.advert_int + slack;
    let refresh = Duration::from_secs(spec.garp_refresh.unwrap_or(0).into());
    Bounds {
        mismatch: spec.advert_int + slack,
        // A (re)started daemon reports a state once it has read its config and entered
        // BACKUP; by the time a healed lab must have settled it has to answer, or it is not
        // working (hung, exited on its own) and rule 1 could not see what it does.
        unreadable: settled,
        single_holder: md + spec.advert_int + slack,
        double_holder: md + slack,
        settled,
        served: settled + refresh + ARP_LOCKTIME,
        expected_master: spec.expected_master(),
        stall_gap: STALL_GAP,
    }
}

/// A fault as injected: its kind and the node it landed on.
#[derive(Debug, Clone, Copy)]
struct Injected {
    kind: FaultKind,
    node: usize,
}

struct Run {
    opts: RunOptions,
    lab: ChaosLab,
    client: ClientProbe,
    checker: Checker,
    counts: Counts,
    log: EventLog,
    last: Option<Snapshot>,
    round: u64,
}

/// Runs chaos on one topology. Ok: the counts; Err: a report naming the seed, the broken
/// invariant, the events and the daemons' last lines.
pub fn run(opts: RunOptions) -> Result<Counts, String> {
    let started = Instant::now();
    let mut rng = SplitMix64::new(opts.seed);
    let only = opts.kinds.as_deref().map(kinds_mask).transpose()?;
    let mut spec = TopologySpec::named(&opts.topology, opts.advert_int, &mut rng)
        .ok_or_else(|| format!("unknown topology {:?}", opts.topology))?;
    spec.garp_refresh = opts.garp_refresh;
    eprintln!(
        "chaos: seed {} (replay: {})\nchaos: topology {}",
        opts.seed,
        opts.replay(),
        spec.describe()
    );
    let fail_early = |e: anyhow::Error| {
        format!(
            "chaos {} (seed {}): lab error before any fault: {e:#}\nreplay: {}",
            opts.topology,
            opts.seed,
            opts.replay()
        )
    };
    let lab = ChaosLab::start(spec.clone()).map_err(fail_early)?;
    match &lab.netem {
        Ok(()) => eprintln!("chaos: tc netem available: delay faults on"),
        Err(e) => eprintln!(
            "chaos: tc netem NOT available on this kernel, delay faults off ({})",
            e.lines().last().unwrap_or_default()
        ),
    }
    let client = ClientProbe::start(&lab.client_netns(), CLIENT_PERIOD, CLIENT_TIMEOUT)
        .map_err(fail_early)?;
    let bounds = bounds_for(&spec, opts.slack);
    eprintln!("chaos: bounds {bounds:?}");
    let mut run = Run {
        checker: Checker::new(bounds, spec.node_count()),
        counts: Counts {
            topology: spec.name.to_string(),
            seed: opts.seed,
            ..Counts::default()
        },
        log: EventLog::new(started, 3000),
        lab,
        client,
        last: None,
        round: 0,
        opts,
    };
    run.log.echo = run.opts.verbose;
    let limits = PlanLimits {
        nodes: spec.node_count(),
        netem: run.lab.netem.is_ok(),
        master_down: spec.master_down(),
        only,
    };
    let outcome = (|| -> Result<(), Failure> {
        // The start is the first heal: every daemon just started, one must win.
        run.log.push(Instant::now(), "all daemons started");
        run.settle()?;
        while started.elapsed() < run.opts.duration {
            run.round += 1;
            let plan = plan_round(&mut rng, limits);
            run.play(&plan.faults)?;
            run.settle()?;
            let until = Instant::now() + plan.dwell;
            run.watch_until(until, false)?;
        }
        Ok(())
    })();
    run.counts.run = started.elapsed();
    run.counts.checks = run.checker.checks;
    run.counts.longest_double_after_quiet = run.checker.longest_double_after_quiet;
    (run.counts.stalls, run.counts.longest_gap) = (run.checker.stalls, run.checker.longest_gap);
    let stats = run.client.stats();
    (run.counts.client_ok, run.counts.client_failed) = (stats.ok, stats.failed);
    if let Err(Failure::Violation(_)) = &outcome {
        run.counts.violations += 1;
    }
    for line in Counts::table_header().lines() {
        println!("{HEAD_MARKER}{line}");
    }
    println!("{ROW_MARKER}{}", run.counts.table_row());
    match outcome {
        Ok(()) => {
            eprint!("{}", run.counts.summary());
            Ok(run.counts)
        }
        Err(failure) => Err(run.report(&failure)),
    }
}

enum Failure {
    Violation(Violation),
    Lab(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Lab(e)
    }
}

impl Run {
    /// Injects `faults` at their planned times, heals each after its hold, watching throughout.
    fn play(&mut self, faults: &[PlannedFault]) -> Result<(), Failure> {
        let t0 = Instant::now();
        self.checker.faults_begin();
        let plan: Vec<String> = faults
            .iter()
            .map(|f| {
                format!(
                    "{} on {} at +{:.2}s for {:.2}s",
                    f.kind,
                    if f.target.prefer_master {
                        "the master".to_string()
                    } else {
                        format!("n{}", f.target.node)
                    },
                    f.start.as_secs_f64(),
                    f.hold.as_secs_f64()
                )
            })
            .collect();
        self.log
            .push(t0, format!("round {}: {}", self.round, plan.join("; ")));
        // (time, fault index, true = inject / false = heal), in time order.
        let mut steps: Vec<(Instant, usize, bool)> = faults
            .iter()
            .enumerate()
            .flat_map(|(i, f)| [(t0 + f.start, i, true), (t0 + f.start + f.hold, i, false)])
            .collect();
        steps.sort_by_key(|&(at, i, inject)| (at, !inject, i));
        let mut injected: Vec<Option<Injected>> = vec![None; faults.len()];
        for (at, i, inject) in steps {
            self.watch_until(at, false)?;
            if inject {
                injected[i] = self.inject(&faults[i], &injected)?;
            } else if let Some(f) = injected[i].take() {
                self.heal(f)?;
            }
        }
        Ok(())
    }

    /// Lands a planned fault on its node (the current master when it aims there), or on the
    /// next node whose same part is free; None when every node's part is taken.
    fn inject(
        &mut self,
        f: &PlannedFault,
        active: &[Option<Injected>],
    ) -> Result<Option<Injected>, Failure> {
        let nodes = self.lab.spec.node_count();
        let master = self.last.as_ref().and_then(|s| {
            s.nodes
                .iter()
                .position(|n| n.daemon == DaemonView::State(VrrpState::Master))
        });
        let first = if f.target.prefer_master {
            master.unwrap_or(f.target.node)
        } else {
            f.target.node
        };
        let part = f.kind.part();
        let busy = |node: usize| {
            active
                .iter()
                .flatten()
                .any(|a| a.node == node && a.kind.part() == part)
        };
        let Some(node) = (0..nodes).map(|k| (first + k) % nodes).find(|&n| !busy(n)) else {
            self.counts.skipped += 1;
            self.log.push(
                Instant::now(),
                format!("skip {}: every node already has a {part:?} fault", f.kind),
            );
            return Ok(None);
        };
        let lab = &mut self.lab;
        match f.kind {
            FaultKind::Partition => lab.partition(node)?,
            FaultKind::LinkDown => lab.link_down(node)?,
            FaultKind::Loss { percent } => lab.loss(node, percent)?,
            FaultKind::Delay { millis } => lab.delay(node, millis)?,
            FaultKind::KillVrrp => lab.kill_vrrp(node)?,
            FaultKind::FreezeVrrp => lab.freeze_vrrp(node)?,
            FaultKind::KillProxy => lab.kill_proxy(node)?,
            FaultKind::FreezeProxy => lab.freeze_proxy(node)?,
        }
        self.counts.add_fault(f.kind.label());
        let role = if Some(node) == master {
            " (master)"
        } else {
            ""
        };
        self.log.push(
            Instant::now(),
            format!("inject {} on n{node}{role}", f.kind),
        );
        Ok(Some(Injected { kind: f.kind, node }))
    }

    fn heal(&mut self, f: Injected) -> Result<(), Failure> {
        let (lab, node) = (&mut self.lab, f.node);
        let what = match f.kind {
            FaultKind::Partition | FaultKind::Loss { .. } => {
                lab.heal(node)?;
                "heal link"
            }
            FaultKind::LinkDown => {
                lab.link_up(node)?;
                "link up"
            }
            FaultKind::Delay { .. } => {
                lab.undelay(node)?;
                "remove delay"
            }
            FaultKind::KillVrrp => {
                lab.start_vrrp(node)?;
                "restart VRRP daemon"
            }
            FaultKind::FreezeVrrp => {
                lab.thaw_vrrp(node)?;
                "SIGCONT VRRP daemon"
            }
            FaultKind::KillProxy => {
                lab.start_proxy(node)?;
                "restart elb-proxy"
            }
            FaultKind::FreezeProxy => {
                lab.thaw_proxy(node)?;
                "SIGCONT elb-proxy"
            }
        };
        self.log.push(
            Instant::now(),
            format!("{what} on n{node} (end of {})", f.kind),
        );
        Ok(())
    }

    /// Everything is healed: watch until the system settles (the checker fails the run when
    /// a bound passes first).
    fn settle(&mut self) -> Result<(), Failure> {
        let quiet = Instant::now();
        self.checker.quiet_from(quiet);
        self.log.push(quiet, "quiet: every fault healed");
        // The checker's own bound ends this; the cap only guards against a checker bug.
        let cap = quiet + self.checker.bounds().settled + Duration::from_secs(30);
        self.watch_until(cap, true)?;
        let took = self
            .checker
            .settled_after()
            .ok_or_else(|| anyhow::anyhow!("watch ended before settling"))?;
        self.counts.settle.push(took);
        self.counts.rounds += u64::from(self.round > 0);
        self.log.push(
            Instant::now(),
            format!("settled {:.3}s after the heal", took.as_secs_f64()),
        );
        Ok(())
    }

    /// Looks at the lab every [`POLL`] until `until` (or until settled, when asked), checking
    /// every snapshot and logging each change.
    fn watch_until(&mut self, until: Instant, until_settled: bool) -> Result<(), Failure> {
        loop {
            let snap = self.lab.snapshot(self.client.stats().last_ok)?;
            self.counts.snapshots += 1;
            self.note_changes(&snap);
            let verdict = self.checker.observe(&snap);
            self.last = Some(snap);
            verdict.map_err(Failure::Violation)?;
            if until_settled && self.checker.settled_after().is_some() {
                return Ok(());
            }
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            let next = self.last.as_ref().map_or(now, |s| s.at) + POLL;
            std::thread::sleep(next.min(until).saturating_duration_since(now)); // sampling pace
        }
    }

    fn note_changes(&mut self, snap: &Snapshot) {
        let before = self.last.as_ref();
        let (old_holders, old_text) = before
            .map(|s| (s.holders(), s.render()))
            .unwrap_or_default();
        if let Some(gap) = before.map(|s| snap.at.saturating_duration_since(s.at))
            && gap > STALL_GAP
        {
            self.log.push(
                snap.at,
                format!("observer stalled: {gap:?} between two looks at the lab"),
            );
        }
        let holders = snap.holders();
        if holders.iter().any(|h| !old_holders.contains(h)) {
            self.counts.vip_moves += 1;
        }
        let text = snap.render();
        if text != old_text {
            self.log.push(snap.at, format!("state: {text}"));
        }
    }

    fn report(&self, failure: &Failure) -> String {
        let what = match failure {
            Failure::Violation(v) => format!("INVARIANT VIOLATED: {v}"),
            Failure::Lab(e) => format!("lab error: {e:#}"),
        };
        format!(
            "chaos {} failed in round {} (seed {}): {what}\nreplay: {}\n{}\n----- events -----\n{}----- ARP -----\n{}----- daemon logs -----\n{}",
            self.opts.topology,
            self.round,
            self.opts.seed,
            self.opts.replay(),
            self.counts.summary(),
            self.log.render(),
            self.lab.arp_view(),
            self.lab.logs_tail(60)
        )
    }
}
