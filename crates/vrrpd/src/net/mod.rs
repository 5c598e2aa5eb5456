//! Everything that touches the kernel's network stack: raw VRRP sockets, rtnetlink (links,
//! addresses, events) and the announcements sent after a takeover.

pub mod garp;
pub mod guard;
pub mod linkwatch;
pub mod netlink;
pub mod rawsock;
