//! A black-holing SMTP server (accepts TCP, never answers): alerts are queued without
//! delaying the caller, the queue bound holds, and the outage is logged once, not per mail.
//! In its own test binary so the log capture sees only this test's events.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vrrpd::alert::{Alert, AlertKind, AlertQueue, SmtpSpec};

fn spec(port: u16, timeout: Duration) -> SmtpSpec {
    SmtpSpec {
        server: "127.0.0.1".into(),
        port,
        helo_name: Some("lb-a.example".into()),
        connect_timeout: timeout,
        from: "vrrpd@lb-a.example".into(),
        to: vec!["ops@example.org".into()],
        router_id: "lb-a".into(),
    }
}

fn alert(name: &str, state: &str) -> Alert {
    Alert {
        kind: AlertKind::Instance,
        name: name.into(),
        old_state: "MASTER".into(),
        new_state: state.into(),
        priority: Some(101),
        reason: "track script chk_elb: failed 1 time(s) in a row".into(),
    }
}

/// A tracing writer that keeps everything written, to count log lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_black_holing_server_delays_nothing_and_is_logged_once() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Accepts TCP connections and never says a word.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = hole.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = hole.accept().await {
            conns.push(c);
        }
    });
    let queue = AlertQueue::start(spec(port, Duration::from_millis(500)), 4).unwrap();
    let t = Instant::now();
    for name in ["VI_1", "VI_2", "VI_3", "VI_4"] {
        queue.send(&alert(name, "FAULT")).unwrap();
    }
    // The queue bound: further mail is refused at once, earlier mail stays queued.
    assert!(queue.send(&alert("VI_5", "FAULT")).is_err());
    assert!(queue.send(&alert("VI_6", "FAULT")).is_err());
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while queue.stats().failed_attempts < 2 {
        assert!(Instant::now() < deadline, "{:?}", queue.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = queue.stats();
    assert_eq!(stats.sent, 0);
    assert_eq!(stats.dropped_queue_full, 2);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let outage_lines = log.matches("cannot send alert mail").count();
    assert_eq!(outage_lines, 1, "{log}");
    queue.shutdown(Duration::from_millis(50)).await;
    held.abort();
}
