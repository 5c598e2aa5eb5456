//! Validation of the rewriting keys: header rules (per cluster and route), route actions
//! (exactly one of `cluster`, `split`, `redirect`), mirror, prefix rewrite, regex and query
//! conditions, and the sticky cookie's attributes. Each error names the key and its line.

use std::collections::HashSet;

use super::Problem;
use crate::config::model::{Cluster, HeaderRules, Route, SameSite};
use crate::rewrite::{CompiledRules, REDIRECT_STATUSES};

impl Problem {
    /// A problem located at the first line that contains `needle`.
    fn containing(message: String, needle: &str) -> Self {
        Self {
            message,
            locate: Some(("", needle.to_string())),
            after: None,
        }
    }
}

fn header_rules(rules: &HeaderRules, owner: &str) -> Result<(), Problem> {
    CompiledRules::compile(rules)
        .map(|_| ())
        .map_err(|e| Problem::containing(format!("{owner}: headers: {e}"), &e.needle()))
}

fn regex(key: &'static str, re: &str, owner: &str) -> Result<(), Problem> {
    regex::Regex::new(re).map(|_| ()).map_err(|e| {
        let first = e
            .to_string()
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .to_string();
        Problem::new(
            format!("{owner}: {key}: invalid regex `{re}`: {first}"),
            key,
            re,
        )
    })
}

/// A cluster's header rules and sticky cookie attributes.
pub(super) fn cluster(cl: &Cluster) -> Result<(), Problem> {
    let owner = format!("cluster `{}`", cl.name);
    header_rules(&cl.headers, &owner)?;
    if let Some(s) = &cl.sticky {
        if s.same_site == SameSite::None && !s.secure {
            return Err(Problem::new(
                format!(
                    "{owner}: sticky.same_site none needs secure: true (browsers drop it otherwise)"
                ),
                "same_site",
                "none",
            ));
        }
    }
    Ok(())
}

/// A route's action, rewriting, mirror and extra conditions.
pub(super) fn route(i: usize, r: &Route, clusters: &HashSet<&str>) -> Result<(), Problem> {
    let owner = format!(
        "route {}",
        r.name.clone().unwrap_or_else(|| format!("#{i}"))
    );
    action(r, &owner, clusters)?;
    header_rules(&r.headers, &owner)?;
    if let Some(p) = &r.rewrite_prefix {
        if r.matches.path_prefix.is_none() {
            return Err(Problem::new(
                format!("{owner}: rewrite_prefix needs match.path_prefix (the part it replaces)"),
                "rewrite_prefix",
                p,
            ));
        }
        if !p.is_empty() && !p.starts_with('/') {
            return Err(Problem::new(
                format!("{owner}: rewrite_prefix `{p}` must start with /"),
                "rewrite_prefix",
                p,
            ));
        }
    }
    if let Some(m) = &r.mirror {
        if !clusters.contains(m.cluster.as_str()) {
            return Err(Problem::new(
                format!("{owner}: mirror: unknown cluster `{}`", m.cluster),
                "cluster",
                &m.cluster,
            ));
        }
        if m.max_in_flight == 0 {
            return Err(Problem::new(
                format!("{owner}: mirror.max_in_flight must be at least 1"),
                "max_in_flight",
                "0",
            ));
        }
        if !(1..=100).contains(&m.percent) {
            return Err(Problem::new(
                format!("{owner}: mirror.percent {} not in 1..=100", m.percent),
                "percent",
                &m.percent.to_string(),
            ));
        }
    }
    conditions(r, &owner)
}

