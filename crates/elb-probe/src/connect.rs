//! Turning an [`Endpoint`] into a connected byte stream before the deadline:
//! name resolution (none for IP literals and `localhost`), TCP connect across
//! the resolved addresses, or a Unix-socket connect.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream, UnixStream};
use tokio::time::Instant;

use crate::spec::{Bind, IpFamily};
use crate::target::Host;

/// A connected stream, plain or TLS, TCP or Unix.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Whether resolving `host` needs the system resolver. Literals do not, and
/// neither does `localhost` (RFC 6761 reserves it for loopback; curl does the
/// same), which keeps DNS and its thread off the health path.
pub(crate) fn needs_resolver(host: &Host) -> bool {
    match host {
        Host::Ip(_) => false,
        Host::Name(name) => !is_localhost(name),
    }
}

fn is_localhost(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    name == "localhost" || name.ends_with(".localhost")
}

fn family_allows(family: IpFamily, ip: &IpAddr) -> bool {
    match family {
        IpFamily::Any => true,
        IpFamily::V4 => ip.is_ipv4(),
        IpFamily::V6 => ip.is_ipv6(),
    }
}

/// Addresses for `host:port`, filtered by family, in the order to try them.
pub(crate) async fn resolve(
    host: &Host,
    port: u16,
    family: IpFamily,
) -> io::Result<Vec<SocketAddr>> {
    let candidates: Vec<SocketAddr> = match host {
        Host::Ip(ip) => vec![SocketAddr::new(*ip, port)],
        Host::Name(name) if is_localhost(name) => vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        ],
        Host::Name(name) => lookup(name, port).await?,
    };
    filter_family(candidates, family)
}

/// Most getaddrinfo calls left running at once. A lookup that outlives its
/// probe's deadline keeps its thread until the resolver gives up (10 s by
/// default); a watch loop probing every 10 ms must not pile up threads.
const MAX_LOOKUPS: usize = 4;

static LOOKUPS: AtomicUsize = AtomicUsize::new(0);

/// Releases a lookup slot when the blocking call ends, even after its
/// probe has given up waiting.
struct Slot;

impl Drop for Slot {
    fn drop(&mut self) {
        LOOKUPS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The system resolver on a blocking thread, with at most [`MAX_LOOKUPS`] in flight.
async fn lookup(name: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if LOOKUPS.fetch_add(1, Ordering::AcqRel) >= MAX_LOOKUPS {
        drop(Slot);
        return Err(io::Error::other(
            "earlier lookups of this name are still waiting for the resolver",
        ));
    }
    let slot = Slot;
    let host = (name.to_string(), port);
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        std::net::ToSocketAddrs::to_socket_addrs(&host).map(Iterator::collect)
    })
    .await
    .map_err(io::Error::other)?
}

/// Keeps the addresses of the allowed family; an error when none is left.
pub(crate) fn filter_family(
    candidates: Vec<SocketAddr>,
    family: IpFamily,
) -> io::Result<Vec<SocketAddr>> {
    let kept: Vec<SocketAddr> = candidates
        .into_iter()
        .filter(|a| family_allows(family, &a.ip()))
        .collect();
    if kept.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            match family {
                IpFamily::V4 => "no IPv4 address for host",
                IpFamily::V6 => "no IPv6 address for host",
                IpFamily::Any => "host has no address",
            },
        ));
    }
    Ok(kept)
}

/// One TCP connect from the bound source address or device, if any.
async fn connect_one(addr: SocketAddr, bind: &Bind) -> io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(device) = &bind.interface {
        socket.bind_device(Some(device.as_bytes())).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot bind to interface {device}: {e}"))
        })?;
    }
    if let Some(source) = bind.source {
        if source.is_ipv4() != addr.is_ipv4() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("source address {source} is not of the same family"),
            ));
        }
        socket.bind(SocketAddr::new(source, 0)).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot bind to source address {source}: {e}"),
            )
        })?;
    }
    socket.connect(addr).await
}

/// Connects to the first address that accepts. Each attempt gets an equal
/// share of the time left, so one black-holed address cannot eat the whole
/// deadline while another would have answered.
pub(crate) async fn connect_tcp(
    addrs: &[SocketAddr],
    deadline: Instant,
    bind: &Bind,
) -> Result<(TcpStream, SocketAddr), String> {
    let mut errors = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let share = left / (addrs.len() - i) as u32;
        match tokio::time::timeout(share, connect_one(*addr, bind)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok((stream, *addr));
            }
            Ok(Err(e)) => errors.push(format!("{addr}: {e}")),
            Err(_) if i + 1 < addrs.len() => errors.push(format!("{addr}: no answer in {share:?}")),
            Err(_) => {
                // The last address ran out of time: let the caller's deadline report it.
                std::future::pending::<()>().await;
            }
        }
    }
    Err(errors.join("; "))
}

/// Connects to a Unix stream socket.
pub(crate) async fn connect_unix(path: &Path) -> Result<UnixStream, String> {
    UnixStream::connect(path)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))
}
