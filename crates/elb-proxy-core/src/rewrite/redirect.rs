//! Redirects answered by the proxy: the new location from the request's scheme, host, path
//! and query and the route's `redirect` settings.

use http::StatusCode;

use crate::config::Redirect;

/// A compiled redirect.
#[derive(Debug, Clone)]
pub struct CompiledRedirect {
    scheme: Option<String>,
    host: Option<String>,
    path: Option<String>,
    /// `(matched prefix, replacement)`.
    prefix: Option<(String, String)>,
    /// The answer's status.
    pub status: StatusCode,
    drop_query: bool,
}

/// The parts of the request a location is built from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The Host the client sent (with its port, if any).
    pub host: &'a str,
    /// The path.
    pub path: &'a str,
    /// The query string without `?`, if any.
    pub query: Option<&'a str>,
}

/// The statuses a redirect may have.
pub const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

impl CompiledRedirect {
    /// Compiles `r`; `route_prefix` is the route's `match.path_prefix` (what `prefix`
    /// replaces). The status was validated.
    pub fn compile(r: &Redirect, route_prefix: Option<&str>) -> Self {
        Self {
            scheme: r.scheme.clone(),
            host: r.host.clone(),
            path: r.path.clone(),
            prefix: r
                .prefix
                .clone()
                .map(|p| (route_prefix.unwrap_or("/").to_string(), p)),
            status: StatusCode::from_u16(r.status).unwrap_or(StatusCode::MOVED_PERMANENTLY),
            drop_query: r.drop_query,
        }
    }

    /// The `Location` for a request.
    pub fn location(&self, o: &Origin<'_>) -> String {
        let scheme = self.scheme.as_deref().unwrap_or(o.scheme);
        let mut host = self.host.as_deref().unwrap_or(o.host);
        // A scheme change drops the client's explicit port (http→https on :80 goes to :443).
        if self.scheme.is_some() && self.host.is_none() {
            host = crate::route::host_without_port(host);
        }
        let path = match (&self.path, &self.prefix) {
            (Some(p), _) => p.clone(),
            (None, Some((from, to))) => match o.path.strip_prefix(from.as_str()) {
                Some(rest) => format!("{to}{rest}"),
                None => o.path.to_string(),
            },
            (None, None) => o.path.to_string(),
        };
        let mut out = format!("{scheme}://{host}{path}");
        if let (false, Some(q)) = (self.drop_query, o.query) {
            out.push('?');
            out.push_str(q);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(yaml: &str, prefix: Option<&str>) -> CompiledRedirect {
        CompiledRedirect::compile(&serde_yaml::from_str(yaml).unwrap(), prefix)
    }

    const O: Origin<'static> = Origin {
        scheme: "http",
        host: "a.example:80",
        path: "/old/page",
        query: Some("x=1"),
    };

    #[test]
    fn http_to_https_keeps_host_path_and_query() {
        let r = redirect("{ scheme: https }", None);
        assert_eq!(r.location(&O), "https://a.example/old/page?x=1");
        assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    }

    #[test]
    fn prefix_host_status_and_dropped_query() {
        let r = redirect(
            "{ host: b.example, prefix: /new/, status: 308, drop_query: true }",
            Some("/old/"),
        );
        assert_eq!(r.location(&O), "http://b.example/new/page");
        assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
        let r = redirect("{ path: /, status: 302 }", None);
        assert_eq!(r.location(&O), "http://a.example:80/?x=1");
    }
}
