//! The cluster part of the schema: members, balancing, health checks and passive ejection.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::super::units::Dur;
use super::ProxyProtocolVersion;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
/// How a cluster chooses a member.
pub enum BalanceMode {
    /// Smooth weighted round-robin (nginx's algorithm): even spread in weight ratio.
    #[default]
    RoundRobin,
    /// Fewest in-flight requests relative to weight, ties broken round-robin.
    LeastConnections,
    /// Two random members (weighted), the less loaded wins.
    PowerOfTwo,
    /// Consistent hashing of `hash_on` over a weighted Maglev table.
    Hash,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// A group of equivalent members.
pub struct Cluster {
    /// Name used by routes, the admin socket and metrics.
    pub name: String,
    /// Send a PROXY protocol header (`v1` or `v2`) naming the client on each member
    /// connection; such connections carry one client each and are not pooled.
    #[serde(default)]
    pub send_proxy_protocol: Option<ProxyProtocolVersion>,
    #[serde(default)]
    /// Member choice policy.
    pub balance: BalanceMode,
    /// What `balance: hash` hashes (default `source`); only with `balance: hash`.
    #[serde(default)]
    pub hash_on: Option<super::HashOn>,
    /// Bounded load for `balance: hash`, in percent of the average in-flight load a member
    /// may carry before its keys spill to the next choice; 0 (default) is off, else >= 100.
    #[serde(default)]
    pub hash_balance_factor: u32,
    /// Sticky sessions by cookie: a member named in the cookie is used while it is up.
    #[serde(default)]
    pub sticky: Option<Sticky>,
    /// The members, in order.
    pub members: Vec<Member>,
    #[serde(default)]
    /// Active health checks; absent means members are up unless passively ejected.
    pub health_check: Option<HealthCheck>,
    #[serde(default)]
    /// Passive health: ejection after consecutive failures.
    pub passive: Passive,
    /// Further members tried when nothing was sent upstream (connect failure, dead pooled
    /// connection); never after request bytes were written.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Failures retried on another member (see `docs/elb-proxy.md`); after (part of) a
    /// request was sent, only idempotent requests without a body are retried.
    #[serde(default = "super::default_retry_on")]
    pub retry_on: Vec<super::RetryOn>,
    /// Retries as a share of requests over a window; absent means no budget.
    #[serde(default)]
    pub retry_budget: Option<super::RetryBudgetSpec>,
    /// Requests waiting for a member below its `max_connections`; 0 answers 503 at once.
    #[serde(default)]
    pub queue_size: usize,
    /// Longest wait in the queue before a 503 (default 5s); only with `queue_size`.
    #[serde(default)]
    pub queue_timeout: Option<Dur>,
    /// A member that comes back ramps its weight up over this time; absent is off.
    #[serde(default)]
    pub slow_start: Option<Dur>,
    /// Idle keep-alive connections kept per member.
    #[serde(default = "default_pool_idle")]
    pub pool_max_idle: usize,
    /// Protocol spoken to the members (each member may override it).
    #[serde(default)]
    pub protocol: MemberProtocol,
    /// TLS to the members (and their health checks); absent: plain TCP.
    #[serde(default)]
    pub tls: Option<super::MemberTls>,
    /// Header rules of this cluster (before the route's).
    #[serde(default)]
    pub headers: super::HeaderRules,
}

/// How the proxy talks to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MemberProtocol {
    /// HTTP/1.1 with a keep-alive pool of connections.
    #[default]
    Http1,
    /// HTTP/2 with prior knowledge (h2c): one multiplexed connection per member. Upgrade
    /// (WebSocket) requests still use an HTTP/1.1 connection.
    H2,
}

fn default_retries() -> u32 {
    2
}
fn default_pool_idle() -> usize {
    256
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Sticky sessions by cookie.
pub struct Sticky {
    /// Cookie name set on responses and read from requests.
    #[serde(default = "default_cookie")]
    pub cookie: String,
    /// Add `Secure` to the cookie.
    #[serde(default)]
    pub secure: bool,
    /// The cookie's `SameSite` attribute (`lax`, `strict`, `none`); unset: none sent.
    #[serde(default)]
    pub same_site: super::SameSite,
    /// `Max-Age` of the cookie; unset: a session cookie.
    #[serde(default)]
    pub max_age: Option<Dur>,
    /// Key of the hash that makes the cookie's value from the member's name; with the
    /// default (empty) anyone knowing a member's name can compute its value.
    #[serde(default)]
    pub secret: String,
}

fn default_cookie() -> String {
    "ELBSTICKY".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(from = "WrittenMember")]
/// One backend server.
pub struct Member {
    /// Name used by the admin socket; defaults to the address.
    pub name: Option<String>,
    /// IP address and port, or a DNS name and port whose every A/AAAA answer is a member.
    pub address: super::MemberAddress,
    /// Share of traffic relative to the other members (0..=1000; 0 takes none).
    pub weight: u32,
    /// Whether the file wrote `weight` (an SRV member takes its records' weights, so any
    /// written weight, even the default, is an error there).
    #[serde(skip)]
    pub weight_written: bool,
    /// Overrides the cluster's `protocol` for this member.
    pub protocol: Option<MemberProtocol>,
    /// The name this member is one answer of (set when the proxy expands a name).
    #[serde(skip)]
    pub resolved_from: Option<super::HostPort>,
    /// Overrides the cluster's `tls` for this member (the whole block).
    pub tls: Option<super::MemberTls>,
    /// Most requests in flight to this member (HAProxy's `maxconn`); beyond, requests
    /// wait in the cluster's queue. 0 (default) is no limit.
    pub max_connections: u32,
}

/// A member as the file writes it: `weight` absent is told apart from `weight: 1`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenMember {
    #[serde(default)]
    name: Option<String>,
    address: super::MemberAddress,
    #[serde(default)]
    weight: Option<u32>,
    #[serde(default)]
    protocol: Option<MemberProtocol>,
    #[serde(default)]
    tls: Option<super::MemberTls>,
    #[serde(default)]
    max_connections: u32,
}

