//! `elb-proxy ctl` as an operator uses it: it reaches a running proxy even when the config
//! file no longer loads, says once and on one line why it cannot, and a second proxy never
//! takes over the admin socket of a running one.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;

fn one_member_yaml(member: std::net::SocketAddr) -> String {
    format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n  - name: app\n    members:\n      - {{ name: m1, address: \"{member}\" }}\ndefault_cluster: app\n"
    )
}

fn elb_proxy(args: &[&str], config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
        .arg("-c")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_reaches_a_running_proxy_through_a_config_with_a_syntax_error_elsewhere() {
    let member = Backend::start("a").await;
    let p = start_proxy(&one_member_yaml(member.addr));
    // The operator's half-finished edit: the YAML no longer parses, admin is untouched.
    let broken = p.dir.path().join("broken.yaml");
    let good = std::fs::read_to_string(&p.config_path).unwrap();
    std::fs::write(
        &broken,
        format!("clusters: [ {{ name: app,\n\t- oops\n{good}"),
    )
    .unwrap();
    let check = elb_proxy(&["--check"], &broken);
    assert!(!check.status.success(), "the edited config must be invalid");
    assert!(
        text(&check.stderr).contains("broken.yaml:2: did not find expected node content"),
        "a YAML syntax error, not only a validation one: {}",
        text(&check.stderr)
    );

    let out = elb_proxy(&["ctl", "show", "stat"], &broken);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("# pxname,svname,qcur,qmax,"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(text(&out.stderr), "", "ctl logs nothing on success");
    // An error answer: on stdout, exit 1, nothing else.
    let out = elb_proxy(&["ctl", "disable", "server", "app/nobody"], &broken);
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).starts_with("error: "),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(text(&out.stderr), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_socket_or_unreadable_config_prints_one_clear_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent.sock");
    let config = dir.path().join("elb-proxy.yaml");
    std::fs::write(
        &config,
        format!("admin: {{ socket: \"{}\" }}\n", absent.display()),
    )
    .unwrap();
    let cases = [
        (
            vec!["ctl", "show", "info"],
            config.clone(),
            "is elb-proxy running?",
        ),
        (
            vec!["ctl", "--socket", absent.to_str().unwrap(), "show", "info"],
            dir.path().join("missing.yaml"),
            "is elb-proxy running?",
        ),
        (
            vec!["ctl", "show", "info"],
            dir.path().join("missing.yaml"),
            "pass --socket PATH",
        ),
    ];
    for (args, config, hint) in cases {
        let out = elb_proxy(&args, &config);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(text(&out.stdout), "", "{args:?}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "one line, printed once: {stderr:?}"
        );
        assert!(stderr.starts_with("elb-proxy ctl: "), "{stderr}");
        assert!(stderr.contains(hint), "{args:?}: {stderr}");
    }
    std::fs::write(&config, "listeners: []\n").unwrap();
    let out = elb_proxy(&["ctl", "show", "info"], &config);
    assert_eq!(
        text(&out.stderr),
        format!(
            "elb-proxy ctl: {} has no admin.socket; pass --socket PATH\n",
            config.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_proxy_refuses_to_take_over_a_live_admin_socket() {
    let member = Backend::start("a").await;
    let p = start_proxy(&one_member_yaml(member.addr));
    let second = p.dir.path().join("second.yaml");
    let port = free_port();
    let yaml = std::fs::read_to_string(&p.config_path)
        .unwrap()
        .replace(&p.addr.to_string(), &format!("127.0.0.1:{port}"));
    std::fs::write(&second, yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_elb-proxy"))
        .arg("-c")
        .arg(&second)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(20));
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("another daemon is listening there"),
        "{stderr}"
    );
    let (ok, info) = p.ctl("show info");
    assert!(ok && info.contains("Name: elb-proxy"), "{info}");
}

/// A vrrpd stand-in on the shared server that knows no tracker: every push is refused.
struct NoTrackers(std::sync::Mutex<Vec<String>>);

impl ctl_socket::Handler for NoTrackers {
    async fn answer(&self, line: &str) -> ctl_socket::Answer {
        self.0.lock().unwrap().push(line.to_owned());
        ctl_socket::Answer::error("no tracker named elb")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_vrrpd_refuses_is_logged_as_not_told() {
    let member = Backend::start("a").await;
    let dir = tempfile::tempdir().unwrap();
    let vsock = dir.path().join("vrrpd.sock");
    let server = ctl_socket::bind(&vsock, &ctl_socket::SocketOptions::default()).unwrap();
    let seen = std::sync::Arc::new(NoTrackers(Default::default()));
    let task = tokio::spawn(server.serve(seen.clone()));
    let yaml = format!(
        "{}vrrpd: {{ control_socket: \"{}\", track: elb, timeout: 2s }}\n",
        one_member_yaml(member.addr),
        vsock.display()
    );
    let p = start_proxy(&yaml);
    assert!(p.ctl("set proxy state drain").0);
    assert!(
        p.wait_log("could not tell vrrpd", Duration::from_secs(10)),
        "{:?}",
        p.log.lock().unwrap()
    );
    assert!(p.log_contains("error: no tracker named elb"));
    assert!(!p.log_contains("told vrrpd"));
    assert_eq!(*seen.0.lock().unwrap(), vec!["track elb down".to_owned()]);
    task.abort();
}
