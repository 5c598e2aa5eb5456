//! Routing: request head -> route (and so cluster). Pure and allocation-free per request:
//! the table is compiled once per config, and matching only compares borrowed strings.
//! Rules are tried in order; the first whose every condition holds wins; then the default.

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::config::{Config, Route};

/// What routing looks at, borrowed from the request.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// Host without port, as sent (Host header, or the h2 `:authority`).
    pub host: Option<&'a str>,
    /// Path without the query string.
    pub path: &'a str,
    /// Request method.
    pub method: &'a Method,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// The query string without `?` (for `match.query`).
    pub query: Option<&'a str>,
}

#[derive(Debug, Clone)]
enum HostMatch {
    Exact(String),
    /// `*.example.com` stored as `.example.com`.
    Suffix(String),
}

#[derive(Debug, Clone)]
enum PathMatch {
    Prefix(String),
    Exact(String),
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct CompiledRoute {
    /// Name used in logs (`route#N` when unnamed).
    pub name: String,
    /// Position in the table (the default last): state kept per route beside the table is
    /// found by it, without comparing names per request.
    pub index: usize,
    /// Index into the runtime's cluster list.
    pub cluster: usize,
    host: Option<HostMatch>,
    path: Option<PathMatch>,
    method: Option<Method>,
    header: Option<(HeaderName, Option<HeaderValue>)>,
    /// Host header sent upstream instead of the client's.
    pub rewrite_host: Option<HeaderValue>,
    /// Request body limit in bytes; 0 = unlimited.
    pub max_body: u64,
    /// Whole-exchange deadline (`timeouts.request_total` or the route's `timeout`).
    pub total_timeout: Option<std::time::Duration>,
    /// This route's scope in the per-client limits table.
    pub scope: crate::limits::Scope,
    /// Request rate per client on this route.
    pub client_rate: Option<crate::limits::RateSpec>,
    /// Regex, query and method-list conditions (absent on most routes: no cost then).
    extra: Option<Box<crate::route_extra::ExtraMatch>>,
    /// Header rules, prefix rewrite, redirect, split and mirror of this route, when any.
    pub rules: Option<std::sync::Arc<crate::route_extra::RouteRules>>,
}

/// The compiled routing table.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<CompiledRoute>,
    default: Option<CompiledRoute>,
    /// Each cluster's header rules (by cluster index), `None` when it has none.
    cluster_rules: Vec<Option<std::sync::Arc<crate::rewrite::CompiledRules>>>,
}

/// Strips a `:port` suffix (keeps IPv6 literals in brackets intact).
pub fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(i) => &host[..=i],
            None => host,
        };
    }
    match host.rfind(':') {
        Some(i) if host[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..i],
        _ => host,
    }
}

impl Router {
    /// Compiles the table; `cluster_index` maps cluster names (validated to exist) to indexes.
    pub fn compile(config: &Config, cluster_index: impl Fn(&str) -> Option<usize>) -> Self {
        let default_body = config.limits.max_body.0;
        let default_total = Some(config.timeouts.request_total.0).filter(|d| !d.is_zero());
        let compile = |i: usize, r: &Route| -> Option<CompiledRoute> {
            let m = &r.matches;
            let (cluster, rules) = crate::route_extra::compile_rules(r, &cluster_index)?;
            Some(CompiledRoute {
                extra: crate::route_extra::ExtraMatch::compile(m),
                rules,
                name: r.name.clone().unwrap_or_else(|| format!("route#{i}")),
                index: 0,
                cluster,
                host: m.host.as_ref().map(|h| match h.strip_prefix('*') {
                    Some(suffix) => HostMatch::Suffix(suffix.to_ascii_lowercase()),
                    None => HostMatch::Exact(h.to_ascii_lowercase()),
                }),
                path: match (&m.path, &m.path_prefix) {
                    (Some(p), _) => Some(PathMatch::Exact(p.clone())),
                    (None, Some(p)) => Some(PathMatch::Prefix(p.clone())),
                    (None, None) => None,
                },
                method: m
                    .method
                    .as_ref()
                    .and_then(|s| Method::from_bytes(s.as_bytes()).ok()),
                header: m.header.as_ref().and_then(|h| {
                    let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
                    let value = match &h.value {
                        Some(v) => Some(HeaderValue::from_str(v).ok()?),
                        None => None,
                    };
                    Some((name, value))
                }),
                rewrite_host: r
                    .rewrite_host
                    .as_ref()
                    .and_then(|h| HeaderValue::from_str(h).ok()),
                max_body: r.max_body.map_or(default_body, |s| s.0),
                total_timeout: match r.timeout {
                    Some(t) => Some(t.0).filter(|d| !d.is_zero()),
                    None => default_total,
                },
                scope: crate::limits::Scope::Route(i as u32),
                client_rate: crate::limits::rate_of(&r.per_client),
            })
        };
        let mut routes: Vec<CompiledRoute> = config
            .routes
            .iter()
            .enumerate()
            .filter_map(|(i, r)| compile(i, r))
            .collect();
        for (i, r) in routes.iter_mut().enumerate() {
            r.index = i;
        }
        let default = config.default_cluster.as_ref().and_then(|name| {
            Some(CompiledRoute {
                name: "default".into(),
                index: routes.len(),
                cluster: cluster_index(name)?,
                host: None,
                path: None,
                method: None,
                header: None,
                rewrite_host: None,
                max_body: default_body,
                total_timeout: default_total,
                scope: crate::limits::Scope::Route(u32::MAX),
                client_rate: None,
                extra: None,
                rules: None,
            })
        });
        let cluster_rules = crate::route_extra::cluster_rules(config);
        Self {
            routes,
            default,
            cluster_rules,
        }
    }

