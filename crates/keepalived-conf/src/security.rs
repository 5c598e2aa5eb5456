//! The script checks keepalived makes before running (and under `-t`): does the command exist,
//! which user runs it, is it safe. Host facts come from the [`IncludeResolver`].

use crate::diag::{Diagnostic, ExitClass, Severity};
use crate::model::{Config, Notify, ScriptCommand};
use crate::origin::{At, Origins, diag_at};
use crate::resolver::{IncludeResolver, ScriptFile};
use std::path::{Path, PathBuf};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

fn diag(
    diags: &mut Vec<Diagnostic>,
    at: Option<&At>,
    sev: Severity,
    class: ExitClass,
    kw: &str,
    msg: String,
) {
    diags.push(diag_at(at, sev, class, kw, msg));
}

/// The file a command runs: absolute as written, else the first match on `PATH`.
fn locate(host: &dyn IncludeResolver, cmd: &ScriptCommand) -> Option<(PathBuf, bool)> {
    let prog = cmd.argv.first()?;
    if prog.starts_with('/') {
        return match host.script_file(Path::new(prog)) {
            ScriptFile::Found { secure } => Some((PathBuf::from(prog), secure)),
            ScriptFile::Missing => None,
        };
    }
    let path = host
        .env_var("PATH")
        .unwrap_or_else(|| DEFAULT_PATH.to_string());
    path.split(':').filter(|d| !d.is_empty()).find_map(|d| {
        let p = Path::new(d).join(prog);
        match host.script_file(&p) {
            ScriptFile::Found { secure } => Some((p, secure)),
            ScriptFile::Missing => None,
        }
    })
}

/// Runs the checks; removes vrrp_scripts that cannot run (and references to them).
pub(crate) fn check_scripts(
    cfg: &mut Config,
    host: &dyn IncludeResolver,
    origins: &Origins,
    check_scripts: &[ScriptCommand],
    vrrp_configured: bool,
    diags: &mut Vec<Diagnostic>,
) {
    let default = default_user(cfg, host, origins, diags);
    // Where the first script run as root is given: the violation names that line.
    let mut violation: Option<At> = None;
    // keepalived's VRRP process checks its scripts only when the file has a vrrp_instance
    // (even one that fails its checks); the checker process checks the LVS scripts.
    let mut others = Vec::new();
    let removed = if vrrp_configured {
        others = notify_scripts(cfg);
        check_vrrp_scripts(cfg, host, origins, &default, &mut violation, diags)
    } else {
        Vec::new()
    };
    others.extend_from_slice(check_scripts);
    check_notify_scripts(cfg, host, origins, others, &default, &mut violation, diags);
    if let Some(at) = violation {
        diag(diags, Some(&at), Severity::Warning, ExitClass::ScriptSecurity, "enable_script_security",
            "SECURITY VIOLATION - scripts are being executed as root but enable_script_security is not set".into());
    }
    for name in removed {
        cfg.scripts.remove(&name);
        for i in &mut cfg.instances {
            i.track_script.retain(|t| t.name != name);
        }
        for g in &mut cfg.sync_groups {
            g.track_script.retain(|t| t.name != name);
        }
    }
}

/// Who runs a script that names no user: `script_user`, else `keepalived_script` if it exists,
/// else root (`ok` false: secure mode without a usable default user).
struct DefaultUser {
    is_root: bool,
    ok: bool,
}

fn default_user(
    cfg: &Config,
    host: &dyn IncludeResolver,
    origins: &Origins,
    diags: &mut Vec<Diagnostic>,
) -> DefaultUser {
    let g = &cfg.global_defs;
    let secure_mode = g.enable_script_security;
    let mut default_is_root = true;
    let mut default_ok = true;
    match &g.script_user {
        Some(u) => {
            if host.user_exists(&u.user) == Some(false)
                || u.group
                    .as_deref()
                    .is_some_and(|gr| host.group_exists(gr) == Some(false))
            {
                diag(
                    diags,
                    origins.script_user.as_ref(),
                    Severity::Error,
                    ExitClass::ConfigError,
                    "script_user",
                    format!("Error setting global script uid/gid ({})", u.user),
                );
            } else {
                default_is_root = u.user == "root" || u.user == "0";
            }
        }
        None => {
            if host.user_exists(DEFAULT_SCRIPT_USER) == Some(true) {
                default_is_root = false;
            } else if secure_mode {
                default_ok = false;
            }
        }
    }
    DefaultUser {
        is_root: default_is_root,
        ok: default_ok,
    }
}

