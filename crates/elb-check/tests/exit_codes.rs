//! Every exit code of elb-check against real local servers, and every
//! failure mode the issue lists: never answers, trickles forever, 100 MB of
//! headers, closes mid-status-line, garbage, empty reply.

mod common;
#[path = "../../elb-probe/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use common::{elb_check, expect_code};
use support::{Misbehave, app, http_server, raw_server, refused_port, unix_server};

#[test]
fn healthy_is_0_and_verbose_lists_phases() {
    let addr = http_server(app());
    let url = format!("http://{addr}/services/EchoProxy");
    let quiet = elb_check(&[&url]);
    expect_code(&quiet, 0);
    assert!(
        quiet.stdout.is_empty() && quiet.stderr.is_empty(),
        "-q is the default"
    );
    let verbose = elb_check(&["-v", &url]);
    expect_code(&verbose, 0);
    for phase in ["connect", "send", "wait", "receive"] {
        assert!(
            verbose
                .stderr
                .lines()
                .any(|l| l.starts_with(&format!("elb-check: {phase} ")) && l.ends_with(" ms")),
            "no {phase} line in {}",
            verbose.stderr
        );
    }
    assert!(verbose.stderr.contains("healthy"), "{}", verbose.stderr);
    assert!(
        verbose.stderr.contains("HTTP/1.1 200 OK"),
        "{}",
        verbose.stderr
    );
}

#[test]
fn unexpected_status_is_8_unless_expected() {
    let addr = http_server(app());
    for status in [404, 500, 503, 204, 301] {
        let url = format!("http://{addr}/status/{status}");
        expect_code(&elb_check(&[&url]), 8);
    }
    let url = format!("http://{addr}/status/404");
    expect_code(&elb_check(&["-e", "200,404", &url]), 0);
    expect_code(&elb_check(&["-e", "4xx", &url]), 0);
    expect_code(&elb_check(&["-e", "500-599", &url]), 8);
    let url = format!("http://{addr}/status/503");
    expect_code(&elb_check(&["-e", "500-599", &url]), 0);
}

#[test]
fn body_and_header_rules() {
    let addr = http_server(app());
    let url = format!("http://{addr}/services/EchoProxy");
    expect_code(&elb_check(&["-s", "is alive", &url]), 0);
    expect_code(&elb_check(&["-s", "is dead", &url]), 8);
    expect_code(&elb_check(&["-r", "^Echo[A-Za-z]+ is", &url]), 0);
    expect_code(&elb_check(&["-r", "^nope", &url]), 8);
    let echo = format!("http://{addr}/echo");
    expect_code(&elb_check(&["--expect-header", "X-Role: master", &echo]), 0);
    expect_code(&elb_check(&["--expect-header", "X-Role: backup", &echo]), 8);
    expect_code(&elb_check(&["--expect-header", "X-Missing:", &echo]), 8);
}

#[test]
fn request_shaping_reaches_the_server() {
    let addr = http_server(app());
    let echo = format!("http://{addr}/echo");
    expect_code(
        &elb_check(&[
            "--host",
            "cluster.example",
            "-H",
            "X-Probe: 42",
            "-s",
            "host=cluster.example x-probe=42 ua=elb-check/",
            &echo,
        ]),
        0,
    );
    expect_code(
        &elb_check(&["-H", "User-Agent: mine", "-s", "ua=mine", &echo]),
        0,
    );
    // HEAD: the server sees HEAD and the probe does not wait for a body.
    let raw = raw_server(Misbehave::Canned(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n".to_vec(),
    ));
    let url = format!("http://{}/x", raw.addr);
    let run = elb_check(&["-X", "HEAD", "-t", "5", &url]);
    expect_code(&run, 0);
    assert!(run.elapsed < Duration::from_secs(4));
    let head = raw.requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        head.starts_with(b"HEAD /x HTTP/1.1\r\n"),
        "{}",
        String::from_utf8_lossy(&head)
    );
}

#[test]
fn redirects_only_when_asked_and_bounded() {
    let addr = http_server(app());
    let url = format!("http://{addr}/redirect/3");
    expect_code(&elb_check(&[&url]), 8);
    expect_code(&elb_check(&["-e", "3xx", &url]), 0);
    expect_code(&elb_check(&["-L", "-s", "landed", &url]), 0);
    expect_code(&elb_check(&["-L", "--max-redirs", "2", &url]), 8);
    expect_code(&elb_check(&["-L", "--max-redirs", "3", &url]), 0);
}

