//! Raw IPPROTO_VRRP (112) sockets, one per interface and address family, shared by every
//! instance on that interface, and for VRRPv2 `auth_type AH` an IPv4 one for protocol 51
//! (keepalived's AH instance listens on that protocol only). IPv4 is sent with `IP_HDRINCL`
//! so the header bytes (TOS 0xc0, TTL 255, DF clear, incrementing id) match what keepalived
//! puts on the wire; IPv6 lets the kernel build the header and the checksum (`IPV6_CHECKSUM`)
//! and reports the hop limit and the destination through ancillary data, which the receive
//! checks need.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn6, SockaddrStorage, recvmsg, sendmsg,
    setsockopt, sockopt,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

/// IANA protocol number of VRRP.
pub const IPPROTO_VRRP: i32 = 112;
/// IANA protocol number of the IPsec authentication header.
pub const IPPROTO_AH: i32 = 51;
/// Offset of the checksum inside a VRRP message, for `IPV6_CHECKSUM`.
const VRRP_CHECKSUM_OFFSET: i32 = 6;

/// One received datagram and what the receive checks need to know about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvMeta {
    /// Bytes in the buffer: the whole IPv4 packet, or the VRRP payload for IPv6.
    pub len: usize,
    /// Source address of the packet.
    pub src: IpAddr,
    /// Destination (IPv6 from `IPV6_PKTINFO`; IPv4 is in the header the caller decodes).
    pub dst: Option<IpAddr>,
    /// IPv6 hop limit from `IPV6_HOPLIMIT` (IPv4 TTL is in the header).
    pub hop_limit: Option<u8>,
}

/// A raw VRRP socket bound to one interface.
pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    ifname: String,
    ifindex: u32,
    v6: bool,
}

impl VrrpSocket {
    /// Opens the IPv4 socket for IP protocol `proto` (112, or 51 for AH) on `ifname` and
    /// joins each multicast `group` there.
    pub fn open_v4(
        ifname: &str,
        ifindex: u32,
        groups: &[Ipv4Addr],
        proto: i32,
    ) -> io::Result<Self> {
        let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(proto)))?;
        sock.bind_device(Some(ifname.as_bytes()))?;
        sock.set_header_included_v4(true)?;
        sock.set_multicast_loop_v4(false)?;
        sock.set_multicast_ttl_v4(255)?;
        sock.set_ttl_v4(255)?;
        set_multicast_if_v4_index(&sock, ifindex)?;
        for g in groups {
            sock.join_multicast_v4_n(g, &InterfaceIndexOrAddress::Index(ifindex))?;
        }
        sock.set_nonblocking(true)?;
        Ok(VrrpSocket {
            fd: register(sock)?,
            ifname: ifname.to_string(),
            ifindex,
            v6: false,
        })
    }

    /// Opens the IPv6 socket on `ifname` and joins each multicast `group` there.
    pub fn open_v6(ifname: &str, ifindex: u32, groups: &[Ipv6Addr]) -> io::Result<Self> {
        let sock = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        sock.bind_device(Some(ifname.as_bytes()))?;
        sock.set_multicast_loop_v6(false)?;
        sock.set_multicast_hops_v6(255)?;
        sock.set_unicast_hops_v6(255)?;
        sock.set_multicast_if_v6(ifindex)?;
        setsockopt(&sock, sockopt::Ipv6RecvPacketInfo, &true).map_err(io::Error::from)?;
        setsockopt(&sock, sockopt::Ipv6RecvHopLimit, &true).map_err(io::Error::from)?;
        set_ipv6_checksum(&sock, VRRP_CHECKSUM_OFFSET)?;
        for g in groups {
            sock.join_multicast_v6(g, ifindex)?;
        }
        sock.set_nonblocking(true)?;
        Ok(VrrpSocket {
            fd: register(sock)?,
            ifname: ifname.to_string(),
            ifindex,
            v6: true,
        })
    }

    /// The interface the socket is bound to.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// That interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Whether this is the IPv6 socket.
    pub fn is_v6(&self) -> bool {
        self.v6
    }

    /// The socket itself (for its receive buffer).
    pub fn socket(&self) -> &Socket {
        self.fd.get_ref()
    }

    /// Waits for the next datagram. Never fails on the content: decoding is the caller's job.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|inner| recv_one(inner.get_ref(), buf, self.v6)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends a complete IPv4 packet (header included) to `dst`.
    pub async fn send_v4(&self, packet: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        let addr = SockAddr::from(SocketAddrV4::new(dst, 0));
        self.send_to(packet, &addr).await
    }

    /// Sends a VRRP message to `dst` over IPv6 from `src` (when given, through `IPV6_PKTINFO`);
    /// the kernel adds the header and the checksum. Sending from a tentative address fails,
    /// which the caller reports as "cannot send".
    pub async fn send_v6(
        &self,
        vrrp: &[u8],
        src: Option<Ipv6Addr>,
        dst: Ipv6Addr,
    ) -> io::Result<()> {
        let scope = if is_link_scope(&dst) { self.ifindex } else { 0 };
        let addr = SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, scope));
        let info = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.unwrap_or(Ipv6Addr::UNSPECIFIED).octets(),
            },
            ipi6_ifindex: self.ifindex,
        };
        loop {
            let mut guard = self.fd.writable().await?;
            let res = guard.try_io(|inner| {
                let iov = [IoSlice::new(vrrp)];
                let cmsg = [ControlMessage::Ipv6PacketInfo(&info)];
                let cmsgs: &[ControlMessage<'_>] = if src.is_some() { &cmsg } else { &[] };
                sendmsg(
                    inner.get_ref().as_raw_fd(),
                    &iov,
                    cmsgs,
                    MsgFlags::MSG_DONTWAIT,
                    Some(&addr),
                )
                .map_err(io::Error::from)
            });
            match res {
                Ok(r) => {
                    let n = r?;
                    if n != vrrp.len() {
                        return Err(io::Error::other("short send"));
                    }
                    return Ok(());
                }
                Err(_would_block) => continue,
            }
        }
    }

    async fn send_to(&self, data: &[u8], addr: &SockAddr) -> io::Result<()> {
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|inner| inner.get_ref().send_to(data, addr)) {
                Ok(result) => {
                    let n = result?;
                    if n != data.len() {
                        return Err(io::Error::other("short send"));
                    }
                    return Ok(());
                }
                Err(_would_block) => continue,
            }
        }
    }
}

