//! The control socket's view of the daemon: requests travel to the event loop over a channel
//! and come back on a oneshot, so the socket server never touches instance state itself and a
//! slow client can never stall VRRP.

use std::collections::BTreeMap;
use std::time::UNIX_EPOCH;

use tokio::sync::{mpsc, oneshot};
use vrrp::{Event, RxError};

use vrrp::{Instance, Unit};

use super::actions::group_state;
use super::{Daemon, InstRt};
use crate::control::{
    ConfigDump, ControlHandler, GroupStatus, InstanceStats, InstanceStatus, StatsReport,
    StatusReport, TrackerKind, TrackerStatus,
};
use crate::scripts::{TrackerUpdate, TrackerWeight, check_weights};

pub(super) enum ControlReq {
    Status(oneshot::Sender<StatusReport>),
    Stats(oneshot::Sender<StatsReport>),
    Config(oneshot::Sender<ConfigDump>),
    Reload(oneshot::Sender<Result<String, String>>),
    Maintenance(bool, oneshot::Sender<Result<String, String>>),
    Track(String, bool, oneshot::Sender<Result<String, String>>),
}

pub(super) struct ControlBridge {
    tx: mpsc::Sender<ControlReq>,
}

impl ControlBridge {
    pub(super) fn new(tx: mpsc::Sender<ControlReq>) -> Self {
        ControlBridge { tx }
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> ControlReq) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).await.ok()?;
        rx.await.ok()
    }
}

const GONE: &str = "daemon is shutting down";

impl ControlHandler for ControlBridge {
    async fn status(&self) -> StatusReport {
        self.ask(ControlReq::Status).await.unwrap_or_default()
    }

    async fn stats(&self) -> StatsReport {
        self.ask(ControlReq::Stats).await.unwrap_or_default()
    }

    async fn config(&self) -> ConfigDump {
        self.ask(ControlReq::Config).await.unwrap_or_default()
    }

    async fn reload(&self) -> Result<String, String> {
        self.ask(ControlReq::Reload)
            .await
            .unwrap_or_else(|| Err(GONE.into()))
    }

    async fn set_maintenance(&self, on: bool) -> Result<String, String> {
        self.ask(|tx| ControlReq::Maintenance(on, tx))
            .await
            .unwrap_or_else(|| Err(GONE.into()))
    }

    async fn track(&self, name: &str, up: bool) -> Result<String, String> {
        let name = name.to_string();
        self.ask(|tx| ControlReq::Track(name, up, tx))
            .await
            .unwrap_or_else(|| Err(GONE.into()))
    }
}

impl Daemon {
    pub(super) async fn on_control(&mut self, req: ControlReq) {
        match req {
            ControlReq::Status(tx) => {
                let _ = tx.send(self.status_report());
            }
            ControlReq::Stats(tx) => {
                let _ = tx.send(self.stats_report());
            }
            ControlReq::Config(tx) => {
                let conf = self.scripts_mail.conf().cloned();
                let json = conf
                    .as_ref()
                    .and_then(|c| serde_json::to_value(c.as_ref()).ok())
                    .unwrap_or_default();
                let text = serde_json::to_string_pretty(&json).unwrap_or_default() + "\n";
                let _ = tx.send(ConfigDump { text, json });
            }
            ControlReq::Reload(tx) => {
                let r = self.reload().await;
                let _ = tx.send(r);
            }
            ControlReq::Maintenance(on, tx) => {
                self.maintenance = on;
                let now = self.now();
                for u in 0..self.units.len() {
                    let acts = self.units[u].handle_all(now, Event::Maintenance(on));
                    self.execute(u, acts, false).await;
                }
                tracing::info!(on, "maintenance");
                let _ = tx.send(Ok(format!("maintenance {}", if on { "on" } else { "off" })));
            }
            ControlReq::Track(name, up, tx) => {
                let _ = tx.send(self.scripts_mail.push(&name, up));
            }
        }
    }