#[test]
fn network_failures_are_4() {
    let refused = format!("http://{}/", refused_port());
    let run = elb_check(&["-v", &refused]);
    expect_code(&run, 4);
    assert!(run.stderr.contains("in connect"), "{}", run.stderr);
    let missing = tempfile::tempdir().unwrap();
    let sock = missing.path().join("none.sock");
    expect_code(&elb_check(&[&format!("unix:{}:/", sock.display())]), 4);
}

#[test]
fn a_server_that_never_answers_times_out_with_4() {
    let server = raw_server(Misbehave::NeverAnswer);
    let url = format!("http://{}/services/EchoProxy", server.addr);
    let run = elb_check(&["-v", "-t", "300ms", &url]);
    expect_code(&run, 4);
    assert!(
        run.elapsed >= Duration::from_millis(300),
        "{:?}",
        run.elapsed
    );
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    assert!(run.stderr.contains("in wait"), "{}", run.stderr);
}

#[test]
fn default_timeout_is_one_second() {
    let server = raw_server(Misbehave::NeverAnswer);
    let run = elb_check(&[&format!("http://{}/", server.addr)]);
    expect_code(&run, 4);
    assert!(
        run.elapsed >= Duration::from_millis(1000),
        "{:?}",
        run.elapsed
    );
    assert!(
        run.elapsed < Duration::from_millis(3500),
        "{:?}",
        run.elapsed
    );
}

#[test]
fn a_trickling_server_ends_at_the_deadline() {
    let server = raw_server(Misbehave::Trickle);
    let run = elb_check(&["-v", "-t", "400ms", &format!("http://{}/", server.addr)]);
    expect_code(&run, 4);
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);
    assert!(run.stderr.contains("in receive"), "{}", run.stderr);
    let sent = server.sent.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(sent > 0, "the server did trickle");
}

#[test]
fn hundred_megabytes_of_headers_stop_at_the_bound() {
    let server = raw_server(Misbehave::HugeHeaders);
    let run = elb_check(&["-v", "-t", "5", &format!("http://{}/", server.addr)]);
    expect_code(&run, 7);
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
    assert!(run.stderr.contains("larger than 65536"), "{}", run.stderr);
    let sent = server.sent.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(sent < 100 * 1024 * 1024, "the probe read all {sent} bytes");
}

#[test]
fn malformed_answers_are_7() {
    for (how, words) in [
        (Misbehave::CloseMidStatusLine, "inside the response head"),
        (Misbehave::Garbage, "not an HTTP response"),
        (Misbehave::Empty, "empty reply"),
        (
            Misbehave::Canned(b"HTTP/1.1 2000 OK\r\n\r\n".to_vec()),
            "malformed",
        ),
        (
            Misbehave::Canned(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".to_vec(),
            ),
            "Content-Length",
        ),
    ] {
        let server = raw_server(how);
        let run = elb_check(&["-v", &format!("http://{}/", server.addr)]);
        expect_code(&run, 7);
        assert!(run.stderr.contains(words), "{words}: {}", run.stderr);
    }
    // A body that ends early matters only when the body is judged.
    let short = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nEchoProxy".to_vec();
    let server = raw_server(Misbehave::Canned(short.clone()));
    expect_code(&elb_check(&[&format!("http://{}/", server.addr)]), 0);
    let server = raw_server(Misbehave::Canned(short));
    expect_code(
        &elb_check(&["-s", "Echo", &format!("http://{}/", server.addr)]),
        7,
    );
}

#[test]
fn unix_socket_forms() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("elb.sock");
    unix_server(&sock, app());
    let sock_text = sock.display().to_string();
    expect_code(
        &elb_check(&[&format!("unix:{sock_text}:/services/EchoProxy")]),
        0,
    );
    expect_code(&elb_check(&[&format!("unix:{sock_text}:/status/503")]), 8);
    expect_code(
        &elb_check(&[
            "--unix-socket",
            &sock_text,
            "-s",
            "host=app.local",
            "http://app.local/echo",
        ]),
        0,
    );
}

#[test]
fn address_family_flags() {
    let v4 = http_server(app());
    let url = format!("http://localhost:{}/", v4.port());
    expect_code(&elb_check(&["-4", &url]), 0);
    expect_code(&elb_check(&["-6", &url]), 4);
    if let Ok(listener) = std::net::TcpListener::bind("[::1]:0") {
        drop(listener);
        let v6 = support::http_server_on("[::1]:0", app());
        expect_code(&elb_check(&[&format!("http://[::1]:{}/", v6.port())]), 0);
        expect_code(
            &elb_check(&["-6", &format!("http://localhost:{}/", v6.port())]),
            0,
        );
    }
}

