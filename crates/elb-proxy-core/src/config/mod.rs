//! Loading and validating the YAML config. Two stages: serde parses the text (syntax, types,
//! unknown fields, with the line serde_yaml reports), then `validate` checks what serde
//! cannot (cross references, duplicates, ranges). Every error is `file:line: message`; for
//! semantic errors the line is that of the offending key, found in the text. No file other
//! than the config itself is read here (certificates are loaded by the proxy's TLS module).

mod access_log;
mod expand;
mod model;
mod units;
mod validate;
mod validate_tls;

use std::ops::Deref;
use std::path::Path;

pub use expand::Endpoint;
pub use model::*;
pub use units::{Dur, Size, parse_duration, parse_size};
pub use validate::line_of;

/// Why a config was rejected. The display form is what `--check` and a failed reload print.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{origin}: cannot read: {source}")]
    Read {
        /// The file's name as given.
        origin: String,
        /// What reading it said.
        source: std::io::Error,
    },
    /// A problem on a known line.
    #[error("{origin}:{line}: {message}")]
    At {
        /// The file's name as given.
        origin: String,
        /// 1-based line of the offending key.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A problem of the file as a whole (no line to point at).
    #[error("{origin}: {message}")]
    File {
        /// The file's name as given.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// A config that passed validation. Only [`parse`] and [`load`] make one, so code holding it
/// may rely on every cross reference resolving (routes, `default_cluster`, `must_be_up`).
#[derive(Debug, Clone)]
pub struct ValidConfig(Config);

impl Deref for ValidConfig {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.0
    }
}

impl ValidConfig {
    /// The plain model, e.g. to change it in a test (it is then no longer known valid).
    pub fn into_inner(self) -> Config {
        self.0
    }

    /// Index of the cluster named `name` in `clusters`.
    pub fn cluster_index(&self, name: &str) -> Option<usize> {
        self.0.clusters.iter().position(|c| c.name == name)
    }
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<ValidConfig, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        origin: origin.clone(),
        source,
    })?;
    parse(&text, &origin)
}

/// Parses and validates config text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<ValidConfig, ConfigError> {
    let config: Config = serde_yaml::from_str(text).map_err(|e| {
        let message = strip_location(&e.to_string());
        match e.location() {
            Some(loc) => ConfigError::At {
                origin: origin.to_string(),
                line: loc.line(),
                message,
            },
            None => ConfigError::File {
                origin: origin.to_string(),
                message,
            },
        }
    })?;
    validate::validate(config).map_err(|p| p.into_error(text, origin))
}

/// Validates a model changed at run time (members added on the admin socket); the errors
/// name `origin` with no line, as there is no file text to point into.
pub fn validate_model(config: Config, origin: &str) -> Result<ValidConfig, ConfigError> {
    validate::validate(config).map_err(|p| p.into_error("", origin))
}

/// serde_yaml appends " at line L column C"; we print the line in front instead.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
listeners:
  - address: 127.0.0.1:8280
clusters:
  - name: app
    members:
      - address: 127.0.0.1:9001
      - address: 127.0.0.1:9002
routes:
  - match: { host: \"*.example.com\" }
    cluster: app
default_cluster: app
";

    #[test]
    fn minimal_config_loads_with_defaults() {
        let c = parse(GOOD, "t.yaml").unwrap();
        assert_eq!(c.health.path, "/services/EchoProxy");
        assert_eq!(c.clusters[0].members[1].weight, 1);
        assert_eq!(c.clusters[0].retries, 2);
        assert!(c.access_log.is_none());
    }

    #[test]
    fn unknown_field_is_named_with_its_line() {
        let text = GOOD.replace("default_cluster: app", "default_clustr: app");
        let e = parse(&text, "t.yaml").unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:11:"), "{e}");
        assert!(e.contains("unknown field `default_clustr`"), "{e}");
    }

    #[test]
    fn nested_unknown_field_is_named() {
        let text = GOOD.replace(
            "      - address: 127.0.0.1:9002",
            "      - address: 127.0.0.1:9002\n        wieght: 3",
        );
        let e = parse(&text, "t.yaml").unwrap_err().to_string();
        assert!(e.contains("unknown field `wieght`"), "{e}");
        assert!(e.starts_with("t.yaml:8:"), "{e}");
    }

    #[test]
    fn unknown_cluster_reference_points_at_its_line() {
        let text = GOOD.replace("    cluster: app", "    cluster: nope");
        let e = parse(&text, "t.yaml").unwrap_err().to_string();
        assert_eq!(e, "t.yaml:10: route #0: unknown cluster `nope`");
    }

    #[test]
    fn bad_duration_is_an_error() {
        let text = format!("{GOOD}timeouts:\n  connect: 2 fortnights\n");
        let e = parse(&text, "t.yaml").unwrap_err().to_string();
        assert!(e.contains("t.yaml:13:") && e.contains("duration"), "{e}");
    }

    #[test]
    fn duplicate_member_and_bad_host_rejected() {
        let text = GOOD.replace("127.0.0.1:9002", "127.0.0.1:9001");
        assert!(
            parse(&text, "t")
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
        let text = GOOD.replace("*.example.com", "a*b.example.com");
        assert!(
            parse(&text, "t")
                .unwrap_err()
                .to_string()
                .contains("route host")
        );
    }

    #[test]
    fn status_ranges_parse() {
        let text = GOOD.replace(
            "      - address: 127.0.0.1:9002",
            "      - address: 127.0.0.1:9002\n    health_check: { expect_status: [200, \"300-399\"] }",
        );
        let c = parse(&text, "t").unwrap();
        let hc = c.clusters[0].health_check.as_ref().unwrap();
        assert!(hc.expect_status[1].contains(302));
        assert!(!hc.expect_status[0].contains(201));
    }

    #[test]
    fn the_deployed_example_is_valid() {
        let text = include_str!("../../../../deploy/elb-proxy.yaml");
        parse(text, "deploy/elb-proxy.yaml").unwrap();
    }
}
