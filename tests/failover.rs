//! The seed's failover scenario as assertions: the three binaries together in the lab, and
//! the mixed pair with Debian's keepalived as the peer.

use std::time::{Duration, Instant};

use elb_ha_e2e::seed::{ELB_A, ELB_B, Seed, SeedOptions, Vrrp, outage};
use netlab::require_root_or_skip;
use nix::sys::signal::Signal;

/// Start-up: the first master is chosen after a full master-down interval.
const START: Duration = Duration::from_secs(15);

/// Test timers: VRRPv3 adverts every 0.2 s (master down = 3 x 0.2 + skew ≈ 0.72 s) and the
/// track script every 0.5 s with a 0.3 s probe deadline. A balancer failure must be seen by the
/// next script run (≤ 0.5 s + 0.3 s), then the backup waits out master-down (≈ 0.72 s).
fn fast_options() -> SeedOptions {
    SeedOptions {
        version: 3,
        advert_int: "0.2",
        script_interval: "0.5",
        probe_timeout: "0.3",
        ..SeedOptions::default()
    }
}

/// The bound for a balancer failure to move the VIP with `fast_options`, with room for a
/// loaded CI machine: detection 0.8 s + master down 0.72 s + scheduling slack.
const FAILOVER_BOUND: Duration = Duration::from_secs(4);

fn start(opts: SeedOptions) -> Seed {
    let seed = Seed::start(opts).expect("seed deployment starts");
    seed.wait_vip_on(ELB_A, START)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", seed.logs()));
    seed
}

