#![no_main]
//! Fuzzes the whole loader; see logic/parse.rs: the same code runs in the crate's
//! corpus-replay test.

#[path = "../logic/parse.rs"]
mod logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logic::run(data));
