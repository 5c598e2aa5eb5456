//! Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6) announcing a VIP after
//! a takeover, so switches and clients move their caches to the new master at once. Frame
//! building is pure (tested byte by byte); sending uses an AF_PACKET socket for ARP and a raw
//! ICMPv6 socket (the kernel adds the IPv6 header and checksum) for NA.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

const ETH_P_ARP: u16 = 0x0806;
const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// ff02::1, all nodes.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The Ethernet frame of a gratuitous ARP request for `vip` from `mac`, as keepalived sends it:
/// broadcast, opcode request, sender = target = the VIP, target hardware address broadcast.
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].copy_from_slice(&BROADCAST_MAC);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    let arp = &mut f[14..];
    arp[0..2].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
    arp[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    arp[4] = 6;
    arp[5] = 4;
    arp[6..8].copy_from_slice(&1u16.to_be_bytes()); // request
    arp[8..14].copy_from_slice(&mac);
    arp[14..18].copy_from_slice(&vip.octets());
    arp[18..24].copy_from_slice(&BROADCAST_MAC);
    arp[24..28].copy_from_slice(&vip.octets());
    f
}

/// The ICMPv6 body of an unsolicited neighbour advertisement for `target` (override flag set,
/// target link-layer address option); the kernel fills in the checksum.
pub fn na_message(mac: [u8; 6], target: Ipv6Addr, router: bool) -> [u8; 32] {
    let mut m = [0u8; 32];
    m[0] = 136; // neighbour advertisement
    m[4] = if router { 0xa0 } else { 0x20 }; // R and O flags
    m[8..24].copy_from_slice(&target.octets());
    m[24] = 2; // target link-layer address option
    m[25] = 1; // length in units of 8 bytes
    m[26..32].copy_from_slice(&mac);
    m
}

/// Sends announcements on one interface.
pub struct Announcer {
    ifindex: u32,
    mac: [u8; 6],
    arp: Option<Socket>,
    icmp6: Option<Socket>,
}

impl Announcer {
    /// A sender for interface `ifname`, announcing `mac`.
    pub fn new(ifname: &str, ifindex: u32, mac: [u8; 6]) -> Self {
        Announcer {
            ifindex,
            mac,
            arp: open_packet(ifname).ok(),
            icmp6: open_icmp6(ifname, ifindex).ok(),
        }
    }

    /// Sends one gratuitous ARP for `vip`.
    pub fn send_garp(&self, vip: Ipv4Addr) -> io::Result<()> {
        let sock = self
            .arp
            .as_ref()
            .ok_or_else(|| io::Error::other("no packet socket"))?;
        let frame = garp_frame(self.mac, vip);
        let addr = packet_addr(self.ifindex, &BROADCAST_MAC);
        sock.send_to(&frame, &addr)?;
        Ok(())
    }

    /// Sends one unsolicited neighbour advertisement for `vip`.
    pub fn send_na(&self, vip: Ipv6Addr) -> io::Result<()> {
        let sock = self
            .icmp6
            .as_ref()
            .ok_or_else(|| io::Error::other("no icmpv6 socket"))?;
        let msg = na_message(self.mac, vip, false);
        let dst = SockAddr::from(SocketAddrV6::new(ALL_NODES, 0, 0, self.ifindex));
        sock.send_to(&msg, &dst)?;
        Ok(())
    }
}

/// A send-only packet socket: protocol 0 receives nothing, so unread ARP traffic never queues
/// up in it; the frame's protocol is given per send in the destination address.
fn open_packet(ifname: &str) -> io::Result<Socket> {
    let s = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))?;
    s.bind_device(Some(ifname.as_bytes()))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

fn open_icmp6(ifname: &str, ifindex: u32) -> io::Result<Socket> {
    let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    s.bind_device(Some(ifname.as_bytes()))?;
    s.set_multicast_hops_v6(255)?;
    s.set_unicast_hops_v6(255)?;
    s.set_multicast_if_v6(ifindex)?;
    s.set_multicast_loop_v6(false)?;
    block_all_icmp6(&s)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// `ICMP6_FILTER` blocking every type: the socket only sends, so it should queue nothing.
fn block_all_icmp6(s: &Socket) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    const ICMP6_FILTER: libc::c_int = 1;
    let filter = [u32::MAX; 8];
    // SAFETY: valid fd; pointer to a live 32-byte icmp6_filter and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_ICMPV6,
            ICMP6_FILTER,
            filter.as_ptr().cast(),
            std::mem::size_of_val(&filter) as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn packet_addr(ifindex: u32, mac: &[u8; 6]) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: sockaddr_ll is a platform sockaddr type that fits in the storage.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as u16;
    ll.sll_protocol = ETH_P_ARP.to_be();
    ll.sll_ifindex = ifindex as i32;
    ll.sll_halen = 6;
    ll.sll_addr[..6].copy_from_slice(mac);
    // SAFETY: the family is AF_PACKET and the length is that of sockaddr_ll.
    unsafe {
        SockAddr::new(
            storage,
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_frame_layout() {
        let mac = [0x02, 0, 0, 0, 0, 0x01];
        let f = garp_frame(mac, Ipv4Addr::new(198, 18, 0, 100));
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &mac);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[14..22], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&f[22..28], &mac);
        assert_eq!(&f[28..32], &[198, 18, 0, 100]);
        assert_eq!(&f[32..38], &[0xff; 6]);
        assert_eq!(&f[38..42], &[198, 18, 0, 100]);
    }

    #[test]
    fn na_layout() {
        let mac = [0x02, 0, 0, 0, 0, 0x01];
        let t: Ipv6Addr = "2001:2::100".parse().unwrap();
        let m = na_message(mac, t, false);
        assert_eq!(m[0], 136);
        assert_eq!(m[4], 0x20);
        assert_eq!(&m[8..24], &t.octets());
        assert_eq!(&m[24..26], &[2, 1]);
        assert_eq!(&m[26..32], &mac);
    }
}
