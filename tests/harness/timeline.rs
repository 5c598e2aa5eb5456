//! The demos' timeline: each line stamped with the seconds since the demo started, and
//! command output indented under the line that ran it.

use std::time::Instant;

/// Prints one timeline line, stamped with the time since `t0`.
pub fn say(t0: Instant, text: &str) {
    println!("[{:>6.2}s] {text}", t0.elapsed().as_secs_f64());
}

/// Indents a command's output so it reads as part of the timeline line above it.
pub fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("           | {l}\n"))
        .collect()
}