impl From<WrittenMember> for Member {
    fn from(w: WrittenMember) -> Self {
        Self {
            name: w.name,
            address: w.address,
            weight: w.weight.unwrap_or(1),
            weight_written: w.weight.is_some(),
            protocol: w.protocol,
            resolved_from: None,
            tls: w.tls,
            max_connections: w.max_connections,
        }
    }
}

impl Member {
    /// The member's name, or its address when it has none.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.address.to_string())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Active HTTP health checks of a cluster's members.
pub struct HealthCheck {
    #[serde(default = "default_hc_path")]
    /// Path requested.
    pub path: String,
    /// Host header sent with the probe; defaults to the member address.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default = "default_hc_interval")]
    /// Time between checks of one member.
    pub interval: Dur,
    #[serde(default = "default_hc_timeout")]
    /// Time a check may take.
    pub timeout: Dur,
    /// Consecutive successes that bring a down member up.
    #[serde(default = "default_rise")]
    pub rise: u32,
    /// Consecutive failures that take an up member down.
    #[serde(default = "default_fall")]
    pub fall: u32,
    /// Accepted status codes, e.g. `[200, 204]` or `["200-399"]`.
    #[serde(default)]
    pub expect_status: Vec<StatusRange>,
    /// Text the body must contain.
    #[serde(default)]
    pub expect_body: Option<String>,
}

fn default_hc_path() -> String {
    "/".into()
}
fn default_hc_interval() -> Dur {
    Dur(Duration::from_secs(2))
}
fn default_hc_timeout() -> Dur {
    Dur(Duration::from_secs(1))
}
fn default_rise() -> u32 {
    2
}
fn default_fall() -> u32 {
    3
}

/// A status code or inclusive range (`200`, `"200-299"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    /// Lowest accepted code.
    pub low: u16,
    /// Highest accepted code (inclusive).
    pub high: u16,
}

impl StatusRange {
    /// Whether `code` is in the range.
    pub fn contains(&self, code: u16) -> bool {
        (self.low..=self.high).contains(&code)
    }
}

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u16),
            Text(String),
        }
        let check = |low: u16, high: u16| {
            if (100..=999).contains(&low) && (low..=999).contains(&high) {
                Ok(StatusRange { low, high })
            } else {
                Err(D::Error::custom(format!(
                    "invalid status range {low}-{high}"
                )))
            }
        };
        match Raw::deserialize(d)? {
            Raw::Num(n) => check(n, n),
            Raw::Text(t) => {
                let (a, b) = t.split_once('-').unwrap_or((&t, &t));
                let low = a
                    .trim()
                    .parse()
                    .map_err(|_| D::Error::custom(format!("invalid status `{t}`")))?;
                let high = b
                    .trim()
                    .parse()
                    .map_err(|_| D::Error::custom(format!("invalid status `{t}`")))?;
                check(low, high)
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Passive health: what ejects a member and for how long.
pub struct Passive {
    /// Consecutive connect errors or 5xx answers that eject a member; 0 turns it off.
    #[serde(default = "default_consecutive")]
    pub consecutive_failures: u32,
    /// First ejection time; doubled on each further ejection in a row, up to `max_ejection`.
    #[serde(default = "default_base_ejection")]
    pub base_ejection: Dur,
    #[serde(default = "default_max_ejection")]
    /// Longest ejection.
    pub max_ejection: Dur,
    /// Whether a 5xx answer counts as a failure (connect errors and broken answers always
    /// do). Off by default, as HAProxy's `observe layer4`: one URL that fails must not take
    /// members out that serve every other URL.
    #[serde(default)]
    pub count_5xx: bool,
    /// Most members out of rotation through ejection at once, in percent (rounded down,
    /// at least one in a cluster of two or more, never all below 100). The default keeps at
    /// least one member of every cluster in rotation.
    #[serde(default = "default_max_ejection_percent")]
    pub max_ejection_percent: u32,
    /// Below this percentage of members in rotation, ejections are ignored (panic mode, as
    /// Envoy's `healthy_panic_threshold`); 0 turns it off.
    #[serde(default = "default_panic_threshold")]
    pub panic_threshold: u32,
}

impl Default for Passive {
    fn default() -> Self {
        Self {
            consecutive_failures: default_consecutive(),
            base_ejection: default_base_ejection(),
            max_ejection: default_max_ejection(),
            count_5xx: false,
            max_ejection_percent: default_max_ejection_percent(),
            panic_threshold: default_panic_threshold(),
        }
    }
}

fn default_consecutive() -> u32 {
    5
}
fn default_base_ejection() -> Dur {
    Dur(Duration::from_secs(10))
}
fn default_max_ejection() -> Dur {
    Dur(Duration::from_secs(300))
}
fn default_max_ejection_percent() -> u32 {
    50
}
fn default_panic_threshold() -> u32 {
    50
}
