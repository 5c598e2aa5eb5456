//! The control socket (`--control-socket`, default `/run/vrrpd/vrrpd.sock`): line-based text
//! commands usable with socat, each with a JSON variant, and the `vrrpd ctl` client.
//!
//! [`command`] is the pure parser, [`report`] the data the daemon fills in and its text
//! rendering, [`server`] the daemon's answers on the shared `ctl-socket` server and
//! [`client`] the `vrrpd ctl` client on the shared one.

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
    ConfigDump, ControlError, ControlHandler, ControlLimits, ControlSocket, bind, bind_for_group,
};
