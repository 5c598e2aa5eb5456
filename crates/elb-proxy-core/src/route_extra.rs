//! The richer parts of a route, compiled once per config: regex, query and method-list
//! conditions (`ExtraMatch`), and what a matched route does besides choosing a cluster
//! (`RouteRules`: header rules, prefix rewrite, redirect, split, mirror). Most routes have
//! neither, and then carry a `None`.

use std::sync::Arc;

use http::{HeaderName, Method};
use regex::Regex;

use crate::config::{Config, Route, RouteMatch};
use crate::rewrite::{CompiledRedirect, CompiledRules, Split};
use crate::route::RequestHead;

/// Conditions beyond host, path, method and header presence.
#[derive(Debug, Clone)]
pub(crate) struct ExtraMatch {
    path_regex: Option<Regex>,
    header_regex: Option<(HeaderName, Regex)>,
    methods: Vec<Method>,
    query: Option<QueryCond>,
}

#[derive(Debug, Clone)]
struct QueryCond {
    name: String,
    value: Option<String>,
    regex: Option<Regex>,
}

impl ExtraMatch {
    /// The extra conditions of `m`, `None` when it has none (validated: regexes compile).
    pub(crate) fn compile(m: &RouteMatch) -> Option<Box<Self>> {
        let header_regex = m.header.as_ref().and_then(|h| {
            let re = Regex::new(h.value_regex.as_deref()?).ok()?;
            Some((HeaderName::from_bytes(h.name.as_bytes()).ok()?, re))
        });
        let e = Self {
            path_regex: m.path_regex.as_deref().and_then(|r| Regex::new(r).ok()),
            header_regex,
            methods: m
                .methods
                .iter()
                .filter_map(|s| Method::from_bytes(s.as_bytes()).ok())
                .collect(),
            query: m.query.as_ref().map(|q| QueryCond {
                name: q.name.clone(),
                value: q.value.clone(),
                regex: q.value_regex.as_deref().and_then(|r| Regex::new(r).ok()),
            }),
        };
        let none = e.path_regex.is_none()
            && e.header_regex.is_none()
            && e.methods.is_empty()
            && e.query.is_none();
        (!none).then(|| Box::new(e))
    }

    pub(crate) fn matches(&self, head: &RequestHead<'_>) -> bool {
        if let Some(re) = &self.path_regex {
            if !re.is_match(head.path) {
                return false;
            }
        }
        if !self.methods.is_empty() && !self.methods.contains(head.method) {
            return false;
        }
        if let Some((name, re)) = &self.header_regex {
            let any = head
                .headers
                .get_all(name)
                .iter()
                .any(|v| v.to_str().is_ok_and(|v| re.is_match(v)));
            if !any {
                return false;
            }
        }
        if let Some(q) = &self.query {
            let Some(query) = head.query else {
                return false;
            };
            let any = form_urlencoded::parse(query.as_bytes())
                .filter(|(k, _)| k == q.name.as_str())
                .any(|(_, v)| {
                    q.value.as_deref().is_none_or(|want| v == want)
                        && q.regex.as_ref().is_none_or(|re| re.is_match(&v))
                });
            if !any {
                return false;
            }
        }
        true
    }
}

/// A mirror's compiled settings.
#[derive(Debug, Clone, Copy)]
pub struct MirrorSpec {
    /// Index of the shadow cluster.
    pub cluster: usize,
    /// Mirrored requests in flight at most.
    pub max_in_flight: usize,
    /// Largest body mirrored.
    pub max_body: u64,
    /// Share mirrored, in percent.
    pub percent: u32,
}

/// What a route does besides choosing its cluster.
#[derive(Debug, Clone, Default)]
pub struct RouteRules {
    /// The route's header rules (run after its cluster's).
    pub headers: CompiledRules,
    /// `(matched prefix, replacement)` for the forwarded path.
    pub rewrite_prefix: Option<(String, String)>,
    /// Answer with this redirect instead of forwarding.
    pub redirect: Option<CompiledRedirect>,
    /// Choose the cluster by weight (the route's `cluster` is then the first target).
    pub split: Option<Split>,
    /// Copy requests to a shadow cluster.
    pub mirror: Option<MirrorSpec>,
}

