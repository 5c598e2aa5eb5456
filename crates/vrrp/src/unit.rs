//! A schedulable unit: a lone instance or a sync group, behind one interface so a shell (the
//! daemon, the simulator) drives both alike. Member indexes are 0 for a lone instance.

use std::time::Duration;

use crate::instance::{Action, Event, Instance};
use crate::rx::{RxError, RxPacket};
use crate::sync_group::{MemberAction, SyncGroup};

/// A lone instance or a sync group; its actions are tagged with the member index.
#[derive(Debug, Clone)]
pub enum Unit {
    /// An instance in no sync group.
    Single(Box<Instance>),
    /// The members of one sync group, moving together.
    Group(SyncGroup),
}

impl Unit {
    /// The instances, in member order.
    pub fn members(&self) -> &[Instance] {
        match self {
            Unit::Single(i) => std::slice::from_ref(i.as_ref()),
            Unit::Group(g) => g.members(),
        }
    }

    /// The sync group's name; `None` for a lone instance.
    pub fn group_name(&self) -> Option<&str> {
        match self {
            Unit::Single(_) => None,
            Unit::Group(g) => Some(g.name()),
        }
    }

    /// The earliest deadline of any member.
    pub fn next_deadline(&self) -> Option<Duration> {
        match self {
            Unit::Single(i) => i.next_deadline(),
            Unit::Group(g) => g.next_deadline(),
        }
    }

    /// One event for one member.
    pub fn handle(&mut self, now: Duration, member: usize, event: Event) -> Vec<MemberAction> {
        match self {
            Unit::Single(i) => tag(i.handle(now, event)),
            Unit::Group(g) => g.handle(now, member, event),
        }
    }

    /// Every member's receive counters back to zero.
    pub fn clear_counters(&mut self) {
        match self {
            Unit::Single(i) => i.clear_counters(),
            Unit::Group(g) => g.clear_counters(),
        }
    }

    /// One event for every member.
    pub fn handle_all(&mut self, now: Duration, event: Event) -> Vec<MemberAction> {
        match self {
            Unit::Single(i) => tag(i.handle(now, event)),
            Unit::Group(g) => g.handle_all(now, event),
        }
    }

    /// A received packet for one member.
    pub fn handle_packet(
        &mut self,
        now: Duration,
        member: usize,
        pkt: &RxPacket<'_>,
    ) -> Result<Vec<MemberAction>, RxError> {
        match self {
            Unit::Single(i) => Ok(tag(i.handle_packet(now, pkt)?)),
            Unit::Group(g) => g.handle_packet(now, member, pkt),
        }
    }
}

fn tag(actions: Vec<Action>) -> Vec<MemberAction> {
    actions.into_iter().map(|a| (0, a)).collect()
}
