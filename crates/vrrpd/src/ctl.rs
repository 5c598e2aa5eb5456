//! `vrrpd ctl WORDS...`: send one command line to the control socket, print the answer.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{CtlArgs, ctl_socket};

pub fn run(args: &CtlArgs) -> ExitCode {
    let path = ctl_socket(args);
    let line = args.words.join(" ");
    match exchange(&path, &line) {
        Ok(answer) => {
            print!("{answer}");
            if answer.starts_with("error") {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("vrrpd ctl: {}: {e}", path.display());
            ExitCode::from(2)
        }
    }
}

fn exchange(path: &std::path::Path, line: &str) -> std::io::Result<String> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(line.as_bytes())?;
    s.write_all(b"\n")?;
    s.shutdown(std::net::Shutdown::Write)?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}
