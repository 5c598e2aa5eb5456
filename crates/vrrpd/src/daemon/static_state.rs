//! `static_ipaddress`, `static_routes`, `static_rules`: installed when vrrpd starts (and when
//! a reload adds them), never moved by VRRP, removed at stop as keepalived removes them.

use super::Daemon;
use crate::spec::{RouteSpec, StaticSpec, Vip};

impl Daemon {
    /// Moves the installed static state from `self.spec.statics` to `new`: what the new
    /// configuration drops is removed, what it adds is installed, the rest is left alone.
    pub(super) async fn apply_statics(&mut self, new: &StaticSpec) {
        let old = std::mem::take(&mut self.spec.statics);
        for r in old.rules.iter().filter(|r| !new.rules.contains(r)) {
            if let Err(e) = self.nl.del_rule(r).await {
                tracing::error!(error = %e, "static rule not removed");
            }
        }
        for r in old.routes.iter().filter(|r| !new.routes.contains(r)) {
            self.static_route(r, false).await;
        }
        for a in old.addresses.iter().filter(|a| !new.addresses.contains(a)) {
            self.static_address(a, false).await;
        }
        for a in new.addresses.iter().filter(|a| !old.addresses.contains(a)) {
            self.static_address(a, true).await;
        }
        for r in new.routes.iter().filter(|r| !old.routes.contains(r)) {
            self.static_route(r, true).await;
        }
        for r in new.rules.iter().filter(|r| !old.rules.contains(r)) {
            if let Err(e) = self.nl.add_rule(r).await {
                tracing::error!(error = %e, "static rule not installed");
            }
        }
        self.spec.statics = new.clone();
    }

    /// Removes every static address, route and rule (at stop).
    pub(super) async fn remove_statics(&mut self) {
        self.apply_statics(&StaticSpec::default()).await;
    }

    async fn static_address(&mut self, a: &Vip, add: bool) {
        let res = match self.nl.link_by_name(&a.ifname).await {
            Ok(l) if add => self.nl.add_vip(l.index, a).await,
            Ok(l) => self.nl.del_vip(l.index, a).await,
            Err(e) => Err(e),
        };
        match res {
            Ok(()) => tracing::info!(address = %a.addr, dev = %a.ifname, add, "static address"),
            Err(e) => {
                tracing::error!(address = %a.addr, dev = %a.ifname, add, error = %e, "static address change failed")
            }
        }
    }

    async fn static_route(&mut self, r: &RouteSpec, add: bool) {
        let oif = match &r.dev {
            Some(d) => match self.nl.link_by_name(d).await {
                Ok(l) => Some(l.index),
                Err(e) => {
                    tracing::error!(error = %e, "static route device");
                    return;
                }
            },
            None => None,
        };
        let res = if add {
            self.nl.add_route(r, oif).await
        } else {
            self.nl.del_route(r, oif).await
        };
        if let Err(e) = res {
            tracing::error!(route = %format!("{}/{}", r.dst, r.prefix_len), add, error = %e, "static route change failed");
        }
    }
}
