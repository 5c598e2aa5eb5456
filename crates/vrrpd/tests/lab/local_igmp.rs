//! `disable_local_igmp` side by side with Debian's keepalived 2.2.7: while the daemon runs,
//! `net.ipv4.igmp_link_local_mcast_reports` is 0 in its namespace; at a clean stop the old
//! value is back.

use crate::vrrp_lab::*;
use netlab::Host;
use nix::sys::signal::Signal;

fn reports(h: &Host) -> String {
    let out = h
        .run(&["sysctl", "-n", "net.ipv4.igmp_link_local_mcast_reports"])
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn link_local_igmp_reports_are_off_while_running_like_keepalived() {
    let Some(lab) = keepalived_lab("link_local_igmp_reports_are_off_while_running_like_keepalived")
    else {
        return;
    };
    let a = lab.host(0);
    let text = format!(
        "global_defs {{\n    disable_local_igmp\n}}\n\
         vrrp_instance VI_1 {{\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n\
         priority 150\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP4}/24\n    }}\n}}\n"
    );
    for keepalived in [true, false] {
        let tag = if keepalived { "k" } else { "v" };
        assert_eq!(
            reports(a),
            "1",
            "{tag}: the namespace's default before start"
        );
        let mut p = start_daemon(&lab, a, tag, &text, keepalived);
        p.wait_for_line(MASTER_LINE, WAIT).unwrap();
        assert_eq!(reports(a), "0", "{tag}: while running\n{}", p.output());
        p.signal(Signal::SIGTERM).unwrap();
        p.wait_exit(WAIT).unwrap();
        assert_eq!(reports(a), "1", "{tag}: after a clean stop");
    }
}
