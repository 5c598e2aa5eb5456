//! The checks serde cannot express: cross references, duplicates, ranges. The first problem
//! found is reported with the `key: value` it is about, so the loader can point at its line.

use std::collections::HashSet;

mod client_auth;
mod names;

use super::ValidConfig;
mod hashing;
mod rewrite;
mod traffic_policy;
use super::model::{ClientLimits, Cluster, Config, HostPort, Route};

/// A semantic problem plus the text that locates it (key and value as written).
#[derive(Debug)]
pub(super) struct Problem {
    message: String,
    /// `(key, value)` whose first `key: value` line in the file is reported.
    locate: Option<(&'static str, String)>,
    /// `(key, value)` of a line the search for `locate` starts after (the entry it is in).
    after: Option<(&'static str, String)>,
}

impl Problem {
    pub(super) fn new(message: String, key: &'static str, value: &str) -> Self {
        Self {
            message,
            locate: Some((key, value.to_string())),
            after: None,
        }
    }
    fn bare(message: String) -> Self {
        Self {
            message,
            locate: None,
            after: None,
        }
    }
    /// Looks for the reported line only after the first `key: value` line (the start of
    /// the entry the problem is in), so an equal `key: value` of an earlier entry is not
    /// taken for it.
    fn after(mut self, key: &'static str, value: &str) -> Self {
        self.after = Some((key, value.to_string()));
        self
    }

    pub(super) fn into_error(self, text: &str, origin: &str) -> super::ConfigError {
        let skip = self
            .after
            .as_ref()
            .and_then(|(key, value)| find_line(text, key, value))
            .map_or(0, |l| l - 1);
        let rest: String = text.split_inclusive('\n').skip(skip).collect();
        let line = self
            .locate
            .as_ref()
            .and_then(|(key, value)| find_line(&rest, key, value))
            .map(|l| l + skip);
        match line {
            Some(line) => super::ConfigError::At {
                origin: origin.to_string(),
                line,
                message: self.message,
            },
            None => super::ConfigError::File {
                origin: origin.to_string(),
                message: self.message,
            },
        }
    }
}

/// First 1-based line of `text` holding `key: value` (value possibly quoted; an empty
/// `value` matches any), for errors found after validation (files a key names).
pub fn line_of(text: &str, key: &str, value: &str) -> Option<usize> {
    find_line(text, key, value)
}

/// First 1-based line holding `key: value` (value possibly quoted).
fn find_line(text: &str, key: &str, value: &str) -> Option<usize> {
    if key.is_empty() {
        return text.lines().position(|l| l.contains(value)).map(|i| i + 1);
    }
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            let Some(rest) = l.strip_prefix(key) else {
                return false;
            };
            let Some(rest) = rest.trim_start().strip_prefix(':') else {
                return false;
            };
            let v = rest.split(" #").next().unwrap_or("").trim();
            let v = v.trim_matches(|c| c == '"' || c == '\'');
            v == value || (value.is_empty() && !v.is_empty())
        })
        .or_else(|| flow_line(text, key, value))
        .map(|i| i + 1)
}

/// First 0-based line holding `key: value` inside a flow mapping (`{ key: value }`).
fn flow_line(text: &str, key: &str, value: &str) -> Option<usize> {
    let forms = [
        format!("{key}: {value}"),
        format!("{key}: \"{value}\""),
        format!("{key}: '{value}'"),
    ];
    let bare = format!("{key}:");
    text.lines().position(|l| {
        if value.is_empty() {
            l.contains(&bare)
        } else {
            forms.iter().any(|f| l.contains(f.as_str()))
        }
    })
}

