//! Failover benchmark, side by side in one run: the time a client waits, from an
//! event on the master, to its first answer through the VIP from the backup, and the requests
//! that failed meanwhile — for keepalived 2.2.7 with its fastest accepted settings, for vrrpd
//! with the same settings (keepalived's timing), and for vrrpd with elb-ha's fast path
//! (sub-second checks, `--fast-failover`, elb-proxy pushing its drain to vrrpd).
//!
//! Run by `scripts/bench-failover.sh` (needs root). `BENCH_RUNS` (default 10) runs per cell.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use elb_ha_e2e::seed::{ELB_A, ELB_B, Sample, Seed, SeedOptions, Vrrp};
use nix::sys::signal::Signal;

#[derive(Clone, Copy, Debug)]
enum Event {
    /// (a) elb-proxy on the master dies.
    ProxyKilled,
    /// (b) elb-proxy on the master is stopped gracefully (SIGTERM: drain).
    ProxyStopped,
    /// (c) the VRRP daemon on the master dies (its whole process tree).
    VrrpKilled,
}

impl Event {
    fn label(self) -> &'static str {
        match self {
            Event::ProxyKilled => "(a) elb-proxy SIGKILL",
            Event::ProxyStopped => "(b) elb-proxy SIGTERM",
            Event::VrrpKilled => "(c) VRRP daemon SIGKILL",
        }
    }
}

struct Setup {
    name: &'static str,
    opts: SeedOptions,
}

fn setups() -> Vec<Setup> {
    let fast_keepalived = |vrrp: Vrrp| SeedOptions {
        vrrp: [vrrp, vrrp],
        version: 3,
        advert_int: "0.1",
        script_interval: "1",
        probe_timeout: "0.5",
        distinct_backends: true,
        ..SeedOptions::default()
    };
    let seed_timers = |vrrp: Vrrp| SeedOptions {
        vrrp: [vrrp, vrrp],
        distinct_backends: true,
        ..SeedOptions::default()
    };
    let fast_path = |advert_int: &'static str| SeedOptions {
        version: 3,
        advert_int,
        script_interval: "0.05",
        script_timeout: "0.045",
        probe_timeout: "0.04",
        distinct_backends: true,
        push_to_vrrpd: true,
        drain_grace: "300ms",
        vrrpd_args: vec![
            "--fast-failover".into(),
            "--hold-time".into(),
            "0".into(),
            "--takeover-guard".into(),
            "1".into(),
        ],
        ..SeedOptions::default()
    };
    vec![
        Setup {
            name: "keepalived 2.2.7, fastest (v3, advert 0.1, script 1 s)",
            opts: fast_keepalived(Vrrp::Keepalived),
        },
        Setup {
            name: "vrrpd, same settings (keepalived timing)",
            opts: fast_keepalived(Vrrp::Vrrpd),
        },
        Setup {
            name: "vrrpd fast path (advert 0.1, script 0.05 s, --fast-failover, drain push)",
            opts: fast_path("0.1"),
        },
        Setup {
            name: "keepalived 2.2.7, seed timers (v2, advert 1, script 2 s)",
            opts: seed_timers(Vrrp::Keepalived),
        },
        Setup {
            name: "vrrpd, seed timers (keepalived timing)",
            opts: seed_timers(Vrrp::Vrrpd),
        },
        Setup {
            name: "vrrpd fast path with the seed's advert_int 1",
            opts: fast_path("1"),
        },
    ]
}

/// The track script's interval in `opts`, in seconds.
fn script_interval(opts: &SeedOptions) -> f64 {
    opts.script_interval.parse().unwrap_or(1.0)
}

