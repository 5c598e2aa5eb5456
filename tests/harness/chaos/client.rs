//! A client on the lab's client host requesting through the VIP at a steady pace for the
//! whole run: the invariants need to know when a request last succeeded, the report counts
//! how many failed.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::topology::{PROXY_PORT, VIP};
use crate::seed::http_get;

#[derive(Debug, Clone, Copy, Default)]
pub struct ClientStats {
    pub ok: u64,
    pub failed: u64,
    pub last_ok: Option<Instant>,
}

pub struct ClientProbe {
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<ClientStats>>,
    thread: Option<JoinHandle<()>>,
}

impl ClientProbe {
    /// Starts requesting `GET /` from inside `netns` every `period`, each bounded by `timeout`.
    pub fn start(netns: &str, period: Duration, timeout: Duration) -> Result<Self> {
        let file = std::fs::File::open(format!("/run/netns/{netns}"))
            .with_context(|| format!("netns {netns}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(ClientStats::default()));
        let thread = {
            let (stop, stats) = (stop.clone(), stats.clone());
            std::thread::spawn(move || {
                if nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).is_err() {
                    return;
                }
                let addr = SocketAddr::new(IpAddr::V4(VIP), PROXY_PORT);
                while !stop.load(Ordering::Relaxed) {
                    let at = Instant::now();
                    let ok = http_get(addr, "/", timeout)
                        .map(|body| body.starts_with("served by"))
                        .unwrap_or(false);
                    {
                        let mut s = stats.lock().expect("client stats");
                        if ok {
                            s.ok += 1;
                            s.last_ok = Some(at);
                        } else {
                            s.failed += 1;
                        }
                    }
                    if let Some(pause) = (at + period).checked_duration_since(Instant::now()) {
                        std::thread::sleep(pause); // the pace of the load, not synchronisation
                    }
                }
            })
        };
        Ok(Self {
            stop,
            stats,
            thread: Some(thread),
        })
    }

    pub fn stats(&self) -> ClientStats {
        *self.stats.lock().expect("client stats")
    }
}

impl Drop for ClientProbe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
