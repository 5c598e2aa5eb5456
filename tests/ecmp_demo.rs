//! `make demo-ecmp`: three balancers behind a router's ECMP route, end to end, in an
//! isolated lab. The router runs FRR with multipath BGP and BFD; each balancer runs
//! elb-proxy, its gate (vrrpd + elb-check) and FRR announcing the service address. The demo
//! shows the routes on the router, the spread of new connections, a balancer's elb-proxy
//! killed and its route withdrawn, the spread recovering, and a drain without a failed
//! request. Prints a timeline and exits non-zero if any step fails.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use elb_ha_e2e::ecmp::Ecmp;
use elb_ha_e2e::ecmp::configs::{GateOptions, Speaker};
use elb_ha_e2e::ecmp::load::{NewConnections, Spread, drain_failures, spread, switch_after};
use elb_ha_e2e::ecmp::routes::next_hops;
use elb_ha_e2e::ecmp::topology::{SERVICE, SERVICE_PORT, uplink_addr};
use elb_ha_e2e::timeline::{indent, say};

const STEP: Duration = Duration::from_secs(20);
const TIMEOUT: Duration = Duration::from_secs(2);

fn main() {
    let t0 = Instant::now();
    match run(t0) {
        Ok(()) => say(
            t0,
            "demo finished: every step passed; the lab is being removed",
        ),
        Err(e) => {
            eprintln!("\ndemo FAILED: {e:#}");
            std::process::exit(1);
        }
    }
}

fn run(t0: Instant) -> Result<()> {
    ensure!(
        netlab::require_root_or_skip("make demo-ecmp"),
        "the demo builds network namespaces and must run as root"
    );
    say(
        t0,
        "building the lab: router, 3 balancers, members, client (198.18.0.0/15)",
    );
    let speaker = Speaker::Gate(GateOptions::fast());
    let mut ecmp = Ecmp::start(&speaker).context("starting the ECMP lab")?;
    let result = scenario(t0, &mut ecmp);
    if result.is_err() {
        eprintln!("{}", ecmp.logs());
    }
    result
}

fn show_spread(t0: Instant, label: &str, s: &Spread) {
    say(
        t0,
        &format!(
            "{label}: balancer0 {} / balancer1 {} / balancer2 {}, {} failed",
            s.served[0], s.served[1], s.served[2], s.failed
        ),
    );
}

/// The story in four acts: routes and spread, a crash, the recovery, a planned drain.
fn scenario(t0: Instant, ecmp: &mut Ecmp) -> Result<()> {
    announced(t0, ecmp)?;
    let load = crash(t0, ecmp)?;
    recovery(t0, ecmp, load)?;
    planned_drain(t0, ecmp)
}

/// The router's routes for the service and an even spread of new connections.
fn announced(t0: Instant, ecmp: &mut Ecmp) -> Result<()> {
    say(
        t0,
        &format!(
            "service {SERVICE}:{SERVICE_PORT} announced by balancers {} / {} / {} (gate: elb-check every 0.1 s, fall 2, rise 3)",
            uplink_addr(0),
            uplink_addr(1),
            uplink_addr(2)
        ),
    );
    say(
        t0,
        "router: show ip bgp 198.18.1.1/32 and the kernel's route",
    );
    print!(
        "{}",
        indent(&ecmp.router_vtysh("show ip bgp 198.18.1.1/32")?)
    );
    let route = ecmp
        .router_host()
        .run(&["ip", "route", "show", "198.18.1.1/32"])?;
    print!("{}", indent(&String::from_utf8_lossy(&route.stdout)));

    let s = ecmp.client_host().in_netns(|| spread(600, TIMEOUT))?;
    show_spread(t0, "600 new connections from 254 client addresses", &s);
    ensure!(
        s.failed == 0 && s.worst_deviation(&[0, 1, 2]) <= 0.2,
        "uneven spread {s:?}"
    );

    Ok(())
}

