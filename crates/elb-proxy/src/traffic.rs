//! Counters keyed by listener and by route: open connections and bytes per listener, request
//! durations per (listener, route, cluster, status class). Keyed by name, not by config
//! position, so a reload that keeps a name keeps its counters; the key sets are bounded by
//! the names in the configs loaded (never request data).

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use elb_proxy_core::{CompiledRoute, Router};

use crate::access_log::format::json_plain;
use crate::stats::Histogram;

/// Per listener.
#[derive(Debug, Default)]
pub struct ListenerStats {
    /// The listener's name (`listener#N` when unnamed).
    pub name: String,
    /// The name goes into a JSON log line without escaping.
    pub name_plain: bool,
    /// Open client connections.
    pub open: AtomicI64,
    /// Client connections accepted.
    pub accepted: AtomicU64,
    /// Request bytes received (heads and declared bodies).
    pub bytes_in: AtomicU64,
    /// Response body bytes sent.
    pub bytes_out: AtomicU64,
    /// Request durations by route and cluster, sorted by (route, cluster): a lookup per
    /// request is a binary search of a few names, cheaper than hashing one.
    routes: RwLock<Vec<Arc<RouteStats>>>,
    /// The durations of answers given before routing, once first used.
    unrouted: OnceLock<Arc<RouteStats>>,
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
    /// Both names go into a JSON log line without escaping.
    pub names_plain: bool,
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
        let key =
            |r: &Arc<RouteStats>| (r.route.as_str(), r.cluster.as_str()).cmp(&(route, cluster));
        if let Ok(list) = self.routes.read() {
            if let Ok(i) = list.binary_search_by(key) {
                return list[i].clone();
            }
        }
        let mut list = self.routes.write().unwrap_or_else(|e| e.into_inner());
        match list.binary_search_by(key) {
            Ok(i) => list[i].clone(),
            Err(i) => {
                let r = Arc::new(RouteStats {
                    listener: self.name.clone(),
                    route: route.to_string(),
                    cluster: cluster.to_string(),
                    names_plain: json_plain(route) && json_plain(cluster),
                    durations: Default::default(),
                });
                list.insert(i, r.clone());
                r
            }
        }
    }

    /// The durations of answers given before routing (empty route and cluster).
    pub fn unrouted(&self) -> Arc<RouteStats> {
        self.unrouted.get_or_init(|| self.route("", "")).clone()
    }

    /// Every route's durations, sorted by route then cluster.
    pub fn routes(&self) -> Vec<Arc<RouteStats>> {
        self.routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// One snapshot's duration histograms on one listener, by route and cluster index: a slot
/// is found by name on its first request and then read by index, so the request path
/// compares no names. Slots fill lazily, so a pair never served shows no series.
#[derive(Debug)]
pub struct RouteTable {
    listener: Arc<ListenerStats>,
    /// By route index (`CompiledRoute::index`).
    routes: Box<[RouteSlots]>,
}

/// Which clusters a route's slots stand for.
#[derive(Debug, Clone, Copy)]
enum Serves {
    /// One slot: this cluster, or a redirect (`None`).
    One(Option<usize>),
    /// A split: one slot per cluster index.
    Split,
}

#[derive(Debug)]
struct RouteSlots {
    serves: Serves,
    slots: Box<[OnceLock<Arc<RouteStats>>]>,
}

impl RouteTable {
    /// The empty table of `router` (over `clusters` clusters) on `listener`.
    pub fn new(listener: Arc<ListenerStats>, router: &Router, clusters: usize) -> Self {
        let routes = router
            .all()
            .map(|r| {
                let rules = r.rules.as_deref();
                let serves = if rules.is_some_and(|x| x.redirect.is_some()) {
                    Serves::One(None)
                } else if rules.is_some_and(|x| x.split.is_some()) {
                    Serves::Split
                } else {
                    Serves::One(Some(r.cluster))
                };
                let n = if matches!(serves, Serves::Split) {
                    clusters
                } else {
                    1
                };
                RouteSlots {
                    serves,
                    slots: (0..n).map(|_| OnceLock::new()).collect(),
                }
            })
            .collect();
        Self { listener, routes }
    }

    /// The listener this table counts for.
    pub fn listener(&self) -> &Arc<ListenerStats> {
        &self.listener
    }

    /// The durations of `route` served by cluster `cluster` (`None`: a redirect), named
    /// `cluster_name`; a pair outside the table is looked up by name.
    pub fn get(
        &self,
        route: &CompiledRoute,
        cluster: Option<usize>,
        cluster_name: &str,
    ) -> Arc<RouteStats> {
        let slot = self.routes.get(route.index).and_then(|r| match r.serves {
            Serves::One(only) if only == cluster => r.slots.first(),
            Serves::Split => r.slots.get(cluster?),
            Serves::One(_) => None,
        });
        match slot {
            Some(s) => s
                .get_or_init(|| self.listener.route(&route.name, cluster_name))
                .clone(),
            None => self.listener.route(&route.name, cluster_name),
        }
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
            name_plain: json_plain(name),
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
        let c = l.route("", "");
        assert!(Arc::ptr_eq(&b, &l.route("api", "other")));
        let names: Vec<_> = l
            .routes()
            .iter()
            .map(|r| (r.route.clone(), r.cluster.clone()))
            .collect();
        let pairs = [("", ""), ("api", "app"), ("api", "other")];
        assert_eq!(names, pairs.map(|(r, c)| (r.to_string(), c.to_string())));
        assert!(Arc::ptr_eq(&c, &l.routes()[0]));
        assert!(std::ptr::eq(a.for_status(204), &a.durations[1]));
        assert!(std::ptr::eq(a.for_status(42), &a.durations[0]));
        assert!(std::ptr::eq(a.for_status(999), &a.durations[4]));
    }
}
