//! Simulation properties: after any sequence of faults and heals and then
//! quiet, exactly one master per VRID, the one the RFC rules choose; never
//! two masters for longer than Master_Down_Interval after a heal; VIPs held
//! exactly by masters; sync groups move together; fast failover neither
//! flaps on short dips nor fights a keepalived-behaving peer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use proptest::prelude::*;
use vrrp::sim::{NetParams, NodeId, Sim, UnitSpec};
use vrrp::{Event, FastFailover, InstanceConfig, State, TrackerConfig, UnicastPeer, Version, Vip};

fn v4(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 18, 0, n))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Debug, Clone, Copy)]
struct NodeParams {
    priority: u8,
    fast: bool,
}

fn instance(
    vrid: u8,
    version: Version,
    interval: Duration,
    node: u8,
    p: NodeParams,
) -> InstanceConfig {
    let mut c = InstanceConfig::new(format!("VI_{vrid}"), vrid, version, v4(node + 1));
    c.priority = p.priority;
    c.advert_interval = interval;
    c.vips = vec![Vip::host(IpAddr::V4(Ipv4Addr::new(198, 19, vrid, 1)))];
    c.trackers = vec![
        TrackerConfig {
            name: "weight".into(),
            weight: -60,
            reverse: false,
        },
        TrackerConfig {
            name: "fault".into(),
            weight: 0,
            reverse: false,
        },
    ];
    if p.fast {
        c.fast_failover = FastFailover {
            immediate_advert_on_priority_change: true,
            fast_preempt: true,
            fast_preempt_delay: Duration::ZERO,
            hold_time: interval,
            release_delay: Duration::ZERO,
        };
    }
    c
}

/// Trackers start up; the "fault" tracker must report before leaving INIT.
fn init_trackers(sim: &mut Sim, node: NodeId) {
    for name in ["weight", "fault"] {
        sim.deliver_all(
            node,
            Event::TrackerChanged {
                name: name.into(),
                up: true,
            },
        );
    }
}

#[derive(Debug, Clone)]
enum Op {
    Partition(usize, usize),
    Block(usize, usize),
    Heal(usize, usize),
    Crash(usize),
    Restart(usize),
    Net {
        loss: u32,
        dup: u32,
        delay_max_ms: u64,
    },
    Tracker {
        node: usize,
        name: &'static str,
        up: bool,
    },
}

fn op(nodes: usize) -> impl Strategy<Value = Op> {
    let n = 0..nodes;
    prop_oneof![
        (n.clone(), n.clone()).prop_map(|(a, b)| Op::Partition(a, b)),
        (n.clone(), n.clone()).prop_map(|(a, b)| Op::Block(a, b)),
        (n.clone(), n.clone()).prop_map(|(a, b)| Op::Heal(a, b)),
        n.clone().prop_map(Op::Crash),
        n.clone().prop_map(Op::Restart),
        (0u32..400, 0u32..300, 0u64..1500).prop_map(|(loss, dup, delay_max_ms)| Op::Net {
            loss,
            dup,
            delay_max_ms
        }),
        (n, prop_oneof![Just("weight"), Just("fault")], any::<bool>())
            .prop_map(|(node, name, up)| Op::Tracker { node, name, up }),
    ]
}

fn apply(sim: &mut Sim, op: &Op) {
    match *op {
        Op::Partition(a, b) => sim.partition(a, b),
        Op::Block(a, b) => sim.block(a, b),
        Op::Heal(a, b) => sim.heal(a, b),
        Op::Crash(n) => sim.crash(n),
        Op::Restart(n) => {
            if !sim.is_up(n) {
                sim.restart(n).unwrap();
                init_trackers(sim, n);
            }
        }
        Op::Net {
            loss,
            dup,
            delay_max_ms,
        } => sim.set_net(NetParams {
            loss_per_mille: loss,
            dup_per_mille: dup,
            delay_min: ms(0),
            delay_max: ms(delay_max_ms),
        }),
        Op::Tracker { node, name, up } => sim.deliver_all(
            node,
            Event::TrackerChanged {
                name: name.into(),
                up,
            },
        ),
    }
}

/// Heal everything, boot crashed nodes, clear FAULT trackers, clean network.
/// Weighted trackers keep their state, so priorities stay shuffled.
fn heal_everything(sim: &mut Sim) {
    sim.heal_all();
    sim.set_net(NetParams::default());
    for n in 0..sim.node_count() {
        if !sim.is_up(n) {
            sim.restart(n).unwrap();
        }
        init_trackers_fault_only(sim, n);
    }
}

