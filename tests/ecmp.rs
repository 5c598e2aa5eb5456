//! Three balancers behind a router's ECMP route, announced by FRR and gated by vrrpd +
//! elb-check (the short form of the lab the scaling benchmark measures): the spread of new
//! connections, maintenance on demand, a dead link noticed by BFD, a crashed elb-proxy
//! withdrawn, a planned drain that refuses no connection, resilient hashing keeping flows.

use std::time::{Duration, Instant};

use anyhow::Result;
use elb_ha_e2e::ecmp::Ecmp;
use elb_ha_e2e::ecmp::configs::{GateOptions, Speaker};
use elb_ha_e2e::ecmp::load::{NewConnections, drain_failures, spread, switch_after};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// The withdrawal target: every new connection on the others within a second.
const WITHDRAW_TARGET: Duration = Duration::from_secs(1);

fn lab() -> Option<Ecmp> {
    if !netlab::require_root_or_skip("ecmp") {
        return None;
    }
    Some(Ecmp::start(&Speaker::Gate(GateOptions::fast())).expect("ECMP lab"))
}

fn new_connections(ecmp: &Ecmp) -> NewConnections {
    NewConnections::start(
        ecmp.client_host().netns(),
        Duration::from_millis(5),
        REQUEST_TIMEOUT,
        Duration::from_secs(30),
    )
}

#[test]
fn new_connections_spread_and_maintenance_or_a_dead_link_withdraws_a_balancer() -> Result<()> {
    let Some(ecmp) = lab() else { return Ok(()) };
    let bgp = ecmp.router_vtysh("show ip bgp 198.18.1.1/32")?;
    assert!(
        bgp.contains("multipath"),
        "router sees no multipath:\n{bgp}"
    );
    let s = ecmp
        .client_host()
        .in_netns(|| spread(600, REQUEST_TIMEOUT))?;
    assert_eq!(s.failed, 0, "{s:?}");
    let dev = s.worst_deviation(&[0, 1, 2]);
    assert!(dev <= 0.20, "spread {s:?} deviates {:.0} %", dev * 100.0);

    let (b, host) = (&ecmp.balancers[2], ecmp.balancer_host(2));
    b.maintenance(host, true)?;
    ecmp.wait_next_hops(&[0, 1], Duration::from_secs(5))?;
    b.maintenance(host, false)?;
    ecmp.wait_next_hops(&[0, 1, 2], Duration::from_secs(5))?;

    let cut = Instant::now();
    b.cut_uplink(host)?;
    let withdrawn = ecmp.wait_next_hops_since(&[0, 1], cut, Duration::from_secs(5))?;
    assert!(
        withdrawn - cut < WITHDRAW_TARGET,
        "BFD took {:?} (BGP's hold timer alone: 9 s)",
        withdrawn - cut
    );
    b.heal_uplink(host)?;
    ecmp.wait_next_hops(&[0, 1, 2], Duration::from_secs(20))?;
    Ok(())
}

#[test]
fn a_crashed_proxy_is_withdrawn_and_returns_when_healthy() -> Result<()> {
    let Some(mut ecmp) = lab() else { return Ok(()) };
    let load = new_connections(&ecmp);
    assert!(load.wait_until(Duration::from_secs(5), |s| s.len() >= 50));
    let killed = Instant::now();
    ecmp.balancer(0).0.kill_proxy()?;
    let withdrawn = ecmp.wait_next_hops_since(&[1, 2], killed, Duration::from_secs(5))?;
    assert!(
        withdrawn - killed < WITHDRAW_TARGET,
        "withdrawn {:?} after the kill",
        withdrawn - killed
    );
    assert!(load.wait_until(Duration::from_secs(5), |s| {
        s.iter().filter(|x| x.at > withdrawn).count() >= 100
    }));
    let sw = switch_after(&load.samples(), withdrawn, 0);
    assert_eq!(
        (sw.failed, sw.to_gone),
        (0, 0),
        "after the withdrawal: {sw:?}"
    );

    let (b, host) = ecmp.balancer(0);
    b.start_proxy(host)?;
    ecmp.wait_next_hops(&[0, 1, 2], Duration::from_secs(5))?;
    let back = Instant::now();
    assert!(load.wait_until(Duration::from_secs(5), |s| {
        s.iter().any(|x| x.at > back && x.served_by == Ok(0))
    }));
    let sw = switch_after(&load.finish(), back, usize::MAX);
    assert_eq!(sw.failed, 0, "after the return: {sw:?}");
    Ok(())
}

