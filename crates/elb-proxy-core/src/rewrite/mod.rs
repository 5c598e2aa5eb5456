//! Rewriting between client and member beyond the fixed forwarding rules: header rules with
//! variables, path prefix rewrite, redirects, the sticky cookie's value and stripping,
//! weighted splits. Compiled once per config; applied per request by the proxy.

mod redirect;
mod rules;
mod split;
mod sticky;
mod template;

pub use redirect::{CompiledRedirect, Origin, REDIRECT_STATUSES};
pub use rules::{CompiledOps, CompiledRules, RuleError};
pub use split::Split;
pub use sticky::{cookie_id, set_cookie, strip_cookie, without_cookie};
pub use template::{Template, TemplateError, Var, Vars};

/// Replaces `from` at the start of the path-and-query `pq` by `to` (the route's
/// `rewrite_prefix`); `None` when `pq` does not start with `from`.
pub fn rewrite_prefix(pq: &str, from: &str, to: &str) -> Option<String> {
    let rest = pq.strip_prefix(from)?;
    let mut out = String::with_capacity(to.len() + rest.len());
    out.push_str(to);
    // `/api` → `/`: `/api?x` would give `/?x`, `/apix` gives `/x`; never a doubled slash.
    if to.ends_with('/') && rest.starts_with('/') {
        out.push_str(&rest[1..]);
    } else {
        out.push_str(rest);
    }
    if out.is_empty() || !out.starts_with('/') {
        out.insert(0, '/');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::rewrite_prefix;

    #[test]
    fn prefix_rewrite_keeps_the_rest_and_the_query() {
        assert_eq!(
            rewrite_prefix("/api/users?x=1", "/api/", "/v2/").unwrap(),
            "/v2/users?x=1"
        );
        assert_eq!(rewrite_prefix("/api/users", "/api", "/").unwrap(), "/users");
        assert_eq!(rewrite_prefix("/api", "/api", "/").unwrap(), "/");
        assert_eq!(rewrite_prefix("/api?q", "/api", "").unwrap(), "/?q");
        assert!(rewrite_prefix("/other", "/api", "/v2").is_none());
    }
}
