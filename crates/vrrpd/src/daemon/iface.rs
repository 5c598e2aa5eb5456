//! One network interface as the daemon uses it: index, MAC, link state, the shared raw VRRP
//! sockets (one per family, and one for IPv4 AH when an instance there uses `auth_type AH`)
//! with their reader tasks, and the announcer for GARP / NA.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::net::garp::Announcer;
use crate::net::netlink::LinkInfo;
use crate::net::rawsock::{IPPROTO_AH, IPPROTO_VRRP, RecvMeta, VrrpSocket};

/// A datagram read by a socket reader task.
pub struct Received {
    /// The interface it arrived on.
    pub ifindex: u32,
    /// Whether it came from the IPv6 socket.
    pub v6: bool,
    /// The VRRP packet (IPv4 header included for IPv4).
    pub bytes: Vec<u8>,
    /// TTL/hop limit and addresses the checks need.
    pub meta: RecvMeta,
}

pub(super) struct Iface {
    pub info: LinkInfo,
    pub v4: Option<Arc<VrrpSocket>>,
    /// IPv4 protocol 51, for the interface's `auth_type AH` instances.
    pub v4_ah: Option<Arc<VrrpSocket>>,
    pub v6: Option<Arc<VrrpSocket>>,
    pub announcer: Arc<Announcer>,
    readers: Vec<JoinHandle<()>>,
    /// (socket slot, instance) -> the instance's share of that socket's receive buffer.
    rx_shares: std::collections::HashMap<(u8, String), u64>,
}

impl Drop for Iface {
    fn drop(&mut self) {
        for r in &self.readers {
            r.abort();
        }
    }
}

impl Iface {
    pub(super) fn new(info: LinkInfo) -> Self {
        let announcer = Arc::new(Announcer::new(
            &info.name,
            info.index,
            info.mac.unwrap_or([0; 6]),
        ));
        Iface {
            info,
            v4: None,
            v4_ah: None,
            v6: None,
            announcer,
            readers: Vec::new(),
            rx_shares: std::collections::HashMap::new(),
        }
    }

    /// Counts `instance`'s `share` of the receive buffer of the socket `ensure_socket` gave it
    /// and sets that socket's SO_RCVBUF to the sum of the shares, when there is one (a share of
    /// an instance a reload removed stays counted until restart).
    pub(super) fn add_rx_share(&mut self, v6: bool, ah: bool, instance: &str, share: u64) {
        let slot = u8::from(v6) * 2 + u8::from(ah && !v6);
        self.rx_shares.insert((slot, instance.to_string()), share);
        let total: u64 = (self.rx_shares.iter())
            .filter(|((s, _), _)| *s == slot)
            .map(|(_, b)| *b)
            .sum();
        let sock = match (v6, ah) {
            (true, _) => &self.v6,
            (false, true) => &self.v4_ah,
            (false, false) => &self.v4,
        };
        if let (Some(sock), true) = (sock, total > 0) {
            let b = keepalived_conf::RcvBuf {
                bytes: u32::try_from(total).unwrap_or(u32::MAX),
                force: false,
            };
            crate::net::rcvbuf::apply(sock.socket(), b, "VRRP adverts");
        }
    }

    /// Opens the socket of a family (once), the AH one for an `auth_type AH` instance, and
    /// starts its reader.
    pub(super) fn ensure_socket(
        &mut self,
        v6: bool,
        ah: bool,
        groups: &[IpAddr],
        tx: &mpsc::Sender<Received>,
    ) -> Result<()> {
        let slot = match (v6, ah) {
            (true, _) => &self.v6,
            (false, true) => &self.v4_ah,
            (false, false) => &self.v4,
        };
        if slot.is_some() {
            return Ok(());
        }
        let sock = if v6 {
            let g: Vec<Ipv6Addr> = groups
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V6(a) => Some(*a),
                    _ => None,
                })
                .collect();
            VrrpSocket::open_v6(&self.info.name, self.info.index, &g)
        } else {
            let g: Vec<Ipv4Addr> = groups
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V4(a) => Some(*a),
                    _ => None,
                })
                .collect();
            let proto = if ah { IPPROTO_AH } else { IPPROTO_VRRP };
            VrrpSocket::open_v4(&self.info.name, self.info.index, &g, proto)
        }
        .with_context(|| {
            format!(
                "opening raw VRRP {} socket on {}",
                match (v6, ah) {
                    (true, _) => "IPv6",
                    (false, true) => "IPv4 AH",
                    (false, false) => "IPv4",
                },
                self.info.name
            )
        })?;
        let sock = Arc::new(sock);
        self.readers
            .push(tokio::spawn(read_loop(sock.clone(), tx.clone())));
        match (v6, ah) {
            (true, _) => self.v6 = Some(sock),
            (false, true) => self.v4_ah = Some(sock),
            (false, false) => self.v4 = Some(sock),
        }
        Ok(())
    }
}

async fn read_loop(sock: Arc<VrrpSocket>, tx: mpsc::Sender<Received>) {
    let mut buf = vec![0u8; 65536];
    loop {
        match sock.recv(&mut buf).await {
            Ok(meta) => {
                let rx = Received {
                    ifindex: sock.ifindex(),
                    v6: sock.is_v6(),
                    bytes: buf[..meta.len.min(buf.len())].to_vec(),
                    meta,
                };
                // A full queue means the loop is behind: dropping is what a busy NIC does too.
                if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(rx) {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(interface = sock.ifname(), error = %e, "receive error");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
