//! The running form of one loaded config, a `Snapshot`: compiled router, clusters with their
//! balancers, pools and stats. A reload builds a new `Snapshot` and swaps it in atomically;
//! requests keep the `Arc<Snapshot>` they started with, so they finish on their own config. Members and
//! clusters that keep their names across a reload keep their pools, counters, admin state and
//! health, so a reload neither resets statistics nor resurrects a member an operator disabled.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use http::HeaderValue;

use crate::access_log::format::json_plain;
use crate::stats::{ClusterStats, MemberStats};
use crate::traffic::{ListenerStats, RouteStats, RouteTable, Traffic};
use crate::upstream::Pool;
use elb_proxy_core::config::{Cluster, Config, HealthCheck, ValidConfig};
use elb_proxy_core::{ActivePolicy, Balancer, PassivePolicy};
use elb_proxy_core::{CompiledRoute, Router};

/// One member, static parts.
#[derive(Debug)]
pub struct LiveMember {
    /// Name (its address when unnamed).
    pub name: String,
    /// The name goes into a JSON log line without escaping.
    pub name_plain: bool,
    /// Address.
    pub addr: std::net::SocketAddr,
    /// `Host` value for active checks and for clients that sent none.
    pub authority: HeaderValue,
    /// Idle connections to the member.
    pub pool: Arc<Pool>,
    /// Counters, kept across reloads while the member keeps its name.
    pub stats: Arc<MemberStats>,
    /// The sticky cookie's value for this member (empty without sticky sessions).
    pub cookie_id: String,
}

/// One cluster.
#[derive(Debug)]
pub struct LiveCluster {
    /// Name.
    pub name: String,
    /// The name goes into a JSON log line without escaping.
    pub name_plain: bool,
    /// The cluster's config.
    pub config: Cluster,
    /// Members in config order.
    pub members: Vec<LiveMember>,
    /// Member choice and health, locked briefly per request.
    pub balancer: Mutex<Balancer>,
    /// Counters, kept across reloads while the cluster keeps its name.
    pub stats: Arc<ClusterStats>,
    /// Sticky-session cookie name, when configured.
    pub sticky_cookie: Option<String>,
    /// The queue in front of members at `max_connections`, when a member has a limit.
    pub queue: Option<Mutex<elb_proxy_core::retry_policy::QueueState>>,
    /// Signalled when a request to a member ends (a queued request may go).
    pub freed: tokio::sync::Notify,
    /// The retry budget's window, when `retry_budget` is set.
    pub budget: Option<Mutex<elb_proxy_core::retry_policy::RetryBudgetState>>,
}

impl LiveCluster {
    /// Locks the balancer; a poisoned lock (a panic elsewhere) still yields the state.
    pub fn lock(&self) -> MutexGuard<'_, Balancer> {
        self.balancer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Index of the member whose sticky cookie value is `id` (an unknown or forged value
    /// names none, and the request is balanced as usual).
    pub fn member_by_cookie(&self, id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.cookie_id == id)
    }

    /// A request to member `idx` ended: its place is free (a queued request may take it).
    pub fn finish(&self, idx: usize) {
        self.lock().finish(idx);
        if self.queue.is_some() {
            self.freed.notify_one();
        }
    }

    /// Counts a request in the retry budget's window (when there is a budget).
    pub fn count_request_for_budget(&self) {
        if let Some(b) = &self.budget {
            b.lock()
                .unwrap_or_else(|p| p.into_inner())
                .on_request(Instant::now());
        }
    }

    /// Takes one retry from the budget; false (and counted) when it is spent. Without a
    /// budget every retry the policy allows is taken.
    pub fn spend_retry(&self) -> bool {
        let Some(b) = &self.budget else {
            return true;
        };
        let ok = b
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_retry(Instant::now());
        if !ok {
            self.stats
                .retry_budget_exhausted
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(cluster = %self.name, "retry budget spent: no retry");
        }
        ok
    }

    /// Index of the member named `name`.
    pub fn member_index(&self, name: &str) -> Option<usize> {
        self.members.iter().position(|m| m.name == name)
    }

    /// At least one member could take traffic now.
    pub fn has_healthy_member(&self, now: Instant) -> bool {
        self.lock().serving_count(now) > 0
    }

