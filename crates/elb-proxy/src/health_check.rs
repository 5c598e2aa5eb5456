//! Active health checks: one task per checked cluster probes every member each `interval`
//! with elb-probe (the same probe elb-check uses), all members of a round in parallel, and
//! feeds results to the cluster's balancer, where rise/fall turn them into up/down
//! transitions. A member in maintenance is not probed (its checks start again when it
//! leaves maintenance, as HAProxy's do). A task ends when its config generation is replaced by a reload (the new
//! generation starts its own) or on shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use elb_probe::{ProbeSpec, StatusSet, Target};

use crate::shared::Shared;
use crate::snapshot::{LiveCluster, Snapshot};
use elb_proxy_core::config::{HealthCheck, MemberProtocol, MemberTls};
use elb_proxy_core::{AdminState, Transition};

/// The probe spec for one member; with `tls`, the probe speaks TLS with the member's own
/// settings (CA, name, client certificate, verification) and HTTP/2 when the member
/// speaks it.
pub fn spec_for(
    hc: &HealthCheck,
    addr: std::net::SocketAddr,
    tls: Option<(&MemberTls, MemberProtocol)>,
) -> Option<ProbeSpec> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let target = Target::parse(&format!("{scheme}://{addr}{}", hc.path)).ok()?;
    let mut spec = ProbeSpec::new(target);
    if let Some((t, protocol)) = tls {
        spec.tls = crate::member_tls::probe_options(t);
        if t.alpn_for(protocol).first().is_some_and(|p| p == "h2") {
            spec.http_version = elb_probe::HttpVersion::Http2;
        }
    }
    spec.timeout = hc.timeout.0;
    spec.host = hc.host.clone();
    spec.user_agent = concat!("elb-proxy/", env!("CARGO_PKG_VERSION"), " health-check").into();
    let expect = if hc.expect_status.is_empty() {
        "200-399".to_string()
    } else {
        hc.expect_status
            .iter()
            .map(|r| {
                if r.low == r.high {
                    r.low.to_string()
                } else {
                    format!("{}-{}", r.low, r.high)
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    spec.expect = expect.parse::<StatusSet>().ok()?;
    spec.body_contains = hc.expect_body.clone();
    Some(spec)
}

/// Starts the check tasks of a freshly installed snapshot.
pub fn start(shared: &Arc<Shared>, rt: &Arc<Snapshot>) {
    for cluster in &rt.clusters {
        if cluster.health_check().is_some() {
            tokio::spawn(run_cluster(shared.clone(), rt.clone(), cluster.clone()));
        }
    }
}

async fn run_cluster(shared: Arc<Shared>, rt: Arc<Snapshot>, cluster: Arc<LiveCluster>) {
    let Some(hc) = cluster.health_check().cloned() else {
        return;
    };
    let specs: Vec<Option<ProbeSpec>> = cluster
        .members
        .iter()
        .zip(&cluster.config.members)
        .map(|(m, conf)| {
            let protocol = conf.protocol.unwrap_or(cluster.config.protocol);
            let tls = cluster.config.tls_for(conf).map(|t| (t, protocol));
            spec_for(&hc, m.addr, tls)
        })
        .collect();
    let mut shutdown = shared.shutdown.subscribe();
    let mut tick = tokio::time::interval(hc.interval.0);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = crate::shared::until_shutdown(&mut shutdown) => return,
        }
        if !Arc::ptr_eq(&shared.snapshot.load(), &rt) {
            return;
        }
        // A member in maintenance is not checked until it leaves it (as in HAProxy).
        let maint: Vec<bool> = {
            let b = cluster.lock();
            b.members
                .iter()
                .map(|m| m.admin == AdminState::Maint)
                .collect()
        };
        let probes = specs.iter().zip(&maint).map(|(s, &maint)| async move {
            match s {
                _ if maint => None,
                Some(spec) => {
                    let r = elb_probe::probe(spec).await;
                    Some((r.is_healthy(), r.detail))
                }
                None => Some((false, "invalid probe target".to_string())),
            }
        });
        let results = futures_util::future::join_all(probes).await;
        for (i, result) in results.into_iter().enumerate() {
            let Some((ok, detail)) = result else {
                continue;
            };
            let m = &cluster.members[i];
            if ok {
                m.stats.check_ok.fetch_add(1, Relaxed);
                m.stats.last_check.store(1, Relaxed);
            } else {
                m.stats.check_failed.fetch_add(1, Relaxed);
                m.stats.last_check.store(2, Relaxed);
            }
            let t = cluster.lock().on_probe(i, ok);
            match t {
                Some(Transition::WentDown) => {
                    m.stats.touch_change();
                    tracing::warn!(cluster = %cluster.name, member = %m.name, %detail, "member DOWN by health check (UP -> DOWN)");
                }
                Some(Transition::CameUp) => {
                    m.stats.touch_change();
                    cluster.lock().returned(i, std::time::Instant::now());
                    tracing::info!(cluster = %cluster.name, member = %m.name, "member UP by health check (DOWN -> UP)");
                }
                _ => {}
            }
        }
    }
}
