//! The one place where a probe's verdict becomes a process exit status:
//! wget's codes for scripts, and the monitoring-plugins codes for Nagios.

use elb_probe::Verdict;

/// The answer was as expected.
pub const HEALTHY: u8 = 0;
/// Anything not covered below (e.g. an unreadable --cacert file).
pub const OTHER: u8 = 1;
/// The command line could not be used (clap also exits with 2).
pub const USAGE: u8 = 2;
/// Resolution failed, connection refused or unreachable, reset, or the deadline passed.
pub const NETWORK: u8 = 4;
/// The server's certificate was not accepted, or the TLS handshake was refused.
pub const TLS: u8 = 5;
/// The answer was not readable HTTP (or not TLS on an https URL).
pub const PROTOCOL: u8 = 7;
/// The server answered, but not as expected (status, body, header, redirects).
pub const UNEXPECTED: u8 = 8;
/// Killed by SIGTERM (128 + 15, as a shell reports it).
pub const TERMINATED: u8 = 143;
/// Interrupted by SIGINT (128 + 2).
pub const INTERRUPTED: u8 = 130;

/// wget-style exit status for a verdict.
pub fn wget_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Healthy => HEALTHY,
        Verdict::UnexpectedAnswer => UNEXPECTED,
        Verdict::NetworkFailure => NETWORK,
        Verdict::TlsFailure => TLS,
        Verdict::ProtocolError => PROTOCOL,
        Verdict::SetupError => OTHER,
    }
}

/// Monitoring-plugins states (lib/states.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NagiosState {
    /// 0
    Ok,
    /// 1
    Warning,
    /// 2
    Critical,
    /// 3
    Unknown,
}

impl NagiosState {
    /// The exit status.
    pub fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Warning => 1,
            Self::Critical => 2,
            Self::Unknown => 3,
        }
    }

    /// The word check_http prints.
    pub fn word(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warning => "WARNING",
            Self::Critical => "CRITICAL",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// Nagios state for a verdict: every failure to get the expected answer is
/// CRITICAL (check_http's default for timeouts and for `-e` mismatches); a
/// probe that could not be set up is UNKNOWN.
pub fn nagios_state(verdict: Verdict) -> NagiosState {
    match verdict {
        Verdict::Healthy => NagiosState::Ok,
        Verdict::UnexpectedAnswer
        | Verdict::NetworkFailure
        | Verdict::TlsFailure
        | Verdict::ProtocolError => NagiosState::Critical,
        Verdict::SetupError => NagiosState::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_wget() {
        assert_eq!(wget_code(Verdict::Healthy), 0);
        assert_eq!(wget_code(Verdict::UnexpectedAnswer), 8);
        assert_eq!(wget_code(Verdict::NetworkFailure), 4);
        assert_eq!(wget_code(Verdict::TlsFailure), 5);
        assert_eq!(wget_code(Verdict::ProtocolError), 7);
        assert_eq!(wget_code(Verdict::SetupError), 1);
        assert_eq!(nagios_state(Verdict::Healthy).code(), 0);
        assert_eq!(nagios_state(Verdict::NetworkFailure).code(), 2);
        assert_eq!(nagios_state(Verdict::SetupError).code(), 3);
    }
}
