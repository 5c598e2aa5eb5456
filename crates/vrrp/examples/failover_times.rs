//! Protocol-level failover times from the simulator (no I/O, no
//! scheduling noise): how long after an event the backup enters MASTER,
//! keepalived's behaviour vs opt-in fast failover.
//!
//! `cargo run --release -p vrrp --example failover_times`

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vrrp::sim::{NetParams, Sim, UnitSpec};
use vrrp::{Event, FastFailover, InstanceConfig, State, TrackerConfig, Version, Vip};

#[derive(Clone, Copy)]
enum Trigger {
    Kill,
    Term,
    TrackerDown,
}

fn node(
    version: Version,
    interval: Duration,
    n: u8,
    prio: u8,
    fast: Option<Duration>,
) -> InstanceConfig {
    let mut c = InstanceConfig::new(
        "VI_1",
        51,
        version,
        IpAddr::V4(Ipv4Addr::new(198, 18, 0, n)),
    );
    c.priority = prio;
    c.advert_interval = interval;
    c.vips = vec![Vip::host(IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)))];
    c.trackers = vec![TrackerConfig {
        name: "elb".into(),
        weight: -100,
        reverse: false,
    }];
    if let Some(hold) = fast {
        c.fast_failover = FastFailover {
            immediate_advert_on_priority_change: true,
            fast_preempt: true,
            fast_preempt_delay: Duration::ZERO,
            hold_time: hold,
            release_delay: Duration::ZERO,
        };
    }
    c
}

/// Median failover time over `runs` event phases spread across one interval.
fn measure(
    version: Version,
    interval: Duration,
    fast: Option<Duration>,
    trigger: Trigger,
    runs: u32,
) -> Duration {
    let mut times = Vec::new();
    for k in 0..runs {
        let mut sim = Sim::new(u64::from(k));
        sim.set_net(NetParams {
            loss_per_mille: 0,
            dup_per_mille: 0,
            delay_min: Duration::from_micros(50),
            delay_max: Duration::from_micros(200),
        });
        sim.add_node(
            "a",
            vec![UnitSpec::Single(node(version, interval, 1, 200, fast))],
        )
        .unwrap();
        sim.add_node(
            "b",
            vec![UnitSpec::Single(node(version, interval, 2, 150, fast))],
        )
        .unwrap();
        sim.start_all();
        for n in 0..2 {
            sim.deliver_all(
                n,
                Event::TrackerChanged {
                    name: "elb".into(),
                    up: true,
                },
            );
        }
        // Settle, then put the event at a different phase of the advert cycle.
        sim.run_for(interval * 10 + interval.mul_f64(f64::from(k) / f64::from(runs)))
            .unwrap();
        assert_eq!(sim.masters(51), vec![0]);
        let t0 = sim.now();
        match trigger {
            Trigger::Kill => sim.crash(0),
            Trigger::Term => sim.deliver_all(0, Event::Shutdown),
            Trigger::TrackerDown => sim.deliver_all(
                0,
                Event::TrackerChanged {
                    name: "elb".into(),
                    up: false,
                },
            ),
        }
        sim.run_for(interval * 10).unwrap();
        let t = sim
            .transitions()
            .iter()
            .find(|t| t.node == 1 && t.to == State::Master && t.at >= t0)
            .map(|t| t.at - t0)
            .expect("backup took over");
        times.push(t);
    }
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let rows = [
        ("v2 advert_int 1", Version::V2, Duration::from_secs(1)),
        ("v3 advert_int 0.1", Version::V3, Duration::from_millis(100)),
    ];
    println!(
        "| config | event | keepalived behaviour | fast failover (hold 0) | fast failover (hold 50 ms) |"
    );
    println!("|---|---|---|---|---|");
    for (name, version, interval) in rows {
        for (ev, trig) in [
            ("master killed", Trigger::Kill),
            ("master stopped (prio 0)", Trigger::Term),
            ("tracker down (-100)", Trigger::TrackerDown),
        ] {
            let base = measure(version, interval, None, trig, 21);
            let fast0 = measure(version, interval, Some(Duration::ZERO), trig, 21);
            let fast50 = measure(version, interval, Some(Duration::from_millis(50)), trig, 21);
            println!(
                "| {name} | {ev} | {:.1} ms | {:.1} ms | {:.1} ms |",
                base.as_secs_f64() * 1e3,
                fast0.as_secs_f64() * 1e3,
                fast50.as_secs_f64() * 1e3
            );
        }
    }
}