    /// Each split of this table whose route (by name) has a split of the same targets and
    /// weights in `old` goes on from that split's position instead of starting a new run.
    /// Returns the names of the routes whose split goes on.
    pub fn keep_split_positions(&mut self, old: &Router) -> Vec<String> {
        let mut kept = Vec::new();
        for r in self.routes.iter_mut().chain(self.default.as_mut()) {
            let Some(rules) = r.rules.as_mut() else {
                continue;
            };
            if rules.split.is_none() {
                continue;
            }
            let Some(old_split) = old
                .routes
                .iter()
                .chain(old.default.as_ref())
                .find(|o| o.name == r.name)
                .and_then(|o| o.rules.as_ref()?.split.as_ref())
            else {
                continue;
            };
            let split = std::sync::Arc::make_mut(rules).split.as_mut();
            if split.is_some_and(|s| s.continue_from(old_split)) {
                kept.push(r.name.clone());
            }
        }
        kept
    }

    /// The first matching route, else the default, else `None` (404).
    pub fn route(&self, head: &RequestHead<'_>) -> Option<&CompiledRoute> {
        self.routes
            .iter()
            .find(|r| r.matches(head))
            .or(self.default.as_ref())
    }

    /// Every route in index order, the default last.
    pub fn all(&self) -> impl Iterator<Item = &CompiledRoute> {
        self.routes.iter().chain(self.default.as_ref())
    }

    /// Header rules of cluster `idx`, when it has any.
    pub fn cluster_rules(
        &self,
        idx: usize,
    ) -> Option<&std::sync::Arc<crate::rewrite::CompiledRules>> {
        self.cluster_rules.get(idx).and_then(|r| r.as_ref())
    }

    /// Whether any route or cluster has rewriting, redirect, split or mirror settings (the
    /// fast path hands such requests to hyper).
    pub fn has_rules(&self) -> bool {
        self.routes.iter().any(|r| r.rules.is_some())
            || self.cluster_rules.iter().any(Option::is_some)
    }

