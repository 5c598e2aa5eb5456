//! The control socket's command language: one line, whitespace-separated words, in the
//! style of HAProxy's stats socket. Pure and total: any input gives a command or an error,
//! never a panic (fuzzed by `fuzz/fuzz_targets/control_command.rs`).

use thiserror::Error;

/// Longest tracker name accepted (keepalived names are short identifiers).
pub const MAX_NAME_LEN: usize = 128;

/// What a report is rendered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document, for scripts.
    Json,
}

/// A parsed control command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// List the commands.
    Help,
    /// Every instance and group with its state and trackers.
    ShowStatus(Format),
    /// Counters of adverts, transitions, scripts, control and mail.
    ShowStats(Format),
    /// The running config as vrrpd understood it.
    ShowConfig(Format),
    /// Reload the config file, as SIGHUP does.
    Reload,
    /// Enter or leave maintenance (every instance gives up MASTER).
    SetMaintenance(bool),
    /// Push a tracker's state (e.g. elb-proxy's drain) without waiting for its next run.
    Track {
        /// The tracker's name.
        name: String,
        /// Its new state.
        up: bool,
    },
}

/// Why a line is not a command. Messages quote at most a short, escaped part of the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// Nothing but blanks.
    #[error("empty command; try 'help'")]
    Empty,
    /// A first word no command starts with.
    #[error("unknown command '{0}'; try 'help'")]
    Unknown(String),
    /// A known command with wrong arguments; the text is its usage.
    #[error("usage: {0}")]
    Usage(&'static str),
    /// A tracker name with characters a config name cannot have.
    #[error("invalid tracker name '{0}'")]
    InvalidName(String),
}

const USAGE_SHOW: &str = "show status|stats|config [json]";
const USAGE_SET: &str = "set maintenance on|off";
const USAGE_TRACK: &str = "track NAME up|down";

/// The text `help` answers with.
pub const HELP: &str = "\
show status [json]      instances: state, priorities, master, VIPs, trackers, why
show stats [json]       adverts sent/received, receive errors by reason, transitions
show config [json]      the running configuration
reload                  re-read the configuration (the running one stays if it fails)
set maintenance on|off  drain this node: give the VIPs away without a FAULT
track NAME up|down      push a tracker's state now instead of waiting for its script
help                    this text
";

/// Parses one command line (without its line terminator; a trailing `\r` is ignored).
pub fn parse_command(line: &str) -> Result<Command, ParseError> {
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    match words.as_slice() {
        [] => Err(ParseError::Empty),
        ["help"] => Ok(Command::Help),
        ["show", what, rest @ ..] => {
            let format = match rest {
                [] => Format::Text,
                ["json"] => Format::Json,
                _ => return Err(ParseError::Usage(USAGE_SHOW)),
            };
            match *what {
                "status" => Ok(Command::ShowStatus(format)),
                "stats" => Ok(Command::ShowStats(format)),
                "config" => Ok(Command::ShowConfig(format)),
                _ => Err(ParseError::Usage(USAGE_SHOW)),
            }
        }
        ["show"] => Err(ParseError::Usage(USAGE_SHOW)),
        ["reload"] => Ok(Command::Reload),
        ["set", "maintenance", "on"] => Ok(Command::SetMaintenance(true)),
        ["set", "maintenance", "off"] => Ok(Command::SetMaintenance(false)),
        ["set", ..] => Err(ParseError::Usage(USAGE_SET)),
        ["track", name, state] => {
            let up = match *state {
                "up" => true,
                "down" => false,
                _ => return Err(ParseError::Usage(USAGE_TRACK)),
            };
            if !valid_name(name) {
                return Err(ParseError::InvalidName(excerpt(name)));
            }
            Ok(Command::Track {
                name: (*name).to_owned(),
                up,
            })
        }
        ["track", ..] => Err(ParseError::Usage(USAGE_TRACK)),
        [first, ..] => Err(ParseError::Unknown(excerpt(first))),
    }
}

