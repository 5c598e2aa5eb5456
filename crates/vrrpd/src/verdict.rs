//! One verdict on a configuration file, shared by `-t`, start and reload: the same checks,
//! the same diagnostic lines (file:line), the same decision. A file `-t` passes starts with
//! every instance; a file that would start with instances missing is refused at start and on
//! reload alike, unless the operator asked for a partial start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use keepalived_conf::{FsResolver, IncludeResolver, ResolveError, ScriptFile};

use crate::cli::DaemonArgs;
use crate::conf::spec_from_config;
use crate::spec::{DaemonSpec, DownInstance};

/// keepalived's `-t` exit class when the model loads but cannot be mapped onto instances.
pub const CLASS_UNUSABLE: u8 = 4;
/// keepalived's `-t` exit class for configuration errors (a missing interface among them).
pub const CLASS_CONFIG_ERROR: u8 = 5;

/// What checking a file found.
#[derive(Debug)]
pub struct Verdict {
    /// Diagnostics in the order found, each `file:line:col: severity: message`.
    pub messages: Vec<String>,
    /// keepalived's `-t` exit class.
    pub class: u8,
    /// What the daemon would run; `None` when the file cannot be used at all.
    pub spec: Option<DaemonSpec>,
    /// Instances that cannot run on this host as written (an interface they name is missing),
    /// each with its diagnostic.
    pub down: BTreeMap<String, String>,
}

/// Why a file was not started or not loaded on reload; carries the exit class for the start.
#[derive(Debug, thiserror::Error)]
#[error("{why}")]
pub struct Refused {
    /// keepalived's exit class for the file (the process exit status at start).
    pub class: u8,
    /// One line for the log and the `reload` answer.
    pub why: String,
}

impl Verdict {
    /// The spec to run, or why not. With `partial`, instances that cannot run are left out
    /// (each named in the log) instead of refusing the file.
    pub fn into_runnable(self, file: &Path, partial: bool) -> Result<DaemonSpec, Refused> {
        let Some(mut spec) = self.spec else {
            return Err(Refused {
                class: self.class,
                why: format!(
                    "{} cannot be used (keepalived -t class {}, see the lines above)",
                    file.display(),
                    self.class
                ),
            });
        };
        let dynamic = spec
            .conf
            .as_ref()
            .is_some_and(|c| c.global_defs.dynamic_interfaces);
        if !self.down.is_empty() && dynamic {
            // They stay in the spec: built when their interface appears.
            let names = self.down.keys().cloned().collect::<Vec<_>>().join(", ");
            tracing::warn!(instances = %names, "dynamic_interfaces: these instances wait for their interface");
        } else if !self.down.is_empty() {
            let names = self.down.keys().cloned().collect::<Vec<_>>().join(", ");
            if !partial {
                return Err(Refused {
                    class: self.class,
                    why: format!(
                        "{}: vrrp_instance {names} cannot run here (an interface it names is \
                         missing, see the lines above); fix the file, or start with \
                         --start-partial to run the other instances",
                        file.display()
                    ),
                });
            }
            tracing::warn!(instances = %names, "--start-partial: these instances stay down");
            spec.instances.retain(|i| !self.down.contains_key(&i.name));
            spec.down = (self.down.into_iter())
                .map(|(name, reason)| DownInstance { name, reason })
                .collect();
        }
        // Nothing to run is never what was meant: not started, and never replacing a running
        // configuration (keepalived -t passes a file without instances; the line above says it).
        if spec.instances.is_empty() {
            return Err(Refused {
                class: self.class,
                why: format!("{} defines no vrrp_instance that can run", file.display()),
            });
        }
        Ok(spec)
    }
}

/// Loads and judges the file named by `args` on this host (its network namespace).
pub fn judge(args: &DaemonArgs) -> Verdict {
    let loaded = load(args);
    let mut messages: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    let mut class = loaded.exit_class();
    let down = loaded
        .missing_interfaces
        .iter()
        .map(|m| (m.instance.clone(), m.message.clone()))
        .collect();
    let spec = match &loaded.config {
        Some(cfg) if !matches!(class, 2 | CLASS_UNUSABLE) => match spec_from_config(cfg, args) {
            Ok(spec) => Some(spec),
            Err(e) => {
                messages.push(format!("{}:0:0: error: {e:#}", args.config.display()));
                class = CLASS_UNUSABLE;
                None
            }
        },
        _ => None,
    };
    if spec.as_ref().is_some_and(|s| s.instances.is_empty()) {
        messages.push(format!(
            "{}:0:0: warning: no vrrp_instance: vrrpd has nothing to run",
            args.config.display()
        ));
    }
    Verdict {
        messages,
        class,
        spec,
        down,
    }
}

/// Loads the file as keepalived reads it, with this host's answers.
pub fn load(args: &DaemonArgs) -> keepalived_conf::Loaded {
    let opts = keepalived_conf::LoadOptions {
        config_id: Some(args.config_id.clone().unwrap_or_else(short_hostname)),
        // `-s NAME`, or the file's `net_namespace` once the daemon has entered it.
        in_net_namespace: args.namespace.is_some(),
        ..Default::default()
    };
    keepalived_conf::load_with(&Host, &args.config, &opts)
}

/// keepalived's default config id: the host name up to the first dot.
fn short_hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .map(|h| h.split('.').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// The real host: files, users and environment as [`FsResolver`] sees them, and the
/// interfaces of this process's network namespace.
struct Host;

impl IncludeResolver for Host {
    fn read(&self, path: &Path) -> Result<Vec<u8>, ResolveError> {
        FsResolver.read(path)
    }
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, ResolveError> {
        FsResolver.glob(pattern)
    }
    fn script_file(&self, path: &Path) -> ScriptFile {
        FsResolver.script_file(path)
    }
    fn user_exists(&self, name: &str) -> Option<bool> {
        FsResolver.user_exists(name)
    }
    fn group_exists(&self, name: &str) -> Option<bool> {
        FsResolver.group_exists(name)
    }
    fn env_var(&self, name: &str) -> Option<String> {
        FsResolver.env_var(name)
    }
    fn interface_exists(&self, name: &str) -> Option<bool> {
        Some(nix::net::if_::if_nametoindex(name).is_ok())
    }
    fn cpu_count(&self) -> Option<u32> {
        possible_cpus()
    }
}

/// The CPUs the kernel can bring up (`/sys/devices/system/cpu/possible`, e.g. `0-1`): the
/// bound keepalived checks `vrrp_cpu_affinity` against.
fn possible_cpus() -> Option<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").ok()?;
    let last = text.trim().rsplit([',', '-']).next()?;
    last.parse::<u32>().ok().map(|n| n + 1)
}
