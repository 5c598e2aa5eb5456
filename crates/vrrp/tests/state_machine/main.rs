//! The per-instance state machine against the RFC 3768 / 5798 rules and
//! keepalived's observed behaviour (reference c.3–c.8).

mod election;
mod fast_failover;
mod hostile_segment;
mod reload;
mod stall;
mod tracking;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp::{
    Action, Event, FastFailover, InitialState, Instance, InstanceConfig, ReceivedAdvert, State,
    TrackerConfig, Version, Vip,
};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, last))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn cfg(version: Version, prio: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, version, ip(1));
    c.priority = prio;
    c.vips = vec![Vip::host(ip(100))];
    c
}

fn advert(src: u8, priority: u8, interval: Duration) -> Event {
    Event::Advert(ReceivedAdvert {
        src: ip(src),
        priority,
        interval,
    })
}

fn transitions(actions: &[Action]) -> Vec<(State, State)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Transition { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

fn sent_priorities(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert(adv) => Some(adv.priority),
            _ => None,
        })
        .collect()
}

/// Deliver timer events at each deadline up to `until`, collecting actions.
fn run_until(inst: &mut Instance, until: Duration) -> Vec<(Duration, Action)> {
    let mut out = Vec::new();
    while let Some(d) = inst.next_deadline() {
        if d > until {
            break;
        }
        out.extend(inst.handle(d, Event::Timer).into_iter().map(|a| (d, a)));
    }
    out
}

/// The reason of the first transition to MASTER in `log`.
fn master_reason(log: &[(Duration, Action)]) -> Option<String> {
    log.iter().find_map(|(_, a)| match a {
        Action::Transition {
            to: State::Master,
            reason,
            ..
        } => Some(reason.clone()),
        _ => None,
    })
}

fn became_master_at(log: &[(Duration, Action)]) -> Option<Duration> {
    log.iter().find_map(|(t, a)| match a {
        Action::Transition {
            to: State::Master, ..
        } => Some(*t),
        _ => None,
    })
}

fn fast(mut c: InstanceConfig, ff: FastFailover) -> InstanceConfig {
    c.fast_failover = ff;
    c
}

fn master_instance(version: Version, prio: u8) -> Instance {
    let mut i = Instance::new(cfg(version, prio)).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    let _ = run_until(&mut i, Duration::from_secs(4));
    assert_eq!(i.state(), State::Master);
    i
}

fn tracked(weight: i32, base: u8) -> Instance {
    let mut c = cfg(Version::V2, base);
    c.trackers = vec![TrackerConfig {
        name: "chk".into(),
        weight,
        reverse: false,
    }];
    Instance::new(c).unwrap()
}

fn track(i: &mut Instance, now: Duration, up: bool) -> Vec<Action> {
    i.handle(
        now,
        Event::TrackerChanged {
            name: "chk".into(),
            up,
        },
    )
}
