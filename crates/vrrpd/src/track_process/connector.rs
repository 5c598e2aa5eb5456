//! The kernel's process-event connector (NETLINK_CONNECTOR, CN_IDX_PROC): one message per
//! fork, exec, rename and exit on the whole machine, so no /proc scan is needed per check.
//! The kernel answers it only in the initial network namespace: elsewhere the listen request
//! fails (ECONNREFUSED), so the socket is made in the initial namespace when vrrpd may enter it,
//! and otherwise the caller falls back to pidfds (see [`super::procfs`]).

use std::io::{self, Read};
use std::os::fd::AsRawFd;

use nix::sys::socket::{MsgFlags, NetlinkAddr, bind, sendto};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;

const NETLINK_CONNECTOR: i32 = 11;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const NLMSG_DONE: u16 = 3;
const NLMSG_HDR: usize = 16;
const CN_MSG_HDR: usize = 20;

const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// A process event that can change what a tracker counts (threads are left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcEvent {
    /// A new process (its name and command line are its parent's until it execs).
    Fork(i32),
    /// The process ran execve: new name and command line.
    Exec(i32),
    /// The process changed its name (prctl PR_SET_NAME).
    Comm(i32),
    /// The process ended.
    Exit(i32),
}

/// A listening connector socket.
pub struct Connector {
    fd: AsyncFd<Socket>,
}

/// Where the connector socket was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// In vrrpd's own network namespace (the initial one).
    Here,
    /// vrrpd runs in another network namespace, where the kernel refuses the connector: the
    /// socket was made in the initial namespace, where it answers. A socket
    /// keeps the namespace it was made in; the process events it carries are machine-wide.
    InitialNamespace,
}

impl Connector {
    /// Subscribes to process events: in this network namespace, else in the initial one
    /// where vrrpd may enter it (root, no seccomp or systemd rule against `setns`). The
    /// error is this namespace's refusal and why the initial one could not be used.
    pub fn open() -> io::Result<(Self, Opened)> {
        let here = match subscribe() {
            Ok(sock) => return Ok((Self::register(sock)?, Opened::Here)),
            Err(e) => e,
        };
        match subscribe_in_initial_namespace() {
            Ok(sock) => Ok((Self::register(sock)?, Opened::InitialNamespace)),
            Err(e) => Err(io::Error::new(
                here.kind(),
                format!("{here}; initial network namespace: {e}"),
            )),
        }
    }

    /// `process_monitor_rcv_bufs[_force]`: replaces the 4 MiB asked at open.
    pub fn set_rcvbuf(&self, b: keepalived_conf::RcvBuf) {
        crate::net::rcvbuf::apply(self.fd.get_ref(), b, "process events");
    }

    fn register(sock: Socket) -> io::Result<Self> {
        sock.set_nonblocking(true)?;
        // SAFETY: `Socket` owns its fd and keeps it open until it is dropped with the AsyncFd.
        let fd = unsafe { AsyncFd::register(sock) }.map_err(|e| e.into_parts().1)?;
        Ok(Connector { fd })
    }

    /// The next datagram's events. ENOBUFS means events were lost: the caller rescans.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Vec<ProcEvent>> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|s| s.get_ref().read(buf)) {
                Ok(Ok(n)) => return Ok(parse(&buf[..n])),
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

/// Whether the kernel answers the connector in the calling thread's network namespace.
pub fn answers_here() -> bool {
    subscribe().is_ok()
}

/// A connector socket in the calling thread's network namespace, listening.
fn subscribe() -> io::Result<Socket> {
    let sock = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::DGRAM,
        Some(Protocol::from(NETLINK_CONNECTOR)),
    )?;
    // A burst of forks (a build, a cron storm) must not overflow it before we read.
    let _ = sock.set_recv_buffer_size(4 << 20);
    bind(sock.as_raw_fd(), &NetlinkAddr::new(0, CN_IDX_PROC)).map_err(io::Error::from)?;
    let msg = listen_message(std::process::id());
    sendto(
        sock.as_raw_fd(),
        &msg,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    Ok(sock)
}

/// [`subscribe`] from a short-lived thread that entered the initial network namespace, so
/// vrrpd's own threads never leave theirs. That namespace is found as PID 1's or, where PID 1
/// is out of reach (a sandbox), an ancestor's: whoever started vrrpd in its namespace.
fn subscribe_in_initial_namespace() -> io::Result<Socket> {
    let ours = std::fs::read_link("/proc/thread-self/ns/net")?;
    let mut tried = Vec::new();
    for pid in candidate_pids() {
        let path = format!("/proc/{pid}/ns/net");
        match std::fs::read_link(&path) {
            Ok(ns) if ns == ours => continue,
            Ok(_) => {}
            Err(e) => {
                tried.push(format!("pid {pid}: {e}"));
                continue;
            }
        }
        match subscribe_in(&path) {
            Ok(sock) => return Ok(sock),
            Err(e) => tried.push(format!("pid {pid}: {e}")),
        }
    }
    if tried.is_empty() {
        tried.push("every ancestor shares this namespace".into());
    }
    Err(io::Error::other(tried.join(", ")))
}

/// PID 1, then vrrpd's ancestors from its parent up (a short walk: each is read once).
fn candidate_pids() -> Vec<u32> {
    let mut pids = vec![1];
    let mut pid = std::process::id();
    while pids.len() < 64 {
        let Some(parent) = parent_of(pid).filter(|&p| p > 1) else {
            break;
        };
        pids.push(parent);
        pid = parent;
    }
    pids
}

fn parent_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}

