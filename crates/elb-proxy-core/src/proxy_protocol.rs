//! The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that an L4
//! balancer in front sends first on a connection, naming the real client. Pure: the caller
//! reads exactly the bytes [`parse`] asks for, so nothing after the header is ever read
//! here (the TLS or HTTP bytes that follow stay in the socket).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The longest v1 line, CRLF included (proxy-protocol.txt §2.1).
const V1_MAX: usize = 107;
/// Largest v2 payload accepted (addresses plus TLVs); the format allows 65535.
const V2_MAX_PAYLOAD: usize = 4096;

/// What a header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyHeader {
    /// The client and the address it connected to; `None` for v1 `UNKNOWN`, v2 `LOCAL` and
    /// v2 address families other than TCP over IPv4/IPv6 (the connection's own addresses
    /// then stand).
    pub addresses: Option<(SocketAddr, SocketAddr)>,
    /// Bytes of the header.
    pub len: usize,
}

/// How far a header has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Read exactly this many more bytes, then call again with all of them.
    Need(usize),
    /// The header is complete.
    Done(ProxyHeader),
}

/// Why a header is refused (the connection is closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// Neither the v1 `PROXY ` prefix nor the v2 signature.
    #[error("no PROXY protocol header")]
    Missing,
    /// A v1 line that is malformed or too long.
    #[error("malformed PROXY v1 header")]
    V1,
    /// A v2 header with a bad version, command, family or length.
    #[error("malformed PROXY v2 header")]
    V2,
}

impl ProxyError {
    /// Label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyError::Missing => "missing",
            ProxyError::V1 => "v1",
            ProxyError::V2 => "v2",
        }
    }
}

/// Looks at the bytes read so far (`buf`, starting at the connection's first byte).
pub fn parse(buf: &[u8]) -> Result<Progress, ProxyError> {
    const V1_PREFIX: &[u8] = b"PROXY ";
    let probe = buf.len().min(V1_PREFIX.len());
    let v1 = buf[..probe] == V1_PREFIX[..probe];
    let v2 = buf[..buf.len().min(12)] == V2_SIGNATURE[..buf.len().min(12)];
    if buf.len() < V1_PREFIX.len() {
        return match (v1, v2) {
            (false, false) => Err(ProxyError::Missing),
            _ => Ok(Progress::Need(V1_PREFIX.len() - buf.len())),
        };
    }
    if v1 {
        return parse_v1(buf);
    }
    if v2 {
        return parse_v2(buf);
    }
    Err(ProxyError::Missing)
}

/// v1: one line; read a byte at a time until its CRLF.
fn parse_v1(buf: &[u8]) -> Result<Progress, ProxyError> {
    let Some(cr) = buf.iter().position(|&b| b == b'\r') else {
        if buf.len() >= V1_MAX || buf.contains(&b'\n') {
            return Err(ProxyError::V1);
        }
        return Ok(Progress::Need(1));
    };
    if cr + 1 == buf.len() {
        return Ok(Progress::Need(1));
    }
    if buf[cr + 1] != b'\n' || cr + 2 != buf.len() {
        return Err(ProxyError::V1);
    }
    let line = std::str::from_utf8(&buf[6..cr]).map_err(|_| ProxyError::V1)?;
    let parts: Vec<&str> = line.split(' ').collect();
    let addresses = match parts.as_slice() {
        ["UNKNOWN", ..] => None,
        [fam @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let ip = |s: &str| -> Result<IpAddr, ProxyError> {
                let ip: IpAddr = s.parse().map_err(|_| ProxyError::V1)?;
                let right = if *fam == "TCP4" {
                    ip.is_ipv4()
                } else {
                    ip.is_ipv6()
                };
                right.then_some(ip).ok_or(ProxyError::V1)
            };
            let port = |s: &str| -> Result<u16, ProxyError> {
                // Decimal without sign or leading zeros (proxy-protocol.txt §2.1).
                let ok = !s.is_empty()
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && (s == "0" || !s.starts_with('0'));
                ok.then(|| s.parse().ok()).flatten().ok_or(ProxyError::V1)
            };
            Some((
                SocketAddr::new(ip(src)?, port(sport)?),
                SocketAddr::new(ip(dst)?, port(dport)?),
            ))
        }
        _ => return Err(ProxyError::V1),
    };
    Ok(Progress::Done(ProxyHeader {
        addresses,
        len: buf.len(),
    }))
}

