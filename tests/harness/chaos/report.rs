//! What a chaos run counts and remembers: faults by kind, invariant checks, violations, how long
//! the quiet system took to settle, and a bounded log of events for a failure report.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::plan::KIND_LABELS;

/// The prefixes of the lines carrying the counts table's header and a run's row, for
/// `scripts/chaos.sh` to collect.
pub const HEAD_MARKER: &str = "CHAOS-HEAD ";
pub const ROW_MARKER: &str = "CHAOS-ROW ";

#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub topology: String,
    pub seed: u64,
    pub run: Duration,
    pub rounds: u64,
    /// Faults injected, by kind, in [`KIND_LABELS`] order.
    pub faults: [u64; KIND_LABELS.len()],
    /// Planned faults not injected because their part of every node was already faulted.
    pub skipped: u64,
    pub snapshots: u64,
    pub checks: u64,
    pub violations: u64,
    /// Time from the quiet moment to settled (VIP on the right node, client served), per round.
    pub settle: Vec<Duration>,
    pub longest_double_after_quiet: Duration,
    /// Gaps between two looks at the lab longer than the stall threshold, and the longest gap.
    pub stalls: u64,
    pub longest_gap: Duration,
    pub vip_moves: u64,
    pub client_ok: u64,
    pub client_failed: u64,
}

impl Counts {
    pub fn add_fault(&mut self, label: &str) {
        if let Some(i) = KIND_LABELS.iter().position(|l| *l == label) {
            self.faults[i] += 1;
        }
    }

    pub fn total_faults(&self) -> u64 {
        self.faults.iter().sum()
    }

    fn settle_stats(&self) -> (Duration, Duration) {
        let mut s = self.settle.clone();
        s.sort();
        let median = s.get(s.len() / 2).copied().unwrap_or_default();
        (median, s.last().copied().unwrap_or_default())
    }

    /// The markdown table's header (two lines).
    pub fn table_header() -> String {
        let kinds: Vec<&str> = KIND_LABELS.to_vec();
        format!(
            "| topology | seed | run (s) | rounds | faults | {} | invariant checks | violations | settle median / max (s) | longest double holding after heal (s) | VIP moves | client ok / failed | observer stalls (longest gap, s) |\n|{}",
            kinds.join(" | "),
            "---|".repeat(12 + kinds.len())
        )
    }

    pub fn table_row(&self) -> String {
        let (median, max) = self.settle_stats();
        let kinds: Vec<String> = self.faults.iter().map(u64::to_string).collect();
        format!(
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {:.2} / {:.2} | {:.2} | {} | {} / {} | {} ({:.2}) |",
            self.topology,
            self.seed,
            self.run.as_secs_f64(),
            self.rounds,
            self.total_faults(),
            kinds.join(" | "),
            self.checks,
            self.violations,
            median.as_secs_f64(),
            max.as_secs_f64(),
            self.longest_double_after_quiet.as_secs_f64(),
            self.vip_moves,
            self.client_ok,
            self.client_failed,
            self.stalls,
            self.longest_gap.as_secs_f64()
        )
    }

    /// A few human lines for the end of a run.
    pub fn summary(&self) -> String {
        let (median, max) = self.settle_stats();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "chaos {}: seed {}, {:.0} s, {} rounds, {} faults ({} skipped), {} snapshots, {} invariant checks, {} violations",
            self.topology,
            self.seed,
            self.run.as_secs_f64(),
            self.rounds,
            self.total_faults(),
            self.skipped,
            self.snapshots,
            self.checks,
            self.violations
        );
        let kinds: Vec<String> = KIND_LABELS
            .iter()
            .zip(self.faults)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(out, "  faults by kind: {}", kinds.join(", "));
        let _ = writeln!(
            out,
            "  settled after the heal: median {median:?}, max {max:?}; longest double holding after a heal {:?}; {} VIP moves; client {} ok, {} failed",
            self.longest_double_after_quiet, self.vip_moves, self.client_ok, self.client_failed
        );
        let _ = writeln!(
            out,
            "  observer: {} stalls (gap between looks over the threshold), longest gap {:?}",
            self.stalls, self.longest_gap
        );
        out
    }
}

/// The run's events with their time since the start; the oldest are dropped past `cap`.
#[derive(Debug)]
pub struct EventLog {
    start: Instant,
    cap: usize,
    /// Also print each event to stderr as it happens.
    pub echo: bool,
    dropped: u64,
    entries: VecDeque<String>,
}

impl EventLog {
    pub fn new(start: Instant, cap: usize) -> Self {
        Self {
            start,
            cap,
            echo: false,
            dropped: 0,
            entries: VecDeque::new(),
        }
    }

    pub fn push(&mut self, at: Instant, event: impl AsRef<str>) {
        if self.entries.len() == self.cap {
            self.entries.pop_front();
            self.dropped += 1;
        }
        let t = at.saturating_duration_since(self.start).as_secs_f64();
        let line = format!("{t:9.3}s  {}", event.as_ref());
        if self.echo {
            eprintln!("{line}");
        }
        self.entries.push_back(line);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.dropped > 0 {
            let _ = writeln!(out, "({} earlier events dropped)", self.dropped);
        }
        for e in &self.entries {
            out.push_str(e);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_has_a_cell_per_header_column() {
        let mut c = Counts {
            topology: "pair".into(),
            ..Counts::default()
        };
        c.add_fault("loss");
        c.add_fault("kill-vrrp");
        c.settle = vec![Duration::from_millis(900), Duration::from_millis(300)];
        let cells = |line: &str| line.matches('|').count();
        let header = Counts::table_header();
        let (names, rule) = header.split_once('\n').unwrap();
        assert_eq!(cells(names), cells(&c.table_row()));
        assert_eq!(cells(names), cells(rule));
        assert_eq!(c.total_faults(), 2);
        assert!(
            c.table_row().contains("| 0.90 / 0.90 |"),
            "{}",
            c.table_row()
        );
    }

    #[test]
    fn the_event_log_keeps_the_newest() {
        let t0 = Instant::now();
        let mut log = EventLog::new(t0, 2);
        for i in 0..5 {
            log.push(t0, format!("e{i}"));
        }
        let text = log.render();
        assert!(text.contains("3 earlier events dropped"));
        assert!(text.contains("e4") && text.contains("e3") && !text.contains("e2"));
    }
}
