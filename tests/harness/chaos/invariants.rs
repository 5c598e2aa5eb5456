//! The invariants a chaos run checks on every snapshot of the lab. Pure: snapshots in (what
//! each node holds and what its daemon says, stamped with the time they were taken), verdicts
//! out, so each rule is unit-tested without a lab.
//!
//! The rules (bounds in [`Bounds`]):
//! 1. **No VIP on a node whose daemon is not MASTER**, and no MASTER without the VIP, for
//!    longer than `mismatch`. Checked all the time, faults or not, for every node whose daemon
//!    runs and answers. Not checked on a node whose daemon was SIGKILLed (nobody is left to
//!    remove the VIP: keepalived and vrrpd both leave it) or is stopped by SIGSTOP; the
//!    restarted or resumed daemon is checked again as soon as it answers, so a VIP it fails to
//!    clean up is caught. A daemon that runs but does not answer (starting up, hung, exited
//!    on its own) is held to account too: unreadable for longer than `unreadable` is a
//!    violation, and the mismatch clocks keep running meanwhile.
//! 2. Once **quiet** (every fault healed, restarted processes accepting connections): exactly
//!    one node holds the VIP and its daemon is MASTER, every other daemon is not, within
//!    `single_holder`.
//! 3. Once quiet, **never two holders for longer than `double_holder`** (a split brain must
//!    end within the master-down interval of the heal).
//! 4. Once quiet, **settled** within `settled`: the VIP on the highest-priority node (all
//!    nodes preempt and are healthy again), its daemon MASTER and every other one not.
//! 5. Once quiet, a client request through the VIP **served** within `served` (the settle
//!    bound plus what ARP needs: a gratuitous ARP refresh and Linux's ARP `locktime`).
//!
//! Every bound is measured on the observer's clock minus the time the observer itself was
//! starved: a gap between two snapshots longer than `stall_gap` means the machine did not run
//! the test for that long, and did not run the daemons either, so the excess is not charged to
//! them. The stalls are counted and reported.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// A daemon's VRRP state as it reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpState {
    Init,
    Backup,
    Master,
    Fault,
    Stop,
}

impl VrrpState {
    /// Parses `MASTER`, `BACKUP`, ... (vrrpd's status and keepalived's log spell them so).
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "INIT" => VrrpState::Init,
            "BACKUP" => VrrpState::Backup,
            "MASTER" => VrrpState::Master,
            "FAULT" => VrrpState::Fault,
            "STOP" => VrrpState::Stop,
            _ => return None,
        })
    }
}

/// What is known about a node's daemon at a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonView {
    State(VrrpState),
    /// SIGKILLed by the run and not restarted yet.
    Dead,
    /// Stopped by SIGSTOP and not resumed yet.
    Frozen,
    /// Running, but its state could not be read (why).
    Unknown(String),
}

impl DaemonView {
    fn state(&self) -> Option<VrrpState> {
        match self {
            DaemonView::State(s) => Some(*s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub vip: bool,
    pub daemon: DaemonView,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub at: Instant,
    pub nodes: Vec<NodeView>,
    /// When a client request through the VIP last succeeded.
    pub client_last_ok: Option<Instant>,
}

impl Snapshot {
    pub fn holders(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].vip)
            .collect()
    }

    /// `n0 VIP MASTER | n1 - BACKUP`, for logs and failure messages.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if i > 0 {
                out.push_str(" | ");
            }
            let state = match &n.daemon {
                DaemonView::State(s) => format!("{s:?}").to_uppercase(),
                DaemonView::Dead => "dead".into(),
                DaemonView::Frozen => "frozen".into(),
                DaemonView::Unknown(why) => format!("?({why})"),
            };
            let _ = write!(out, "n{i} {} {state}", if n.vip { "VIP" } else { "-" });
        }
        out
    }

    /// Exactly one holder, whose daemon says MASTER, and every other daemon answers and is
    /// not MASTER.
    fn single_master_holder(&self) -> Option<usize> {
        let holders = self.holders();
        let [holder] = holders[..] else {
            return None;
        };
        let consistent = self
            .nodes
            .iter()
            .enumerate()
            .all(|(i, n)| match n.daemon.state() {
                Some(VrrpState::Master) => i == holder,
                Some(_) => i != holder,
                None => false,
            });
        consistent.then_some(holder)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Rule 1: how long a VIP may sit on a non-MASTER node (or a MASTER lack it).
    pub mismatch: Duration,
    /// Rule 1: how long a running daemon may leave its state unreadable (starting up,
    /// or not answering) before that is a violation rather than a reason not to check.
    pub unreadable: Duration,
    /// Rule 2, from the quiet moment.
    pub single_holder: Duration,
    /// Rule 3, from the quiet moment or the start of the double holding, whichever is later.
    pub double_holder: Duration,
    /// Rule 4, from the quiet moment.
    pub settled: Duration,
    /// Rule 5, from the quiet moment.
    pub served: Duration,
    pub expected_master: usize,
    /// A gap between snapshots longer than this is an observer stall (see the module doc).
    pub stall_gap: Duration,
}

