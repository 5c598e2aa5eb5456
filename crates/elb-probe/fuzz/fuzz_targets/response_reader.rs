//! Fuzzes elb-probe's response reader: status line, headers, chunked and
//! length-delimited bodies, early close, arbitrary splits and small limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    elb_probe::response::fuzz_reader(data);
});
