//! keepalived's check that the interfaces an instance names exist where it runs: a missing
//! one is a warning with exit class 5 (`-t`), and the instance cannot run as written (a
//! missing tracked interface is only warned about: it counts as down).

use crate::diag::{Diagnostic, ExitClass, Severity};
use crate::origin::{InterfaceKind, Origins, diag_at};
use crate::resolver::IncludeResolver;

/// An instance that names an interface the host does not have.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MissingInterface {
    /// The `vrrp_instance` name.
    pub instance: String,
    /// The interface as written.
    pub ifname: String,
    /// The diagnostic's text (file:line and keepalived's words), for logs and status.
    pub message: String,
}

/// One warning per missing interface, in file order, and keepalived's closing line once.
pub(crate) fn check(
    host: &dyn IncludeResolver,
    origins: &Origins,
    diags: &mut Vec<Diagnostic>,
) -> Vec<MissingInterface> {
    let mut missing = Vec::new();
    let mut closing = false;
    for u in &origins.interfaces {
        if host.interface_exists(&u.ifname) != Some(false) {
            continue;
        }
        if u.kind == InterfaceKind::Delays {
            // keepalived reads no further than the unknown interface: the line's delays
            // are not checked (`eth9 abc` is class 4, not 5).
            diags.retain(|d| {
                !(d.file == u.at.file && d.line == u.at.line && d.class == ExitClass::ConfigError)
            });
            diags.push(diag_at(
                Some(&u.at),
                Severity::Error,
                ExitClass::CannotRun,
                "interface_up_down_delays",
                format!("unknown interface {} specified for up/down delay", u.ifname),
            ));
            continue;
        }
        if u.kind == InterfaceKind::Tracked {
            // keepalived's words; only instances' own lists (a sync group's are not checked).
            if !u.instance.is_empty() {
                diags.push(diag_at(
                    Some(&u.at),
                    Severity::Warning,
                    ExitClass::ConfigError,
                    "track_interface",
                    format!(
                        "({}) tracked interface {} doesn't exist",
                        u.instance, u.ifname
                    ),
                ));
            }
            continue;
        }
        let d = diag_at(
            Some(&u.at),
            Severity::Warning,
            ExitClass::ConfigError,
            "interface",
            format!(
                "WARNING - interface {} for {} doesn't exist",
                u.ifname, u.subject
            ),
        );
        if u.kind == InterfaceKind::Runs {
            missing.push(MissingInterface {
                instance: u.instance.clone(),
                ifname: u.ifname.clone(),
                message: d.to_string(),
            });
        }
        diags.push(d);
        closing = true;
    }
    if closing {
        diags.push(diag_at(
            None,
            Severity::Warning,
            ExitClass::ConfigError,
            "interface",
            "Non-existent interface specified in configuration".into(),
        ));
    }
    missing
}
