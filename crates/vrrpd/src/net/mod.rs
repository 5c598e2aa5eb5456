//! Everything that touches the kernel's network stack: raw VRRP sockets, rtnetlink (links,
//! addresses, events) and the announcements sent after a takeover.

// Raw AF_PACKET / ICMPv6 sockets need libc calls.
#[allow(unsafe_code)]
pub mod garp;
pub mod guard;
pub mod if_sysctl;
pub mod linkwatch;
pub mod netlink;
pub mod nft;
pub mod rcvbuf;
pub mod vmac;
// Raw VRRP sockets: setsockopt and AsyncFd registration.
#[allow(unsafe_code)]
pub mod rawsock;
