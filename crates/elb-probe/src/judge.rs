//! The decision from a parsed answer to healthy or not. Pure, so every rule
//! is tested on values without a server.

use crate::response::ResponseHead;
use crate::spec::{JsonRule, ProbeSpec};

/// Checks the answer against the spec's rules: status set first (as the
/// seed's wget script did), then header rules, then body rules. Returns why
/// the answer is unexpected, or `Ok(())`.
pub fn judge(
    spec: &ProbeSpec,
    head: &ResponseHead,
    body: &[u8],
    body_truncated: bool,
) -> Result<(), String> {
    if !spec.expect.contains(head.status) {
        return Err(format!(
            "status {} {} not in expected {}",
            head.status, head.reason, spec.expect
        ));
    }
    for rule in &spec.header_rules {
        let Some(value) = head
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&rule.name))
            .map(|(_, v)| v)
        else {
            return Err(format!("header {:?} missing", rule.name));
        };
        if !contains(value, rule.contains.as_bytes()) {
            return Err(format!(
                "header {:?} value {:?} lacks {:?}",
                rule.name,
                String::from_utf8_lossy(value),
                rule.contains
            ));
        }
    }
    let scope = if body_truncated {
        format!(" (within the first {} bytes)", body.len())
    } else {
        String::new()
    };
    if let Some(needle) = &spec.body_contains {
        if !contains(body, needle.as_bytes()) {
            return Err(format!("body lacks {needle:?}{scope}"));
        }
    }
    if let Some(regex) = &spec.body_regex {
        let text = String::from_utf8_lossy(body);
        if !regex.is_match(&text) {
            return Err(format!("body does not match /{}/{scope}", regex.as_str()));
        }
    }
    if !spec.json_rules.is_empty() {
        judge_json(&spec.json_rules, body, &scope)?;
    }
    Ok(())
}

/// Each pointer must lead to the expected value. The expected text is read
/// as JSON when it is JSON (`true`, `3`, `"UP"`), else as a string (`UP`).
fn judge_json(rules: &[JsonRule], body: &[u8], scope: &str) -> Result<(), String> {
    let document: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not JSON{scope}: {e}"))?;
    for rule in rules {
        let Some(found) = document.pointer(&rule.pointer) else {
            return Err(format!("JSON body has nothing at {}", rule.pointer));
        };
        let expected = serde_json::from_str::<serde_json::Value>(&rule.expected)
            .unwrap_or_else(|_| serde_json::Value::String(rule.expected.clone()));
        if *found != expected {
            return Err(format!(
                "JSON body has {found} at {}, expected {expected}",
                rule.pointer
            ));
        }
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::HeaderRule;
    use crate::target::Target;

    fn head(status: u16, headers: &[(&str, &str)]) -> ResponseHead {
        ResponseHead {
            major_version: 1,
            minor_version: 1,
            status,
            reason: "R".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    fn spec() -> ProbeSpec {
        ProbeSpec::new(Target::parse("http://127.0.0.1/").unwrap())
    }

    #[test]
    fn status_decides_first() {
        let s = spec();
        assert!(judge(&s, &head(200, &[]), b"", false).is_ok());
        let err = judge(&s, &head(503, &[]), b"", false).unwrap_err();
        assert!(err.contains("503"), "{err}");
        let mut any2 = spec();
        any2.expect = "2xx".parse().unwrap();
        assert!(judge(&any2, &head(204, &[]), b"", false).is_ok());
    }

    #[test]
    fn body_rules() {
        let mut s = spec();
        s.body_contains = Some("alive".into());
        assert!(judge(&s, &head(200, &[]), b"i am alive!", false).is_ok());
        let err = judge(&s, &head(200, &[]), b"dead", true).unwrap_err();
        assert!(err.contains("within the first 4 bytes"), "{err}");
        let mut r = spec();
        r.body_regex = Some(regex_lite::Regex::new(r#""status":\s*"UP""#).unwrap());
        assert!(judge(&r, &head(200, &[]), br#"{"status": "UP"}"#, false).is_ok());
        assert!(judge(&r, &head(200, &[]), br#"{"status": "DOWN"}"#, false).is_err());
    }

    #[test]
    fn json_rules() {
        let mut s = spec();
        let rule = |pointer: &str, expected: &str| JsonRule {
            pointer: pointer.into(),
            expected: expected.into(),
        };
        s.json_rules = vec![rule("/status", "UP"), rule("/checks/0/ok", "true")];
        let body = br#"{"status":"UP","checks":[{"ok":true}]}"#;
        assert!(judge(&s, &head(200, &[]), body, false).is_ok());
        let err = judge(&s, &head(200, &[]), br#"{"status":"DOWN"}"#, false).unwrap_err();
        assert_eq!(err, r#"JSON body has "DOWN" at /status, expected "UP""#);
        let err = judge(&s, &head(200, &[]), br#"{"status":"UP"}"#, false).unwrap_err();
        assert!(err.contains("nothing at /checks/0/ok"), "{err}");
        assert!(judge(&s, &head(200, &[]), b"<html>", false).is_err());
        s.json_rules = vec![rule("/n", "3")];
        assert!(judge(&s, &head(200, &[]), br#"{"n":3}"#, false).is_ok());
        assert!(judge(&s, &head(200, &[]), br#"{"n":"3"}"#, false).is_err());
    }

    #[test]
    fn header_rules() {
        let mut s = spec();
        s.header_rules.push(HeaderRule {
            name: "X-Role".into(),
            contains: "master".into(),
        });
        assert!(judge(&s, &head(200, &[("x-role", "is master")]), b"", false).is_ok());
        assert!(judge(&s, &head(200, &[("x-role", "backup")]), b"", false).is_err());
        assert!(judge(&s, &head(200, &[]), b"", false).is_err());
    }
}
