//! Kernel link, address, route and rule events (rtnetlink multicast groups), turned into the
//! facts the daemon acts on: a link became usable or unusable (track_interface / FAULT), the
//! addresses of an interface changed (IPv6 link-local leaving the tentative state, a VIP removed
//! behind our back), and an address, route or rule that static state may own was deleted (to
//! be restored, as keepalived restores it).

use futures_util::StreamExt;
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::constants::{
    RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE, RTMGRP_IPV4_RULE, RTMGRP_IPV6_IFADDR, RTMGRP_IPV6_ROUTE,
    RTMGRP_LINK,
};
use rtnetlink::packet_core as netlink_packet_core;
use rtnetlink::sys::{AsyncSocket, SocketAddr};
use tokio::sync::mpsc;

use super::netlink::{IfAddr, LinkInfo, NetlinkError};

/// `RTNLGRP_IPV6_RULE` (19) as a bit of the bind mask (rtnetlink names no constant for it).
const RTMGRP_IPV6_RULE: u32 = 1 << (19 - 1);

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
    /// An address was deleted (after its `AddressesChanged`).
    AddressRemoved(IfAddr),
    /// A route or rule marked `proto keepalived` was deleted: one of the static ones, maybe.
    OwnRouteOrRuleRemoved,
}

/// Subscribes to link, address, route and rule events and forwards them on the returned channel until the
/// receiver is dropped; the socket's receive buffer is `rcvbuf` (`vrrp_netlink_monitor_rcv_bufs`).
pub fn watch(rcvbuf: keepalived_conf::RcvBuf) -> Result<mpsc::Receiver<NetEvent>, NetlinkError> {
    let (mut conn, _handle, mut messages) = rtnetlink::new_connection()?;
    super::rcvbuf::apply(conn.socket_mut().socket_mut(), rcvbuf, "netlink monitor");
    let groups = RTMGRP_LINK
        | RTMGRP_IPV4_IFADDR
        | RTMGRP_IPV6_IFADDR
        | RTMGRP_IPV4_ROUTE
        | RTMGRP_IPV6_ROUTE
        | RTMGRP_IPV4_RULE
        | RTMGRP_IPV6_RULE;
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
            for ev in events_of(inner) {
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(rx)
}

/// The events one kernel message means (none for most route traffic).
fn events_of(inner: RouteNetlinkMessage) -> Vec<NetEvent> {
    use netlink_packet_route::route::RouteProtocol;
    use netlink_packet_route::rule::RuleAttribute;
    match inner {
        RouteNetlinkMessage::NewLink(m) => LinkInfo::from_message(&m)
            .map(NetEvent::Link)
            .into_iter()
            .collect(),
        RouteNetlinkMessage::DelLink(m) => vec![NetEvent::LinkGone {
            index: m.header.index,
            name: LinkInfo::from_message(&m).map(|l| l.name),
        }],
        RouteNetlinkMessage::NewAddress(m) => vec![NetEvent::AddressesChanged {
            index: m.header.index,
        }],
        RouteNetlinkMessage::DelAddress(m) => {
            let mut out = vec![NetEvent::AddressesChanged {
                index: m.header.index,
            }];
            out.extend(IfAddr::from_message(&m).map(NetEvent::AddressRemoved));
            out
        }
        RouteNetlinkMessage::DelRoute(m) if m.header.protocol == RouteProtocol::KeepAlived => {
            vec![NetEvent::OwnRouteOrRuleRemoved]
        }
        RouteNetlinkMessage::DelRule(m)
            if m.attributes
                .contains(&RuleAttribute::Protocol(RouteProtocol::KeepAlived)) =>
        {
            vec![NetEvent::OwnRouteOrRuleRemoved]
        }
        _ => Vec::new(),
    }
}
