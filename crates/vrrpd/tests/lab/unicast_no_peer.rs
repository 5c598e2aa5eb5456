//! `unicast_fault_no_peer` with an empty `unicast_peer` block, side by side with Debian's
//! keepalived 2.2.7: `-t` accepts the file (class 0 under both), and at start both say the
//! instance cannot run unicast without peers and hold it in FAULT, never taking the VIP.

use crate::vrrp_lab::*;
use nix::sys::signal::Signal;

fn conf(src: &str) -> String {
    let mut node = Node::v3(150, "1");
    node.extra_instance = format!(
        "    unicast_src_ip {src}\n    unicast_fault_no_peer\n    unicast_peer {{\n    }}\n"
    );
    node.conf()
}

#[test]
fn unicast_without_peers_is_held_in_fault_like_keepalived() {
    let Some(lab) = keepalived_lab("unicast_without_peers_is_held_in_fault_like_keepalived") else {
        return;
    };
    let a = lab.host(0);
    let text = conf(&a.ipv4().to_string());
    let path = write_conf(&lab, "t", &text);
    let path = path.to_str().unwrap();
    let theirs = a.run(&[KEEPALIVED, "-t", "-f", path]).unwrap();
    let ours = a.run(&[vrrpd_bin(), "-t", "-f", path]).unwrap();
    assert_eq!(theirs.status.code(), Some(0), "{theirs:?}");
    assert_eq!(ours.status.code(), theirs.status.code(), "{ours:?}");
    let said = "Cannot use unicast without any peers - going to fault state";
    let mut k = start_keepalived(&lab, a, "k", &text);
    k.wait_for_line(said, WAIT).unwrap();
    let mut v = start_vrrpd(&lab, a, "v", &text, &[]);
    v.wait_for_line(said, WAIT).unwrap();
    v.wait_for_line("Entering FAULT STATE", WAIT).unwrap();
    // vrrpd is in FAULT, which only a tracker coming up ends; keepalived never left INIT/FAULT.
    assert!(
        !a.has_address(ip(VIP4)).unwrap(),
        "a peerless instance took the VIP"
    );
    for p in [&mut k, &mut v] {
        p.signal(Signal::SIGTERM).unwrap();
        p.wait_exit(WAIT).unwrap();
    }
    assert!(
        !k.output().contains("Entering MASTER STATE"),
        "{}",
        k.output()
    );
    assert!(
        !v.output().contains("Entering MASTER STATE"),
        "{}",
        v.output()
    );
}
