//! Where the things whole-configuration checks talk about were written, so that their
//! diagnostics name file:line of the offending keyword (duplicate VRID, sync groups, scripts)
//! rather than the file alone.

use crate::diag::{Diagnostic, ExitClass, Severity};
use crate::reader::Line;
use std::collections::HashMap;
use std::sync::Arc;

/// A file and 1-based line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct At {
    pub(crate) file: Arc<str>,
    pub(crate) line: u32,
}

impl At {
    pub(crate) fn of(l: &Line) -> Self {
        At {
            file: l.file.clone(),
            line: l.line,
        }
    }
}

/// Positions recorded by the parser, looked up by name by the final checks.
#[derive(Debug, Default)]
pub(crate) struct Origins {
    /// Instance name -> its `virtual_router_id` line.
    pub(crate) vrid: HashMap<String, At>,
    /// Sync group name -> its `vrrp_sync_group` line.
    pub(crate) group: HashMap<String, At>,
    /// (sync group, member) -> the member's line in `group { }`.
    pub(crate) member: HashMap<(String, String), At>,
    /// (track group, member) -> the member's line in the group's `group { }`.
    pub(crate) track_member: HashMap<(String, String), At>,
    /// `vrrp_script` name -> its `script` line.
    pub(crate) script: HashMap<String, At>,
    /// A notify or FIFO script's command as written -> the first line giving it.
    pub(crate) notify: HashMap<String, At>,
    /// The `script_user` line.
    pub(crate) script_user: Option<At>,
    /// Every interface an instance names (its `interface`, a VIP's `dev`), in file order,
    /// for the host check that the interface exists.
    pub(crate) interfaces: Vec<InterfaceUse>,
    /// The `vrrp_cpu_affinity` line, for the host check of its CPU numbers.
    pub(crate) cpu_affinity: Option<At>,
}

/// One interface named by an instance: which, for what, and where.
#[derive(Debug, Clone)]
pub(crate) struct InterfaceUse {
    pub(crate) ifname: String,
    pub(crate) instance: String,
    /// keepalived's words for the user: `vrrp_instance VI_1`, `ip address 198.18.0.1/24`.
    pub(crate) subject: String,
    pub(crate) at: At,
    pub(crate) kind: InterfaceKind,
}

/// What a missing interface means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InterfaceKind {
    /// The instance's `interface` or a VIP's `dev`: the instance cannot run as written.
    Runs,
    /// A `track_interface` entry: warned about; the instance runs, the interface down.
    Tracked,
    /// A route's or a static address's `dev`: warned about, that item fails.
    Item,
    /// An `interface_up_down_delays` line: keepalived 2.2.7 does not run (class 4).
    Delays,
}

/// A diagnostic of a whole-configuration check at `at` (the main file, line 0, when unknown).
pub(crate) fn diag_at(
    at: Option<&At>,
    severity: Severity,
    class: ExitClass,
    keyword: &str,
    message: String,
) -> Diagnostic {
    let at = at.cloned().unwrap_or_default();
    Diagnostic {
        severity,
        class,
        file: at.file,
        line: at.line,
        column: 0,
        keyword: keyword.into(),
        message,
    }
}
