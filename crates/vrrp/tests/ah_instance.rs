//! An `auth_type AH` instance end to end in the pure crate: what it accepts and refuses (each
//! with its counted reason), and keepalived 2.2.7's one sequence counter per instance, seen in
//! the lab: it numbers the adverts sent, a received number must be above it and raises it, and
//! a MASTER hearing a lower-priority advert jumps one past that advert's number.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp::ah::{Cover, build_ah_packet};
use vrrp::ipv4::{Ipv4Params, build_ipv4_packet};
use vrrp::rx::parse_ipv4;
use vrrp::{
    Action, Advert, AdvertInterval, Auth, Event, Instance, InstanceConfig, PseudoHeader, RxError,
    State, Version, Vip,
};

const ME: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

fn instance(priority: u8, key: &[u8]) -> Instance {
    let mut c = InstanceConfig::new("VI_1", 51, Version::V2, IpAddr::V4(ME));
    c.priority = priority;
    c.vips = vec![Vip::host(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 100)))];
    c.auth = Auth::ah(key);
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    i
}

fn vrrp_body(priority: u8, auth: Auth) -> Vec<u8> {
    Advert {
        version: Version::V2,
        vrid: 51,
        priority,
        interval: AdvertInterval::from_centis(100),
        auth,
        addresses: vec![IpAddr::V4(Ipv4Addr::new(198, 18, 0, 100))],
    }
    .encode(PseudoHeader::None)
    .unwrap()
}

fn params() -> Ipv4Params {
    Ipv4Params {
        src: PEER,
        dst: GROUP,
        ttl: 255,
        id: 1,
    }
}

/// The peer's advert under AH, as keepalived sends it.
fn ah_advert(priority: u8, key: &[u8], seq: u32) -> Vec<u8> {
    let body = vrrp_body(priority, Auth::ah(key));
    build_ah_packet(params(), &body, key, Cover::Multicast, seq)
}

fn feed(i: &mut Instance, at: u64, pkt: &[u8]) -> Result<Vec<Action>, RxError> {
    let p = parse_ipv4(pkt)?;
    i.handle_packet(Duration::from_millis(at), &p)
}

fn sent_seqs(actions: &[Action]) -> Vec<u32> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert(Advert {
                auth: Auth::Ah { seq, .. },
                ..
            }) => Some(*seq),
            _ => None,
        })
        .collect()
}

#[test]
fn ah_instance_accepts_a_valid_advert_and_refuses_its_replay() {
    let mut i = instance(100, b"secret12");
    feed(&mut i, 10, &ah_advert(150, b"secret12", 7)).unwrap();
    assert_eq!(i.ah_seq(), 7);
    assert_eq!(i.master().map(|m| m.1), Some(150));
    let replay = feed(&mut i, 20, &ah_advert(150, b"secret12", 7));
    assert_eq!(replay.unwrap_err(), RxError::AhReplay);
    let older = feed(&mut i, 30, &ah_advert(150, b"secret12", 3));
    assert_eq!(older.unwrap_err(), RxError::AhReplay);
    feed(&mut i, 40, &ah_advert(150, b"secret12", 8)).unwrap();
    assert_eq!(i.counters().accepted, 2);
    assert_eq!(i.counters().dropped(RxError::AhReplay), 2);
}

#[test]
fn ah_instance_refuses_other_keys_plain_adverts_and_forged_spi() {
    let mut i = instance(100, b"secret12");
    let wrong = feed(&mut i, 10, &ah_advert(150, b"wrongpas", 1));
    assert_eq!(wrong.unwrap_err(), RxError::AhAuthFailure);
    // Auth type 2 in a plain protocol-112 packet: no ICV at all.
    let plain = build_ipv4_packet(params(), &vrrp_body(150, Auth::ah(b"secret12")));
    assert_eq!(feed(&mut i, 20, &plain).unwrap_err(), RxError::AhMismatch);
    let mut spi = ah_advert(150, b"secret12", 1);
    spi[27] ^= 1;
    assert_eq!(feed(&mut i, 30, &spi).unwrap_err(), RxError::AhAuthFailure);
    let mut cut = ah_advert(150, b"secret12", 1);
    cut.truncate(30);
    assert_eq!(feed(&mut i, 40, &cut).unwrap_err(), RxError::AhMalformed);
    // None of them moved the counter or reached the state machine.
    assert_eq!((i.ah_seq(), i.master()), (0, None));
    assert_eq!(i.counters().accepted, 0);
}

#[test]
fn pass_instance_refuses_ah_packets() {
    let mut c = InstanceConfig::new("VI_1", 51, Version::V2, IpAddr::V4(ME));
    c.vips = vec![Vip::host(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 100)))];
    c.auth = Auth::pass(b"secret12");
    let mut i = Instance::new(c).unwrap();
    i.handle(Duration::ZERO, Event::Start);
    let r = feed(&mut i, 10, &ah_advert(150, b"secret12", 1));
    assert_eq!(r.unwrap_err(), RxError::AhMismatch);
}

#[test]
fn new_master_numbers_its_adverts_after_the_last_one_heard() {
    let mut i = instance(100, b"secret12");
    feed(&mut i, 10, &ah_advert(150, b"secret12", 41)).unwrap();
    // The master falls silent: after the down interval this instance takes over.
    let mut seqs = Vec::new();
    let mut now = Duration::from_millis(10);
    for _ in 0..20 {
        let Some(d) = i.next_deadline() else { break };
        now = d;
        seqs.extend(sent_seqs(&i.handle(now, Event::Timer)));
        if seqs.len() >= 3 {
            break;
        }
    }
    assert_eq!(i.state(), State::Master, "after {now:?}");
    assert_eq!(seqs, [42, 43, 44]);
}

#[test]
fn master_hearing_a_lower_priority_advert_jumps_past_its_number() {
    let mut i = instance(200, b"secret12");
    let mut now = Duration::ZERO;
    for _ in 0..10 {
        if i.state() == State::Master {
            break;
        }
        now = i.next_deadline().unwrap();
        i.handle(now, Event::Timer);
    }
    assert_eq!(i.state(), State::Master);
    let before = i.ah_seq();
    let acts = feed(
        &mut i,
        now.as_millis() as u64 + 1,
        &ah_advert(100, b"secret12", 90),
    )
    .unwrap();
    // keepalived: "IPSEC-AH : Syncing seq_num - Increment seq", then its answer.
    assert!(before < 90);
    assert_eq!(sent_seqs(&acts), [92]);
    assert_eq!(i.state(), State::Master);
}
