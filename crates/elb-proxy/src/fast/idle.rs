//! Idle keep-alive connections kept without a task. A connection idle past the park
//! grace is put in an `IdleSet`: its parts in one box, its socket's readiness pointed at a
//! small waker, its idle deadline in one ordered set for all of them. One manager task
//! per set starts a new task for a connection when its next byte comes, closes it at its
//! deadline, and closes those whose listener stopped. An idle connection then costs its
//! parts and the socket's registration, not a task (tokio's task with the connection's
//! future was most of what an idle connection cost).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use tokio::time::Instant;

/// A connection that can wait in an `IdleSet`.
pub(crate) trait Parkable: Send + Sized + 'static {
    /// Registers `cx`'s waker for the connection's next byte (or its end); ready if
    /// something is there already.
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()>;
    /// Its listener stopped: close it instead of waiting.
    fn drained(&self) -> bool;
    /// It leaves the set (to be served again, or to be closed).
    fn unparked(&self);
    /// Serve it again, on a task of its own.
    fn resume(self);
}

/// Idle connections of one kind, and the manager that wakes, times out and closes them.
pub(crate) struct IdleSet<T> {
    inner: Mutex<Inner<T>>,
    manager: AtomicWaker,
    started: AtomicBool,
}

struct Inner<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    deadlines: BTreeSet<(Instant, u32)>,
    /// Slots whose connection has something to read.
    ready: Vec<u32>,
    /// A listener stopped: look for connections to close.
    drain_check: bool,
    /// A deadline earlier than the manager's timer was added.
    rearm: bool,
}

struct Slot<T> {
    /// Bumped when the slot is freed, so a late wake of an earlier connection is ignored.
    generation: u32,
    state: State<T>,
}

enum State<T> {
    Free,
    /// Being parked: the waker is registered, the connection not stored yet.
    Reserved {
        woken: bool,
    },
    Parked(Box<T>, Instant),
}

/// The waker a parked connection's socket holds.
struct Token<T: Parkable> {
    set: &'static IdleSet<T>,
    key: u32,
    generation: u32,
}

impl<T: Parkable> Wake for Token<T> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.set.woken(self.key, self.generation);
    }
}

impl<T: Parkable> IdleSet<T> {
    pub(crate) const fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                slots: Vec::new(),
                free: Vec::new(),
                deadlines: BTreeSet::new(),
                ready: Vec::new(),
                drain_check: false,
                rearm: false,
            }),
            manager: AtomicWaker::new(),
            started: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Parks `conn` until its next byte or `deadline` (then it is closed). Must run on the
    /// serving runtime (the manager is spawned on first use).
    pub(crate) fn park(&'static self, conn: T, deadline: Instant) {
        if !self.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(self.manage());
        }
        let (key, generation) = self.lock().reserve();
        let waker = Waker::from(Arc::new(Token {
            set: self,
            key,
            generation,
        }));
        if conn.poll_ready(&mut Context::from_waker(&waker)).is_ready() {
            self.lock().release(key);
            conn.resume();
            return;
        }
        let mut inner = self.lock();
        let slot = &mut inner.slots[key as usize];
        let woken = matches!(slot.state, State::Reserved { woken: true });
        slot.state = State::Parked(Box::new(conn), deadline);
        inner.deadlines.insert((deadline, key));
        let earliest = inner.deadlines.first() == Some(&(deadline, key));
        if woken {
            inner.ready.push(key);
        }
        inner.rearm |= earliest;
        drop(inner);
        if woken || earliest {
            self.manager.wake();
        }
    }

    /// A listener stopped: its parked connections are closed.
    pub(crate) fn listener_stopped(&self) {
        self.lock().drain_check = true;
        self.manager.wake();
    }

    /// How many connections are parked.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().deadlines.len()
    }

    fn woken(&self, key: u32, generation: u32) {
        let mut inner = self.lock();
        let Some(slot) = inner.slots.get_mut(key as usize) else {
            return;
        };
        if slot.generation != generation {
            return;
        }
        match &mut slot.state {
            State::Reserved { woken } => *woken = true,
            State::Parked(..) => {
                inner.ready.push(key);
                drop(inner);
                self.manager.wake();
            }
            State::Free => {}
        }
    }

    /// The manager: resumes, times out and closes parked connections.
    async fn manage(&'static self) {
        let far = || Instant::now() + std::time::Duration::from_secs(86_400);
        let timer = tokio::time::sleep_until(far());
        tokio::pin!(timer);
        loop {
            let (resume, close, next) = self.lock().due(Instant::now());
            for conn in close {
                conn.unparked();
            }
            for conn in resume {
                conn.unparked();
                conn.resume();
            }
            timer.as_mut().reset(next.unwrap_or_else(far));
            std::future::poll_fn(|cx| {
                self.manager.register(cx.waker());
                let inner = self.lock();
                if !inner.ready.is_empty() || inner.drain_check || inner.rearm {
                    return Poll::Ready(());
                }
                drop(inner);
                timer.as_mut().poll(cx)
            })
            .await;
        }
    }
}

