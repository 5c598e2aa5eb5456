//! elb-proxy: the L7 load balancer of elb-ha, the I/O shell around `elb_proxy_core` (config
//! model and validation, routing, balancing, header rules, admin grammar, request errors).
//! `main.rs` is a thin shell (CLI, tokio runtime, signals); `server`, `proxy`, `relay`,
//! `upstream`, `health_check`, `admin` and `lifecycle` move bytes around the core's decisions,
//! and `snapshot` holds the running form of one loaded config.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod access_log;
pub mod admin;
pub mod body;
pub mod client_cert;
pub mod client_limits;
pub mod dns;
pub mod fast;
mod forward;
pub mod gate_io;
pub mod handover;
pub mod haproxy_stat;
pub mod health_check;
pub mod lifecycle;
pub mod listeners;
mod member_queue;
pub mod member_tls;
pub mod metrics;
pub mod mirror;
pub mod park;
pub mod proxy;
mod proxy_header;
mod refusal_log;
mod relay;
pub mod request_id;
mod rewrite_io;
pub mod running;
pub mod server;
pub mod shared;
pub mod snapshot;
pub mod stats;
pub mod status_page;
pub mod tls;
mod tls_check;
pub mod trace;
pub mod traffic;
pub mod upstream;