/// elb-proxy SIGKILLed on one balancer under load: the withdrawal and what it cost.
/// The load keeps running into the recovery.
fn crash(t0: Instant, ecmp: &mut Ecmp) -> Result<NewConnections> {
    let load = NewConnections::start(
        ecmp.client_host().netns(),
        Duration::from_millis(5),
        TIMEOUT,
        STEP * 3,
    );
    load.wait_until(STEP, |x| x.len() >= 50);
    say(
        t0,
        "kill -9 elb-proxy on balancer0 (new connections keep coming, ~200/s)",
    );
    let killed = Instant::now();
    ecmp.balancer(0).0.kill_proxy()?;
    let gone = ecmp.wait_next_hops_since(&[1, 2], killed, STEP)?;
    say(
        t0,
        &format!(
            "router withdrew balancer0 {:.0} ms after the kill; next hops now {:?}",
            (gone - killed).as_secs_f64() * 1000.0,
            next_hops(ecmp.router_host())?
        ),
    );
    load.wait_until(STEP, |x| x.iter().filter(|s| s.at > gone).count() >= 100);
    let after = switch_after(&load.samples(), gone, 0);
    ensure!(
        after.failed + after.to_gone == 0,
        "after the withdrawal: {after:?}"
    );
    let sw = switch_after(&load.samples(), killed, 0);
    say(
        t0,
        &format!(
            "{} of {} new connections failed, all in the first {:.0} ms; none reached balancer0 after the withdrawal",
            sw.failed,
            sw.total,
            sw.last_bad.unwrap_or_default().as_secs_f64() * 1000.0
        ),
    );
    let s = ecmp.client_host().in_netns(|| spread(300, TIMEOUT))?;
    show_spread(t0, "300 new connections", &s);

    Ok(load)
}

/// elb-proxy back on the crashed balancer: announced again, the spread even again.
fn recovery(t0: Instant, ecmp: &mut Ecmp, load: NewConnections) -> Result<()> {
    say(t0, "elb-proxy restarted on balancer0");
    let (b, host) = ecmp.balancer(0);
    b.start_proxy(host)?;
    let back = ecmp.wait_next_hops(&[0, 1, 2], STEP)?;
    say(t0, "balancer0 healthy 3 times in a row: announced again");
    load.wait_until(STEP, |x| {
        x.iter().any(|s| s.at > back && s.served_by == Ok(0))
    });
    drop(load.finish());
    let s = ecmp.client_host().in_netns(|| spread(600, TIMEOUT))?;
    show_spread(t0, "the spread recovered, 600 new connections", &s);

    Ok(())
}

/// SIGTERM to one elb-proxy: the gate withdraws first, no new connection fails.
fn planned_drain(t0: Instant, ecmp: &mut Ecmp) -> Result<()> {
    let load = NewConnections::start(
        ecmp.client_host().netns(),
        Duration::from_millis(5),
        TIMEOUT,
        STEP * 2,
    );
    load.wait_until(STEP, |x| x.len() >= 50);
    say(
        t0,
        "planned stop of balancer1: SIGTERM to elb-proxy (tells its gate first, serves 1 s more)",
    );
    let start = Instant::now();
    ecmp.balancers[1].signal_proxy(nix::sys::signal::Signal::SIGTERM)?;
    let gone = ecmp.wait_next_hops_since(&[0, 2], start, STEP)?;
    say(
        t0,
        &format!(
            "router withdrew balancer1 {:.0} ms after SIGTERM, while it still serves",
            (gone - start).as_secs_f64() * 1000.0
        ),
    );
    ecmp.balancers[1].wait_proxy_exit()?;
    let exited = Instant::now();
    say(t0, "elb-proxy on balancer1 exited");
    load.wait_until(STEP, |x| x.iter().filter(|s| s.at > exited).count() >= 100);
    let samples = load.finish();
    let sw = switch_after(&samples, start, 1);
    let f = drain_failures(&samples, start, gone);
    say(
        t0,
        &format!(
            "drain: {} of {} new connections failed ({} refused, {} reset in flight across the switch)",
            f.refused + f.reset_across_switch + f.after_switch,
            sw.total,
            f.refused,
            f.reset_across_switch
        ),
    );
    ensure!(
        f.refused + f.after_switch == 0,
        "the drain refused connections: {f:?}"
    );
    Ok(())
}