/// Exactly one of `cluster`, `split`, `redirect`; a redirect forwards nothing, so nothing
/// that shapes forwarding goes with it.
fn action(r: &Route, owner: &str, clusters: &HashSet<&str>) -> Result<(), Problem> {
    let given = [
        !r.cluster.is_empty(),
        !r.split.is_empty(),
        r.redirect.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(Problem::new(
            format!("{owner}: give exactly one of cluster, split or redirect"),
            "cluster",
            &r.cluster,
        ));
    }
    for t in &r.split {
        if !clusters.contains(t.cluster.as_str()) {
            return Err(Problem::new(
                format!("{owner}: split: unknown cluster `{}`", t.cluster),
                "cluster",
                &t.cluster,
            ));
        }
        if !(1..=10_000).contains(&t.weight) {
            return Err(Problem::new(
                format!("{owner}: split weight {} not in 1..=10000", t.weight),
                "weight",
                &t.weight.to_string(),
            ));
        }
    }
    let Some(d) = &r.redirect else {
        return Ok(());
    };
    if r.mirror.is_some() || r.rewrite_prefix.is_some() || !r.headers.request.is_empty() {
        return Err(Problem::new(
            format!(
                "{owner}: a redirect route forwards nothing: drop mirror, rewrite_prefix and headers.request"
            ),
            "redirect",
            "",
        ));
    }
    if !REDIRECT_STATUSES.contains(&d.status) {
        return Err(Problem::new(
            format!(
                "{owner}: redirect status {} (301, 302, 303, 307 or 308)",
                d.status
            ),
            "status",
            &d.status.to_string(),
        ));
    }
    if let Some(s) = &d.scheme {
        if s != "http" && s != "https" {
            return Err(Problem::new(
                format!("{owner}: redirect scheme `{s}` (http or https)"),
                "scheme",
                s,
            ));
        }
    }
    if let Some(h) = &d.host {
        if h.is_empty() || h.contains(['/', ' ', '?', '#', '@']) {
            return Err(Problem::new(
                format!("{owner}: redirect host `{h}` is not a host[:port]"),
                "host",
                h,
            ));
        }
    }
    for (key, p) in [("path", &d.path), ("prefix", &d.prefix)] {
        if let Some(p) = p {
            if !p.starts_with('/') || p.contains([' ', '?', '#']) {
                return Err(Problem::new(
                    format!("{owner}: redirect {key} `{p}` must start with / (no query)"),
                    key,
                    p,
                ));
            }
        }
    }
    if d.path.is_some() && d.prefix.is_some() {
        return Err(Problem::new(
            format!("{owner}: redirect has both path and prefix"),
            "prefix",
            "",
        ));
    }
    if d.prefix.is_some() && r.matches.path_prefix.is_none() {
        return Err(Problem::new(
            format!("{owner}: redirect prefix needs match.path_prefix (the part it replaces)"),
            "prefix",
            "",
        ));
    }
    Ok(())
}