/// Waits until a request through the VIP succeeds, bounded.
fn served_within(seed: &Seed, bound: Duration) -> String {
    let end = Instant::now() + bound;
    loop {
        match seed.request_via_vip(Duration::from_millis(300)) {
            Ok(body) => return body,
            Err(e) if Instant::now() >= end => panic!("VIP not served within {bound:?}: {e:#}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[test]
fn balancer_failure_moves_the_vip_and_recovery_brings_it_back() {
    if !require_root_or_skip("balancer_failure_moves_the_vip_and_recovery_brings_it_back") {
        return;
    }
    let mut seed = start(fast_options());
    assert!(served_within(&seed, Duration::from_secs(2)).starts_with("served by as"));

    let client = seed.client_loop(
        Duration::from_millis(20),
        Duration::from_millis(300),
        Duration::from_secs(60),
    );
    let killed = Instant::now();
    seed.stop_proxy(ELB_A, Signal::SIGKILL).unwrap();
    let took = seed
        .wait_vip_on(ELB_B, FAILOVER_BOUND)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", seed.logs()));
    served_within(&seed, Duration::from_secs(2));
    eprintln!("VIP moved in {took:?}");

    let restarted = Instant::now();
    seed.start_proxy(ELB_A).unwrap();
    seed.wait_vip_on(ELB_A, FAILOVER_BOUND)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", seed.logs()));
    served_within(&seed, Duration::from_secs(2));
    let samples = client.finish();
    let (failed, recovered) = outage(&samples, killed, restarted);
    assert!(
        failed > 0,
        "killing the master's balancer must cost some requests"
    );
    let recovered = recovered.expect("service recovered");
    assert!(
        recovered <= FAILOVER_BOUND + Duration::from_secs(1),
        "clients were without service for {recovered:?}"
    );
    // Fail-back is planned: the new master announces itself before the old one lets go.
    let (failed_back, _) = outage(&samples, restarted, Instant::now());
    assert!(
        failed_back <= 2,
        "{failed_back} requests failed during the fail-back"
    );

    // Every transition was mailed: B became MASTER, A went BACKUP, A took the VIP back.
    let t = Duration::from_secs(10);
    // (host, state, how many such mails by now: elb-a was MASTER once before the failure)
    for (who, state, count) in [
        ("elb-b", "MASTER", 1),
        ("elb-a", "BACKUP", 2),
        ("elb-a", "MASTER", 2),
        ("elb-b", "BACKUP", 2),
    ] {
        seed.mail
            .wait_for_subject(&format!(r"\[{who}\] .* is now {state}"), count, t)
            .unwrap();
    }

    // The control sockets tell the story.
    let status = seed.vrrpd_ctl(ELB_A, &["show", "status"]).unwrap();
    assert!(status.contains("MASTER"), "{status}");
    assert!(status.contains("chk_elb"), "{status}");
    let status_b = seed.vrrpd_ctl(ELB_B, &["show", "status"]).unwrap();
    assert!(status_b.contains("BACKUP"), "{status_b}");
    let stat = seed.proxy_ctl(ELB_A, &["show", "stat", "elb"]).unwrap();
    assert!(stat.contains("appserver,as1,UP"), "{stat}");
}

#[test]
fn with_nopreempt_the_vip_stays_on_the_backup_after_recovery() {
    if !require_root_or_skip("with_nopreempt_the_vip_stays_on_the_backup_after_recovery") {
        return;
    }
    // With nopreempt a weighted script cannot move the VIP (the backup accepts the lower
    // priority of the current master: keepalived's rule), so the check puts the node in FAULT.
    let mut seed = start(SeedOptions {
        nopreempt: true,
        weight: 0,
        ..fast_options()
    });
    seed.stop_proxy(ELB_A, Signal::SIGKILL).unwrap();
    seed.wait_vip_on(ELB_B, FAILOVER_BOUND)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", seed.logs()));
    seed.start_proxy(ELB_A).unwrap();
    // A's script passes again, A leaves FAULT with the higher priority, but nopreempt keeps the
    // VIP where it is: wait for A to be BACKUP again, then for several master-down intervals.
    seed.vrrp_proc(ELB_A)
        .unwrap()
        .wait_for_line("Entering BACKUP STATE.*FAULT", Duration::from_secs(5))
        .unwrap();
    assert!(
        seed.host(ELB_A)
            .wait_for_address(elb_ha_e2e::seed::VIP.into(), true, Duration::from_secs(3))
            .is_err(),
        "the VIP went back to elb-a despite nopreempt\n{}",
        seed.logs()
    );
    assert_eq!(seed.vip_holders().unwrap(), vec![ELB_B]);
}

#[test]
fn vrrpd_killed_or_stopped_on_the_master_hands_over() {
    if !require_root_or_skip("vrrpd_killed_or_stopped_on_the_master_hands_over") {
        return;
    }
    let mut seed = start(fast_options());
    // A crash: B takes over after master down; the VIP stays on the dead node's interface
    // (nobody removes it) until vrrpd restarts and cleans it.
    seed.stop_vrrp(ELB_A, Signal::SIGKILL).unwrap();
    seed.host(ELB_B)
        .wait_for_address(elb_ha_e2e::seed::VIP.into(), true, FAILOVER_BOUND)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", seed.logs()));
    seed.start_vrrp(ELB_A).unwrap();
    seed.wait_vip_on(ELB_A, START)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", seed.logs()));

    // A clean stop: priority 0 makes B take over after its skew only.
    let stopped = Instant::now();
    seed.stop_vrrp(ELB_A, Signal::SIGTERM).unwrap();
    seed.wait_vip_on(ELB_B, FAILOVER_BOUND)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", seed.logs()));
    let took = stopped.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "SIGTERM hand-over took {took:?}: the priority-0 advert was not acted on"
    );
}

#[test]
fn a_split_brain_heals_to_one_master() {
    if !require_root_or_skip("a_split_brain_heals_to_one_master") {
        return;
    }
    let seed = start(fast_options());
    seed.host(ELB_A).partition().unwrap();
    // Cut off, B hears no adverts and takes the VIP; A keeps it too (it cannot know).
    seed.host(ELB_B)
        .wait_for_address(elb_ha_e2e::seed::VIP.into(), true, FAILOVER_BOUND)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", seed.logs()));
    assert_eq!(seed.vip_holders().unwrap(), vec![ELB_A, ELB_B]);
    seed.host(ELB_A).heal().unwrap();
    // The higher priority wins: B hears A's adverts and steps down.
    seed.wait_vip_on(ELB_A, FAILOVER_BOUND)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", seed.logs()));
    served_within(&seed, Duration::from_secs(2));
}

/// Mixed pair, both ways round: Debian's keepalived on one ELB host and vrrpd on the other,
/// the seed's VRRPv2 with PASS auth (keepalived's script interval is whole seconds).
#[test]
fn mixed_pair_with_keepalived_fails_over_both_ways() {
    if !require_root_or_skip("mixed_pair_with_keepalived_fails_over_both_ways") {
        return;
    }
    for vrrp in [
        [Vrrp::Keepalived, Vrrp::Vrrpd],
        [Vrrp::Vrrpd, Vrrp::Keepalived],
    ] {
        let mut seed = start(SeedOptions {
            vrrp,
            script_interval: "1",
            ..SeedOptions::default()
        });
        // Seed timers: script every 1 s, advert 1 s, master down ≈ 3.6 s.
        let bound = Duration::from_secs(8);
        seed.stop_proxy(ELB_A, Signal::SIGKILL).unwrap();
        seed.wait_vip_on(ELB_B, bound)
            .unwrap_or_else(|e| panic!("{vrrp:?}: {e:#}\n{}", seed.logs()));
        served_within(&seed, Duration::from_secs(2));
        seed.start_proxy(ELB_A).unwrap();
        seed.wait_vip_on(ELB_A, bound)
            .unwrap_or_else(|e| panic!("{vrrp:?}: {e:#}\n{}", seed.logs()));
        served_within(&seed, Duration::from_secs(2));
    }
}
