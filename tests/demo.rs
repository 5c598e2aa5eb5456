//! `make demo`: the seed's two-node failover scenario, end to end, in an isolated lab.
//!
//! Two ELB hosts run elb-proxy and vrrpd with the seed's keepalived.conf (elb-check as the
//! track script, smtp_alert on); a client sends requests to the VIP; elb-proxy on the master is
//! killed, the VIP moves to the backup, the master's balancer comes back and the VIP returns.
//! Prints a timeline and exits non-zero if any step fails.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use elb_ha_e2e::seed::{CLIENT, ELB_A, ELB_B, SERVICES, Seed, SeedOptions, VIP, outage};
use elb_ha_e2e::timeline::{indent, say};
use nix::sys::signal::Signal;

const STEP: Duration = Duration::from_secs(30);

fn main() {
    let started = Instant::now();
    match run(started) {
        Ok(()) => {
            println!(
                "\n[{:>6.2}s] demo finished: every step passed; the lab is being removed",
                started.elapsed().as_secs_f64()
            );
        }
        Err(e) => {
            eprintln!("\ndemo FAILED: {e:#}");
            std::process::exit(1);
        }
    }
}

fn run(t0: Instant) -> Result<()> {
    ensure!(
        netlab::require_root_or_skip("make demo"),
        "the demo builds network namespaces and must run as root"
    );
    let opts = SeedOptions::default();
    say(
        t0,
        "building the lab: 4 network namespaces on a private bridge (198.18.0.0/24)",
    );
    let mut seed = Seed::start(opts.clone()).context("starting the seed deployment")?;
    let result = scenario(t0, &opts, &mut seed);
    if result.is_err() {
        eprintln!("{}", seed.logs());
    }
    result
}

fn scenario(t0: Instant, opts: &SeedOptions, seed: &mut Seed) -> Result<()> {
    for node in [ELB_A, ELB_B, CLIENT, SERVICES] {
        say(
            t0,
            &format!("  {:<8} {}", Seed::node_name(node), seed.host(node).ipv4()),
        );
    }
    say(
        t0,
        &format!(
            "elb-proxy :8280 and vrrpd (seed keepalived.conf: VRRPv{}, advert_int {}, \
             elb-check every {} s, weight {}, priorities {}/{}) running on elb-a and elb-b",
            opts.version,
            opts.advert_int,
            opts.script_interval,
            opts.weight,
            opts.priorities[0],
            opts.priorities[1]
        ),
    );

    let took = seed
        .wait_vip_on(ELB_A, STEP)
        .context("VIP never reached elb-a")?;
    say(
        t0,
        &format!("VIP {VIP} is on elb-a (after {} ms)", took.as_millis()),
    );
    print!("{}", indent(&seed.ip_addr_show(ELB_A)?));
    let body = seed.request_via_vip(Duration::from_secs(2))?;
    say(
        t0,
        &format!("client -> http://{VIP}:8280/ : 200, {}", body.trim()),
    );

    let client = seed.client_loop(
        Duration::from_millis(50),
        Duration::from_millis(500),
        Duration::from_secs(90),
    );
    let kill_at = Instant::now();
    seed.stop_proxy(ELB_A, Signal::SIGKILL)?;
    say(
        t0,
        "elb-proxy on elb-a killed (the master's balancer stops answering)",
    );
    let took = seed
        .wait_vip_on(ELB_B, STEP)
        .context("VIP did not move to elb-b")?;
    say(
        t0,
        &format!(
            "VIP moved to elb-b {} ms after the balancer died",
            took.as_millis()
        ),
    );
    print!("{}", indent(&seed.ip_addr_show(ELB_B)?));
    // The client is served again through elb-b.
    let served = wait_served(seed, STEP)?;
    say(
        t0,
        &format!("client served again through the VIP: {}", served.trim()),
    );

    let restart_at = Instant::now();
    seed.start_proxy(ELB_A)?;
    say(t0, "elb-proxy on elb-a restarted");
    let took = seed
        .wait_vip_on(ELB_A, STEP)
        .context("VIP did not come back to elb-a")?;
    say(
        t0,
        &format!(
            "VIP back on elb-a {} ms after the restart (preemption)",
            took.as_millis()
        ),
    );
    let samples = client.finish();
    let (failed, recovered) = outage(&samples, kill_at, restart_at);
    let total = samples
        .iter()
        .filter(|s| s.at >= kill_at && s.at < restart_at)
        .count();
    say(
        t0,
        &format!(
            "client requests between the kill and the restart: {total}, failed: {failed}{}",
            recovered
                .map(|d| format!(", service restored {} ms after the kill", d.as_millis()))
                .unwrap_or_default()
        ),
    );
    let (failed_back, _) = outage(&samples, restart_at, Instant::now());
    say(
        t0,
        &format!("requests failed during the fail-back: {failed_back}"),
    );

    say(t0, "alert mails received by the SMTP server:");
    // (host, state, how many such mails by now: elb-a was MASTER once before the failure)
    let expected = [
        ("elb-b", "MASTER", 1),
        ("elb-a", "BACKUP", 2),
        ("elb-a", "MASTER", 2),
        ("elb-b", "BACKUP", 2),
    ];
    for (who, state, count) in expected {
        let line = seed
            .mail
            .wait_for_subject(&format!(r"\[{who}\] .* is now {state}"), count, STEP)
            .with_context(|| format!("no mail #{count} saying {who} became {state}"))?;
        say(t0, &format!("  {}", line.trim_start_matches("Subject: ")));
    }
    say(t0, "vrrpd ctl show status on elb-a:");
    print!("{}", indent(&seed.vrrpd_ctl(ELB_A, &["show", "status"])?));
    say(
        t0,
        "elb-proxy ctl show stat elb on elb-a (show stat is HAProxy's 113 columns):",
    );
    print!(
        "{}",
        indent(&seed.proxy_ctl(ELB_A, &["show", "stat", "elb"])?)
    );
    Ok(())
}

/// Waits until a request through the VIP succeeds (bounded).
fn wait_served(seed: &Seed, timeout: Duration) -> Result<String> {
    let end = Instant::now() + timeout;
    loop {
        match seed.request_via_vip(Duration::from_millis(500)) {
            Ok(body) => return Ok(body),
            Err(e) if Instant::now() >= end => return Err(e.context("VIP never served again")),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}
