//! Interface and address management over rtnetlink: looking up links and their addresses, adding
//! and removing virtual IPs with keepalived's attributes (prefix, broadcast, scope, label), and
//! telling whether an IPv6 link-local address is usable yet (not tentative), since an advert sent
//! from a tentative address fails and vrrpd must not claim MASTER while it cannot send.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::Handle;

use crate::spec::{Broadcast, RouteKind, RouteSpec, RuleSpec, Vip};

/// What went wrong talking to the kernel.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// The kernel refused a request.
    #[error("netlink: {0}")]
    Netlink(#[from] rtnetlink::Error),
    /// The netlink socket failed.
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
    /// No interface has this name.
    #[error("interface {0} not found")]
    NoSuchInterface(String),
}

/// State of one link, as far as VRRP cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// The kernel's interface index.
    pub index: u32,
    /// The interface name.
    pub name: String,
    /// Its MAC address, when it has one.
    pub mac: Option<[u8; 6]>,
    /// Administratively up and with carrier (`IFF_UP` and `IFF_RUNNING`).
    pub usable: bool,
    /// Its MTU (0 when the kernel did not say).
    pub mtu: u32,
}

impl LinkInfo {
    /// Reads a link message; `None` when it lacks an index or name.
    pub fn from_message(m: &LinkMessage) -> Option<Self> {
        let mut name = None;
        let mut mac = None;
        let mut mtu = 0;
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => name = Some(n.clone()),
                LinkAttribute::Mtu(m) => mtu = *m,
                LinkAttribute::Address(b) if b.len() == 6 => {
                    let mut x = [0u8; 6];
                    x.copy_from_slice(b);
                    mac = Some(x);
                }
                _ => {}
            }
        }
        let f = m.header.flags;
        Some(LinkInfo {
            index: m.header.index,
            name: name?,
            mac,
            usable: f.contains(LinkFlags::Up) && f.contains(LinkFlags::Running),
            mtu,
        })
    }
}

/// One address present on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// The interface the address is on.
    pub index: u32,
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// A secondary address (not the interface's primary).
    pub secondary: bool,
    /// Still in DAD: adverts cannot be sent from it yet.
    pub tentative: bool,
    /// The address label (`IFA_LABEL`).
    pub label: Option<String>,
}

impl IfAddr {
    /// Reads an address message; `None` when it carries no address.
    pub fn from_message(m: &AddressMessage) -> Option<Self> {
        let mut local = None;
        let mut address = None;
        let mut label = None;
        let mut flags = AddressFlags::empty();
        for a in &m.attributes {
            match a {
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Address(ip) => address = Some(*ip),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                AddressAttribute::Flags(f) => flags = *f,
                _ => {}
            }
        }
        let hf = m.header.flags;
        Some(IfAddr {
            index: m.header.index,
            addr: local.or(address)?,
            prefix_len: m.header.prefix_len,
            secondary: hf.contains(AddressHeaderFlags::Secondary)
                || flags.contains(AddressFlags::Secondary),
            tentative: hf.contains(AddressHeaderFlags::Tentative)
                || flags.contains(AddressFlags::Tentative),
            label,
        })
    }
}

/// A cloneable handle to the kernel's routing netlink.
#[derive(Clone)]
pub struct Netlink {
    handle: Handle,
}

impl Netlink {
    /// Opens a netlink connection with receive buffer `rcvbuf` (`vrrp_netlink_cmd_rcv_bufs`)
    /// and spawns its driver on the current tokio runtime.
    pub fn connect(rcvbuf: keepalived_conf::RcvBuf) -> Result<Self, NetlinkError> {
        let (mut conn, handle, _) = rtnetlink::new_connection()?;
        use rtnetlink::sys::AsyncSocket;
        super::rcvbuf::apply(conn.socket_mut().socket_mut(), rcvbuf, "netlink command");
        tokio::spawn(conn);
        Ok(Netlink { handle })
    }

