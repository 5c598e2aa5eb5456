//! vrrpd binary: CLI dispatch, logging, pid file, exit statuses, and the tokio runtime around the daemon.

#![forbid(unsafe_code)]

mod exit;
mod stdio;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use vrrpd::cli::{Cli, Command, CtlArgs, DaemonArgs, RuntimePaths};
use vrrpd::daemon::{Daemon, Options};

/// How long `vrrpd ctl` waits for the daemon's answer.
const CTL_TIMEOUT: Duration = Duration::from_secs(35);

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Ctl(args)) = &cli.command {
        return ExitCode::from(run_ctl(args));
    }
    init_logging(&cli.daemon);
    if cli.daemon.config_test {
        let checked = vrrpd::conf::config_test(&cli.daemon);
        checked.messages.iter().for_each(|m| stdio::err(m));
        return ExitCode::from(exit::config_test(checked.outcome));
    }
    if cli.daemon.dump_config {
        let checked = vrrpd::conf::dump_config(&cli.daemon);
        checked.messages.iter().for_each(|m| stdio::err(m));
        return match checked.outcome {
            Ok(json) => {
                stdio::out(&json);
                ExitCode::from(exit::SUCCESS)
            }
            Err(e) => {
                stdio::err(&format!("vrrpd: {e:#}"));
                ExitCode::from(exit::UNUSABLE)
            }
        };
    }
    match run_daemon(&cli.daemon) {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}

/// `vrrpd ctl WORDS...`: the control client on a small runtime; the answer to stdout.
fn run_ctl(args: &CtlArgs) -> u8 {
    let path = vrrpd::cli::ctl_socket(args);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            stdio::err(&format!("vrrpd ctl: {e}"));
            return exit::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    let result = rt.block_on(vrrpd::control::ctl(
        &path,
        &args.words,
        CTL_TIMEOUT,
        &mut out,
    ));
    if let Err(e) = &result {
        stdio::err(&format!("vrrpd ctl: {e}"));
    }
    exit::ctl(&result)
}

fn init_logging(args: &DaemonArgs) {
    let default = if args.log_detail { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log that cannot be written (stderr on a full disk, /dev/full, a closed pipe) is
        // lost, never fatal: by default tracing-subscriber reports the failure with
        // `eprintln!`, which panics when stderr itself fails, and would stop the daemon.
        .log_internal_errors(false)
        // Colours only for a person at a terminal, not in journald or captured logs.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    if args.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn run_daemon(args: &DaemonArgs) -> Result<()> {
    let paths = RuntimePaths::from_args(args);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    write_pid_file(&paths.pid_file)?;
    let loader_args = args.clone();
    let loader: vrrpd::daemon::Loader =
        Box::new(move |reload| vrrpd::conf::load_spec(&loader_args, reload));
    let control_group = match &args.control_group {
        None => None,
        Some(name) => Some(
            nix::unistd::Group::from_name(name)
                .with_context(|| format!("looking up group {name}"))?
                .with_context(|| format!("--control-group: no group named {name}"))?
                .gid,
        ),
    };
    let opts = Options {
        control_socket: Some(paths.control_socket.clone()),
        data_file: paths.data_file.clone(),
        stats_file: paths.stats_file.clone(),
        dont_release: args.dont_release,
        control_group,
        takeover_guard: Some(vrrpd::conf::seconds(args.takeover_guard)).filter(|d| !d.is_zero()),
    };
    let metrics = (args.metrics_listen, paths.control_socket.clone());
    let result = rt.block_on(async move {
        let _metrics = vrrpd::metrics::start(metrics.0, &metrics.1).await?;
        let daemon = Daemon::start(loader, opts).await?;
        daemon.run().await
    });
    let _ = std::fs::remove_file(&paths.pid_file);
    result
}

fn write_pid_file(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating directory {}", dir.display()))?;
    }
    std::fs::write(path, format!("{}\n", std::process::id()))
        .with_context(|| format!("writing pid file {}", path.display()))
}
