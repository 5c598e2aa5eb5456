//! Upgrades without a failover, the new process's side: before binding anything it asks the
//! running elb-proxy on `upgrade_socket` for its listening sockets, serves on them, then
//! says `ready` and waits for the old process to let go of its sockets' paths. See the
//! library's `handover` for the old side.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, IoSliceMut, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

use elb_proxy::handover::{READY, TAKEOVER};

/// Sockets taken over, and the connection to the old process.
pub struct TakenOver {
    pub sockets: HashMap<SocketAddr, std::net::TcpListener>,
    conn: UnixStream,
}

/// Asks the process on `path` for its listening sockets; `None` when no process listens
/// there (a normal start).
pub fn take_over(path: &Path) -> Result<Option<TakenOver>> {
    let Ok(mut conn) = UnixStream::connect(path) else {
        return Ok(None);
    };
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    conn.write_all(format!("{TAKEOVER}\n").as_bytes())?;
    let mut data = vec![0u8; 4096];
    let mut cmsg = nix::cmsg_space!([RawFd; 64]);
    let (n, fds) = {
        let mut iov = [IoSliceMut::new(&mut data)];
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .context("receiving the listening sockets")?;
        let mut fds: Vec<OwnedFd> = Vec::new();
        for c in msg.cmsgs().context("reading the ancillary data")? {
            if let ControlMessageOwned::ScmRights(raw) = c {
                for fd in raw {
                    // SAFETY: a descriptor received with SCM_RIGHTS is new in this process
                    // and owned by nothing else.
                    #[allow(unsafe_code)]
                    fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        (msg.bytes, fds)
    };
    let mut text = data[..n].to_vec();
    while !text.ends_with(b"\n") {
        let mut more = [0u8; 512];
        let k = conn.read(&mut more)?;
        if k == 0 {
            bail!("the running process closed the upgrade socket early");
        }
        text.extend_from_slice(&more[..k]);
    }
    let text = String::from_utf8_lossy(&text);
    let addrs: Vec<SocketAddr> = text
        .split_whitespace()
        .map(|a| a.parse().context("a listener address"))
        .collect::<Result<_>>()?;
    if addrs.len() != fds.len() {
        bail!("got {} sockets for {} addresses", fds.len(), addrs.len());
    }
    let sockets = addrs
        .into_iter()
        .zip(fds)
        .map(|(a, fd)| (a, std::net::TcpListener::from(fd)))
        .collect();
    Ok(Some(TakenOver { sockets, conn }))
}

impl TakenOver {
    /// Tells the old process this one serves, and waits (bounded) until it has let go of
    /// the upgrade and admin socket paths.
    pub fn finish(mut self) -> Result<()> {
        self.conn.write_all(format!("{READY}\n").as_bytes())?;
        self.conn.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut rest = String::new();
        BufReader::new(&self.conn)
            .read_line(&mut rest)
            .context("waiting for the old process to let go")?;
        Ok(())
    }
}
