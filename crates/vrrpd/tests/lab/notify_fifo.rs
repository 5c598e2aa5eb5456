//! Notify FIFOs side by side with Debian's keepalived 2.2.7: the same configuration and the
//! same events (start, a track script lowering and restoring the priority, a lower-priority
//! advert heard by a MASTER, a reload that removes instances, a clean stop) produce the same
//! lines in the same order on `vrrp_notify_fifo` and `notify_fifo`.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::vrrp_lab::*;
use netlab::{Host, Lab, Proc};
use nix::sys::signal::Signal;

/// The test's own end of a FIFO: opened read-write, so it never sees end-of-file when a
/// daemon closes and reopens its side (keepalived does at reload).
pub(crate) struct FifoTap {
    file: std::fs::File,
    text: String,
}

impl FifoTap {
    pub(crate) fn create(path: &Path) -> Self {
        nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap();
        FifoTap {
            file,
            text: String::new(),
        }
    }

    fn drain(&mut self) {
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.file.read(&mut buf) {
            if n == 0 {
                break;
            }
            self.text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }

    /// Waits until `line` has been written (as a whole line), at most [`WAIT`].
    fn wait_for(&mut self, line: &str) {
        self.wait_for_nth(line, 1);
    }

    /// Waits until `line` has been written `n` times, at most [`WAIT`].
    pub(crate) fn wait_for_nth(&mut self, line: &str, n: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            self.drain();
            if self.text.lines().filter(|l| *l == line).count() >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no FIFO line {line:?} within {WAIT:?}; got:\n{}",
                self.text
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn lines(&mut self) -> Vec<String> {
        self.drain();
        self.text.lines().map(str::to_string).collect()
    }
}

/// The configuration, with `dir` the node directory as the daemon sees it. Sync group G's
/// first member in the file (VI_3) is also the one whose down timer expires last: both daemons
/// move a group to MASTER when its last member's timer expires, that member first, so this
/// order does not depend on timer jitter (the group's timing is `lab::sync_groups`'s subject).
fn conf(dir: &str, with_removed: bool, states_on_reload: bool) -> String {
    let on_reload = if states_on_reload {
        "    fifo_write_vrrp_states_on_reload\n"
    } else {
        ""
    };
    let mut s = format!(
        "global_defs {{\n    router_id lab\n    vrrp_garp_master_delay 0\n{on_reload}\
         vrrp_notify_fifo {dir}/vrrp.fifo\n    notify_fifo {dir}/all.fifo\n}}\n\
         vrrp_script chk {{\n    script \"/usr/bin/test ! -e {dir}/down\"\n    interval 1\n    weight -20\n}}\n\
         vrrp_sync_group G {{\n    group {{\n        VI_3\n        VI_5\n    }}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n\
         priority 150\n    advert_int 1\n    notify_priority_changes\n\
         notify_master_rx_lower_pri /bin/true\n    track_script {{\n        chk\n    }}\n\
         virtual_ipaddress {{\n        198.18.0.100/24\n    }}\n}}\n\
         vrrp_instance VI_3 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 53\n\
         priority 90\n    advert_int 1\n    virtual_ipaddress {{\n        198.18.0.103/24\n    }}\n}}\n\
         vrrp_instance VI_5 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 55\n\
         priority 91\n    advert_int 1\n    virtual_ipaddress {{\n        198.18.0.105/24\n    }}\n}}\n"
    );
    if with_removed {
        s.push_str(
            "vrrp_instance VI_2 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 52\n\
             priority 100\n    advert_int 1\n    notify_deleted\n\
             virtual_ipaddress {\n        198.18.0.101/24\n    }\n}\n\
             vrrp_instance VI_4 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 54\n\
             priority 80\n    advert_int 1\n    virtual_ipaddress {\n        198.18.0.104/24\n    }\n}\n",
        );
    }
    s
}

/// A VRRPv2 advert for VRID 51 at priority 50 with VI_1's VIP, sent from `h` to 224.0.0.18.
fn send_lower_advert(h: &Host) {
    let mut pkt = vec![0x21, 51, 50, 1, 0, 1, 0, 0, 198, 18, 0, 100];
    pkt.extend_from_slice(&[0; 8]);
    let sum = checksum(&pkt);
    pkt[6..8].copy_from_slice(&sum.to_be_bytes());
    h.in_netns(|| {
        let s = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(112)),
        )
        .unwrap();
        s.bind_device(Some(b"eth0")).unwrap();
        s.set_multicast_ttl_v4(255).unwrap();
        let dst: std::net::SocketAddr = "224.0.0.18:0".parse().unwrap();
        s.send_to(&pkt, &dst.into()).unwrap();
    })
    .unwrap();
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Runs the scenario with one daemon; returns the lines of (vrrp.fifo, all.fifo).
fn scenario(keepalived: bool, states_on_reload: bool) -> (Vec<String>, Vec<String>) {
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let tag = "a";
    let dir: PathBuf = node_dir(&lab, tag);
    // keepalived sees the node dir as /var/tmp (see start_keepalived).
    let seen = if keepalived {
        "/var/tmp".to_string()
    } else {
        dir.display().to_string()
    };
    let mut vrrp_tap = FifoTap::create(&dir.join("vrrp.fifo"));
    let mut all_tap = FifoTap::create(&dir.join("all.fifo"));
    let start = |text: &str| -> Proc { start_daemon(&lab, a, tag, text, keepalived) };
    let mut p = start(&conf(&seen, true, states_on_reload));
    for l in [
        "INSTANCE \"VI_1\" MASTER 150",
        "INSTANCE \"VI_2\" MASTER 100",
        "GROUP \"G\" MASTER 0",
        "INSTANCE \"VI_4\" MASTER 80",
    ] {
        vrrp_tap.wait_for(l);
    }
    std::fs::write(dir.join("down"), "").unwrap();
    vrrp_tap.wait_for("INSTANCE \"VI_1\" MASTER_PRIORITY 130");
    std::fs::remove_file(dir.join("down")).unwrap();
    vrrp_tap.wait_for("INSTANCE \"VI_1\" MASTER_PRIORITY 150");
    send_lower_advert(b);
    vrrp_tap.wait_for("INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150");
    // Reload without VI_2 (notify_deleted) and VI_4 (without it).
    write_conf(&lab, tag, &conf(&seen, false, states_on_reload));
    p.signal(Signal::SIGHUP).unwrap();
    vrrp_tap.wait_for("INSTANCE \"VI_2\" DELETED 100");
    vrrp_tap.wait_for("INSTANCE \"VI_4\" FAULT 80");
    if states_on_reload {
        // keepalived 2.2.7 writes the sync groups' states again, not the instances'.
        vrrp_tap.wait_for_nth("GROUP \"G\" MASTER 0", 2);
    }
    p.signal(Signal::SIGTERM).unwrap();
    p.wait_exit(WAIT).unwrap();
    vrrp_tap.wait_for("GROUP \"G\" STOP 0");
    all_tap.wait_for("GROUP \"G\" STOP 0");
    eprintln!("--- daemon output:\n{}", p.output());
    (vrrp_tap.lines(), all_tap.lines())
}

#[test]
fn fifo_lines_match_keepalived_in_content_and_order() {
    compare_with_keepalived("fifo_lines_match_keepalived_in_content_and_order", false);
}

/// `fifo_write_vrrp_states_on_reload`: after a reload every instance's and group's state is
/// written again, in keepalived's order.
#[test]
fn states_are_written_again_at_reload_like_keepalived() {
    compare_with_keepalived("states_are_written_again_at_reload_like_keepalived", true);
}

fn compare_with_keepalived(test: &str, states_on_reload: bool) {
    let Some(probe) = keepalived_lab(test) else {
        return;
    };
    drop(probe);
    let theirs = scenario(true, states_on_reload);
    eprintln!("keepalived vrrp_notify_fifo:\n{}", theirs.0.join("\n"));
    eprintln!("keepalived notify_fifo:\n{}", theirs.1.join("\n"));
    let ours = scenario(false, states_on_reload);
    eprintln!("vrrpd vrrp_notify_fifo:\n{}", ours.0.join("\n"));
    assert_eq!(ours.0, theirs.0, "vrrp_notify_fifo lines differ");
    assert_eq!(ours.1, theirs.1, "notify_fifo lines differ");
    assert_eq!(ours.0, ours.1, "both FIFOs carry the VRRP lines");
}

/// The FIFO lines of a sync group with `notify_priority_changes` whose member's track script
/// lowers and restores its priority (`sync_group_tracking_weight` keeps the weight).
fn group_priority_scenario(keepalived: bool) -> Vec<String> {
    let lab = Lab::new(2).unwrap();
    let a = lab.host(0);
    let dir: PathBuf = node_dir(&lab, "a");
    let seen = if keepalived {
        "/var/tmp".to_string()
    } else {
        dir.display().to_string()
    };
    let mut tap = FifoTap::create(&dir.join("vrrp.fifo"));
    let text = format!(
        "global_defs {{\n    router_id lab\n    vrrp_garp_master_delay 0\n\
         vrrp_notify_fifo {seen}/vrrp.fifo\n}}\n\
         vrrp_script chk {{\n    script \"/usr/bin/test ! -e {seen}/down\"\n    interval 1\n    weight -20\n}}\n\
         vrrp_sync_group G {{\n    group {{\n        VI_3\n        VI_5\n    }}\n\
         notify_priority_changes\n    sync_group_tracking_weight\n}}\n\
         vrrp_instance VI_3 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 53\n\
         priority 90\n    advert_int 1\n    track_script {{\n        chk\n    }}\n\
         virtual_ipaddress {{\n        198.18.0.103/24\n    }}\n}}\n\
         vrrp_instance VI_5 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 55\n\
         priority 91\n    advert_int 1\n    virtual_ipaddress {{\n        198.18.0.105/24\n    }}\n}}\n"
    );
    let mut p = start_daemon(&lab, a, "a", &text, keepalived);
    tap.wait_for("GROUP \"G\" MASTER 0");
    std::fs::write(dir.join("down"), "").unwrap();
    tap.wait_for("INSTANCE \"VI_3\" MASTER_PRIORITY 70");
    std::fs::remove_file(dir.join("down")).unwrap();
    p.signal(Signal::SIGTERM).unwrap();
    p.wait_exit(WAIT).unwrap();
    tap.wait_for("GROUP \"G\" STOP 0");
    eprintln!("--- daemon output:\n{}", p.output());
    tap.lines()
}

#[test]
fn a_sync_groups_notify_priority_changes_matches_keepalived() {
    let Some(probe) = keepalived_lab("a_sync_groups_notify_priority_changes_matches_keepalived")
    else {
        return;
    };
    drop(probe);
    let theirs = group_priority_scenario(true);
    eprintln!("keepalived:\n{}", theirs.join("\n"));
    let ours = group_priority_scenario(false);
    eprintln!("vrrpd:\n{}", ours.join("\n"));
    assert_eq!(ours, theirs);
}
