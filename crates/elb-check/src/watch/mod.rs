//! `--watch`: elb-check stays running and probes every interval, with no
//! fork per check, keeping a keepalived/vrrpd `track_file` and (optionally)
//! vrrpd's pushed tracker state up to date. One probe at a time (the next
//! starts one interval after the previous started, or at once when it ran
//! longer: never a burst, never a busy loop); nothing accumulates between
//! probes, so memory stays flat over days.
//!
//! On SIGTERM/SIGINT it exits 0; with `--on-exit down` (the default) it
//! first writes the down value and pushes `down`, so a stopped checker does
//! not leave its node claiming health; `--on-exit keep` leaves both as they
//! were (for restarts during upgrades).

mod health;
mod notify;
mod track_file;

use std::io::Write as _;
use std::time::Duration;

use elb_probe::ProbeSpec;
use tokio::time::MissedTickBehavior;

use crate::assess::{self, Rules};
use crate::stop_signals::StopSignals;
pub use health::Health;
pub use notify::Notifier;
pub use track_file::TrackFile;

/// What to do with the published state on SIGTERM/SIGINT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnExit {
    /// Write the down value and push `down` (a stopped checker vouches for nothing).
    Down,
    /// Leave the file and the pushed state as they are.
    Keep,
}

/// Everything the loop needs besides the probe.
#[derive(Debug)]
pub struct Watch {
    /// Time from one probe's start to the next.
    pub interval: Duration,
    /// Results in a row to go up / down.
    pub health: Health,
    /// The track file to keep up to date.
    pub file: Option<TrackFile>,
    /// The control socket to push changes to.
    pub notifier: Option<Notifier>,
    /// What to leave behind on a stop signal.
    pub on_exit: OnExit,
    /// `--cert-days` and friends.
    pub rules: Rules,
    /// Print one line per probe on stderr.
    pub verbose: bool,
}

fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "elb-check: {line}");
}

fn word(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}

/// The state waiting to be published (written and pushed).
#[derive(Debug, Default)]
struct Pending {
    file: Option<bool>,
    push: Option<bool>,
    last_error: Option<String>,
}

impl Watch {
    /// Publishes what is pending; failures stay pending and are retried at
    /// the next probe, logged once per distinct error.
    async fn publish(&mut self, pending: &mut Pending) {
        if let (Some(up), Some(file)) = (pending.file, &self.file) {
            match file.write(up) {
                Ok(()) => pending.file = None,
                Err(e) => self.complain(
                    pending,
                    format!("cannot write {}: {e}", file.path().display()),
                ),
            }
        }
        if let (Some(up), Some(notifier)) = (pending.push, &self.notifier) {
            match notifier.push(up).await {
                Ok(_) => pending.push = None,
                Err(e) => self.complain(pending, format!("cannot push track {}: {e}", word(up))),
            }
        }
        if pending.file.is_none() && pending.push.is_none() {
            pending.last_error = None;
        }
    }

    fn complain(&self, pending: &mut Pending, error: String) {
        if pending.last_error.as_deref() != Some(error.as_str()) {
            say(format_args!("{error} (retrying every {:?})", self.interval));
            pending.last_error = Some(error);
        }
    }

    /// Probes until a stop signal; returns the exit status (0).
    pub async fn run(mut self, spec: &ProbeSpec, stop: Option<&StopSignals>) -> u8 {
        let url = spec.target.display_url();
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut pending = Pending::default();
        loop {
            let result = tokio::select! {
                result = async {
                    ticker.tick().await;
                    elb_probe::probe(spec).await
                } => result,
                signal = recv(stop) => {
                    say(format_args!("{url}: stopped by {signal}"));
                    break;
                }
            };
            let verdict = assess::assess(&result, &self.rules, assess::unix_now());
            if self.verbose {
                say(format_args!(
                    "{url}: {}: {} ({:.3} ms)",
                    verdict.label,
                    verdict.detail,
                    result.total.as_secs_f64() * 1000.0
                ));
            }
            let was = self.health.up();
            if let Some(up) = self.health.record(verdict.healthy) {
                match was {
                    None => say(format_args!("{url}: {}: {}", word(up), verdict.detail)),
                    Some(old) => say(format_args!(
                        "{url}: {} -> {}: {}",
                        word(old),
                        word(up),
                        verdict.detail
                    )),
                }
                pending.file = Some(up);
                pending.push = Some(up);
            }
            if pending.file.is_some() || pending.push.is_some() {
                self.publish(&mut pending).await;
            }
        }
        if self.on_exit == OnExit::Down {
            pending.file = Some(false);
            pending.push = Some(false);
            self.publish(&mut pending).await;
        }
        0
    }
}

/// The next stop signal's name, or never without a signalfd.
async fn recv(stop: Option<&StopSignals>) -> &'static str {
    match stop {
        Some(stop) => match stop.recv().await {
            Ok(crate::stop_signals::StopSignal::Terminate) => "SIGTERM",
            Ok(crate::stop_signals::StopSignal::Interrupt) => "SIGINT",
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}