fn is_link_scope(a: &Ipv6Addr) -> bool {
    let s = a.segments();
    (s[0] & 0xffc0) == 0xfe80 || (a.is_multicast() && (s[0] & 0x000f) == 2)
}

/// Registers an owned socket with tokio's reactor.
fn register(sock: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: `Socket` owns its fd and keeps it open and unchanged until it is dropped, which
    // happens only together with the AsyncFd.
    unsafe { AsyncFd::register(sock) }.map_err(|e| e.into_parts().1)
}

/// `IP_MULTICAST_IF` by interface index (struct ip_mreqn), which socket2 only offers by address.
fn set_multicast_if_v4_index(sock: &Socket, ifindex: u32) -> io::Result<()> {
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: ifindex as libc::c_int,
    };
    // SAFETY: valid fd, pointer to a live ip_mreqn and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&mreqn as *const libc::ip_mreqn).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn set_ipv6_checksum(sock: &Socket, offset: i32) -> io::Result<()> {
    // SAFETY: valid fd, pointer to a live c_int and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_CHECKSUM,
            (&offset as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn recv_one(sock: &Socket, buf: &mut [u8], v6: bool) -> io::Result<RecvMeta> {
    if !v6 {
        // SAFETY: socket2's recv_from writes initialised bytes only; u8 and MaybeUninit<u8>
        // have the same layout.
        let uninit: &mut [MaybeUninit<u8>] =
            unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast(), buf.len()) };
        let (len, from) = sock.recv_from(uninit)?;
        let src = from
            .as_socket()
            .map(|s: SocketAddr| s.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        return Ok(RecvMeta {
            len,
            src,
            dst: None,
            hop_limit: None,
        });
    }
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrStorage>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    let mut meta = RecvMeta {
        len: msg.bytes,
        src: msg
            .address
            .and_then(|a| a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))
            .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        dst: None,
        hop_limit: None,
    };
    for c in msg.cmsgs().map_err(io::Error::from)? {
        match c {
            ControlMessageOwned::Ipv6PacketInfo(pi) => {
                meta.dst = Some(IpAddr::V6(Ipv6Addr::from(pi.ipi6_addr.s6_addr)));
            }
            ControlMessageOwned::Ipv6HopLimit(h) => {
                meta.hop_limit = u8::try_from(h).ok();
            }
            _ => {}
        }
    }
    Ok(meta)
}
