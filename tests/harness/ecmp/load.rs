//! Client traffic to the service address from many source addresses: one request per new
//! connection (the spread and the failover measures), and long-lived keep-alive
//! connections (what a change in the set of balancers breaks).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::sampler::Sampler;

use super::topology::{BALANCERS, SERVICE, SERVICE_PORT, balancer_of_backend_addr, client_source};

/// Opens a connection to the service from `source` (an address of the client's AnyIP range).
pub fn connect_from(source: Ipv4Addr, timeout: Duration) -> Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SockAddr::from(SocketAddr::new(IpAddr::V4(source), 0)))?;
    let service = SockAddr::from(SocketAddr::new(IpAddr::V4(SERVICE), SERVICE_PORT));
    socket
        .connect_timeout(&service, timeout)
        .with_context(|| format!("connect from {source}"))?;
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends one GET on `conn` and reads the answer (status 200, Content-Length body); returns
/// the balancer that carried it (named by the member's "via ADDR").
pub fn request(conn: &mut BufReader<TcpStream>, close: bool) -> Result<usize> {
    let connection = if close { "close" } else { "keep-alive" };
    write!(
        conn.get_mut(),
        "GET / HTTP/1.1\r\nHost: service\r\nConnection: {connection}\r\n\r\n"
    )?;
    let mut status = String::new();
    conn.read_line(&mut status)?;
    if !status.starts_with("HTTP/1.1 200") {
        bail!("answer was {:?}", status.trim_end());
    }
    let mut length = None;
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            bail!("connection closed inside the answer's head");
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = vec![0; length.context("answer without Content-Length")?];
    conn.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body);
    let via = body
        .split_whitespace()
        .skip_while(|w| *w != "via")
        .nth(1)
        .and_then(|a| a.parse::<Ipv4Addr>().ok())
        .and_then(balancer_of_backend_addr);
    via.with_context(|| format!("body names no balancer: {body:?}"))
}

/// One request on a fresh connection from `source`.
pub fn one_request(source: Ipv4Addr, timeout: Duration) -> Result<usize> {
    let mut conn = BufReader::new(connect_from(source, timeout)?);
    request(&mut conn, true)
}

/// How many of `total` new connections each balancer served.
#[derive(Debug, Clone, Default)]
pub struct Spread {
    pub served: [usize; BALANCERS],
    pub failed: usize,
}

impl Spread {
    pub fn total(&self) -> usize {
        self.served.iter().sum::<usize>() + self.failed
    }

    /// The largest deviation of a balancer's share from an even split over `among`
    /// balancers, as a fraction of the even share (0.1 = 10 %).
    pub fn worst_deviation(&self, among: &[usize]) -> f64 {
        let ok: usize = among.iter().map(|&k| self.served[k]).sum();
        let even = ok as f64 / among.len() as f64;
        among
            .iter()
            .map(|&k| ((self.served[k] as f64 - even) / even).abs())
            .fold(0.0, f64::max)
    }
}

/// `count` requests, each on a new connection from the next source address (run inside the
/// client's namespace).
pub fn spread(count: usize, timeout: Duration) -> Spread {
    let mut s = Spread::default();
    for i in 0..count {
        match one_request(client_source(i), timeout) {
            Ok(k) => s.served[k] += 1,
            Err(_) => s.failed += 1,
        }
    }
    s
}

/// One request of a [`NewConnections`] run.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Instant,
    pub served_by: Result<usize, String>,
}

/// A background client opening a new connection (from a new source address) for each
/// request, at most one every `period`, until stopped or `max` elapsed.
pub type NewConnections = Sampler<Sample>;

impl NewConnections {
    pub fn start(client_netns: &str, period: Duration, timeout: Duration, max: Duration) -> Self {
        Sampler::spawn(client_netns, period, max, move |i, at| Sample {
            at,
            served_by: one_request(client_source(i), timeout).map_err(|e| format!("{e:#}")),
        })
    }
}

/// What happened to new connections after an event at `from`: requests that failed or were
/// served by `gone`, and the time from `from` to the start of the last of them (after which
/// every new connection went to the others).
#[derive(Debug, Clone)]
pub struct Switch {
    pub failed: usize,
    pub to_gone: usize,
    pub total: usize,
    pub last_bad: Option<Duration>,
    /// The distinct reasons of the failures (for a report).
    pub errors: Vec<String>,
}

