//! `balance: hash`: the member for a request key from the cluster's Maglev table, skipping
//! members that cannot take it (down, ejected, draining, in maintenance, already tried) by
//! the table's next choices, and, with a balance factor, members above their bounded load
//! (Mirrokni et al., "Consistent Hashing with Bounded Loads", as HAProxy's
//! `hash-balance-factor`).

use std::time::Instant;

use http::HeaderMap;

use super::Balancer;
use crate::config::HashOn;
use crate::maglev::{MaglevTable, stable_hash};

/// The hash key of a request for `hash_on`, or `None` when the request lacks it (no such
/// header or cookie): the cluster then balances that request round-robin.
pub fn request_key(
    on: &HashOn,
    source: std::net::IpAddr,
    path: &str,
    headers: &HeaderMap,
) -> Option<u64> {
    let bytes: &[u8] = match on {
        HashOn::Source => {
            let ip = match source {
                std::net::IpAddr::V6(v6) => {
                    v6.to_ipv4_mapped().map_or(source, std::net::IpAddr::V4)
                }
                v4 => v4,
            };
            return Some(match ip {
                std::net::IpAddr::V4(a) => stable_hash(0, &a.octets()),
                std::net::IpAddr::V6(a) => stable_hash(0, &a.octets()),
            });
        }
        HashOn::Path => path.split('?').next().unwrap_or(path).as_bytes(),
        HashOn::Header(name) => headers.get(name.as_str())?.as_bytes(),
        HashOn::Cookie(name) => crate::cookie_value(headers, name)?.as_bytes(),
    };
    Some(stable_hash(0, bytes))
}

/// The hashing state of a cluster: member names (the table's input) and the table.
#[derive(Debug, Clone)]
pub(crate) struct HashState {
    names: Vec<String>,
    table: Option<MaglevTable>,
    /// Percent of the average load per unit of weight a member may carry; 0 is unbounded.
    balance_factor: u32,
}

impl HashState {
    /// The state for members `names` weighted `weights`.
    pub(crate) fn new(names: Vec<String>, weights: &[u32], balance_factor: u32) -> Self {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let table = MaglevTable::build(&refs, weights);
        Self {
            names,
            table,
            balance_factor,
        }
    }
}

impl Balancer {
    /// Turns on `balance: hash` for members named `names` (config order).
    pub fn enable_hashing(&mut self, names: Vec<String>, balance_factor: u32) {
        let weights: Vec<u32> = self.members.iter().map(|m| m.weight).collect();
        self.hash = Some(HashState::new(names, &weights, balance_factor));
    }

    /// Sets member `i`'s weight (`set weight`); a hashing cluster rebuilds its table, which
    /// moves only the keys the weight change must move.
    pub fn set_weight(&mut self, i: usize, weight: u32) {
        let Some(m) = self.members.get_mut(i) else {
            return;
        };
        if m.weight == weight {
            return;
        }
        m.weight = weight;
        if let Some(h) = self.hash.take() {
            let weights: Vec<u32> = self.members.iter().map(|m| m.weight).collect();
            self.hash = Some(HashState::new(h.names, &weights, h.balance_factor));
        }
    }

    /// The member for `key` (see the module doc); `None` when no member may take it.
    pub(super) fn pick_hashed(
        &self,
        key: u64,
        now: Instant,
        panic: bool,
        tried: &[usize],
    ) -> Option<usize> {
        let h = self.hash.as_ref()?;
        let table = h.table.as_ref()?;
        let n = self.members.len();
        let ok: Vec<bool> = (0..n)
            .map(|i| self.candidate(i, now, panic, tried))
            .collect();
        if !ok.iter().any(|&b| b) {
            return None;
        }
        let bound = (h.balance_factor > 0).then(|| self.load_bound(&ok, h.balance_factor));
        let mut seen = vec![false; n];
        let mut first_ok = None;
        for i in table.choices(key) {
            if i >= n || seen[i] {
                continue;
            }
            seen[i] = true;
            if !ok[i] {
                continue;
            }
            let within = bound.is_none_or(|(total, weight_sum, factor)| {
                let m = &self.members[i];
                let allowed =
                    (factor * (total + 1) * u64::from(m.weight)).div_ceil(100 * weight_sum);
                u64::from(m.in_flight) < allowed
            });
            if within {
                return Some(i);
            }
            first_ok.get_or_insert(i);
            if seen.iter().all(|&s| s) {
                break;
            }
        }
        // Every candidate is at its bound (rounding): the key's own choice wins.
        first_ok
    }

    /// (in-flight total, weight total, factor) over the candidates, for the load bound.
    fn load_bound(&self, ok: &[bool], factor: u32) -> (u64, u64, u64) {
        let mut total = 0u64;
        let mut weight_sum = 0u64;
        for (m, _) in self.members.iter().zip(ok).filter(|(_, ok)| **ok) {
            total += u64::from(m.in_flight);
            weight_sum += u64::from(m.weight);
        }
        (total, weight_sum.max(1), u64::from(factor))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AdminState, PassivePolicy};
    use super::*;
    use crate::config::BalanceMode;
    use crate::maglev::stable_hash;

