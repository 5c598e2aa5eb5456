#![no_main]
//! See logic/chunked.rs: the same code runs in the crate's corpus-replay test.

#[path = "../logic/chunked.rs"]
mod logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logic::run(data));