fn init_trackers_fault_only(sim: &mut Sim, node: NodeId) {
    sim.deliver_all(
        node,
        Event::TrackerChanged {
            name: "fault".into(),
            up: true,
        },
    );
}

/// Packets sent before the heal may still arrive up to the largest delay
/// used: quiet starts when they are all delivered.
fn max_delay(ops: &[(u64, Op)]) -> Duration {
    ops.iter()
        .filter_map(|(_, o)| match o {
            Op::Net { delay_max_ms, .. } => Some(ms(*delay_max_ms)),
            _ => None,
        })
        .max()
        .unwrap_or_default()
        .max(NetParams::default().delay_max)
}

/// Largest Master_Down_Interval of any instance (priority 1 gives the largest skew).
fn worst_master_down(version: Version, interval: Duration) -> Duration {
    vrrp::timers::master_down_interval(version, 1, interval, 3)
}

/// The invariants after a heal at `healed` and a quiet period.
fn check_converged(sim: &Sim, healed: Duration, bound: Duration) -> Result<(), TestCaseError> {
    for vrid in sim.vrids() {
        let masters = sim.masters(vrid);
        let rightful = sim.rightful_masters(vrid);
        prop_assert_eq!(masters.len(), 1, "vrid {}: masters {:?}", vrid, masters);
        prop_assert!(
            rightful.contains(&masters[0]),
            "vrid {}: master {} not in {:?}",
            vrid,
            masters[0],
            rightful
        );
    }
    for d in sim.dual_masters() {
        let end = d.until.unwrap_or(sim.now());
        if end > healed {
            let start = d.from.max(healed);
            prop_assert!(
                end - start <= bound,
                "two masters for vrid {} from {:?} to {:?} (heal at {:?}, bound {:?})",
                d.vrid,
                d.from,
                end,
                healed,
                bound
            );
        }
    }
    prop_assert!(
        sim.vip_violations().is_empty(),
        "{:?}",
        &sim.vip_violations()[..1]
    );
    Ok(())
}

fn build(
    version: Version,
    interval: Duration,
    nodes: &[NodeParams],
    vrids: &[u8],
    seed: u64,
) -> Sim {
    let mut sim = Sim::new(seed);
    for (i, p) in nodes.iter().enumerate() {
        let units = vrids
            .iter()
            .map(|&v| UnitSpec::Single(instance(v, version, interval, i as u8, *p)))
            .collect();
        sim.add_node(format!("n{i}"), units).unwrap();
    }
    sim.start_all();
    for n in 0..nodes.len() {
        init_trackers(&mut sim, n);
    }
    sim
}

fn node_params() -> impl Strategy<Value = NodeParams> {
    (prop_oneof![1u8..=254, Just(100u8)], any::<bool>())
        .prop_map(|(priority, fast)| NodeParams { priority, fast })
}

fn version_interval() -> impl Strategy<Value = (Version, Duration)> {
    prop_oneof![
        Just((Version::V2, Duration::from_secs(1))),
        (1u64..=100).prop_map(|cs| (Version::V3, ms(cs * 10))),
    ]
}