impl RouteRules {
    /// The cluster for this request: the split's pick, else the route's own.
    pub fn cluster(&self, route_cluster: usize) -> usize {
        self.split.as_ref().map_or(route_cluster, Split::pick)
    }
}

/// The route's cluster index and its rules (`None` when it has none). A redirect route has
/// no cluster: index 0 is a placeholder never used.
pub(crate) fn compile_rules(
    r: &Route,
    cluster_index: &impl Fn(&str) -> Option<usize>,
) -> Option<(usize, Option<Arc<RouteRules>>)> {
    let split: Option<Split> = if r.split.is_empty() {
        None
    } else {
        let targets: Option<Vec<(usize, u32)>> = r
            .split
            .iter()
            .map(|t| Some((cluster_index(&t.cluster)?, t.weight)))
            .collect();
        let definition = r
            .split
            .iter()
            .map(|t| (t.cluster.clone(), t.weight))
            .collect();
        Some(Split::new(&targets?).with_definition(definition))
    };
    let cluster = match (&r.redirect, &split) {
        (Some(_), _) => 0,
        (None, Some(_)) => cluster_index(&r.split[0].cluster)?,
        (None, None) => cluster_index(&r.cluster)?,
    };
    let mirror = match &r.mirror {
        Some(m) => Some(MirrorSpec {
            cluster: cluster_index(&m.cluster)?,
            max_in_flight: m.max_in_flight,
            max_body: m.max_body.0,
            percent: m.percent,
        }),
        None => None,
    };
    let headers = CompiledRules::compile(&r.headers).ok()?;
    let rules = RouteRules {
        rewrite_prefix: r.rewrite_prefix.clone().map(|to| {
            let from = r.matches.path_prefix.clone().unwrap_or_else(|| "/".into());
            (from, to)
        }),
        redirect: r
            .redirect
            .as_ref()
            .map(|d| CompiledRedirect::compile(d, r.matches.path_prefix.as_deref())),
        split,
        mirror,
        headers,
    };
    let none = rules.headers.is_empty()
        && rules.rewrite_prefix.is_none()
        && rules.redirect.is_none()
        && rules.split.is_none()
        && rules.mirror.is_none();
    Some((cluster, (!none).then(|| Arc::new(rules))))
}

