//! Shared harness for elb-ha's end-to-end tests and the demo: where the built binaries are,
//! and how to start the pieces of the seed deployment inside a [`netlab::Lab`].

pub mod bins;
pub mod chaos;
pub mod ecmp;
pub mod hostile;
pub mod sampler;
pub mod seed;
pub mod services;
pub mod timeline;