/// Checks what the schema cannot express and returns the config as known valid, or the
/// first problem found.
pub(super) fn validate(c: Config) -> Result<ValidConfig, Problem> {
    listeners(&c)?;
    let mut clusters = HashSet::new();
    for cl in &c.clusters {
        cluster(cl, &mut clusters)?;
        rewrite::cluster(cl)?;
    }
    for (i, r) in c.routes.iter().enumerate() {
        rewrite::route(i, r, &clusters)?;
        route(i, r, &clusters)?;
    }
    globals(&c, &clusters)?;
    names::check(&c)?;
    client_auth::check(&c)?;
    super::access_log::check(&c)?;
    Ok(ValidConfig(c))
}

/// Listeners and the health service's own address and path.
fn listeners(c: &Config) -> Result<(), Problem> {
    if c.listeners.is_empty() && c.health.address.is_none() {
        return Err(Problem::bare("at least one listener is required".into()));
    }
    let mut addrs = HashSet::new();
    let mut names = HashSet::new();
    client_limits(&c.limits.per_client)?;
    for l in &c.listeners {
        client_limits(&l.per_client)?;
        if !addrs.insert(l.address) {
            return Err(Problem::new(
                format!("listener address {} used twice", l.address),
                "address",
                &l.address.to_string(),
            ));
        }
        let name = l.name.clone().unwrap_or_else(|| l.address.to_string());
        if !names.insert(name.clone()) {
            return Err(Problem::new(
                format!("listener name `{name}` used twice"),
                "name",
                &name,
            ));
        }
        if l.engine == Some(super::model::Engine::Fast) && (l.tls.is_some() || l.h2c) {
            return Err(Problem::new(
                format!(
                    "listener {}: engine fast serves plain HTTP/1.1 only; TLS and h2c listeners use hyper (drop `engine` or set it to hyper)",
                    l.address
                ),
                "engine",
                "fast",
            ));
        }
        if let Some(tls) = &l.tls {
            if tls.certificates.is_empty() {
                return Err(Problem::new(
                    format!("listener {}: tls needs at least one certificate", l.address),
                    "address",
                    &l.address.to_string(),
                ));
            }
            for p in &tls.alpn {
                if p != "h2" && p != "http/1.1" {
                    return Err(Problem::new(
                        format!("unsupported ALPN protocol `{p}` (h2, http/1.1)"),
                        "alpn",
                        "",
                    ));
                }
            }
        }
    }
    if let Some(a) = c.health.address {
        if addrs.contains(&a) {
            return Err(Problem::new(
                format!("health.address {a} is also a listener"),
                "address",
                &a.to_string(),
            ));
        }
    }
    if !c.health.path.starts_with('/') {
        return Err(Problem::new(
            format!("health.path `{}` must start with /", c.health.path),
            "path",
            &c.health.path,
        ));
    }
    Ok(())
}

/// One member of cluster `cl` (`members`: the names seen so far in it).
fn member(
    cl: &Cluster,
    m: &super::model::Member,
    members: &mut HashSet<String>,
) -> Result<(), Problem> {
    let n = m.display_name();
    if n.is_empty() || n.contains(['/', ' ', ',']) {
        return Err(Problem::new(
            format!("member name `{n}` must not contain '/', ',' or spaces"),
            "name",
            &n,
        ));
    }
    if !members.insert(n.clone()) {
        return Err(Problem::new(
            format!("cluster `{}`: member `{n}` listed twice", cl.name),
            "address",
            &m.address.to_string(),
        ));
    }
    if m.address.name().is_some_and(HostPort::is_srv) && m.weight_written {
        return Err(Problem::new(
            format!(
                "member `{n}`: an SRV name takes each record's weight; `weight` does not apply"
            ),
            "weight",
            &m.weight.to_string(),
        )
        .after("address", &m.address.to_string()));
    }
    if m.weight > 1000 {
        return Err(Problem::new(
            format!("member `{n}`: weight {} above 1000", m.weight),
            "weight",
            &m.weight.to_string(),
        ));
    }
    Ok(())
}

