//! RFC 5798 Accept_Mode off (`no_accept`, and `vrrp_strict` for a non-owner): a master that
//! does not own the address neither accepts packets to its VIPs nor sends from them. The
//! rules are keepalived 2.2.7's nftables rules, rule for rule (a lab test compares
//! `nft list ruleset` with keepalived's), in tables of vrrpd's own (`ip vrrpd`, `ip6 vrrpd`):
//! a set `vips` filled while the VIPs are held, dropped in an input and an output chain at
//! priority -1; IPv6 lets neighbour discovery through and sends link-local traffic to chains
//! of its own, where a link-local VIP is dropped on its interface only (set
//! `vips_link_local` of address . interface, made with its rules when the first link-local
//! VIP is held, as keepalived makes it).
//!
//! Driven with the `nft` program and a text script (as the takeover guard): the batch is one
//! transaction, nft's messages are what the operator reads, and no netlink message layout
//! of nf_tables needs reimplementing. Tables from a crashed run are deleted at start.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The name of vrrpd's tables (one per family) when nothing in the config or the command line
/// names them.
pub const DEFAULT_TABLE: &str = "vrrpd";

/// What every table vrrpd creates says about its owner, so a second daemon in the namespace
/// can tell a live daemon's table from a crashed one's.
const OWNER_COMMENT: &str = "vrrpd pid ";

/// The name of this daemon's tables: `nftables TABLE` as written, else `vrrpd_INSTANCE` (the
/// top-level `instance`), else `vrrpd_ID` (`-i/--config-id`), else `vrrpd`. Two daemons in
/// one namespace need one of these to differ, as two keepalived processes do.
pub fn table_name(
    nftables: Option<&str>,
    instance: Option<&str>,
    config_id: Option<&str>,
) -> String {
    if let Some(name) = nftables {
        return name.to_string();
    }
    match instance.or(config_id).filter(|s| !s.is_empty()) {
        Some(id) => {
            let id: String = id
                .chars()
                .take(48)
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            format!("{DEFAULT_TABLE}_{id}")
        }
        None => DEFAULT_TABLE.to_string(),
    }
}

/// keepalived's options of the rules (`nftables_priority`, `nftables_counters`,
/// `nftables_ifindex`), measured by listing keepalived 2.2.7's ruleset with each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NftOptions {
    /// Hook priority of the input and output chains.
    pub priority: i32,
    /// A counter before every verdict.
    pub counters: bool,
    /// Link-local VIPs keyed by interface index even for `dont_track_primary` instances.
    pub ifindex: bool,
}

impl Default for NftOptions {
    fn default() -> Self {
        NftOptions {
            priority: -1,
            counters: false,
            ifindex: false,
        }
    }
}

impl NftOptions {
    /// What goes before a rule's verdict.
    fn counter(&self) -> &'static str {
        if self.counters { "counter " } else { "" }
    }
}

/// The batch that replaces both tables with empty sets and keepalived's chains, each table
/// marked with the pid of `owner`.
pub fn ruleset(t: &str, owner: u32, o: &NftOptions) -> String {
    let p = o.priority;
    let c = o.counter();
    let hooks = |fam: &str| {
        format!(
            "add chain {fam} {t} out {{ type filter hook output priority {p}; policy accept; }}\n\
             add chain {fam} {t} in {{ type filter hook input priority {p}; policy accept; }}\n"
        )
    };
    let table =
        |fam: &str| format!("add table {fam} {t} {{ comment \"{OWNER_COMMENT}{owner}\"; }}\n");
    format!(
        "{clear}\
         {table4}\
         add set ip {t} vips {{ type ipv4_addr; }}\n\
         {v4}\
         add rule ip {t} out ip saddr @vips {c}drop\n\
         add rule ip {t} in ip daddr @vips {c}drop\n\
         {table6}\
         add set ip6 {t} vips {{ type ipv6_addr; }}\n\
         add set ip6 {t} neighbor-discovery {{ type icmpv6_type; flags constant; elements = {{ nd-neighbor-solicit, nd-neighbor-advert }}; }}\n\
         {v6}\
         add chain ip6 {t} in_link_local\n\
         add chain ip6 {t} out_link_local\n\
         add rule ip6 {t} out icmpv6 type @neighbor-discovery {c}accept\n\
         add rule ip6 {t} out ip6 saddr fe80::/10 {c}goto out_link_local\n\
         add rule ip6 {t} out ip6 saddr @vips {c}drop\n\
         add rule ip6 {t} in icmpv6 type @neighbor-discovery {c}accept\n\
         add rule ip6 {t} in ip6 daddr fe80::/10 {c}goto in_link_local\n\
         add rule ip6 {t} in ip6 daddr @vips {c}drop\n",
        clear = clear_script(t),
        table4 = table("ip"),
        table6 = table("ip6"),
        v4 = hooks("ip"),
        v6 = hooks("ip6"),
    )
}

/// Deletes both tables whether or not they exist (`table X` first makes the delete valid).
fn clear_script(t: &str) -> String {
    format!("table ip {t}\ndelete table ip {t}\ntable ip6 {t}\ndelete table ip6 {t}\n")
}

