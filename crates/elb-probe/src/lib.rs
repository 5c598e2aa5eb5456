//! The one HTTP(S)/unix-socket health probe (filled by the elb-probe work).