/// A planned drain withdraws before elb-proxy stops listening, so no new connection is
/// refused and none started after the router switched fails. (A request in flight at the
/// very instant of the switch can be reset by the balancer its next packet reaches; that is
/// counted apart, and measured by the benchmark.)
#[test]
fn a_planned_drain_withdraws_first_and_refuses_no_connection() -> Result<()> {
    let Some(mut ecmp) = lab() else { return Ok(()) };
    let load = new_connections(&ecmp);
    assert!(load.wait_until(Duration::from_secs(5), |s| s.len() >= 50));
    let start = Instant::now();
    ecmp.balancers[1].signal_proxy(nix::sys::signal::Signal::SIGTERM)?;
    let switched = ecmp.wait_next_hops_since(&[0, 2], start, Duration::from_secs(5))?;
    ecmp.balancers[1].wait_proxy_exit()?;
    let exited = Instant::now();
    assert!(
        exited - start > switched - start,
        "elb-proxy exited before the router moved: {:?}",
        switched - start
    );
    assert!(load.wait_until(
        Duration::from_secs(5),
        |s| s.iter().filter(|x| x.at > exited).count() >= 100
    ));
    let samples = load.finish();
    let f = drain_failures(&samples, start, switched);
    assert_eq!(
        (f.refused, f.after_switch),
        (0, 0),
        "during the drain: {f:?}"
    );
    assert!(
        f.reset_across_switch <= 1,
        "more than the one request in flight: {f:?}"
    );
    let sw = switch_after(&samples, switched, 1);
    assert_eq!(
        sw.to_gone, 0,
        "served by the drained balancer after the switch: {sw:?}"
    );
    Ok(())
}

/// The configs in deploy/ecmp are what their daemons accept: FRR's own syntax check, vrrpd's
/// config test (with elb-check at its built path) and elb-proxy's check.
#[test]
fn deploy_configs_for_a_real_router_and_balancer_are_valid() -> Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/ecmp");
    for conf in ["tor-frr.conf", "balancer-frr.conf"] {
        let out = std::process::Command::new("vtysh")
            .arg("-C")
            .arg("-f")
            .arg(dir.join(conf))
            .output()?;
        assert!(
            out.status.success(),
            "{conf}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let gate = std::fs::read_to_string(dir.join("balancer-keepalived.conf"))?;
    let elb_check = elb_ha_e2e::bins::bin("elb-check");
    let gate = gate.replace("/usr/bin/elb-check", &elb_check.to_string_lossy());
    let copy = std::env::temp_dir().join(format!("ecmp-gate-{}.conf", std::process::id()));
    std::fs::write(&copy, gate)?;
    let out = std::process::Command::new(elb_ha_e2e::bins::bin("vrrpd"))
        .arg("-t")
        .arg("-f")
        .arg(&copy)
        .output()?;
    std::fs::remove_file(&copy)?;
    // Exit 5 is vrrpd's "would run, with diagnostics": the 0.1 s interval is reported
    // (keepalived 2.2.7 takes whole seconds), and up0 does not exist on this machine.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 5)) && !stderr.contains("error:"),
        "gate config ({}): {stderr}",
        out.status
    );
    let out = std::process::Command::new(elb_ha_e2e::bins::bin("elb-proxy"))
        .arg("-t")
        .arg("-c")
        .arg(dir.join("elb-proxy-ecmp.yaml"))
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// With a resilient next-hop group on the router, a balancer joining breaks no established
/// connection and one leaving breaks exactly the connections it carried.
#[test]
fn a_resilient_group_moves_only_the_flows_of_the_balancer_that_leaves() -> Result<()> {
    use elb_ha_e2e::ecmp::load::LongLived;
    use elb_ha_e2e::ecmp::resilient;
    use std::collections::BTreeSet;

    let Some(ecmp) = lab() else { return Ok(()) };
    let router = ecmp.router_host();
    let (b0, b2) = (&ecmp.balancers[0], &ecmp.balancers[2]);
    b2.maintenance(ecmp.balancer_host(2), true)?;
    ecmp.wait_next_hops(&[0, 1], Duration::from_secs(5))?;
    resilient::enable(router, &BTreeSet::from([0, 1]))?;
    let conns = LongLived::start(
        ecmp.client_host().netns(),
        30,
        Duration::from_millis(200),
        Duration::from_secs(60),
    );
    assert!(conns.wait_ready(Duration::from_secs(10)));

    b2.maintenance(ecmp.balancer_host(2), false)?;
    ecmp.wait_next_hops(&[0, 1, 2], Duration::from_secs(5))?;
    resilient::apply(router, &BTreeSet::from([0, 1, 2]))?;
    assert!(conns.wait_rounds(3, Duration::from_secs(10)));
    let joined = conns.state();
    assert!(
        joined.broken.iter().all(|b| !b),
        "a newcomer broke connections: {joined:?}"
    );

    b0.maintenance(ecmp.balancer_host(0), true)?;
    ecmp.wait_next_hops(&[1, 2], Duration::from_secs(5))?;
    resilient::apply(router, &BTreeSet::from([1, 2]))?;
    assert!(conns.wait_rounds(3, Duration::from_secs(10)));
    let left = conns.finish();
    let on_leaver: Vec<bool> = left.first.iter().map(|f| *f == Some(0)).collect();
    assert!(on_leaver.contains(&true), "no connection was on balancer 0");
    assert_eq!(
        left.broken, on_leaver,
        "broken vs carried by the leaver: {left:?}"
    );
    Ok(())
}
