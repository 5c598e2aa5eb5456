//! Checks of the `resolvers:` and `request_id:` sections.

use http::HeaderName;

use super::super::model::Config;
use super::Problem;

/// Headers the proxy itself rewrites or that frame the message: a request id there would
/// be overwritten or break the request.
pub(super) const RESERVED: [&str; 12] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
];

/// The resolver timings and the request id header.
pub(super) fn check(c: &Config) -> Result<(), Problem> {
    let r = &c.resolvers;
    if r.interval.0.is_zero() || r.timeout.0.is_zero() {
        return Err(Problem::new(
            "resolvers: interval and timeout must be positive".into(),
            "resolvers",
            "",
        ));
    }
    if let Some(id) = &c.request_id {
        let Ok(name) = HeaderName::from_bytes(id.header.as_bytes()) else {
            return Err(Problem::new(
                format!("request_id.header `{}` is not a header name", id.header),
                "header",
                &id.header,
            ));
        };
        if RESERVED.contains(&name.as_str()) || name.as_str() == "traceparent" {
            return Err(Problem::new(
                format!(
                    "request_id.header `{}` is a header the proxy already sets or passes untouched",
                    id.header
                ),
                "header",
                &id.header,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::super::parse;

    const BASE: &str = "\
listeners:
  - address: 127.0.0.1:8280
clusters:
  - name: app
    members:
      - address: app.internal:9001
default_cluster: app
";

    #[test]
    fn resolvers_and_request_id_load_with_defaults() {
        let c = parse(&format!("{BASE}request_id: {{}}\n"), "t").unwrap();
        assert_eq!(c.request_id.as_ref().unwrap().header, "X-Request-Id");
        assert!(c.resolvers.nameservers.is_empty());
        assert_eq!(c.resolvers.interval.0.as_secs(), 10);
        assert_eq!(c.resolvers.timeout.0.as_secs(), 2);
    }

    #[test]
    fn a_zero_interval_is_refused_at_its_line() {
        let text = format!("{BASE}resolvers:\n  nameservers: [127.0.0.1:53]\n  interval: 0s\n");
        let e = parse(&text, "t").unwrap_err().to_string();
        assert_eq!(
            e, "t:8: resolvers: interval and timeout must be positive",
            "{e}"
        );
    }

    #[test]
    fn a_reserved_or_malformed_request_id_header_is_refused() {
        for (h, line) in [("Host", 9), ("X Id", 9), ("traceparent", 9)] {
            let text = format!("{BASE}request_id:\n  header: \"{h}\"\n");
            let e = parse(&text, "t").unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("t:{line}: request_id.header")),
                "{e}"
            );
        }
    }

    #[test]
    fn a_bad_member_name_is_refused_at_its_line() {
        let text = BASE.replace("app.internal:9001", "app_1.internal:9001");
        let e = parse(&text, "t").unwrap_err().to_string();
        assert!(e.starts_with("t:6:"), "{e}");
        assert!(e.contains("`_` is not allowed in a host name"), "{e}");
    }
}
