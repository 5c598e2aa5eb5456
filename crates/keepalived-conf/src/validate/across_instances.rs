//! Checks across instances, once each is complete: VRIDs used twice on one interface, sync
//! groups (members that exist and belong to one group, weights keepalived zeroes), and what
//! a group passes on to its members, and the members of track groups.

use crate::diag::{Diagnostic, ExitClass, Severity};
use crate::model::{Config, Family, Instance};
use crate::origin::{At, Origins, diag_at};
use std::collections::HashMap;

/// A sync group's `notify_priority_changes` applies to its members (keepalived 2.2.7 writes
/// their `MASTER_PRIORITY` lines, seen side by side in the lab).
pub(super) fn group_priority_notifications(cfg: &mut Config) {
    let members: Vec<String> = cfg
        .sync_groups
        .iter()
        .filter(|g| g.notify_priority_changes)
        .flat_map(|g| g.group.iter().cloned())
        .collect();
    for i in &mut cfg.instances {
        if members.contains(&i.name) {
            i.notify_priority_changes = true;
        }
    }
}

fn config_error(diags: &mut Vec<Diagnostic>, at: Option<&At>, kw: &str, msg: String) {
    diags.push(diag_at(
        at,
        Severity::Error,
        ExitClass::ConfigError,
        kw,
        msg,
    ));
}

pub(super) fn duplicate_vrids(cfg: &Config, origins: &Origins, diags: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<(&str, Family, u8), &str> = HashMap::new();
    for a in &cfg.instances {
        let Some(iface) = a.interface.as_deref() else {
            continue;
        };
        if let Some(first) = seen.insert((iface, a.family, a.virtual_router_id), &a.name) {
            let fam = if a.family == Family::V4 {
                "IPv4"
            } else {
                "IPv6"
            };
            config_error(
                diags,
                origins.vrid.get(&a.name),
                "virtual_router_id",
                format!(
                    "{first} and {} both use VRID {} with {fam} on interface {iface}",
                    a.name, a.virtual_router_id
                ),
            );
        }
    }
}

/// The tracked objects by name: scripts, files, processes.
type TrackedObjects<'a> = (
    &'a std::collections::BTreeMap<String, crate::model::VrrpScript>,
    &'a std::collections::BTreeMap<String, crate::model::TrackFile>,
    &'a std::collections::BTreeMap<String, crate::model::TrackProcess>,
);

/// Members of a sync group move together, so their trackers cannot carry weights unless the
/// group says `sync_group_tracking_weight`: keepalived zeroes them with an error.
fn zero_member_weights(
    i: &mut Instance,
    at: Option<&At>,
    cfg: TrackedObjects<'_>,
    diags: &mut Vec<Diagnostic>,
) {
    let (scripts, files, processes) = cfg;
    for t in &mut i.track_interface {
        if t.weight != 0 {
            config_error(
                diags,
                at,
                "track_interface",
                format!(
                    "({}) ignoring {} tracked interface weight due to SYNC group",
                    i.name, t.name
                ),
            );
            t.weight = 0;
        }
    }
    let name = i.name.clone();
    let zero = |refs: &mut Vec<crate::model::TrackRef>,
                default: &dyn Fn(&str) -> i32,
                kw: &str,
                what: &str,
                diags: &mut Vec<Diagnostic>| {
        for t in refs {
            if t.weight.unwrap_or_else(|| default(&t.name)) != 0 {
                let msg = format!(
                    "({name}) ignoring {what} {} with weights due to SYNC group",
                    t.name
                );
                config_error(diags, at, kw, msg);
                t.weight = Some(0);
            }
        }
    };
    let script_weight = |n: &str| scripts.get(n).map_or(0, |s| s.weight);
    let file_weight = |n: &str| files.get(n).map_or(1, |f| f.weight);
    zero(
        &mut i.track_script,
        &script_weight,
        "track_script",
        "tracked script",
        diags,
    );
    zero(
        &mut i.track_file,
        &file_weight,
        "track_file",
        "track file",
        diags,
    );
    let process_weight = |n: &str| processes.get(n).map_or(1, |p| p.weight);
    zero(
        &mut i.track_process,
        &process_weight,
        "track_process",
        "track process",
        diags,
    );
}

pub(super) fn sync_groups(cfg: &mut Config, origins: &Origins, diags: &mut Vec<Diagnostic>) {
    let mut groups = std::mem::take(&mut cfg.sync_groups);
    groups.retain_mut(|g| {
        let mut members = Vec::new();
        let group_at = origins.group.get(&g.name);
        for m in std::mem::take(&mut g.group) {
            let at = origins.member.get(&(g.name.clone(), m.clone()));
            match cfg.instances.iter_mut().find(|i| i.name == m) {
                None => config_error(diags, at, "group", format!(
                    "Virtual router {m} specified in sync group {} doesn't exist - ignoring", g.name
                )),
                Some(i) if i.sync_group.is_some() => config_error(diags, at, "group", format!(
                    "Virtual router {m} cannot exist in more than one sync group; ignoring {}", g.name
                )),
                Some(i) => {
                    i.sync_group = Some(g.name.clone());
                    if !g.sync_group_tracking_weight {
                        zero_member_weights(
                            i,
                            at,
                            (&cfg.scripts, &cfg.track_files, &cfg.track_processes),
                            diags,
                        );
                    }
                    members.push(m);
                }
            }
        }
        g.group = members;
        match g.group.len() {
            0 => {
                config_error(diags, group_at, "vrrp_sync_group", format!("Sync group {} has no virtual router(s). removing", g.name));
                false
            }
            1 => {
                config_error(diags, group_at, "vrrp_sync_group", format!("Sync group {} has only 1 virtual router(s) - this probably isn't what you want", g.name));
                true
            }
            _ => true,
        }
    });
    cfg.sync_groups = groups;
}

/// A `track_group` member that names no instance: keepalived 2.2.7 says nothing and tracks
/// nothing for it; vrrpd says so (a warning, so `-t` keeps keepalived's exit code).
pub(super) fn track_groups(cfg: &mut Config, origins: &Origins, diags: &mut Vec<Diagnostic>) {
    let names: Vec<String> = cfg.instances.iter().map(|i| i.name.clone()).collect();
    for g in &mut cfg.track_groups {
        g.instances.retain(|m| {
            let known = names.contains(m);
            if !known {
                let at = origins.track_member.get(&(g.name.clone(), m.clone()));
                diags.push(diag_at(
                    at,
                    Severity::Warning,
                    ExitClass::None,
                    "group",
                    format!(
                        "track_group {} names vrrp_instance {m}, which does not exist - ignored (keepalived 2.2.7 says nothing)",
                        g.name
                    ),
                ));
            }
            known
        });
    }
}
