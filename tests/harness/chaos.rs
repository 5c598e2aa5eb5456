//! Seeded chaos in the lab: random sequences of link cuts, packet loss,
//! delay (where the kernel has netem), SIGKILL and SIGSTOP/SIGCONT of the VRRP daemons and of
//! elb-proxy, on a pair of vrrpd nodes, a mixed keepalived + vrrpd pair and three vrrpd
//! nodes, with the VIP's invariants checked on every look at the lab.
//!
//! Pure parts (the generator, the planner, the invariants, the counts) are separate from the
//! parts that drive the lab, and unit-tested without one. `CHAOS_SEED=N` replays a run's fault
//! plan; see [`engine::RunOptions::from_env`] for the other knobs.

pub mod client;
pub mod engine;
pub mod invariants;
pub mod lab;
pub mod plan;
pub mod report;
pub mod rng;
pub mod topology;

pub use engine::{RunOptions, run};
