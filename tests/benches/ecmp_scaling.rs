//! The scaling benchmark (scripts/bench-scaling.sh): three balancers behind the router's
//! ECMP route, measured with each speaker and gate — the spread of new connections, a
//! crashed elb-proxy, a planned drain, a dead link, and (with the fast gate) a balancer
//! added and one removed under long-lived connections with plain and resilient hashing.
//! Prints a Markdown report on stdout. `ECMP_RUNS` (default 3) repeats each timed event.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Result;
use elb_ha_e2e::ecmp::Ecmp;
use elb_ha_e2e::ecmp::configs::{GateOptions, Speaker};
use elb_ha_e2e::ecmp::load::{
    DrainFailures, LongLived, NewConnections, drain_failures, spread, switch_after,
};
use elb_ha_e2e::ecmp::resilient;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const EVENT_TIMEOUT: Duration = Duration::from_secs(20);
/// New connections: one every 5 ms at most (about 200 a second).
const PACE: Duration = Duration::from_millis(5);
const SPREAD_CONNECTIONS: usize = 3000;
const LONG_LIVED: usize = 90;

fn main() -> Result<()> {
    if !netlab::require_root_or_skip("ecmp_bench") {
        return Ok(());
    }
    // ECMP_ONLY=spread|kills|drains|hashing|cuts picks one part; ECMP_SPEAKERS=fast|pace|exabgp
    // (comma-separated) picks speakers.
    let only = std::env::var("ECMP_ONLY").ok();
    let part = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let chosen = std::env::var("ECMP_SPEAKERS").unwrap_or_else(|_| "fast,pace,exabgp".into());
    let runs: usize = std::env::var("ECMP_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let speakers = [
        ("fast", Speaker::Gate(GateOptions::fast())),
        ("pace", Speaker::Gate(GateOptions::keepalived_pace())),
        ("exabgp", Speaker::ExaBgp(GateOptions::fast())),
    ];
    let mut rows = Vec::new();
    let mut hashing = Vec::new();
    for (key, speaker) in &speakers {
        if !chosen.split(',').any(|c| c == *key) {
            continue;
        }
        eprintln!("== {}", speaker.name());
        let mut ecmp = Ecmp::start(speaker)?;
        // Drops by design (the cut uplink) count too; any other is a flap under load.
        let drops_at_start = ecmp.router.session_drops();
        if part("spread") {
            rows.push(progress(measure_spread(&ecmp, speaker)?));
        }
        if part("kills") {
            rows.push(progress(measure_kills(&mut ecmp, speaker, runs)?));
        }
        if part("drains") {
            rows.push(progress(measure_drains(&mut ecmp, speaker, runs)?));
        }
        if *key == "fast" && part("hashing") {
            hashing.push(progress(measure_membership(&ecmp, false)?));
            hashing.push(progress(measure_membership(&ecmp, true)?));
        }
        if part("cuts") {
            rows.push(progress(measure_cuts(&ecmp, speaker, runs)?));
        }
        rows.push(progress(format!(
            "| {} | BGP sessions dropped on the router during these measurements | {} |",
            speaker.name(),
            ecmp.router.session_drops() - drops_at_start
        )));
        // ECMP_LOGS=1: every daemon's output, to see why a number is what it is.
        if std::env::var_os("ECMP_LOGS").is_some() {
            eprintln!("{}", ecmp.logs());
        }
    }
    println!("| speaker and gate | measure | result |\n|---|---|---|");
    for r in &rows {
        println!("{r}");
    }
    println!(
        "\n| hashing on the router | {LONG_LIVED} long-lived connections broken when a 3rd balancer is added | broken when one of 3 is removed | new connections on the added balancer |\n|---|---|---|---|"
    );
    for h in &hashing {
        println!("{h}");
    }
    Ok(())
}

/// Shows a result on stderr as soon as it is measured (the report comes at the end).
fn progress(row: String) -> String {
    eprintln!("{row}");
    row
}

fn new_connections(ecmp: &Ecmp) -> NewConnections {
    NewConnections::start(
        ecmp.client_host().netns(),
        PACE,
        REQUEST_TIMEOUT,
        Duration::from_secs(60),
    )
}

/// Median and maximum of durations, in milliseconds.
fn ms(v: &[Duration]) -> String {
    let mut v: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    v.sort_by(f64::total_cmp);
    match v.as_slice() {
        [] => "n/a".into(),
        [one] => format!("{one:.0} ms"),
        _ => format!(
            "median {:.0} ms, max {:.0} ms",
            v[v.len() / 2],
            v[v.len() - 1]
        ),
    }
}

