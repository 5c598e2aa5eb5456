#![no_main]
//! elb-proxy admin socket command parser.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| elb_proxy_core::fuzzing::admin_command(data));
