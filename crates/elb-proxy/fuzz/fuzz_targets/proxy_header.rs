#![no_main]
//! PROXY protocol v1/v2 header parser.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| elb_proxy_core::fuzzing::proxy_header(data));