/// Whether `a` is an IPv6 link-local address: filtered per interface (`vips_link_local`).
pub fn is_link_local(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(_) => false,
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// The set of link-local VIPs of `dont_track_primary` instances without `nftables_ifindex`
/// (keyed by interface name, as keepalived keys them), else of the others (by index).
fn link_local_set(by_name: bool) -> &'static str {
    if by_name {
        "vips_link_local_name"
    } else {
        "vips_link_local"
    }
}

/// The set of link-local VIPs and the rules that drop them on their interface (keepalived's).
pub fn link_local_script(t: &str, by_name: bool, o: &NftOptions) -> String {
    let c = o.counter();
    let set = link_local_set(by_name);
    let (ty, iif, oif) = if by_name {
        ("ifname", "iifname", "oifname")
    } else {
        ("iface_index", "iif", "oif")
    };
    format!(
        "add set ip6 {t} {set} {{ type ipv6_addr . {ty}; }}\n\
         add rule ip6 {t} in_link_local ip6 daddr . {iif} @{set} {c}drop\n\
         add rule ip6 {t} out_link_local ip6 saddr . {oif} @{set} {c}drop\n"
    )
}

/// The batch that puts `addrs` (each with the interface it lives on) into, or takes them out
/// of, the sets of table `t`. Adding an element that is there is a no-op, deleting one that is
/// not fails, so a delete is preceded by an add.
pub fn element_commands(t: &str, addrs: &[(IpAddr, &str)], add: bool, by_name: bool) -> String {
    let mut out = String::new();
    for (a, ifname) in addrs {
        let (fam, set, elem) = match a {
            IpAddr::V4(_) => ("ip", "vips", a.to_string()),
            _ if is_link_local(a) => (
                "ip6",
                link_local_set(by_name),
                format!("{a} . \"{ifname}\""),
            ),
            _ => ("ip6", "vips", a.to_string()),
        };
        out.push_str(&format!("add element {fam} {t} {set} {{ {elem} }}\n"));
        if !add {
            out.push_str(&format!("delete element {fam} {t} {set} {{ {elem} }}\n"));
        }
    }
    out
}

