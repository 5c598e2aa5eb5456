#![no_main]
//! per-client limits table (bounded under any operations).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| elb_proxy_core::fuzzing::limits_table(data));
