//! The rewriting and traffic-shaping part of the schema: header rules (per route and per
//! cluster), redirects, richer route conditions (regex, query, methods), weighted splits
//! between clusters and request mirroring to a shadow cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::super::units::Size;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Header rules for both directions. A cluster's rules run first, then the route's.
pub struct HeaderRules {
    /// Applied to the request sent to the member.
    #[serde(default)]
    pub request: HeaderOps,
    /// Applied to the answer sent to the client.
    #[serde(default)]
    pub response: HeaderOps,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Header operations of one direction, applied in the order remove, set, add. Values may
/// hold `%{client_addr}`, `%{client_port}`, `%{request_id}`, `%{host}`, `%{scheme}`,
/// `%{path}`, `%{method}`; `%%` is a literal `%`.
pub struct HeaderOps {
    /// Header names removed.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Headers replaced (any value of that name removed first).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Headers appended (values already present are kept).
    #[serde(default)]
    pub add: BTreeMap<String, String>,
}

impl HeaderOps {
    /// No operation configured.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.set.is_empty() && self.add.is_empty()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// A redirect answered by the proxy itself; unset parts keep the request's own.
pub struct Redirect {
    /// `http` or `https`.
    #[serde(default)]
    pub scheme: Option<String>,
    /// Host (and optional `:port`) of the new location.
    #[serde(default)]
    pub host: Option<String>,
    /// Replace the whole path.
    #[serde(default)]
    pub path: Option<String>,
    /// Replace the route's `match.path_prefix` part of the path by this.
    #[serde(default)]
    pub prefix: Option<String>,
    /// 301, 302, 303, 307 or 308.
    #[serde(default = "default_redirect_status")]
    pub status: u16,
    /// Drop the request's query string from the new location.
    #[serde(default)]
    pub drop_query: bool,
}

fn default_redirect_status() -> u16 {
    301
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// One target of a weighted split.
pub struct SplitTarget {
    /// Cluster that gets this share.
    pub cluster: String,
    /// Share relative to the other targets (1..=10000).
    pub weight: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// A copy of each request sent to a shadow cluster; its answer is read and dropped.
pub struct Mirror {
    /// The shadow cluster.
    pub cluster: String,
    /// Mirrored requests in flight at most; beyond, a request is not mirrored (counted).
    #[serde(default = "default_mirror_in_flight")]
    pub max_in_flight: usize,
    /// Request bodies larger than this are not mirrored (counted); the request still is
    /// forwarded to its member as usual.
    #[serde(default = "default_mirror_body")]
    pub max_body: Size,
    /// Share of requests mirrored, in percent (1..=100).
    #[serde(default = "default_mirror_percent")]
    pub percent: u32,
}

fn default_mirror_in_flight() -> usize {
    64
}
fn default_mirror_body() -> Size {
    Size(64 * 1024)
}
fn default_mirror_percent() -> u32 {
    100
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// A query-string condition.
pub struct QueryMatch {
    /// Parameter name (exact, case-sensitive).
    pub name: String,
    /// Exact (percent-decoded) value; absent means the parameter only has to be present.
    #[serde(default)]
    pub value: Option<String>,
    /// Regex the (percent-decoded) value must match (unanchored: use `^…$`).
    #[serde(default)]
    pub value_regex: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
/// The `SameSite` attribute of the sticky cookie.
pub enum SameSite {
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=None` (browsers require `secure: true` with it).
    None,
    /// No attribute (the browser's default).
    #[default]
    Unset,
}