/// The owner pid written in the comment of a listed table (`nft list table` output).
pub fn owner_in_listing(listing: &str) -> Option<u32> {
    let pattern = format!("comment \"{OWNER_COMMENT}");
    let at = listing.find(&pattern)?;
    let digits: String = listing[at + pattern.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The pid of another running vrrpd that owns table `family t`, if one does: its tables are
/// left alone, whatever this daemon wanted to do with them.
pub(crate) async fn live_owner(family: &str, t: &str) -> Option<u32> {
    let out = Command::new("nft")
        .args(["list", "table", family, t])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(5), out)
        .await
        .ok()?
        .ok()?;
    let pid = owner_in_listing(&String::from_utf8_lossy(&out.stdout))?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (pid != std::process::id() && comm.starts_with("vrrpd")).then_some(pid)
}

/// The error for a table that a running daemon owns, naming the ways out.
pub(crate) fn owned_elsewhere(family: &str, t: &str, pid: u32) -> anyhow::Error {
    anyhow::anyhow!(
        "nftables table {family} {t} belongs to vrrpd pid {pid}, which is running; left \
         alone. Give this daemon tables of its own with a top-level `instance NAME` or \
         `nftables TABLE` in global_defs, or `-i ID`"
    )
}

/// vrrpd's no-accept tables, installed on first need.
#[derive(Debug)]
pub struct NoAcceptFirewall {
    table: String,
    options: NftOptions,
    /// Whether `vips_link_local` (index 0) / `vips_link_local_name` (1) and their rules
    /// exist yet.
    link_local: [std::sync::atomic::AtomicBool; 2],
}

impl NoAcceptFirewall {
    /// Replaces any earlier copy of the tables named `table` with empty ones, unless another
    /// running vrrpd owns them.
    pub async fn install(table: &str, options: NftOptions) -> Result<Self> {
        if let Some(e) = owned_by_another_daemon(table).await {
            return Err(e);
        }
        nft(&ruleset(table, std::process::id(), &options))
            .await
            .with_context(|| {
                format!("installing the no_accept rules (nftables tables ip/ip6 {table})")
            })?;
        Ok(NoAcceptFirewall {
            table: table.to_string(),
            options,
            link_local: [false.into(), false.into()],
        })
    }

    /// Drops traffic to and from `addrs` (before they are added to the interface), or stops
    /// doing so (after they were removed). `dont_track_primary`: the instance's own setting,
    /// which (without `nftables_ifindex`) keys its link-local VIPs by interface name.
    pub async fn set(
        &self,
        addrs: &[(IpAddr, &str)],
        add: bool,
        dont_track_primary: bool,
    ) -> Result<()> {
        use std::sync::atomic::Ordering;
        let by_name = dont_track_primary && !self.options.ifindex;
        let flag = &self.link_local[usize::from(by_name)];
        let made = flag.load(Ordering::Relaxed);
        // Before the set exists no link-local VIP is in it: nothing to take out.
        let addrs: Vec<(IpAddr, &str)> = addrs
            .iter()
            .copied()
            .filter(|(a, _)| add || made || !is_link_local(a))
            .collect();
        if addrs.is_empty() {
            return Ok(());
        }
        let make = add && !made && addrs.iter().any(|(a, _)| is_link_local(a));
        let mut script = if make {
            link_local_script(&self.table, by_name, &self.options)
        } else {
            String::new()
        };
        script.push_str(&element_commands(&self.table, &addrs, add, by_name));
        nft(&script).await?;
        if make {
            flag.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Deletes the tables (on exit).
    pub async fn remove(&self) -> Result<()> {
        nft(&clear_script(&self.table)).await
    }
}

/// Why tables named `table` must be left alone: another running vrrpd owns them.
pub async fn owned_by_another_daemon(table: &str) -> Option<anyhow::Error> {
    for fam in ["ip", "ip6"] {
        if let Some(pid) = live_owner(fam, table).await {
            return Some(owned_elsewhere(fam, table, pid));
        }
    }
    None
}

/// Deletes the tables named `table` that a crashed run left behind (or that an earlier run
/// kept), unless another running vrrpd owns them.
pub async fn remove_tables(table: &str) -> Result<()> {
    if let Some(e) = owned_by_another_daemon(table).await {
        return Err(e);
    }
    nft(&clear_script(table)).await
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
        let r = ruleset("vrrpd", 42, &NftOptions::default());
        assert!(r.starts_with(
            "table ip vrrpd\ndelete table ip vrrpd\ntable ip6 vrrpd\ndelete table ip6 vrrpd\n"
        ));
        assert!(r.contains("add table ip6 vrrpd { comment \"vrrpd pid 42\"; }"));
        // Chains must exist before a rule jumps to them.
        let chain = r.find("add chain ip6 vrrpd out_link_local").unwrap();
        let goto = r.find("goto out_link_local").unwrap();
        assert!(chain < goto);
    }

    #[test]
    fn removal_adds_before_deleting_and_link_local_goes_by_interface() {
        let a: IpAddr = "198.18.0.100".parse().unwrap();
        let b: IpAddr = "2001:2::100".parse().unwrap();
        let ll: IpAddr = "fe80::52".parse().unwrap();
        assert_eq!(
            element_commands("vrrpd", &[(a, "eth0")], true, false),
            "add element ip vrrpd vips { 198.18.0.100 }\n"
        );
        let del = element_commands("vrrpd", &[(b, "eth0")], false, false);
        assert_eq!(
            del,
            "add element ip6 vrrpd vips { 2001:2::100 }\ndelete element ip6 vrrpd vips { 2001:2::100 }\n"
        );
        assert_eq!(
            element_commands("vrrpd", &[(ll, "eth0")], true, false),
            "add element ip6 vrrpd vips_link_local { fe80::52 . \"eth0\" }\n"
        );
        assert!(is_link_local(&ll) && !is_link_local(&b) && !is_link_local(&a));
        let o = NftOptions::default();
        assert!(
            link_local_script("vrrpd", false, &o).contains("ip6 daddr . iif @vips_link_local drop")
        );
    }

    #[test]
    fn options_set_the_priority_counters_and_the_link_local_key() {
        let o = NftOptions {
            priority: 5,
            counters: true,
            ifindex: false,
        };
        let r = ruleset("t", 1, &o);
        assert!(r.contains("hook input priority 5;"), "{r}");
        assert!(r.contains("ip daddr @vips counter drop"), "{r}");
        assert!(r.contains("fe80::/10 counter goto in_link_local"), "{r}");
        assert!(!ruleset("t", 1, &NftOptions::default()).contains("counter"));
        let by_name = link_local_script("t", true, &o);
        assert!(by_name.contains("vips_link_local_name { type ipv6_addr . ifname; }"));
        assert!(by_name.contains("ip6 daddr . iifname @vips_link_local_name counter drop"));
        let ll: IpAddr = "fe80::52".parse().unwrap();
        assert!(
            element_commands("t", &[(ll, "eth0")], true, true).contains("vips_link_local_name")
        );
    }

    #[test]
    fn tables_are_named_by_nftables_then_instance_then_config_id() {
        assert_eq!(table_name(Some("lb"), Some("a"), Some("b")), "lb");
        assert_eq!(table_name(None, Some("lb-a.1"), Some("b")), "vrrpd_lb_a_1");
        assert_eq!(table_name(None, None, Some("node2")), "vrrpd_node2");
        assert_eq!(table_name(None, None, None), "vrrpd");
        assert_eq!(table_name(None, Some(""), None), "vrrpd");
    }

    #[test]
    fn the_owner_pid_is_read_from_the_table_comment() {
        let listing = "table ip vrrpd_a {\n\tcomment \"vrrpd pid 4242\"\n\tset vips {\n";
        assert_eq!(owner_in_listing(listing), Some(4242));
        assert_eq!(
            owner_in_listing("table ip keepalived {\n\tset vips {\n"),
            None
        );
        assert_eq!(
            owner_in_listing("table ip x {\n\tcomment \"vrrpd pid \"\n"),
            None
        );
    }
}
