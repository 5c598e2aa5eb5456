//! The interfaces an instance's addresses and routes live on. Tracking:
//! keepalived 2.2.7 puts an instance in FAULT when the interface named by `dev` on a
//! `virtual_ipaddress`, `virtual_ipaddress_excluded` or `virtual_routes` line goes down,
//! unless that line says `no_track` (seen in the lab: a VIP on `eth1` faults the instance
//! when `eth1` goes down, the same VIP with `no_track` on `eth2` does not). VMACs: a VIP line
//! with `use_vmac`, and with the instance's `use_vmac_addr` every VIP on another interface,
//! gets a VMAC on its interface (keepalived 2.2.7 names the first free of `vrrp.51`,
//! `vrrp1.51`, ...; with the instance's own `use_vmac` on eth0 a VIP on eth1 got `vrrp1.51`).

use crate::model::{Config, Instance, VirtualAddress};

impl Instance {
    /// The interfaces named by the `dev` of tracked VIP, excluded-VIP and route lines, each
    /// once, in file order, without the instance's own interface (tracked anyway). A route
    /// without `dev` is not tracked (the parser has already said so).
    pub fn address_interfaces(&self) -> Vec<&str> {
        let vips = self
            .virtual_ipaddress
            .iter()
            .chain(&self.virtual_ipaddress_excluded)
            .filter(|a| !a.no_track)
            .filter_map(|a| a.dev.as_deref());
        let routes = self
            .virtual_routes
            .iter()
            .filter(|r| !r.no_track)
            .filter_map(|r| r.dev.as_deref());
        let mut out: Vec<&str> = Vec::new();
        for dev in vips.chain(routes) {
            if Some(dev) != self.interface.as_deref() && !out.contains(&dev) {
                out.push(dev);
            }
        }
        out
    }

    /// The interface on which `a`, one of this instance's VIPs, gets a VMAC of its own: its
    /// interface when the line says `use_vmac`, or with `use_vmac_addr` when that is another
    /// interface than the instance's. None when it has none (or the instance's own `use_vmac`
    /// already carries it: a VIP of the instance interface).
    pub fn vip_vmac_interface<'a>(&'a self, a: &'a VirtualAddress) -> Option<&'a str> {
        let own = self.interface.as_deref();
        let dev = a.dev.as_deref().or(own)?;
        let other = Some(dev) != own;
        let wanted = a.use_vmac || (self.use_vmac_addr && other);
        let covered = !other && self.use_vmac.is_some();
        (wanted && !covered).then_some(dev)
    }

    /// The interfaces that get a VMAC for VIPs ([`Instance::vip_vmac_interface`] of each VIP
    /// and excluded VIP), each once, in file order.
    pub fn vip_vmac_interfaces(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for a in self
            .virtual_ipaddress
            .iter()
            .chain(&self.virtual_ipaddress_excluded)
        {
            if let Some(dev) = self.vip_vmac_interface(a)
                && !out.contains(&dev)
            {
                out.push(dev);
            }
        }
        out
    }
}

impl Config {
    /// The interfaces that `instance` tracks through `track_group`s: the interface of static
    /// addresses, the `dev` of static routes and the `iif` of static rules naming a group it
    /// is in (without `no_track`), each once, in file order. Down means FAULT, as for a VIP's
    /// `dev` (seen with keepalived 2.2.7 in the lab).
    pub fn track_group_interfaces(&self, instance: &str) -> Vec<&str> {
        let member = |g: &Option<String>| {
            g.as_deref().is_some_and(|g| {
                self.track_groups
                    .iter()
                    .any(|t| t.name == g && t.instances.iter().any(|m| m == instance))
            })
        };
        // Without `dev`, a static address goes on `default_interface` (keepalived: eth0).
        let default_if = self
            .global_defs
            .default_interface
            .as_deref()
            .unwrap_or("eth0");
        let addresses = self
            .static_addresses
            .iter()
            .filter(|a| !a.no_track && member(&a.track_group))
            .map(|a| a.dev.as_deref().unwrap_or(default_if));
        let routes = self
            .static_routes
            .iter()
            .filter(|r| !r.no_track && member(&r.track_group))
            .filter_map(|r| r.dev.as_deref());
        let rules = self
            .static_rules
            .iter()
            .filter(|r| !r.no_track && member(&r.track_group))
            .filter_map(|r| r.iif.as_deref());
        let mut out: Vec<&str> = Vec::new();
        for dev in addresses.chain(routes).chain(rules) {
            if !out.contains(&dev) {
                out.push(dev);
            }
        }
        out
    }
}
