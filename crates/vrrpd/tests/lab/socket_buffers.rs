//! `vrrp_netlink_cmd_rcv_bufs` / `vrrp_netlink_monitor_rcv_bufs` (and `_force`) side by side
//! with Debian's keepalived 2.2.7: `ss -f netlink -m` inside the host's namespace shows the
//! same receive buffers on each daemon's rtnetlink sockets (the monitor ones subscribed to
//! link and address groups, the command ones to none). `rb` is twice the bytes configured
//! (the kernel's bookkeeping); past net.core.rmem_max only with the force flag.

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
        let mut p = if keepalived {
            start_keepalived(&lab, a, tag, &text)
        } else {
            start_vrrpd(&lab, a, tag, &text, &[])
        };
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
