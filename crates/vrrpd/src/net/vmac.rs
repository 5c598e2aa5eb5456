//! `use_vmac`: the RFC's virtual MAC (00:00:5e:00:01:VRID, IPv6 00:00:5e:00:02:VRID) on a
//! macvlan of the instance's interface in private mode, as keepalived 2.2.7 makes it: so the
//! VIP keeps one MAC wherever it lives and no client depends on hearing a gratuitous ARP.
//! Created (or re-created, when a killed run left it) with rtnetlink before the instance
//! starts, deleted on exit. The sysctls are keepalived's (measured in the lab): on the base
//! interface arp_ignore=1 and arp_filter=1 (it no longer answers ARP for the VIP, while the
//! host's own address keeps answering), on the VMAC arp_ignore=1, arp_filter=0, rp_filter=0,
//! accept_local=1, promote_secondaries=1 and no IPv6 link-local address; and arp_announce=2
//! on the base (see [`SYSCTLS`]).

use anyhow::{Context, Result};
use futures_util::TryStreamExt;
use rtnetlink::packet_route::link::MacVlanMode;
use rtnetlink::{LinkMacVlan, LinkUnspec};

use super::netlink::Netlink;

/// One VMAC interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacSpec {
    /// `use_vmac NAME`, else `<vmac_prefix>.<VRID>` (`vrrp.51`).
    pub name: String,
    /// The instance's `interface`.
    pub base: String,
    /// The virtual MAC, 00:00:5e:00:01:VRID (IPv6: 00:00:5e:00:02:VRID).
    pub mac: [u8; 6],
    /// `vmac_xmit_base`: adverts go out (and are read) on the base interface.
    pub xmit_base: bool,
    /// An IPv6 instance: the VMAC gets a copy of the base's link-local, its advert source.
    pub v6: bool,
}

/// The RFC 5798 virtual MAC of `vrid`.
pub fn virtual_mac(vrid: u8, v6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if v6 { 0x02 } else { 0x01 }, vrid]
}

/// `use_vmac`'s optional MAC: 6 octets, or 5 with the VRID appended (keepalived).
pub fn parse_mac(s: &str, vrid: u8) -> Option<[u8; 6]> {
    let parts: Vec<u8> = s
        .split(':')
        .map(|p| u8::from_str_radix(p, 16).ok())
        .collect::<Option<_>>()?;
    match parts.len() {
        6 => Some([parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]]),
        5 => Some([parts[0], parts[1], parts[2], parts[3], parts[4], vrid]),
        _ => None,
    }
}

/// keepalived's sysctls, plus arp_announce=2 on the base: (interface is the base, key,
/// value). Without arp_announce the base interface sends its ARP requests (for the client a
/// VIP answers) with the VIP as sender address and the base MAC, and the client re-learns the
/// VIP at the host's own MAC: the race seen with keepalived 2.2.7, closed here.
pub const SYSCTLS: [(bool, &str, &str); 8] = [
    (true, "arp_ignore", "1"),
    (true, "arp_filter", "1"),
    (true, "arp_announce", "2"),
    (false, "arp_ignore", "1"),
    (false, "arp_filter", "0"),
    (false, "rp_filter", "0"),
    (false, "accept_local", "1"),
    (false, "promote_secondaries", "1"),
];

fn sysctl(ifname: &str, key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/net/ipv4/conf/{ifname}/{key}");
    std::fs::write(&path, value).with_context(|| format!("writing {path}"))
}

/// Creates the VMAC (deleting a leftover of the same name first), sets the sysctls and
/// brings it up; returns its index.
pub async fn ensure(nl: &Netlink, v: &VmacSpec) -> Result<u32> {
    let h = nl.handle();
    let base = nl
        .link_by_name(&v.base)
        .await
        .with_context(|| format!("VMAC {}: base interface {}", v.name, v.base))?;
    if let Ok(old) = nl.link_by_name(&v.name).await {
        tracing::info!(vmac = %v.name, "removing a VMAC interface left by a previous run");
        h.link().del(old.index).execute().await?;
    }
    h.link()
        .add(
            LinkMacVlan::new(&v.name, base.index, MacVlanMode::Private)
                .address(v.mac.to_vec())
                .build(),
        )
        .execute()
        .await
        .with_context(|| format!("creating VMAC interface {} on {}", v.name, v.base))?;
    let link = nl.link_by_name(&v.name).await?;
    // No IPv6 link-local on the VMAC (keepalived's addrgenmode none), before it comes up.
    let _ = std::fs::write(
        format!("/proc/sys/net/ipv6/conf/{}/addr_gen_mode", v.name),
        "1",
    );
    for (on_base, key, value) in SYSCTLS {
        let ifname = if on_base { &v.base } else { &v.name };
        sysctl(ifname, key, value)?;
    }
    h.link()
        .set(LinkUnspec::new_with_index(link.index).up().build())
        .execute()
        .await
        .with_context(|| format!("bringing VMAC interface {} up", v.name))?;
    if v.v6 && !v.xmit_base {
        // VRRPv3 over IPv6 is sent from a link-local address of the sending interface.
        if let Some(ll) = nl.usable_link_local(base.index).await? {
            let addr = crate::spec::Vip {
                scope: Some(253),
                ..crate::spec::Vip::plain(ll.into(), 64, &v.name)
            };
            nl.add_vip(link.index, &addr)
                .await
                .with_context(|| format!("adding {ll} to VMAC interface {}", v.name))?;
        }
    }
    Ok(link.index)
}

/// Deletes the VMAC (its addresses go with it).
pub async fn remove(nl: &Netlink, name: &str) -> Result<()> {
    let h = nl.handle();
    let mut links = h.link().get().match_name(name.to_string()).execute();
    if let Some(l) = links.try_next().await.ok().flatten() {
        h.link().del(l.header.index).execute().await?;
    }
    Ok(())
}

/// The VMACs of `old` that no instance of `new` names, in `old`'s order, each once: a reload
/// deletes them, as keepalived 2.2.7 does (measured in the lab), instead of leaving them to exit.
pub fn dropped<'a>(
    old: impl IntoIterator<Item = &'a VmacSpec>,
    new: impl IntoIterator<Item = &'a VmacSpec> + Clone,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for o in old {
        let kept = new.clone().into_iter().any(|n| n.name == o.name);
        if !kept && !out.contains(&o.name) {
            out.push(o.name.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_mac_is_the_rfc_one_and_five_octets_get_the_vrid() {
        assert_eq!(virtual_mac(51, false), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(virtual_mac(7, true), [0, 0, 0x5e, 0, 2, 7]);
        assert_eq!(
            parse_mac("02:11:22:33:44", 9),
            Some([2, 0x11, 0x22, 0x33, 0x44, 9])
        );
        assert_eq!(
            parse_mac("02:11:22:33:44:55", 9),
            Some([2, 0x11, 0x22, 0x33, 0x44, 0x55])
        );
        assert_eq!(parse_mac("zz:11", 9), None);
    }

    fn spec(name: &str) -> VmacSpec {
        VmacSpec {
            name: name.into(),
            base: "eth0".into(),
            mac: virtual_mac(51, false),
            xmit_base: false,
            v6: false,
        }
    }

    #[test]
    fn only_the_vmacs_the_new_file_no_longer_names_are_dropped() {
        let old = [
            spec("vrrp.51"),
            spec("vrrp.52"),
            spec("vrrp1.52"),
            spec("vrrp.52"),
        ];
        let new = [spec("vrrp.51")];
        assert_eq!(dropped(&old, &new), ["vrrp.52", "vrrp1.52"]);
        assert!(dropped(&old, &old).is_empty());
    }
}