/// A moment, with how much observer stall had accumulated by then.
#[derive(Debug, Clone, Copy)]
struct Mark {
    at: Instant,
    stalled: Duration,
}

#[derive(Debug, Clone)]
pub struct Violation {
    pub rule: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.rule, self.detail)
    }
}

#[derive(Debug, Clone, Copy)]
struct Quiet {
    since: Mark,
    single_at: Option<Instant>,
    right_at: Option<Instant>,
    served_at: Option<Instant>,
}

/// Checks the rules over a stream of snapshots.
#[derive(Debug)]
pub struct Checker {
    bounds: Bounds,
    vip_not_master_since: Vec<Option<Mark>>,
    master_no_vip_since: Vec<Option<Mark>>,
    /// Since when each running daemon's state could not be read.
    unreadable_since: Vec<Option<Mark>>,
    multi_since: Option<Mark>,
    quiet: Option<Quiet>,
    last_at: Option<Instant>,
    /// Observer stall accumulated so far (gap excess over `stall_gap`).
    stalled: Duration,
    /// Observer stalls seen, and the longest gap between two snapshots.
    pub stalls: u64,
    pub longest_gap: Duration,
    /// Individual rule evaluations so far.
    pub checks: u64,
    /// The longest double holding seen after a quiet moment.
    pub longest_double_after_quiet: Duration,
}

impl Checker {
    pub fn new(bounds: Bounds, nodes: usize) -> Self {
        Self {
            bounds,
            vip_not_master_since: vec![None; nodes],
            master_no_vip_since: vec![None; nodes],
            unreadable_since: vec![None; nodes],
            multi_since: None,
            quiet: None,
            last_at: None,
            stalled: Duration::ZERO,
            stalls: 0,
            longest_gap: Duration::ZERO,
            checks: 0,
            longest_double_after_quiet: Duration::ZERO,
        }
    }

    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// A fault starts: the quiet-time rules stop applying.
    pub fn faults_begin(&mut self) {
        self.quiet = None;
    }

    /// Everything is healed as of `at`.
    pub fn quiet_from(&mut self, at: Instant) {
        self.quiet = Some(Quiet {
            since: Mark {
                at,
                stalled: self.stalled,
            },
            single_at: None,
            right_at: None,
            served_at: None,
        });
    }

    /// How long the quiet system took to settle (rules 4 and 5 both met), once it has.
    pub fn settled_after(&self) -> Option<Duration> {
        let q = self.quiet?;
        Some(q.right_at?.max(q.served_at?) - q.since.at)
    }

    /// Time from `from` to `now`, less the observer stall in between.
    fn span(&self, from: Mark, now: Instant) -> Duration {
        now.saturating_duration_since(from.at)
            .saturating_sub(self.stalled - from.stalled)
    }

    fn mark(&self, at: Instant) -> Mark {
        Mark {
            at,
            stalled: self.stalled,
        }
    }

