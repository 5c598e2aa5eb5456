//! The one HTTP(S) / Unix-socket health probe of elb-ha, used by the
//! `elb-check` binary and by elb-proxy's active health checks.
//!
//! A probe connects (TCP over IPv4/IPv6 or a Unix socket), optionally speaks
//! TLS (rustls), sends one HTTP/1.1 request and judges the answer against an
//! expected status set and optional body and header rules. One deadline
//! covers everything; a slow, endless, oversized or malformed answer ends
//! at the deadline or a size bound with a clear [`Verdict`], never a hang.
//!
//! ```no_run
//! # async fn demo() {
//! use elb_probe::{probe, ProbeSpec, Target};
//! let spec = ProbeSpec::new(Target::parse("http://127.0.0.1:8280/services/EchoProxy").unwrap());
//! let result = probe(&spec).await;
//! println!("{:?}: {}", result.verdict, result.detail);
//! # }
//! ```
//!
//! The byte-level pieces ([`response`], [`judge`], [`status_set`],
//! [`target`]) are pure and usable (and fuzzed) without a runtime.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod connect;
mod exchange;
mod h2;
pub mod judge;
mod ocsp;
mod outcome;
mod probe;
mod proxy_protocol;
mod reach;
mod request;
pub mod response;
mod spec;
pub mod status_set;
pub mod target;
mod tls;
mod verify;
mod x509;

pub use ocsp::{OcspEntry, ocsp_entries};
pub use outcome::{Phase, PhaseTime, ProbeResult, Verdict};
pub use probe::probe;
pub use proxy_protocol::ProxyProtocol;
pub use reach::{ConnectTo, ReachError, Resolve};
pub use response::Limits;
pub use spec::{
    Bind, HeaderRule, HttpVersion, IpFamily, JsonRule, Method, ProbeSpec, TlsOptions,
    valid_header_name, valid_header_value,
};
pub use status_set::StatusSet;
pub use target::{Endpoint, Host, Scheme, Target};
pub use tls::{TlsSetupError, client_config_offering};
pub use x509::{CertFacts, UtcTime, serial_of, subject_of};
