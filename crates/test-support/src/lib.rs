//! What every elb-ha test suite shares, so each rule exists once.
//!
//! - [`gate`]: the one root-or-skip rule. A test that needs something the machine may lack
//!   (root, a Debian package, a corpus) skips with a printed reason on a developer machine,
//!   and fails under CI (`CI` set) or with `ELB_E2E=1`, so CI never skips silently.
//! - [`corpus`]: replays a fuzz target's committed corpus and every crash input kept under
//!   `fuzz/regressions/` through the check the fuzz target itself runs.
//! - [`oracle`]: the peer programs' versions the recorded expectations are for.
//! - `http` and `pki` (feature `http`): real local HTTP(S) servers, misbehaving raw servers,
//!   and a test CA, for the suites that probe HTTP; `http_member` and `http_client`: the
//!   members a proxy test balances over and the bounded client it sends through; `tls_member`: a TLS member that records
//!   what each handshake was (resumed, ALPN, client certificate).
//! - [`dns`]: a real DNS server (dnsmasq) on loopback whose answers a test changes.
//! - [`wait`]: bounded polling and bounded child waits; nothing in a test waits forever.
//! - `unix` (feature `unix`): raw exchanges with a daemon's Unix socket.

pub mod corpus;
pub mod dns;
pub mod gate;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
pub mod http_client;
#[cfg(feature = "http")]
pub mod http_member;
pub mod oracle;
#[cfg(feature = "http")]
pub mod pki;
#[cfg(feature = "http")]
pub mod tls_member;
#[cfg(feature = "unix")]
pub mod unix;
pub mod wait;

pub use corpus::replay;
pub use gate::{must_run, require, require_root, skip_or_fail};
pub use wait::{wait_child, wait_until, wait_until_async};
