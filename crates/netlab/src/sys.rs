//! Small system helpers: running setup commands with useful errors, entering a namespace on a
//! thread, and a netlink socket used only as a "something changed" doorbell.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, setns};
use nix::sys::socket::{
    AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, socket,
};

/// Runs a command to completion and fails with its stderr when it exits non-zero.
pub(crate) fn run_checked(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

/// Feeds `script` to `ip -n NETNS -batch -`, one iproute2 command a line, failing on the first
/// error. One process per namespace keeps lab set-up fast.
pub(crate) fn ip_batch(netns: &str, script: &str) -> Result<()> {
    let mut child = Command::new("ip")
        .args(["-n", netns, "-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start ip -batch (is iproute2 installed?)")?;
    child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "ip -n {netns} -batch failed: {}\nscript:\n{script}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Runs `f` on a new thread whose network namespace is `netns`, and returns its result.
/// Sockets created inside `f` stay in that namespace for their whole life.
pub(crate) fn in_netns<T: Send>(netns: &str, f: impl FnOnce() -> T + Send) -> Result<T> {
    let path = format!("/run/netns/{netns}");
    let file = std::fs::File::open(&path).with_context(|| format!("cannot open {path}"))?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || -> Result<T> {
                setns(file.as_fd(), CloneFlags::CLONE_NEWNET)
                    .with_context(|| format!("setns into {netns}"))?;
                Ok(f())
            })
            .join()
            .map_err(|_| anyhow::anyhow!("thread inside netns {netns} panicked"))?
    })
}

/// A NETLINK_ROUTE socket subscribed to link and address notifications. Its only use is to
/// wake a waiter when something changed, so the waiter re-checks the state it waits for;
/// subscribing before the first check closes the race between "check" and "wait".
pub(crate) struct ChangeBell {
    fd: OwnedFd,
}

impl ChangeBell {
    /// Must be called on a thread inside the namespace to watch.
    pub(crate) fn subscribe() -> Result<Self> {
        const RTMGRP_LINK: u32 = 0x1;
        const RTMGRP_IPV4_IFADDR: u32 = 0x10;
        const RTMGRP_IPV6_IFADDR: u32 = 0x100;
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            SockProtocol::NetlinkRoute,
        )
        .context("netlink socket")?;
        let groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups)).context("netlink bind")?;
        Ok(Self { fd })
    }

    /// Waits until a notification arrives or `deadline` passes; returns false on timeout.
    pub(crate) fn ring_before(&self, deadline: Instant) -> Result<bool> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        let n = poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        )?;
        if n == 0 {
            return Ok(false);
        }
        let mut buf = [0u8; 16 * 1024];
        while let Ok(len) = recv(
            self.fd.as_raw_fd(),
            &mut buf,
            nix::sys::socket::MsgFlags::empty(),
        ) {
            if len == 0 {
                break;
            }
        }
        Ok(true)
    }
}

/// Retries `attempt` until it succeeds or `timeout` passes, backing off from 2 ms to 50 ms.
/// Only for conditions with no event to wait on (a TCP port starting to accept).
pub(crate) fn retry_until<T>(
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        match attempt() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => {
                std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}
