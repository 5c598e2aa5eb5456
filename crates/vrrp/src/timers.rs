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
}
