//! What the router forwards the service address to, and waiting for that to change: the
//! kernel's route (as zebra installed it) is the truth a client's packets meet.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use netlab::{Host, Proc};

use super::topology::{SERVICE, balancer_of_next_hop};

/// The balancers the router's route to the service address points at (empty: no route).
pub fn next_hops(router: &Host) -> Result<BTreeSet<usize>> {
    let out = router.run(&["ip", "-4", "route", "show", &format!("{SERVICE}/32")])?;
    Ok(parse_next_hops(&String::from_utf8_lossy(&out.stdout)))
}

/// The balancer of every `via ADDR` in `ip route show` output.
fn parse_next_hops(text: &str) -> BTreeSet<usize> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "via")
        .filter_map(|w| w[1].parse::<Ipv4Addr>().ok())
        .filter_map(balancer_of_next_hop)
        .collect()
}

/// Route and next-hop changes on the router as `ip monitor` reports them: the event a wait
/// for a new set of next hops wakes on.
pub struct RouteWatch {
    monitor: Proc,
}

impl RouteWatch {
    /// Starts the monitor and returns once it is known to listen (it has reported a marker
    /// route added and removed).
    pub fn start(router: &Host) -> Result<Self> {
        let mut cmd = router.command("ip");
        // -ts: each change stamped when ip received it, not when a waiter got to look.
        cmd.env("TZ", "UTC")
            .args(["-ts", "-o", "monitor", "route", "nexthop"]);
        let monitor = router.spawn("ip-monitor-route", cmd)?;
        let marker = "198.19.255.254/32";
        for _ in 0..50 {
            router.run(&["ip", "route", "add", "blackhole", marker])?;
            router.run(&["ip", "route", "del", "blackhole", marker])?;
            if monitor
                .wait_for_line(r"Deleted.*198\.19\.255\.254", Duration::from_millis(200))
                .is_ok()
            {
                return Ok(Self { monitor });
            }
        }
        bail!("ip monitor on the router never reported the marker route")
    }

    /// Waits until the router's next hops for the service satisfy `done`; returns them and
    /// when the change that satisfied it happened: the monitor's stamp of the event that
    /// woke the wait, if it is not older than `since` (a line left from an earlier change),
    /// else the moment the state was read.
    pub fn wait(
        &self,
        router: &Host,
        since: Instant,
        timeout: Duration,
        done: impl Fn(&BTreeSet<usize>) -> bool,
    ) -> Result<(BTreeSet<usize>, Instant)> {
        let end = Instant::now() + timeout;
        let mut woken_by: Option<String> = None;
        loop {
            let hops = next_hops(router)?;
            if done(&hops) {
                let at = woken_by
                    .as_deref()
                    .and_then(stamp_to_instant)
                    .filter(|at| *at >= since)
                    .unwrap_or_else(Instant::now);
                return Ok((hops, at));
            }
            let left = end.saturating_duration_since(Instant::now());
            match self.monitor.wait_for_line(".", left) {
                Ok(line) if !left.is_zero() => woken_by = Some(line),
                _ => bail!("router next hops still {hops:?} after {timeout:?}"),
            }
        }
    }

    /// Waits until the router forwards to exactly `want` (after an event at `since`).
    pub fn wait_for(
        &self,
        router: &Host,
        want: &[usize],
        since: Instant,
        timeout: Duration,
    ) -> Result<Instant> {
        let want: BTreeSet<usize> = want.iter().copied().collect();
        self.wait(router, since, timeout, |h| *h == want)
            .map(|(_, at)| at)
    }
}

/// The moment an `ip -ts` line (`[YYYY-MM-DDTHH:MM:SS.ffffff] ...`, UTC) stands for.
fn stamp_to_instant(line: &str) -> Option<Instant> {
    let stamp = line.strip_prefix('[')?.split(']').next()?;
    utc_stamp_to_instant(stamp)
}

/// The moment a recent UTC stamp `YYYY-MM-DDTHH:MM:SS.ffffff[Z]` (ip -ts, vrrpd's log lines)
/// stands for, as an `Instant`, through the time of day: the stamp is from the last minute.
pub fn utc_stamp_to_instant(stamp: &str) -> Option<Instant> {
    let time = stamp.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = time.split(':');
    let (h, m, s): (f64, f64, f64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    let stamped = h * 3600.0 + m * 60.0 + s;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64()
        % 86400.0;
    let ago = (now - stamped).rem_euclid(86400.0);
    // A stamp "in the future" (clock granularity) wraps to nearly a day: not trusted.
    if ago > 60.0 {
        return None;
    }
    Instant::now().checked_sub(Duration::from_secs_f64(ago))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_single_and_multipath_routes() {
        let multi = "198.18.1.1 nhid 12 proto bgp metric 20 \n\tnexthop via 198.18.2.1 dev rb0 weight 1 \n\tnexthop via 198.18.2.5 dev rb2 weight 1 \n";
        assert_eq!(parse_next_hops(multi), BTreeSet::from([0, 2]));
        let single = "198.18.1.1 nhid 13 via 198.18.2.3 dev rb1 proto bgp metric 20 \n";
        assert_eq!(parse_next_hops(single), BTreeSet::from([1]));
        assert!(parse_next_hops("").is_empty());
    }

    #[test]
    fn reads_the_monitor_stamp_of_a_recent_event() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            % 86400.0;
        let earlier = now - 0.25;
        let line = format!(
            "[2026-01-01T{:02}:{:02}:{:09.6}] 198.18.1.1 nhid 12",
            (earlier / 3600.0) as u32,
            ((earlier % 3600.0) / 60.0) as u32,
            earlier % 60.0
        );
        let at = stamp_to_instant(&line).expect("stamp");
        let ago = at.elapsed().as_secs_f64();
        assert!((0.2..0.5).contains(&ago), "{line}: {ago} s ago");
        assert!(stamp_to_instant("198.18.1.1 nhid 12").is_none());
    }
}
