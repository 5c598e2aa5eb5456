//! A hostile segment cannot move the VIP: a third host floods the pair with invalid VRRP
//! packets that would each move the VIP if accepted (priority 254 for the VRID, or priority 0),
//! while the master keeps advertising at its interval and nobody changes state.

use elb_ha_e2e::hostile::{Attack, Daemon, Pair};
use netlab::{Lab, require_root_or_skip};

#[test]
fn a_flood_of_invalid_packets_moves_nothing() {
    if !require_root_or_skip("a_flood_of_invalid_packets_moves_nothing") {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let pair = Pair::start(&lab, Daemon::Vrrpd).unwrap();
    let attack = Attack {
        seconds: 8.0,
        max_packets: 40_000,
        rate: 0.0,
    };
    let o = pair.attack(attack).unwrap();
    assert!(
        o.sent >= 500,
        "the flood sent only {} packets:\n{}",
        o.sent,
        o.report
    );

    // Nothing moved: the VIP is where it was, on one node, and neither daemon logged a
    // transition after the master's election.
    assert!(o.vip_kept, "the VIP moved\n{}", o.logs);
    assert_eq!(
        o.transitions, 0,
        "state changes during the flood\n{}",
        o.logs
    );

    // The master kept its rhythm: no gap between adverts near the backup's master-down
    // interval (3 x 1 s + skew).
    assert!(o.adverts >= 6, "only {} adverts captured", o.adverts);
    assert!(
        o.worst_gap < 1.5,
        "an advert gap of {:.3} s during the flood",
        o.worst_gap
    );

    // Every invalid packet was counted by reason.
    let stats = o.stats.as_deref().unwrap_or_default();
    for reason in [
        "bad_checksum",
        "bad_ttl",
        "version_mismatch",
        "bad_type",
        "bad_length",
        "auth_failure",
        "interval_mismatch",
        "ip_options",
    ] {
        let counted = stats
            .lines()
            .find(|l| l.contains(&format!(" rx_error {reason} ")))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0);
        assert!(counted > 0, "no {reason} counted:\n{stats}");
    }
    let errors: u64 = stats
        .lines()
        .filter(|l| l.contains(" rx_error "))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(
        errors > 0,
        "{} attacker frames seen by the backup's capture, none counted:\n{stats}",
        o.seen
    );
    eprintln!(
        "flood: {} packets sent ({} seen by the backup's capture), worst advert gap {:.3} s; \
         backup counted {errors} receive errors\n{}\n{stats}",
        o.sent, o.seen, o.worst_gap, o.report
    );
}
