//! From keepalived-conf's model to the tracking specs: `vrrp_script`, `track_file`, the
//! script user settings, and each instance's trackers with their resolved weights.

use keepalived_conf as kc;

use super::exec::RunAsError;
use super::priority::TrackerWeight;
use super::runner::{ScriptSettings, TrackScriptSpec};
use super::security::default_script_user;
use super::track_file::TrackFileSpec;
use crate::control::TrackerKind;

impl From<&kc::VrrpScript> for TrackScriptSpec {
    fn from(s: &kc::VrrpScript) -> Self {
        // `user` inside the block wins over words after the command (`script "cmd" user`).
        let user = match (&s.user, &s.script.user) {
            (Some(u), _) => Some((u.user.clone(), u.group.clone())),
            (None, Some(u)) => Some((u.clone(), s.script.group.clone())),
            (None, None) => None,
        };
        TrackScriptSpec {
            name: s.name.clone(),
            command: s.script.argv_source.clone(),
            interval: s.interval,
            timeout: Some(s.timeout),
            weight: i64::from(s.weight),
            reverse: s.weight_reverse,
            rise: s.rise,
            fall: s.fall,
            user,
            init_fail: s.init_fail,
        }
    }
}

impl From<&kc::TrackFile> for TrackFileSpec {
    fn from(f: &kc::TrackFile) -> Self {
        TrackFileSpec {
            name: f.name.clone(),
            path: f.file.clone().into(),
            weight: i64::from(f.weight),
            reverse: f.weight_reverse,
            init_file: f.init_file,
        }
    }
}

impl ScriptSettings {
    /// `enable_script_security` and the default script user (`script_user`, else
    /// `keepalived_script` when it exists, else vrrpd's own user).
    pub fn from_global(g: &kc::GlobalDefs) -> Result<Self, RunAsError> {
        let configured = g
            .script_user
            .as_ref()
            .map(|u| (u.user.as_str(), u.group.as_deref()));
        Ok(ScriptSettings {
            enable_script_security: g.enable_script_security,
            default_user: default_script_user(configured)?,
        })
    }
}

/// One tracker of an instance with its weight resolved (instance override, else the
/// tracked object's own weight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceTracker {
    /// Which tracker.
    pub kind: TrackerKind,
    /// Its weight for this instance.
    pub weight: TrackerWeight,
}

fn resolve_refs(
    refs: &[kc::TrackRef],
    kind: TrackerKind,
    own: impl Fn(&str) -> Option<(i32, bool)>,
    zero_weights: bool,
    out: &mut Vec<InstanceTracker>,
) {
    for r in refs {
        // A reference to an undefined object was reported by the parser and is ignored.
        let Some((weight, reverse)) = own(&r.name) else {
            continue;
        };
        let weight = if zero_weights {
            0
        } else {
            r.weight.unwrap_or(weight)
        };
        out.push(InstanceTracker {
            kind,
            weight: TrackerWeight {
                name: r.name.clone(),
                weight: i64::from(weight),
                reverse: r.reverse.unwrap_or(reverse),
            },
        });
    }
}