/// Each cluster's compiled header rules, by index (validated: they compile).
pub(crate) fn cluster_rules(config: &Config) -> Vec<Option<Arc<CompiledRules>>> {
    config
        .clusters
        .iter()
        .map(|c| {
            CompiledRules::compile(&c.headers)
                .ok()
                .filter(|r| !r.is_empty())
                .map(Arc::new)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};

    use super::*;
    use crate::config::parse;
    use crate::route::Router;

    const CONFIG: &str = "\
listeners: [{ address: 127.0.0.1:1 }]
clusters:
  - { name: api, members: [{ address: 127.0.0.1:2 }] }
  - { name: beta, members: [{ address: 127.0.0.1:3 }] }
  - { name: shadow, members: [{ address: 127.0.0.1:4 }] }
routes:
  - match: { path_regex: \"^/v[0-9]+/items$\", methods: [GET, HEAD] }
    cluster: beta
  - match: { query: { name: debug, value: \"on now\" } }
    cluster: beta
  - match: { query: { name: user, value_regex: \"^[0-9]{3}$\" } }
    cluster: shadow
  - match: { header: { name: user-agent, value_regex: \"(?i)curl\" } }
    cluster: shadow
  - match: { path_prefix: /canary/ }
    split: [{ cluster: api, weight: 95 }, { cluster: beta, weight: 5 }]
    mirror: { cluster: shadow }
  - match: { path_prefix: /old/ }
    redirect: { scheme: https, prefix: /new/, status: 308 }
default_cluster: api
";

    fn route<'r>(
        r: &'r Router,
        method: Method,
        path: &str,
        query: Option<&str>,
        ua: &str,
    ) -> &'r crate::CompiledRoute {
        let mut h = HeaderMap::new();
        h.insert("user-agent", HeaderValue::from_str(ua).unwrap());
        r.route(&RequestHead {
            host: Some("a"),
            path,
            method: &method,
            headers: &h,
            query,
        })
        .unwrap()
    }

    fn router() -> Router {
        let c = parse(CONFIG, "t").unwrap();
        Router::compile(&c, |n| c.cluster_index(n))
    }

    #[test]
    fn regex_path_holds_only_with_a_listed_method() {
        let r = router();
        assert_eq!(route(&r, Method::GET, "/v2/items", None, "x").cluster, 1);
        assert_eq!(route(&r, Method::POST, "/v2/items", None, "x").cluster, 0);
        assert_eq!(route(&r, Method::GET, "/v2/items/1", None, "x").cluster, 0);
    }

    #[test]
    fn query_value_is_decoded_and_regex_matched() {
        let r = router();
        assert_eq!(
            route(&r, Method::GET, "/", Some("a=1&debug=on+now"), "x").cluster,
            1
        );
        assert_eq!(
            route(&r, Method::GET, "/", Some("debug=on%20now"), "x").cluster,
            1
        );
        assert_eq!(
            route(&r, Method::GET, "/", Some("debug=off"), "x").cluster,
            0
        );
        assert_eq!(
            route(&r, Method::GET, "/", Some("user=123"), "x").cluster,
            2
        );
        assert_eq!(
            route(&r, Method::GET, "/", Some("user=1234"), "x").cluster,
            0
        );
    }

    #[test]
    fn header_value_regex() {
        let r = router();
        assert_eq!(route(&r, Method::GET, "/", None, "CURL/8").cluster, 2);
        assert_eq!(route(&r, Method::GET, "/", None, "wget").cluster, 0);
    }

    #[test]
    fn a_reload_keeps_the_position_of_an_unchanged_split_only() {
        let old = router();
        let canary = |r: &Router| {
            let c = route(r, Method::GET, "/canary/x", None, "x");
            (
                c.rules.as_ref().unwrap().split.as_ref().unwrap().position(),
                c.cluster,
            )
        };
        let first = route(&old, Method::GET, "/canary/x", None, "x");
        for _ in 0..30 {
            first.rules.as_ref().unwrap().cluster(first.cluster);
        }
        let mut same = router();
        assert_eq!(same.keep_split_positions(&old), ["route#4"]);
        assert_eq!(canary(&same).0, 30);
        let changed = CONFIG.replace("weight: 5 }", "weight: 6 }");
        let c = parse(&changed, "t").unwrap();
        let mut other = Router::compile(&c, |n| c.cluster_index(n));
        assert!(other.keep_split_positions(&old).is_empty());
        assert_eq!(canary(&other).0, 0);
    }

    #[test]
    fn split_and_mirror_and_redirect_are_compiled() {
        let r = router();
        let canary = route(&r, Method::GET, "/canary/x", None, "x");
        let rules = canary.rules.as_ref().unwrap();
        let picks: Vec<usize> = (0..1000).map(|_| rules.cluster(canary.cluster)).collect();
        assert_eq!(picks.iter().filter(|&&c| c == 1).count(), 50);
        assert_eq!(rules.mirror.unwrap().cluster, 2);
        let old = route(&r, Method::GET, "/old/a", Some("q=1"), "x");
        let loc = old.rules.as_ref().unwrap().redirect.as_ref().unwrap();
        let o = crate::rewrite::Origin {
            scheme: "http",
            host: "a.example",
            path: "/old/a",
            query: Some("q=1"),
        };
        assert_eq!(loc.location(&o), "https://a.example/new/a?q=1");
        // A route without the new settings carries nothing.
        assert!(
            route(&r, Method::GET, "/v2/items", None, "x")
                .rules
                .is_none()
        );
    }
}