/// Checks each `vrrp_script`: its user, whether it exists, whether it is safe. Returns the
/// names of those that cannot run.
fn check_vrrp_scripts(
    cfg: &Config,
    host: &dyn IncludeResolver,
    origins: &Origins,
    default: &DefaultUser,
    violation: &mut Option<At>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let secure_mode = cfg.global_defs.enable_script_security;
    let (default_ok, default_is_root) = (default.ok, default.is_root);
    let mut removed = Vec::new();
    for (name, s) in &cfg.scripts {
        let at = origins.script.get(name);
        let runs_as_root = match &s.user {
            Some(u) => {
                if host.user_exists(&u.user) == Some(false) {
                    diag(
                        diags,
                        at,
                        Severity::Error,
                        ExitClass::ConfigError,
                        "user",
                        format!(
                            "Unable to set uid/gid for script '{}' - vrrp_script {name} removed",
                            s.script.argv_source
                        ),
                    );
                    removed.push(name.clone());
                    continue;
                }
                u.user == "root" || u.user == "0"
            }
            None => {
                if !default_ok {
                    diag(
                        diags,
                        at,
                        Severity::Error,
                        ExitClass::ConfigError,
                        "vrrp_script",
                        format!(
                            "Unable to set default user {DEFAULT_SCRIPT_USER} for vrrp script {name} - removing"
                        ),
                    );
                    removed.push(name.clone());
                    continue;
                }
                default_is_root
            }
        };
        match locate(host, &s.script) {
            None => {
                diag(
                    diags,
                    at,
                    Severity::Error,
                    ExitClass::ConfigError,
                    "vrrp_script",
                    format!(
                        "Disabling track script {name} since not found/accessible ({})",
                        s.script.argv_source
                    ),
                );
                removed.push(name.clone());
            }
            Some((path, secure)) => {
                if secure_mode && !secure {
                    diag(
                        diags,
                        at,
                        Severity::Error,
                        ExitClass::ConfigError,
                        "vrrp_script",
                        format!(
                            "Unsafe permissions found for script '{}' - disabling",
                            path.display()
                        ),
                    );
                    removed.push(name.clone());
                } else if runs_as_root && !secure_mode {
                    violation.get_or_insert_with(|| at.cloned().unwrap_or_default());
                }
            }
        }
    }
    removed
}

/// Checks the notify and FIFO scripts: user and safety (a missing one is silent, as in
/// keepalived's `-t`: it is only noticed when it would run).
fn check_notify_scripts(
    cfg: &Config,
    host: &dyn IncludeResolver,
    origins: &Origins,
    scripts: Vec<ScriptCommand>,
    default: &DefaultUser,
    violation: &mut Option<At>,
    diags: &mut Vec<Diagnostic>,
) {
    let secure_mode = cfg.global_defs.enable_script_security;
    let (default_ok, default_is_root) = (default.ok, default.is_root);
    for cmd in scripts {
        let at = origins.notify.get(&cmd.argv_source);
        let as_root = match &cmd.user {
            Some(u) => u == "root" || u == "0",
            None => {
                if !default_ok {
                    diag(
                        diags,
                        at,
                        Severity::Error,
                        ExitClass::ConfigError,
                        "notify",
                        format!(
                            "Unable to set default user {DEFAULT_SCRIPT_USER} for script '{}'",
                            cmd.argv_source
                        ),
                    );
                    continue;
                }
                default_is_root
            }
        };
        // A missing notify script is only noticed when it would run (keepalived -t is silent).
        if let Some((_, secure)) = locate(host, &cmd) {
            if secure_mode && !secure {
                diag(
                    diags,
                    at,
                    Severity::Error,
                    ExitClass::ConfigError,
                    "notify",
                    format!("Unsafe permissions found for script '{}'", cmd.argv_source),
                );
            } else if as_root && !secure_mode {
                violation.get_or_insert_with(|| at.cloned().unwrap_or_default());
            }
        }
    }
}

fn notify_scripts(cfg: &Config) -> Vec<ScriptCommand> {
    let mut out = Vec::new();
    let mut add = |n: &Notify| {
        for s in [
            &n.master,
            &n.backup,
            &n.fault,
            &n.stop,
            &n.deleted,
            &n.generic,
            &n.master_rx_lower_pri,
        ]
        .into_iter()
        .flatten()
        {
            out.push(s.clone());
        }
    };
    for i in &cfg.instances {
        add(&i.notify);
    }
    for g in &cfg.sync_groups {
        add(&g.notify);
    }
    let g = &cfg.global_defs;
    for f in [&g.vrrp_notify_fifo, &g.notify_fifo].into_iter().flatten() {
        if let Some(s) = &f.script {
            out.push(s.clone());
        }
    }
    out
}
