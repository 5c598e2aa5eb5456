//! What a line is made of. The formats read one borrowed view, [`Line`], made on the writer
//! thread from either form of an answer's record: an [`Entry`] (owned texts, for answers made
//! without a parsed request) or a [`Record`] (a request's record, built on the request path
//! without copying a text: header values and the target are refcounted clones of what the
//! request already holds, names are read through the listener, route and cluster they belong
//! to, and a made-up request id is a number until the writer spells it).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http::HeaderValue;
use http::uri::{Authority, PathAndQuery};

use super::Entry;
use crate::snapshot::LiveCluster;
use crate::traffic::{ListenerStats, RouteStats};

/// Longest header text logged, in bytes (cut at a character boundary).
pub const MAX_TEXT: usize = 1024;

/// A text of the request, kept as the request holds it.
#[derive(Debug, Clone)]
pub enum Text {
    /// A header value.
    Header(HeaderValue),
    /// The target's path and query.
    Target(PathAndQuery),
    /// The target's authority (an absolute-form target, HTTP/2's `:authority`).
    Authority(Authority),
    /// Anything else.
    Owned(Box<str>),
}

impl Text {
    /// The text; a header value at most [`MAX_TEXT`] bytes, `None` when it is not UTF-8
    /// (the target and the authority are text already, as `http` parsed them).
    pub fn as_str(&self) -> Option<&str> {
        let b = match self {
            Self::Target(p) => return Some(p.as_str()),
            Self::Authority(a) => return Some(a.as_str()),
            Self::Owned(s) => return Some(s),
            // Visible ASCII (nearly every value) passes `to_str`'s one byte loop, cheaper
            // than the general UTF-8 check below.
            Self::Header(v) if v.len() <= MAX_TEXT => match v.to_str() {
                Ok(s) => return Some(s),
                Err(_) => v.as_bytes(),
            },
            Self::Header(v) => v.as_bytes(),
        };
        let b = &b[..b.len().min(MAX_TEXT)];
        match std::str::from_utf8(b) {
            Ok(s) => Some(s),
            // Cut inside a character by the length bound: keep the whole ones before it.
            Err(e) if e.error_len().is_none() => std::str::from_utf8(&b[..e.valid_up_to()]).ok(),
            Err(_) => None,
        }
    }
}

/// Each byte's two lowercase hex digits.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 15]];
        i += 1;
    }
    t
};

/// A made-up id's 16 hex digits: a byte (two digits) per lookup, half the steps of one
/// per digit.
pub fn hex_id(v: u64) -> [u8; 16] {
    let mut s = [0; 16];
    for (pair, b) in s.chunks_exact_mut(2).zip(v.to_be_bytes()) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
    }
    s
}

/// A request id as the record keeps it.
#[derive(Debug, Clone)]
pub enum Id {
    /// Received or configured.
    Text(Text),
    /// Made up for this request: 64 random bits, written as 16 hex digits.
    Random(u64),
}

impl Id {
    /// A fresh made-up id.
    pub fn random() -> Self {
        Self::Random(fastrand::u64(..))
    }

    /// The id as text (a made-up one spelled into `scratch`).
    pub fn as_str<'a>(&'a self, scratch: &'a mut [u8; 16]) -> &'a str {
        match self {
            Self::Text(t) => t.as_str().unwrap_or(""),
            Self::Random(v) => {
                *scratch = hex_id(*v);
                std::str::from_utf8(scratch).unwrap_or("")
            }
        }
    }

    /// The id as an owned string.
    pub fn to_string_lossy(&self) -> String {
        self.as_str(&mut [0; 16]).to_string()
    }
}

/// What a request's log line keeps of its head.
#[derive(Debug)]
pub struct Head {
    /// Request method.
    pub method: http::Method,
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    pub version: &'static str,
    /// Path and query as sent.
    pub target: Text,
    /// Host header (or the authority of an absolute target).
    pub host: Option<Text>,
    /// X-Forwarded-For as received.
    pub forwarded_for: Option<Text>,
    /// User-Agent.
    pub user_agent: Option<Text>,
    /// Referer.
    pub referer: Option<Text>,
}

