//! The deployment files: systemd units that systemd itself accepts.

use std::path::Path;
use std::process::Command;

use elb_ha_e2e::bins::bin_dir;

/// Every unit in deploy/systemd, pointed at the freshly built binaries, passes
/// `systemd-analyze verify` (which also checks that each Exec path exists and is executable).
#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let version = Command::new("systemd-analyze").arg("--version").output();
    let Ok(version) = version else {
        test_support::skip_or_fail(
            "systemd_units_pass_systemd_analyze_verify",
            "systemd-analyze",
        );
        return;
    };
    assert!(version.status.success());
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/systemd");
    let out_dir = tempfile_dir();
    let mut units = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // The units name /usr/bin/<binary> (the Debian package's paths); point them at
        // the freshly built binaries instead, as `make install PREFIX=...` does.
        let mut rendered = text.clone();
        for name in ["elb-proxy", "elb-check", "vrrpd"] {
            rendered = rendered.replace(
                &format!("/usr/bin/{name}"),
                &bin_dir().join(name).to_string_lossy(),
            );
        }
        let dest = out_dir.join(path.file_name().unwrap());
        std::fs::write(&dest, rendered).unwrap();
        units.push(dest);
    }
    for name in [
        "elb-proxy.service",
        "vrrpd.service",
        "elb-check.service",
        "elb-check.timer",
    ] {
        assert!(
            units.iter().any(|u| u.ends_with(name)),
            "deploy/systemd lacks {name}"
        );
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&out_dir);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify complained:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("elb-ha-units-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Both daemons tell systemd they are ready (Type=notify units depend on it): READY=1 arrives
/// on the NOTIFY_SOCKET they were given, and STOPPING=1 on SIGTERM.
#[test]
fn daemons_send_ready_to_notify_socket() {
    use std::os::unix::net::UnixDatagram;
    use std::time::Duration;

    if !netlab::require_root_or_skip("daemons_send_ready_to_notify_socket") {
        return;
    }
    let lab = netlab::Lab::new(1).unwrap();
    let host = lab.host(0);
    let proxy_conf = lab.dir().join("elb-proxy.yaml");
    std::fs::write(
        &proxy_conf,
        format!(
            "listeners:\n  - name: http\n    address: 127.0.0.1:8280\n\
             clusters:\n  - name: c\n    members:\n      - {{ name: m, address: \"127.0.0.1:9\" }}\n\
             default_cluster: c\nadmin:\n  socket: {}\n",
            lab.dir().join("admin.sock").display()
        ),
    )
    .unwrap();
    let vrrp_conf = lab.dir().join("keepalived.conf");
    std::fs::write(
        &vrrp_conf,
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n priority 100\n \
         virtual_ipaddress {\n  198.18.0.50/24\n }\n}\n",
    )
    .unwrap();
    let daemons: [(&str, Vec<String>); 2] = [
        (
            "elb-proxy",
            vec!["--config".into(), proxy_conf.display().to_string()],
        ),
        (
            "vrrpd",
            vec![
                "-n".into(),
                "-l".into(),
                "-f".into(),
                vrrp_conf.display().to_string(),
                "-p".into(),
                lab.dir().join("vrrpd.pid").display().to_string(),
            ],
        ),
    ];
    for (name, args) in daemons {
        let socket_path = lab.dir().join(format!("{name}-notify.sock"));
        let socket = UnixDatagram::bind(&socket_path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let mut cmd = host.command(&elb_ha_e2e::bins::bin(name).to_string_lossy());
        cmd.args(&args).env("NOTIFY_SOCKET", &socket_path);
        let mut proc = host.spawn(name, cmd).unwrap();
        let mut messages = String::new();
        // Reads notifications until one carries `state`, failing at the socket's timeout.
        let mut wait_for = |state: &str| {
            let mut buf = [0u8; 4096];
            while !messages.contains(state) {
                let n = socket
                    .recv(&mut buf)
                    .unwrap_or_else(|e| panic!("{name} sent no {state} ({e}); got {messages:?}"));
                messages.push_str(&String::from_utf8_lossy(&buf[..n]));
                messages.push('\n');
            }
        };
        wait_for("READY=1");
        proc.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
        wait_for("STOPPING=1");
        proc.wait_exit(Duration::from_secs(40)).unwrap();
    }
}
