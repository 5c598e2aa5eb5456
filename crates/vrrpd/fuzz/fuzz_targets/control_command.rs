#![no_main]
//! Fuzzes the control socket's command parser; see logic/control_command.rs: the same code
//! runs in the crate's corpus-replay test.

#[path = "../logic/control_command.rs"]
mod logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logic::run(data));
