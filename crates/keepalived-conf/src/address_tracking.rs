//! The interfaces an instance follows because its addresses and routes live on them:
//! keepalived 2.2.7 puts an instance in FAULT when the interface named by `dev` on a
//! `virtual_ipaddress`, `virtual_ipaddress_excluded` or `virtual_routes` line goes down,
//! unless that line says `no_track` (seen in the lab: a VIP on `eth1` faults the instance
//! when `eth1` goes down, the same VIP with `no_track` on `eth2` does not).

use crate::model::Instance;

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
}
