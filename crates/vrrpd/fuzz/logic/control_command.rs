//! The control command parser's invariants, shared by the fuzz target and the stable
//! corpus-replay test: any bytes give a command or an error, never a panic; a parsed
//! command's canonical line parses back to the same command; error messages stay short and
//! printable whatever the input.

use vrrpd::control::parse_command;

/// Checks one input; panics on a broken invariant.
pub fn run(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    match parse_command(line) {
        Ok(cmd) => {
            let canonical = cmd.to_string();
            assert_eq!(parse_command(&canonical), Ok(cmd), "{canonical:?}");
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.len() < 256, "{msg:?}");
            assert!(!msg.chars().any(char::is_control), "{msg:?}");
        }
    }
}