    /// The request's key for `balance: hash` (`None` for other modes, or when the request
    /// lacks the header or cookie hashed).
    pub fn hash_key(&self, source: IpAddr, path: &str, headers: &http::HeaderMap) -> Option<u64> {
        if self.config.balance != elb_proxy_core::config::BalanceMode::Hash {
            return None;
        }
        let on = self.config.hash_on.clone().unwrap_or_default();
        elb_proxy_core::request_key(&on, source, path, headers)
    }

    /// The cluster's active checks, when configured.
    pub fn health_check(&self) -> Option<&HealthCheck> {
        self.config.health_check.as_ref()
    }
}

/// The running form of one config.
#[derive(Debug)]
pub struct Snapshot {
    /// The validated config this snapshot runs.
    pub config: ValidConfig,
    /// The compiled routing table.
    pub router: Router,
    /// Clusters in config order (route targets index into it).
    pub clusters: Vec<Arc<LiveCluster>>,
    /// Indexes of the health service's must-be-up clusters.
    pub must_be_up: Vec<usize>,
    /// When this config was loaded (for `show info`).
    pub loaded_at: std::time::SystemTime,
    /// Forwarding headers to add (from `forward_headers`).
    pub forward_set: elb_proxy_core::ForwardSet,
    /// The request id header (from `request_id`), when request ids are on.
    pub request_id: Option<http::HeaderName>,
    /// Each listener's duration histograms by route and cluster index, in config order.
    route_stats: Vec<RouteTable>,
}

impl Snapshot {
    /// Builds the snapshot for `config`, taking over state from `previous` where names match;
    /// its listeners' counters come from `traffic`.
    pub fn build(config: ValidConfig, previous: Option<&Snapshot>, traffic: &Traffic) -> Self {
        // Members given by name run as their answers (see `crate::dns`); one not expanded
        // yet has no address to run with.
        let config = if config.member_names().is_empty() {
            config
        } else {
            config.expanded(|_| None)
        };
        let clusters: Vec<Arc<LiveCluster>> = config
            .clusters
            .iter()
            .map(|c| {
                Arc::new(build_cluster(
                    c,
                    &config,
                    previous.and_then(|p| p.cluster(&c.name)),
                ))
            })
            .collect();
        let index = |n: &str| config.clusters.iter().position(|c| c.name == n);
        let mut router = Router::compile(&config, index);
        if let Some(p) = previous {
            // An unchanged split goes on where it was; a changed one starts a new run.
            let kept = router.keep_split_positions(&p.router);
            if !kept.is_empty() {
                tracing::debug!(routes = ?kept, "weighted splits go on from their positions");
            }
        }
        let must_be_up = config
            .health
            .must_be_up
            .iter()
            .filter_map(|n| index(n))
            .collect();
        let route_stats = config
            .listeners
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let stats = traffic.listener(&crate::listeners::listener_name(i, l));
                RouteTable::new(stats, &router, clusters.len())
            })
            .collect();
        Self {
            route_stats,
            forward_set: elb_proxy_core::ForwardSet::from_config(&config.forward_headers),
            request_id: elb_proxy_core::request_id::header_of(&config),
            router,
            clusters,
            must_be_up,
            loaded_at: std::time::SystemTime::now(),
            config,
        }
    }

    /// The duration histograms of `route` served by cluster `cluster` (`None`: a redirect)
    /// on `listener`: by index when the listener is one of this config's.
    pub fn route_stats(
        &self,
        listener: &Arc<ListenerStats>,
        route: &CompiledRoute,
        cluster: Option<usize>,
    ) -> Arc<RouteStats> {
        let name = cluster.map_or("(redirect)", |c| self.clusters[c].name.as_str());
        match self
            .route_stats
            .iter()
            .find(|t| Arc::ptr_eq(t.listener(), listener))
        {
            Some(t) => t.get(route, cluster, name),
            None => listener.route(&route.name, name),
        }
    }

    /// The cluster named `name`.
    pub fn cluster(&self, name: &str) -> Option<&Arc<LiveCluster>> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// Whether `ip` is a trusted proxy whose forwarding headers are extended.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.config.trusted_proxies.iter().any(|n| n.contains(&ip))
    }
}

