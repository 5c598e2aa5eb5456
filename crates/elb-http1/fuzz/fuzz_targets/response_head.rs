#![no_main]
//! See logic/response_head.rs: the same code runs in the crate's corpus-replay test.

#[path = "../logic/response_head.rs"]
mod logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logic::run(data));