/// Every tracker that moves `instance`'s priority or puts it in FAULT: its own
/// `track_script`, `track_file` and `track_interface`, plus its sync group's (whose weights
/// are 0, i.e. FAULT, unless `sync_group_tracking_weight`, as in keepalived).
pub fn instance_trackers(config: &kc::Config, instance: &kc::Instance) -> Vec<InstanceTracker> {
    let script = |n: &str| config.scripts.get(n).map(|s| (s.weight, s.weight_reverse));
    let file = |n: &str| {
        config
            .track_files
            .get(n)
            .map(|f| (f.weight, f.weight_reverse))
    };
    let process = |n: &str| {
        config
            .track_processes
            .get(n)
            .map(|p| (p.weight, p.weight_reverse))
    };
    let mut out = Vec::new();
    resolve_refs(
        &instance.track_process,
        TrackerKind::Process,
        process,
        false,
        &mut out,
    );
    resolve_refs(
        &instance.track_script,
        TrackerKind::Script,
        script,
        false,
        &mut out,
    );
    resolve_refs(
        &instance.track_file,
        TrackerKind::File,
        file,
        false,
        &mut out,
    );
    for i in &instance.track_interface {
        out.push(InstanceTracker {
            kind: TrackerKind::Interface,
            weight: TrackerWeight {
                name: i.name.clone(),
                weight: i64::from(i.weight),
                reverse: i.reverse,
            },
        });
    }
    let group = instance
        .sync_group
        .as_ref()
        .and_then(|g| config.sync_groups.iter().find(|s| &s.name == g));
    if let Some(group) = group {
        let zero = !group.sync_group_tracking_weight;
        resolve_refs(
            &group.track_script,
            TrackerKind::Script,
            script,
            zero,
            &mut out,
        );
        resolve_refs(&group.track_file, TrackerKind::File, file, zero, &mut out);
        resolve_refs(
            &group.track_process,
            TrackerKind::Process,
            process,
            zero,
            &mut out,
        );
        for i in &group.track_interface {
            out.push(InstanceTracker {
                kind: TrackerKind::Interface,
                weight: TrackerWeight {
                    name: i.name.clone(),
                    weight: if zero { 0 } else { i64::from(i.weight) },
                    reverse: i.reverse,
                },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = r#"
global_defs {
    notification_email {
        ops@example.org
    }
    notification_email_from vrrpd@lb-a.example
    smtp_server 127.0.0.1
    smtp_connect_timeout 30
    router_id lb-a
}
vrrp_script chk_elb {
    script "/bin/true http://localhost:8280/services/EchoProxy"
    interval 0.5
    weight 2
    fall 3
    rise 2
}
track_file maint {
    file "/run/maint"
    weight -10
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 101
    virtual_ipaddress {
        198.18.0.100/24
    }
    track_script {
        chk_elb
    }
    track_file {
        maint weight -20
    }
    smtp_alert
}
"#;

    fn load() -> kc::Config {
        let res = kc::MemResolver::new().with_file("/etc/keepalived/keepalived.conf", REFERENCE);
        let loaded = kc::load_with(
            &res,
            std::path::Path::new("/etc/keepalived/keepalived.conf"),
            &kc::LoadOptions {
                skip_script_checks: true,
                ..Default::default()
            },
        );
        loaded.config.expect("reference config loads")
    }

    #[test]
    fn vrrp_script_converts_with_fractional_interval() {
        let config = load();
        let spec = TrackScriptSpec::from(&config.scripts["chk_elb"]);
        assert_eq!(spec.interval, std::time::Duration::from_millis(500));
        assert_eq!(
            spec.command,
            "/bin/true http://localhost:8280/services/EchoProxy"
        );
        assert_eq!((spec.weight, spec.rise, spec.fall), (2, 2, 3));
    }

    #[test]
    fn instance_trackers_resolve_overrides() {
        let config = load();
        let trackers = instance_trackers(&config, &config.instances[0]);
        let weights: Vec<(TrackerKind, &str, i64)> = trackers
            .iter()
            .map(|t| (t.kind, t.weight.name.as_str(), t.weight.weight))
            .collect();
        assert_eq!(
            weights,
            [
                (TrackerKind::Script, "chk_elb", 2),
                (TrackerKind::File, "maint", -20)
            ]
        );
    }

    #[test]
    fn global_defs_give_smtp_settings_and_notify_converts() {
        let config = load();
        let smtp = crate::alert::SmtpSpec::from_global(&config.global_defs, "host-a", "root")
            .expect("smtp configured");
        assert_eq!((smtp.server.as_str(), smtp.port), ("127.0.0.1", 25));
        assert_eq!(smtp.from, "vrrpd@lb-a.example");
        assert_eq!(smtp.to, ["ops@example.org"]);
        assert_eq!(smtp.router_id, "lb-a");
        assert_eq!(smtp.connect_timeout, std::time::Duration::from_secs(30));
        assert!(config.instances[0].smtp_alert);
        assert!(crate::alert::should_mail(
            &config.global_defs,
            true,
            "FAULT"
        ));
        let notify = crate::notify::NotifySpec::from_conf(
            crate::notify::Target::Instance,
            "VI_1",
            &config.instances[0].notify,
        );
        assert!(notify.is_empty());
    }
}
