//! `vrrp_process_name` and `process_names` side by side with Debian's keepalived 2.2.7: the
//! VRRP process carries the same name (`/proc/PID/comm`, what `ps`, `pidof` and `pgrep` read)
//! under both daemons.

use crate::vrrp_lab::*;
use netlab::Proc;
use nix::sys::signal::Signal;

fn conf(global: &str) -> String {
    format!(
        "global_defs {{\n    {global}\n}}\n\
         vrrp_instance VI_1 {{\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n\
         priority 150\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP4}/24\n    }}\n}}\n"
    )
}

/// The `comm` of the daemon's VRRP process once it is MASTER (keepalived's VRRP child).
fn vrrp_comm(keepalived: bool, global: &str) -> String {
    let lab = netlab::Lab::new(2).unwrap();
    let a = lab.host(0);
    let mut p: Proc = start_daemon(&lab, a, "a", &conf(global), keepalived);
    p.wait_for_line(MASTER_LINE, WAIT).unwrap();
    let pid = vrrp_pid(&lab, "a", keepalived);
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    p.signal(Signal::SIGTERM).unwrap();
    p.wait_exit(WAIT).unwrap();
    comm.trim_end().to_string()
}

#[test]
fn the_vrrp_process_takes_keepalived_names() {
    let Some(probe) = keepalived_lab("the_vrrp_process_takes_keepalived_names") else {
        return;
    };
    drop(probe);
    for (global, name) in [
        (
            "vrrp_process_name my_vrrp_proc_long_name",
            "my_vrrp_proc_lo",
        ),
        ("process_names", "keepalived_vrrp"),
    ] {
        assert_eq!(vrrp_comm(true, global), name, "keepalived with {global}");
        assert_eq!(vrrp_comm(false, global), name, "vrrpd with {global}");
    }
    assert_eq!(
        vrrp_comm(false, "router_id a"),
        "vrrpd",
        "vrrpd's own name by default"
    );
}
