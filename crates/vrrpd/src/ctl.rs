//! `vrrpd ctl WORDS...`: the control module's client on a small runtime, exit codes for scripts.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{CtlArgs, ctl_socket};

/// How long the client waits for the daemon's answer.
const TIMEOUT: Duration = Duration::from_secs(35);

pub fn run(args: &CtlArgs) -> ExitCode {
    let path = ctl_socket(args);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::say::err(&format!("vrrpd ctl: {e}"));
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout();
    match rt.block_on(crate::control::ctl(&path, &args.words, TIMEOUT, &mut out)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            crate::say::err(&format!("vrrpd ctl: {e}"));
            ExitCode::from(2)
        }
    }
}