/// One measurement: time from the event to the first answer from elb-b, and failed requests.
/// The event comes `phase` (0..1) of a track-script interval after the pair has settled: a
/// run's timing depends on where in the script's cycle the failure falls, and start-up takes
/// about the same time in every run, so without spreading the phase on purpose every run of
/// a cell would sample the same point of the cycle.
fn measure(opts: &SeedOptions, event: Event, phase: f64) -> Result<(Duration, usize)> {
    let mut seed = Seed::start(opts.clone())?;
    seed.wait_vip_on(ELB_A, Duration::from_secs(20))
        .with_context(|| format!("VIP never on elb-a\n{}", seed.logs()))?;
    // Settled: elb-a answers through the VIP.
    let body = seed.request_via_vip(Duration::from_secs(2))?;
    if !body.contains("as1") {
        bail!("expected elb-a (as1) to answer, got {body:?}");
    }
    let client = seed.client_loop(
        Duration::from_millis(5),
        Duration::from_millis(200),
        Duration::from_secs(30),
    );
    std::thread::sleep(Duration::from_secs_f64(phase * script_interval(opts)));
    let event_at = Instant::now();
    match event {
        Event::ProxyKilled => seed.stop_proxy(ELB_A, Signal::SIGKILL)?,
        Event::ProxyStopped => {
            let proxy = seed.proxy_proc(ELB_A).context("proxy")?;
            proxy.signal(Signal::SIGTERM)?;
        }
        Event::VrrpKilled => seed.stop_vrrp(ELB_A, Signal::SIGKILL)?,
    }
    seed.host(ELB_B)
        .wait_for_address(elb_ha_e2e::seed::VIP.into(), true, Duration::from_secs(20))
        .with_context(|| format!("VIP never reached elb-b\n{}", seed.logs()))?;
    // The first answer from elb-b arrives shortly after the VIP; give it a bounded moment.
    client.wait_until(Duration::from_secs(5), |s| {
        first_from_b(s, event_at).is_some()
    });
    let samples = client.finish();
    let first = first_from_b(&samples, event_at).context("no answer from elb-b")?;
    let failures: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= event_at && s.at <= event_at + first && s.outcome.is_err())
        .collect();
    if std::env::var_os("BENCH_DEBUG").is_some() {
        for f in &failures {
            eprintln!("  failed at +{:?}: {:?}", f.at - event_at, f.outcome);
        }
        // A failure nobody expects (a planned stop on the fast path): the daemons' side of it.
        if !failures.is_empty() && std::env::var_os("BENCH_DEBUG_LOGS").is_some() {
            eprintln!("{}", seed.logs());
        }
    }
    let failed = failures.len();
    Ok((first, failed))
}

fn first_from_b(samples: &[Sample], from: Instant) -> Option<Duration> {
    samples
        .iter()
        .filter(|s| s.at >= from)
        .find(|s| matches!(&s.outcome, Ok(body) if body.contains("as2")))
        .map(|s| s.at - from)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() -> Result<()> {
    if !netlab::require_root_or_skip("bench_failover") {
        return Ok(());
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let only: Option<String> = std::env::var("BENCH_ONLY").ok();
    println!(
        "| setup | event | median to first answer from backup (ms) | min..max (ms) | failed requests (median, max) | runs |"
    );
    println!("|---|---|---|---|---|---|");
    for setup in setups() {
        if only.as_deref().is_some_and(|o| !setup.name.contains(o)) {
            continue;
        }
        for event in [Event::ProxyKilled, Event::ProxyStopped, Event::VrrpKilled] {
            let mut times = Vec::new();
            let mut fails = Vec::new();
            let mut errors = 0;
            for run in 0..runs {
                let phase = (run as f64 + 0.5) / runs as f64;
                if std::env::var_os("BENCH_DEBUG").is_some() {
                    eprintln!(
                        "{} {} run {run} phase {phase:.2}",
                        setup.name,
                        event.label()
                    );
                }
                match measure(&setup.opts, event, phase) {
                    Ok((t, f)) => {
                        times.push(t.as_secs_f64() * 1000.0);
                        fails.push(f as f64);
                    }
                    Err(e) => {
                        errors += 1;
                        eprintln!("{} {}: {e:#}", setup.name, event.label());
                    }
                }
            }
            if times.is_empty() {
                println!(
                    "| {} | {} | failed | | | 0/{runs} |",
                    setup.name,
                    event.label()
                );
                continue;
            }
            let min = times.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = times.iter().cloned().fold(0.0, f64::max);
            let max_fail = fails.iter().cloned().fold(0.0, f64::max);
            println!(
                "| {} | {} | {:.0} | {:.0}..{:.0} | {:.0}, {:.0} | {}/{runs}{} |",
                setup.name,
                event.label(),
                median(times.clone()),
                min,
                max,
                median(fails),
                max_fail,
                times.len(),
                if errors > 0 {
                    " (errors on stderr)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}
