#![no_main]
//! strict HTTP/1.1 request gate (split-invariant verdicts).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| elb_proxy_core::fuzzing::request_gate(data));
