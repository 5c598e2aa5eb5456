//! Kernel link and address events (rtnetlink multicast groups), turned into the two facts the
//! daemon acts on: a link became usable or unusable (track_interface / FAULT), and the addresses
//! of an interface changed (IPv6 link-local leaving the tentative state, a VIP removed behind
//! our back).

use futures_util::StreamExt;
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::constants::{RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR, RTMGRP_LINK};
use rtnetlink::packet_core as netlink_packet_core;
use rtnetlink::sys::{AsyncSocket, SocketAddr};
use tokio::sync::mpsc;

use super::netlink::{LinkInfo, NetlinkError};

/// One event of interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A link changed (or was reported); `usable` = up with carrier.
    Link(LinkInfo),
    /// A link disappeared.
    LinkGone {
        /// Its interface index.
        index: u32,
        /// Its name, when the kernel said.
        name: Option<String>,
    },
    /// Some address on interface `index` was added, changed or removed.
    AddressesChanged {
        /// The interface index.
        index: u32,
    },
}

/// Subscribes to link and address events and forwards them on the returned channel until the
/// receiver is dropped; the socket's receive buffer is `rcvbuf` (`vrrp_netlink_monitor_rcv_bufs`).
pub fn watch(rcvbuf: keepalived_conf::RcvBuf) -> Result<mpsc::Receiver<NetEvent>, NetlinkError> {
    let (mut conn, _handle, mut messages) = rtnetlink::new_connection()?;
    super::rcvbuf::apply(conn.socket_mut().socket_mut(), rcvbuf, "netlink monitor");
    let groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    conn.socket_mut()
        .socket_mut()
        .bind(&SocketAddr::new(0, groups))?;
    tokio::spawn(conn);
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        while let Some((msg, _)) = messages.next().await {
            let NetlinkPayload::InnerMessage(inner) = msg.payload else {
                continue;
            };
            let ev = match inner {
                RouteNetlinkMessage::NewLink(m) => LinkInfo::from_message(&m).map(NetEvent::Link),
                RouteNetlinkMessage::DelLink(m) => Some(NetEvent::LinkGone {
                    index: m.header.index,
                    name: LinkInfo::from_message(&m).map(|l| l.name),
                }),
                RouteNetlinkMessage::NewAddress(m) | RouteNetlinkMessage::DelAddress(m) => {
                    Some(NetEvent::AddressesChanged {
                        index: m.header.index,
                    })
                }
                _ => None,
            };
            if let Some(ev) = ev
                && tx.send(ev).await.is_err()
            {
                break;
            }
        }
    });
    Ok(rx)
}