    /// The rtnetlink handle, for the link kinds other modules create (VMAC).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Looks one interface up by name.
    pub async fn link_by_name(&self, name: &str) -> Result<LinkInfo, NetlinkError> {
        let mut s = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match s.try_next().await {
            Ok(Some(m)) => {
                LinkInfo::from_message(&m).ok_or_else(|| NetlinkError::NoSuchInterface(name.into()))
            }
            Ok(None) => Err(NetlinkError::NoSuchInterface(name.into())),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => {
                Err(NetlinkError::NoSuchInterface(name.into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Lists every interface.
    pub async fn links(&self) -> Result<Vec<LinkInfo>, NetlinkError> {
        let mut out = Vec::new();
        let mut s = self.handle.link().get().execute();
        while let Some(m) = s.try_next().await? {
            out.extend(LinkInfo::from_message(&m));
        }
        Ok(out)
    }

    /// Every address on interface `index`.
    pub async fn addresses(&self, index: u32) -> Result<Vec<IfAddr>, NetlinkError> {
        let mut out = Vec::new();
        let mut s = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        while let Some(m) = s.try_next().await? {
            if let Some(a) = IfAddr::from_message(&m)
                && a.index == index
            {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// The address keepalived uses as the source of IPv4 adverts: the first primary address.
    pub async fn primary_v4(&self, index: u32) -> Result<Option<Ipv4Addr>, NetlinkError> {
        Ok(primary_v4_of(&self.addresses(index).await?))
    }

    /// The usable (not tentative) IPv6 link-local address of the interface, if any.
    pub async fn usable_link_local(&self, index: u32) -> Result<Option<Ipv6Addr>, NetlinkError> {
        Ok(usable_link_local_of(&self.addresses(index).await?))
    }

    /// Adds a VIP; an address that is already there is fine.
    pub async fn add_vip(&self, index: u32, vip: &Vip) -> Result<(), NetlinkError> {
        self.try_add_vip(index, vip).await.map(drop)
    }

    /// Adds a VIP: `true` when it was added, `false` when it was there already.
    pub async fn try_add_vip(&self, index: u32, vip: &Vip) -> Result<bool, NetlinkError> {
        let mut req = self.handle.address().add(index, vip.addr, vip.prefix_len);
        let msg = req.message_mut();
        fill_vip_message(msg, vip);
        created(req.execute().await)
    }

    /// Removes a VIP; an address that is not there is fine.
    pub async fn del_vip(&self, index: u32, vip: &Vip) -> Result<(), NetlinkError> {
        let mut msg = AddressMessage::default();
        msg.header.family = match vip.addr {
            IpAddr::V4(_) => netlink_packet_route::AddressFamily::Inet,
            IpAddr::V6(_) => netlink_packet_route::AddressFamily::Inet6,
        };
        msg.header.index = index;
        msg.header.prefix_len = vip.prefix_len;
        msg.attributes.push(AddressAttribute::Local(vip.addr));
        // The peer is part of the address's identity: without it the kernel finds nothing
        // (keepalived 2.2.7 leaves `peer` addresses behind at stop this way).
        if let Some(peer) = vip.peer {
            msg.attributes.push(AddressAttribute::Address(peer));
        } else if vip.addr.is_ipv6() {
            msg.attributes.push(AddressAttribute::Address(vip.addr));
        }
        match self.handle.address().del(msg).execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e))
                if e.raw_code() == -libc::EADDRNOTAVAIL || e.raw_code() == -libc::ENODEV =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// True when `addr` is configured on interface `index`.
    pub async fn has_address(&self, index: u32, addr: IpAddr) -> Result<bool, NetlinkError> {
        Ok(self.addresses(index).await?.iter().any(|a| a.addr == addr))
    }
}

/// Adjusts the builder's message to keepalived's semantics: `brd` only when asked, scope, label,
/// and `nodad` for IPv6 VIPs (the backup held no such address, so DAD can only delay us).
fn fill_vip_message(msg: &mut AddressMessage, vip: &Vip) {
    // rtnetlink's builder leaves a multicast address (an `autojoin` group) out of the message;
    // the kernel takes it as the local address like any other.
    if !msg
        .attributes
        .iter()
        .any(|a| matches!(a, AddressAttribute::Local(_)))
    {
        msg.attributes
            .retain(|a| !matches!(a, AddressAttribute::Multicast(_)));
        msg.attributes.push(AddressAttribute::Address(vip.addr));
        msg.attributes.push(AddressAttribute::Local(vip.addr));
    }
    msg.attributes
        .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
    if let IpAddr::V4(a) = vip.addr {
        match vip.broadcast {
            Broadcast::None => {}
            Broadcast::Derived => {
                if vip.prefix_len < 31 {
                    let host = u32::MAX >> u32::from(vip.prefix_len);
                    let brd = Ipv4Addr::from(u32::from(a) | host);
                    msg.attributes.push(AddressAttribute::Broadcast(brd));
                }
            }
            Broadcast::Addr(b) => msg.attributes.push(AddressAttribute::Broadcast(b)),
        }
        if let Some(l) = &vip.label {
            msg.attributes.push(AddressAttribute::Label(l.clone()));
        }
    }
    if let Some(peer) = vip.peer {
        msg.attributes
            .retain(|a| !matches!(a, AddressAttribute::Address(_)));
        msg.attributes.push(AddressAttribute::Address(peer));
    }
    let mut flags = AddressFlags::empty();
    // IPv6 VIPs skip duplicate address detection always (the address moves between hosts).
    if vip.addr.is_ipv6() || vip.nodad {
        msg.header.flags |= AddressHeaderFlags::Nodad;
        flags |= AddressFlags::Nodad;
    }
    if vip.noprefixroute {
        flags |= AddressFlags::Noprefixroute;
    }
    if vip.home {
        flags |= AddressFlags::Homeaddress;
    }
    if vip.mngtmpaddr {
        flags |= AddressFlags::Managetempaddr;
    }
    if vip.autojoin {
        flags |= AddressFlags::Mcautojoin;
    }
    if !flags.is_empty() {
        msg.attributes.push(AddressAttribute::Flags(flags));
    }
    if let (Some(pref), true) = (vip.preferred_lft, vip.addr.is_ipv6()) {
        let mut ci = netlink_packet_route::address::CacheInfo::default();
        ci.ifa_preferred = pref;
        ci.ifa_valid = u32::MAX;
        msg.attributes.push(AddressAttribute::CacheInfo(ci));
    }
    if let Some(s) = vip.scope {
        msg.header.scope = AddressScope::from(s);
    }
}

/// The outcome of an exclusive add: `true` added, `false` already there (EEXIST).
fn created(res: Result<(), rtnetlink::Error>) -> Result<bool, NetlinkError> {
    match res {
        Ok(()) => Ok(true),
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The first non-secondary IPv4 address, as the kernel lists them.
pub fn primary_v4_of(addrs: &[IfAddr]) -> Option<Ipv4Addr> {
    addrs.iter().find_map(|a| match a.addr {
        IpAddr::V4(v4) if !a.secondary => Some(v4),
        _ => None,
    })
}

/// The first link-local IPv6 address that finished duplicate address detection.
pub fn usable_link_local_of(addrs: &[IfAddr]) -> Option<Ipv6Addr> {
    addrs.iter().find_map(|a| match a.addr {
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 && !a.tentative => Some(v6),
        _ => None,
    })
}

impl Netlink {
    fn route_message(
        &self,
        r: &RouteSpec,
        oif: Option<u32>,
    ) -> Result<netlink_packet_route::route::RouteMessage, NetlinkError> {
        use netlink_packet_route::route::{RouteScope, RouteType};
        fn bad(e: impl std::fmt::Display) -> NetlinkError {
            NetlinkError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                e.to_string(),
            ))
        }
        let mut b = rtnetlink::RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(r.dst, r.prefix_len)
            .map_err(bad)?
            .table_id(r.table);
        if let Some(gw) = r.via {
            b = b.gateway(gw).map_err(bad)?;
        }
        if let Some(src) = r.src {
            b = b.pref_source(src).map_err(bad)?;
        }
        if let Some(m) = r.metric {
            b = b.priority(m);
        }
        if let Some(i) = oif {
            b = b.output_interface(i);
        }
        b = match r.kind {
            RouteKind::Unicast => b,
            RouteKind::Blackhole => b.kind(RouteType::BlackHole),
            RouteKind::Unreachable => b.kind(RouteType::Unreachable),
            RouteKind::Prohibit => b.kind(RouteType::Prohibit),
        };
        // `ip route add X dev Y` without a gateway is a link-scope route.
        if r.via.is_none() && oif.is_some() && r.kind == RouteKind::Unicast && r.nexthops.is_empty()
        {
            b = b.scope(RouteScope::Link);
        }
        // As keepalived marks them, so `ip route show proto keepalived` lists both daemons'.
        b = b.protocol(netlink_packet_route::route::RouteProtocol::KeepAlived);
        let mut msg = b.build();
        if !r.nexthops.is_empty() {
            msg.attributes
                .push(netlink_packet_route::route::RouteAttribute::MultiPath(
                    self.next_hops(r)?,
                ));
        }
        Ok(msg)
    }

    /// Adds a route; one that is already there is fine.
    /// The paths of a multipath route (the kernel counts a weight of N as N - 1 hops).
    fn next_hops(
        &self,
        r: &RouteSpec,
    ) -> Result<Vec<netlink_packet_route::route::RouteNextHop>, NetlinkError> {
        use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteNextHop};
        let mut out = Vec::new();
        for n in &r.nexthops {
            let interface_index = match &n.dev {
                Some(d) => nix::net::if_::if_nametoindex(d.as_str())
                    .map_err(|_| NetlinkError::NoSuchInterface(d.clone()))?,
                None => 0,
            };
            let mut attributes = Vec::new();
            match n.via {
                Some(IpAddr::V4(a)) => {
                    attributes.push(RouteAttribute::Gateway(RouteAddress::Inet(a)))
                }
                Some(IpAddr::V6(a)) => {
                    attributes.push(RouteAttribute::Gateway(RouteAddress::Inet6(a)))
                }
                None => {}
            }
            let mut nh = RouteNextHop::default();
            nh.hops = u8::try_from(n.weight.clamp(1, 256) - 1).unwrap_or(u8::MAX);
            nh.interface_index = interface_index;
            nh.attributes = attributes;
            out.push(nh);
        }
        Ok(out)
    }

    /// Adds route `r`, through `oif` when the route names no interface of its own.
    pub async fn add_route(&self, r: &RouteSpec, oif: Option<u32>) -> Result<(), NetlinkError> {
        self.try_add_route(r, oif).await.map(drop)
    }

    /// Adds route `r`: `true` when it was added, `false` when it was there already.
    pub async fn try_add_route(
        &self,
        r: &RouteSpec,
        oif: Option<u32>,
    ) -> Result<bool, NetlinkError> {
        let msg = self.route_message(r, oif)?;
        created(self.handle.route().add(msg).execute().await)
    }

    /// Removes a route; one that is not there is fine.
    pub async fn del_route(&self, r: &RouteSpec, oif: Option<u32>) -> Result<(), NetlinkError> {
        let msg = self.route_message(r, oif)?;
        match self.handle.route().del(msg).execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e))
                if e.raw_code() == -libc::ESRCH || e.raw_code() == -libc::ENODEV =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Netlink {
    fn rule_message(&self, r: &RuleSpec) -> netlink_packet_route::rule::RuleMessage {
        use netlink_packet_route::rule::RuleAction;
        let base = self
            .handle
            .rule()
            .add()
            .table_id(r.table)
            .action(RuleAction::ToTable);
        let base = match r.priority {
            Some(p) => base.priority(p),
            None => base,
        };
        let mut base = base;
        base.message_mut()
            .attributes
            .push(netlink_packet_route::rule::RuleAttribute::Protocol(
                netlink_packet_route::route::RouteProtocol::KeepAlived,
            ));
        if let Some(iif) = &r.iif {
            base.message_mut()
                .attributes
                .push(netlink_packet_route::rule::RuleAttribute::Iifname(
                    iif.clone(),
                ));
        }
        if r.is_v6() {
            let mut req = base.v6();
            if let Some((IpAddr::V6(a), l)) = r.from {
                req = req.source_prefix(a, l);
            }
            if let Some((IpAddr::V6(a), l)) = r.to {
                req = req.destination_prefix(a, l);
            }
            req.message_mut().clone()
        } else {
            let mut req = base.v4();
            if let Some((IpAddr::V4(a), l)) = r.from {
                req = req.source_prefix(a, l);
            }
            if let Some((IpAddr::V4(a), l)) = r.to {
                req = req.destination_prefix(a, l);
            }
            req.message_mut().clone()
        }
    }

    /// Adds a policy rule; one that is already there is fine.
    pub async fn add_rule(&self, r: &RuleSpec) -> Result<(), NetlinkError> {
        self.try_add_rule(r).await.map(drop)
    }

    /// Adds a policy rule: `true` when it was added, `false` when it was there already.
    pub async fn try_add_rule(&self, r: &RuleSpec) -> Result<bool, NetlinkError> {
        let mut req = self.handle.rule().add();
        *req.message_mut() = self.rule_message(r);
        created(req.execute().await)
    }

    /// Removes a policy rule; one that is not there is fine.
    pub async fn del_rule(&self, r: &RuleSpec) -> Result<(), NetlinkError> {
        match self.handle.rule().del(self.rule_message(r)).execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e))
                if e.raw_code() == -libc::ENOENT || e.raw_code() == -libc::ESRCH =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(addr: &str, secondary: bool, tentative: bool) -> IfAddr {
        IfAddr {
            index: 2,
            addr: addr.parse().unwrap(),
            prefix_len: 24,
            secondary,
            tentative,
            label: None,
        }
    }

    #[test]
    fn primary_skips_secondaries_and_v6() {
        let l = [
            a("2001:2::1", false, false),
            a("198.18.0.9", true, false),
            a("198.18.0.1", false, false),
        ];
        assert_eq!(primary_v4_of(&l), Some("198.18.0.1".parse().unwrap()));
        assert_eq!(primary_v4_of(&l[..2]), None);
    }

    #[test]
    fn tentative_link_local_is_not_usable() {
        let l = [a("fe80::1", false, true), a("2001:2::1", false, false)];
        assert_eq!(usable_link_local_of(&l), None);
        let l = [a("fe80::1", false, false)];
        assert_eq!(usable_link_local_of(&l), Some("fe80::1".parse().unwrap()));
    }

    #[test]
    fn derived_broadcast_and_label() {
        let mut m = AddressMessage::default();
        let vip = Vip {
            broadcast: Broadcast::Derived,
            scope: Some(253),
            label: Some("eth0:vip".into()),
            ..Vip::plain("198.18.0.100".parse().unwrap(), 24, "eth0")
        };
        fill_vip_message(&mut m, &vip);
        assert!(m.attributes.contains(&AddressAttribute::Broadcast(
            "198.18.0.255".parse().unwrap()
        )));
        assert!(
            m.attributes
                .contains(&AddressAttribute::Label("eth0:vip".into()))
        );
        assert_eq!(m.header.scope, AddressScope::Link);
    }
}
