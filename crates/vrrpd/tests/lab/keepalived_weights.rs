//! What the reference tracking config (deploy/keepalived.conf) does under Debian's keepalived
//! 2.2.7, measured in the namespace lab: `vrrp_script` with `weight 2`, priorities 101/100.
//! Also the 101/97 case the weight check warns about. The numbers printed here are the ones
//! quoted in docs/vrrpd-tracking.md.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::vrrp_lab::{keepalived_lab, node_dir, start_keepalived, tracked_instance};
use netlab::{Host, Lab, Proc};

const VIP: &str = "198.18.0.100";
const WAIT: Duration = Duration::from_secs(20);

/// The reference config's instance and script, with the health check replaced by a flag file (the lab
/// has no balancer): `test -e /var/tmp/healthy`, every second, weight 2.
fn reference_conf(state: &str, priority: u8) -> String {
    format!(
        r#"global_defs {{
    router_id lb-{state}
}}
vrrp_script chk_elb {{
    script "/usr/bin/test -e /var/tmp/healthy"
    interval 1
    weight 2
}}
{}"#,
        tracked_instance(state, priority, VIP, "")
    )
}

struct Node {
    dir: PathBuf,
    proc: Proc,
}

impl Node {
    /// keepalived as the lab runs it ([`start_keepalived`]): the node dir is its /var/tmp.
    fn start(lab: &Lab, host: &Host, tag: &str, conf: &str) -> Node {
        let dir = node_dir(lab, tag);
        std::fs::write(dir.join("healthy"), "").unwrap();
        let proc = start_keepalived(lab, host, tag, conf);
        Node { dir, proc }
    }

    fn set_healthy(&self, healthy: bool) {
        let flag = self.dir.join("healthy");
        if healthy {
            std::fs::write(flag, "").unwrap();
        } else {
            let _ = std::fs::remove_file(flag);
        }
    }

