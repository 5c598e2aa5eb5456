//! Shared by the `instance_rx` fuzz target and the corpus-replay test.
//!
//! Input: records `[dt, kind, len, bytes...]`. `dt` advances virtual time
//! (10 ms units), `kind` picks a raw IPv4 packet or a well-formed advert
//! with fuzzer-chosen priority/source, so both the checks and the state
//! machine are explored. Invariants: an invalid packet changes neither
//! state nor deadline; deadlines lie in the future after each step; VIPs
//! are held exactly while MASTER.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp::ipv4::{Ipv4Params, build_ipv4_packet};
use vrrp::rx;
use vrrp::{
    Action, Event, FastFailover, Instance, InstanceConfig, PseudoHeader, State, Version, Vip,
};

struct Driven {
    inst: Instance,
    vips: bool,
}

impl Driven {
    fn apply(&mut self, actions: &[Action]) {
        for a in actions {
            match a {
                Action::AddVips { .. } => self.vips = true,
                Action::RemoveVips { .. } => self.vips = false,
                _ => {}
            }
        }
        assert_eq!(
            self.vips,
            self.inst.state() == State::Master,
            "VIPs vs state"
        );
    }

    fn timers_until(&mut self, now: Duration) {
        let mut guard = 0;
        while let Some(d) = self.inst.next_deadline() {
            if d > now {
                break;
            }
            let acts = self.inst.handle(d, Event::Timer);
            self.apply(&acts);
            assert!(
                self.inst.next_deadline().is_none_or(|n| n > d),
                "deadline did not advance"
            );
            guard += 1;
            assert!(guard < 100_000, "timer loop");
        }
    }
}

fn config(version: Version, prio: u8, fast: bool) -> InstanceConfig {
    let me = IpAddr::V4(Ipv4Addr::new(192, 168, 88, 1));
    let mut c = InstanceConfig::new("fz", 51, version, me);
    c.priority = prio;
    c.vips = vec![Vip::host(IpAddr::V4(Ipv4Addr::new(192, 168, 88, 100)))];
    if version == Version::V2 {
        c.auth = vrrp::Auth::pass(b"secret12");
    } else {
        c.advert_interval = Duration::from_millis(100);
    }
    c.trackers = vec![vrrp::TrackerConfig {
        name: "w".into(),
        weight: -50,
        reverse: false,
    }];
    if fast {
        c.fast_failover = FastFailover {
            immediate_advert_on_priority_change: true,
            fast_preempt: true,
            fast_preempt_delay: Duration::from_millis(20),
            hold_time: Duration::from_millis(50),
            release_delay: Duration::ZERO,
        };
    }
    c
}

pub fn run(data: &[u8]) {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let version = if sel & 1 == 0 {
        Version::V2
    } else {
        Version::V3
    };
    let cfg = config(version, 1 + (sel >> 1).min(253), sel & 0x80 != 0);
    let Ok(inst) = Instance::new(cfg.clone()) else {
        return;
    };
    let mut d = Driven { inst, vips: false };
    let mut now = Duration::ZERO;
    let acts = d.inst.handle(now, Event::Start);
    d.apply(&acts);
    let mut steps = 0;
    while rest.len() >= 3 && steps < 2000 {
        steps += 1;
        let (dt, kind, len) = (rest[0], rest[1], usize::from(rest[2]));
        rest = &rest[3..];
        let body = &rest[..len.min(rest.len())];
        rest = &rest[body.len()..];
        now += Duration::from_millis(10 * u64::from(dt));
        d.timers_until(now);
        let packet = match kind % 4 {
            0 | 1 => body.to_vec(),
            2 => well_formed(&d.inst, body, kind),
            _ => {
                // A tracker / maintenance / link event, a reload, a shutdown.
                let arg = body.get(1).copied().unwrap_or(0);
                let ev = match body.first().copied().unwrap_or(0) % 6 {
                    0 => Event::Maintenance(kind & 0x10 != 0),
                    1 => Event::LinkState {
                        up: kind & 0x20 != 0,
                    },
                    2 => Event::SendReady(kind & 0x40 != 0),
                    3 => Event::TrackerChanged {
                        name: "w".into(),
                        up: kind & 0x10 != 0,
                    },
                    4 => {
                        let mut c = d.inst.config().clone();
                        c.priority = arg.max(1);
                        let acts = d.inst.reconfigure(now, c).expect("same VRID reload");
                        d.apply(&acts);
                        continue;
                    }
                    _ if arg == 0xff => Event::Shutdown,
                    _ => Event::Timer,
                };
                let acts = d.inst.handle(now, ev);
                d.apply(&acts);
                continue;
            }
        };
        let Ok(pkt) = rx::parse_ipv4(&packet) else {
            continue;
        };
        let before = (
            d.inst.state(),
            d.inst.next_deadline(),
            d.inst.effective_priority(),
        );
        match d.inst.handle_packet(now, &pkt) {
            Ok(acts) => d.apply(&acts),
            Err(_) => {
                let after = (
                    d.inst.state(),
                    d.inst.next_deadline(),
                    d.inst.effective_priority(),
                );
                assert_eq!(before, after, "an invalid packet changed the instance");
            }
        }
        assert!(
            d.inst.next_deadline().is_none_or(|n| n > now),
            "deadline in the past"
        );
    }
}

/// A correctly encoded advert for the instance's VRID, priority and source
/// from the fuzzer; sometimes with one byte changed afterwards.
fn well_formed(inst: &Instance, body: &[u8], kind: u8) -> Vec<u8> {
    let prio = body.first().copied().unwrap_or(200);
    let src_last = body.get(1).copied().unwrap_or(2);
    let mut adv = inst.build_advert(prio);
    if let Some(&cs) = body.get(2) {
        if inst.config().version == Version::V3 {
            adv.interval = vrrp::AdvertInterval::from_centis(u16::from(cs));
        }
    }
    let src = Ipv4Addr::new(192, 168, 88, src_last);
    let dst = Ipv4Addr::new(224, 0, 0, 18);
    let pseudo = match inst.config().version {
        Version::V2 => PseudoHeader::None,
        Version::V3 => PseudoHeader::V4 { src, dst },
    };
    let Ok(mut payload) = adv.encode(pseudo) else {
        return Vec::new();
    };
    if kind & 0x80 != 0 {
        if let (Some(&i), Some(&v)) = (body.get(3), body.get(4)) {
            let i = usize::from(i) % payload.len();
            payload[i] ^= v;
        }
    }
    build_ipv4_packet(
        Ipv4Params {
            src,
            dst,
            ttl: 255,
            id: 1,
        },
        &payload,
    )
}
