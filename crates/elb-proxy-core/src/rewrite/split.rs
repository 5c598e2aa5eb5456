//! Weighted split of a route between clusters, by a shared counter: within every run of
//! `total weight` requests each target gets exactly its weight, and the targets are
//! interleaved (a stride coprime with the total walks the slots), so a 95/5 canary sees its
//! 5 % spread through the run rather than in one burst. A reload that keeps a split's
//! definition (route, targets, weights) keeps its counter, so the run goes on where it was;
//! a changed definition starts a new run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A compiled split: targets by cumulative weight.
#[derive(Debug, Clone)]
pub struct Split {
    /// `(cluster index, cumulative weight up to and including this target)`.
    targets: Vec<(usize, u64)>,
    total: u64,
    stride: u64,
    counter: Arc<AtomicU64>,
    /// `(cluster name, weight)` of each target, as configured: what a reload compares.
    definition: Vec<(String, u32)>,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Split {
    /// Builds the split from `(cluster index, weight)` pairs (weights validated positive).
    pub fn new(targets: &[(usize, u32)]) -> Self {
        let mut sum = 0u64;
        let targets: Vec<(usize, u64)> = targets
            .iter()
            .map(|&(c, w)| {
                sum += u64::from(w);
                (c, sum)
            })
            .collect();
        let total = sum.max(1);
        // A stride near the golden ratio of the total, coprime with it.
        let mut stride = (total * 618 / 1000).max(1);
        while gcd(stride, total) != 1 {
            stride += 1;
        }
        Self {
            targets,
            total,
            stride,
            counter: Arc::new(AtomicU64::new(0)),
            definition: Vec::new(),
        }
    }

    /// The split with its configured definition (cluster names and weights), compared when
    /// a reload decides whether the split goes on from where it was.
    pub fn with_definition(mut self, definition: Vec<(String, u32)>) -> Self {
        self.definition = definition;
        self
    }

    /// Goes on from `old`'s position (sharing its counter) when both have the same definition;
    /// true when it does.
    pub fn continue_from(&mut self, old: &Split) -> bool {
        if self.definition.is_empty() || self.definition != old.definition {
            return false;
        }
        self.counter = old.counter.clone();
        true
    }

    /// Requests split so far (the counter's position).
    pub fn position(&self) -> u64 {
        self.counter.load(Relaxed)
    }

    /// The cluster for the next request.
    pub fn pick(&self) -> usize {
        let n = self.counter.fetch_add(1, Relaxed);
        self.at(n)
    }

    /// The cluster of request number `n`.
    pub fn at(&self, n: u64) -> usize {
        let slot = (n % self.total) * self.stride % self.total;
        self.targets
            .iter()
            .find(|&&(_, cum)| slot < cum)
            .map_or(0, |&(c, _)| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_of_total_requests_is_split_exactly_and_interleaved() {
        let s = Split::new(&[(0, 95), (1, 5)]);
        let picks: Vec<usize> = (0..1000).map(|_| s.pick()).collect();
        assert_eq!(picks.iter().filter(|&&c| c == 1).count(), 50);
        // No two canary picks in a row within a run: they are spread out.
        let first_run = &picks[..100];
        let canary: Vec<usize> = (0..100).filter(|&i| first_run[i] == 1).collect();
        assert_eq!(canary.len(), 5);
        assert!(canary.windows(2).all(|w| w[1] - w[0] > 1), "{canary:?}");
    }

    #[test]
    fn a_split_goes_on_from_an_equal_definition_only() {
        let def = |w: u32| vec![("stable".to_string(), 95), ("canary".to_string(), w)];
        let old = Split::new(&[(0, 95), (1, 5)]).with_definition(def(5));
        for _ in 0..30 {
            old.pick();
        }
        let mut same = Split::new(&[(3, 95), (4, 5)]).with_definition(def(5));
        assert!(same.continue_from(&old));
        assert_eq!(same.position(), 30);
        let mut other = Split::new(&[(0, 90), (1, 10)]).with_definition(def(10));
        assert!(!other.continue_from(&old));
        assert_eq!(other.position(), 0);
    }

    #[test]
    fn three_way_split_keeps_ratios() {
        let s = Split::new(&[(2, 1), (0, 2), (1, 3)]);
        let mut n = [0; 3];
        for i in 0..600 {
            n[s.at(i)] += 1;
        }
        assert_eq!(n, [200, 300, 100]);
    }
}
