//! VMACs across a reload (SIGHUP), side by side with keepalived 2.2.7: a node with VI_1
//! (`use_vmac`, kept as it is), VI_2 (`use_vmac` and a VIP with its own `use_vmac` on eth1,
//! removed from the file) and VI_3 (`use_vmac`, kept but without it), all MASTER. After the
//! reload the macvlans left (name, base, MAC) and where each VIP is must be the same under
//! both daemons. One daemon at a time, so the two never hear each other.

use crate::vrrp_lab::{WAIT, keepalived_lab, start_daemon, write_conf};
use netlab::{Host, Lab, Proc};
use nix::sys::signal::Signal;

fn sh(h: &Host, cmd: &str) -> String {
    let out = h.run(&["sh", "-c", cmd]).expect("sh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const VIPS: [&str; 4] = [
    "198.18.0.100",
    "198.18.0.101",
    "198.18.21.101",
    "198.18.0.102",
];

fn instance(name: &str, vrid: u8, vips: &[&str], vmac: bool) -> String {
    let vips: String = vips.iter().map(|v| format!("        {v}\n")).collect();
    let vmac = if vmac { "    use_vmac\n" } else { "" };
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id {vrid}\n    priority 100\n    advert_int 0.1\n    version 3\n\
         {vmac}    virtual_ipaddress {{\n{vips}    }}\n}}\n"
    )
}

/// The whole file before the reload (`before`), or after it.
fn conf(before: bool) -> String {
    let mut s = "global_defs {\n    router_id lab\n    vrrp_garp_master_delay 0\n}\n".to_string();
    s += &instance("VI_1", 51, &["198.18.0.100/24"], true);
    if before {
        s += &instance(
            "VI_2",
            52,
            &["198.18.0.101/24", "198.18.21.101/24 dev eth1 use_vmac"],
            true,
        );
    }
    s += &instance("VI_3", 53, &["198.18.0.102/24"], before);
    s
}

/// Every macvlan as `name@base MAC`, and which interface holds each VIP, sorted.
fn state(h: &Host) -> Vec<String> {
    let mut out: Vec<String> = sh(h, "ip -o -d link show type macvlan")
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let mac = w.iter().skip_while(|x| **x != "link/ether").nth(1);
            format!("{} {}", w[1].trim_end_matches(':'), mac.unwrap_or(&"?"))
        })
        .collect();
    for vip in VIPS {
        let dev = sh(h, &format!("ip -o addr show to {vip}/32"));
        let dev = dev.split_whitespace().nth(1).unwrap_or("nowhere");
        out.push(format!("{vip} on {dev}"));
    }
    out.sort();
    out
}

/// Runs the scenario under one daemon on `h`: (state once all are MASTER, state after the
/// reload, state after exit).
fn run(lab: &Lab, h: &Host, tag: &str, keepalived: bool) -> [Vec<String>; 3] {
    sh(
        h,
        "ip link add eth1 type veth peer name eth1p && ip link set eth1p up && \
         ip link set eth1 up && ip addr add 198.18.21.1/24 dev eth1",
    );
    let mut p = start_daemon(lab, h, tag, &conf(true), keepalived);
    for _ in 0..3 {
        p.wait_for_line("Entering MASTER STATE", WAIT)
            .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    }
    for vip in VIPS {
        h.wait_for_address(vip.parse().unwrap(), true, WAIT)
            .unwrap_or_else(|e| panic!("{vip}: {e}\n{}", p.output()));
    }
    let before = state(h);
    write_conf(lab, tag, &conf(false));
    p.signal(Signal::SIGHUP).expect("SIGHUP");
    reloaded(&p, keepalived);
    // VI_3 comes back as MASTER on eth0 and VI_2's VIPs are gone: both daemons delete the
    // VMACs before that (keepalived in the same pass that releases, vrrpd before it answers).
    h.wait_for_address("198.18.0.101".parse().unwrap(), false, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    h.wait_for_address("198.18.21.101".parse().unwrap(), false, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
    wait_on(h, "198.18.0.102", "eth0", &p);
    let after = state(h);
    p.signal(Signal::SIGTERM).expect("SIGTERM");
    p.wait_exit(WAIT).expect("exit");
    println!("{tag} output:\n{}", p.output());
    [before, after, state(h)]
}

/// Waits for the daemon to say the reload is done.
fn reloaded(p: &Proc, keepalived: bool) {
    let line = if keepalived {
        "Reload complete"
    } else {
        "configuration reloaded"
    };
    p.wait_for_line(line, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output()));
}

/// Waits (at most [`WAIT`]) for `vip` to be on `dev`.
fn wait_on(h: &Host, vip: &str, dev: &str, p: &Proc) {
    let deadline = std::time::Instant::now() + WAIT;
    let want = format!("{vip} on {dev}");
    while !state(h).contains(&want) {
        assert!(
            std::time::Instant::now() < deadline,
            "{want}: {:#?}\n{}",
            state(h),
            p.output()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_reload_removes_the_vmacs_of_removed_instances_like_keepalived() {
    let Some(lab) =
        keepalived_lab("a_reload_removes_the_vmacs_of_removed_instances_like_keepalived")
    else {
        return;
    };
    let theirs = run(&lab, lab.host(1), "k", true);
    println!("keepalived 2.2.7: {theirs:#?}");
    let ours = run(&lab, lab.host(0), "v", false);
    assert_eq!(ours, theirs, "vrrpd (left) and keepalived 2.2.7 (right)");
}
