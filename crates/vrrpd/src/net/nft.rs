//! RFC 5798 Accept_Mode off (`no_accept`, and `vrrp_strict` for a non-owner): a master that
//! does not own the address neither accepts packets to its VIPs nor sends from them. The
//! rules are keepalived 2.2.7's nftables rules, rule for rule (a lab test compares
//! `nft list ruleset` with keepalived's), in tables of vrrpd's own (`ip vrrpd`, `ip6 vrrpd`):
//! a set `vips` filled while the VIPs are held, dropped in an input and an output chain at
//! priority -1; IPv6 lets neighbour discovery and link-local traffic through.
//!
//! Driven with the `nft` program and a text script (as the takeover guard): the batch is one
//! transaction, nft's messages are what the operator reads, and no netlink message layout
//! of nf_tables needs reimplementing. Tables from a crashed run are deleted at start.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The name of vrrpd's tables (one per family).
pub const TABLE: &str = "vrrpd";

/// The batch that replaces both tables with empty sets and keepalived's chains.
pub fn ruleset() -> String {
    let t = TABLE;
    let hooks = |fam: &str| {
        format!(
            "add chain {fam} {t} out {{ type filter hook output priority -1; policy accept; }}\n\
             add chain {fam} {t} in {{ type filter hook input priority -1; policy accept; }}\n"
        )
    };
    format!(
        "{clear}\
         add table ip {t}\n\
         add set ip {t} vips {{ type ipv4_addr; }}\n\
         {v4}\
         add rule ip {t} out ip saddr @vips drop\n\
         add rule ip {t} in ip daddr @vips drop\n\
         add table ip6 {t}\n\
         add set ip6 {t} vips {{ type ipv6_addr; }}\n\
         add set ip6 {t} neighbor-discovery {{ type icmpv6_type; flags constant; elements = {{ nd-neighbor-solicit, nd-neighbor-advert }}; }}\n\
         {v6}\
         add chain ip6 {t} in_link_local\n\
         add chain ip6 {t} out_link_local\n\
         add rule ip6 {t} out icmpv6 type @neighbor-discovery accept\n\
         add rule ip6 {t} out ip6 saddr fe80::/10 goto out_link_local\n\
         add rule ip6 {t} out ip6 saddr @vips drop\n\
         add rule ip6 {t} in icmpv6 type @neighbor-discovery accept\n\
         add rule ip6 {t} in ip6 daddr fe80::/10 goto in_link_local\n\
         add rule ip6 {t} in ip6 daddr @vips drop\n",
        clear = clear_script(),
        v4 = hooks("ip"),
        v6 = hooks("ip6"),
    )
}

/// Deletes both tables whether or not they exist (`table X` first makes the delete valid).
fn clear_script() -> String {
    let t = TABLE;
    format!("table ip {t}\ndelete table ip {t}\ntable ip6 {t}\ndelete table ip6 {t}\n")
}

/// The batch that puts `addrs` into (or takes them out of) the sets. Adding an element that
/// is there is a no-op, deleting one that is not fails, so a delete is preceded by an add.
pub fn element_commands(addrs: &[IpAddr], add: bool) -> String {
    let mut out = String::new();
    for a in addrs {
        let fam = if a.is_ipv4() { "ip" } else { "ip6" };
        out.push_str(&format!("add element {fam} {TABLE} vips {{ {a} }}\n"));
        if !add {
            out.push_str(&format!("delete element {fam} {TABLE} vips {{ {a} }}\n"));
        }
    }
    out
}

/// Whether keepalived's rules can filter `a`: link-local IPv6 VIPs pass through the
/// link-local chains unfiltered (their per-interface rules are not implemented).
pub fn filterable(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(_) => true,
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
    }
}

/// vrrpd's no-accept tables, installed on first need.
#[derive(Debug)]
pub struct NoAcceptFirewall;

impl NoAcceptFirewall {
    /// Replaces any earlier copy of the tables with empty ones.
    pub async fn install() -> Result<Self> {
        nft(&ruleset())
            .await
            .context("installing the no_accept rules (nftables tables ip/ip6 vrrpd)")?;
        Ok(NoAcceptFirewall)
    }

    /// Drops traffic to and from `addrs` (before they are added to the interface), or stops
    /// doing so (after they were removed).
    pub async fn set(&self, addrs: &[IpAddr], add: bool) -> Result<()> {
        let addrs: Vec<IpAddr> = addrs.iter().copied().filter(filterable).collect();
        if addrs.is_empty() {
            return Ok(());
        }
        nft(&element_commands(&addrs, add)).await
    }

    /// Deletes the tables (on exit).
    pub async fn remove(&self) -> Result<()> {
        remove_tables().await
    }
}

/// Deletes the tables a crashed run left behind (or that an earlier run kept).
pub async fn remove_tables() -> Result<()> {
    nft(&clear_script()).await
}

/// Runs `nft -f -` with `script` (one transaction), failing with its stderr. The one way
/// vrrpd changes the firewall (no_accept tables, the takeover guard).
pub(crate) async fn nft(script: &str) -> Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("running nft (package nftables)")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).await?;
    }
    let out = tokio::time::timeout(Duration::from_secs(5), child.wait_with_output())
        .await
        .context("nft did not finish within 5 s")??;
    if !out.status.success() {
        bail!("nft: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_first_deletes_leftover_tables_of_both_families() {
        let r = ruleset();
        assert!(r.starts_with(
            "table ip vrrpd\ndelete table ip vrrpd\ntable ip6 vrrpd\ndelete table ip6 vrrpd\n"
        ));
        // Chains must exist before a rule jumps to them.
        let chain = r.find("add chain ip6 vrrpd out_link_local").unwrap();
        let goto = r.find("goto out_link_local").unwrap();
        assert!(chain < goto);
    }

    #[test]
    fn removal_adds_before_deleting_and_link_local_is_not_filtered() {
        let a: IpAddr = "198.18.0.100".parse().unwrap();
        let b: IpAddr = "2001:2::100".parse().unwrap();
        assert_eq!(
            element_commands(&[a], true),
            "add element ip vrrpd vips { 198.18.0.100 }\n"
        );
        let del = element_commands(&[b], false);
        assert_eq!(
            del,
            "add element ip6 vrrpd vips { 2001:2::100 }\ndelete element ip6 vrrpd vips { 2001:2::100 }\n"
        );
        assert!(!filterable(&"fe80::1".parse().unwrap()));
        assert!(filterable(&b));
    }
}
