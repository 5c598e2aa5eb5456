//! What the proxy checks and rewrites in a client's request once its head is parsed (by the
//! gate's elb-http1 on HTTP/1.1, by hyper on HTTP/2): Host against the authority, header
//! names with underscores, and the path routes are matched on. The HTTP/1.1 head rules
//! themselves are elb-http1's; this applies the same rules to a parsed `http` request so
//! HTTP/2 gets them too (RFC 9113 §8.3.1).

use http::HeaderMap;
use http::header::HOST;

pub use elb_http1::{EncodedSlash, PathOptions, Reject, Underscores};

/// A listener's policy for client requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Header names with an underscore.
    pub underscores: Underscores,
    /// Path normalisation before routing.
    pub path: PathOptions,
    /// Members get the normalised path (else the original).
    pub forward_normalized: bool,
}

impl Default for ClientPolicy {
    fn default() -> Self {
        ClientPolicy {
            underscores: Underscores::Drop,
            path: PathOptions::default(),
            forward_normalized: true,
        }
    }
}

/// Checks Host against the request's authority (`:authority` on HTTP/2, the absolute-form
/// target's on HTTP/1.1): several Host fields, a Host that is not an authority, a Host that
/// differs from the authority, and neither of them on a request that needs one.
/// `needs_authority` is true for HTTP/1.1 and HTTP/2 (not HTTP/1.0).
pub fn check_host(
    headers: &HeaderMap,
    authority: Option<&str>,
    needs_authority: bool,
) -> Result<(), Reject> {
    let mut hosts = headers.get_all(HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(Reject::DuplicateHost);
    }
    if let Some(h) = host {
        let v = h.as_bytes();
        if !v.is_empty() && !elb_http1::is_valid_authority(v) {
            return Err(Reject::InvalidHost);
        }
        if let Some(a) = authority {
            if !a.as_bytes().eq_ignore_ascii_case(v) {
                return Err(Reject::HostMismatch);
            }
        }
        return Ok(());
    }
    match authority {
        Some(a) if elb_http1::is_valid_authority(a.as_bytes()) => Ok(()),
        Some(_) => Err(Reject::InvalidHost),
        None if needs_authority => Err(Reject::MissingHost),
        None => Ok(()),
    }
}

/// Applies the underscore policy to `headers`: drops such fields (returning how many), or
/// refuses the request.
pub fn apply_underscores(headers: &mut HeaderMap, policy: Underscores) -> Result<usize, Reject> {
    if policy == Underscores::Allow || !headers.keys().any(|k| k.as_str().contains('_')) {
        return Ok(0);
    }
    if policy == Underscores::Reject {
        return Err(Reject::Underscore);
    }
    let names: Vec<_> = headers
        .keys()
        .filter(|k| k.as_str().contains('_'))
        .cloned()
        .collect();
    let n = names.len();
    for name in names {
        headers.remove(name);
    }
    Ok(n)
}

/// The normalised form of an origin-form `path_and_query` (see elb-http1's
/// `normalize_path`), or `None` when it is already normal; a malformed escape is refused.
pub fn normalized_target(
    path_and_query: &str,
    opts: &PathOptions,
) -> Result<Option<String>, Reject> {
    let path = path_and_query.split('?').next().unwrap_or_default();
    // `*` and authority-form targets have no path to normalise.
    let special =
        path.contains('%') || path.contains("/.") || (opts.merge_slashes && path.contains("//"));
    let plain = !special;
    if plain || !path.starts_with('/') {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(path_and_query.len());
    elb_http1::normalize_path(path_and_query.as_bytes(), opts, &mut out)?;
    if out == path_and_query.as_bytes() {
        return Ok(None);
    }
    // normalize_path only decodes unreserved bytes, so the result stays ASCII.
    String::from_utf8(out).map(Some).map_err(|_| Reject::Target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn hosts(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(HOST, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn host_rules_follow_rfc_9112_and_9113() {
        assert_eq!(check_host(&hosts(&["a"]), None, true), Ok(()));
        assert_eq!(
            check_host(&hosts(&[]), None, true),
            Err(Reject::MissingHost)
        );
        assert_eq!(check_host(&hosts(&[]), None, false), Ok(()));
        assert_eq!(check_host(&hosts(&[]), Some("a:443"), true), Ok(()));
        assert_eq!(
            check_host(&hosts(&["a", "b"]), None, true),
            Err(Reject::DuplicateHost)
        );
        assert_eq!(
            check_host(&hosts(&["a b"]), None, true),
            Err(Reject::InvalidHost)
        );
        assert_eq!(
            check_host(&hosts(&["u@a"]), None, true),
            Err(Reject::InvalidHost)
        );
        assert_eq!(
            check_host(&hosts(&["a:99999"]), None, true),
            Err(Reject::InvalidHost)
        );
        assert_eq!(
            check_host(&hosts(&["a"]), Some("b"), true),
            Err(Reject::HostMismatch)
        );
        assert_eq!(check_host(&hosts(&["A"]), Some("a"), true), Ok(()));
    }

    #[test]
    fn underscore_fields_are_dropped_rejected_or_kept() {
        let mut h = HeaderMap::new();
        h.insert("x_forwarded_for", HeaderValue::from_static("6.6.6.6"));
        h.insert("x-ok", HeaderValue::from_static("1"));
        assert_eq!(
            apply_underscores(&mut h.clone(), Underscores::Reject),
            Err(Reject::Underscore)
        );
        assert_eq!(apply_underscores(&mut h.clone(), Underscores::Allow), Ok(0));
        assert_eq!(apply_underscores(&mut h, Underscores::Drop), Ok(1));
        assert!(h.get("x_forwarded_for").is_none() && h.get("x-ok").is_some());
    }

    #[test]
    fn paths_are_normalised_for_routing() {
        let o = PathOptions::default();
        assert_eq!(
            normalized_target("/%61pi/v1", &o),
            Ok(Some("/api/v1".into()))
        );
        assert_eq!(
            normalized_target("/api/../x?q=/../", &o),
            Ok(Some("/x?q=/../".into()))
        );
        assert_eq!(normalized_target("/a//b", &o), Ok(None));
        let merge = PathOptions {
            merge_slashes: true,
            ..o
        };
        assert_eq!(normalized_target("/a//b", &merge), Ok(Some("/a/b".into())));
        assert_eq!(normalized_target("/%zz", &o), Err(Reject::Target));
    }
}
