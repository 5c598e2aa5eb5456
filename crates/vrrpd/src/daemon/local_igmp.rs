//! `disable_local_igmp`: keepalived sets `net.ipv4.igmp_link_local_mcast_reports` to 0 while it
//! runs (no IGMP reports for 224.0.0.0/24, where VRRP's group lives, which some switches
//! mishandle) and puts the old value back at exit; so does vrrpd, in its network namespace.

use keepalived_conf as kc;

const SYSCTL: &str = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports";

/// The value found before vrrpd changed it, while it is changed.
#[derive(Debug, Default)]
pub(super) struct LocalIgmp {
    saved: Option<String>,
}

impl LocalIgmp {
    /// Follows the configuration (at start and at each reload).
    pub(super) fn apply(&mut self, g: &kc::GlobalDefs) {
        match (g.disable_local_igmp, self.saved.is_some()) {
            (true, false) => match std::fs::read_to_string(SYSCTL) {
                Ok(old) => match std::fs::write(SYSCTL, "0") {
                    Ok(()) => {
                        tracing::info!(
                            "IGMP reports for link-local groups off (disable_local_igmp)"
                        );
                        self.saved = Some(old.trim().to_string());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot set {SYSCTL} (disable_local_igmp)")
                    }
                },
                Err(e) => tracing::warn!(error = %e, "cannot read {SYSCTL} (disable_local_igmp)"),
            },
            (false, true) => self.restore(),
            _ => {}
        }
    }

    /// Puts back the value found at start (at exit, or when a reload drops the keyword).
    pub(super) fn restore(&mut self) {
        if let Some(old) = self.saved.take()
            && let Err(e) = std::fs::write(SYSCTL, &old)
        {
            tracing::warn!(error = %e, "cannot restore {SYSCTL} to {old}");
        }
    }
}
