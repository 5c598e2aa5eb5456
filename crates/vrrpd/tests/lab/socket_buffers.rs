//! `vrrp_netlink_cmd_rcv_bufs` / `vrrp_netlink_monitor_rcv_bufs` (and `_force`) side by side
//! with Debian's keepalived 2.2.7: `ss -f netlink -m` inside the host's namespace shows the
//! same receive buffers on each daemon's rtnetlink sockets (the monitor ones subscribed to
//! link and address groups, the command ones to none). `rb` is twice the bytes configured
//! (the kernel's bookkeeping); past net.core.rmem_max only with the force flag. And the
//! advert receive socket's SO_RCVBUF (`kernel_rx_buf_size`, `vrrp_rx_bufs_policy`,
//! `vrrp_rx_bufs_multiplier`), read from each daemon's own socket through pidfd_getfd: the
//! sum of the shares of the instances on the socket.

use std::collections::BTreeSet;

use crate::vrrp_lab::*;
use nix::sys::signal::Signal;

/// (subscribed to groups, rb) of every rtnetlink socket of a process in `host`'s namespace.
fn rtnl_buffers(host: &netlab::Host) -> BTreeSet<(bool, u64)> {
    let out = host
        .run(&["ss", "-f", "netlink", "-m", "-a", "-e"])
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut seen = BTreeSet::new();
    for l in text.lines() {
        let Some(local) = l.split_whitespace().nth(3) else {
            continue;
        };
        if !local.starts_with("rtnl:") || local == "rtnl:kernel" || local.starts_with("rtnl:ss/") {
            continue;
        }
        let groups = l.contains("groups=0x00000000");
        let rb = l
            .split("rb")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no rb in {l}"));
        seen.insert((!groups, rb));
    }
    seen
}

#[test]
fn netlink_receive_buffers_are_sized_like_keepalived() {
    let Some(lab) = keepalived_lab("netlink_receive_buffers_are_sized_like_keepalived") else {
        return;
    };
    let a = lab.host(0);
    let rmem_max: u64 = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let forced = rmem_max + 65_536;
    let text = Node::v3(150, "1").conf().replace(
        "    vrrp_garp_master_delay 0\n",
        &format!(
            "    vrrp_garp_master_delay 0\n    vrrp_netlink_cmd_rcv_bufs 300000\n    \
             vrrp_netlink_monitor_rcv_bufs {forced}\n    vrrp_netlink_monitor_rcv_bufs_force\n"
        ),
    );
    let mut seen = Vec::new();
    for keepalived in [true, false] {
        let tag = if keepalived { "k" } else { "v" };
        let mut p = start_daemon(&lab, a, tag, &text, keepalived);
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        let got = rtnl_buffers(a);
        eprintln!("{tag}: {got:?}");
        seen.push(got);
        p.signal(Signal::SIGTERM).unwrap();
        p.wait_exit(WAIT).unwrap();
    }
    let want = BTreeSet::from([(false, 600_000), (true, 2 * forced)]);
    assert_eq!(seen[0], want, "keepalived's figures");
    assert_eq!(
        seen[1], seen[0],
        "vrrpd's netlink buffers differ from keepalived's"
    );
}

/// The largest SO_RCVBUF among `pid`'s raw VRRP (IP protocol 112) sockets: its receive socket
/// (keepalived's send socket is set to the kernel's minimum).
fn vrrp_rcvbuf(pid: i32) -> i64 {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: plain syscalls; each descriptor returned is owned here and closed on drop.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(
        pidfd >= 0,
        "pidfd_open: {}",
        std::io::Error::last_os_error()
    );
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as i32) };
    let mut best = -1;
    for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        let is_socket =
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"));
        let Ok(target) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if !is_socket {
            continue;
        }
        // SAFETY: as above.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), target, 0) };
        if fd < 0 {
            continue;
        }
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let opt = |name| {
            let mut v: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: `v` and `len` outlive the call and have the sizes given.
            let rc = unsafe {
                libc::getsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    name,
                    (&mut v as *mut libc::c_int).cast(),
                    &mut len,
                )
            };
            (rc == 0).then_some(v)
        };
        if opt(libc::SO_TYPE) == Some(libc::SOCK_RAW) && opt(libc::SO_PROTOCOL) == Some(112) {
            best = best.max(i64::from(opt(libc::SO_RCVBUF).unwrap()));
        }
    }
    best
}

#[test]
fn advert_receive_buffers_are_sized_like_keepalived() {
    let Some(lab) = keepalived_lab("advert_receive_buffers_are_sized_like_keepalived") else {
        return;
    };
    let a = lab.host(0);
    let second = Node {
        name: "VI_2".into(),
        vrid: 52,
        vips: vec!["198.18.0.101/24".into(), "198.18.0.102/24".into()],
        ..Node::v3(150, "1")
    };
    let second = second.conf();
    let second = &second[second.find("vrrp_instance").unwrap()..];
    // (global_defs lines, first instance's lines, the SO_RCVBUF both must show)
    let cases = [
        // Its own size for the first instance, the policy's bytes for the second.
        (
            "    vrrp_rx_bufs_policy 70000\n",
            "    kernel_rx_buf_size 123456\n",
            2 * (123_456 + 70_000),
        ),
        // MTU 1500 (the lab's veth) times 5, per instance.
        (
            "    vrrp_rx_bufs_policy MTU\n    vrrp_rx_bufs_multiplier 5\n",
            "",
            2 * (2 * 1500 * 5),
        ),
        // VRRPv3 IPv4 adverts of 28 + 4 bytes per address, times 100.
        (
            "    vrrp_rx_bufs_policy advert\n    vrrp_rx_bufs_multiplier 100\n",
            "",
            2 * 100 * ((28 + 4) + (28 + 8)),
        ),
    ];
    for (global, own, want) in cases {
        let mut first = Node::v3(150, "1");
        first.extra_instance = own.to_string();
        let text = first.conf().replace(
            "    vrrp_garp_master_delay 0\n",
            &format!("    vrrp_garp_master_delay 0\n{global}"),
        ) + second;
        let mut seen = Vec::new();
        for keepalived in [true, false] {
            let tag = if keepalived { "k" } else { "v" };
            let mut p = start_daemon(&lab, a, tag, &text, keepalived);
            p.wait_for_line(MASTER_LINE, WAIT).unwrap();
            let pid = vrrp_pid(&lab, tag, keepalived) as i32;
            seen.push(vrrp_rcvbuf(pid));
            p.signal(Signal::SIGTERM).unwrap();
            p.wait_exit(WAIT).unwrap();
        }
        eprintln!(
            "{global:?} {own:?}: keepalived {} vrrpd {}",
            seen[0], seen[1]
        );
        assert_eq!(seen[0], want, "keepalived's figure");
        assert_eq!(
            seen[1], seen[0],
            "vrrpd's advert buffer differs from keepalived's"
        );
    }
}