/// One request's record (see the module comment).
#[derive(Debug)]
pub struct Record {
    /// When the request head arrived, on the monotonic clock the request is timed by (the
    /// writer turns it into wall-clock time: one clock read per request instead of two).
    pub arrived: Instant,
    /// The TCP peer.
    pub client: IpAddr,
    /// The listener (for its name).
    pub listener: Arc<ListenerStats>,
    /// What the line keeps of the request's head.
    pub head: Head,
    /// The request's id.
    pub request_id: Id,
    /// The route and its cluster (for their names); `None` before routing.
    pub route: Option<Arc<RouteStats>>,
    /// The member chosen last, by cluster and index.
    pub member: Option<(Arc<LiveCluster>, usize)>,
    /// Status sent.
    pub status: u16,
    /// Request bytes received.
    pub bytes_in: u64,
    /// Response body bytes sent.
    pub bytes_out: u64,
    /// Further members tried after a failure.
    pub retries: u32,
    /// From the request head to a member being chosen.
    pub queue: Option<Duration>,
    /// Time to open a fresh member connection.
    pub connect: Option<Duration>,
    /// From the request head to the member's response head.
    pub first_byte: Option<Duration>,
    /// From the request head to the last byte of the answer.
    pub total: Duration,
    /// Termination state.
    pub termination: &'static str,
}

/// The fields of one line, borrowed, as every format reads them. Absent texts are `None`
/// (`-` or `null` in the line); empty names mean none.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// When the request head arrived.
    pub time: Option<SystemTime>,
    /// The TCP peer.
    pub client: Option<IpAddr>,
    /// X-Forwarded-For as received.
    pub forwarded_for: Option<&'a str>,
    /// Listener name.
    pub listener: &'a str,
    /// Method (empty when the head could not be parsed).
    pub method: &'a str,
    /// Path and query.
    pub target: &'a str,
    /// Protocol version.
    pub version: &'a str,
    /// Host.
    pub host: Option<&'a str>,
    /// Status sent.
    pub status: u16,
    /// Request bytes received.
    pub bytes_in: u64,
    /// Response body bytes sent.
    pub bytes_out: u64,
    /// User-Agent.
    pub user_agent: Option<&'a str>,
    /// Referer.
    pub referer: Option<&'a str>,
    /// Request id.
    pub request_id: &'a str,
    /// Route name.
    pub route: &'a str,
    /// Cluster name.
    pub cluster: &'a str,
    /// Member name.
    pub member: &'a str,
    /// Further members tried.
    pub retries: u32,
    /// Queue time.
    pub queue: Option<Duration>,
    /// Connect time.
    pub connect: Option<Duration>,
    /// Time to the response head.
    pub first_byte: Option<Duration>,
    /// Total time.
    pub total: Duration,
    /// Termination state.
    pub termination: &'a str,
    /// The listener, route, cluster and member names need no JSON escape (checked when
    /// their config was loaded).
    pub names_plain: bool,
    /// A made-up request id, which the writer spells ([`hex_id`]; no text to check, no
    /// escape); `request_id` is then empty.
    pub made_up_id: Option<u64>,
}

impl Entry {
    /// The line's view of this entry.
    pub fn line(&self) -> Line<'_> {
        Line {
            time: self.time,
            client: self.client,
            forwarded_for: self.forwarded_for.as_deref(),
            listener: &self.listener,
            method: &self.method,
            target: &self.target,
            version: self.version,
            host: self.host.as_deref(),
            status: self.status,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            user_agent: self.user_agent.as_deref(),
            referer: self.referer.as_deref(),
            request_id: &self.request_id,
            route: &self.route,
            cluster: &self.cluster,
            member: &self.member,
            retries: self.retries,
            queue: self.queue,
            connect: self.connect,
            first_byte: self.first_byte,
            total: self.total,
            termination: self.termination,
            names_plain: false,
            made_up_id: None,
        }
    }
}

/// The wall clock read once for a batch of lines, with the monotonic instant read with it:
/// a record's arrival is that wall time minus the monotonic time since.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    wall: SystemTime,
    mono: Instant,
}

impl WallClock {
    /// Both clocks now.
    pub fn now() -> Self {
        Self {
            wall: SystemTime::now(),
            mono: Instant::now(),
        }
    }

    /// The wall-clock time of `at`.
    pub fn wall(&self, at: Instant) -> SystemTime {
        match self.mono.checked_duration_since(at) {
            Some(ago) => self.wall.checked_sub(ago).unwrap_or(SystemTime::UNIX_EPOCH),
            None => self.wall + at.duration_since(self.mono),
        }
    }
}