/// v2: 16 bytes of fixed header, then the announced length.
fn parse_v2(buf: &[u8]) -> Result<Progress, ProxyError> {
    if buf.len() < 16 {
        return Ok(Progress::Need(16 - buf.len()));
    }
    let (ver_cmd, fam) = (buf[12], buf[13]);
    let payload = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if ver_cmd >> 4 != 2 || ver_cmd & 0x0f > 1 || payload > V2_MAX_PAYLOAD {
        return Err(ProxyError::V2);
    }
    let total = 16 + payload;
    if buf.len() < total {
        return Ok(Progress::Need(total - buf.len()));
    }
    if buf.len() > total {
        return Err(ProxyError::V2);
    }
    let body = &buf[16..total];
    let local = ver_cmd & 0x0f == 0;
    let addresses = match fam {
        _ if local => None,
        // TCP over IPv4.
        0x11 => {
            let a = body.get(..12).ok_or(ProxyError::V2)?;
            let ip = |o: usize| IpAddr::V4(Ipv4Addr::new(a[o], a[o + 1], a[o + 2], a[o + 3]));
            let port = |o: usize| u16::from_be_bytes([a[o], a[o + 1]]);
            Some((
                SocketAddr::new(ip(0), port(8)),
                SocketAddr::new(ip(4), port(10)),
            ))
        }
        // TCP over IPv6.
        0x21 => {
            let a = body.get(..36).ok_or(ProxyError::V2)?;
            let ip = |o: usize| {
                let mut b = [0u8; 16];
                b.copy_from_slice(&a[o..o + 16]);
                IpAddr::V6(Ipv6Addr::from(b))
            };
            let port = |o: usize| u16::from_be_bytes([a[o], a[o + 1]]);
            Some((
                SocketAddr::new(ip(0), port(32)),
                SocketAddr::new(ip(16), port(34)),
            ))
        }
        // UNSPEC, UDP, Unix: no TCP client address to take.
        0x00 | 0x12 | 0x22 | 0x31 | 0x32 => None,
        _ => return Err(ProxyError::V2),
    };
    Ok(Progress::Done(ProxyHeader {
        addresses,
        len: total,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` as a reader would: only the bytes asked for.
    fn read(input: &[u8]) -> Result<ProxyHeader, ProxyError> {
        let mut buf = Vec::new();
        let mut at = 0;
        let mut need = 1;
        loop {
            if at + need > input.len() {
                return Err(ProxyError::Missing);
            }
            buf.extend_from_slice(&input[at..at + need]);
            at += need;
            match parse(&buf)? {
                Progress::Need(n) => need = n,
                Progress::Done(h) => return Ok(h),
            }
        }
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v1_lines_parse_and_nothing_after_them_is_read() {
        let h = read(b"PROXY TCP4 198.18.0.7 198.18.0.1 40000 443\r\nGET /").unwrap();
        assert_eq!(
            h.addresses,
            Some((sa("198.18.0.7:40000"), sa("198.18.0.1:443")))
        );
        assert_eq!(h.len, 44);
        let h = read(b"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n").unwrap();
        assert_eq!(h.addresses.unwrap().0, sa("[2001:db8::1]:1"));
        assert_eq!(read(b"PROXY UNKNOWN\r\n").unwrap().addresses, None);
    }

    #[test]
    fn malformed_v1_lines_are_refused() {
        for bad in [
            &b"PROXY TCP4 198.18.0.7 198.18.0.1 40000\r\n"[..],
            b"PROXY TCP4 2001:db8::1 198.18.0.1 1 2\r\n",
            b"PROXY TCP4 198.18.0.7 198.18.0.1 040000 443\r\n",
            b"PROXY TCP4 198.18.0.7 198.18.0.1 70000 443\r\n",
            b"PROXY TCP4 198.18.0.7  198.18.0.1 1 443\r\n",
            b"PROXY TCP4 198.18.0.7 198.18.0.1 1 443\n",
            b"PROXY TCP4 198.18.0.7 198.18.0.1 1 443\rX",
        ] {
            assert_eq!(
                read(bad),
                Err(ProxyError::V1),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = [b"PROXY TCP4 ".as_slice(), &[b'1'; 120]].concat();
        assert_eq!(read(&long), Err(ProxyError::V1));
        assert_eq!(read(b"GET / HTTP/1.1\r\n"), Err(ProxyError::Missing));
    }

    fn v2(ver_cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
        let mut out = V2_SIGNATURE.to_vec();
        out.extend_from_slice(&[ver_cmd, fam]);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn v2_headers_parse_with_tlvs_and_local() {
        let mut body = vec![198, 18, 0, 7, 198, 18, 0, 1, 0x9c, 0x40, 0x01, 0xbb];
        body.extend_from_slice(&[0x04, 0, 2, b'h', b'i']); // a TLV, skipped
        let h = read(&v2(0x21, 0x11, &body)).unwrap();
        assert_eq!(
            h.addresses,
            Some((sa("198.18.0.7:40000"), sa("198.18.0.1:443")))
        );
        assert_eq!(h.len, 16 + body.len());
        assert_eq!(read(&v2(0x20, 0x00, &[])).unwrap().addresses, None);
    }

    #[test]
    fn malformed_v2_headers_are_refused() {
        assert_eq!(
            read(&v2(0x11, 0x11, &[0; 12])),
            Err(ProxyError::V2),
            "version 1"
        );
        assert_eq!(
            read(&v2(0x22, 0x11, &[0; 12])),
            Err(ProxyError::V2),
            "command 2"
        );
        assert_eq!(
            read(&v2(0x21, 0x11, &[0; 8])),
            Err(ProxyError::V2),
            "short address"
        );
        assert_eq!(
            read(&v2(0x21, 0x41, &[0; 12])),
            Err(ProxyError::V2),
            "family"
        );
        assert_eq!(
            read(&v2(0x21, 0x21, &[0; 5000])),
            Err(ProxyError::V2),
            "too long"
        );
    }

    #[test]
    fn no_input_makes_it_panic_or_over_read() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let n = (rng % 64) as usize;
            let mut input = Vec::with_capacity(n + 16);
            if rng & 1 == 0 {
                input.extend_from_slice(&V2_SIGNATURE);
            } else {
                input.extend_from_slice(b"PROXY ");
            }
            for _ in 0..n {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                input.push(rng as u8);
            }
            if let Ok(h) = read(&input) {
                assert!(h.len <= input.len());
            }
        }
    }
}
