//! A real DNS server on loopback for tests: Debian's dnsmasq (package dnsmasq-base), serving
//! only the A/AAAA records the test sets, authoritative for `.test` (a name it has no record
//! of is NXDOMAIN, never forwarded), TTL 0. The records live in a hosts file in a directory
//! dnsmasq watches, so `set` changes the answers at once without a restart.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The dnsmasq program.
pub const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// A running dnsmasq; stopped and its files removed on drop.
pub struct Dnsmasq {
    child: Option<Child>,
    dir: PathBuf,
    /// Every name ever set, so `set` also waits for a removed name to be gone.
    known: Vec<String>,
    /// Where it answers (UDP and TCP).
    pub addr: SocketAddr,
}

impl Dnsmasq {
    /// Starts on a free loopback port with `records` (name, address) and waits until it
    /// answers.
    pub fn start(records: &[(&str, IpAddr)]) -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "elb-test-dns-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("hosts")).expect("dns test dir");
        let port = free_udp_and_tcp_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut me = Self {
            child: None,
            dir,
            known: Vec::new(),
            addr,
        };
        me.set(records);
        let child = Command::new(DNSMASQ)
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--local=/test/",
                "--local-ttl=0",
                "--user=root",
                "--pid-file=",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--hostsdir={}", me.dir.join("hosts").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting dnsmasq");
        me.child = Some(child);
        crate::wait::wait_until(Duration::from_secs(10), "dnsmasq answering", || {
            query_a(addr, "elb-probe.test").map(|_| ())
        });
        me
    }

    /// Replaces every record (written whole, then renamed in: dnsmasq never reads half a
    /// file). Waits until dnsmasq answers the new set for each name in it.
    pub fn set(&mut self, records: &[(&str, IpAddr)]) {
        let text: String = records
            .iter()
            .map(|(name, ip)| format!("{ip} {name}\n"))
            .collect();
        let staged = self.dir.join("staged");
        std::fs::write(&staged, text).expect("writing hosts");
        std::fs::rename(&staged, self.dir.join("hosts").join("records")).expect("renaming hosts");
        for (name, _) in records {
            if !self.known.iter().any(|k| k == name) {
                self.known.push((*name).to_string());
            }
        }
        if self.child.is_none() {
            return;
        }
        for name in &self.known {
            let mut want: Vec<IpAddr> = records
                .iter()
                .filter(|r| r.0 == name.as_str() && r.1.is_ipv4())
                .map(|r| r.1)
                .collect();
            want.sort();
            crate::wait::wait_until(Duration::from_secs(10), "dnsmasq reading hosts", || {
                let mut got = query_a(self.addr, name)?;
                got.sort();
                (got == want).then_some(())
            });
        }
    }

    /// Stops the server: names then get no answer at all (a resolver timeout).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            crate::wait::kill_and_reap(&mut c);
        }
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port free for both UDP and TCP on 127.0.0.1 right now.
fn free_udp_and_tcp_port() -> u16 {
    for _ in 0..100 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("udp bind");
        let port = udp.local_addr().expect("udp addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1")
}

/// The IPv4 addresses `server` gives for `name`: `Some(empty)` for NXDOMAIN or no record,
/// `None` when it does not answer within half a second.
pub fn query_a(server: SocketAddr, name: &str) -> Option<Vec<IpAddr>> {
    let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    let id: u16 = 0x4e41;
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        q.push(u8::try_from(label.len()).ok()?);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    socket.send_to(&q, server).ok()?;
    let mut buf = [0u8; 1500];
    let n = socket.recv(&mut buf).ok()?;
    parse_a_answers(&buf[..n], id, q.len())
}

/// The A records of an answer to our one-question query (`question_end`: its length).
fn parse_a_answers(d: &[u8], id: u16, question_end: usize) -> Option<Vec<IpAddr>> {
    if d.len() < question_end || d[..2] != id.to_be_bytes() {
        return None;
    }
    let count = u16::from_be_bytes([d[6], d[7]]);
    let mut at = question_end;
    let mut out = Vec::new();
    for _ in 0..count {
        // Name: a pointer (two bytes) or labels.
        if *d.get(at)? & 0xc0 == 0xc0 {
            at += 2;
        } else {
            while *d.get(at)? != 0 {
                at += 1 + usize::from(d[at]);
            }
            at += 1;
        }
        let rtype = u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]);
        let len = usize::from(u16::from_be_bytes([*d.get(at + 8)?, *d.get(at + 9)?]));
        let data = d.get(at + 10..at + 10 + len)?;
        if rtype == 1 && len == 4 {
            out.push(IpAddr::from([data[0], data[1], data[2], data[3]]));
        }
        at += 10 + len;
    }
    Some(out)
}
