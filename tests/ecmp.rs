//! Three balancers behind a router's ECMP route, announced by FRR and gated by vrrpd +
//! elb-check (the short form of the lab the scaling benchmark measures): the spread of new
//! connections, a crashed elb-proxy withdrawn, a planned drain without a failed request,
//! maintenance on demand, a dead link noticed by BFD.

use std::time::{Duration, Instant};

use anyhow::Result;
use elb_ha_e2e::ecmp::Ecmp;
use elb_ha_e2e::ecmp::configs::{GateOptions, Speaker};
use elb_ha_e2e::ecmp::load::{NewConnections, spread, switch_after};

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
fn new_connections_spread_over_every_announcing_balancer() -> Result<()> {
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
    Ok(())
}

#[test]
fn a_crashed_proxy_is_withdrawn_and_returns_when_healthy() -> Result<()> {
    let Some(mut ecmp) = lab() else { return Ok(()) };
    let load = new_connections(&ecmp);
    assert!(load.wait_until(Duration::from_secs(5), |s| s.len() >= 50));
    let killed = Instant::now();
    ecmp.balancer(0).0.kill_proxy()?;
    let withdrawn = ecmp.wait_next_hops(&[1, 2], Duration::from_secs(5))?;
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

#[test]
fn a_planned_drain_withdraws_first_and_fails_no_request() -> Result<()> {
    let Some(mut ecmp) = lab() else { return Ok(()) };
    let load = new_connections(&ecmp);
    assert!(load.wait_until(Duration::from_secs(5), |s| s.len() >= 50));
    let start = Instant::now();
    ecmp.balancer(1).0.drain_proxy()?;
    let exited = Instant::now();
    // Withdrawn before elb-proxy stopped listening (the grace is 1 s).
    let (hops, _) = ecmp
        .routes
        .wait(ecmp.router_host(), Duration::ZERO, |_| true)?;
    assert!(
        !hops.contains(&1),
        "still announced when elb-proxy exited: {hops:?}"
    );
    assert!(load.wait_until(
        Duration::from_secs(5),
        |s| s.iter().filter(|x| x.at > exited).count() >= 100
    ));
    let sw = switch_after(&load.finish(), start, 1);
    assert_eq!(sw.failed, 0, "during the drain: {sw:?}");
    Ok(())
}

#[test]
fn maintenance_withdraws_on_demand_and_bfd_notices_a_dead_link() -> Result<()> {
    let Some(ecmp) = lab() else { return Ok(()) };
    let (b, host) = (&ecmp.balancers[2], ecmp.balancer_host(2));
    b.maintenance(host, true)?;
    ecmp.wait_next_hops(&[0, 1], Duration::from_secs(5))?;
    b.maintenance(host, false)?;
    ecmp.wait_next_hops(&[0, 1, 2], Duration::from_secs(5))?;

    let cut = Instant::now();
    b.cut_uplink(host)?;
    let withdrawn = ecmp.wait_next_hops(&[0, 1], Duration::from_secs(5))?;
    assert!(
        withdrawn - cut < WITHDRAW_TARGET,
        "BFD took {:?} (BGP's hold timer alone: 9 s)",
        withdrawn - cut
    );
    b.heal_uplink(host)?;
    ecmp.wait_next_hops(&[0, 1, 2], Duration::from_secs(20))?;
    Ok(())
}
