//! `garp_extra_if [all] SECS`: while an instance is MASTER, one gratuitous ARP / NA every SECS
//! for each of its VIPs on an interface other than the instance's, so switches keep those MACs
//! (a VMAC only answers ARP from its own MAC). keepalived 2.2.7, measured in the lab: the first
//! round SECS after becoming MASTER, then every SECS; without `all` only VIPs on a VMAC, with
//! `all` every other interface; never the instance's own interface.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::spec::InstanceSpec;

/// The addresses `spec` repeats on its extra interfaces (empty without `garp_extra_if`).
pub(super) fn extra_addresses(spec: &InstanceSpec) -> Vec<IpAddr> {
    let Some(x) = spec.garp_extra_if else {
        return Vec::new();
    };
    let is_vmac = |ifname: &str| {
        spec.vmac
            .iter()
            .chain(&spec.vip_vmacs)
            .any(|m| m.name == ifname)
    };
    spec.vips
        .iter()
        .chain(&spec.excluded)
        .filter(|v| v.ifname != spec.interface && (x.all || is_vmac(&v.ifname)))
        .map(|v| v.addr)
        .collect()
}

/// When each MASTER instance (by name) sends its next round, and its period.
#[derive(Debug, Default)]
pub(super) struct ExtraGarpTimers {
    next: BTreeMap<String, (Duration, Duration)>,
}

impl ExtraGarpTimers {
    /// `name` became MASTER at `now`: first round one `period` later.
    pub(super) fn start(&mut self, name: &str, now: Duration, period: Duration) {
        self.next.insert(name.to_string(), (now + period, period));
    }

    /// `name` left MASTER (or was removed).
    pub(super) fn stop(&mut self, name: &str) {
        self.next.remove(name);
    }

    /// The earliest round due.
    pub(super) fn next_deadline(&self) -> Option<Duration> {
        self.next.values().map(|(at, _)| *at).min()
    }

    /// The instances due at `now`, each rescheduled one period on (from `now` when a round
    /// was missed, so a stalled loop does not send a burst).
    pub(super) fn due(&mut self, now: Duration) -> Vec<String> {
        let mut out = Vec::new();
        for (name, (at, period)) in &mut self.next {
            if *at <= now {
                out.push(name.clone());
                *at = if *at + *period <= now {
                    now + *period
                } else {
                    *at + *period
                };
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::vmac::{VmacSpec, virtual_mac};
    use keepalived_conf::GarpExtraIf;

    fn vip(addr: &str, ifname: &str) -> crate::spec::Vip {
        crate::spec::Vip::plain(addr.parse().unwrap(), 24, ifname)
    }

    fn spec(all: bool) -> InstanceSpec {
        let mut s = InstanceSpec::bare("VI_1", "eth0", 51);
        s.garp_extra_if = Some(GarpExtraIf {
            interval: Duration::from_secs(2),
            all,
        });
        s.vips = vec![
            vip("198.18.0.100", "eth0"),
            vip("198.18.1.100", "eth1"),
            vip("198.18.2.100", "vrrp.51"),
        ];
        s.vip_vmacs = vec![VmacSpec {
            name: "vrrp.51".into(),
            base: "eth2".into(),
            mac: virtual_mac(51, false),
            xmit_base: false,
            v6: false,
        }];
        s
    }

    fn addrs(s: &InstanceSpec) -> Vec<String> {
        extra_addresses(s).iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn without_all_only_vips_on_a_vmac_are_repeated() {
        assert_eq!(addrs(&spec(false)), ["198.18.2.100"]);
    }

    #[test]
    fn with_all_every_other_interface_but_never_the_instances_own() {
        assert_eq!(addrs(&spec(true)), ["198.18.1.100", "198.18.2.100"]);
    }

    #[test]
    fn without_garp_extra_if_nothing_is_repeated() {
        let mut s = spec(true);
        s.garp_extra_if = None;
        assert!(addrs(&s).is_empty());
    }

    #[test]
    fn rounds_come_one_period_apart_from_becoming_master_and_stop_on_leaving() {
        let mut t = ExtraGarpTimers::default();
        let s = Duration::from_secs;
        t.start("VI_1", s(10), s(2));
        assert_eq!(t.next_deadline(), Some(s(12)));
        assert!(t.due(s(11)).is_empty());
        assert_eq!(t.due(s(12)), ["VI_1"]);
        assert_eq!(t.next_deadline(), Some(s(14)));
        // A stalled loop: one round, then one period from now.
        assert_eq!(t.due(s(30)), ["VI_1"]);
        assert_eq!(t.next_deadline(), Some(s(32)));
        t.stop("VI_1");
        assert_eq!(t.next_deadline(), None);
    }
}