fn valid_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN
        && name.chars().all(|c| c.is_ascii_graphic() || !c.is_ascii())
        && !name.chars().any(char::is_control)
}

/// A short, printable rendering of untrusted input for error messages.
pub fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(32).flat_map(char::escape_default).collect();
    if s.chars().nth(32).is_some() {
        out.push_str("...");
    }
    out
}

impl std::fmt::Display for Command {
    /// The canonical line for this command (what `vrrpd ctl` sends).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let json = |fmt: &Format| if *fmt == Format::Json { " json" } else { "" };
        match self {
            Command::Help => write!(f, "help"),
            Command::ShowStatus(fmt) => write!(f, "show status{}", json(fmt)),
            Command::ShowStats(fmt) => write!(f, "show stats{}", json(fmt)),
            Command::ShowConfig(fmt) => write!(f, "show config{}", json(fmt)),
            Command::Reload => write!(f, "reload"),
            Command::SetMaintenance(on) => {
                write!(f, "set maintenance {}", if *on { "on" } else { "off" })
            }
            Command::Track { name, up } => {
                write!(f, "track {name} {}", if *up { "up" } else { "down" })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_parses_and_round_trips() {
        let cases = [
            ("help", Command::Help),
            ("show status", Command::ShowStatus(Format::Text)),
            ("show status json", Command::ShowStatus(Format::Json)),
            ("show stats", Command::ShowStats(Format::Text)),
            ("show stats json", Command::ShowStats(Format::Json)),
            ("show config", Command::ShowConfig(Format::Text)),
            ("show config json", Command::ShowConfig(Format::Json)),
            ("reload", Command::Reload),
            ("set maintenance on", Command::SetMaintenance(true)),
            ("set maintenance off", Command::SetMaintenance(false)),
            (
                "track chk_elb down",
                Command::Track {
                    name: "chk_elb".into(),
                    up: false,
                },
            ),
            (
                "track chk_elb up",
                Command::Track {
                    name: "chk_elb".into(),
                    up: true,
                },
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parse_command(line), Ok(want.clone()), "{line}");
            assert_eq!(want.to_string(), line);
        }
    }

    #[test]
    fn whitespace_and_carriage_return_are_tolerated() {
        assert_eq!(
            parse_command("  show\tstatus  json \r"),
            Ok(Command::ShowStatus(Format::Json))
        );
    }

    #[test]
    fn bad_input_gets_specific_errors() {
        assert_eq!(parse_command(""), Err(ParseError::Empty));
        assert_eq!(parse_command(" \r"), Err(ParseError::Empty));
        assert_eq!(parse_command("show"), Err(ParseError::Usage(USAGE_SHOW)));
        assert_eq!(
            parse_command("show status xml"),
            Err(ParseError::Usage(USAGE_SHOW))
        );
        assert_eq!(
            parse_command("show vips"),
            Err(ParseError::Usage(USAGE_SHOW))
        );
        assert_eq!(
            parse_command("set maintenance maybe"),
            Err(ParseError::Usage(USAGE_SET))
        );
        assert_eq!(
            parse_command("track chk sideways"),
            Err(ParseError::Usage(USAGE_TRACK))
        );
        assert_eq!(
            parse_command("track chk"),
            Err(ParseError::Usage(USAGE_TRACK))
        );
        assert_eq!(
            parse_command("SHOW status"),
            Err(ParseError::Unknown("SHOW".into()))
        );
        let long = "x".repeat(MAX_NAME_LEN + 1);
        assert!(matches!(
            parse_command(&format!("track {long} up")),
            Err(ParseError::InvalidName(_))
        ));
        assert!(matches!(
            parse_command("track a\u{7}b up"),
            Err(ParseError::InvalidName(_))
        ));
    }

    #[test]
    fn error_messages_escape_and_shorten_input() {
        let err = parse_command(&format!("\u{1b}[31m{}", "y".repeat(100))).unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains('\u{1b}'), "{msg:?}");
        assert!(msg.len() < 120, "{msg}");
    }
}