/// One cluster: its name (unique among `clusters`, where it is added), members, checks
/// and policies.
fn cluster<'a>(cl: &'a Cluster, clusters: &mut HashSet<&'a str>) -> Result<(), Problem> {
    if cl.name.is_empty() || cl.name.contains(['/', ' ', ',']) {
        return Err(Problem::new(
            format!(
                "cluster name `{}` must be non-empty without '/', ',' or spaces",
                cl.name
            ),
            "name",
            &cl.name,
        ));
    }
    if !clusters.insert(cl.name.as_str()) {
        return Err(Problem::new(
            format!("cluster `{}` defined twice", cl.name),
            "name",
            &cl.name,
        ));
    }
    if cl.members.is_empty() {
        return Err(Problem::new(
            format!("cluster `{}` has no members", cl.name),
            "name",
            &cl.name,
        ));
    }
    let mut members = HashSet::new();
    for m in &cl.members {
        member(cl, m, &mut members)?;
    }
    super::validate_tls::cluster_tls(cl)?;
    if cl.members.iter().all(|m| m.weight == 0) {
        return Err(Problem::new(
            format!("cluster `{}`: every member has weight 0", cl.name),
            "name",
            &cl.name,
        ));
    }
    if let Some(hc) = &cl.health_check {
        if hc.rise == 0 || hc.fall == 0 {
            return Err(Problem::new(
                "health_check rise and fall must be at least 1".into(),
                "rise",
                "",
            ));
        }
        if hc.interval.0.is_zero() || hc.timeout.0.is_zero() {
            return Err(Problem::new(
                "health_check interval and timeout must be positive".into(),
                "interval",
                "",
            ));
        }
        if !hc.path.starts_with('/') {
            return Err(Problem::new(
                format!("health_check path `{}` must start with /", hc.path),
                "path",
                &hc.path,
            ));
        }
    }
    for (key, value) in [
        ("max_ejection_percent", cl.passive.max_ejection_percent),
        ("panic_threshold", cl.passive.panic_threshold),
    ] {
        if value > 100 {
            return Err(Problem::new(
                format!("passive.{key} {value} above 100"),
                key,
                &value.to_string(),
            ));
        }
    }
    if cl.passive.base_ejection.0 > cl.passive.max_ejection.0 {
        return Err(Problem::new(
            "passive.base_ejection is above max_ejection".into(),
            "base_ejection",
            "",
        ));
    }
    hashing::hashing(cl)?;
    traffic_policy::traffic_policy(cl)?;
    if let Some(s) = &cl.sticky {
        if s.cookie.is_empty()
            || !s
                .cookie
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Problem::new(
                format!("sticky cookie name `{}` is not a token", s.cookie),
                "cookie",
                &s.cookie,
            ));
        }
    }
    Ok(())
}

/// One route: its cluster exists and its conditions can be compiled.
/// A `per_client` block: rates finite and not negative.
fn client_limits(l: &ClientLimits) -> Result<(), Problem> {
    let r = l.requests_per_second;
    if !r.is_finite() || r < 0.0 {
        return Err(Problem::new(
            format!("per_client.requests_per_second must be a number >= 0, not {r}"),
            "requests_per_second",
            &r.to_string(),
        ));
    }
    if l.burst == Some(0) {
        return Err(Problem::new(
            "per_client.burst must be at least 1".into(),
            "burst",
            "0",
        ));
    }
    Ok(())
}