/// 96 cases by default; `PROPTEST_CASES=N` for a longer soak.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn one_right_master_per_vrid_after_faults_and_heal(
        (version, interval) in version_interval(),
        nodes in prop::collection::vec(node_params(), 2..=3),
        ops in prop::collection::vec((0u64..4000, op(3)), 0..25),
        seed in any::<u64>(),
    ) {
        let n = nodes.len();
        let mut sim = build(version, interval, &nodes, &[1, 2], seed);
        let down = worst_master_down(version, interval);
        for (gap_ms, o) in &ops {
            let o = match o.clone() {
                Op::Partition(a, b) | Op::Block(a, b) | Op::Heal(a, b) if a >= n || b >= n => continue,
                Op::Crash(x) | Op::Restart(x) if x >= n => continue,
                Op::Tracker { node, .. } if node >= n => continue,
                o => o,
            };
            // Gaps scale with the interval so v3 at 100 ms sees as many
            // elections per fault as v2 at 1 s.
            let gap = interval.mul_f64(*gap_ms as f64 / 1000.0);
            sim.run_for(gap).unwrap();
            apply(&mut sim, &o);
        }
        heal_everything(&mut sim);
        let healed = sim.now() + max_delay(&ops);
        // Quiet: long enough for a restarted node to preempt, and then some.
        sim.run_until(healed + down * 8).unwrap();
        check_converged(&sim, healed, down + NetParams::default().delay_max)?;
        // Stable: nothing moves in the last half of the quiet period.
        let late = healed + down * 4;
        let moved: Vec<_> = sim.transitions().iter().filter(|t| t.at > late).collect();
        prop_assert!(moved.is_empty(), "{:?}", moved);
    }

    #[test]
    fn v3_nodes_with_different_intervals_converge(
        nodes in prop::collection::vec((node_params(), 1u64..=100), 2..=3),
        ops in prop::collection::vec((0u64..4000, op(3)), 0..15),
        seed in any::<u64>(),
    ) {
        // RFC 5798: a backup adopts the master's interval, so mixed
        // configurations still elect one master (keepalived logs the mismatch).
        let n = nodes.len();
        let mut sim = Sim::new(seed);
        for (i, (p, cs)) in nodes.iter().enumerate() {
            let c = instance(1, Version::V3, ms(cs * 10), i as u8, *p);
            sim.add_node(format!("n{i}"), vec![UnitSpec::Single(c)]).unwrap();
        }
        sim.start_all();
        for i in 0..n {
            init_trackers(&mut sim, i);
        }
        let slowest = ms(nodes.iter().map(|(_, cs)| cs * 10).max().unwrap_or(1000));
        let down = worst_master_down(Version::V3, slowest);
        for (gap_ms, o) in &ops {
            let o = match o.clone() {
                Op::Partition(a, b) | Op::Block(a, b) | Op::Heal(a, b) if a >= n || b >= n => continue,
                Op::Crash(x) | Op::Restart(x) if x >= n => continue,
                Op::Tracker { node, .. } if node >= n => continue,
                o => o,
            };
            sim.run_for(slowest.mul_f64(*gap_ms as f64 / 1000.0)).unwrap();
            apply(&mut sim, &o);
        }
        heal_everything(&mut sim);
        let healed = sim.now() + max_delay(&ops);
        sim.run_until(healed + down * 8).unwrap();
        check_converged(&sim, healed, down + NetParams::default().delay_max)?;
        let late = healed + down * 4;
        let moved: Vec<_> = sim.transitions().iter().filter(|t| t.at > late).collect();
        prop_assert!(moved.is_empty(), "{:?}", moved);
    }

    #[test]
    fn ipv6_one_right_master_after_faults_and_heal(
        nodes in prop::collection::vec(node_params(), 2..=3),
        cs in 1u64..=100,
        ops in prop::collection::vec((0u64..4000, op(3)), 0..15),
        seed in any::<u64>(),
    ) {
        // VRRPv3 over IPv6: link-local sources, ff02::12, v6 pseudo-header.
        let n = nodes.len();
        let interval = ms(cs * 10);
        let mut sim = Sim::new(seed);
        for (i, p) in nodes.iter().enumerate() {
            let ll = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i as u16 + 1));
            let mut c = instance(1, Version::V3, interval, i as u8, *p);
            c.primary_address = ll;
            c.family = vrrp::Family::V6;
            c.multicast_group = vrrp::Family::V6.multicast_group();
            c.vips = vec![Vip::host(IpAddr::V6(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0x100)))];
            sim.add_node(format!("n{i}"), vec![UnitSpec::Single(c)]).unwrap();
        }
        sim.start_all();
        for i in 0..n {
            init_trackers(&mut sim, i);
        }
        let down = worst_master_down(Version::V3, interval);
        for (gap_ms, o) in &ops {
            let o = match o.clone() {
                Op::Partition(a, b) | Op::Block(a, b) | Op::Heal(a, b) if a >= n || b >= n => continue,
                Op::Crash(x) | Op::Restart(x) if x >= n => continue,
                Op::Tracker { node, .. } if node >= n => continue,
                o => o,
            };
            sim.run_for(interval.mul_f64(*gap_ms as f64 / 1000.0)).unwrap();
            apply(&mut sim, &o);
        }
        heal_everything(&mut sim);
        let healed = sim.now() + max_delay(&ops);
        sim.run_until(healed + down * 8).unwrap();
        check_converged(&sim, healed, down + NetParams::default().delay_max)?;
        for i in 0..n {
            prop_assert_eq!(sim.rx_counters(i).dropped_total(), 0, "valid v6 adverts dropped");
        }
    }

    #[test]
    fn sync_group_members_move_together(
        (version, interval) in version_interval(),
        prios in (1u8..=254, 1u8..=254),
        ops in prop::collection::vec((0u64..4000, op(2)), 0..20),
        seed in any::<u64>(),
    ) {
        let mut sim = Sim::new(seed);
        for (i, prio) in [prios.0, prios.1].into_iter().enumerate() {
            let p = NodeParams { priority: prio, fast: false };
            let members = [1u8, 2]
                .iter()
                .map(|&v| instance(v, version, interval, i as u8, p))
                .collect();
            sim.add_node(format!("n{i}"), vec![UnitSpec::Group("G".into(), members)]).unwrap();
        }
        sim.start_all();
        init_trackers(&mut sim, 0);
        init_trackers(&mut sim, 1);
        let down = worst_master_down(version, interval);
        for (gap_ms, o) in &ops {
            // A fault tracker flips on one member only: the group follows.
            let o = match o.clone() {
                Op::Tracker { node, name: "fault", up } => {
                    sim.run_for(interval.mul_f64(*gap_ms as f64 / 1000.0)).unwrap();
                    sim.deliver(node, 1, Event::TrackerChanged { name: "fault".into(), up });
                    continue;
                }
                Op::Tracker { .. } => continue, // weights are not for sync groups
                o => o,
            };
            sim.run_for(interval.mul_f64(*gap_ms as f64 / 1000.0)).unwrap();
            apply(&mut sim, &o);
        }
        heal_everything(&mut sim);
        for n in 0..2 {
            sim.deliver(n, 1, Event::TrackerChanged { name: "fault".into(), up: true });
        }
        let healed = sim.now() + max_delay(&ops);
        sim.run_until(healed + down * 8).unwrap();
        check_converged(&sim, healed, down + NetParams::default().delay_max)?;
        prop_assert_eq!(sim.masters(1), sim.masters(2), "group split across nodes");
    }

    #[test]
    fn short_dips_under_hold_time_move_nothing(
        dips in prop::collection::vec((1u64..99, 0u64..500), 1..30),
        keepalived_peer in any::<bool>(),
        seed in any::<u64>(),
    ) {
        // A: fast failover, hold 100 ms, v3 at 100 ms; B: the same or
        // keepalived's defaults. Dips shorter than the hold move nothing.
        let interval = ms(100);
        let a = NodeParams { priority: 200, fast: true };
        let b = NodeParams { priority: 100, fast: !keepalived_peer };
        let mut sim = build(Version::V3, interval, &[a, b], &[1], seed);
        sim.run_for(Duration::from_secs(2)).unwrap();
        prop_assert_eq!(sim.masters(1), vec![0]);
        let before = sim.transitions().len();
        for (dip, gap) in dips {
            sim.deliver_all(0, Event::TrackerChanged { name: "weight".into(), up: false });
            sim.run_for(ms(dip)).unwrap();
            sim.deliver_all(0, Event::TrackerChanged { name: "weight".into(), up: true });
            sim.run_for(ms(gap)).unwrap();
        }
        sim.run_for(Duration::from_secs(2)).unwrap();
        prop_assert_eq!(sim.transitions().len(), before, "{:?}", &sim.transitions()[before..]);
    }
}

