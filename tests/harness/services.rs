//! Real peer services the scenarios need inside the lab: back-end HTTP servers for the
//! balancer's cluster and an SMTP server that receives vrrpd's alert mails.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use netlab::{Host, Proc};

/// Debian's python3 (aiosmtpd is installed for it, not for a pyenv python earlier on PATH).
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// The `members:` entries of an elb-proxy cluster, one per `(index, port)` on `host`, named
/// `<prefix><index + 1>` (the YAML indentation of a cluster in `clusters:`).
pub fn members_yaml(
    prefix: &str,
    host: std::net::Ipv4Addr,
    ports: impl IntoIterator<Item = (usize, u16)>,
) -> String {
    ports
        .into_iter()
        .map(|(i, port)| {
            format!(
                "      - {{ name: {prefix}{}, address: \"{host}:{port}\" }}\n",
                i + 1
            )
        })
        .collect()
}

/// A back-end web server on `host`, answering every GET with a page that names it, so a
/// client can tell which member served it.
pub fn start_backend(host: &Host, dir: &Path, name: &str, port: u16) -> Result<Proc> {
    let root = dir.join(format!("www-{name}"));
    std::fs::create_dir_all(&root)?;
    std::fs::write(root.join("index.html"), format!("served by {name}\n"))?;
    let mut cmd = host.command(SYSTEM_PYTHON);
    cmd.args(["-u", "-m", "http.server", "--bind"])
        .arg(host.ipv4().to_string())
        .arg(port.to_string())
        .arg("--directory")
        .arg(&root);
    let proc = host.spawn(&format!("backend-{name}"), cmd)?;
    host.wait_tcp(
        SocketAddr::new(IpAddr::V4(host.ipv4()), port),
        Duration::from_secs(10),
    )
    .with_context(|| format!("backend {name} did not start"))?;
    Ok(proc)
}

/// An SMTP server (aiosmtpd with its Debugging handler, which prints each message it receives)
/// listening on `host`:`port`.
pub struct MailSink {
    proc: Proc,
}

impl MailSink {
    pub fn start(host: &Host, port: u16) -> Result<Self> {
        let mut cmd = host.command(SYSTEM_PYTHON);
        cmd.env("PYTHONUNBUFFERED", "1")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-c",
                "aiosmtpd.handlers.Debugging",
                "-l",
            ])
            .arg(format!("{}:{port}", host.ipv4()));
        let proc = host.spawn("smtp", cmd)?;
        host.wait_tcp(
            SocketAddr::new(IpAddr::V4(host.ipv4()), port),
            Duration::from_secs(10),
        )
        .context("SMTP server did not start")?;
        Ok(Self { proc })
    }

    /// Waits until `count` mails whose Subject matches `pattern` have been received (mails
    /// from two hosts arrive in any order); returns the `count`-th Subject line.
    pub fn wait_for_subject(
        &self,
        pattern: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<String> {
        self.proc
            .wait_for_nth_line(&format!("^Subject: .*{pattern}"), count, timeout)
    }

    /// Everything the server printed (all messages received so far).
    pub fn transcript(&self) -> String {
        self.proc.output()
    }
}
