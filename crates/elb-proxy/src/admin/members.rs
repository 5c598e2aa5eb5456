//! Runtime member changes on the admin socket (`add server`, `del server`, `set server …
//! addr`), as HAProxy 3.x has them: the running config is changed, validated like a file,
//! and installed as a new snapshot the way a reload is, so members that keep their names
//! keep their counters, admin state and (at the same address) their pools and health. The
//! file is not written: the next reload from the file undoes the change, and every answer
//! says so.

use std::sync::Arc;

use elb_proxy_core::config::{Config, Member};
use elb_proxy_core::{AdminState, MemberAddr, ServerRef};

use crate::shared::Shared;
use crate::snapshot::Snapshot;

/// The port of an address given without one.
const DEFAULT_PORT: u16 = 80;

/// Said after each change.
const UNTIL_RELOAD: &str = "(kept until the next reload from the config file)";

/// `add server C/M ADDR[:PORT] [weight N]`: a new member, ready at once.
pub(super) async fn add(
    shared: &Arc<Shared>,
    s: &ServerRef,
    addr: MemberAddr,
    weight: Option<u32>,
) -> String {
    let address = addr.with_default_port(DEFAULT_PORT);
    change(shared, s, |config, _| {
        let cluster = cluster_mut(config, s)?;
        if cluster.members.iter().any(|m| m.display_name() == s.member) {
            return Err(format!(
                "member '{}' already in cluster '{}'",
                s.member, s.cluster
            ));
        }
        cluster.members.push(Member {
            name: Some(s.member.clone()),
            address: address.into(),
            weight: weight.unwrap_or(1),
            protocol: None,
            max_connections: 0,
            resolved_from: None,
            tls: None,
        });
        Ok(format!("added {}/{} at {address}", s.cluster, s.member))
    })
    .await
}

/// `del server C/M`: only a member in drain or maintenance with nothing in flight.
pub(super) async fn del(shared: &Arc<Shared>, s: &ServerRef) -> String {
    change(shared, s, |config, snap| {
        let live = snap
            .cluster(&s.cluster)
            .ok_or_else(|| format!("no cluster '{}'", s.cluster))?;
        let i = live
            .member_index(&s.member)
            .ok_or_else(|| format!("no member '{}' in cluster '{}'", s.member, s.cluster))?;
        let state = live.lock().members[i].clone();
        if state.admin == AdminState::Ready {
            return Err(format!(
                "{}/{} is ready: put it in drain or maint first",
                s.cluster, s.member
            ));
        }
        if state.in_flight > 0 {
            return Err(format!(
                "{}/{} still has {} requests in flight",
                s.cluster, s.member, state.in_flight
            ));
        }
        let cluster = cluster_mut(config, s)?;
        cluster.members.retain(|m| m.display_name() != s.member);
        Ok(format!("deleted {}/{}", s.cluster, s.member))
    })
    .await
}

/// `set server C/M addr ADDR [port N]`: the member's address (its port kept when not given).
pub(super) async fn set_addr(shared: &Arc<Shared>, s: &ServerRef, addr: MemberAddr) -> String {
    change(shared, s, |config, _| {
        let cluster = cluster_mut(config, s)?;
        let m = cluster
            .members
            .iter_mut()
            .find(|m| m.display_name() == s.member)
            .ok_or_else(|| format!("no member '{}' in cluster '{}'", s.member, s.cluster))?;
        // An unnamed member is known by its address: keep that name when it moves.
        m.name.get_or_insert_with(|| s.member.clone());
        let address = addr.with_default_port(m.address.port());
        m.address = address.into();
        Ok(format!("{}/{} now at {address}", s.cluster, s.member))
    })
    .await
}

fn cluster_mut<'a>(
    config: &'a mut Config,
    s: &ServerRef,
) -> Result<&'a mut elb_proxy_core::config::Cluster, String> {
    config
        .clusters
        .iter_mut()
        .find(|c| c.name == s.cluster)
        .ok_or_else(|| format!("no cluster '{}'", s.cluster))
}

/// Applies `edit` to the running config, validates and installs it (serialised with reloads).
async fn change(
    shared: &Arc<Shared>,
    s: &ServerRef,
    edit: impl FnOnce(&mut Config, &Snapshot) -> Result<String, String>,
) -> String {
    let _serial = shared.reload_lock.lock().await;
    let old = shared.snapshot.load_full();
    let mut config = old.config.clone().into_inner();
    let done = match edit(&mut config, &old) {
        Ok(done) => done,
        Err(e) => return format!("error: {e}\n"),
    };
    let valid = match elb_proxy_core::config::validate_model(config, "admin socket") {
        Ok(v) => v,
        Err(e) => return format!("error: {e}\n"),
    };
    let new = Arc::new(Snapshot::build(valid, Some(&old)));
    carry_runtime_weights(&old, &new);
    shared.snapshot.store(new.clone());
    crate::health_check::start(shared, &new);
    tracing::info!(cluster = %s.cluster, member = %s.member, "{done} {UNTIL_RELOAD}");
    format!("{done} {UNTIL_RELOAD}\n")
}

/// Weights set with `set weight` survive a runtime change (a reload from the file resets them).
fn carry_runtime_weights(old: &Snapshot, new: &Snapshot) {
    for c in &new.clusters {
        let Some(o) = old.cluster(&c.name) else {
            continue;
        };
        let old_b = o.lock();
        let mut b = c.lock();
        for (i, m) in c.members.iter().enumerate() {
            if let Some(j) = o.member_index(&m.name) {
                b.set_weight(i, old_b.members[j].weight);
            }
        }
    }
}
