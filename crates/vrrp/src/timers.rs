//! VRRP timer arithmetic (RFC 3768 §6.1, RFC 5798 §6.1; reference c.3).

use std::time::Duration;

use crate::packet::Version;

/// Skew_Time for `priority`.
///
/// VRRPv2: `(256 - priority) / 256` seconds, independent of the interval
/// (RFC 3768; keepalived 2.2.7 observed: 609 375 µs at priority 100).
/// VRRPv3: `(256 - priority) * Master_Adver_Interval / 256` (RFC 5798),
/// computed in whole microseconds like keepalived.
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Duration) -> Duration {
    let weight = 256 - u64::from(priority);
    match version {
        Version::V2 => Duration::from_nanos(weight * 1_000_000_000 / 256),
        Version::V3 => {
            let us = master_adver_interval.as_micros() as u64;
            Duration::from_micros(weight * us / 256)
        }
    }
}

/// Master_Down_Interval = `down_adverts` × Master_Adver_Interval + Skew_Time.
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Duration,
    down_adverts: u32,
) -> Duration {
    master_adver_interval * down_adverts + skew_time(version, priority, master_adver_interval)
}

/// `timer_expired_backup`: whether a timer due at `due` and handled at `now` shows a stall
/// long enough for a router of priority `other` to have declared this one down. Its peers last
/// heard from it one interval before `due` (a MASTER's advert timer; for a BACKUP's down timer
/// the same gap means adverts it should have read may be waiting unread), so the stall counts
/// when that silence, `now - due + interval`, passes `other`'s Master_Down_Interval.
pub fn stalled(
    version: Version,
    other: u8,
    master_adver_interval: Duration,
    down_adverts: u32,
    due: Duration,
    now: Duration,
) -> bool {
    let silence = now.saturating_sub(due) + master_adver_interval;
    now > due && silence > master_down_interval(version, other, master_adver_interval, down_adverts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_down_timer_matches_keepalived_observation() {
        // keepalived 2.2.7, v2, prio 100, 1 s: 3 609 375 µs.
        let d = master_down_interval(Version::V2, 100, Duration::from_secs(1), 3);
        assert_eq!(d, Duration::from_micros(3_609_375));
    }

    #[test]
    fn v2_skew_is_independent_of_interval() {
        assert_eq!(
            skew_time(Version::V2, 100, Duration::from_secs(5)),
            skew_time(Version::V2, 100, Duration::from_secs(1))
        );
    }

    #[test]
    fn v3_skew_scales_with_interval() {
        // v3, prio 200, 0.5 s: skew 109 375 µs, down 1.609 375 s (observed ≈ 1.6 s).
        assert_eq!(
            skew_time(Version::V3, 200, Duration::from_millis(500)),
            Duration::from_micros(109_375)
        );
        assert_eq!(
            master_down_interval(Version::V3, 200, Duration::from_millis(500), 3),
            Duration::from_micros(1_609_375)
        );
    }

    #[test]
    fn owner_skew_is_smallest() {
        assert_eq!(
            skew_time(Version::V2, 255, Duration::from_secs(1)),
            Duration::from_nanos(3_906_250)
        );
    }

    #[test]
    fn a_stall_counts_once_the_silence_passes_the_other_routers_down_interval() {
        let adv = Duration::from_secs(1);
        let due = Duration::from_secs(10);
        // Priority 254, v3, 1 s: 3 s + 7.8125 ms; the silence is the lateness plus 1 s.
        let at = |late_ms: u64| due + Duration::from_millis(late_ms);
        assert!(!stalled(Version::V3, 254, adv, 3, due, at(0)));
        assert!(!stalled(Version::V3, 254, adv, 3, due, at(2_007)));
        assert!(stalled(Version::V3, 254, adv, 3, due, at(2_008)));
        // A lower other priority waits longer (skew 609 ms at 100 with v2).
        assert!(!stalled(Version::V2, 100, adv, 3, due, at(2_609)));
        assert!(stalled(Version::V2, 100, adv, 3, due, at(2_610)));
        // Early or on time is never a stall.
        assert!(!stalled(Version::V3, 254, adv, 3, due, due - adv));
    }
}
