//! `dynamic_interfaces`: interfaces may be deleted and created again (VLANs, bonds, macvlans
//! that a network manager rebuilds, with a new index each time). An instance whose interface
//! goes away is in FAULT; when an interface of that name appears, its unit is built again on
//! it and starts as at start-up, as keepalived 2.2.7 does. Instances whose interface is missing
//! at start wait for it the same way instead of refusing the file.
//! `interface_up_down_delays` hold neither the deletion nor the new link coming up, for the
//! instance's interface or a tracked one: they hold changes of a link that stays (keepalived
//! 2.2.7 in the lab, side by side; `LinkDelays::deleted`).

use std::collections::BTreeSet;

use super::Daemon;

impl Daemon {
    fn dynamic_interfaces(&self) -> bool {
        self.spec
            .conf
            .as_ref()
            .is_some_and(|c| c.global_defs.dynamic_interfaces)
    }

    /// A link named `name` disappeared: remember it when an instance runs on it.
    pub(super) fn interface_vanished(&mut self, name: &str) {
        if self.dynamic_interfaces() && self.insts.iter().any(|i| i.spec.interface == name) {
            self.vanished.insert(name.to_string());
        }
    }

    /// A link named `name` appeared: rebuilds the units on an interface of that name that
    /// vanished, and builds the instances that waited for it.
    pub(super) async fn interface_appeared(&mut self, index: u32, name: &str) {
        if !self.dynamic_interfaces() {
            return;
        }
        let recreated = self.vanished.remove(name);
        let waiting = self.spec.down.iter().any(|d| {
            self.spec
                .instances
                .iter()
                .any(|i| i.name == d.name && i.interface == name)
        });
        if !recreated && !waiting {
            return;
        }
        let stale: BTreeSet<usize> = self
            .insts
            .iter()
            .filter(|i| recreated && i.spec.interface == name)
            .map(|i| i.unit)
            .collect();
        tracing::info!(
            interface = name,
            "interface (re)created: its instances start on it (dynamic_interfaces)"
        );
        // The deleted interface's entry (its socket, its name) must not be found again.
        self.ifaces
            .retain(|idx, i| *idx == index || i.info.name != name);
        self.rebuild_units(&stale).await;
    }

    /// Builds `units` again from the running file, and the instances that could not be built.
    /// The units' addresses went with their old interface (their FAULT removed the rest), so
    /// they are dropped without a shutdown, and built like the units that never ran: the plan
    /// of an unchanged file keeps every unit, and a kept unit that is not running is built.
    pub(super) async fn rebuild_units(&mut self, units: &BTreeSet<usize>) {
        self.forget_units(units);
        let mut spec = self.spec.clone();
        spec.down.clear();
        match self.apply(spec, false).await {
            Ok(failed) if failed.is_empty() => {}
            Ok(failed) => {
                let names: Vec<_> = failed.iter().map(|d| d.name.as_str()).collect();
                tracing::warn!(instances = ?names, "still not running (dynamic_interfaces)");
            }
            Err(e) => tracing::error!(error = format!("{e:#}"), "rebuilding the instances failed"),
        }
    }
}