    fn hashing(n: usize, factor: u32) -> Balancer {
        let passive = PassivePolicy {
            consecutive_failures: 0,
            base_ejection: std::time::Duration::from_secs(1),
            max_ejection: std::time::Duration::from_secs(1),
            max_ejection_percent: 50,
            panic_threshold_percent: 0,
        };
        let mut b = Balancer::new(BalanceMode::Hash, &vec![1; n], passive, None);
        b.enable_hashing((0..n).map(|i| format!("m{i}")).collect(), factor);
        b
    }

    fn pick(b: &mut Balancer, key: u64, tried: &[usize]) -> Option<usize> {
        let i = b.pick_keyed(Instant::now(), 0, None, tried, Some(key))?;
        b.finish(i);
        Some(i)
    }

    #[test]
    fn same_key_same_member_and_unavailable_members_are_skipped_consistently() {
        let mut b = hashing(5, 0);
        let keys: Vec<u64> = (0..200u32)
            .map(|k| stable_hash(3, &k.to_le_bytes()))
            .collect();
        let first: Vec<usize> = keys
            .iter()
            .map(|&k| pick(&mut b, k, &[]).unwrap())
            .collect();
        let again: Vec<usize> = keys
            .iter()
            .map(|&k| pick(&mut b, k, &[]).unwrap())
            .collect();
        assert_eq!(first, again);
        b.members[2].admin = AdminState::Maint;
        let without: Vec<usize> = keys
            .iter()
            .map(|&k| pick(&mut b, k, &[]).unwrap())
            .collect();
        for (i, (&a, &w)) in first.iter().zip(&without).enumerate() {
            assert_ne!(w, 2, "key {i} went to the member in maintenance");
            if a != 2 {
                assert_eq!(a, w, "key {i} moved though its member is up");
            }
        }
        // The next choice of a key is stable too, and a retry skips the tried member.
        let again: Vec<usize> = keys
            .iter()
            .map(|&k| pick(&mut b, k, &[]).unwrap())
            .collect();
        assert_eq!(without, again);
        let retry = pick(&mut b, keys[0], &[without[0]]).unwrap();
        assert_ne!(retry, without[0]);
        // Back from maintenance, its keys come back.
        b.members[2].admin = AdminState::Ready;
        let back: Vec<usize> = keys
            .iter()
            .map(|&k| pick(&mut b, k, &[]).unwrap())
            .collect();
        assert_eq!(first, back);
    }

    #[test]
    fn without_a_key_a_hashing_cluster_round_robins() {
        let mut b = hashing(3, 0);
        let picks: Vec<usize> = (0..6)
            .map(|_| {
                let i = b.pick(Instant::now(), 0, None, &[]).unwrap();
                b.finish(i);
                i
            })
            .collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn a_balance_factor_spills_a_hot_key_once_its_member_is_above_the_bound() {
        let mut b = hashing(4, 125);
        let key = stable_hash(3, b"hot");
        let home = b
            .pick_keyed(Instant::now(), 0, None, &[], Some(key))
            .unwrap();
        // Held open: with 4 members at factor 1.25 the home member may hold
        // ceil(1.25 * (in_flight + 1) / 4) requests; the rest spill to next choices.
        let mut held = vec![home];
        for _ in 0..39 {
            held.push(
                b.pick_keyed(Instant::now(), 0, None, &[], Some(key))
                    .unwrap(),
            );
        }
        let at_home = held.iter().filter(|&&i| i == home).count();
        assert!(at_home <= 13, "home member holds {at_home} of 40");
        for m in 0..4 {
            let count = held.iter().filter(|&&i| i == m).count();
            assert!(
                count <= 13,
                "member {m} holds {count} of 40: over 1.25 x average"
            );
        }
        // Unbounded, every request of the key stays home.
        let mut b = hashing(4, 0);
        let all: Vec<usize> = (0..40)
            .map(|_| {
                b.pick_keyed(Instant::now(), 0, None, &[], Some(key))
                    .unwrap()
            })
            .collect();
        assert!(all.iter().all(|&i| i == all[0]));
    }

    #[test]
    fn a_weight_change_rebuilds_the_table_in_weight_ratio() {
        let mut b = hashing(2, 0);
        b.set_weight(1, 3);
        let keys = 4000u32;
        let to_1 = (0..keys)
            .filter(|k| pick(&mut b, stable_hash(5, &k.to_le_bytes()), &[]) == Some(1))
            .count();
        let share = to_1 as f64 / f64::from(keys);
        assert!((share - 0.75).abs() < 0.04, "weight 3 of 4 got {share}");
    }
}