    pub(super) async fn on_tracker_update(&mut self, u: TrackerUpdate) {
        let id = self.scripts_mail.on_update(&u);
        self.tracker_changed(id, u).await;
    }

    pub(super) async fn on_process_update(&mut self, u: TrackerUpdate) {
        let id = self.scripts_mail.on_process_update(&u);
        self.tracker_changed(id, u).await;
    }

    async fn tracker_changed(&mut self, id: crate::spec::TrackerId, u: TrackerUpdate) {
        let name = id.key();
        tracing::info!(tracker = %name, up = u.up, reason = %u.reason, "tracker changed");
        let now = self.now();
        let targets: Vec<(usize, usize)> = self
            .insts
            .iter()
            .filter(|r| r.spec.trackers.contains(&id))
            .map(|r| (r.unit, r.member))
            .collect();
        for (unit, member) in targets {
            let event = match u.value {
                // track_file: the value itself, so a weighted file adds value x weight.
                Some(value) => Event::TrackerValue {
                    name: name.clone(),
                    value,
                },
                None => Event::TrackerChanged {
                    name: name.clone(),
                    up: u.up,
                },
            };
            let acts = self.units[unit].handle(now, member, event);
            self.execute(unit, acts, false).await;
        }
    }

    /// keepalived's most common configuration mistake, caught from the wire: weights that can
    /// never move this node's priority across the peer's. Logged once per peer priority.
    pub(super) fn weight_check(&mut self, pos: usize, peer: u8) {
        let rt = &self.insts[pos];
        if rt.weight_warning.as_ref().map(|(p, _)| *p) == Some(peer) {
            return;
        }
        let weights = weights_for_check(&rt.spec.vrrp.trackers, &rt.spec.trackers);
        let warning = if weights.is_empty() {
            None
        } else {
            check_weights(rt.spec.vrrp.priority, &weights, peer).warning(&rt.spec.name)
        };
        if let Some(w) = &warning {
            tracing::warn!(instance = %rt.spec.name, peer_priority = peer, "{w}");
        }
        self.insts[pos].weight_warning = Some((peer, warning));
    }

    fn member(&self, rt: &InstRt) -> (&Unit, &Instance) {
        let u = &self.units[rt.unit];
        (u, &u.members()[rt.member])
    }

