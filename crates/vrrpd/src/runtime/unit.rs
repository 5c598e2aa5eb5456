//! A schedulable unit: a lone instance or a sync group, behind one interface so the event loop
//! treats both alike. Member indexes are 0 for a lone instance.

use std::time::Duration;

use vrrp::{Action, Event, Instance, RxError, RxPacket, SyncGroup};

pub enum Unit {
    Single(Box<Instance>),
    Group(SyncGroup),
}

impl Unit {
    pub fn members(&self) -> &[Instance] {
        match self {
            Unit::Single(i) => std::slice::from_ref(i.as_ref()),
            Unit::Group(g) => g.members(),
        }
    }

    pub fn group_name(&self) -> Option<&str> {
        match self {
            Unit::Single(_) => None,
            Unit::Group(g) => Some(g.name()),
        }
    }

    pub fn next_deadline(&self) -> Option<Duration> {
        match self {
            Unit::Single(i) => i.next_deadline(),
            Unit::Group(g) => g.next_deadline(),
        }
    }

    /// One event for one member.
    pub fn handle(&mut self, now: Duration, member: usize, event: Event) -> Vec<(usize, Action)> {
        match self {
            Unit::Single(i) => i.handle(now, event).into_iter().map(|a| (0, a)).collect(),
            Unit::Group(g) => g.handle(now, member, event),
        }
    }

    /// One event for every member.
    pub fn handle_all(&mut self, now: Duration, event: Event) -> Vec<(usize, Action)> {
        match self {
            Unit::Single(i) => i.handle(now, event).into_iter().map(|a| (0, a)).collect(),
            Unit::Group(g) => g.handle_all(now, event),
        }
    }

    pub fn handle_packet(
        &mut self,
        now: Duration,
        member: usize,
        pkt: &RxPacket<'_>,
    ) -> Result<Vec<(usize, Action)>, RxError> {
        match self {
            Unit::Single(i) => Ok(i
                .handle_packet(now, pkt)?
                .into_iter()
                .map(|a| (0, a))
                .collect()),
            Unit::Group(g) => g.handle_packet(now, member, pkt),
        }
    }
}
