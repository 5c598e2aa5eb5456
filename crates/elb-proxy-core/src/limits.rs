//! Per-client limits: a token-bucket request rate and a count of open connections per client
//! address, in scopes (the whole proxy, a listener, a route), all in one table of bounded
//! size, so a flood of distinct source addresses cannot grow memory without bound. When the
//! table is full the oldest idle entry goes (second chance: an entry used since it was last
//! looked at, or holding connections, is passed over a few times); forgetting a client only
//! ever gives it a fresh bucket, never a refusal.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// A request rate: `per_second` tokens refill continuously up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSpec {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed at once after a quiet period.
    pub burst: f64,
}

impl RateSpec {
    /// A rate with a burst (`None`: one second's worth, at least 1).
    pub fn new(per_second: f64, burst: Option<u32>) -> Self {
        let burst = burst.map_or(per_second.ceil().max(1.0), f64::from);
        RateSpec { per_second, burst }
    }
}

/// The rate of a `per_client` block, if it sets one.
pub fn rate_of(l: &crate::config::ClientLimits) -> Option<RateSpec> {
    (l.requests_per_second > 0.0).then(|| RateSpec::new(l.requests_per_second, l.burst))
}

/// Which limits an entry counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The whole proxy.
    Global,
    /// One listener (index into the config's listeners).
    Listener(u32),
    /// One route (index into the config's routes; the default route is `u32::MAX`).
    Route(u32),
}

/// One client in one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// The scope.
    pub scope: Scope,
    /// The client's address.
    pub addr: IpAddr,
}

#[derive(Debug)]
struct Entry {
    tokens: f64,
    last: Instant,
    conns: u32,
    /// Used since the eviction hand last passed.
    recent: bool,
}

/// Entries looked at for an idle one before the oldest is taken anyway.
const SECOND_CHANCES: usize = 8;

/// The bounded table of clients.
#[derive(Debug)]
pub struct ClientTable {
    map: HashMap<ClientKey, Entry>,
    order: VecDeque<ClientKey>,
    capacity: usize,
    evictions: u64,
}

