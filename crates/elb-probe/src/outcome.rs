//! What a probe reports: a verdict, the phase that failed, and how long each
//! phase took. Callers map the verdict to their own vocabulary (elb-check to
//! wget-style exit codes, elb-proxy to member health).

use std::fmt;
use std::time::Duration;

use crate::x509::CertFacts;

/// The stages of one probe, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Building TLS settings (reading CA and client-certificate files).
    Setup,
    /// Host name to addresses (skipped for literals and `localhost`).
    Resolve,
    /// TCP or Unix connect.
    Connect,
    /// TLS handshake.
    Tls,
    /// Writing the request.
    Send,
    /// Waiting for the first byte of the answer.
    Wait,
    /// Reading the rest of the answer.
    Receive,
    /// Judging the answer.
    Judge,
}

impl Phase {
    /// Lower-case name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Resolve => "resolve",
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::Send => "send",
            Self::Wait => "wait",
            Self::Receive => "receive",
            Self::Judge => "judge",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The judgement of one probe.
/// Not `#[non_exhaustive]`: every caller maps each verdict explicitly, so a
/// new one must fail to compile until each mapping decides what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Answered as expected.
    Healthy,
    /// Answered, but not as expected (status, body, header, redirect limit).
    UnexpectedAnswer,
    /// Could not talk to the server: resolution failed, refused, unreachable, reset, or the deadline passed.
    NetworkFailure,
    /// The server's certificate was not accepted, or the TLS handshake was refused.
    TlsFailure,
    /// The server answered, but not in HTTP (or TLS) that could be read.
    ProtocolError,
    /// The probe could not be set up (unreadable CA or key file, ...).
    SetupError,
}

impl Verdict {
    /// Short description used in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::UnexpectedAnswer => "unexpected answer",
            Self::NetworkFailure => "network failure",
            Self::TlsFailure => "TLS failure",
            Self::ProtocolError => "protocol error",
            Self::SetupError => "setup error",
        }
    }
}

/// How long one phase took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseTime {
    /// The phase.
    pub phase: Phase,
    /// Its duration (for a failed phase, until the failure).
    pub took: Duration,
}

/// The full report of one probe.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    /// The judgement.
    pub verdict: Verdict,
    /// The phase that failed (None when healthy).
    pub failed_phase: Option<Phase>,
    /// One human-readable sentence: why (or what was seen when healthy).
    pub detail: String,
    /// The final status line seen, e.g. `HTTP/1.1 200 OK`.
    pub status_line: Option<String>,
    /// The final status code seen.
    pub status: Option<u16>,
    /// Phases in the order they ran (repeated per redirect hop).
    pub timings: Vec<PhaseTime>,
    /// Time from start to verdict.
    pub total: Duration,
    /// Bytes of answer read (all hops).
    pub bytes_received: u64,
    /// Redirects followed.
    pub redirects: u32,
    /// The URL of the last request made.
    pub last_url: String,
    /// The peer address of the last connection, when known.
    pub peer: Option<String>,
    /// The server certificate of the last https connection (dates, names).
    pub certificate: Option<CertFacts>,
}

impl ProbeResult {
    /// Whether the verdict is [`Verdict::Healthy`].
    pub fn is_healthy(&self) -> bool {
        self.verdict == Verdict::Healthy
    }
}
