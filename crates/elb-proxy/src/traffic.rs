//! Counters keyed by listener and by route: open connections and bytes per listener, request
//! durations per (listener, route, cluster, status class). Keyed by name, not by config
//! position, so a reload that keeps a name keeps its counters; the key sets are bounded by
//! the names in the configs loaded (never request data).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};

use crate::stats::Histogram;

/// Per listener.
#[derive(Debug, Default)]
pub struct ListenerStats {
    /// The listener's name (`listener#N` when unnamed).
    pub name: String,
    /// Open client connections.
    pub open: AtomicI64,
    /// Client connections accepted.
    pub accepted: AtomicU64,
    /// Request bytes received (heads and declared bodies).
    pub bytes_in: AtomicU64,
    /// Response body bytes sent.
    pub bytes_out: AtomicU64,
    /// Request durations by route and cluster (looked up on every request, by names from
    /// the config, never from requests: a cheap hash is safe here).
    routes: RwLock<HashMap<String, Vec<Arc<RouteStats>>, BuildHasherDefault<Fnv>>>,
}

/// FNV-1a: a few instructions per byte for the short route names keyed on every request,
/// where SipHash cost several hundred per lookup.
#[derive(Debug)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Request durations of one (listener, route, cluster).
#[derive(Debug, Default)]
pub struct RouteStats {
    /// The listener's name.
    pub listener: String,
    /// The route's name; empty for answers given before routing (404, 400).
    pub route: String,
    /// The cluster's name; empty when no cluster was chosen.
    pub cluster: String,
    /// From the request head to the last body byte, by status class 1xx..5xx.
    pub durations: [Histogram; 5],
}

impl RouteStats {
    /// The histogram of a status's class (a status outside 100..=599 counts as 5xx).
    pub fn for_status(&self, status: u16) -> &Histogram {
        let i = usize::from(status / 100).clamp(1, 5) - 1;
        &self.durations[i]
    }
}

impl ListenerStats {
    /// The durations of `route` (served by `cluster`), created on first use.
    pub fn route(&self, route: &str, cluster: &str) -> Arc<RouteStats> {
        if let Ok(map) = self.routes.read() {
            if let Some(r) = map
                .get(route)
                .and_then(|v| v.iter().find(|r| r.cluster == cluster))
            {
                return r.clone();
            }
        }
        let mut map = self.routes.write().unwrap_or_else(|e| e.into_inner());
        let list = map.entry(route.to_string()).or_default();
        if let Some(r) = list.iter().find(|r| r.cluster == cluster) {
            return r.clone();
        }
        let r = Arc::new(RouteStats {
            listener: self.name.clone(),
            route: route.to_string(),
            cluster: cluster.to_string(),
            durations: Default::default(),
        });
        list.push(r.clone());
        r
    }

    /// Every route's durations, sorted by route then cluster.
    pub fn routes(&self) -> Vec<Arc<RouteStats>> {
        let map = self.routes.read().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = map.values().flatten().cloned().collect();
        v.sort_by(|a, b| (&a.route, &a.cluster).cmp(&(&b.route, &b.cluster)));
        v
    }
}

/// The listeners seen since start, by name.
#[derive(Debug, Default)]
pub struct Traffic {
    listeners: Mutex<Vec<Arc<ListenerStats>>>,
}

impl Traffic {
    /// The stats of listener `name`, created on first use (a reload keeps them).
    pub fn listener(&self, name: &str) -> Arc<ListenerStats> {
        let mut v = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = v.iter().find(|l| l.name == name) {
            return l.clone();
        }
        let l = Arc::new(ListenerStats {
            name: name.to_string(),
            ..Default::default()
        });
        v.push(l.clone());
        l
    }

    /// Every listener's stats, in the order they were first seen.
    pub fn listeners(&self) -> Vec<Arc<ListenerStats>> {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_stats_are_shared_by_name_and_cluster() {
        let t = Traffic::default();
        let l = t.listener("web");
        assert!(Arc::ptr_eq(&l, &t.listener("web")));
        let a = l.route("api", "app");
        assert!(Arc::ptr_eq(&a, &l.route("api", "app")));
        let b = l.route("api", "other");
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(l.routes().len(), 2);
        assert!(std::ptr::eq(a.for_status(204), &a.durations[1]));
        assert!(std::ptr::eq(a.for_status(42), &a.durations[0]));
        assert!(std::ptr::eq(a.for_status(999), &a.durations[4]));
    }
}