    /// The "Effective priority" from a SIGUSR1 dump, waiting until the dump is written.
    fn effective_priority(&self) -> u8 {
        let file = self.dir.join("tmp").join("keepalived.data");
        crate::vrrp_lab::clear_dump(&file);
        self.proc.signal(nix::sys::signal::Signal::SIGUSR1).unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&file)
                && let Some(line) = text
                    .lines()
                    .find(|l| l.trim_start().starts_with("Effective priority = "))
                && text.contains("Tracked scripts")
            {
                return line.rsplit(' ').next().unwrap().parse().unwrap();
            }
            assert!(Instant::now() < deadline, "no data dump");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn vip() -> IpAddr {
    VIP.parse().unwrap()
}

/// Waits until `owner` holds the VIP and `other` does not; returns the time it took.
fn wait_vip_moves_to(owner: &Host, other: &Host) -> Duration {
    let t = Instant::now();
    owner.wait_for_address(vip(), true, WAIT).unwrap();
    other.wait_for_address(vip(), false, WAIT).unwrap();
    t.elapsed()
}

#[test]
fn weight_2_with_101_and_100_fails_over_by_one_point_under_keepalived() {
    let Some(lab) =
        keepalived_lab("weight_2_with_101_and_100_fails_over_by_one_point_under_keepalived")
    else {
        return;
    };
    let (ha, hb) = (lab.host(0), lab.host(1));
    let a = Node::start(&lab, ha, "a", &reference_conf("MASTER", 101));
    let b = Node::start(&lab, hb, "b", &reference_conf("BACKUP", 100));
    let start = wait_vip_moves_to(ha, hb);
    assert_eq!((a.effective_priority(), b.effective_priority()), (103, 102));

    // The master's check fails: 101 < 102, so the backup takes over once its master-down
    // timer runs out (it ignores the lower-priority adverts until then).
    a.set_healthy(false);
    let failover = wait_vip_moves_to(hb, ha);
    assert_eq!((a.effective_priority(), b.effective_priority()), (101, 102));

    // Healthy again: 103 > 102 and preemption brings the VIP back.
    a.set_healthy(true);
    let failback = wait_vip_moves_to(ha, hb);

    // Both balancers down: 101 against 100, the VIP stays where it is.
    a.set_healthy(false);
    b.set_healthy(false);
    let deadline = Instant::now() + WAIT;
    while (a.effective_priority(), b.effective_priority()) != (101, 100) {
        assert!(Instant::now() < deadline, "priorities did not drop");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(ha.has_address(vip()).unwrap());
    eprintln!(
        "keepalived 2.2.7, reference tracking (interval 1, weight 2, 101/100, advert_int 1): \
         start {start:.2?}, failover after check failure {failover:.2?}, failback {failback:.2?}"
    );
    drop((a, b));
}

#[test]
fn weight_2_with_101_and_97_never_fails_over_under_keepalived() {
    let Some(lab) = keepalived_lab("weight_2_with_101_and_97_never_fails_over_under_keepalived")
    else {
        return;
    };
    let (ha, hb) = (lab.host(0), lab.host(1));
    let a = Node::start(&lab, ha, "a", &reference_conf("MASTER", 101));
    let b = Node::start(&lab, hb, "b", &reference_conf("BACKUP", 97));
    wait_vip_moves_to(ha, hb);
    a.set_healthy(false);
    // Wait (on the dump) until the failure is in A's priority: 101, still above B's 99.
    let deadline = Instant::now() + WAIT;
    while a.effective_priority() != 101 {
        assert!(Instant::now() < deadline, "A's check failure not seen");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(b.effective_priority(), 99);
    // A master-down interval (3 x 1 s + skew) and more: the VIP has not moved.
    let err = hb.wait_for_address(vip(), true, Duration::from_secs(5));
    assert!(err.is_err(), "the VIP moved although 101 > 99");
    assert!(ha.has_address(vip()).unwrap());
    drop((a, b));
}

/// The same pair under vrrpd: the backup sees the master's 103 against its own 99 and says,
/// once in its log and in `show status`, that no tracker failure can cause failover and which
/// weight would.
#[test]
fn vrrpd_warns_once_when_weights_cannot_cross() {
    if !netlab::require_root_or_skip("vrrpd_warns_once_when_weights_cannot_cross") {
        return;
    }
    let lab = Lab::new(2).expect("lab");
    let start = |i: usize, state: &str, prio: u8| -> (PathBuf, Proc) {
        let host = lab.host(i);
        let dir = lab.dir().join(format!("v{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("healthy"), "").unwrap();
        let conf = reference_conf(state, prio).replace(
            "/usr/bin/test -e /var/tmp/healthy",
            &format!("/usr/bin/test -e {}/healthy", dir.display()),
        );
        let path = dir.join("keepalived.conf");
        std::fs::write(&path, conf).unwrap();
        let mut cmd: Command = host.command(env!("CARGO_BIN_EXE_vrrpd"));
        cmd.args(["-n", "-l", "-f"])
            .arg(&path)
            .arg("-p")
            .arg(dir.join("vrrpd.pid"))
            .env("RUST_LOG", "info");
        (dir, host.spawn(&format!("vrrpd-{i}"), cmd).unwrap())
    };
    let (_da, _pa) = start(0, "MASTER", 101);
    let (db, pb) = start(1, "BACKUP", 97);
    let (ha, hb) = (lab.host(0), lab.host(1));
    wait_vip_moves_to(ha, hb);
    let pid = db.join("vrrpd.pid");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        let out = hb
            .command(env!("CARGO_BIN_EXE_vrrpd"))
            .args(["ctl", "-p", pid.to_str().unwrap(), "show", "status"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("WARNING") {
            break text;
        }
        assert!(Instant::now() < deadline, "no warning in status: {text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.contains("no tracker failure there can cause failover")
            && status.contains("a weight of 5"),
        "{status}"
    );
    // Three more adverts from the master: still a single log line.
    let capture = hb.capture("vrrp").unwrap();
    for _ in 0..3 {
        capture.wait_for("vrid 51", WAIT).unwrap();
    }
    let logged = pb
        .output()
        .matches("no tracker failure there can cause failover")
        .count();
    assert_eq!(logged, 1, "{}", pb.output());
    eprintln!(
        "vrrpd backup status: {}",
        status.lines().find(|l| l.contains("WARNING")).unwrap_or("")
    );
}
