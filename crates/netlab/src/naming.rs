//! Names of lab namespaces: `elb<pid>x<seq>sw` for the switch and `elb<pid>x<seq>h<i>` for
//! hosts. The owner pid lets a later run delete namespaces whose owner is gone.

use std::sync::atomic::{AtomicU32, Ordering};

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// A fresh, process-unique prefix for one lab.
pub(crate) fn new_prefix() -> String {
    let seq = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
    format!("elb{}x{}", std::process::id(), seq)
}

/// The pid of the process that created a lab namespace, if `name` is one.
pub(crate) fn parse_owner_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("elb")?;
    let (pid, tail) = rest.split_once('x')?;
    if tail.is_empty() || !tail.chars().next()?.is_ascii_digit() {
        return None;
    }
    pid.parse().ok()
}

/// Namespace names under /run/netns (where `ip netns add` puts them).
pub(crate) fn list_netns() -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Deletes lab namespaces whose creating process no longer exists (a run that was SIGKILLed
/// could not clean up after itself).
pub(crate) fn sweep_stale() {
    for name in list_netns() {
        let Some(pid) = parse_owner_pid(&name) else {
            continue;
        };
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
        if !alive {
            let _ = std::process::Command::new("ip")
                .args(["netns", "delete", &name])
                .output();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_is_read_back_from_generated_names() {
        let prefix = new_prefix();
        let pid = std::process::id() as i32;
        assert_eq!(parse_owner_pid(&format!("{prefix}sw")), Some(pid));
        assert_eq!(parse_owner_pid(&format!("{prefix}h3")), Some(pid));
    }

    #[test]
    fn foreign_names_are_not_lab_names() {
        for name in [
            "elb", "elbx1", "elb12", "elb12x", "elb12xsw", "lab1x2", "elbAx1",
        ] {
            assert_eq!(parse_owner_pid(name), None, "{name}");
        }
    }
}
