//! A background client inside a lab namespace: one request every `period` (a new sample
//! each), until stopped or its time bound passes; the samples are read while it runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The running client; `S` is what one request records (its start time included).
pub struct Sampler<S> {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<S>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<S: Clone + Send + 'static> Sampler<S> {
    /// Starts the client in namespace `netns`: `request(i, at)` is the `i`th request, started
    /// at `at`, at most one every `period`, for at most `max`.
    pub fn spawn(
        netns: &str,
        period: Duration,
        max: Duration,
        mut request: impl FnMut(usize, Instant) -> S + Send + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let netns = netns.to_string();
        let thread = {
            let (stop, samples) = (stop.clone(), samples.clone());
            std::thread::spawn(move || {
                let file = std::fs::File::open(format!("/run/netns/{netns}")).expect("netns");
                nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
                let end = Instant::now() + max;
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                    let at = Instant::now();
                    let sample = request(i, at);
                    samples.lock().expect("samples").push(sample);
                    i += 1;
                    if let Some(pause) = (at + period).checked_duration_since(Instant::now()) {
                        std::thread::sleep(pause); // pacing of the load, not synchronisation
                    }
                }
            })
        };
        Self {
            stop,
            samples,
            thread: Some(thread),
        }
    }

    /// The samples so far, while the client keeps running.
    pub fn samples(&self) -> Vec<S> {
        self.samples.lock().expect("samples").clone()
    }

    /// Waits until `done` holds for the samples so far, or `timeout` passes; whether it held.
    /// The samples are polled (the client records them; it signals nothing).
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&[S]) -> bool) -> bool {
        test_support::wait::poll(timeout, || done(&self.samples()).then_some(())).is_some()
    }

    /// Stops the client and returns every sample.
    pub fn finish(mut self) -> Vec<S> {
        self.halt();
        self.samples()
    }
}

impl<S> Sampler<S> {
    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl<S> Drop for Sampler<S> {
    fn drop(&mut self) {
        self.halt();
    }
}
