//! The HTTP/1.1 fast path for plain client → member traffic (listener `engine: fast`):
//! its own connection loop on `elb_http1` instead of hyper, because per-request machinery
//! (task hops, hyper's dispatch channel, header maps, copies) was the cost that made
//! elb-proxy slower than HAProxy per core (docs/benchmarks/elb-proxy.md). Routing,
//! balancing, passive health, retries, sticky sessions, drain, per-client rates, metrics
//! and the access log are the same core calls as on the hyper path, and a request is
//! recorded through the same `RequestTrace`; what this path does not carry (TLS, h2,
//! Upgrade, refused heads, ...: `fallback`) goes to hyper behind the strict gate, the
//! connection handed over with its bytes.

mod answer;
mod body;
mod conn;
mod deadline;
mod exchange;
mod fallback;
pub(crate) mod idle;
mod member;
pub mod pool;
mod record;

pub use conn::{Served, serve, trim_scratches};

/// Which engine serves plain HTTP/1.1 listeners when the config does not say: the fast
/// path, unless the environment has `ELB_PROXY_ENGINE=hyper` (so the whole test suite runs
/// on either; `make test` runs elb-proxy's on both).
pub fn default_is_fast() -> bool {
    !matches!(std::env::var("ELB_PROXY_ENGINE").as_deref(), Ok("hyper"))
}