fn measure_spread(ecmp: &Ecmp, speaker: &Speaker) -> Result<String> {
    let s = ecmp
        .client_host()
        .in_netns(|| spread(SPREAD_CONNECTIONS, REQUEST_TIMEOUT))?;
    let shares: Vec<String> = s
        .served
        .iter()
        .map(|&n| format!("{:.1} %", 100.0 * n as f64 / s.total().max(1) as f64))
        .collect();
    Ok(format!(
        "| {} | spread of {} new connections from 254 client addresses | {} (worst {:+.1} % from even), {} failed |",
        speaker.name(),
        s.total(),
        shares.join(" / "),
        100.0 * s.worst_deviation(&[0, 1, 2]),
        s.failed
    ))
}

/// elb-proxy SIGKILLed on balancer 0, `runs` times: until the router withdraws, until the
/// last new connection that failed or reached it, failures, and the way back.
fn measure_kills(ecmp: &mut Ecmp, speaker: &Speaker, runs: usize) -> Result<String> {
    let (mut withdraw, mut last_bad, mut back) = (Vec::new(), Vec::new(), Vec::new());
    let mut judged = Vec::new();
    let (mut failed, mut total) = (0, 0);
    for _ in 0..runs {
        let load = new_connections(ecmp);
        load.wait_until(Duration::from_secs(5), |s| s.len() >= 50);
        let killed = Instant::now();
        ecmp.balancer(0).0.kill_proxy()?;
        let gone = ecmp.wait_next_hops_since(&[1, 2], killed, EVENT_TIMEOUT)?;
        withdraw.push(gone - killed);
        if let Some(at) = ecmp.balancers[0].wait_gate_down(EVENT_TIMEOUT)? {
            judged.push(at.saturating_duration_since(killed));
        }
        load.wait_until(Duration::from_secs(5), |s| {
            s.iter().filter(|x| x.at > gone).count() >= 100
        });
        let sw = switch_after(&load.finish(), killed, 0);
        last_bad.push(sw.last_bad.unwrap_or_default());
        failed += sw.failed;
        total += sw.total;
        let started = Instant::now();
        let (b, host) = ecmp.balancer(0);
        b.start_proxy(host)?;
        back.push(ecmp.wait_next_hops_since(&[0, 1, 2], started, EVENT_TIMEOUT)? - started);
    }
    Ok(format!(
        "| {} | elb-proxy SIGKILLed on one of 3 ({runs} runs) | gate judges it down: {}; router withdraws: {}; last new connection failing or sent to it: {}; {failed} of {total} new connections failed (~200/s); announced again {} after restart |",
        speaker.name(),
        ms(&judged),
        ms(&withdraw),
        ms(&last_bad),
        ms(&back)
    ))
}

/// SIGTERM to elb-proxy on balancer 1 (drain: tells the gate, serves 1 s more), `runs` times.
fn measure_drains(ecmp: &mut Ecmp, speaker: &Speaker, runs: usize) -> Result<String> {
    let (mut withdraw, mut total) = (Vec::new(), 0);
    let mut f = DrainFailures::default();
    let mut errors = std::collections::BTreeSet::new();
    for _ in 0..runs {
        let load = new_connections(ecmp);
        load.wait_until(Duration::from_secs(5), |s| s.len() >= 50);
        let start = Instant::now();
        ecmp.balancers[1].signal_proxy(nix::sys::signal::Signal::SIGTERM)?;
        let switched = ecmp.wait_next_hops_since(&[0, 2], start, EVENT_TIMEOUT)?;
        withdraw.push(switched - start);
        ecmp.balancers[1].wait_proxy_exit()?;
        let exited = Instant::now();
        load.wait_until(Duration::from_secs(5), |s| {
            s.iter().filter(|x| x.at > exited).count() >= 100
        });
        let samples = load.finish();
        let run = drain_failures(&samples, start, switched);
        f.refused += run.refused;
        f.reset_across_switch += run.reset_across_switch;
        f.after_switch += run.after_switch;
        let sw = switch_after(&samples, start, 1);
        total += sw.total;
        errors.extend(sw.errors);
        let (b, host) = ecmp.balancer(1);
        b.start_proxy(host)?;
        ecmp.wait_next_hops(&[0, 1, 2], EVENT_TIMEOUT)?;
    }
    let failed = f.refused + f.reset_across_switch + f.after_switch;
    Ok(format!(
        "| {} | planned drain (SIGTERM, 1 s grace) of one of 3 ({runs} runs) | router withdraws {} after SIGTERM; {failed} of {total} new connections failed: {} refused, {} reset in flight across the switch, {} started after it{} |",
        speaker.name(),
        ms(&withdraw),
        f.refused,
        f.reset_across_switch,
        f.after_switch,
        if errors.is_empty() {
            String::new()
        } else {
            format!(" ({})", errors.into_iter().collect::<Vec<_>>().join("; "))
        }
    ))
}

