//! Runtime member changes on the admin socket (`add server`, `del server`, `set server …
//! addr`), as HAProxy 3.x has them: the change is recorded with the others in force
//! (`crate::running`), the running config rebuilt from the file, the DNS answers and those
//! changes, validated like a file, and installed as a new snapshot the way a reload is, so
//! members that keep their names keep their counters, admin state and (at the same address)
//! their pools and health. A member added is in maintenance until `enable server` (or `set
//! server … state ready`), as in HAProxy 3.x. The file is not written: the next reload from
//! the file undoes the change, and every answer says so.

use std::sync::Arc;

use elb_proxy_core::config::Member;
use elb_proxy_core::{AdminState, MemberAddr, ServerRef};

use crate::running::RuntimeChanges;
use crate::shared::Shared;
use crate::snapshot::{LiveCluster, Snapshot};

/// The port of an address given without one.
const DEFAULT_PORT: u16 = 80;

/// Said after each change.
const UNTIL_RELOAD: &str = "(kept until the next reload from the config file)";

/// `add server C/M ADDR[:PORT] [weight N]`: a new member, in maintenance (no traffic, no
/// health check) until it is enabled.
pub(super) async fn add(
    shared: &Arc<Shared>,
    s: &ServerRef,
    addr: MemberAddr,
    weight: Option<u32>,
) -> String {
    let address = addr.with_default_port(DEFAULT_PORT);
    let member = s.member.clone();
    change(
        shared,
        s,
        |changes, snap| {
            let live = cluster(snap, s)?;
            if live.member_index(&s.member).is_some() {
                return Err(format!(
                    "member '{}' already in cluster '{}'",
                    s.member, s.cluster
                ));
            }
            changes.add(
                &s.cluster,
                Member {
                    name: Some(s.member.clone()),
                    address: address.into(),
                    weight: weight.unwrap_or(1),
                    weight_written: weight.is_some(),
                    protocol: None,
                    max_connections: 0,
                    resolved_from: None,
                    tls: None,
                },
            );
            Ok(format!(
                "added {}/{} at {address} in maintenance: `enable server {}/{}` puts it in service",
                s.cluster, s.member, s.cluster, s.member
            ))
        },
        move |c: &LiveCluster| {
            if let Some(i) = c.member_index(&member) {
                c.lock().members[i].admin = AdminState::Maint;
            }
        },
    )
    .await
}

/// `del server C/M`: only a member in drain or maintenance with nothing in flight.
pub(super) async fn del(shared: &Arc<Shared>, s: &ServerRef) -> String {
    change(
        shared,
        s,
        |changes, snap| {
            let live = cluster(snap, s)?;
            let i = member_index(live, s)?;
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
            changes.delete(&s.cluster, &s.member);
            Ok(format!("deleted {}/{}", s.cluster, s.member))
        },
        |_| {},
    )
    .await
}

/// `set server C/M addr ADDR [port N]`: the member's address (its port kept when not given).
pub(super) async fn set_addr(shared: &Arc<Shared>, s: &ServerRef, addr: MemberAddr) -> String {
    change(
        shared,
        s,
        |changes, snap| {
            let live = cluster(snap, s)?;
            let i = member_index(live, s)?;
            let address = addr.with_default_port(live.members[i].addr.port());
            changes.set_addr(&s.cluster, &s.member, address);
            Ok(format!("{}/{} now at {address}", s.cluster, s.member))
        },
        |_| {},
    )
    .await
}

fn cluster<'a>(snap: &'a Snapshot, s: &ServerRef) -> Result<&'a LiveCluster, String> {
    snap.cluster(&s.cluster)
        .map(|c| &**c)
        .ok_or_else(|| format!("no cluster '{}'", s.cluster))
}

fn member_index(live: &LiveCluster, s: &ServerRef) -> Result<usize, String> {
    live.member_index(&s.member)
        .ok_or_else(|| format!("no member '{}' in cluster '{}'", s.member, s.cluster))
}

/// Records `edit` with the changes in force, rebuilds and installs the running config
/// (serialised with reloads and DNS rebuilds); `prepare` sees the changed cluster before
/// any request does. A change the rebuilt config refuses is not recorded.
async fn change(
    shared: &Arc<Shared>,
    s: &ServerRef,
    edit: impl FnOnce(&mut RuntimeChanges, &Snapshot) -> Result<String, String>,
    prepare: impl FnOnce(&LiveCluster),
) -> String {
    let _serial = shared.reload_lock.lock().await;
    let Some(declared) = shared.names.declared() else {
        return "error: no config loaded\n".into();
    };
    let old = shared.snapshot.load_full();
    let mut changes = shared.running.changes().clone();
    let done = match edit(&mut changes, &old) {
        Ok(done) => done,
        Err(e) => return format!("error: {e}\n"),
    };
    let valid = match crate::running::compose(shared, &declared, &changes, "admin socket") {
        Ok(v) => v,
        Err(e) => return format!("error: {e}\n"),
    };
    *shared.running.changes() = changes;
    crate::running::install(shared, valid, |new| {
        if let Some(c) = new.cluster(&s.cluster) {
            prepare(c);
        }
    });
    tracing::info!(cluster = %s.cluster, member = %s.member, "{done} {UNTIL_RELOAD}");
    format!("{done} {UNTIL_RELOAD}\n")
}
