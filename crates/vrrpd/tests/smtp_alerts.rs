//! Alert mail through a real SMTP server (Debian's aiosmtpd, started by the test on
//! 127.0.0.1), and through servers that are down or black-hole connections: the caller is
//! never delayed, queued mail is not lost, and an outage is logged once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vrrpd::alert::{Alert, AlertKind, AlertQueue, SmtpSpec};

/// Debian's python3: aiosmtpd is installed for it, not for a pyenv python3 earlier on PATH.
const PYTHON: &str = "/usr/bin/python3";

/// Skip when aiosmtpd is missing on a developer machine; fail in CI (or with ELB_E2E=1).
fn aiosmtpd_available(test: &str) -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    test_support::require(
        test,
        ok,
        "python3-aiosmtpd (apt-get install python3-aiosmtpd)",
    )
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// aiosmtpd with the Mailbox handler (a Maildir), killed on drop.
struct Smtpd {
    child: Child,
    maildir: PathBuf,
}

impl Smtpd {
    fn start(port: u16, dir: &Path) -> Smtpd {
        let maildir = dir.join("maildir");
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not listen");
            std::thread::sleep(Duration::from_millis(25));
        }
        Smtpd { child, maildir }
    }

    /// Waits (bounded) for `n` mails and returns their raw text.
    async fn wait_for_mails(&self, n: usize, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let mails: Vec<String> = std::fs::read_dir(self.maildir.join("new"))
                .map(|rd| {
                    rd.flatten()
                        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                        .collect()
                })
                .unwrap_or_default();
            if mails.len() >= n {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} mails arrived",
                mails.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        test_support::wait::kill_and_reap(&mut self.child);
    }
}

/// The values of header `name` (continuation lines unfolded).
fn header(mail: &str, name: &str) -> Vec<String> {
    let mut unfolded: Vec<String> = Vec::new();
    for line in mail.lines().take_while(|l| !l.is_empty()) {
        match unfolded.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => unfolded.push(line.to_owned()),
        }
    }
    let prefix = format!("{}: ", name.to_ascii_lowercase());
    unfolded
        .into_iter()
        .filter(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
        .collect()
}

fn spec(port: u16, timeout: Duration) -> SmtpSpec {
    SmtpSpec {
        server: "127.0.0.1".into(),
        port,
        helo_name: Some("lb-a.example".into()),
        connect_timeout: timeout,
        from: "vrrpd@lb-a.example".into(),
        to: vec!["ops@example.org".into(), "oncall@example.org".into()],
        router_id: "lb-a".into(),
    }
}

fn alert(name: &str, state: &str) -> Alert {
    Alert {
        kind: AlertKind::Instance,
        name: name.into(),
        old_state: "BACKUP".into(),
        new_state: state.into(),
        priority: Some(103),
        reason: "track script chk_elb: succeeded 1 time(s) in a row".into(),
    }
}

#[tokio::test]
async fn each_alert_arrives_with_sender_recipients_and_subject() {
    if !aiosmtpd_available("each_alert_arrives_with_sender_recipients_and_subject") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let smtpd = Smtpd::start(port, dir.path());
    let queue = AlertQueue::start(spec(port, Duration::from_secs(5)), 16).unwrap();
    queue.send(&alert("VI_1", "MASTER")).unwrap();
    let mails = smtpd.wait_for_mails(1, Duration::from_secs(15)).await;
    let mail = &mails[0];
    assert_eq!(header(mail, "From"), ["vrrpd@lb-a.example"]);
    assert_eq!(header(mail, "X-MailFrom"), ["vrrpd@lb-a.example"]);
    let rcpt = header(mail, "X-RcptTo").join(",");
    assert!(
        rcpt.contains("ops@example.org") && rcpt.contains("oncall@example.org"),
        "{rcpt}"
    );
    assert_eq!(
        header(mail, "Subject"),
        [
            "[lb-a] VRRP instance VI_1 is now MASTER: track script chk_elb: succeeded 1 time(s) in a row"
        ]
    );
    assert!(mail.contains("router_id: lb-a"), "{mail}");
    assert!(mail.contains("state: BACKUP -> MASTER"), "{mail}");
    assert_eq!(header(mail, "Date").len(), 1);
    // The server stores a mail before its "250" reaches the client: wait for the count.
    let deadline = Instant::now() + Duration::from_secs(10);
    while queue.stats().sent < 1 {
        assert!(Instant::now() < deadline, "{:?}", queue.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = queue.stats();
    assert_eq!((stats.queued, stats.sent), (1, 1));
    queue.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_down_server_delays_nothing_and_queued_mail_arrives_when_it_returns() {
    if !aiosmtpd_available("a_down_server_delays_nothing_and_queued_mail_arrives_when_it_returns") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port(); // nothing listens there yet: connection refused
    let queue = AlertQueue::start(spec(port, Duration::from_secs(2)), 16).unwrap();
    let mut slowest = Duration::ZERO;
    for name in ["VI_a", "VI_b", "VI_c"] {
        let t = Instant::now();
        queue.send(&alert(name, "MASTER")).unwrap();
        slowest = slowest.max(t.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(100),
        "send blocked {slowest:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while queue.stats().failed_attempts == 0 {
        assert!(Instant::now() < deadline, "no attempt failed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(queue.stats().sent, 0);
    let smtpd = Smtpd::start(port, dir.path());
    let mails = smtpd.wait_for_mails(3, Duration::from_secs(20)).await;
    let mut subjects: Vec<String> = mails
        .iter()
        .map(|m| header(m, "Subject").join(""))
        .collect();
    subjects.sort();
    assert!(
        subjects[0].contains("VI_a")
            && subjects[1].contains("VI_b")
            && subjects[2].contains("VI_c")
    );
    // The server stores a mail before its "250" reaches the client: wait for the count.
    let deadline = Instant::now() + Duration::from_secs(10);
    while queue.stats().sent < 3 {
        assert!(Instant::now() < deadline, "{:?}", queue.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(queue.stats().sent, 3);
    queue.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_permanently_rejected_mail_is_dropped_and_does_not_block_the_queue() {
    if !aiosmtpd_available("a_permanently_rejected_mail_is_dropped_and_does_not_block_the_queue") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // An aiosmtpd handler that refuses every message with a permanent 554.
    std::fs::write(
        dir.path().join("reject_all.py"),
        "class Reject:\n    async def handle_DATA(self, server, session, envelope):\n        return '554 rejected by test'\n",
    )
    .unwrap();
    let port = free_port();
    let mut child = Command::new(PYTHON)
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "reject_all.Reject"])
        .env("PYTHONPATH", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not listen");
        std::thread::sleep(Duration::from_millis(25));
    }
    let queue = AlertQueue::start(spec(port, Duration::from_secs(5)), 8).unwrap();
    for name in ["VI_1", "VI_2", "VI_3"] {
        queue.send(&alert(name, "BACKUP")).unwrap();
    }
    // All three are answered (and dropped) promptly: none waits behind a retried one.
    let deadline = Instant::now() + Duration::from_secs(10);
    while queue.stats().rejected < 3 {
        assert!(Instant::now() < deadline, "{:?}", queue.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = queue.stats();
    assert_eq!((stats.sent, stats.failed_attempts), (0, 0), "{stats:?}");
    queue.shutdown(Duration::from_secs(1)).await;
    test_support::wait::kill_and_reap(&mut child);
}