#[test]
fn flapping_tracker_gives_bounded_transitions_with_fast_failover() {
    // A flapping health check: an ELB up/down every 300 ms for 10 s, v3 at 100 ms, hold 100 ms.
    let interval = ms(100);
    let a = NodeParams {
        priority: 200,
        fast: true,
    };
    let b = NodeParams {
        priority: 180,
        fast: true,
    };
    let mut sim = build(Version::V3, interval, &[a, b], &[1], 7);
    sim.run_for(Duration::from_secs(2)).unwrap();
    assert_eq!(sim.masters(1), vec![0]);
    let before = sim.transitions().len();
    for k in 0..34 {
        sim.deliver_all(
            0,
            Event::TrackerChanged {
                name: "weight".into(),
                up: k % 2 == 1,
            },
        );
        sim.run_for(ms(300)).unwrap();
    }
    sim.deliver_all(
        0,
        Event::TrackerChanged {
            name: "weight".into(),
            up: true,
        },
    );
    sim.run_for(Duration::from_secs(3)).unwrap();
    let moves = sim.transitions().len() - before;
    // One failover and one failback (two transitions each), not 30+.
    assert!(
        moves <= 4,
        "{moves} transitions: {:?}",
        &sim.transitions()[before..]
    );
    assert_eq!(sim.masters(1), vec![0]);
}

