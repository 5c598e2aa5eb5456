//! The access log section's checks: the format and its template agree, and every template
//! placeholder names a field, so a typo fails `--check`, start-up and reload at its line.

use super::model::{AccessLogFormat, Config};
use super::validate::Problem;
use crate::log_template;

/// Checks `access_log` (if any).
pub(super) fn check(c: &Config) -> Result<(), Problem> {
    let Some(log) = &c.access_log else {
        return Ok(());
    };
    match (log.format, &log.template) {
        (AccessLogFormat::Template, Some(t)) => log_template::parse(t)
            .map(drop)
            .map_err(|e| Problem::new(e.to_string(), "template", "")),
        (AccessLogFormat::Template, None) => Err(Problem::new(
            "access_log.format is template but access_log.template is missing".into(),
            "format",
            "template",
        )),
        (_, Some(_)) => Err(Problem::new(
            "access_log.template is set but access_log.format is not template".into(),
            "template",
            "",
        )),
        (_, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    const BASE: &str = "listeners:\n  - address: 127.0.0.1:8080\nclusters:\n  - name: app\n    members:\n      - address: 127.0.0.1:9001\ndefault_cluster: app\n";

    fn with_log(log: &str) -> String {
        format!("{BASE}access_log:\n  path: /tmp/x.log\n{log}")
    }

    #[test]
    fn unknown_template_field_is_refused_at_its_line() {
        let text = with_log("  format: template\n  template: \"{client} {path}\"\n");
        let e = parse(&text, "t.yaml").unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:11: "), "{e}");
        assert!(e.contains("unknown field '{path}'"), "{e}");
    }

    #[test]
    fn template_without_its_format_and_format_without_template_are_refused() {
        let e = parse(&with_log("  template: \"{status}\"\n"), "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.yaml:10: ") && e.contains("not template"),
            "{e}"
        );
        let e = parse(&with_log("  format: template\n"), "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.yaml:10: ") && e.contains("missing"), "{e}");
    }

    #[test]
    fn known_template_fields_load() {
        let text =
            with_log("  format: template\n  template: \"{{{client}}} {request} {status}\"\n");
        assert!(parse(&text, "t.yaml").is_ok());
    }
}
