//! The test servers and PKI live in test-support (one copy for every crate's tests); this
//! module keeps the name `support` for elb-probe's and elb-check's tests.
#![allow(unused_imports)]

pub use test_support::http::*;
pub use test_support::pki::*;