/// Time from a master's crash to the backup's MASTER transition.
fn crash_failover_time() -> Duration {
    let interval = ms(100);
    let a = NodeParams {
        priority: 200,
        fast: false,
    };
    let b = NodeParams {
        priority: 100,
        fast: false,
    };
    let mut sim = build(Version::V3, interval, &[a, b], &[1], 1);
    sim.run_for(Duration::from_secs(2)).unwrap();
    let t0 = sim.now();
    sim.crash(0);
    sim.run_for(Duration::from_secs(3)).unwrap();
    sim.transitions()
        .iter()
        .find(|t| t.node == 1 && t.to == State::Master && t.at > t0)
        .map(|t| t.at - t0)
        .unwrap_or(Duration::MAX)
}

#[test]
fn crash_failover_is_the_protocol_limit() {
    // SIGKILL-like: 3 × 0.1 s + skew(100) = 0.3609375 s, plus network delay.
    let t = crash_failover_time();
    let limit = vrrp::timers::master_down_interval(Version::V3, 100, ms(100), 3);
    assert!(t >= limit - ms(100) && t <= limit + ms(1), "{t:?}");
}

#[test]
fn priority_drop_failover_fast_vs_keepalived() {
    // A 200 → 140 (weight -60) with B at 150: B should take over.
    let run = |fast: bool| {
        let interval = ms(100);
        let a = NodeParams {
            priority: 200,
            fast,
        };
        let b = NodeParams {
            priority: 150,
            fast,
        };
        let mut sim = build(Version::V3, interval, &[a, b], &[1], 3);
        sim.run_for(Duration::from_secs(2)).unwrap();
        let t0 = sim.now();
        sim.deliver_all(
            0,
            Event::TrackerChanged {
                name: "weight".into(),
                up: false,
            },
        );
        sim.run_for(Duration::from_secs(3)).unwrap();
        assert_eq!(sim.masters(1), vec![1]);
        sim.transitions()
            .iter()
            .find(|t| t.node == 1 && t.to == State::Master)
            .map(|t| t.at - t0)
            .unwrap()
    };
    let keepalived = run(false);
    let fast = run(true);
    // keepalived: next advert (≤ 100 ms) then the down timer from the last
    // accepted advert; fast: hold (100 ms) + one-way delay.
    assert!(keepalived >= ms(240), "{keepalived:?}");
    assert!(fast <= ms(105), "{fast:?}");
    assert!(fast < keepalived);
}

#[test]
fn hostile_flood_moves_nothing_and_master_keeps_its_schedule() {
    let interval = ms(100);
    let a = NodeParams {
        priority: 200,
        fast: false,
    };
    let b = NodeParams {
        priority: 100,
        fast: false,
    };
    let mut sim = build(Version::V3, interval, &[a, b], &[1, 2], 11);
    sim.run_for(Duration::from_secs(2)).unwrap();
    let before = sim.transitions().len();
    let sent_before = sim.adverts_sent();
    // A real advert from the master, to mutate.
    let master_adv = sim.instance(0, 1).unwrap().build_advert(200);
    let mcast = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    let pseudo_mcast = vrrp::PseudoHeader::v3(v4(1), mcast).unwrap();
    let good = master_adv.encode(pseudo_mcast).unwrap();
    let mut x: u64 = 0x1234_5678;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let end = sim.now() + Duration::from_secs(10);
    let mut injected = 0u64;
    while sim.now() < end {
        for to in 0..2 {
            for _ in 0..5 {
                let mut p = good.clone();
                match rnd() % 4 {
                    0 => {
                        let i = (rnd() as usize) % p.len();
                        p[i] = p[i].wrapping_add(1 + (rnd() % 255) as u8);
                    }
                    1 => p.truncate((rnd() as usize) % p.len()),
                    2 => p = (0..(rnd() % 64)).map(|_| rnd() as u8).collect(),
                    _ => p[1] = 3 + (rnd() % 250) as u8, // VRIDs nobody serves
                }
                let ttl = if rnd() % 8 == 0 { 64 } else { 255 };
                let ip = vrrp::ipv4::build_ipv4_packet(
                    vrrp::ipv4::Ipv4Params {
                        src: Ipv4Addr::new(198, 18, 0, 9),
                        dst: Ipv4Addr::new(224, 0, 0, 18),
                        ttl,
                        id: 0,
                    },
                    &p,
                );
                sim.inject(to, v4(9), mcast, ttl, ip, ms(rnd() % 10));
                injected += 1;
            }
        }
        sim.run_for(ms(10)).unwrap();
    }
    assert_eq!(
        sim.transitions().len(),
        before,
        "{:?}",
        &sim.transitions()[before..]
    );
    // Two instances on the master, one advert each per 100 ms for 10 s.
    let sent = sim.adverts_sent() - sent_before;
    assert!((199..=201).contains(&sent), "{sent} adverts");
    let dropped = sim.rx_counters(0).dropped_total() + sim.rx_counters(1).dropped_total();
    assert!(
        dropped as f64 > injected as f64 * 0.99,
        "{dropped} of {injected}"
    );
}