    pub(super) fn status_report(&self) -> StatusReport {
        let mut instances = Vec::new();
        for rt in &self.insts {
            let (_, inst) = self.member(rt);
            let master = if inst.state() == vrrp::State::Master {
                rt.source.map(|a| (a, inst.effective_priority()))
            } else {
                inst.master()
            };
            let trackers = rt
                .spec
                .vrrp
                .trackers
                .iter()
                .zip(&rt.spec.trackers)
                .map(|(t, id)| {
                    let st = self.scripts_mail.trackers.get(id);
                    let (kind, shown) = (id.kind(), id.name().to_string());
                    let up = match kind {
                        TrackerKind::Interface => self
                            .ifaces
                            .values()
                            .find(|i| i.info.name == shown)
                            .is_none_or(|i| i.info.usable),
                        _ => st.is_some_and(|s| s.up),
                    };
                    TrackerStatus {
                        name: shown,
                        kind,
                        up,
                        weight: i64::from(t.weight),
                        reverse: t.reverse,
                        value: st.and_then(|s| s.value),
                        // Live from the script runner: a push is released once a script
                        // result agrees with it, which need not change the tracker's state.
                        pushed: self.scripts_mail.pushed(&t.name),
                        reason: st.map(|s| s.reason.clone()).unwrap_or_default(),
                    }
                })
                .collect();
            instances.push(InstanceStatus {
                name: rt.spec.name.clone(),
                interface: rt.spec.interface.clone(),
                vrid: rt.spec.vrrp.vrid,
                state: inst.state().name().to_string(),
                base_priority: rt.spec.vrrp.priority,
                effective_priority: inst.effective_priority(),
                master_address: master.map(|m| m.0),
                master_priority: master.map(|m| m.1),
                vips: rt
                    .spec
                    .vips
                    .iter()
                    .map(|v| format!("{}/{}", v.addr, v.prefix_len))
                    .collect(),
                since_unix_ms: rt
                    .since
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0),
                last_transition_reason: rt.last_reason.clone(),
                trackers,
                warnings: rt
                    .weight_warning
                    .as_ref()
                    .and_then(|(_, w)| w.clone())
                    .into_iter()
                    .collect(),
            });
        }
        let sync_groups = self
            .units
            .iter()
            .filter_map(|u| {
                u.group_name().map(|g| GroupStatus {
                    name: g.to_string(),
                    state: group_state(u).to_string(),
                    members: u
                        .members()
                        .iter()
                        .map(|m| m.config().name.clone())
                        .collect(),
                })
            })
            .collect();
        StatusReport {
            router_id: self.spec.router_id.clone().unwrap_or_default(),
            maintenance: self.maintenance,
            instances,
            sync_groups,
            down: self.spec.down.clone(),
        }
    }

    pub(super) fn stats_report(&self) -> StatsReport {
        let instances = self
            .insts
            .iter()
            .map(|rt| {
                let (_, inst) = self.member(rt);
                let c = inst.counters();
                let mut receive_errors: BTreeMap<String, u64> = RxError::ALL
                    .iter()
                    .map(|e| (e.name().to_string(), c.dropped(*e)))
                    .collect();
                if let Some(d) = self.iface_drops.get(&rt.ifindex) {
                    for e in RxError::ALL {
                        *receive_errors.entry(e.name().to_string()).or_default() += d.dropped(e);
                    }
                }
                InstanceStats {
                    name: rt.spec.name.clone(),
                    adverts_sent: rt.stats.adverts_sent,
                    adverts_received: rt.stats.adverts_received,
                    priority_zero_sent: rt.stats.prio0_sent,
                    priority_zero_received: rt.stats.prio0_received,
                    became_master: rt.stats.became_master,
                    released_master: rt.stats.released_master,
                    transitions: rt.stats.transitions,
                    receive_errors,
                }
            })
            .collect();
        StatsReport {
            instances,
            scripts: self.scripts_mail.script_stats(),
            control: Default::default(),
            alerts: self.scripts_mail.alert_stats(),
        }
    }
}

/// The trackers as the weight check sees them. Weight-0 trackers too: their failure means
/// FAULT, which always moves the VIP. A file's value can always bring FAULT (value x weight
/// below -253, or any value at weight 0), so a file counts as weight 0 whatever its weight.
fn weights_for_check(
    trackers: &[vrrp::TrackerConfig],
    ids: &[crate::spec::TrackerId],
) -> Vec<TrackerWeight> {
    trackers
        .iter()
        .enumerate()
        .map(|(i, t)| TrackerWeight {
            name: t.name.clone(),
            weight: match ids.get(i) {
                Some(crate::spec::TrackerId::File(_)) => 0,
                _ => i64::from(t.weight),
            },
            reverse: t.reverse,
        })
        .collect()
}

#[cfg(test)]
mod weight_check_tests {
    use super::*;
    use crate::scripts::WeightCheck;
    use crate::spec::TrackerId;

    #[test]
    fn a_default_weight_track_file_can_always_cause_failover() {
        let trackers = [vrrp::TrackerConfig {
            name: "file:elb_watch".into(),
            weight: 1,
            reverse: false,
        }];
        let ids = [TrackerId::File("elb_watch".into())];
        let check = check_weights(101, &weights_for_check(&trackers, &ids), 100);
        assert!(matches!(check, WeightCheck::Crosses { .. }), "{check:?}");
        // The same weight on a script cannot cross a peer at 100 from 101 + 1.
        let ids = [TrackerId::Script("chk".into())];
        let check = check_weights(101, &weights_for_check(&trackers, &ids), 100);
        assert!(
            matches!(check, WeightCheck::CannotCross { .. }),
            "{check:?}"
        );
    }
}
