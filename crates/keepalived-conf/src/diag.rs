//! Diagnostics: what went wrong, where, and how it weighs in `-t`'s exit class.

use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// How bad a diagnostic is for the reader of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Loading stopped: no configuration was produced (keepalived exits 2 here).
    Fatal,
    /// The configuration is wrong; the offending item was ignored or defaulted.
    Error,
    /// Worth knowing, the configuration still means something definite.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// The `keepalived -t` exit class a diagnostic records.
///
/// keepalived keeps the *numerically largest* class seen (so a later, milder problem can
/// hide an earlier "cannot run"); a missing parameter exits 2 at once. [`crate::Loaded::exit_class`]
/// reproduces exactly that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitClass {
    /// Logged only; keepalived's `-t` does not count it (e.g. a missing `include` file).
    None,
    /// Exit 2: a keyword lacks its argument; keepalived stops parsing.
    MissingParameter,
    /// Exit 4: the daemon cannot run at all (main configuration file missing or unreadable).
    CannotRun,
    /// Exit 5: configuration errors, but the daemon would run.
    ConfigError,
    /// Exit 6: scripts would run as root without `enable_script_security`.
    ScriptSecurity,
}

impl ExitClass {
    /// The numeric exit status keepalived's `-t` uses for this class.
    pub fn code(self) -> u8 {
        match self {
            ExitClass::None => 0,
            ExitClass::MissingParameter => 2,
            ExitClass::CannotRun => 4,
            ExitClass::ConfigError => 5,
            ExitClass::ScriptSecurity => 6,
        }
    }
}

/// One message about the configuration, tied to the place it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// What `-t` records for it.
    pub class: ExitClass,
    /// File the line came from (as named, after include resolution); empty when not tied to a file.
    pub file: Arc<str>,
    /// 1-based line number in `file`; 0 when not tied to a line (whole-instance checks).
    pub line: u32,
    /// 1-based byte column of the word concerned, after `$` expansion; 0 when unknown.
    pub column: u32,
    /// Keyword concerned (empty when none).
    pub keyword: String,
    /// What is wrong, in keepalived's words where it has them.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file: &str = if self.file.is_empty() {
            "<config>"
        } else {
            &self.file
        };
        write!(
            f,
            "{}:{}:{}: {}: {}",
            file, self.line, self.column, self.severity, self.message
        )
    }
}
