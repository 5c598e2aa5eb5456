//! Tracking, notify and mail end to end in the namespace lab, with two real vrrpd nodes
//! running a config shaped like deploy/keepalived.conf (global_defs with notification_email / smtp_server / router_id, a
//! `vrrp_script` with `weight 2`, priorities 101/100, `track_script`, `smtp_alert`) plus a
//! generic `notify` script: a failing check moves the VIP and a passing one brings it back
//! (rise/fall counted), a hanging check is killed at its timeout and counts as a failure,
//! each transition sends mail to a real SMTP server (aiosmtpd in each node's namespace),
//! notify scripts get the right arguments in order, `vrrpd ctl show status` says why, and
//! `track NAME down` moves the VIP within one advert interval with `--fast-failover`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::vrrp_lab::{lab_with, tracked_instance};
use netlab::{Host, Lab, Proc};

const VIP: &str = "198.18.0.100";
const WAIT: Duration = Duration::from_secs(20);
const SMTP_PORT: u16 = 2525;
const PYTHON: &str = "/usr/bin/python3";

fn vip() -> IpAddr {
    VIP.parse().unwrap()
}

fn conf(dir: &Path, router: &str, state: &str, priority: u8) -> String {
    let d = dir.display();
    format!(
        r#"global_defs {{
    notification_email {{
        ops@example.org
        oncall@example.org
    }}
    notification_email_from vrrpd@{router}.example
    smtp_server 127.0.0.1 {SMTP_PORT}
    smtp_connect_timeout 5
    router_id {router}
}}
vrrp_script chk_elb {{
    script "{d}/check.sh"
    interval 0.2
    timeout 0.5
    weight 2
    rise 2
    fall 2
}}
{}"#,
        tracked_instance(
            state,
            priority,
            VIP,
            &format!("    notify \"{d}/notify.sh\"\n    smtp_alert\n")
        )
    )
}

fn write_exec(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// One node: its directory, vrrpd, and the SMTP server in its namespace.
struct Node<'a> {
    host: &'a Host,
    dir: PathBuf,
    _smtpd: Proc,
    vrrpd: Proc,
}

