//! Signals as keepalived 2.2.7 uses them: the same numbers (`--signum`), the same meanings,
//! and every other signal whose default action would end the process caught and turned into
//! the orderly shutdown (VIPs released, priority 0 sent), never a silent death.

use std::future::poll_fn;
use std::task::Poll;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// What a received signal asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalAction {
    /// Orderly shutdown: SIGTERM, SIGINT and every other terminating signal.
    Stop,
    /// SIGHUP: re-read the configuration.
    Reload,
    /// SIGUSR1: the data dump (`/tmp/keepalived.data`).
    Data,
    /// SIGUSR2: the statistics dump (`/tmp/keepalived.stats`).
    Stats,
    /// SIGRTMIN+29: the statistics dump, then every counter back to zero.
    StatsClear,
    /// SIGRTMIN+2: the JSON dump (`/tmp/keepalived.json`).
    Json,
}

/// keepalived's signal-function names, as `keepalived --signum=NAME` knows them.
const NAMES: [(&str, SignalAction); 6] = [
    ("STOP", SignalAction::Stop),
    ("RELOAD", SignalAction::Reload),
    ("DATA", SignalAction::Data),
    ("STATS", SignalAction::Stats),
    ("STATS_CLEAR", SignalAction::StatsClear),
    ("JSON", SignalAction::Json),
];

/// The number keepalived 2.2.7 prints for `--signum=NAME`; `None` for names it does not know
/// (it answers `Unknown sigfunc NAME`, exit 1).
pub fn signum(name: &str) -> Option<i32> {
    let action = NAMES.iter().find(|(n, _)| *n == name)?.1;
    Some(number_of(action))
}

/// The signal number that asks for `action`.
pub fn number_of(action: SignalAction) -> i32 {
    match action {
        SignalAction::Stop => libc::SIGTERM,
        SignalAction::Reload => libc::SIGHUP,
        SignalAction::Data => libc::SIGUSR1,
        SignalAction::Stats => libc::SIGUSR2,
        SignalAction::StatsClear => libc::SIGRTMIN() + 29,
        SignalAction::Json => libc::SIGRTMIN() + 2,
    }
}

/// What signal `sig` asks for: keepalived's own, else (any other terminating signal) Stop.
pub fn action_of(sig: i32) -> SignalAction {
    NAMES
        .iter()
        .map(|(_, a)| *a)
        .find(|a| *a != SignalAction::Stop && number_of(*a) == sig)
        .unwrap_or(SignalAction::Stop)
}

/// Signals whose default action ends the process and that can be caught (faults such as
/// SIGSEGV, SIGBUS or SIGABRT are left to their default: they mean a bug, not a request).
pub fn caught() -> Vec<i32> {
    let mut v = vec![
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGTERM,
        libc::SIGSTKFLT,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
    ];
    v.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    v
}

/// Name of a signal for the log (`SIGTERM`, `SIGRTMIN+2`).
pub fn name_of(sig: i32) -> String {
    if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&sig) {
        return format!("SIGRTMIN+{}", sig - libc::SIGRTMIN());
    }
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

/// Every caught signal as one stream.
pub struct Signals {
    streams: Vec<(i32, Signal)>,
}

impl Signals {
    /// Installs the handlers: from here on none of [`caught`] ends the process by itself.
    pub fn install() -> std::io::Result<Self> {
        let streams = caught()
            .into_iter()
            .map(|n| signal(SignalKind::from_raw(n)).map(|s| (n, s)))
            .collect::<std::io::Result<_>>()?;
        Ok(Signals { streams })
    }

    /// The next signal received.
    pub async fn recv(&mut self) -> i32 {
        poll_fn(|cx| {
            for (n, s) in &mut self.streams {
                if let Poll::Ready(Some(())) = s.poll_recv(cx) {
                    return Poll::Ready(*n);
                }
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signum_prints_keepalived_2_2_7_numbers() {
        // Printed by Debian's keepalived 2.2.7 `--signum=NAME` on this machine.
        for (name, n) in [
            ("STOP", 15),
            ("RELOAD", 1),
            ("DATA", 10),
            ("STATS", 12),
            ("STATS_CLEAR", 63),
            ("JSON", 36),
        ] {
            assert_eq!(signum(name), Some(n), "{name}");
        }
        assert_eq!(signum("TDATA"), None);
        assert_eq!(signum("json"), None);
    }

    #[test]
    fn each_signal_maps_back_to_its_function_and_the_rest_stop() {
        for (name, a) in NAMES {
            assert_eq!(action_of(signum(name).unwrap()), a, "{name}");
        }
        assert_eq!(action_of(libc::SIGINT), SignalAction::Stop);
        assert_eq!(action_of(libc::SIGALRM), SignalAction::Stop);
        assert_eq!(action_of(libc::SIGRTMIN() + 5), SignalAction::Stop);
        assert!(caught().contains(&libc::SIGRTMAX()));
        assert_eq!(name_of(36), "SIGRTMIN+2");
        assert_eq!(name_of(libc::SIGHUP), "SIGHUP");
    }
}
