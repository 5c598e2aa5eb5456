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
    let cli = match Cli::try_parse_from(vrrpd::cli::keepalived_argv(std::env::args_os())) {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(exit::usage(&e)),
    };
    if let Some(Command::Ctl(args)) = &cli.command {
        return ExitCode::from(run_ctl(args));
    }
    let args = &cli.daemon;
    if let Some(name) = &args.signum {
        return ExitCode::from(print_signum(name));
    }
    let notes = vrrpd::cli::flag_notes(args);
    if let Some(why) = &notes.refused {
        stdio::err(&format!("vrrpd: {why}"));
        return ExitCode::from(exit::FAILURE);
    }
    if let Err(e) = process_setup(args) {
        stdio::err(&format!("vrrpd: {e:#}"));
        return ExitCode::from(exit::FAILURE);
    }
    if let Some(log) = &args.config_test {
        return ExitCode::from(config_test(args, log));
    }
    if args.dump_config {
        return ExitCode::from(dump_config(args));
    }
    if let Err(e) = init_logging(args) {
        stdio::err(&format!("vrrpd: {e:#}"));
        return ExitCode::from(exit::FAILURE);
    }
    for w in &notes.warnings {
        tracing::warn!("{w}");
    }
    match run_daemon(args) {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(exit::daemon(&e))
        }
    }
}

/// `--signum=NAME`: keepalived's number for the signal function, or its error line.
fn print_signum(name: &str) -> u8 {
    match vrrpd::signals::signum(name) {
        Some(n) => {
            stdio::out(&n.to_string());
            exit::SUCCESS
        }
        None => {
            stdio::err(&format!("Unknown sigfunc {name}"));
            exit::FAILURE
        }
    }
}

/// What keepalived sets up before reading its file: network namespace (-s), umask (-u),
/// core dumps (-m/-M).
fn process_setup(args: &DaemonArgs) -> Result<()> {
    if let Some(ns) = &args.namespace {
        enter_netns(ns).with_context(|| format!("-s {ns}"))?;
    }
    if let Some(mask) = &args.umask {
        let bits = u32::from_str_radix(mask.trim_start_matches("0o"), 8)
            .ok()
            .filter(|b| *b <= 0o777)
            .with_context(|| format!("-u {mask}: not an octal umask"))?;
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(bits));
    }
    if args.core_dump || args.core_dump_pattern.is_some() {
        use nix::sys::resource::{RLIM_INFINITY, Resource, setrlimit};
        setrlimit(Resource::RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY)
            .context("-m: raising the core dump limit")?;
    }
    Ok(())
}

/// `-t[FILE]`: the verdict's lines to stderr (or FILE) and keepalived's exit class.
fn config_test(args: &DaemonArgs, log: &Path) -> u8 {
    let v = vrrpd::verdict::judge(args);
    if log == Path::new("-") {
        v.messages.iter().for_each(|m| stdio::err(m));
    } else {
        let text: String = v.messages.iter().map(|m| format!("{m}\n")).collect();
        if let Err(e) = std::fs::write(log, text) {
            stdio::err(&format!("vrrpd: -t{}: {e}", log.display()));
        }
    }
    exit::config_test(v.class)
}

/// `--dump-config`: the diagnostics to stderr, the typed model as JSON to stdout.
fn dump_config(args: &DaemonArgs) -> u8 {
    let loaded = vrrpd::verdict::load(args);
    loaded
        .diagnostics
        .iter()
        .for_each(|d| stdio::err(&d.to_string()));
    match loaded.config.map(|c| serde_json::to_string_pretty(&c)) {
        Some(Ok(json)) => {
            stdio::out(&json);
            exit::SUCCESS
        }
        _ => {
            stdio::err("vrrpd: configuration could not be loaded");
            exit::UNUSABLE
        }
    }
}

/// The daemon's loader: the same verdict as `-t`, its lines logged, its refusal an error.
fn load_for_daemon(args: &DaemonArgs, reload: bool) -> Result<vrrpd::spec::DaemonSpec> {
    let v = vrrpd::verdict::judge(args);
    for m in &v.messages {
        tracing::warn!("{m}");
    }
    let spec = v.into_runnable(&args.config, args.start_partial)?;
    if args.dump_conf
        && let Some(conf) = &spec.conf
    {
        let json = serde_json::to_string_pretty(conf.as_ref()).unwrap_or_default();
        tracing::info!(reload, "configuration dump (-d):\n{json}");
    }
    Ok(spec)
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

fn init_logging(args: &DaemonArgs) -> Result<()> {
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let default = if args.log_detail { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let (writer, ansi) = match &args.log_file {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("-g {}", path.display()))?;
            (BoxMakeWriter::new(std::sync::Mutex::new(f)), false)
        }
        None => (
            BoxMakeWriter::new(std::io::stderr),
            // Colours only for a person at a terminal, not in journald or captured logs.
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
        ),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // A log that cannot be written (stderr on a full disk, /dev/full, a closed pipe) is
        // lost, never fatal: by default tracing-subscriber reports the failure with
        // `eprintln!`, which panics when stderr itself fails, and would stop the daemon.
        .log_internal_errors(false)
        .with_ansi(ansi)
        .with_target(false);
    if args.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
    Ok(())
}

/// Enters /run/netns/`ns` (this thread, and the threads and sockets made after it).
fn enter_netns(ns: &str) -> Result<()> {
    let path = Path::new("/run/netns").join(ns);
    let f = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
        .context("entering the network namespace")
}

/// The file's `net_namespace NAME`: entered before any thread or socket is made, as keepalived
/// runs in it; `-s` wins. The arguments returned name it, so later loads check interfaces there.
fn enter_config_namespace(args: &DaemonArgs) -> Result<DaemonArgs> {
    let mut args = args.clone();
    if args.namespace.is_some() {
        return Ok(args);
    }
    let loaded = vrrpd::verdict::load(&args);
    if let Some(ns) = loaded.config.and_then(|c| c.net_namespace) {
        enter_netns(&ns).with_context(|| format!("net_namespace {ns}: cannot run there"))?;
        tracing::info!("running in network namespace {ns} (net_namespace)");
        args.namespace = Some(ns);
    }
    Ok(args)
}

fn run_daemon(args: &DaemonArgs) -> Result<()> {
    let args = &enter_config_namespace(args)?;
    let paths = RuntimePaths::from_args(args);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    write_pid_file(&paths.pid_file)?;
    let loader_args = args.clone();
    let loader: vrrpd::daemon::Loader =
        Box::new(move |reload| load_for_daemon(&loader_args, reload));
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
        json_file: paths.json_file.clone(),
        start_partial: args.start_partial,
        dont_release: args.dont_release,
        control_group,
        takeover_guard: Some(vrrpd::conf::seconds(args.takeover_guard)).filter(|d| !d.is_zero()),
        config_id: args.config_id.clone(),
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