impl ClientTable {
    /// An empty table holding at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Self {
        ClientTable {
            map: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            evictions: 0,
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Entries forgotten to make room.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Takes one request token: `Ok` to serve, `Err(wait)` until a token is back.
    pub fn take(&mut self, key: ClientKey, rate: RateSpec, now: Instant) -> Result<(), Duration> {
        let e = self.entry(key, rate.burst, now);
        let elapsed = now.saturating_duration_since(e.last).as_secs_f64();
        e.tokens = (e.tokens + elapsed * rate.per_second).min(rate.burst);
        e.last = now;
        e.recent = true;
        if e.tokens >= 1.0 {
            e.tokens -= 1.0;
            return Ok(());
        }
        let wait = if rate.per_second > 0.0 {
            (1.0 - e.tokens) / rate.per_second
        } else {
            1.0
        };
        Err(Duration::from_secs_f64(wait))
    }

    /// Counts a new connection if the client has fewer than `max` open.
    pub fn connect(&mut self, key: ClientKey, max: u32, now: Instant) -> bool {
        // A full bucket, whatever its size, for when the same key is rate limited too.
        let e = self.entry(key, f64::INFINITY, now);
        e.recent = true;
        if e.conns >= max {
            return false;
        }
        e.conns += 1;
        true
    }

    /// A connection counted by `connect` closed.
    pub fn disconnect(&mut self, key: ClientKey) {
        if let Some(e) = self.map.get_mut(&key) {
            e.conns = e.conns.saturating_sub(1);
        }
    }

    fn entry(&mut self, key: ClientKey, tokens: f64, now: Instant) -> &mut Entry {
        if !self.map.contains_key(&key) {
            if self.map.len() >= self.capacity {
                self.evict_one();
            }
            self.order.push_back(key);
            self.map.insert(
                key,
                Entry {
                    tokens,
                    last: now,
                    conns: 0,
                    recent: false,
                },
            );
        }
        self.map.get_mut(&key).expect("inserted above")
    }

    fn evict_one(&mut self) {
        for _ in 0..SECOND_CHANCES {
            let Some(k) = self.order.pop_front() else {
                return;
            };
            match self.map.get_mut(&k) {
                None => continue,
                Some(e) if e.recent || e.conns > 0 => {
                    e.recent = false;
                    self.order.push_back(k);
                }
                Some(_) => {
                    self.map.remove(&k);
                    self.evictions += 1;
                    return;
                }
            }
        }
        // Every entry looked at was busy: the oldest goes anyway, the bound holds.
        while let Some(k) = self.order.pop_front() {
            if self.map.remove(&k).is_some() {
                self.evictions += 1;
                return;
            }
        }
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
/// address in `X-Forwarded-For` (read from the right) that is not itself trusted. A request
/// without `X-Forwarded-For` is read the same way from RFC 7239 `Forwarded: for=`
/// (`forwarded`); a hop that names no address (obfuscated, `unknown`, malformed) ends the
/// walk there.
pub fn client_address(
    peer: IpAddr,
    is_trusted: impl Fn(IpAddr) -> bool,
    forwarded_for: &[&str],
    forwarded: &[&str],
) -> IpAddr {
    if !is_trusted(peer) {
        return peer;
    }
    if forwarded_for.is_empty() {
        let hops = crate::forwarded::forwarded_for_hops(forwarded);
        return nearest_untrusted(peer, is_trusted, hops.into_iter().rev());
    }
    let hops = forwarded_for
        .iter()
        .rev()
        .flat_map(|v| v.rsplit(','))
        .map(|h| h.trim().parse::<IpAddr>().ok());
    nearest_untrusted(peer, is_trusted, hops)
}

/// Walks `hops` (nearest first) from a trusted `peer` to the first untrusted address.
fn nearest_untrusted(
    peer: IpAddr,
    is_trusted: impl Fn(IpAddr) -> bool,
    hops: impl Iterator<Item = Option<IpAddr>>,
) -> IpAddr {
    let mut client = peer;
    for hop in hops {
        let Some(ip) = hop else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> ClientKey {
        ClientKey {
            scope: Scope::Global,
            addr: IpAddr::from(n.to_be_bytes()),
        }
    }

    #[test]
    fn bucket_allows_the_burst_then_the_rate() {
        let mut t = ClientTable::new(16);
        let now = Instant::now();
        let rate = RateSpec::new(10.0, Some(3));
        for _ in 0..3 {
            assert_eq!(t.take(key(1), rate, now), Ok(()));
        }
        let wait = t.take(key(1), rate, now).unwrap_err();
        assert!(wait <= Duration::from_millis(100) && wait > Duration::ZERO);
        assert_eq!(
            t.take(key(2), rate, now),
            Ok(()),
            "other clients unaffected"
        );
        assert_eq!(
            t.take(key(1), rate, now + Duration::from_millis(100)),
            Ok(())
        );
        assert!(
            t.take(key(1), rate, now + Duration::from_millis(100))
                .is_err()
        );
    }

    #[test]
    fn connections_are_counted_per_client() {
        let mut t = ClientTable::new(16);
        let now = Instant::now();
        assert!(t.connect(key(1), 2, now) && t.connect(key(1), 2, now));
        assert!(!t.connect(key(1), 2, now));
        assert!(t.connect(key(2), 2, now));
        t.disconnect(key(1));
        assert!(t.connect(key(1), 2, now));
        // The same key's bucket starts full.
        assert_eq!(t.take(key(3), RateSpec::new(1.0, None), now), Ok(()));
        assert!(t.connect(key(3), 1, now));
        assert!(t.connect(key(4), 1, now));
        assert_eq!(t.take(key(4), RateSpec::new(1.0, None), now), Ok(()));
    }

    #[test]
    fn a_flood_of_addresses_keeps_the_table_bounded_and_busy_clients_kept() {
        let mut t = ClientTable::new(1000);
        let now = Instant::now();
        assert!(t.connect(key(0), 10, now));
        for n in 1..200_000 {
            let _ = t.take(key(n), RateSpec::new(1.0, None), now);
            assert!(t.len() <= 1000);
        }
        assert!(t.evictions() >= 199_000);
        // The client holding a connection was passed over, so its count survives.
        assert!(t.connect(key(0), 2, now) && !t.connect(key(0), 2, now));
    }

    #[test]
    fn forwarded_for_counts_only_behind_trusted_proxies() {
        let trusted = |ip: IpAddr| ip.to_string().starts_with("198.18.");
        let peer: IpAddr = "198.18.0.1".parse().unwrap();
        let other: IpAddr = "198.19.0.7".parse().unwrap();
        assert_eq!(client_address(other, trusted, &["1.2.3.4"], &[]), other);
        assert_eq!(
            client_address(peer, trusted, &["6.6.6.6, 198.19.0.9, 198.18.0.2"], &[]),
            "198.19.0.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(peer, trusted, &[], &[]), peer);
        assert_eq!(client_address(peer, trusted, &["junk"], &[]), peer);
    }

    #[test]
    fn forwarded_names_the_client_when_there_is_no_x_forwarded_for() {
        let trusted = |ip: IpAddr| ip.to_string().starts_with("198.18.");
        let peer: IpAddr = "198.18.0.1".parse().unwrap();
        let fwd = ["for=6.6.6.6, for=\"[2001:db8::7]:443\";proto=https, for=198.18.0.2"];
        assert_eq!(
            client_address(peer, trusted, &[], &fwd),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
        // X-Forwarded-For, when present, wins.
        assert_eq!(
            client_address(peer, trusted, &["198.19.0.9"], &fwd),
            "198.19.0.9".parse::<IpAddr>().unwrap()
        );
        // An obfuscated hop stops the walk at the trusted proxy before it.
        let hidden = ["for=6.6.6.6, for=_hidden, for=198.18.0.2"];
        assert_eq!(
            client_address(peer, trusted, &[], &hidden),
            "198.18.0.2".parse::<IpAddr>().unwrap()
        );
        // From an untrusted peer, Forwarded is ignored.
        let other: IpAddr = "198.19.0.7".parse().unwrap();
        assert_eq!(client_address(other, trusted, &[], &fwd), other);
    }
}
