//! A deadline on a timer that outlives the request: `tokio::time::timeout_at` registers a
//! new timer each time it waits (the timer wheel's lock, and a driver wake-up when it is
//! the earliest), while a kept timer moved to a later deadline only updates an atomic.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use tokio::time::{Instant, Sleep};

/// A timer kept across requests (in the connection's scratch, made on first use).
pub(super) type Kept = Option<Pin<Box<Sleep>>>;

/// Runs `fut` until `until`; `None` if the deadline came first.
pub(super) async fn within<F: Future>(
    kept: &mut Kept,
    until: Instant,
    fut: F,
) -> Option<F::Output> {
    let timer = match kept {
        Some(t) => {
            t.as_mut().reset(until);
            t
        }
        None => kept.insert(Box::pin(tokio::time::sleep_until(until))),
    };
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_kept_timer_cuts_the_wait_at_each_new_deadline() {
        let mut kept = None;
        let now = Instant::now();
        let slow = tokio::time::sleep(std::time::Duration::from_secs(10));
        assert_eq!(
            within(&mut kept, now + std::time::Duration::from_secs(1), slow).await,
            None
        );
        assert!(Instant::now() >= now + std::time::Duration::from_secs(1));
        // The same timer, fired once, still serves a later deadline and lets a quick
        // future finish first.
        let later = Instant::now() + std::time::Duration::from_secs(5);
        assert_eq!(within(&mut kept, later, async { 7 }).await, Some(7));
        let at = Instant::now();
        let slow = tokio::time::sleep(std::time::Duration::from_secs(10));
        assert_eq!(
            within(&mut kept, at + std::time::Duration::from_secs(2), slow).await,
            None
        );
        assert_eq!(Instant::now(), at + std::time::Duration::from_secs(2));
    }
}