fn subscribe_in(ns_path: &str) -> io::Result<Socket> {
    let target = std::fs::File::open(ns_path)?;
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(&target, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| io::Error::other(format!("setns: {e}")))?;
            subscribe()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")))
    })
}

/// nlmsghdr + cn_msg + `PROC_CN_MCAST_LISTEN`.
fn listen_message(pid: u32) -> Vec<u8> {
    let total = NLMSG_HDR + CN_MSG_HDR + 4;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&(total as u32).to_ne_bytes());
    m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&pid.to_ne_bytes());
    m.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    m.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // ack
    m.extend_from_slice(&4u16.to_ne_bytes()); // len
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
    m
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// The events in one datagram (several netlink messages may share it); anything short or
/// unknown is skipped, never a panic.
pub fn parse(mut b: &[u8]) -> Vec<ProcEvent> {
    let mut out = Vec::new();
    while let Some(len) = u32_at(b, 0) {
        let len = len as usize;
        if len < NLMSG_HDR || len > b.len() {
            break;
        }
        if let Some(e) = parse_cn(&b[NLMSG_HDR..len]) {
            out.push(e);
        }
        // Messages are 4-byte aligned.
        let next = (len + 3) & !3;
        b = b.get(next..).unwrap_or(&[]);
    }
    out
}

/// cn_msg { idx, val, seq, ack, len u16, flags u16 } then proc_event { what, cpu,
/// timestamp u64, data }.
fn parse_cn(cn: &[u8]) -> Option<ProcEvent> {
    if u32_at(cn, 0)? != CN_IDX_PROC || u32_at(cn, 4)? != CN_VAL_PROC {
        return None;
    }
    let ev = cn.get(CN_MSG_HDR..)?;
    let what = u32_at(ev, 0)?;
    let data = ev.get(16..)?;
    let pid_tgid = |at: usize| -> Option<(i32, i32)> {
        Some((u32_at(data, at)? as i32, u32_at(data, at + 4)? as i32))
    };
    let process = |at: usize| pid_tgid(at).filter(|(p, t)| p == t).map(|(p, _)| p);
    match what {
        // parent pid/tgid, then child pid/tgid.
        PROC_EVENT_FORK => process(8).map(ProcEvent::Fork),
        PROC_EVENT_EXEC => process(0).map(ProcEvent::Exec),
        PROC_EVENT_COMM => process(0).map(ProcEvent::Comm),
        PROC_EVENT_EXIT => process(0).map(ProcEvent::Exit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(what: u32, data: &[u32]) -> Vec<u8> {
        let mut body = Vec::new();
        for v in [CN_IDX_PROC, CN_VAL_PROC, 0, 0] {
            body.extend_from_slice(&v.to_ne_bytes());
        }
        let plen = 16 + data.len() * 4;
        body.extend_from_slice(&(plen as u16).to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&what.to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes());
        body.extend_from_slice(&0u64.to_ne_bytes());
        for v in data {
            body.extend_from_slice(&v.to_ne_bytes());
        }
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDR + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn events_of_processes_are_read_and_threads_skipped() {
        let mut dgram = event(PROC_EVENT_FORK, &[10, 10, 42, 42]);
        dgram.extend(event(PROC_EVENT_FORK, &[10, 10, 43, 42])); // a thread
        dgram.extend(event(PROC_EVENT_EXEC, &[42, 42]));
        dgram.extend(event(PROC_EVENT_EXIT, &[42, 42, 0, 9]));
        dgram.extend(event(0x40, &[42, 42, 0, 0])); // gid change: not ours
        assert_eq!(
            parse(&dgram),
            [
                ProcEvent::Fork(42),
                ProcEvent::Exec(42),
                ProcEvent::Exit(42)
            ]
        );
    }

    #[test]
    fn short_or_garbled_datagrams_are_skipped() {
        let full = event(PROC_EVENT_EXIT, &[7, 7, 0, 0]);
        for cut in 0..full.len() {
            let _ = parse(&full[..cut]);
        }
        let mut bad_len = full.clone();
        bad_len[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(parse(&bad_len).is_empty());
        assert_eq!(listen_message(1).len(), 40);
    }
}