impl Record {
    /// The line's view of this record; `clock` dates its arrival.
    pub fn line(&self, clock: &WallClock) -> Line<'_> {
        let h = &self.head;
        let (route, mut cluster) = self
            .route
            .as_deref()
            .map_or(("", ""), |r| (r.route.as_str(), r.cluster.as_str()));
        let mut names_plain =
            self.listener.name_plain && self.route.as_ref().is_none_or(|r| r.names_plain);
        let member = match &self.member {
            Some((c, i)) => {
                cluster = &c.name;
                let m = c.members.get(*i);
                names_plain &= c.name_plain && m.is_none_or(|m| m.name_plain);
                m.map_or("", |m| m.name.as_str())
            }
            None => "",
        };
        Line {
            time: Some(clock.wall(self.arrived)),
            client: Some(self.client),
            forwarded_for: h.forwarded_for.as_ref().and_then(Text::as_str),
            listener: &self.listener.name,
            method: h.method.as_str(),
            target: h.target.as_str().unwrap_or(""),
            version: h.version,
            host: h.host.as_ref().and_then(Text::as_str),
            status: self.status,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            user_agent: h.user_agent.as_ref().and_then(Text::as_str),
            referer: h.referer.as_ref().and_then(Text::as_str),
            request_id: match &self.request_id {
                Id::Text(t) => t.as_str().unwrap_or(""),
                Id::Random(_) => "",
            },
            route,
            cluster,
            member,
            retries: self.retries,
            queue: self.queue,
            connect: self.connect,
            first_byte: self.first_byte,
            total: self.total,
            termination: self.termination,
            names_plain,
            made_up_id: match self.request_id {
                Id::Random(v) => Some(v),
                Id::Text(_) => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_at_a_character_boundary_and_non_utf8_is_absent() {
        let long = format!("{}é", "a".repeat(MAX_TEXT - 1));
        let t = Text::Header(
            HeaderValue::from_str(&long)
                .unwrap_or_else(|_| HeaderValue::from_bytes(long.as_bytes()).unwrap()),
        );
        assert_eq!(t.as_str().unwrap().len(), MAX_TEXT - 1);
        let bad = Text::Header(HeaderValue::from_bytes(b"a\xffb").unwrap());
        assert_eq!(bad.as_str(), None);
        let utf8 = Text::Header(HeaderValue::from_bytes("ünï".as_bytes()).unwrap());
        assert_eq!(utf8.as_str(), Some("ünï"));
    }

    #[test]
    fn every_header_value_reads_as_its_utf8_text_or_none() {
        // Tabs, visible ASCII, obs-text and UTF-8, at lengths around the cut.
        let mut rng = fastrand::Rng::with_seed(13);
        let bytes = [b'\t', b' ', b'a', b'"', b'~', 0x80, 0xc3, 0xa9, 0xff];
        for _ in 0..20_000 {
            let len = if rng.bool() {
                rng.usize(0..20)
            } else {
                rng.usize(MAX_TEXT - 4..MAX_TEXT + 4)
            };
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.u8(..) < 230 {
                        b'x'
                    } else {
                        bytes[rng.usize(..bytes.len())]
                    }
                })
                .collect();
            let Ok(v) = HeaderValue::from_bytes(&b) else {
                continue;
            };
            let cut = &b[..b.len().min(MAX_TEXT)];
            let want = match std::str::from_utf8(cut) {
                Ok(s) => Some(s),
                Err(e) if e.error_len().is_none() => {
                    std::str::from_utf8(&cut[..e.valid_up_to()]).ok()
                }
                Err(_) => None,
            };
            assert_eq!(Text::Header(v.clone()).as_str(), want, "{b:?}");
        }
    }

    #[test]
    fn an_arrival_is_dated_by_the_wall_clock_read_with_its_batch() {
        let clock = WallClock::now();
        let ago = Duration::from_millis(1500);
        let earlier = clock.mono.checked_sub(ago).unwrap();
        assert_eq!(clock.wall(earlier), clock.wall - ago);
        assert_eq!(clock.wall(clock.mono + ago), clock.wall + ago);
        assert_eq!(clock.wall(clock.mono), clock.wall);
    }

    #[test]
    fn a_made_up_id_is_sixteen_hex_digits() {
        let mut s = [0; 16];
        assert_eq!(
            Id::Random(0x0123_4567_89ab_cdef).as_str(&mut s),
            "0123456789abcdef"
        );
        assert_eq!(Id::Random(1).as_str(&mut s), "0000000000000001");
    }
}
