//! keepalived's `track_file` in the lab: a weighted file adds value x weight to the priority,
//! so writing a number into it moves the VIP, and writing 0 brings it back.

use crate::vrrp_lab::*;
use netlab::Lab;

#[test]
fn weighted_track_file_moves_the_vip_and_back() {
    if !netlab::require_root_or_skip("weighted_track_file_moves_the_vip_and_back") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let (a, b) = (lab.host(0), lab.host(1));
    let vip = ip(VIP4);
    let file = lab.dir().join("a-weight");
    std::fs::write(&file, "0\n").unwrap();
    let mut node_a = Node::v3(150, "0.2");
    node_a.extra_instance = "    track_file {\n        tf weight -50\n    }\n".into();
    let conf_a = format!(
        "track_file tf {{\n    file \"{}\"\n}}\n{}",
        file.display(),
        node_a.conf()
    );
    let pa = start_vrrpd(&lab, a, "a", &conf_a, &[]);
    let pb = start_vrrpd(&lab, b, "b", &Node::v3(120, "0.2").conf(), &[]);
    a.wait_for_address(vip, true, WAIT).unwrap();

    // value 1 x weight -50: A drops to 100 < 120, B takes over.
    std::fs::write(&file, "1\n").unwrap();
    b.wait_for_address(vip, true, WAIT)
        .unwrap_or_else(|e| panic!("{e:#}\n{}\n{}", pa.output(), pb.output()));
    a.wait_for_address(vip, false, WAIT).unwrap();
    pa.wait_for_line("priority.*100", WAIT).unwrap();

    // Back to 0: A is 150 again and preempts.
    std::fs::write(&file, "0\n").unwrap();
    a.wait_for_address(vip, true, WAIT)
        .unwrap_or_else(|e| panic!("{e:#}\n{}\n{}", pa.output(), pb.output()));
    b.wait_for_address(vip, false, WAIT).unwrap();
}
