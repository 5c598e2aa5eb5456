#![no_main]
//! See logic/request_head.rs: the same code runs in the crate's corpus-replay test.

#[path = "../logic/request_head.rs"]
mod logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logic::run(data));
