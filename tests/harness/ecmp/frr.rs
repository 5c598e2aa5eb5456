//! FRR (Debian's frr package: zebra, bfdd, bgpd) inside one lab host: each daemon in the
//! foreground with its own config file, its sockets and pid files in the node's directory,
//! so several FRR instances share the machine without touching /etc/frr or /run/frr.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use netlab::{Host, Proc};

/// Where Debian installs the FRR daemons.
const FRR_LIB: &str = "/usr/lib/frr";
/// The daemons run as Debian's `frr` user (in the `frrvty` group vtysh needs).
const FRR_USER: &str = "frr";

/// The three configuration files of one FRR node.
pub struct FrrConfig {
    pub zebra: String,
    pub bfdd: String,
    pub bgpd: String,
}

/// A running FRR node: zebra, bfdd and bgpd. Stopped (killed) on drop.
pub struct Frr {
    dir: PathBuf,
    netns: String,
    zebra: Proc,
    bfdd: Proc,
    bgpd: Proc,
}

impl Frr {
    /// Writes the configs into `dir` and starts zebra, then bfdd and bgpd once zebra's
    /// socket accepts connections (they would otherwise wait out a reconnect timer).
    pub fn start(host: &Host, dir: &Path, config: &FrrConfig) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        for (name, text) in [
            ("zebra.conf", &config.zebra),
            ("bfdd.conf", &config.bfdd),
            ("bgpd.conf", &config.bgpd),
        ] {
            std::fs::write(dir.join(name), text)?;
        }
        let chown = Command::new("chown")
            .args(["-R", &format!("{FRR_USER}:{FRR_USER}")])
            .arg(dir)
            .status()?;
        if !chown.success() {
            bail!(
                "chown {} failed (is the frr package installed?)",
                dir.display()
            );
        }
        // The frr user must reach its directory inside the lab's private one.
        let mut up = dir.parent();
        while let Some(p) = up {
            if p == Path::new("/") || p == Path::new("/tmp") {
                break;
            }
            let mode = std::fs::metadata(p)?.permissions().mode();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode | 0o711))?;
            up = p.parent();
        }
        let zebra = host.spawn("zebra", daemon(host, dir, "zebra", &[]))?;
        wait_unix_socket(&dir.join("zserv.api"), Duration::from_secs(10))
            .context("zebra did not open its socket")?;
        let bfdctl = dir.join("bfdd.sock");
        let bfdd = host.spawn(
            "bfdd",
            daemon(host, dir, "bfdd", &["--bfdctl", &bfdctl.to_string_lossy()]),
        )?;
        let bgpd = host.spawn("bgpd", daemon(host, dir, "bgpd", &[]))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            netns: host.netns().to_string(),
            zebra,
            bfdd,
            bgpd,
        })
    }

    /// bgpd's log (adjacency changes are logged at the default level).
    pub fn bgpd(&self) -> &Proc {
        &self.bgpd
    }

    /// Waits until bgpd has logged `count` sessions coming up since it started.
    pub fn wait_sessions_up(&self, count: usize, timeout: Duration) -> Result<()> {
        self.bgpd()
            .wait_for_nth_line(r"%ADJCHANGE: neighbor .* Up", count, timeout)
            .map(drop)
    }

    /// How many BFD sessions are up (`show bfd peers brief`).
    pub fn bfd_up(&self) -> Result<usize> {
        let out = self.vtysh(&["show bfd peers brief"])?;
        Ok(out
            .lines()
            .filter(|l| l.trim_end().ends_with(" up"))
            .count())
    }

    /// Waits until `count` BFD sessions are up: a session that comes up with BGP is torn
    /// down once more while BFD settles, so the lab is stable only after this.
    pub fn wait_bfd_up(&self, count: usize, timeout: Duration) -> Result<()> {
        let end = Instant::now() + timeout;
        loop {
            let up = self.bfd_up()?;
            if up >= count {
                return Ok(());
            }
            if Instant::now() >= end {
                bail!("{up} of {count} BFD sessions up after {timeout:?}");
            }
            // bfdd reports state changes only in its log at debug level; polled.
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// BGP sessions that went down since bgpd started (from its log).
    pub fn session_drops(&self) -> usize {
        self.bgpd
            .output()
            .lines()
            .filter(|l| l.contains("%ADJCHANGE") && l.contains(" Down"))
            .count()
    }

    /// Runs vtysh commands against this node (each `cmd` is one `-c`); returns the output.
    pub fn vtysh(&self, cmds: &[&str]) -> Result<String> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns, "vtysh", "--vty_socket"])
            .arg(&self.dir);
        for c in cmds {
            cmd.args(["-c", c]);
        }
        let out = cmd.output().context("vtysh")?;
        if !out.status.success() {
            bail!(
                "vtysh {cmds:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Everything the daemons printed, for a failure report.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for p in [&self.zebra, &self.bfdd, &self.bgpd] {
            out.push_str(&format!("----- {} -----\n{}\n", p.label(), p.output()));
        }
        out
    }
}

impl Drop for Frr {
    /// Stops the daemons cleanly (SIGTERM, bounded wait; the processes are killed anyway
    /// when dropped) and removes the crash-log buffers FRR keeps in /var/tmp/frr per process.
    fn drop(&mut self) {
        for (name, proc) in [
            ("bgpd", &mut self.bgpd),
            ("bfdd", &mut self.bfdd),
            ("zebra", &mut self.zebra),
        ] {
            let _ = proc.signal(nix::sys::signal::Signal::SIGTERM);
            let _ = proc.wait_exit(Duration::from_secs(2));
            let _ = std::fs::remove_dir_all(format!("{FRR_TMP}/{name}.{}", proc.pid()));
        }
    }
}

/// Where FRR daemons keep a per-process crash-log buffer.
const FRR_TMP: &str = "/var/tmp/frr";

/// The command line of one FRR daemon in the foreground, logging to stdout.
fn daemon(host: &Host, dir: &Path, name: &str, extra: &[&str]) -> Command {
    let mut cmd = host.command(&format!("{FRR_LIB}/{name}"));
    cmd.arg("-f")
        .arg(dir.join(format!("{name}.conf")))
        .arg("-i")
        .arg(dir.join(format!("{name}.pid")))
        .arg("--vty_socket")
        .arg(dir)
        .arg("-z")
        .arg(dir.join("zserv.api"))
        .args(["-u", FRR_USER, "-g", FRR_USER, "--log", "stdout"])
        .args(extra);
    cmd
}

/// Waits until a Unix socket at `path` accepts a connection.
fn wait_unix_socket(path: &Path, timeout: Duration) -> Result<()> {
    let end = Instant::now() + timeout;
    loop {
        if UnixStream::connect(path).is_ok() {
            return Ok(());
        }
        if Instant::now() >= end {
            bail!("{} not accepting within {timeout:?}", path.display());
        }
        // zebra signals nothing when its socket is ready; retried at a short pace.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The BFD profile both ends of every balancer link use: 100 ms × 5, so a dead peer is
/// noticed in about 500 ms (BGP's own hold timer would take seconds). × 3, the usual
/// fast setting, flapped sessions on this shared machine under a load of 20.
pub const BFD_PROFILE: &str = "bfd\n profile fast\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 5\n !\n!\n";