impl<T: Parkable> Inner<T> {
    fn reserve(&mut self) -> (u32, u32) {
        let key = match self.free.pop() {
            Some(k) => k,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    state: State::Free,
                });
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 idle connections")
            }
        };
        let slot = &mut self.slots[key as usize];
        slot.state = State::Reserved { woken: false };
        (key, slot.generation)
    }

    /// Frees a slot; its connection, if parked, is returned.
    fn release(&mut self, key: u32) -> Option<Box<T>> {
        let slot = &mut self.slots[key as usize];
        slot.generation = slot.generation.wrapping_add(1);
        let taken = match std::mem::replace(&mut slot.state, State::Free) {
            State::Parked(conn, deadline) => {
                self.deadlines.remove(&(deadline, key));
                Some(conn)
            }
            _ => None,
        };
        self.free.push(key);
        taken
    }

    /// What is due at `now`: connections to resume, connections to close (deadline
    /// passed, listener stopped), and the next deadline.
    #[allow(clippy::type_complexity)]
    fn due(&mut self, now: Instant) -> (Vec<Box<T>>, Vec<Box<T>>, Option<Instant>) {
        self.rearm = false;
        let mut resume = Vec::new();
        for key in std::mem::take(&mut self.ready) {
            if matches!(self.slots[key as usize].state, State::Parked(..)) {
                resume.extend(self.release(key));
            }
        }
        let mut close = Vec::new();
        while let Some(&(deadline, key)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            close.extend(self.release(key));
        }
        if std::mem::take(&mut self.drain_check) {
            let drained: Vec<u32> = (0..self.slots.len() as u32)
                .filter(|&k| {
                    matches!(&self.slots[k as usize].state, State::Parked(c, _) if c.drained())
                })
                .collect();
            for key in drained {
                close.extend(self.release(key));
            }
        }
        let next = self.deadlines.first().map(|&(d, _)| d);
        (resume, close, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;

    /// A real accepted socket; what the set did with it is reported on `out`.
    struct Conn {
        stream: TcpStream,
        drained: bool,
        out: mpsc::UnboundedSender<&'static str>,
    }

    impl Parkable for Conn {
        fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
            self.stream.poll_read_ready(cx).map(|_| ())
        }
        fn drained(&self) -> bool {
            self.drained
        }
        fn unparked(&self) {}
        fn resume(self) {
            let _ = self.out.send("resumed");
        }
    }

    impl Drop for Conn {
        fn drop(&mut self) {
            let _ = self.out.send("dropped");
        }
    }

    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        // As the fast path leaves a socket it parks: a read found nothing, so readiness is
        // clear (a fresh socket is reported readable once).
        let mut probe = [0u8; 1];
        let r = server.try_read(&mut probe);
        assert!(matches!(r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
        (client, server)
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<&'static str>) -> &'static str {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("the set acted within 5 s")
            .unwrap()
    }

    #[tokio::test]
    async fn a_parked_connection_is_resumed_by_its_next_byte_and_closed_at_its_deadline() {
        static SET: IdleSet<Conn> = IdleSet::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (mut client, server) = pair().await;
        let far = Instant::now() + Duration::from_secs(60);
        SET.park(
            Conn {
                stream: server,
                drained: false,
                out: tx.clone(),
            },
            far,
        );
        assert_eq!(SET.len(), 1);
        client.write_all(b"G").await.unwrap();
        assert_eq!(next(&mut rx).await, "resumed");
        assert_eq!(next(&mut rx).await, "dropped");
        assert_eq!(SET.len(), 0);
        // Nothing comes: closed at the deadline, not before.
        let (_quiet, server) = pair().await;
        let start = Instant::now();
        SET.park(
            Conn {
                stream: server,
                drained: false,
                out: tx.clone(),
            },
            start + Duration::from_millis(200),
        );
        assert_eq!(next(&mut rx).await, "dropped");
        assert!(Instant::now() >= start + Duration::from_millis(200));
        assert_eq!(SET.len(), 0);
    }

    #[tokio::test]
    async fn a_stopped_listener_closes_only_its_own_parked_connections() {
        static SET: IdleSet<Conn> = IdleSet::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_a, server_a) = pair().await;
        let (_b, server_b) = pair().await;
        let far = Instant::now() + Duration::from_secs(60);
        SET.park(
            Conn {
                stream: server_a,
                drained: true,
                out: tx.clone(),
            },
            far,
        );
        SET.park(
            Conn {
                stream: server_b,
                drained: false,
                out: tx.clone(),
            },
            far,
        );
        SET.listener_stopped();
        assert_eq!(next(&mut rx).await, "dropped");
        let end = Instant::now() + Duration::from_secs(5);
        while SET.len() != 1 {
            assert!(
                Instant::now() < end,
                "the drained connection is still parked"
            );
            tokio::task::yield_now().await;
        }
        // The other one still waits and still wakes.
        drop(_b);
        assert_eq!(next(&mut rx).await, "resumed");
    }
}
