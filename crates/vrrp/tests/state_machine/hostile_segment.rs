//! A hostile segment: invalid packets move neither timers nor state.

use super::*;

#[test]
fn invalid_packets_do_not_touch_timers_or_state() {
    use vrrp::ipv4::{Ipv4Params, build_ipv4_packet};
    use vrrp::rx::parse_ipv4;
    use vrrp::{Auth, PseudoHeader};

    let mut c = cfg(Version::V2, 100);
    c.auth = Auth::pass(b"secret");
    let mut backup = Instance::new(c.clone()).unwrap();
    backup.handle(Duration::ZERO, Event::Start);
    let mut master_cfg = c.clone();
    master_cfg.primary_address = ip(2);
    master_cfg.priority = 200;
    let master_adv = Instance::new(master_cfg).unwrap().build_advert(200);
    let good = |mutate: &dyn Fn(&mut Vec<u8>), ttl: u8| {
        let mut payload = master_adv.encode(PseudoHeader::None).unwrap();
        mutate(&mut payload);
        build_ipv4_packet(
            Ipv4Params {
                src: Ipv4Addr::new(198, 18, 0, 2),
                dst: Ipv4Addr::new(224, 0, 0, 18),
                ttl,
                id: 7,
            },
            &payload,
        )
    };
    let bad_packets: Vec<Vec<u8>> = vec![
        good(&|p| p[6] ^= 0xff, 255),  // checksum
        good(&|_| {}, 64),             // TTL
        good(&|p| p[0] = 0x31, 255),   // version
        good(&|p| p[0] = 0x22, 255),   // type
        good(&|p| p[3] = 9, 255),      // address count
        good(&|p| p[5] = 3, 255),      // interval
        good(&|p| p[4] = 0, 255),      // auth type
        good(&|p| p[12] ^= 1, 255),    // auth data
        good(&|p| p[1] = 52, 255),     // other VRID
        good(&|p| p.truncate(9), 255), // truncated
        vec![
            0x45, 0, 0, 20, 0, 0, 0x20, 0, 255, 112, 0, 0, 198, 18, 0, 2, 224, 0, 0, 18,
        ], // fragment
        vec![0x46; 40],                // garbage with options
    ];
    // A valid advert resets the timer; then only garbage arrives.
    let valid = good(&|_| {}, 255);
    backup
        .handle_packet(ms(500), &parse_ipv4(&valid).unwrap())
        .unwrap();
    let deadline = backup.next_deadline().unwrap();
    let mut t = ms(500);
    while t < deadline {
        for p in &bad_packets {
            if let Ok(pkt) = parse_ipv4(p) {
                assert!(backup.handle_packet(t, &pkt).is_err());
            } else {
                backup.record_drop(parse_ipv4(p).unwrap_err());
            }
        }
        assert_eq!(backup.next_deadline(), Some(deadline));
        t += ms(10);
    }
    assert_eq!(backup.state(), State::Backup);
    assert_eq!(backup.counters().accepted, 1);
    assert!(backup.counters().dropped_total() > 1000);
    for reason in [
        "bad_checksum",
        "bad_ttl",
        "version_mismatch",
        "bad_type",
        "bad_length",
        "interval_mismatch",
        "auth_type_mismatch",
        "auth_failure",
        "unknown_vrid",
        "fragment",
    ] {
        let n = backup
            .counters()
            .iter()
            .find(|(k, _)| *k == reason)
            .unwrap()
            .1;
        assert!(n > 0, "{reason} not counted");
    }

    // A master's advert schedule is untouched by the same flood.
    let mut mc = c.clone();
    mc.priority = 250;
    let mut m = Instance::new(mc).unwrap();
    m.handle(Duration::ZERO, Event::Start);
    let log = run_until(&mut m, Duration::from_secs(4));
    let t0 = became_master_at(&log).unwrap();
    let mut sends = Vec::new();
    let mut now = t0;
    let end = t0 + Duration::from_secs(10);
    while now < end {
        for p in &bad_packets {
            if let Ok(pkt) = parse_ipv4(p) {
                assert!(m.handle_packet(now, &pkt).unwrap_or_default().is_empty());
            }
        }
        let next = m.next_deadline().unwrap();
        let step = now + ms(50);
        if next <= step {
            for a in m.handle(next, Event::Timer) {
                if let Action::SendAdvert(_) = a {
                    sends.push(next - t0);
                }
            }
            now = next;
        } else {
            now = step;
        }
    }
    let expect: Vec<Duration> = (1..=sends.len() as u32)
        .map(|k| Duration::from_secs(1) * k)
        .collect();
    assert_eq!(sends, expect);
    assert_eq!(m.state(), State::Master);
}
