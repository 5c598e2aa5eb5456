//! The takeover guard (`--takeover-guard SECS`, opt-in, no keepalived equivalent).
//!
//! When a VIP moves, the new master's gratuitous ARP also moves the packets of connections
//! the clients opened to the old master a moment earlier: their next segment (the ACK of a
//! response, the FIN) reaches a host that never saw the connection, and its kernel answers
//! with a RST, so a request the old master was still answering fails. For a short window
//! after a takeover the guard drops, instead, TCP segments to the VIPs that belong to no
//! local socket (a new connection's SYN, and every segment of a connection this host owns,
//! pass untouched). The old master keeps its VIPs for `--release-delay`, so its replies
//! still reach the client directly and the exchange completes; a stale connection still gets
//! its RST once the window is over. It is an nftables table (`inet vrrpd_guard`, or `<tables>_guard` beside named no_accept tables): two sets
//! of VIPs whose elements expire by themselves, and a chain using the kernel's socket lookup
//! (nft's `socket` expression). vrrpd drives it with the `nft` program.

use std::net::IpAddr;
use std::time::Duration;

use super::nft::{live_owner, nft, owned_elsewhere};
use anyhow::{Context, Result};

/// The guard's table for a daemon whose no_accept tables are named `base`.
pub fn table_name(base: &str) -> String {
    format!("{base}_guard")
}

/// The table `t`, its sets and its rules, replacing any earlier copy (a daemon that crashed).
pub fn ruleset(t: &str, owner: u32) -> String {
    format!(
        "table inet {t}\n\
         delete table inet {t}\n\
         table inet {t} {{\n\
         \x20 comment \"vrrpd pid {owner}\"\n\
         \x20 set v4 {{ type ipv4_addr; flags timeout; }}\n\
         \x20 set v6 {{ type ipv6_addr; flags timeout; }}\n\
         \x20 chain prerouting {{\n\
         \x20   type filter hook prerouting priority -150; policy accept;\n\
         \x20   ip daddr @v4 meta l4proto tcp jump guard\n\
         \x20   ip6 daddr @v6 meta l4proto tcp jump guard\n\
         \x20 }}\n\
         \x20 chain guard {{\n\
         \x20   tcp flags & (syn | ack) == syn return\n\
         \x20   socket wildcard 0 return\n\
         \x20   socket wildcard 1 drop\n\
         \x20   socket transparent 0 return\n\
         \x20   socket transparent 1 return\n\
         \x20   drop\n\
         \x20 }}\n\
         }}\n"
    )
}
// Why the chain reads as it does: a SYN (without ACK) opens a connection and must reach the
// listener. Otherwise the kernel's socket lookup tells what the segment belongs to: a full
// socket with a specific local address (an established connection) passes; a full socket
// bound to the wildcard address is a listener, found only because no connection matched, so
// the segment belongs to no connection here and is dropped; a socket that is not full (a
// half-open request, TIME_WAIT) has no "wildcard" value and passes through `transparent`,
// which every socket has; no socket at all is dropped.

/// The batch that arms the guard for `vips` during `window`: an element per address, each
/// with its own timeout, so re-arming restarts it. `delete element` fails for an address not
/// in the set, so each address is first added without a timeout (a no-op when present) and
/// the batch always applies.
pub fn arm_commands(t: &str, vips: &[IpAddr], window: Duration) -> String {
    let ms = window.as_millis().max(1);
    vips.iter()
        .map(|ip| {
            let set = if ip.is_ipv4() { "v4" } else { "v6" };
            format!(
                "add element inet {t} {set} {{ {ip} }}\n\
                 delete element inet {t} {set} {{ {ip} }}\n\
                 add element inet {t} {set} {{ {ip} timeout {ms}ms }}\n"
            )
        })
        .collect()
}

/// The guard of one daemon.
#[derive(Debug, Clone)]
pub struct TakeoverGuard {
    window: Duration,
    table: String,
}

impl TakeoverGuard {
    /// Installs the table. Fails with nft's own message when nftables or the kernel's socket
    /// lookup is missing, so an operator who asked for the guard learns it at start.
    /// Another running vrrpd's guard table of the same name is left alone (an error).
    pub async fn install(window: Duration, table: String) -> Result<Self> {
        if let Some(pid) = live_owner("inet", &table).await {
            return Err(owned_elsewhere("inet", &table, pid));
        }
        nft(&ruleset(&table, std::process::id()))
            .await
            .with_context(|| {
                format!("installing the takeover guard (nftables table inet {table})")
            })?;
        Ok(Self { window, table })
    }

    /// Guards `vips` for the window, starting now. Called before the VIPs are added and
    /// announced.
    pub async fn arm(&self, vips: &[IpAddr]) -> Result<()> {
        if vips.is_empty() {
            return Ok(());
        }
        nft(&arm_commands(&self.table, vips, self.window)).await
    }

    /// Removes the table (on exit).
    pub async fn remove(&self) -> Result<()> {
        nft(&format!("delete table inet {}\n", self.table)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_replaces_an_earlier_table_and_lets_syns_through() {
        let r = ruleset("vrrpd_guard", 7);
        assert!(r.starts_with("table inet vrrpd_guard\ndelete table inet vrrpd_guard\n"));
        assert!(r.contains("tcp flags & (syn | ack) == syn return"));
        assert!(r.trim_end().ends_with('}'));
    }

    #[test]
    fn arming_restarts_each_address_timeout_in_its_family_set() {
        let vips: Vec<IpAddr> = vec![
            "198.18.0.100".parse().unwrap(),
            "2001:2::100".parse().unwrap(),
        ];
        let cmds = arm_commands("vrrpd_guard", &vips, Duration::from_millis(1500));
        assert!(cmds.contains("add element inet vrrpd_guard v4 { 198.18.0.100 timeout 1500ms }"));
        assert!(cmds.contains("add element inet vrrpd_guard v6 { 2001:2::100 timeout 1500ms }"));
        assert!(cmds.contains("delete element inet vrrpd_guard v4 { 198.18.0.100 }"));
        // Each address is added before its delete, so the batch applies to a fresh set.
        let first_add = cmds.find("add element inet vrrpd_guard v4 { 198.18.0.100 }\n");
        let delete = cmds.find("delete element inet vrrpd_guard v4 { 198.18.0.100 }");
        assert!(first_add < delete && first_add.is_some(), "{cmds}");
    }
}
