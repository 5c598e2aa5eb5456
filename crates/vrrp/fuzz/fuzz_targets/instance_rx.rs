#![no_main]
//! A stream of timed packets into real instances: no panic, and invalid
//! packets never move a timer or the state.

#[path = "../logic/instance_rx.rs"]
mod logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logic::run(data));