    /// Number of explicit rules (without the default).
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there is no explicit rule (the default may still route).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

impl CompiledRoute {
    fn matches(&self, head: &RequestHead<'_>) -> bool {
        if let Some(hm) = &self.host {
            let Some(host) = head.host else {
                return false;
            };
            let host = host_without_port(host);
            let host = host.strip_suffix('.').unwrap_or(host);
            let ok = match hm {
                HostMatch::Exact(h) => host.eq_ignore_ascii_case(h),
                HostMatch::Suffix(s) => {
                    host.len() > s.len()
                        && host.is_char_boundary(host.len() - s.len())
                        && host[host.len() - s.len()..].eq_ignore_ascii_case(s)
                }
            };
            if !ok {
                return false;
            }
        }
        if let Some(pm) = &self.path {
            let ok = match pm {
                PathMatch::Exact(p) => head.path == p,
                PathMatch::Prefix(p) => head.path.starts_with(p.as_str()),
            };
            if !ok {
                return false;
            }
        }
        if let Some(m) = &self.method {
            if head.method != m {
                return false;
            }
        }
        if let Some((name, value)) = &self.header {
            let mut values = head.headers.get_all(name).iter();
            let ok = match value {
                None => values.next().is_some(),
                Some(v) => values.any(|x| x == v),
            };
            if !ok {
                return false;
            }
        }
        match &self.extra {
            Some(e) => e.matches(head),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn router() -> (Router, Config) {
        let text = "\
listeners: [{ address: 127.0.0.1:1 }]
clusters:
  - { name: api, members: [{ address: 127.0.0.1:2 }] }
  - { name: web, members: [{ address: 127.0.0.1:3 }] }
  - { name: canary, members: [{ address: 127.0.0.1:4 }] }
  - { name: admin, members: [{ address: 127.0.0.1:5 }] }
routes:
  - match: { host: api.example.com, header: { name: x-canary, value: \"1\" } }
    cluster: canary
  - match: { host: api.example.com }
    cluster: api
  - match: { host: \"*.example.com\", path_prefix: /admin/, method: POST }
    cluster: admin
  - match: { host: \"*.example.com\" }
    cluster: web
  - match: { path: /exact }
    cluster: admin
default_cluster: web
";
        let c = parse(text, "t").unwrap().into_inner();
        let names: Vec<String> = c.clusters.iter().map(|c| c.name.clone()).collect();
        (
            Router::compile(&c, |n| names.iter().position(|x| x == n)),
            c,
        )
    }

    fn pick(
        r: &Router,
        host: Option<&str>,
        path: &str,
        method: Method,
        headers: &[(&str, &str)],
    ) -> Option<usize> {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        r.route(&RequestHead {
            host,
            path,
            method: &method,
            headers: &h,
            query: None,
        })
        .map(|r| r.cluster)
    }

    #[test]
    fn host_exact_is_case_and_port_insensitive() {
        let (r, _) = router();
        assert_eq!(
            pick(&r, Some("API.Example.com:8280"), "/", Method::GET, &[]),
            Some(0)
        );
        assert_eq!(
            pick(&r, Some("api.example.com."), "/", Method::GET, &[]),
            Some(0)
        );
    }

    #[test]
    fn header_rule_listed_first_wins() {
        let (r, _) = router();
        assert_eq!(
            pick(
                &r,
                Some("api.example.com"),
                "/",
                Method::GET,
                &[("X-Canary", "1")]
            ),
            Some(2)
        );
        assert_eq!(
            pick(
                &r,
                Some("api.example.com"),
                "/",
                Method::GET,
                &[("X-Canary", "0")]
            ),
            Some(0)
        );
    }

    #[test]
    fn wildcard_needs_a_label_and_method_and_prefix_all_hold() {
        let (r, _) = router();
        assert_eq!(
            pick(&r, Some("a.b.example.com"), "/admin/x", Method::POST, &[]),
            Some(3)
        );
        assert_eq!(
            pick(&r, Some("a.example.com"), "/admin/x", Method::GET, &[]),
            Some(1)
        );
        assert_eq!(
            pick(&r, Some("a.example.com"), "/adminx", Method::POST, &[]),
            Some(1)
        );
        // `example.com` itself is not under `*.example.com`: falls to the exact-path rule / default.
        assert_eq!(
            pick(&r, Some("example.com"), "/exact", Method::GET, &[]),
            Some(3)
        );
        assert_eq!(
            pick(&r, Some("example.com"), "/exact/no", Method::GET, &[]),
            Some(1)
        );
        assert_eq!(pick(&r, None, "/", Method::GET, &[]), Some(1));
    }

    #[test]
    fn no_default_means_none() {
        let (_, mut c) = router();
        c.default_cluster = None;
        let names: Vec<String> = c.clusters.iter().map(|c| c.name.clone()).collect();
        let r = Router::compile(&c, |n| names.iter().position(|x| x == n));
        assert_eq!(pick(&r, Some("other.org"), "/", Method::GET, &[]), None);
    }

    #[test]
    fn host_port_stripping() {
        assert_eq!(host_without_port("a.b:80"), "a.b");
        assert_eq!(host_without_port("[::1]:80"), "[::1]");
        assert_eq!(host_without_port("[::1]"), "[::1]");
        assert_eq!(host_without_port("a.b"), "a.b");
        assert_eq!(host_without_port("a.b:x"), "a.b:x");
    }
}
