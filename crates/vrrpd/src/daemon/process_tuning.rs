//! The VRRP process's own settings from `global_defs`, applied once at start as keepalived
//! 2.2.7's VRRP process applies them (seen in /proc/PID of its VRRP child): `vrrp_priority`
//! (nice, only when not realtime: keepalived leaves nice 0 then), `vrrp_rt_priority`
//! (SCHED_RR, reset on fork so scripts run normal), `vrrp_rlimit_rttime` (RLIMIT_RTTIME, set
//! only when realtime: hard = the value, 10000 µs by default, soft = half of it),
//! `vrrp_no_swap` (mlockall), `vrrp_cpu_affinity` and `umask`.

use keepalived_conf as kc;

/// keepalived's RLIMIT_RTTIME hard limit for a realtime VRRP process without
/// `vrrp_rlimit_rttime` (µs; /proc/PID/limits shows 5000 soft, 10000 hard).
pub(super) const DEFAULT_RTTIME_US: u64 = 10_000;

/// What to change in the process, decided from the configuration alone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Plan {
    pub(super) nice: Option<i32>,
    pub(super) rt_priority: Option<i32>,
    /// (soft, hard) RLIMIT_RTTIME in µs.
    pub(super) rttime: Option<(u64, u64)>,
    pub(super) lock_memory: bool,
    pub(super) cpus: Vec<u32>,
    pub(super) umask: Option<u32>,
}

impl Plan {
    pub(super) fn from_config(t: &kc::ProcessTuning) -> Self {
        let rt = t.rt_priority.filter(|p| (1..=99).contains(p));
        Plan {
            nice: if rt.is_some() { None } else { t.nice },
            rt_priority: rt,
            rttime: rt.map(|_| {
                let hard = t.rlimit_rttime.unwrap_or(DEFAULT_RTTIME_US);
                (hard / 2, hard)
            }),
            lock_memory: t.no_swap,
            cpus: t.cpu_affinity.clone(),
            umask: t.umask,
        }
    }
}

/// Applies `plan` to the calling thread (the event loop, before it opens sockets) and the
/// process; a setting the kernel refuses is logged and the daemon runs on without it.
pub(super) fn apply(plan: &Plan) {
    if let Some(mask) = plan.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
        tracing::info!("umask {mask:04o} (umask)");
    }
    if let Some(n) = plan.nice {
        // SAFETY: plain syscall on this process; no pointers.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, n) };
        report(rc, &format!("nice {n} (vrrp_priority)"));
    }
    if !plan.cpus.is_empty() {
        let mut set = nix::sched::CpuSet::new();
        let ok = plan.cpus.iter().all(|c| set.set(*c as usize).is_ok());
        let rc = match ok {
            true => nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set),
            false => Err(nix::errno::Errno::EINVAL),
        };
        report(
            if rc.is_ok() { 0 } else { -1 },
            &format!("CPUs {:?} (vrrp_cpu_affinity)", plan.cpus),
        );
    }
    if plan.lock_memory {
        // SAFETY: plain syscall; no pointers.
        let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
        report(rc, "memory locked (vrrp_no_swap)");
    }
    if let Some((soft, hard)) = plan.rttime {
        // Past the soft limit the kernel sends SIGXCPU each second (default action: die);
        // like keepalived, vrrpd lives on and only the hard limit (SIGKILL) ends it.
        // SAFETY: SIG_IGN installs no handler code.
        let _ = unsafe {
            nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGXCPU,
                nix::sys::signal::SigHandler::SigIgn,
            )
        };
        let rc =
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_RTTIME, soft, hard);
        report(
            if rc.is_ok() { 0 } else { -1 },
            &format!("RLIMIT_RTTIME {soft}/{hard} us (vrrp_rlimit_rttime)"),
        );
    }
    if let Some(p) = plan.rt_priority {
        let param = libc::sched_param { sched_priority: p };
        // SAFETY: plain syscall on the calling thread with a valid parameter struct.
        let rc = unsafe {
            libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param)
        };
        report(
            rc,
            &format!("realtime priority {p} (vrrp_rt_priority, SCHED_RR)"),
        );
    }
}

/// A reload keeps the settings taken at start; a changed one is said, not silently dropped.
pub(super) fn warn_startup_only(old: &kc::Config, new: &kc::Config) {
    if old.global_defs.process != new.global_defs.process {
        tracing::warn!(
            "the VRRP process settings changed (vrrp_priority, vrrp_rt_priority, vrrp_no_swap, \
             vrrp_cpu_affinity, vrrp_rlimit_rttime, umask, *_rcv_bufs): they take effect at the \
             next start, the running process keeps those it started with"
        );
    }
    if old.net_namespace != new.net_namespace {
        tracing::warn!(
            old = old.net_namespace.as_deref().unwrap_or("(none)"),
            new = new.net_namespace.as_deref().unwrap_or("(none)"),
            "net_namespace changed: vrrpd stays in the namespace it started in until restarted"
        );
    }
}

fn report(rc: i32, what: &str) {
    if rc == 0 {
        tracing::info!("process tuning: {what}");
    } else {
        let e = std::io::Error::last_os_error();
        tracing::error!(error = %e, "process tuning failed, running without it: {what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realtime_priority_brings_keepalived_rttime_limits_and_drops_nice() {
        let t = kc::ProcessTuning {
            nice: Some(-5),
            rt_priority: Some(30),
            ..Default::default()
        };
        let p = Plan::from_config(&t);
        assert_eq!(p.rt_priority, Some(30));
        assert_eq!(
            p.nice, None,
            "keepalived leaves a realtime process at nice 0"
        );
        assert_eq!(p.rttime, Some((5000, 10_000)));
        let t = kc::ProcessTuning {
            rlimit_rttime: Some(200_000),
            ..t
        };
        assert_eq!(Plan::from_config(&t).rttime, Some((100_000, 200_000)));
    }

    #[test]
    fn without_realtime_nice_applies_and_rttime_stays_unlimited() {
        let t = kc::ProcessTuning {
            nice: Some(-5),
            rlimit_rttime: Some(200_000),
            umask: Some(0o22),
            ..Default::default()
        };
        let p = Plan::from_config(&t);
        assert_eq!(p.nice, Some(-5));
        assert_eq!(p.rttime, None);
        assert_eq!(p.umask, Some(0o22));
        assert_eq!(
            Plan::from_config(&kc::ProcessTuning::default()),
            Plan::default()
        );
    }
}
