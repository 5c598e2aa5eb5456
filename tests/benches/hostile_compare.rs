//! The hostile segment side by side: the same attacks on a vrrpd pair and on a
//! keepalived 2.2.7 pair — a flood at full speed and a trickle of two packets a second —
//! and what each pair did: state changes, whether the VIP stayed, the longest gap between
//! the master's adverts (the backup takes over after 3.6 s without one).
//!
//! Run by `scripts/bench-hostile.sh` (needs root). Prints a markdown table.

use anyhow::Result;
use elb_ha_e2e::hostile::{Attack, Daemon, Pair, peer_name};
use netlab::Lab;

fn main() -> Result<()> {
    if !netlab::require_root_or_skip("hostile_compare") {
        return Ok(());
    }
    let attacks = [
        (
            "flood, 8 s at full speed",
            Attack {
                seconds: 8.0,
                max_packets: 40_000,
                rate: 0.0,
            },
        ),
        (
            "trickle, 2 packets/s for 20 s",
            Attack {
                seconds: 20.0,
                max_packets: 40,
                rate: 2.0,
            },
        ),
    ];
    println!(
        "| daemon | attack | packets sent | state changes | VIP stayed on the master | worst advert gap (s) | adverts seen |"
    );
    println!("|---|---|---:|---:|---|---:|---:|");
    for (label, attack) in attacks {
        for daemon in [Daemon::Keepalived, Daemon::Vrrpd] {
            let lab = Lab::new(3)?;
            let pair = Pair::start(&lab, daemon)?;
            let o = pair.attack(attack)?;
            let gap = if o.worst_gap.is_finite() {
                format!("{:.3}", o.worst_gap)
            } else {
                "no adverts".into()
            };
            println!(
                "| {} | {label} | {} | {} | {} | {gap} | {} |",
                peer_name(daemon),
                o.sent,
                o.transitions,
                if o.vip_kept { "yes" } else { "no" },
                o.adverts
            );
            if std::env::var_os("BENCH_DEBUG").is_some() {
                eprintln!("{}", o.logs);
            }
        }
    }
    Ok(())
}
