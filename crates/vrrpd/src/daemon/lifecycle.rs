//! What happens around the instances' lifetime: `startup_script` before anything else and
//! `shutdown_script` after everything (each bounded by its `_timeout`), and the start-up
//! delay (`vrrp_startup_delay`, `vrrp_delay_after_boot`) before instances begin.

use std::time::Duration;

use keepalived_conf as kc;

use crate::scripts::ScriptSettings;
use crate::scripts::exec::{ExecPlan, RunAs, RunOutcome, SCRIPT_PATH, build_command, run_bounded};
use crate::scripts::security::check_script_secure;

/// Runs `startup_script` or `shutdown_script` (`which`) to completion, at most `timeout`.
/// Failure is logged, as keepalived logs it, and does not stop vrrpd; `None` = not started.
pub(super) async fn run_lifecycle_script(
    which: &str,
    script: &kc::ScriptCommand,
    timeout: Duration,
    g: &kc::GlobalDefs,
) -> Option<RunOutcome> {
    let settings = ScriptSettings::from_global(g).unwrap_or_default();
    let plan = match ExecPlan::for_command(&script.argv_source, SCRIPT_PATH) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "{which} not run");
            return None;
        }
    };
    if settings.enable_script_security
        && let Err(e) = check_script_secure(which, plan.program())
    {
        tracing::error!(error = %e, "{which} not run");
        return None;
    }
    let run_as = match &script.user {
        Some(u) => match RunAs::resolve(u, script.group.as_deref()) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = %e, "{which} not run");
                return None;
            }
        },
        None => settings.default_user.clone(),
    };
    tracing::info!("running {which} {}", script.argv_source);
    let outcome = run_bounded(build_command(&plan, &[], run_as.as_ref()), timeout).await;
    if outcome.is_success() {
        tracing::info!("{which} succeeded");
    } else {
        tracing::warn!("{which} failed: {outcome}");
    }
    Some(outcome)
}

/// How long instances wait before starting: `vrrp_startup_delay`, or as long as it takes
/// until the system has been up for `vrrp_delay_after_boot`, whichever is longer.
pub(super) fn startup_delay(g: &kc::GlobalDefs, uptime: Option<Duration>) -> Duration {
    let after_boot = match uptime {
        Some(up) => g.vrrp_delay_after_boot.saturating_sub(up),
        None => Duration::ZERO,
    };
    g.vrrp_startup_delay.max(after_boot)
}

/// The time since boot, from /proc/uptime.
pub(super) fn uptime() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    Duration::try_from_secs_f64(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hanging_startup_script_is_killed_at_its_timeout() {
        let script = kc::ScriptCommand {
            argv_source: "/bin/sleep 30".into(),
            ..test_script()
        };
        let g = kc::GlobalDefs::default();
        let started = std::time::Instant::now();
        let outcome =
            run_lifecycle_script("startup_script", &script, Duration::from_millis(200), &g).await;
        assert!(
            matches!(outcome, Some(RunOutcome::TimedOut(_))),
            "{outcome:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        let ok = kc::ScriptCommand {
            argv_source: "/bin/true".into(),
            ..test_script()
        };
        let outcome =
            run_lifecycle_script("shutdown_script", &ok, Duration::from_secs(5), &g).await;
        assert!(outcome.is_some_and(|o| o.is_success()));
    }

    fn test_script() -> kc::ScriptCommand {
        keepalived_conf::script::parse_script("/bin/true").unwrap()
    }

    #[test]
    fn delay_after_boot_counts_only_while_the_system_is_young() {
        let g = kc::GlobalDefs {
            vrrp_startup_delay: Duration::from_secs(2),
            vrrp_delay_after_boot: Duration::from_secs(60),
            ..Default::default()
        };
        let s = Duration::from_secs;
        assert_eq!(startup_delay(&g, Some(s(15))), s(45));
        assert_eq!(startup_delay(&g, Some(s(59))), s(2));
        assert_eq!(startup_delay(&g, Some(s(3600))), s(2));
        assert_eq!(startup_delay(&kc::GlobalDefs::default(), Some(s(1))), s(0));
    }
}
