#![no_main]
//! The codec against hyper's server-side HTTP/1.1 parser on the same bytes:
//! any disagreement in accept/reject or in the parsed head is a crash,
//! except the deliberate strictness differences named in `excused`.

#[path = "../logic/request_head.rs"]
mod request_logic;

#[path = "../logic/excused.rs"]
mod excused;
#[path = "../logic/hyper_side.rs"]
mod hyper_side;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    request_logic::run(data);
    excused::compare(data, hyper_side::parse(data));
});