#[test]
fn usage_errors_are_2_and_setup_errors_1() {
    for args in [
        &["ftp://127.0.0.1/"][..],
        &["-e", "2000", "http://127.0.0.1/"],
        &["--bogus", "http://127.0.0.1/"],
        &["-t", "never", "http://127.0.0.1/"],
        &[][..],
    ] {
        let run = elb_check(args);
        expect_code(&run, 2);
        assert!(!run.stderr.is_empty());
    }
    let help = elb_check(&["--help"]);
    expect_code(&help, 0);
    for code in [
        "0  healthy",
        "4  network failure",
        "5  TLS failure",
        "7  protocol error",
        "8  unexpected answer",
        "2  usage error",
    ] {
        assert!(help.stdout.contains(code), "--help lacks {code:?}");
    }
    let addr = http_server(app());
    let run = elb_check(&[
        "--cacert",
        "/nonexistent/ca.pem",
        &format!("https://{addr}/"),
    ]);
    expect_code(&run, 1);
}

#[test]
fn nagios_format() {
    let addr = http_server(app());
    let ok = elb_check(&["--format", "nagios", &format!("http://{addr}/")]);
    expect_code(&ok, 0);
    assert!(
        ok.stdout.starts_with("HTTP OK: HTTP/1.1 200 OK - "),
        "{}",
        ok.stdout
    );
    assert!(
        ok.stdout.contains("|time=") && ok.stdout.contains("s;;;0.000000;1.000000 size="),
        "{}",
        ok.stdout
    );
    assert_eq!(ok.stdout.lines().count(), 1);
    let bad = elb_check(&["--format", "nagios", &format!("http://{addr}/status/503")]);
    expect_code(&bad, 2);
    assert!(
        bad.stdout.starts_with("HTTP CRITICAL: HTTP/1.1 503"),
        "{}",
        bad.stdout
    );
    let down = elb_check(&["--format", "nagios", &format!("http://{}/", refused_port())]);
    expect_code(&down, 2);
    let usage = elb_check(&["--format", "nagios", "-e", "x", "http://127.0.0.1/"]);
    expect_code(&usage, 3);
    assert!(usage.stdout.starts_with("HTTP UNKNOWN"), "{}", usage.stdout);
    let clap_usage = elb_check(&["--format=nagios", "--bogus", "http://127.0.0.1/"]);
    expect_code(&clap_usage, 3);
    // Response-time thresholds only make a healthy answer worse.
    let slow_ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec();
    let slow = raw_server(Misbehave::Delayed(
        Duration::from_millis(200),
        slow_ok.clone(),
    ));
    let url = format!("http://{}/", slow.addr);
    let warn = elb_check(&[
        "--format",
        "nagios",
        "--warning",
        "50ms",
        "--critical",
        "5s",
        &url,
    ]);
    expect_code(&warn, 1);
    assert!(
        warn.stdout.starts_with("HTTP WARNING: HTTP/1.1 200 OK"),
        "{}",
        warn.stdout
    );
    assert!(
        warn.stdout
            .contains(";0.050000;5.000000;0.000000;1.000000 "),
        "{}",
        warn.stdout
    );
    let slow = raw_server(Misbehave::Delayed(Duration::from_millis(200), slow_ok));
    let url = format!("http://{}/", slow.addr);
    let crit = elb_check(&[
        "--format",
        "nagios",
        "--warning",
        "50ms",
        "--critical",
        "0.1",
        &url,
    ]);
    expect_code(&crit, 2);
}

/// Output that cannot be written (a full disk, `/dev/full`, a closed pipe) never changes the
/// verdict: the exit code is the probe's, not a panic's.
#[test]
fn unwritable_output_keeps_the_exit_code() {
    let healthy = format!("http://{}/services/EchoProxy", http_server(app()));
    let refused = format!("http://{}/", refused_port());
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    for (args, stdout_full, code) in [
        (vec!["-v", healthy.as_str()], false, 0),
        (vec!["-v", refused.as_str()], false, 4),
        (vec!["--format", "nagios", healthy.as_str()], true, 0),
        (vec!["--format", "nagios", refused.as_str()], true, 2),
    ] {
        let mut cmd = std::process::Command::new(common::binary());
        cmd.args(&args);
        if stdout_full {
            cmd.stdout(full());
        } else {
            cmd.stderr(full());
        }
        let status = cmd.status().expect("run elb-check");
        assert_eq!(
            status.code(),
            Some(code),
            "{args:?} with output to /dev/full"
        );
    }
}
