//! The control socket (`--control-socket`, default `/run/vrrpd/vrrpd.sock`): line-based text
//! commands usable with socat, each with a JSON variant, and the `vrrpd ctl` client.
//!
//! [`command`] is the pure parser, [`report`] the data the daemon fills in and its text
//! rendering, [`server`] the bounded Unix socket server and [`client`] the client.

pub mod client;
pub mod command;
pub mod report;
pub mod server;

pub use client::{CtlError, ctl, is_error_answer, request};
pub use command::{Command, Format, ParseError, parse_command};
pub use report::{
    AlertStats, ControlStats, GroupStatus, InstanceStats, InstanceStatus, ScriptStats, StatsReport,
    StatusReport, TrackerKind, TrackerStatus,
};
pub use server::{
    ConfigDump, ControlError, ControlHandler, ControlLimits, ControlSocket, allow_group, bind,
    serve,
};
