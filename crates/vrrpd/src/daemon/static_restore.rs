//! Static state deleted behind vrrpd's back is put back, as keepalived 2.2.7 puts it back (seen
//! in the lab): a deleted `static_ipaddress` is added again at once, a deleted `static_routes`
//! or `static_rules` entry too, and when an interface comes up its static addresses and the
//! static routes (which the kernel dropped with the link) are added again. While an entry's
//! interface is down it waits for the link to come up.

use super::Daemon;
use crate::net::netlink::IfAddr;
use crate::spec::{RouteSpec, Vip};

impl Daemon {
    /// `gone` was deleted: a static address is added again (when its interface is up).
    pub(super) async fn restore_static_address(&mut self, gone: &IfAddr) {
        let wanted: Vec<Vip> = (self.spec.statics.addresses.iter())
            .filter(|a| a.addr == gone.addr && a.prefix_len == gone.prefix_len)
            .cloned()
            .collect();
        for a in wanted {
            match self.nl.link_by_name(&a.ifname).await {
                Ok(l) if l.index == gone.index && l.usable => self.readd_address(l.index, &a).await,
                _ => {}
            }
        }
    }

    /// A route or rule of ours was deleted: the static ones that are missing are added again.
    pub(super) async fn restore_static_routes_and_rules(&mut self) {
        self.readd_routes(None).await;
        for r in self.spec.statics.rules.clone() {
            match self.nl.try_add_rule(&r).await {
                Ok(true) => tracing::info!(rule = ?r, "restoring deleted static rule"),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(rule = ?r, error = %e, "deleted static rule not restored")
                }
            }
        }
    }

    /// Interface `name` is up: its static addresses and the static routes through it are
    /// added again where missing.
    pub(super) async fn restore_statics_on(&mut self, index: u32, name: &str) {
        let addrs: Vec<Vip> = (self.spec.statics.addresses.iter())
            .filter(|a| a.ifname == name)
            .cloned()
            .collect();
        for a in addrs {
            self.readd_address(index, &a).await;
        }
        self.readd_routes(Some(name)).await;
    }

    async fn readd_address(&mut self, index: u32, a: &Vip) {
        match self.nl.try_add_vip(index, a).await {
            Ok(true) => {
                tracing::info!(address = %a.addr, prefix = a.prefix_len, dev = %a.ifname, "restoring deleted static address")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(address = %a.addr, dev = %a.ifname, error = %e, "deleted static address not restored")
            }
        }
    }

    /// Adds the missing static routes (only those through `dev` when given); a route whose
    /// interface is down or gone waits for it.
    async fn readd_routes(&mut self, dev: Option<&str>) {
        let routes: Vec<RouteSpec> = (self.spec.statics.routes.iter())
            .filter(|r| dev.is_none() || r.dev.as_deref() == dev)
            .cloned()
            .collect();
        for r in routes {
            let oif = match &r.dev {
                Some(d) => match self.nl.link_by_name(d).await {
                    Ok(l) if l.usable => Some(l.index),
                    _ => continue,
                },
                None => None,
            };
            let route = format!("{}/{}", r.dst, r.prefix_len);
            match self.nl.try_add_route(&r, oif).await {
                Ok(true) => {
                    tracing::info!(route, table = r.table, "restoring deleted static route")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(route, error = %e, "deleted static route not restored")
                }
            }
        }
    }
}
