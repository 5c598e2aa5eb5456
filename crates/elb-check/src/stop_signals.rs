//! SIGTERM and SIGINT as something the probe can race against: keepalived
//! stops an overdue track script with SIGTERM to its process group, and
//! elb-check must then end at once with 143 (130 for SIGINT).
//!
//! The two signals are blocked and read from a signalfd registered with the
//! runtime's reactor: no signal handler, no self-pipe, and no tokio signal
//! driver, whose per-signal table and socketpair were a measurable part of
//! elb-check's start-up (docs/benchmarks/elb-check.md). Threads started
//! later (the resolver's) inherit the mask, so the signals always end up in
//! the fd; elb-check starts no other programs, so no child inherits it.

use std::io;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use tokio::io::unix::AsyncFd;

/// Which stop signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM (keepalived's script timeout, systemd, kill).
    Terminate,
    /// SIGINT (Ctrl-C).
    Interrupt,
}

/// SIGTERM and SIGINT, readable from the runtime.
pub struct StopSignals {
    fd: AsyncFd<SignalFd>,
}

impl StopSignals {
    /// Opens the signalfd, registers it with the current runtime, then
    /// blocks both signals for this thread. If any step fails, nothing is
    /// blocked and the signals keep their default action (ending the
    /// process), so elb-check can always be stopped.
    #[allow(unsafe_code)]
    pub fn install() -> io::Result<Self> {
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGTERM);
        mask.add(Signal::SIGINT);
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        // SAFETY: `AsyncFd::register` needs the descriptor to stay open and
        // the same for as long as the AsyncFd holds it. A SignalFd owns its
        // descriptor (an OwnedFd), never replaces it, and closes it only when
        // dropped, which happens when the AsyncFd that now owns it is dropped.
        let fd = unsafe { AsyncFd::register(fd) }?;
        mask.thread_block()?;
        Ok(Self { fd })
    }

    /// Waits for the next SIGTERM or SIGINT.
    pub async fn recv(&self) -> io::Result<StopSignal> {
        loop {
            let mut ready = self.fd.readable().await?;
            match ready.get_inner().read_signal()? {
                Some(info) if info.ssi_signo == Signal::SIGINT as u32 => {
                    return Ok(StopSignal::Interrupt);
                }
                Some(_) => return Ok(StopSignal::Terminate),
                None => ready.clear_ready(),
            }
        }
    }
}
