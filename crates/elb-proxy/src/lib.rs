//! elb-proxy: the L7 load balancer of elb-ha. The library holds everything; `main.rs` is a
//! thin shell (CLI, runtime, signals). Pure modules — `config`, `route`, `balance`,
//! `headers`, `admin::command` — take time and randomness as parameters and are tested
//! without sockets; `server`, `proxy`, `upstream`, `health_check`, `admin` and `lifecycle`
//! only move bytes around them.

#![forbid(unsafe_code)]

pub mod access_log;
pub mod admin;
pub mod balance;
pub mod body;
pub mod config;
pub mod fuzzing;
pub mod headers;
pub mod health_check;
pub mod lifecycle;
pub mod listeners;
pub mod metrics;
pub mod park;
pub mod proxy;
pub mod route;
pub mod runtime;
pub mod server;
pub mod stats;
pub mod tls;
pub mod upstream;
