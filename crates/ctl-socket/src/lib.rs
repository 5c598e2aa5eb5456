//! The line protocol that vrrpd's control socket and elb-proxy's admin socket speak: a client
//! sends one command line, the daemon answers with text, and an answer that reports a failure
//! starts with `error:`. Both daemons and their `ctl` subcommands use this one implementation,
//! so the bounds (line length, clients, timeouts, answer size) hold the same everywhere.
//!
//! - [`bind`] creates the socket safely: it refuses to replace a socket that a live daemon
//!   still answers on, or a file that is not a socket, and sets mode and group before the
//!   path becomes reachable.
//! - [`Server::serve`] answers clients through a [`Handler`], within [`Limits`].
//! - [`Client`] sends one line and reads the answer, with a deadline and a size cap.
//! - [`line`] holds the pure framing rules both sides share.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod bind;
mod client;
pub mod line;
mod server;

pub use bind::{BindError, SocketOptions, bind};
pub use client::{Client, ClientError};
pub use line::{Answer, SessionControl, is_error};
pub use server::{Handler, Limits, Server, ServerStats, Session, StatsHandle};
