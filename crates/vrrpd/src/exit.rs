//! The one place where vrrpd's outcomes become process exit statuses: keepalived's `-t`
//! classes for the config test, and plain codes for the daemon and `vrrpd ctl`.

/// Everything went as asked.
pub const SUCCESS: u8 = 0;
/// The daemon stopped on an error; `vrrpd ctl`: the daemon answered `error: ...`, or the
/// client could not start.
pub const FAILURE: u8 = 1;
/// `--dump-config`: the configuration could not be loaded; `vrrpd ctl`: the command was not
/// understood, or the daemon could not be reached or did not answer in time.
pub const UNUSABLE: u8 = 2;

/// `-t`: keepalived's exit class, unchanged (0 fine, 1 warnings, 2 a keyword missing its
/// argument, 4 unusable, 5 a missing interface), so scripts written for keepalived work.
pub fn config_test(class: u8) -> u8 {
    class
}

/// `vrrpd ctl`: whether the daemon accepted the command (`Ok(true)`), refused it (`Ok(false)`),
/// or could not be asked (`Err`).
pub fn ctl<E>(result: &Result<bool, E>) -> u8 {
    match result {
        Ok(true) => SUCCESS,
        Ok(false) => FAILURE,
        Err(_) => UNUSABLE,
    }
}

/// A command line clap could not read: keepalived's status 1 (never clap's 2, which
/// keepalived's `-t` uses for "missing parameter"); `--help` prints and exits 0.
pub fn usage(e: &clap::Error) -> u8 {
    let _ = e.print();
    match e.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => SUCCESS,
        _ => FAILURE,
    }
}

/// The daemon's end: a file refused at start exits with its `-t` class (as keepalived exits
/// on a configuration it cannot run), any other error with 1.
pub fn daemon(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<vrrpd::verdict::Refused>() {
        Some(r) if r.class != 0 => r.class,
        _ => FAILURE,
    }
}