#[test]
fn ipv6_vrrpv3_elects_and_fails_over() {
    let ll = |n: u16| IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n));
    let mut sim = Sim::new(5);
    for (i, prio) in [(1u16, 150u8), (2, 100)] {
        let mut c = InstanceConfig::new("VI_6", 7, Version::V3, ll(i));
        c.priority = prio;
        c.vips = vec![Vip::host(IpAddr::V6(Ipv6Addr::new(
            0x2001, 2, 0, 0, 0, 0, 0, 0x100,
        )))];
        sim.add_node(format!("n{i}"), vec![UnitSpec::Single(c)])
            .unwrap();
    }
    sim.start_all();
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(sim.masters(7), vec![0]);
    assert_eq!(sim.rx_counters(1).dropped_total(), 0);
    assert!(sim.rx_counters(1).accepted > 0);
    sim.crash(0);
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(sim.masters(7), vec![1]);
}

#[test]
fn unicast_v3_elects_with_real_destination_checksums() {
    let mut sim = Sim::new(9);
    for (i, prio) in [(0u8, 100u8), (1, 150)] {
        let mut c = InstanceConfig::new("VI_U", 53, Version::V3, v4(i + 1));
        c.priority = prio;
        c.vips = vec![Vip::host(v4(103))];
        c.unicast_peers = vec![UnicastPeer::new(v4(2 - i))];
        c.check_unicast_src = true;
        sim.add_node(format!("n{i}"), vec![UnitSpec::Single(c)])
            .unwrap();
    }
    sim.start_all();
    sim.run_for(Duration::from_secs(6)).unwrap();
    assert_eq!(sim.masters(53), vec![1]);
    assert_eq!(sim.rx_counters(0).dropped_total(), 0);
    assert!(sim.rx_counters(0).accepted > 0);
}

#[test]
fn sigterm_handover_takes_skew_only() {
    let interval = Duration::from_secs(1);
    let a = NodeParams {
        priority: 200,
        fast: false,
    };
    let b = NodeParams {
        priority: 100,
        fast: false,
    };
    let mut sim = build(Version::V2, interval, &[a, b], &[1], 2);
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(sim.masters(1), vec![0]);
    let t0 = sim.now();
    sim.deliver_all(0, Event::Shutdown);
    sim.run_for(Duration::from_secs(2)).unwrap();
    let t = sim
        .transitions()
        .iter()
        .find(|t| t.node == 1 && t.to == State::Master)
        .map(|t| t.at - t0)
        .unwrap();
    // skew(100) = 609.375 ms + one-way delay (≤ 0.5 ms).
    assert!(
        t >= Duration::from_micros(609_375) && t <= Duration::from_micros(610_000),
        "{t:?}"
    );
}

#[test]
fn partition_makes_two_masters_and_heal_resolves_within_master_down() {
    let interval = Duration::from_secs(1);
    let a = NodeParams {
        priority: 200,
        fast: false,
    };
    let b = NodeParams {
        priority: 100,
        fast: false,
    };
    let mut sim = build(Version::V2, interval, &[a, b], &[1], 4);
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(sim.masters(1), vec![0]);
    sim.partition(0, 1);
    sim.run_for(Duration::from_secs(10)).unwrap();
    assert_eq!(sim.masters(1), vec![0, 1], "split brain while partitioned");
    sim.heal_all();
    let healed = sim.now();
    sim.run_for(Duration::from_secs(10)).unwrap();
    assert_eq!(sim.masters(1), vec![0]);
    let d = sim.dual_masters().last().copied().unwrap();
    let end = d.until.unwrap();
    // The lower master yields at the higher one's next advert (≤ 1 s).
    assert!(end > healed && end - healed <= interval + ms(1), "{d:?}");
    assert!(sim.vip_violations().is_empty());
    // The winner never left MASTER, so it re-announces its VIPs (GARP) when
    // it sees the lower master's advert (keepalived's garp_lower_prio_repeat).
    assert!(sim.garps(0) >= 2);
}