fn build_cluster(c: &Cluster, config: &Config, old: Option<&Arc<LiveCluster>>) -> LiveCluster {
    let passive = PassivePolicy {
        consecutive_failures: c.passive.consecutive_failures,
        base_ejection: c.passive.base_ejection.0,
        max_ejection: c.passive.max_ejection.0,
        max_ejection_percent: c.passive.max_ejection_percent,
        panic_threshold_percent: c.passive.panic_threshold,
    };
    let active = c.health_check.as_ref().map(|h| ActivePolicy {
        rise: h.rise,
        fall: h.fall,
    });
    let weights: Vec<u32> = c.members.iter().map(|m| m.weight).collect();
    let mut balancer = Balancer::new(c.balance, &weights, passive, active);
    let limits: Vec<u32> = c.members.iter().map(|m| m.max_connections).collect();
    balancer.set_limits(&limits);
    balancer.set_slow_start(c.slow_start.map_or(std::time::Duration::ZERO, |d| d.0));
    if c.balance == elb_proxy_core::config::BalanceMode::Hash {
        let names = c.members.iter().map(|m| m.display_name()).collect();
        balancer.enable_hashing(names, c.hash_balance_factor);
    }
    let old_balancer = old.map(|o| o.lock().clone());
    let members = c
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let name = m.display_name();
            let addr = m
                .address
                .ip()
                .expect("members given by name are expanded above");
            // By name: counters and admin state. At the same address and protocol also
            // the pool and the health record (a moved member starts fresh there).
            let protocol = m.protocol.unwrap_or(c.protocol);
            let named = old.and_then(|o| {
                let j = o.members.iter().position(|x| x.name == name)?;
                Some((j, &o.members[j]))
            });
            let same_place = named.filter(|(_, x)| x.addr == addr && x.pool.protocol == protocol);
            if let (Some((j, _)), Some(ob)) = (named, &old_balancer) {
                let s = &ob.members[j];
                let n = &mut balancer.members[i];
                n.admin = s.admin;
                if same_place.is_some() {
                    n.ramp_from = s.ramp_from;
                    n.ejected_until = s.ejected_until;
                    n.ejections_in_row = s.ejections_in_row;
                    if active.is_some() {
                        n.checked_up = s.checked_up;
                    }
                }
            }
            let stats = named.map_or_else(
                || Arc::new(MemberStats::default()),
                |(_, pm)| pm.stats.clone(),
            );
            let pool = match same_place {
                Some((_, pm)) => pm.pool.clone(),
                None => Arc::new(Pool::new(
                    addr,
                    protocol,
                    c.pool_max_idle,
                    config.timeouts.upstream_idle.0,
                )),
            };
            pool.set_send_proxy(c.send_proxy_protocol.map(|v| match v {
                elb_proxy_core::config::ProxyProtocolVersion::V1 => elb_probe::ProxyProtocol::V1,
                elb_proxy_core::config::ProxyProtocolVersion::V2 => elb_probe::ProxyProtocol::V2,
            }));
            pool.set_tls(c.tls_for(m));
            let cookie_id = c.sticky.as_ref().map_or_else(String::new, |s| {
                elb_proxy_core::rewrite::cookie_id(&s.secret, &c.name, &name)
            });
            LiveMember {
                cookie_id,
                authority: HeaderValue::from_str(&addr.to_string())
                    .unwrap_or(HeaderValue::from_static("localhost")),
                name_plain: json_plain(&name),
                name,
                addr,
                pool,
                stats,
            }
        })
        .collect();
    LiveCluster {
        name: c.name.clone(),
        name_plain: json_plain(&c.name),
        config: c.clone(),
        members,
        balancer: Mutex::new(balancer),
        stats: old.map_or_else(|| Arc::new(ClusterStats::default()), |o| o.stats.clone()),
        sticky_cookie: c.sticky.as_ref().map(|s| s.cookie.clone()),
        queue: c
            .members
            .iter()
            .any(|m| m.max_connections > 0)
            .then(|| Mutex::new(elb_proxy_core::retry_policy::QueueState::new(c.queue_size))),
        freed: tokio::sync::Notify::new(),
        budget: c.retry_budget.map(|b| {
            Mutex::new(elb_proxy_core::retry_policy::RetryBudgetState::new(
                b.budget(),
                Instant::now(),
            ))
        }),
    }
}