/// Regex, method list and query conditions.
fn conditions(r: &Route, owner: &str) -> Result<(), Problem> {
    let m = &r.matches;
    if let Some(re) = &m.path_regex {
        regex("path_regex", re, owner)?;
    }
    if let Some(h) = &m.header {
        if let Some(re) = &h.value_regex {
            if h.value.is_some() {
                return Err(Problem::new(
                    format!("{owner}: header has both value and value_regex"),
                    "value_regex",
                    re,
                ));
            }
            regex("value_regex", re, owner)?;
        }
    }
    if let Some(q) = &m.query {
        if q.name.is_empty() {
            return Err(Problem::new(
                format!("{owner}: query name must not be empty"),
                "query",
                "",
            ));
        }
        if let Some(re) = &q.value_regex {
            if q.value.is_some() {
                return Err(Problem::new(
                    format!("{owner}: query has both value and value_regex"),
                    "value_regex",
                    re,
                ));
            }
            regex("value_regex", re, owner)?;
        }
    }
    if m.method.is_some() && !m.methods.is_empty() {
        return Err(Problem::new(
            format!("{owner}: match has both method and methods"),
            "methods",
            "",
        ));
    }
    for meth in &m.methods {
        if http::Method::from_bytes(meth.as_bytes()).is_err() {
            return Err(Problem::new(
                format!("{owner}: invalid method `{meth}` in methods"),
                "methods",
                "",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    const BASE: &str = "\
listeners: [{ address: 127.0.0.1:1 }]
clusters:
  - name: app
    members: [{ address: 127.0.0.1:2 }]
routes:
  - match: { path_prefix: /a/ }
    cluster: app
";

    fn err(extra_route: &str) -> String {
        parse(&format!("{BASE}{extra_route}"), "t.yaml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_variable_names_its_line() {
        let e =
            err("    headers:\n      request:\n        set:\n          x-who: \"%{client_ip}\"\n");
        assert!(e.starts_with("t.yaml:11: route #0: headers:"), "{e}");
        assert!(e.contains("unknown variable `%{client_ip}`"), "{e}");
    }

    #[test]
    fn framing_header_rule_is_refused_with_its_line() {
        let e = err("    headers:\n      response:\n        remove: [Content-Length]\n");
        assert!(e.starts_with("t.yaml:10:"), "{e}");
        assert!(e.contains("managed by the proxy"), "{e}");
        let text = BASE.replace(
            "    members: [{ address: 127.0.0.1:2 }]",
            "    members: [{ address: 127.0.0.1:2 }]\n    headers: { request: { set: { Host: x } } }",
        );
        let e = parse(&text, "t.yaml").unwrap_err().to_string();
        assert!(
            e.starts_with("t.yaml:5: cluster `app`") && e.contains("rewrite_host"),
            "{e}"
        );
    }

    #[test]
    fn bad_regex_names_its_line() {
        let e = err("  - match: { path_regex: \"^/(x\" }\n    cluster: app\n");
        assert!(
            e.starts_with("t.yaml:8: route #1: path_regex: invalid regex"),
            "{e}"
        );
    }

    #[test]
    fn route_actions_are_exclusive_and_checked() {
        let e = err("  - match: { path: /r }\n    cluster: app\n    redirect: { scheme: https }\n");
        assert!(
            e.contains("exactly one of cluster, split or redirect"),
            "{e}"
        );
        let e = err("  - match: { path: /r }\n    redirect: { status: 200 }\n");
        assert!(
            e.starts_with("t.yaml:9:") && e.contains("redirect status 200"),
            "{e}"
        );
        let e = err("  - split: [{ cluster: app, weight: 5 }, { cluster: nope, weight: 1 }]\n");
        assert!(e.contains("split: unknown cluster `nope`"), "{e}");
        let e = err("  - { cluster: app, mirror: { cluster: app, percent: 0 } }\n");
        assert!(e.contains("mirror.percent 0"), "{e}");
        let e = err("  - { cluster: app, rewrite_prefix: /v2/ }\n");
        assert!(e.contains("rewrite_prefix needs match.path_prefix"), "{e}");
    }

    #[test]
    fn same_site_none_needs_secure() {
        let text = BASE.replace(
            "    members: [{ address: 127.0.0.1:2 }]",
            "    members: [{ address: 127.0.0.1:2 }]\n    sticky:\n      same_site: none",
        );
        let e = parse(&text, "t.yaml").unwrap_err().to_string();
        assert!(
            e.starts_with("t.yaml:6:") && e.contains("needs secure"),
            "{e}"
        );
    }

    #[test]
    fn the_full_syntax_loads() {
        let text = format!(
            "{BASE}    rewrite_prefix: /v2/\n    headers:\n      request: {{ add: {{ x-client: \"%{{client_addr}}\" }}, remove: [x-secret] }}\n      response: {{ set: {{ x-served-by: elb }} }}\n    mirror: {{ cluster: app, max_in_flight: 8, max_body: 1k }}\n  - match: {{ query: {{ name: q }}, methods: [GET], header: {{ name: x, value_regex: \"^a\" }} }}\n    split: [{{ cluster: app, weight: 1 }}]\n  - redirect: {{ scheme: https }}\n"
        );
        parse(&text, "t.yaml").unwrap();
    }
}
