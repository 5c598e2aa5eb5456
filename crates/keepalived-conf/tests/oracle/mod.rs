//! The oracle the differential tests compare with: Debian's keepalived 2.2.7 `-t`, run in a
//! throw-away network namespace (`unshare -n`) holding a veth pair named eth0/eth1, so its
//! interface checks pass and nothing is sent anywhere.
//!
//! Without keepalived (or without root for `unshare`) the tests print SKIPPED, unless `CI` or
//! `ELB_E2E=1` is set, in which case they fail (`test_support::gate`). A keepalived other than 2.2.7 always fails: the
//! recorded verdicts and documented differences are 2.2.7's.

use std::path::Path;
use std::process::Command;

/// Debian's keepalived.
pub const KEEPALIVED: &str = test_support::oracle::KEEPALIVED;

/// Whether the oracle runs here; prints SKIPPED (or fails under CI) when it does not, and
/// fails when it is not keepalived 2.2.7.
pub fn available() -> bool {
    let usable = Path::new(KEEPALIVED).exists()
        && Command::new("unshare")
            .args(["-n", "true"])
            .status()
            .is_ok_and(|s| s.success());
    if !test_support::require(
        "the keepalived differential",
        usable,
        &format!("{KEEPALIVED} and permission for unshare -n"),
    ) {
        return false;
    }
    test_support::oracle::assert_keepalived_2_2_7();
    true
}

/// keepalived's `-t` exit status and its messages; `None` if it was killed (2.2.7 bug
/// #2587: `-t` with a non-root script user) or could not run.
pub fn run(main: &Path) -> Option<(u8, String)> {
    run_with(main, &[])
}

/// [`run`] in a namespace that also holds the interfaces `extra` (veth pairs, each up), so
/// that a file written for other interfaces passes keepalived's interface checks.
pub fn run_with(main: &Path, extra: &[String]) -> Option<(u8, String)> {
    let mut setup = String::from("ip link add eth0 type veth peer name eth1 >/dev/null 2>&1; ");
    for (n, i) in extra
        .iter()
        .filter(|i| *i != "eth0" && *i != "eth1")
        .enumerate()
    {
        setup.push_str(&format!(
            "ip link add '{i}' type veth peer name kdq{n} >/dev/null 2>&1; ip link set '{i}' up >/dev/null 2>&1; "
        ));
    }
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c"])
        .arg(format!(
            "{setup}exec timeout 20 /usr/sbin/keepalived -t -f \"$1\""
        ))
        .arg("sh")
        .arg(main)
        .output()
        .ok()?;
    let code = out.status.code()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (code < 100).then_some((code as u8, text))
}

/// The interfaces a configuration names (instances, trackers, VIP devices), for [`run_with`].
pub fn interfaces_of(cfg: &keepalived_conf::Config) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for i in &cfg.instances {
        names.extend(i.interface.clone());
        names.extend(i.track_interface.iter().map(|t| t.name.clone()));
        names.extend(i.virtual_ipaddress.iter().filter_map(|v| v.dev.clone()));
        names.extend(
            i.virtual_ipaddress_excluded
                .iter()
                .filter_map(|v| v.dev.clone()),
        );
    }
    names.sort();
    names.dedup();
    names
}

/// keepalived's `-t` exit status alone.
pub fn class(main: &Path) -> Option<u8> {
    run(main).map(|(c, _)| c)
}

/// keepalived's default config id: the host name up to the first dot.
pub fn short_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .split('.')
        .next()
        .unwrap_or("")
        .to_string()
}

/// The external corpus of real configurations with keepalived 2.2.7's recorded verdicts
/// (`KEEPALIVED_CORPUS`, default `../shared/keepalived-confs` beside the repository). It lives
/// outside the repository (third-party files, various licences): `None`, after printing
/// SKIPPED, when absent, unless `KEEPALIVED_CORPUS_REQUIRED` is set, which fails.
pub fn external_corpus() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("KEEPALIVED_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/keepalived-confs")
        });
    if dir.join("INDEX.tsv").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("KEEPALIVED_CORPUS_REQUIRED").is_none(),
        "corpus required but not found at {} (set KEEPALIVED_CORPUS)",
        dir.display()
    );
    eprintln!(
        "SKIPPED: external corpus not found at {} (set KEEPALIVED_CORPUS=/path/to/keepalived-confs)",
        dir.display()
    );
    None
}

/// The host keepalived runs on in the oracle's sandbox: the real file system, and exactly
/// the interfaces the oracle created there.
pub struct Sandbox<'a>(pub &'a [String]);

impl keepalived_conf::IncludeResolver for Sandbox<'_> {
    fn read(&self, p: &Path) -> Result<Vec<u8>, keepalived_conf::ResolveError> {
        keepalived_conf::FsResolver.read(p)
    }
    fn glob(
        &self,
        pattern: &str,
    ) -> Result<Vec<std::path::PathBuf>, keepalived_conf::ResolveError> {
        keepalived_conf::FsResolver.glob(pattern)
    }
    fn script_file(&self, p: &Path) -> keepalived_conf::ScriptFile {
        keepalived_conf::FsResolver.script_file(p)
    }
    fn user_exists(&self, name: &str) -> Option<bool> {
        keepalived_conf::FsResolver.user_exists(name)
    }
    fn group_exists(&self, name: &str) -> Option<bool> {
        keepalived_conf::FsResolver.group_exists(name)
    }
    fn env_var(&self, name: &str) -> Option<String> {
        keepalived_conf::FsResolver.env_var(name)
    }
    fn interface_exists(&self, name: &str) -> Option<bool> {
        let always = ["lo", "eth0", "eth1"];
        Some(always.contains(&name) || self.0.iter().any(|i| i == name))
    }
}
