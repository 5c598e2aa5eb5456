//! Sync groups (keepalived `vrrp_sync_group`, reference c.9): the members
//! move together. A member whose timer runs out becomes MASTER only when
//! every member wants MASTER; a member leaving MASTER for BACKUP pulls the
//! others to BACKUP; a member in FAULT puts the others in FAULT.

use std::time::Duration;

use crate::config::ConfigError;
use crate::instance::{Action, Event, Instance, State};
use crate::rx::{RxError, RxPacket};

/// Coordinator owning the member instances of one sync group.
#[derive(Debug, Clone)]
pub struct SyncGroup {
    name: String,
    members: Vec<Instance>,
}

/// An action from one member (index into [`SyncGroup::members`]).
pub type MemberAction = (usize, Action);

impl SyncGroup {
    /// Group `members` under `name`.
    pub fn new(name: impl Into<String>, members: Vec<Instance>) -> Result<Self, ConfigError> {
        let mut members = members;
        for m in &mut members {
            m.set_in_group(true);
        }
        Ok(SyncGroup {
            name: name.into(),
            members,
        })
    }

    /// Group name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The members, in the order given.
    pub fn members(&self) -> &[Instance] {
        &self.members
    }

    /// Every member's receive counters back to zero.
    pub fn clear_counters(&mut self) {
        self.members.iter_mut().for_each(Instance::clear_counters);
    }

    /// Index of the member serving `vrid`, if any.
    pub fn member_for_vrid(&self, vrid: u8) -> Option<usize> {
        self.members.iter().position(|m| m.config().vrid == vrid)
    }

    /// The earliest deadline of any member.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.members
            .iter()
            .filter_map(Instance::next_deadline)
            .min()
    }

    /// Deliver `event` to one member (or, for `Start`, `Timer` and
    /// `Shutdown`, use [`SyncGroup::handle_all`]) and apply the group rules.
    pub fn handle(&mut self, now: Duration, member: usize, event: Event) -> Vec<MemberAction> {
        let mut out = Vec::new();
        let wanted = self.wanting();
        let vip_deleted = matches!(event, Event::VipDeleted(_));
        if let Some(m) = self.members.get_mut(member) {
            out.extend(m.handle(now, event).into_iter().map(|a| (member, a)));
        }
        if vip_deleted && self.members.get(member).is_some_and(Instance::retaking) {
            self.hand_over_with(now, member, &mut out);
        }
        self.settle(now, &wanted, &mut out);
        out
    }

    /// A member handed over for a deleted VIP: keepalived 2.2.7 makes the other MASTER
    /// members hand over too (each sends priority 0) and the group takes over again after
    /// the Skew_Time, so the whole group stays on this node.
    fn hand_over_with(&mut self, now: Duration, member: usize, out: &mut Vec<MemberAction>) {
        let reason = format!(
            "sync group {}: member {} handed over",
            self.name,
            self.members[member].config().name
        );
        for (i, m) in self.members.iter_mut().enumerate() {
            let mut acts = Vec::new();
            m.group_hand_over(now, reason.clone(), &mut acts);
            out.extend(acts.into_iter().map(|a| (i, a)));
        }
    }

    /// Deliver `event` to every member, then apply the group rules.
    pub fn handle_all(&mut self, now: Duration, event: Event) -> Vec<MemberAction> {
        let mut out = Vec::new();
        let wanted = self.wanting();
        for (i, m) in self.members.iter_mut().enumerate() {
            out.extend(m.handle(now, event.clone()).into_iter().map(|a| (i, a)));
        }
        self.settle(now, &wanted, &mut out);
        out
    }

    /// Receive a packet for the member serving its VRID.
    pub fn handle_packet(
        &mut self,
        now: Duration,
        member: usize,
        pkt: &RxPacket<'_>,
    ) -> Result<Vec<MemberAction>, RxError> {
        let wanted = self.wanting();
        let m = self.members.get_mut(member).ok_or(RxError::UnknownVrid)?;
        let acts = m.handle_packet(now, pkt)?;
        let mut out: Vec<MemberAction> = acts.into_iter().map(|a| (member, a)).collect();
        self.settle(now, &wanted, &mut out);
        Ok(out)
    }

    /// Which members wanted MASTER before an event, so the one the event made ready is known.
    fn wanting(&self) -> Vec<bool> {
        self.members.iter().map(Instance::wants_master).collect()
    }

    /// The order members are promoted in: first those whose timer completed the group (they
    /// did not want MASTER before this event), then the rest in group order, as keepalived
    /// 2.2.7 moves the member that completes the group first and then syncs the others.
    fn promotion_order(&self, wanted_before: &[bool]) -> Vec<usize> {
        let fresh = |i: usize| !wanted_before.get(i).copied().unwrap_or(false);
        let (mut first, rest): (Vec<usize>, Vec<usize>) =
            (0..self.members.len()).partition(|&i| fresh(i) && self.members[i].wants_master());
        first.extend(rest);
        first
    }

    /// Apply the group rules until nothing changes (each rule only moves
    /// members in one direction, so this ends within a few passes).
    fn settle(&mut self, now: Duration, wanted_before: &[bool], out: &mut Vec<MemberAction>) {
        let mut seen = 0;
        for _ in 0..(4 * self.members.len() + 4) {
            let before = out.len();
            // FAULT spreads: every member carries the others' own faults.
            let own: Vec<Option<String>> = self.members.iter().map(Instance::own_fault).collect();
            for i in 0..self.members.len() {
                let other = own
                    .iter()
                    .enumerate()
                    .find(|(j, f)| *j != i && f.is_some())
                    .map(|(j, f)| {
                        format!(
                            "sync group {}: member {} in FAULT ({})",
                            self.name,
                            self.members[j].config().name,
                            f.as_deref().unwrap_or("")
                        )
                    });
                let mut acts = Vec::new();
                self.members[i].set_group_fault(now, other, &mut acts);
                out.extend(acts.into_iter().map(|a| (i, a)));
            }
            // MASTER -> BACKUP of one member pulls the others to BACKUP.
            let demoted: Vec<usize> = out[seen..]
                .iter()
                .filter(|(_, a)| {
                    matches!(
                        a,
                        Action::Transition {
                            from: State::Master,
                            to: State::Backup,
                            ..
                        }
                    )
                })
                .map(|(i, _)| *i)
                .collect();
            seen = out.len();
            if let Some(&first) = demoted.first() {
                let reason = format!(
                    "sync group {}: member {} went BACKUP",
                    self.name,
                    self.members[first].config().name
                );
                for i in 0..self.members.len() {
                    let mut acts = Vec::new();
                    self.members[i].group_force_backup(now, reason.clone(), &mut acts);
                    out.extend(acts.into_iter().map(|a| (i, a)));
                }
            }
            // MASTER only when all members want it.
            let any_wants = self.members.iter().any(Instance::wants_master);
            let all_want = self.members.iter().all(|m| {
                m.state() == State::Master || (m.state() == State::Backup && m.wants_master())
            });
            if any_wants && all_want {
                for i in self.promotion_order(wanted_before) {
                    let mut acts = Vec::new();
                    self.members[i].group_promote(now, &self.name, &mut acts);
                    out.extend(acts.into_iter().map(|a| (i, a)));
                }
            }
            if out.len() == before {
                break;
            }
        }
    }
}