pub fn switch_after(samples: &[Sample], from: Instant, gone: usize) -> Switch {
    let after: Vec<&Sample> = samples.iter().filter(|s| s.at >= from).collect();
    let bad = |s: &&Sample| s.served_by.as_ref().map_or(true, |&k| k == gone);
    Switch {
        failed: after.iter().filter(|s| s.served_by.is_err()).count(),
        to_gone: after.iter().filter(|s| s.served_by == Ok(gone)).count(),
        total: after.len(),
        last_bad: after.iter().rev().find(|s| bad(s)).map(|s| s.at - from),
        // The reason without the per-connection source address ("connect from A: why").
        errors: after
            .iter()
            .filter_map(|s| s.served_by.as_ref().err())
            .map(|e| e.rsplit(": ").next().unwrap_or(e).to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

/// Moves the calling thread into network namespace `netns` (a thread of the client).
pub fn enter_netns(netns: &str) {
    let file = std::fs::File::open(format!("/run/netns/{netns}")).expect("netns");
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

/// Long-lived keep-alive connections, each sending a request every `period` in turn; a
/// connection that fails once is counted broken and not reopened.
pub struct LongLived {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<LongLivedState>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Clone, Default)]
pub struct LongLivedState {
    /// Per connection: the balancer of its first answer, and whether it broke.
    pub first: Vec<Option<usize>>,
    pub broken: Vec<bool>,
    /// Why connections broke, each reason once.
    pub errors: std::collections::BTreeSet<String>,
    pub requests: usize,
    /// Set once every connection has had its first answer.
    pub ready: bool,
}

impl LongLived {
    pub fn start(client_netns: &str, count: usize, period: Duration, max: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(LongLivedState {
            first: vec![None; count],
            broken: vec![false; count],
            ..Default::default()
        }));
        let netns = client_netns.to_string();
        let thread = {
            let (stop, state) = (stop.clone(), state.clone());
            std::thread::spawn(move || {
                enter_netns(&netns);
                let timeout = Duration::from_secs(2);
                let mut conns: Vec<Option<BufReader<TcpStream>>> = (0..count)
                    .map(|i| {
                        // A connect that fails under load is retried: only an established
                        // connection that breaks later counts.
                        (0..5)
                            .find_map(|_| connect_from(client_source(i), timeout).ok())
                            .map(BufReader::new)
                    })
                    .collect();
                // A connection that never opened counts as broken from the start.
                state.lock().expect("state").broken = conns.iter().map(Option::is_none).collect();
                let end = Instant::now() + max;
                while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                    let round = Instant::now();
                    for (i, slot) in conns.iter_mut().enumerate() {
                        let Some(conn) = slot else { continue };
                        let outcome = request(conn, false);
                        let mut st = state.lock().expect("state");
                        st.requests += 1;
                        match outcome {
                            Ok(k) => {
                                st.first[i].get_or_insert(k);
                            }
                            Err(e) => {
                                st.errors.insert(e.to_string());
                                st.broken[i] = true;
                                *slot = None;
                            }
                        }
                    }
                    {
                        let mut st = state.lock().expect("state");
                        st.ready = st
                            .first
                            .iter()
                            .zip(&st.broken)
                            .all(|(f, b)| f.is_some() || *b);
                    }
                    if let Some(pause) = (round + period).checked_duration_since(Instant::now()) {
                        std::thread::sleep(pause); // pacing of the load, not synchronisation
                    }
                }
            })
        };
        Self {
            stop,
            state,
            thread: Some(thread),
        }
    }

    pub fn state(&self) -> LongLivedState {
        self.state.lock().expect("state").clone()
    }

    /// Waits until every connection has answered once (polled every 10 ms), or `timeout`.
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.state().ready {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Waits until `rounds` more full rounds of requests have been sent (so every surviving
    /// connection has been exercised after a change), or `timeout`.
    pub fn wait_rounds(&self, rounds: usize, timeout: Duration) -> bool {
        let st = self.state();
        let alive = st.broken.iter().filter(|b| !**b).count();
        let target = st.requests + rounds * alive;
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            let st = self.state();
            let alive = st.broken.iter().filter(|b| !**b).count();
            if st.requests >= target || alive == 0 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    pub fn finish(mut self) -> LongLivedState {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.state()
    }
}

impl Drop for LongLived {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The failures of new connections around a planned withdrawal at `switched` (started at
/// `from`), by kind: connections refused or never answered at connect (what a drain must
/// never cause: the drained balancer still accepts what the router sends), requests reset
/// while in flight across the switch (a packet of theirs reached another balancer, which
/// knows no such connection: stateless ECMP cannot avoid it), and failures of requests
/// started after the switch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainFailures {
    pub refused: usize,
    pub reset_across_switch: usize,
    pub after_switch: usize,
}

pub fn drain_failures(samples: &[Sample], from: Instant, switched: Instant) -> DrainFailures {
    let mut f = DrainFailures::default();
    for s in samples.iter().filter(|s| s.at >= from) {
        let Err(e) = &s.served_by else { continue };
        if s.at >= switched {
            f.after_switch += 1;
        } else if e.starts_with("connect from") {
            f.refused += 1;
        } else {
            f.reset_across_switch += 1;
        }
    }
    f
}
