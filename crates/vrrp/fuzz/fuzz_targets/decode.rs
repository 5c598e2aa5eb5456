#![no_main]
//! VRRP decoding, v2/v3 over IPv4 and v3 over IPv6: no panic, and
//! encode(decode(x)) is a fixed point.

#[path = "../logic/decode.rs"]
mod logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logic::run(data));
