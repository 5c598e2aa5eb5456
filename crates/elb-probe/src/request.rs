//! The HTTP/1.1 request head (and body) a probe sends, and the checks that
//! keep caller-given fields from corrupting it. Pure.

use crate::spec::{ProbeSpec, valid_header_name, valid_header_value};
use crate::target::Target;

pub(crate) fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

/// Refuses header names and values that would corrupt the request head
/// (CR, LF, other controls): the spec may come from a config file.
pub(crate) fn check_request_fields(spec: &ProbeSpec) -> Result<(), String> {
    if let Some(host) = &spec.host {
        if host.is_empty() || !valid_header_value(host) {
            return Err(format!("invalid Host override {host:?}"));
        }
    }
    if !valid_header_value(&spec.user_agent) {
        return Err(format!("invalid User-Agent {:?}", spec.user_agent));
    }
    for (name, value) in &spec.headers {
        if !valid_header_name(name) || !valid_header_value(value) {
            return Err(format!("invalid request header {name:?}: {value:?}"));
        }
    }
    Ok(())
}

/// The request's header fields in order, Host first. Caller-given headers
/// replace the defaults of the same name. HTTP/2 leaves `Connection` out
/// (it is connection-specific there) and sends Host as `:authority`.
pub(crate) fn header_fields(
    spec: &ProbeSpec,
    target: &Target,
    overrides: bool,
    http1: bool,
) -> Vec<(String, String)> {
    let user_has = |name: &str| {
        overrides
            && spec
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    let mut fields = Vec::with_capacity(6 + spec.headers.len());
    let mut add = |name: &str, value: &str| fields.push((name.to_string(), value.to_string()));
    if !user_has("host") {
        let host = match &spec.host {
            Some(h) if overrides => h.as_str(),
            _ => target.authority.as_str(),
        };
        add("Host", host);
    }
    if !user_has("user-agent") {
        add("User-Agent", &spec.user_agent);
    }
    if !user_has("accept") {
        add("Accept", "*/*");
    }
    if http1 && !user_has("connection") {
        add("Connection", "close");
    }
    if let Some(body) = &spec.body {
        if !user_has("content-type") {
            // curl's default for --data.
            add("Content-Type", "application/x-www-form-urlencoded");
        }
        if !user_has("content-length") {
            add("Content-Length", &body.len().to_string());
        }
    }
    if overrides {
        for (name, value) in &spec.headers {
            add(name, value);
        }
    }
    fields
}

/// The HTTP/1.1 request: head, then the body if any.
pub(crate) fn build_request(spec: &ProbeSpec, target: &Target, overrides: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(spec.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in header_fields(spec, target, overrides, true) {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if let Some(body) = &spec.body {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Method;
    use crate::target::Target;

    #[test]
    fn request_head_defaults_and_overrides() {
        let mut spec =
            ProbeSpec::new(Target::parse("http://127.0.0.1:8280/services/EchoProxy").unwrap());
        let text = String::from_utf8(build_request(&spec, &spec.target, true)).unwrap();
        assert!(
            text.starts_with("GET /services/EchoProxy HTTP/1.1\r\nHost: 127.0.0.1:8280\r\n"),
            "{text}"
        );
        assert!(text.contains("Connection: close\r\n") && text.ends_with("\r\n\r\n"));
        spec.host = Some("app.example:8280".into());
        spec.method = Method::Head;
        spec.headers.push(("User-Agent".into(), "probe".into()));
        let text = String::from_utf8(build_request(&spec, &spec.target, true)).unwrap();
        assert!(
            text.starts_with("HEAD /services/EchoProxy HTTP/1.1\r\nHost: app.example:8280\r\n"),
            "{text}"
        );
        assert_eq!(text.matches("User-Agent").count(), 1);
        assert!(text.contains("User-Agent: probe\r\n"));
        // A redirect elsewhere drops the overrides.
        let other = Target::parse("http://elsewhere/x").unwrap();
        let text = String::from_utf8(build_request(&spec, &other, false)).unwrap();
        assert!(
            text.contains("Host: elsewhere\r\n") && !text.contains("probe"),
            "{text}"
        );
    }

    #[test]
    fn a_body_gets_length_and_curls_content_type() {
        let mut spec = ProbeSpec::new(Target::parse("http://127.0.0.1/").unwrap());
        spec.method = Method::Post;
        spec.body = Some(b"a=1".to_vec());
        let text = String::from_utf8(build_request(&spec, &spec.target, true)).unwrap();
        assert!(text.starts_with("POST / HTTP/1.1\r\n"), "{text}");
        assert!(text.contains("Content-Length: 3\r\n"), "{text}");
        assert!(text.contains("Content-Type: application/x-www-form-urlencoded\r\n"));
        assert!(text.ends_with("\r\n\r\na=1"), "{text}");
        spec.headers
            .push(("Content-Type".into(), "application/json".into()));
        let text = String::from_utf8(build_request(&spec, &spec.target, true)).unwrap();
        assert_eq!(text.matches("Content-Type").count(), 1);
        let h2 = header_fields(&spec, &spec.target, true, false);
        assert!(!h2.iter().any(|(n, _)| n == "Connection"));
    }

    #[test]
    fn header_injection_is_refused() {
        let mut spec = ProbeSpec::new(Target::parse("http://127.0.0.1/").unwrap());
        assert!(check_request_fields(&spec).is_ok());
        spec.headers.push(("X-A".into(), "b\r\nEvil: 1".into()));
        assert!(check_request_fields(&spec).is_err());
        spec.headers.clear();
        spec.headers.push(("Bad Name".into(), "v".into()));
        assert!(check_request_fields(&spec).is_err());
        spec.headers.clear();
        spec.host = Some("h\n".into());
        assert!(check_request_fields(&spec).is_err());
    }

    #[test]
    fn port_stripping_for_sni() {
        assert_eq!(strip_port("app.example:8443"), "app.example");
        assert_eq!(strip_port("app.example"), "app.example");
        assert_eq!(strip_port("[::1]:8443"), "::1");
    }
}
