//! Per-cluster traffic policy: which failures are retried and how many retries the cluster
//! may spend (retry budget), the queue in front of members at their connection limit, and
//! slow start for a member that comes back.

use serde::{Deserialize, Serialize};

use super::super::units::Dur;

/// A failure `retry_on` may retry on another member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawRetryOn")]
pub enum RetryOn {
    /// The connection to the member failed or timed out: nothing was sent (always safe).
    ConnectFailure,
    /// The member closed or reset the connection before its answer's head.
    ResetBeforeResponse,
    /// The member answered 502.
    Status502,
    /// The member answered 503.
    Status503,
    /// The member answered 504.
    Status504,
    /// The member's answer head did not arrive within `timeouts.upstream_response`.
    Timeout,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRetryOn {
    Code(u16),
    Word(String),
}

impl TryFrom<RawRetryOn> for RetryOn {
    type Error = String;
    fn try_from(raw: RawRetryOn) -> Result<Self, String> {
        const EXPECTED: &str =
            "expected connect_failure, reset_before_response, timeout, 502, 503 or 504";
        Ok(match raw {
            RawRetryOn::Code(502) => Self::Status502,
            RawRetryOn::Code(503) => Self::Status503,
            RawRetryOn::Code(504) => Self::Status504,
            RawRetryOn::Code(n) => return Err(format!("retry_on `{n}`: {EXPECTED}")),
            RawRetryOn::Word(w) => match w.as_str() {
                "connect_failure" => Self::ConnectFailure,
                "reset_before_response" => Self::ResetBeforeResponse,
                "timeout" => Self::Timeout,
                "502" => Self::Status502,
                "503" => Self::Status503,
                "504" => Self::Status504,
                _ => return Err(format!("retry_on `{w}`: {EXPECTED}")),
            },
        })
    }
}

/// The default `retry_on`: only failures where nothing was sent.
pub fn default_retry_on() -> Vec<RetryOn> {
    vec![RetryOn::ConnectFailure]
}

/// A percentage written `20%` or `20` (0..=100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Percent(pub u32);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u32),
            Text(String),
        }
        let n = match Raw::deserialize(d)? {
            Raw::Num(n) => n,
            Raw::Text(t) => t
                .trim()
                .trim_end_matches('%')
                .trim()
                .parse()
                .map_err(|_| D::Error::custom(format!("invalid percentage `{t}`")))?,
        };
        if n > 100 {
            return Err(D::Error::custom(format!("percentage {n} above 100")));
        }
        Ok(Self(n))
    }
}

/// The retry budget: retries within a sliding window may be at most `percent` of the
/// requests in it (at least `min_retries`), so retries cannot multiply an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetryBudget {
    /// Retries as a share of requests.
    pub percent: Percent,
    /// The window the shares are counted over.
    #[serde(default = "default_budget_window")]
    pub window: Dur,
    /// Retries always allowed per window, however few the requests.
    #[serde(default = "default_min_retries")]
    pub min_retries: u32,
}

fn default_budget_window() -> Dur {
    Dur(std::time::Duration::from_secs(10))
}
fn default_min_retries() -> u32 {
    3
}

/// `retry_budget: 20%` or `retry_budget: { percent: 20%, window: 10s, min_retries: 3 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RetryBudgetSpec {
    /// Only the share; window and minimum by default.
    Share(Percent),
    /// Every field.
    Full(RetryBudget),
}

impl RetryBudgetSpec {
    /// The budget with defaults filled in.
    pub fn budget(self) -> RetryBudget {
        match self {
            Self::Share(percent) => RetryBudget {
                percent,
                window: default_budget_window(),
                min_retries: default_min_retries(),
            },
            Self::Full(b) => b,
        }
    }
}

/// `queue_timeout` when not set.
pub const DEFAULT_QUEUE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