    /// Rule 1 on one snapshot: no VIP without MASTER and no MASTER without the VIP for longer
    /// than `mismatch`, and no running daemon unreadable for longer than `unreadable`.
    fn vip_only_on_master(&mut self, s: &Snapshot, now: Mark) -> Result<(), Violation> {
        let b = self.bounds;
        for (i, node) in s.nodes.iter().enumerate() {
            if let DaemonView::Unknown(why) = &node.daemon {
                // Running but not answering: the mismatch clocks keep running (nothing says
                // the node is right), and answering only later is itself bounded.
                let from = *self.unreadable_since[i].get_or_insert(now);
                let held = s.at - from.at;
                let charged = held.saturating_sub(now.stalled - from.stalled);
                if charged > b.unreadable {
                    return Err(Violation {
                        rule: "VIP only on MASTER",
                        detail: format!(
                            "n{i}'s daemon runs but its state was unreadable for {held:?}, {charged:?} without observer stalls (bound {:?}): {why}; now {}",
                            b.unreadable,
                            s.render()
                        ),
                    });
                }
                continue;
            }
            self.unreadable_since[i] = None;
            let Some(state) = node.daemon.state() else {
                self.vip_not_master_since[i] = None;
                self.master_no_vip_since[i] = None;
                continue;
            };
            self.checks += 1;
            let (bad_vip, bad_master) = (
                node.vip && state != VrrpState::Master,
                !node.vip && state == VrrpState::Master,
            );
            for (bad, since, what) in [
                (
                    bad_vip,
                    &mut self.vip_not_master_since[i],
                    format!("n{i} holds the VIP while its daemon is {state:?}"),
                ),
                (
                    bad_master,
                    &mut self.master_no_vip_since[i],
                    format!("n{i}'s daemon is MASTER without the VIP"),
                ),
            ] {
                if !bad {
                    *since = None;
                    continue;
                }
                let from = *since.get_or_insert(now);
                let held = s.at - from.at;
                let charged = held.saturating_sub(now.stalled - from.stalled);
                if charged > b.mismatch {
                    return Err(Violation {
                        rule: "VIP only on MASTER",
                        detail: format!(
                            "{what} for {held:?}, {charged:?} without observer stalls (bound {:?}); now {}",
                            b.mismatch,
                            s.render()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Applies every rule to `s`.
    pub fn observe(&mut self, s: &Snapshot) -> Result<(), Violation> {
        let b = self.bounds;
        if let Some(prev) = self.last_at.replace(s.at) {
            let gap = s.at.saturating_duration_since(prev);
            self.longest_gap = self.longest_gap.max(gap);
            if gap > b.stall_gap {
                self.stalls += 1;
                self.stalled += gap - b.stall_gap;
            }
        }
        let now = self.mark(s.at);
        self.vip_only_on_master(s, now)?;

        if s.holders().len() >= 2 {
            self.multi_since.get_or_insert(now);
        } else {
            self.multi_since = None;
        }

        let Some(mut q) = self.quiet else {
            return Ok(());
        };
        let waited = self.span(q.since, s.at);
        let stall_note = match self.stalled - q.since.stalled {
            d if d.is_zero() => String::new(),
            d => format!(" (plus {d:?} while the observer was stalled)"),
        };

        self.checks += 1;
        if let Some(from) = self.multi_since {
            let start = if from.at > q.since.at { from } else { q.since };
            let held = self.span(start, s.at);
            self.longest_double_after_quiet = self.longest_double_after_quiet.max(held);
            if held > b.double_holder {
                return Err(Violation {
                    rule: "two holders after a heal",
                    detail: format!(
                        "{} nodes held the VIP for {held:?} after everything was healed{stall_note} (bound {:?}); now {}",
                        s.holders().len(),
                        b.double_holder,
                        s.render()
                    ),
                });
            }
        }

        if q.single_at.is_none() {
            self.checks += 1;
            if s.single_master_holder().is_some() {
                q.single_at = Some(s.at);
            } else if waited > b.single_holder {
                return Err(Violation {
                    rule: "one holder once quiet",
                    detail: format!(
                        "no single MASTER holding the VIP {waited:?} after everything was healed{stall_note} (bound {:?}); now {}",
                        b.single_holder,
                        s.render()
                    ),
                });
            }
        }

        if q.right_at.is_none() {
            self.checks += 1;
            if s.single_master_holder() == Some(b.expected_master) {
                q.right_at = Some(s.at);
            } else if waited > b.settled {
                return Err(Violation {
                    rule: "settled once quiet",
                    detail: format!(
                        "the VIP not on n{} (the highest priority) {waited:?} after everything was healed{stall_note} (bound {:?}); now {}",
                        b.expected_master,
                        b.settled,
                        s.render()
                    ),
                });
            }
        }

        if q.served_at.is_none() {
            self.checks += 1;
            if let Some(ok) = s.client_last_ok.filter(|&t| t >= q.since.at) {
                q.served_at = Some(ok);
            } else if waited > b.served {
                return Err(Violation {
                    rule: "client served once quiet",
                    detail: format!(
                        "no request through the VIP succeeded {waited:?} after everything was healed{stall_note} (bound {:?}); now {}",
                        b.served,
                        s.render()
                    ),
                });
            }
        }
        self.quiet = Some(q);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DaemonView::*;
    use VrrpState::*;

    const MS: Duration = Duration::from_millis(1);

    fn bounds() -> Bounds {
        Bounds {
            mismatch: 500 * MS,
            unreadable: 1000 * MS,
            single_holder: 1000 * MS,
            double_holder: 700 * MS,
            settled: 3000 * MS,
            served: 4000 * MS,
            expected_master: 0,
            stall_gap: 10_000 * MS,
        }
    }

    fn snap(t0: Instant, ms: u32, nodes: &[(bool, DaemonView)], ok: Option<u32>) -> Snapshot {
        Snapshot {
            at: t0 + ms * MS,
            nodes: nodes
                .iter()
                .map(|(vip, daemon)| NodeView {
                    vip: *vip,
                    daemon: daemon.clone(),
                })
                .collect(),
            client_last_ok: ok.map(|m| t0 + m * MS),
        }
    }

    #[test]
    fn a_vip_left_on_a_backup_is_caught_after_the_bound_only() {
        let t0 = Instant::now();
        let mut c = Checker::new(bounds(), 2);
        let stale = [(true, State(Master)), (true, State(Backup))];
        assert!(c.observe(&snap(t0, 0, &stale, None)).is_ok());
        assert!(c.observe(&snap(t0, 400, &stale, None)).is_ok());
        let v = c.observe(&snap(t0, 600, &stale, None)).unwrap_err();
        assert_eq!(v.rule, "VIP only on MASTER");
        assert!(
            v.detail
                .contains("n1 holds the VIP while its daemon is Backup"),
            "{v}"
        );
    }

    #[test]
    fn a_dead_or_frozen_daemons_vip_is_not_held_against_it() {
        let t0 = Instant::now();
        let mut c = Checker::new(bounds(), 2);
        for ms in [0, 1000, 5000] {
            c.observe(&snap(t0, ms, &[(true, Dead), (true, State(Master))], None))
                .unwrap();
            c.observe(&snap(
                t0,
                ms + 1,
                &[(true, Frozen), (true, State(Master))],
                None,
            ))
            .unwrap();
        }
        // Restarted and still holding it as BACKUP: the clock starts when it answers.
        let back = [(true, State(Backup)), (true, State(Master))];
        c.observe(&snap(t0, 6000, &back, None)).unwrap();
        assert!(c.observe(&snap(t0, 6600, &back, None)).is_err());
    }

    #[test]
    fn a_running_daemon_unreadable_past_its_bound_is_a_violation() {
        let t0 = Instant::now();
        let mut c = Checker::new(bounds(), 2);
        let mute = [(false, Unknown("starting".into())), (true, State(Master))];
        c.observe(&snap(t0, 0, &mute, None)).unwrap();
        c.observe(&snap(t0, 1000, &mute, None)).unwrap();
        let v = c.observe(&snap(t0, 1001, &mute, None)).unwrap_err();
        assert!(
            v.detail
                .contains("n0's daemon runs but its state was unreadable"),
            "{v}"
        );
        assert!(v.detail.contains("starting"), "{v}");
    }

    #[test]
    fn a_daemon_that_answers_in_time_restarts_its_unreadable_clock() {
        let t0 = Instant::now();
        let mut c = Checker::new(bounds(), 2);
        let mute = [(false, Unknown("timeout".into())), (true, State(Master))];
        let fine = [(false, State(Backup)), (true, State(Master))];
        for (ms, s) in [
            (0, &mute),
            (900, &mute),
            (950, &fine),
            (1500, &mute),
            (2400, &mute),
        ] {
            c.observe(&snap(t0, ms, s, None)).unwrap();
        }
    }

    #[test]
    fn an_unreadable_moment_does_not_reset_the_mismatch_clock() {
        let t0 = Instant::now();
        let mut c = Checker::new(bounds(), 2);
        let wrong = [(true, State(Backup)), (true, State(Master))];
        let mute = [(true, Unknown("timeout".into())), (true, State(Master))];
        c.observe(&snap(t0, 0, &wrong, None)).unwrap();
        c.observe(&snap(t0, 300, &mute, None)).unwrap();
        let v = c.observe(&snap(t0, 501, &wrong, None)).unwrap_err();
        assert!(
            v.detail
                .contains("n0 holds the VIP while its daemon is Backup"),
            "{v}"
        );
    }

    #[test]
    fn a_master_without_its_vip_is_a_violation() {
        let t0 = Instant::now();
        let mut c = Checker::new(bounds(), 2);
        let lost = [(false, State(Master)), (false, State(Backup))];
        c.observe(&snap(t0, 0, &lost, None)).unwrap();
        let v = c.observe(&snap(t0, 501, &lost, None)).unwrap_err();
        assert!(v.detail.contains("MASTER without the VIP"), "{v}");
    }

    #[test]
    fn a_split_brain_during_faults_is_allowed_but_not_after_the_heal() {
        let t0 = Instant::now();
        let mut c = Checker::new(bounds(), 2);
        let split = [(true, State(Master)), (true, State(Master))];
        c.faults_begin();
        for ms in (0..5000).step_by(100) {
            c.observe(&snap(t0, ms, &split, None)).unwrap();
        }
        c.quiet_from(t0 + 5000 * MS);
        c.observe(&snap(t0, 5600, &split, None)).unwrap();
        let v = c.observe(&snap(t0, 5800, &split, None)).unwrap_err();
        assert_eq!(v.rule, "two holders after a heal");
        assert!(c.longest_double_after_quiet >= 700 * MS);
    }

    #[test]
    fn quiet_rules_need_one_master_then_the_right_one_and_a_served_client() {
        let t0 = Instant::now();
        let mut c = Checker::new(bounds(), 2);
        c.quiet_from(t0);
        let on_b = [(false, State(Backup)), (true, State(Master))];
        let on_a = [(true, State(Master)), (false, State(Backup))];
        c.observe(&snap(t0, 500, &on_b, None)).unwrap();
        assert_eq!(c.settled_after(), None, "on the wrong node");
        c.observe(&snap(t0, 2000, &on_a, None)).unwrap();
        assert_eq!(c.settled_after(), None, "no client served yet");
        c.observe(&snap(t0, 2500, &on_a, Some(2400))).unwrap();
        assert_eq!(c.settled_after(), Some(2400 * MS));
        assert!(c.checks > 0);
    }

    #[test]
    fn no_single_holder_in_time_is_a_violation() {
        let t0 = Instant::now();
        let mut c = Checker::new(bounds(), 2);
        c.quiet_from(t0);
        let none = [(false, State(Backup)), (false, State(Backup))];
        c.observe(&snap(t0, 900, &none, None)).unwrap();
        let v = c.observe(&snap(t0, 1100, &none, None)).unwrap_err();
        assert_eq!(v.rule, "one holder once quiet");
        // An unanswered status does not count as a consistent single holder either.
        let mut c = Checker::new(bounds(), 2);
        c.quiet_from(t0);
        let unknown = [(true, State(Master)), (false, Unknown("timeout".into()))];
        let v = c
            .observe(&snap(t0, 1100, &unknown, Some(1000)))
            .unwrap_err();
        assert!(v.detail.contains("?(timeout)"), "{v}");
    }

    #[test]
    fn an_observer_stall_is_not_charged_to_the_daemons() {
        let t0 = Instant::now();
        let mut c = Checker::new(
            Bounds {
                stall_gap: 300 * MS,
                ..bounds()
            },
            2,
        );
        c.quiet_from(t0);
        let none = [(false, State(Backup)), (false, State(Backup))];
        c.observe(&snap(t0, 100, &none, None)).unwrap();
        // The test process did not run for 1.5 s: 1.2 s of it is stall, not waiting.
        c.observe(&snap(t0, 1600, &none, None)).unwrap();
        assert_eq!((c.stalls, c.longest_gap), (1, 1500 * MS));
        // Bound 1 s + 1.2 s of stall: the first look past 2.2 s fails.
        let (at, v) = (1700..3000)
            .step_by(100)
            .find_map(|ms| c.observe(&snap(t0, ms, &none, None)).err().map(|v| (ms, v)))
            .unwrap();
        assert_eq!(at, 2300);
        assert_eq!(v.rule, "one holder once quiet");
        assert!(
            v.detail.contains("1.2s while the observer was stalled"),
            "{v}"
        );
    }

    #[test]
    fn not_settled_in_time_is_a_violation() {
        let t0 = Instant::now();
        let mut c = Checker::new(bounds(), 2);
        c.quiet_from(t0);
        let on_b = [(false, State(Backup)), (true, State(Master))];
        c.observe(&snap(t0, 100, &on_b, Some(50))).unwrap();
        let v = c.observe(&snap(t0, 3100, &on_b, Some(3000))).unwrap_err();
        assert_eq!(v.rule, "settled once quiet");
        // The right node, but no client served (a stale ARP entry, say).
        let mut c = Checker::new(bounds(), 2);
        c.quiet_from(t0);
        let on_a = [(true, State(Master)), (false, State(Backup))];
        c.observe(&snap(t0, 100, &on_a, None)).unwrap();
        c.observe(&snap(t0, 3900, &on_a, None)).unwrap();
        let v = c.observe(&snap(t0, 4100, &on_a, None)).unwrap_err();
        assert_eq!(v.rule, "client served once quiet");
    }
}