/// Balancer 2's uplink silently dropping everything, `runs` times (the router's BFD, or
/// the BGP hold timer without it).
fn measure_cuts(ecmp: &Ecmp, speaker: &Speaker, runs: usize) -> Result<String> {
    let mut withdraw = Vec::new();
    let runs = if matches!(speaker, Speaker::ExaBgp(_)) {
        1
    } else {
        runs
    };
    for _ in 0..runs {
        let (b, host) = (&ecmp.balancers[2], ecmp.balancer_host(2));
        let cut = Instant::now();
        b.cut_uplink(host)?;
        withdraw.push(ecmp.wait_next_hops_since(&[0, 1], cut, EVENT_TIMEOUT)? - cut);
        b.heal_uplink(host)?;
        ecmp.wait_next_hops(&[0, 1, 2], Duration::from_secs(60))?;
    }
    Ok(format!(
        "| {} | uplink of one of 3 cut (frames dropped, carrier up; {runs} runs) | router withdraws: {} |",
        speaker.name(),
        ms(&withdraw)
    ))
}

/// Long-lived connections while balancer 2 joins and then balancer 0 leaves (maintenance),
/// with FRR's plain route or the resilient group laid over it.
fn measure_membership(ecmp: &Ecmp, resilient_mode: bool) -> Result<String> {
    let router = ecmp.router_host();
    let set = |hops: &[usize]| -> Result<()> {
        ecmp.wait_next_hops(hops, EVENT_TIMEOUT)?;
        if resilient_mode {
            resilient::apply(router, &hops.iter().copied().collect::<BTreeSet<_>>())?;
        }
        Ok(())
    };
    let (b2, h2) = (&ecmp.balancers[2], ecmp.balancer_host(2));
    let (b0, h0) = (&ecmp.balancers[0], ecmp.balancer_host(0));
    b2.maintenance(h2, true)?;
    ecmp.wait_next_hops(&[0, 1], EVENT_TIMEOUT)?;
    if resilient_mode {
        resilient::enable(router, &BTreeSet::from([0, 1]))?;
    }
    let conns = LongLived::start(
        ecmp.client_host().netns(),
        LONG_LIVED,
        Duration::from_millis(300),
        Duration::from_secs(120),
    );
    anyhow::ensure!(
        conns.wait_ready(Duration::from_secs(20)),
        "long-lived connections never all answered"
    );
    b2.maintenance(h2, false)?;
    set(&[0, 1, 2])?;
    // Past the idle timer, so idle buckets have moved to the newcomer.
    let rounds_ok = conns.wait_rounds(8, Duration::from_secs(30));
    let after_add = conns.state();
    let added_share = ecmp
        .client_host()
        .in_netns(|| spread(600, REQUEST_TIMEOUT))?;
    b0.maintenance(h0, true)?;
    set(&[1, 2])?;
    let rounds_ok = rounds_ok && conns.wait_rounds(8, Duration::from_secs(30));
    let end = conns.finish();
    b0.maintenance(h0, false)?;
    set(&[0, 1, 2])?;
    if resilient_mode {
        resilient::disable(router)?;
    }
    anyhow::ensure!(rounds_ok, "long-lived connections stalled");
    let broken_add = after_add.broken.iter().filter(|b| **b).count();
    let broken_total = end.broken.iter().filter(|b| **b).count();
    let on_removed = (0..LONG_LIVED)
        .filter(|&i| !after_add.broken[i] && end.broken[i] && end.first[i] == Some(0))
        .count();
    eprintln!("long-lived connections broke with: {:?}", end.errors);
    let mode = if resilient_mode {
        format!(
            "resilient group ({} buckets, idle timer {} s) over FRR's route",
            resilient::BUCKETS,
            resilient::IDLE_TIMER_S
        )
    } else {
        "FRR 8.4's route (kernel mpath group, hash-threshold)".into()
    };
    Ok(format!(
        "| {mode} | {broken_add} of {LONG_LIVED} ({:.0} %) | {} of {} alive ({:.0} %; {on_removed} of them were on the removed balancer) | {:.1} % of 600 |",
        100.0 * broken_add as f64 / LONG_LIVED as f64,
        broken_total - broken_add,
        LONG_LIVED - broken_add,
        100.0 * (broken_total - broken_add) as f64 / (LONG_LIVED - broken_add).max(1) as f64,
        100.0 * added_share.served[2] as f64 / added_share.total().max(1) as f64,
    ))
}
