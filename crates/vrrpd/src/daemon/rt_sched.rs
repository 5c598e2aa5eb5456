//! `max_auto_priority`: each time the event loop wakes later than `min_auto_priority_delay`
//! after a timer was due (CPU starvation), vrrpd raises it one step of realtime round-robin
//! scheduling, from 1 up to the configured priority, as keepalived 2.2.7 does ("Set realtime
//! priority N"), so adverts keep time. Scripts forked afterwards run at normal priority
//! (SCHED_RESET_ON_FORK). With `vrrp_rt_priority` the process starts realtime at that
//! priority, and the raises continue from there.

use std::time::Duration;

use keepalived_conf as kc;

/// Whether and how far the event loop may raise itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AutoPriority {
    /// Realtime priority to take (1..=99); `None` = never.
    max: Option<i32>,
    threshold: Duration,
    /// The realtime priority taken so far (0 = normal scheduling).
    current: i32,
}

impl AutoPriority {
    pub(super) fn from_global(g: &kc::GlobalDefs) -> Self {
        AutoPriority {
            max: g.max_auto_priority.filter(|p| (1..=99).contains(p)),
            threshold: g.min_auto_priority_delay,
            current: g.process.rt_priority.unwrap_or(0),
        }
    }

    /// The priority to switch to now that a timer fired `late`, if any.
    pub(super) fn decide(&mut self, late: Duration) -> Option<i32> {
        let max = self.max?;
        if self.current >= max || late <= self.threshold {
            return None;
        }
        self.current += 1;
        Some(self.current)
    }

    /// Notes a timer that fired `late`, and raises the calling thread when due.
    pub(super) fn note_lateness(&mut self, late: Duration) {
        let Some(p) = self.decide(late) else {
            return;
        };
        let param = libc::sched_param { sched_priority: p };
        // SAFETY: plain syscall on the calling thread with a valid parameter struct.
        let rc = unsafe {
            libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param)
        };
        if rc == 0 {
            tracing::warn!(
                late_ms = late.as_millis() as u64,
                "Set realtime priority {p} (timers ran late; SCHED_RR, max_auto_priority)"
            );
        } else {
            tracing::error!(error = %std::io::Error::last_os_error(), priority = p, "cannot switch to realtime scheduling");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raises_one_step_per_late_wakeup_up_to_max_and_never_without_it() {
        let g = kc::GlobalDefs {
            max_auto_priority: Some(20),
            min_auto_priority_delay: Duration::from_millis(500),
            ..Default::default()
        };
        let mut a = AutoPriority::from_global(&g);
        assert_eq!(a.decide(Duration::from_millis(400)), None);
        assert_eq!(a.decide(Duration::from_millis(600)), Some(1));
        assert_eq!(a.decide(Duration::from_secs(5)), Some(2));
        for _ in 2..20 {
            a.decide(Duration::from_secs(5));
        }
        assert_eq!(
            a.decide(Duration::from_secs(5)),
            None,
            "never past max_auto_priority"
        );
        let mut off = AutoPriority::from_global(&kc::GlobalDefs::default());
        assert_eq!(off.decide(Duration::from_secs(5)), None);
        let g = kc::GlobalDefs {
            max_auto_priority: Some(-1),
            ..Default::default()
        };
        assert_eq!(
            AutoPriority::from_global(&g).decide(Duration::from_secs(5)),
            None
        );
    }

    #[test]
    fn raises_continue_from_the_configured_realtime_priority() {
        let mut g = kc::GlobalDefs {
            max_auto_priority: Some(20),
            ..Default::default()
        };
        g.process.rt_priority = Some(19);
        let mut a = AutoPriority::from_global(&g);
        assert_eq!(a.decide(Duration::from_secs(5)), Some(20));
        assert_eq!(a.decide(Duration::from_secs(5)), None);
        g.process.rt_priority = Some(30);
        assert_eq!(
            AutoPriority::from_global(&g).decide(Duration::from_secs(5)),
            None,
            "never below the configured priority"
        );
    }
}