impl<'a> Node<'a> {
    fn start(lab: &'a Lab, i: usize, state: &str, priority: u8, extra: &[&str]) -> Node<'a> {
        let host = lab.host(i);
        let tag = format!("n{i}");
        let dir = lab.dir().join(&tag);
        // aiosmtpd's Mailbox creates the Maildir (and its tmp/new/cur) itself.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("healthy"), "").unwrap();
        write_exec(
            &dir.join("check.sh"),
            &format!(
                "[ -e {d}/hang ] && exec sleep 100\nexec test -e {d}/healthy",
                d = dir.display()
            ),
        );
        write_exec(
            &dir.join("notify.sh"),
            &format!("echo \"$@\" >> {}/notify.log", dir.display()),
        );
        host.run(&["ip", "link", "set", "lo", "up"]).unwrap();
        let mut smtp = host.command(PYTHON);
        smtp.args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{SMTP_PORT}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.join("maildir"));
        let smtpd = host.spawn(&format!("smtpd-{tag}"), smtp).unwrap();
        host.wait_tcp(SocketAddr::from(([127, 0, 0, 1], SMTP_PORT)), WAIT)
            .unwrap();
        let conf_path = dir.join("keepalived.conf");
        std::fs::write(
            &conf_path,
            conf(&dir, &format!("lb-{tag}"), state, priority),
        )
        .unwrap();
        let mut cmd: Command = host.command(env!("CARGO_BIN_EXE_vrrpd"));
        cmd.args(["-n", "-l", "-D", "-f"])
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.join("vrrpd.pid"))
            .args(extra)
            .env("RUST_LOG", "info");
        let vrrpd = host.spawn(&format!("vrrpd-{tag}"), cmd).unwrap();
        Node {
            host,
            dir,
            _smtpd: smtpd,
            vrrpd,
        }
    }

    fn flag(&self, name: &str, present: bool) {
        let path = self.dir.join(name);
        if present {
            std::fs::write(path, "").unwrap();
        } else {
            let _ = std::fs::remove_file(path);
        }
    }

    fn ctl(&self, words: &[&str]) -> (bool, String) {
        let pid = self.dir.join("vrrpd.pid");
        let mut argv = vec![
            env!("CARGO_BIN_EXE_vrrpd"),
            "ctl",
            "-p",
            pid.to_str().unwrap(),
        ];
        argv.extend_from_slice(words);
        let out = self
            .host
            .command(argv[0])
            .args(&argv[1..])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// Subjects of the mails received so far.
    fn subjects(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.dir.join("maildir").join("new")) else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|m| {
                let mut subject: Option<String> = None;
                for line in m.lines().take_while(|l| !l.is_empty()) {
                    if let Some(s) = line.strip_prefix("Subject: ") {
                        subject = Some(s.to_owned());
                    } else if let (Some(s), true) =
                        (subject.as_mut(), line.starts_with([' ', '\t']))
                    {
                        s.push(' ');
                        s.push_str(line.trim());
                    } else if subject.is_some() {
                        break;
                    }
                }
                subject
            })
            .collect()
    }

    /// Waits (bounded) until `n` mails whose subject contains `needle` have arrived.
    fn wait_mails(&self, needle: &str, n: usize) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let found: Vec<String> = self
                .subjects()
                .into_iter()
                .filter(|s| s.contains(needle))
                .collect();
            if found.len() >= n {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "fewer than {n} mails with {needle:?}; got {:?}\n{}",
                self.subjects(),
                self.vrrpd.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn notify_lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("notify.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn lab_ready(test: &str) -> Option<Lab> {
    let smtpd = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    lab_with(test, "python3-aiosmtpd", smtpd)
}

#[test]
fn failing_and_hanging_checks_move_the_vip_with_mail_notify_and_status() {
    let Some(lab) =
        lab_ready("failing_and_hanging_checks_move_the_vip_with_mail_notify_and_status")
    else {
        return;
    };
    let a = Node::start(&lab, 0, "MASTER", 101, &[]);
    let b = Node::start(&lab, 1, "BACKUP", 100, &[]);
    a.host.wait_for_address(vip(), true, WAIT).unwrap();
    b.host.wait_for_address(vip(), false, WAIT).unwrap();
    a.wait_mails("[lb-n0] VRRP instance VI_1 is now MASTER", 1);

    // The balancer on A "stops": the check fails twice (fall 2), A drops to 101 < 102.
    let t = Instant::now();
    a.flag("healthy", false);
    b.host.wait_for_address(vip(), true, WAIT).unwrap();
    a.host.wait_for_address(vip(), false, WAIT).unwrap();
    let failover = t.elapsed();
    let (ok, status) = a.ctl(&["show", "status"]);
    assert!(ok, "{status}");
    assert!(status.contains("BACKUP"), "{status}");
    assert!(
        status.contains("track script chk_elb down"),
        "tracker state missing: {status}"
    );
    assert!(status.contains("failed 2 time(s) in a row"), "{status}");
    b.wait_mails("[lb-n1] VRRP instance VI_1 is now MASTER", 1);
    // One BACKUP mail at start-up (INIT -> BACKUP), one for the hand-over.
    let backup_mails = a.wait_mails("[lb-n0] VRRP instance VI_1 is now BACKUP", 2);

    // Back up (rise 2): preemption returns the VIP to A.
    let t = Instant::now();
    a.flag("healthy", true);
    a.host.wait_for_address(vip(), true, WAIT).unwrap();
    let failback = t.elapsed();

    // A hanging check: killed at its 0.5 s timeout, counted as failure, the VIP moves.
    let t = Instant::now();
    a.flag("hang", true);
    b.host.wait_for_address(vip(), true, WAIT).unwrap();
    let hang_failover = t.elapsed();
    let (_, stats) = a.ctl(&["show", "stats", "json"]);
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    let script = stats["scripts"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "chk_elb"))
        .cloned()
        .unwrap_or_default();
    assert!(script["timeouts"].as_u64().unwrap_or(0) >= 2, "{stats}");
    a.flag("hang", false);
    a.host.wait_for_address(vip(), true, WAIT).unwrap();

    // The generic notify script saw each transition once, in order, with its priority.
    let deadline = Instant::now() + WAIT;
    let want = [
        "INSTANCE VI_1 MASTER 103",
        "INSTANCE VI_1 BACKUP 101",
        "INSTANCE VI_1 MASTER 103",
        "INSTANCE VI_1 BACKUP 101",
        "INSTANCE VI_1 MASTER 103",
    ];
    loop {
        let lines = a.notify_lines();
        let tail: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .skip_while(|l| *l != want[0])
            .collect();
        if tail == want {
            break;
        }
        assert!(Instant::now() < deadline, "notify log of A: {lines:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "vrrpd (keepalived-exact timers, advert_int 1, script every 0.2 s, fall/rise 2): \
         failover after check failure {failover:.2?}, failback {failback:.2?}, \
         failover on hanging check (timeout 0.5 s) {hang_failover:.2?}; mails: {backup_mails:?}"
    );
}

#[test]
fn track_down_moves_the_vip_within_one_advert_interval_with_fast_failover() {
    let Some(lab) =
        lab_ready("track_down_moves_the_vip_within_one_advert_interval_with_fast_failover")
    else {
        return;
    };
    let a = Node::start(&lab, 0, "MASTER", 101, &["--fast-failover"]);
    let b = Node::start(&lab, 1, "BACKUP", 100, &["--fast-failover"]);
    a.host.wait_for_address(vip(), true, WAIT).unwrap();
    b.host.wait_for_address(vip(), false, WAIT).unwrap();
    // Let B see A's adverts at 103 (both healthy) before the push.
    let t = Instant::now();
    let (ok, answer) = a.ctl(&["track", "chk_elb", "down"]);
    assert!(ok, "{answer}");
    b.host.wait_for_address(vip(), true, WAIT).unwrap();
    let moved = t.elapsed();
    a.host.wait_for_address(vip(), false, WAIT).unwrap();
    assert!(
        moved < Duration::from_secs(1),
        "track down took {moved:?} (advert_int 1)\n{}\n{}",
        a.vrrpd.output(),
        b.vrrpd.output()
    );
    let (_, status) = a.ctl(&["show", "status"]);
    assert!(status.contains("pushed down"), "{status}");
    // The push holds while the script still passes; an unknown tracker is an error.
    let (ok, answer) = a.ctl(&["track", "nosuch", "down"]);
    assert!(!ok && answer.starts_with("error:"), "{answer}");
    eprintln!("vrrpd --fast-failover: `track chk_elb down` moved the VIP in {moved:.2?}");
}
