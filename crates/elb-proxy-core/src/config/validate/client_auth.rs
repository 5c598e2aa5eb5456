//! Checks of `client_auth.headers`: each name is a header name the proxy does not own for
//! something else, a listener's two names differ, and a name keeps one meaning across the
//! config (every listener removes every such name from what clients send).

use std::collections::HashMap;

use http::HeaderName;

use super::super::model::{ClientCertHeaderNames, Config};
use super::Problem;
use super::names::RESERVED;

/// Headers the proxy owns besides those in `RESERVED`.
const OWNED: [&str; 5] = [
    "traceparent",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "http2-settings",
];

/// Every listener's client certificate header names.
pub(super) fn check(c: &Config) -> Result<(), Problem> {
    let request_id = c.request_id.as_ref().map(|r| r.header.to_ascii_lowercase());
    let mut roles: HashMap<String, &'static str> = HashMap::new();
    for l in &c.listeners {
        let Some(auth) = l.tls.as_ref().and_then(|t| t.client_auth.as_ref()) else {
            continue;
        };
        let owner = format!("listener {}", l.address);
        let h = &auth.headers;
        if h.verified.eq_ignore_ascii_case(&h.subject) {
            return Err(Problem::new(
                format!(
                    "{owner}: client_auth.headers: verified and subject are both `{}`",
                    h.subject
                ),
                "subject",
                &h.subject,
            ));
        }
        for (key, name) in named(h) {
            let parsed = one(&owner, key, name, request_id.as_deref())?;
            if let Some(other) = roles.insert(parsed.as_str().to_string(), key) {
                if other != key {
                    return Err(Problem::new(
                        format!(
                            "{owner}: client_auth.headers.{key} `{name}` is another listener's `{other}` header (a name has one meaning in a config)"
                        ),
                        key,
                        name,
                    ));
                }
            }
        }
    }
    Ok(())
}

fn named(h: &ClientCertHeaderNames) -> [(&'static str, &str); 2] {
    [("verified", &h.verified), ("subject", &h.subject)]
}

/// One name: a valid header name, without `_`, not owned by the proxy elsewhere.
fn one(
    owner: &str,
    key: &'static str,
    name: &str,
    request_id: Option<&str>,
) -> Result<HeaderName, Problem> {
    let bad = |why: &str| {
        Err(Problem::new(
            format!("{owner}: client_auth.headers.{key} `{name}` {why}"),
            key,
            name,
        ))
    };
    let Ok(parsed) = HeaderName::from_bytes(name.as_bytes()) else {
        return bad("is not a header name");
    };
    if name.contains('_') {
        return bad(
            "has `_`: CGI/WSGI members read it as its `-` form, which clients could send (use `-`)",
        );
    }
    let n = parsed.as_str();
    if RESERVED.contains(&n) || OWNED.contains(&n) || request_id == Some(n) {
        return bad("is a header the proxy already sets, removes or passes untouched");
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::super::super::parse;

    fn config(headers: &str) -> String {
        format!(
            "listeners:
  - address: 127.0.0.1:8443
    tls:
      certificates: [{{ cert: /c.pem, key: /k.pem }}]
      client_auth:
        ca: /ca.pem
        headers:
{headers}clusters:
  - name: app
    members:
      - address: 127.0.0.1:9001
default_cluster: app
request_id: {{ header: X-Trace-Id }}
"
        )
    }

    #[test]
    fn names_default_to_the_documented_ones_and_can_be_chosen() {
        let c = parse(&config("          subject: X-SSL-Subject\n"), "t").unwrap();
        let auth = c.listeners[0].tls.as_ref().unwrap().client_auth.as_ref();
        let h = &auth.unwrap().headers;
        assert_eq!(
            (h.verified.as_str(), h.subject.as_str()),
            ("X-Client-Cert-Verified", "X-SSL-Subject")
        );
    }

    #[test]
    fn a_bad_duplicate_or_owned_name_is_refused_at_its_line() {
        for (headers, says) in [
            ("          verified: \"X Bad\"\n", "is not a header name"),
            ("          subject: X_SSL_Subject\n", "has `_`"),
            (
                "          verified: X-Forwarded-For\n",
                "proxy already sets",
            ),
            ("          subject: x-trace-id\n", "proxy already sets"),
            ("          subject: Connection\n", "proxy already sets"),
            ("          subject: traceparent\n", "proxy already sets"),
            (
                "          verified: X-A\n          subject: x-a\n",
                "verified and subject are both `x-a`",
            ),
        ] {
            let e = parse(&config(headers), "t").unwrap_err().to_string();
            let line = 8 + headers.lines().count() - 1;
            assert!(e.starts_with(&format!("t:{line}: listener ")), "{e}");
            assert!(e.contains(says), "{headers}: {e}");
        }
    }

    #[test]
    fn a_name_keeps_one_meaning_across_listeners() {
        let two = config("          subject: X-SSL\n").replace(
            "clusters:",
            "  - address: 127.0.0.1:8444
    tls:
      certificates: [{ cert: /c.pem, key: /k.pem }]
      client_auth: { ca: /ca.pem, headers: { verified: X-SSL } }
clusters:",
        );
        let e = parse(&two, "t").unwrap_err().to_string();
        assert!(e.contains("is another listener's `subject` header"), "{e}");
        assert!(e.starts_with("t:12:"), "{e}");
        let same = two.replace("verified: X-SSL", "subject: X-SSL");
        assert!(parse(&same, "t").is_ok());
    }
}