fn route(i: usize, r: &Route, clusters: &HashSet<&str>) -> Result<(), Problem> {
    client_limits(&r.per_client)?;
    if r.per_client.max_connections > 0 {
        return Err(Problem::new(
            "routes[].per_client.max_connections is not supported: connections are limited per listener or globally (limits.per_client, listeners[].per_client)".into(),
            "max_connections",
            &r.per_client.max_connections.to_string(),
        ));
    }
    if !r.cluster.is_empty() && !clusters.contains(r.cluster.as_str()) {
        return Err(Problem::new(
            format!(
                "route {}: unknown cluster `{}`",
                r.name.clone().unwrap_or_else(|| format!("#{i}")),
                r.cluster
            ),
            "cluster",
            &r.cluster,
        ));
    }
    let m = &r.matches;
    if let Some(h) = &m.host {
        let bare = h.strip_prefix("*.").unwrap_or(h);
        if bare.is_empty() || bare.contains('*') || bare.contains(['/', ' ']) {
            return Err(Problem::new(
                format!("route host `{h}`: use `name` or `*.suffix`"),
                "host",
                h,
            ));
        }
    }
    for (key, p) in [("path_prefix", &m.path_prefix), ("path", &m.path)] {
        if let Some(p) = p {
            if !p.starts_with('/') {
                return Err(Problem::new(
                    format!("route {key} `{p}` must start with /"),
                    key,
                    p,
                ));
            }
        }
    }
    if m.path.is_some() && m.path_prefix.is_some() {
        return Err(Problem::new(
            "route has both path and path_prefix".into(),
            "path",
            "",
        ));
    }
    if let Some(meth) = &m.method {
        if http::Method::from_bytes(meth.as_bytes()).is_err() {
            return Err(Problem::new(
                format!("invalid method `{meth}`"),
                "method",
                meth,
            ));
        }
    }
    if let Some(h) = &m.header {
        if http::HeaderName::from_bytes(h.name.as_bytes()).is_err() {
            return Err(Problem::new(
                format!("invalid header name `{}`", h.name),
                "name",
                &h.name,
            ));
        }
    }
    if let Some(h) = &r.rewrite_host {
        if http::HeaderValue::from_str(h).is_err() || h.is_empty() {
            return Err(Problem::new(
                format!("invalid rewrite_host `{h}`"),
                "rewrite_host",
                h,
            ));
        }
    }
    Ok(())
}

/// Settings of the whole proxy: default cluster, must-be-up list, limits, admin, vrrpd, workers.
fn globals(c: &Config, clusters: &HashSet<&str>) -> Result<(), Problem> {
    if let Some(d) = &c.default_cluster {
        if !clusters.contains(d.as_str()) {
            return Err(Problem::new(
                format!("default_cluster: unknown cluster `{d}`"),
                "default_cluster",
                d,
            ));
        }
    }
    for name in &c.health.must_be_up {
        if !clusters.contains(name.as_str()) {
            return Err(Problem::new(
                format!("health.must_be_up: unknown cluster `{name}`"),
                "must_be_up",
                "",
            ));
        }
    }
    if c.limits.max_connections == 0 {
        return Err(Problem::new(
            "limits.max_connections must be at least 1".into(),
            "max_connections",
            "0",
        ));
    }
    if c.limits.max_header_bytes.0 < 8192 {
        return Err(Problem::new(
            "limits.max_header_bytes must be at least 8192".into(),
            "max_header_bytes",
            "",
        ));
    }
    if c.limits.max_headers == 0 {
        return Err(Problem::new(
            "limits.max_headers must be at least 1".into(),
            "max_headers",
            "0",
        ));
    }
    if let Some(a) = &c.admin {
        if u32::from_str_radix(a.mode.trim_start_matches("0o"), 8).map_or(true, |m| m > 0o777) {
            return Err(Problem::new(
                format!("admin.mode `{}` is not an octal mode", a.mode),
                "mode",
                &a.mode,
            ));
        }
    }
    if let Some(v) = &c.vrrpd {
        if v.track.is_empty() || v.track.contains(char::is_whitespace) {
            return Err(Problem::new(
                format!("vrrpd.track `{}` must be one word", v.track),
                "track",
                &v.track,
            ));
        }
    }
    if c.workers > 1024 {
        return Err(Problem::new(
            "workers above 1024".into(),
            "workers",
            &c.workers.to_string(),
        ));
    }
    Ok(())
}
