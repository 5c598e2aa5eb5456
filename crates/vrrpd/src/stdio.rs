//! Printing that never stops the program. `println!`/`eprintln!` panic when the stream fails
//! (stdout or stderr on a full disk, `/dev/full`, a closed pipe); a daemon, or a command
//! whose exit code scripts rely on, must lose the text rather than die with code 101.

use std::io::Write;

/// One line to stderr; a failed write is ignored.
pub fn err(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// One line to stdout; a failed write is ignored.
pub fn out(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}
