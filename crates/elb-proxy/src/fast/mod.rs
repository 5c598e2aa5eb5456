//! The HTTP/1.1 fast path for plain client → member traffic (listener `engine: fast`):
//! its own connection loop on `elb_http1` instead of hyper, because per-request machinery
//! (task hops, hyper's dispatch channel, header maps, copies) was the cost that made
//! elb-proxy slower than HAProxy per core (docs/benchmarks/elb-proxy.md). Routing,
//! balancing, passive health, retries, sticky sessions, drain, metrics and the access log
//! are the same core calls as on the hyper path; what it does not serve (`fallback`: TLS,
//! h2, Upgrade, CONNECT, HTTP/1.0, `Expect: 100-continue`, refused heads, ...) goes to
//! hyper, the connection handed over with its bytes through the strict gate.

mod answer;
mod body;
mod conn;
mod exchange;
mod fallback;
mod member;
pub mod pool;

pub use conn::{Served, serve};

/// Which engine serves plain HTTP/1.1 listeners when the config does not say: hyper,
/// unless the environment has `ELB_PROXY_ENGINE=fast` (so the whole test suite can run on
/// either engine). The fast path passes the elb-proxy suite, but one end-to-end failover
/// test (a balancer stopped and resumed every 0.3 s) still moves the VIP more often on it.
pub fn default_is_fast() -> bool {
    matches!(std::env::var("ELB_PROXY_ENGINE").as_deref(), Ok("fast"))
}
