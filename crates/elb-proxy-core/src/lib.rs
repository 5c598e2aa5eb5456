//! elb-proxy's decisions, kept apart from its I/O: the config model and its validation,
//! routing, member choice and health, header rules, the admin command grammar and the
//! request path's errors with their answers. No I/O crate is a dependency (no tokio, no
//! hyper), so the compiler keeps this pure: time and randomness come in as parameters, and
//! everything here is tested without sockets or clocks. The `elb-proxy` binary moves bytes
//! around it.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod answer;
mod balance;
mod client_request;
mod command;
pub mod config;
pub mod forwarded;
#[doc(hidden)]
pub mod fuzzing;
pub mod gate;
mod headers;
pub mod limits;
pub mod log_template;
pub mod maglev;
pub mod proxy_protocol;
pub mod request_id;
pub mod retry_policy;
pub mod rewrite;
mod route;
mod route_extra;

pub use answer::{Answer, ErrorKind, LOCAL_HEADERS, Phase, RequestError};
pub use balance::{
    ActivePolicy, AdminState, Balancer, FailureCause, MemberState, PassivePolicy, Transition,
    request_key,
};
pub use client_request::{
    ClientPolicy, EncodedSlash, PathOptions, Reject, Underscores, apply_underscores, check_host,
    normalized_target,
};
pub use command::{
    Command, Format as StatFormat, HELP, MemberAddr, ParseError as CommandError, ServerRef,
    parse as parse_command,
};
pub use headers::{ForwardSet, Forwarding, cookie_value, strip_hop_by_hop};
pub use route::{CompiledRoute, RequestHead, Router, host_without_port};
pub use route_extra::{MirrorSpec, RouteRules};
