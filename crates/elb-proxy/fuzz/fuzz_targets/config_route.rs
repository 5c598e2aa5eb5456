#![no_main]
//! elb-proxy config loading (YAML, validation) and route matching.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| elb_proxy_core::fuzzing::config_and_route(data));
