//! A hostile segment cannot move the VIP: a third host floods the pair with invalid VRRP
//! packets that would each move the VIP if accepted (priority 254 for the VRID, or priority 0),
//! while the master keeps advertising at its interval and nobody changes state.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use elb_ha_e2e::bins::bin;
use elb_ha_e2e::services::SYSTEM_PYTHON;
use netlab::{Lab, Proc, require_root_or_skip};

const VIP: &str = "198.18.0.100";

fn conf(priority: u8, advert_int: f64) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  \
         advert_int {advert_int}\n  authentication {{\n    auth_type PASS\n    auth_pass s3cret\n  }}\n  \
         virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

fn start_vrrpd(lab: &Lab, node: usize, priority: u8, advert_int: f64) -> Proc {
    let dir = lab.dir().join(format!("n{node}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, conf(priority, advert_int)).unwrap();
    let host = lab.host(node);
    let mut cmd = host.command(&bin("vrrpd").to_string_lossy());
    cmd.args(["-n", "-l", "-f"])
        .arg(&path)
        .arg("-p")
        .arg(dir.join("vrrpd.pid"));
    host.spawn(&format!("vrrpd{node}"), cmd).unwrap()
}

fn ctl(lab: &Lab, node: usize, args: &[&str]) -> String {
    let pid_file = lab.dir().join(format!("n{node}")).join("vrrpd.pid");
    let (vrrpd, pid_file) = (bin("vrrpd"), pid_file.to_string_lossy().into_owned());
    let mut argv = vec![vrrpd.to_str().unwrap(), "ctl", "-p", &pid_file];
    argv.extend_from_slice(args);
    let out = lab.host(node).run(&argv).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Timestamps (seconds of the day) of the adverts from `src` in tcpdump's `-vv` text: the
/// time stands on the frame's first line, the addresses on its second.
fn advert_times(text: &str, src: &str) -> Vec<f64> {
    let mut last_time = None;
    let mut times = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.split_whitespace().next().and_then(clock_seconds) {
            last_time = Some(t);
        } else if line.contains(&format!(
            "{src} > 224.0.0.18: VRRPv2, Advertisement, vrid 51"
        )) {
            times.extend(last_time.take());
        }
    }
    times
}

/// `HH:MM:SS.ffffff` as seconds.
fn clock_seconds(word: &str) -> Option<f64> {
    let mut parts = word.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

#[test]
fn a_flood_of_invalid_packets_moves_nothing() {
    if !require_root_or_skip("a_flood_of_invalid_packets_moves_nothing") {
        return;
    }
    let lab = Lab::new(3).unwrap();
    let vip: IpAddr = VIP.parse().unwrap();
    // VRRPv2 needs whole-second intervals on the wire: keep v2 (PASS auth is v2-only) but at
    // 1 s, so the master-down interval is 3.6 s.
    let master = start_vrrpd(&lab, 0, 200, 1.0);
    let backup = start_vrrpd(&lab, 1, 100, 1.0);
    lab.host(0)
        .wait_for_address(vip, true, Duration::from_secs(15))
        .unwrap();
    master
        .wait_for_line("Entering MASTER STATE", Duration::from_secs(5))
        .unwrap();

    // Watch the master's adverts from the backup's side during the flood.
    let capture = lab.host(1).capture("vrrp").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hostile_flood.py");
    let attacker = lab.host(2);
    let flood = attacker
        .command(SYSTEM_PYTHON)
        .arg(&script)
        .args([
            "eth0",
            &attacker.ipv4().to_string(),
            "51",
            "s3cret",
            VIP,
            "8",
            "40000",
        ])
        .output()
        .unwrap();
    assert!(
        flood.status.success(),
        "flood script failed: {}",
        String::from_utf8_lossy(&flood.stderr)
    );
    let report = String::from_utf8_lossy(&flood.stdout);
    let sent: u64 = report
        .lines()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(sent >= 500, "the flood sent only {sent} packets:\n{report}");

    // Nothing moved: the VIP is where it was, on one node, and neither daemon logged a
    // transition after the master's election.
    assert!(lab.host(0).has_address(vip).unwrap());
    assert!(!lab.host(1).has_address(vip).unwrap());
    assert!(
        master
            .wait_for_line("Entering", Duration::from_millis(10))
            .is_err(),
        "the master changed state during the flood:\n{}",
        master.output()
    );
    let backup_entries = backup
        .output()
        .lines()
        .filter(|l| l.contains("Entering MASTER"))
        .count();
    assert_eq!(
        backup_entries,
        0,
        "the backup took over:\n{}",
        backup.output()
    );

    // The master kept its rhythm: no gap between adverts near the backup's master-down
    // interval (3 x 1 s + skew).
    let times = advert_times(&capture.text(), "198.18.0.1");
    assert!(
        times.len() >= 6,
        "too few adverts captured:\n{}",
        capture.text()
    );
    let worst = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    assert!(
        worst < 1.5,
        "an advert gap of {worst:.3} s during the flood"
    );

    // Every invalid packet was counted by reason.
    let stats = ctl(&lab, 1, &["show", "stats"]);
    for reason in [
        "bad_checksum",
        "bad_ttl",
        "version_mismatch",
        "bad_type",
        "bad_length",
        "auth_failure",
        "interval_mismatch",
        "ip_options",
    ] {
        let counted = stats
            .lines()
            .find(|l| l.contains(&format!(" rx_error {reason} ")))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0);
        assert!(counted > 0, "no {reason} counted:\n{stats}");
    }
    let errors: u64 = stats
        .lines()
        .filter(|l| l.contains(" rx_error "))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    let attacker_frames = capture.text().matches("198.18.0.3 > 224.0.0.18").count();
    assert!(
        errors > 0,
        "{attacker_frames} attacker frames seen by the backup's capture, none counted:\n{stats}"
    );
    eprintln!(
        "flood: {sent} packets sent ({attacker_frames} seen by the backup's capture), worst \
         advert gap {worst:.3} s; backup counted {errors} receive errors\n{report}\n{stats}"
    );
}
