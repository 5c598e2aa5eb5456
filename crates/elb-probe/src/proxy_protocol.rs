//! The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and
//! 2) a probe sends first on a connection to a listener that expects one,
//! naming the probe's own connection as the client. Pure.

use std::net::SocketAddr;

/// Which header to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyProtocol {
    /// The text line `PROXY TCP4 src dst sport dport\r\n`.
    V1,
    /// The binary header.
    V2,
}

const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

impl ProxyProtocol {
    /// The header for a connection from `local` to `peer`; `None` for a Unix
    /// socket, where there is no address to tell (`UNKNOWN` / `LOCAL`).
    pub fn header(self, addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
        match self {
            Self::V1 => v1(addrs),
            Self::V2 => v2(addrs),
        }
    }
}

fn v1(addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
    match addrs {
        Some((local, peer)) if local.is_ipv4() == peer.is_ipv4() => format!(
            "PROXY {} {} {} {} {}\r\n",
            if local.is_ipv4() { "TCP4" } else { "TCP6" },
            local.ip(),
            peer.ip(),
            local.port(),
            peer.port()
        )
        .into_bytes(),
        _ => b"PROXY UNKNOWN\r\n".to_vec(),
    }
}

fn v2(addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    match addrs {
        Some((SocketAddr::V4(l), SocketAddr::V4(p))) => {
            out.extend_from_slice(&[0x21, 0x11, 0, 12]);
            out.extend_from_slice(&l.ip().octets());
            out.extend_from_slice(&p.ip().octets());
            out.extend_from_slice(&l.port().to_be_bytes());
            out.extend_from_slice(&p.port().to_be_bytes());
        }
        Some((SocketAddr::V6(l), SocketAddr::V6(p))) => {
            out.extend_from_slice(&[0x21, 0x21, 0, 36]);
            out.extend_from_slice(&l.ip().octets());
            out.extend_from_slice(&p.ip().octets());
            out.extend_from_slice(&l.port().to_be_bytes());
            out.extend_from_slice(&p.port().to_be_bytes());
        }
        // LOCAL: the receiver uses the connection's own addresses.
        _ => out.extend_from_slice(&[0x20, 0x00, 0, 0]),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &str, b: &str) -> Option<(SocketAddr, SocketAddr)> {
        Some((a.parse().unwrap(), b.parse().unwrap()))
    }

    #[test]
    fn version_1_lines() {
        assert_eq!(
            ProxyProtocol::V1.header(pair("127.0.0.1:5000", "127.0.0.2:80")),
            b"PROXY TCP4 127.0.0.1 127.0.0.2 5000 80\r\n"
        );
        assert_eq!(
            ProxyProtocol::V1.header(pair("[::1]:5000", "[::2]:80")),
            b"PROXY TCP6 ::1 ::2 5000 80\r\n"
        );
        assert_eq!(ProxyProtocol::V1.header(None), b"PROXY UNKNOWN\r\n");
    }

    #[test]
    fn version_2_headers() {
        let h = ProxyProtocol::V2.header(pair("127.0.0.1:5000", "198.18.0.1:80"));
        assert_eq!(&h[..12], &V2_SIGNATURE);
        assert_eq!(&h[12..16], &[0x21, 0x11, 0, 12]);
        assert_eq!(&h[16..24], &[127, 0, 0, 1, 198, 18, 0, 1]);
        assert_eq!(&h[24..], &[0x13, 0x88, 0, 80]);
        assert_eq!(h.len(), 28);
        let h = ProxyProtocol::V2.header(pair("[::1]:1", "[::1]:2"));
        assert_eq!((h[13], h.len()), (0x21, 16 + 36));
        assert_eq!(&ProxyProtocol::V2.header(None)[12..], &[0x20, 0, 0, 0]);
    }
}
