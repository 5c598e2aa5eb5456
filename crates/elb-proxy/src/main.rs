//! elb-proxy binary: loads the config, starts listeners, health checks, admin socket and
//! metrics, and handles signals. `elb-proxy ctl ...` is the admin socket client.

// The unsafe uses are mimalloc's `mi_collect` (below) and taking ownership of sockets
// received from the process an upgrade replaces (`takeover`), allowed where they are.
#![deny(unsafe_code)]

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write as _};

use elb_proxy::shared::Shared;
use elb_proxy::{admin, health_check, lifecycle, tls};
use elb_proxy_core::config::{self, ValidConfig};

mod takeover;

/// mimalloc: per request hyper frees and allocates 8 KiB read buffers (header values borrow
/// the old one), which glibc malloc serves slowly (consolidation); measured in
/// docs/benchmarks/elb-proxy.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's own API (linked in through the `mimalloc` crate's static library).
// SAFETY: the signature matches mimalloc's `void mi_collect(bool force)` (mimalloc.h).
#[allow(unsafe_code)]
unsafe extern "C" {
    /// Frees what mimalloc holds for reuse; with `force`, returns it to the OS.
    fn mi_collect(force: bool);
}

/// Once a second: shrinks member pools that hold more idle connections than the load used
/// (`Pool::reap`) and the fast engine's free request scratches no request took, and, when
/// connections were parked or pooled ones closed or scratches dropped since the last look,
/// gives the freed memory back to the OS. mimalloc keeps freed pages for reuse and
/// only returns them during later allocations, so after a burst of clients goes idle the
/// process would otherwise keep its peak size.
async fn maintenance(shared: Arc<Shared>) {
    let mut last_parks = 0;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let reaped: usize = shared
            .snapshot
            .load()
            .clusters
            .iter()
            .flat_map(|c| c.members.iter())
            .map(|m| m.pool.reap())
            .sum::<usize>()
            + elb_proxy::fast::pool::reap(shared.snapshot.load().config.timeouts.upstream_idle.0)
            // The scratches of the thread this runs on (all of them with `workers: 1`).
            + elb_proxy::fast::trim_scratches();
        let parks = shared
            .stats
            .parks_total
            .load(std::sync::atomic::Ordering::Relaxed);
        if parks != last_parks || reaped > 0 {
            last_parks = parks;
            #[allow(unsafe_code)]
            // SAFETY: mi_collect only walks the calling thread's heap and the shared
            // segment caches; it has no preconditions.
            unsafe {
                mi_collect(true)
            };
        }
    }
}

const DEFAULT_CONFIG: &str = "/etc/elb-proxy/elb-proxy.yaml";

/// L7 HTTP load balancer with its own health service (/services/EchoProxy), an admin
/// socket in the style of HAProxy's stats socket, and Prometheus metrics.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Config file (YAML).
    #[arg(short = 'c', long, global = true, default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    /// Validate the config (and load its certificates), print the result and exit:
    /// 0 valid, 1 invalid.
    #[arg(long, short = 't')]
    check: bool,
    /// Worker threads, overriding `workers` in the config (1 = single-threaded).
    #[arg(long)]
    threads: Option<usize>,
    /// Log filter (tracing EnvFilter syntax), overriding RUST_LOG.
    #[arg(long)]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Send one command to a running elb-proxy's admin socket and print the answer
    /// (e.g. `elb-proxy ctl show stat`, `elb-proxy ctl disable server app/as1`).
    Ctl {
        /// Admin socket; defaults to `admin.socket` of the config file.
        #[arg(long, short = 's')]
        socket: Option<PathBuf>,
        /// The command words.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
}

fn main() -> std::process::ExitCode {
    // No transparent huge pages: each touched 2 MiB would become resident at once (6 MB more
    // RSS at start, measured in docs/benchmarks/elb-proxy.md). mimalloc is built without its
    // MADV_HUGEPAGE (`no_thp`), which covers THP `madvise`; this covers THP `always`.
    let _ = nix::sys::prctl::set_thp_disable(true);
    let cli = Cli::parse();
    // The client logs nothing: its one line of output or error is all an operator reads.
    if let Some(Cmd::Ctl { socket, words }) = cli.command {
        return ctl(&cli.config, socket, &words);
    }
    let filter = cli
        .log_level
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into());
    // A log line that cannot be written (stderr on a full disk, a closed pipe) is dropped:
    // tracing-subscriber's default reports it with `eprintln!`, which panics when stderr
    // itself fails, and that killed the process (exit 101) before it served anything.
    tracing_subscriber::fmt()
        .log_internal_errors(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            let _ = writeln!(std::io::stderr(), "elb-proxy: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<std::process::ExitCode> {
    if cli.check {
        return Ok(match check(&cli.config) {
            Ok(()) => {
                let _ = writeln!(
                    std::io::stdout(),
                    "{}: configuration is valid",
                    cli.config.display()
                );
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "{e}");
                std::process::ExitCode::FAILURE
            }
        });
    }
    let config = config::load(&cli.config).map_err(anyhow::Error::msg)?;
    elb_proxy::member_tls::check(&config, &cli.config).map_err(anyhow::Error::msg)?;
    let workers = cli.threads.unwrap_or(config.workers);
    let runtime = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if workers > 1 {
            b.worker_threads(workers);
        }
        b.enable_all().build()
    }
    .context("building the tokio runtime")?;
    runtime.block_on(serve(config, cli.config))?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// `--check`: the config and every certificate it names.
fn check(path: &std::path::Path) -> Result<(), String> {
    let config = config::load(path).map_err(|e| e.to_string())?;
    elb_proxy::member_tls::check(&config, path)?;
    for l in &config.listeners {
        if let Some(t) = &l.tls {
            let loaded = tls::server_config(t)
                .map_err(|e| format!("{}: listener {}: {e}", path.display(), l.address))?;
            for w in loaded.warnings {
                eprintln!("warning: listener {}: {w}", l.address);
            }
        }
    }
    if !config.member_names().is_empty() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("building the resolver's runtime: {e}"))?;
        // The resolver's own log lines are for the daemon; `--check` prints warnings only.
        let warnings = tracing::dispatcher::with_default(&tracing::Dispatch::none(), || {
            runtime.block_on(elb_proxy::dns::check_names(&config))
        });
        for w in warnings {
            eprintln!("warning: {}: {w}", path.display());
        }
    }
    Ok(())
}

/// Binds the admin socket, if the config has one.
fn bind_admin(config: &config::Config) -> Result<Option<ctl_socket::Server>> {
    Ok(match &config.admin {
        Some(a) => {
            let mode = u32::from_str_radix(a.mode.trim_start_matches("0o"), 8).unwrap_or(0o600);
            Some(
                admin::bind(&a.socket, mode)
                    .with_context(|| format!("admin socket {}", a.socket.display()))?,
            )
        }
        None => None,
    })
}

async fn serve(config: ValidConfig, path: PathBuf) -> Result<()> {
    let upgrade_socket = config.upgrade_socket.clone();
    let admin_path = config.admin.as_ref().map(|a| a.socket.clone());
    let taken = match &upgrade_socket {
        Some(p) => takeover::take_over(p).context("taking over from the running elb-proxy")?,
        None => None,
    };
    // While the old process runs it holds the admin socket: bound after the hand-over.
    let mut admin_listener = if taken.is_none() {
        bind_admin(&config)?
    } else {
        None
    };
    let access_log = lifecycle::open_access_log(&config).map_err(anyhow::Error::msg)?;
    let shared = Shared::new(config, path);
    elb_proxy::dns::start(&shared).await;
    if let Some(t) = &taken {
        tracing::info!(
            sockets = t.sockets.len(),
            "taking over the listening sockets of the running process"
        );
    }
    let taken = taken.map(|mut t| {
        shared.listeners.inherit(std::mem::take(&mut t.sockets));
        t
    });
    let prepared = shared
        .listeners
        .prepare(&shared.snapshot.load().config)
        .context("listeners")?;
    shared.listeners.commit(prepared, &shared);
    if let Some(t) = taken {
        t.finish()?;
        // systemd follows the service's main process to this one (NotifyAccess=all).
        lifecycle::notify(&[sd_notify::NotifyState::MainPid(std::process::id())]);
        admin_listener = bind_admin(&shared.snapshot.load().config)?;
    }
    if let Some(p) = upgrade_socket {
        tokio::spawn(elb_proxy::handover::serve(
            shared.clone(),
            p,
            admin_path.clone(),
        ));
    }
    shared.access_log.store(access_log);
    health_check::start(&shared, &shared.snapshot.load_full());
    let mut tasks = Vec::new();
    tokio::spawn(maintenance(shared.clone()));
    elb_proxy::status_page::spawn_sampler(shared.clone());
    if let Some(l) = admin_listener {
        tasks.push(tokio::spawn(admin::run(l, shared.clone())));
    }
    // Handlers first: a SIGTERM that arrives right after READY must drain, not kill.
    let handlers = SignalHandlers::install()?;
    lifecycle::notify(&[sd_notify::NotifyState::Ready]);
    tracing::info!(pid = std::process::id(), "elb-proxy ready");
    signals(&shared, handlers).await?;
    if shared.handed_over.load(std::sync::atomic::Ordering::SeqCst) {
        lifecycle::stop_handed_over(&shared).await;
    } else {
        lifecycle::stop(&shared).await;
    }
    shared.listeners.join_all().await;
    for t in tasks {
        let _ = t.await;
    }
    tracing::info!("elb-proxy stopped");
    Ok(())
}

/// The signals elb-proxy handles, registered before it reports READY.
struct SignalHandlers {
    hup: tokio::signal::unix::Signal,
    usr2: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
}

impl SignalHandlers {
    fn install() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            hup: signal(SignalKind::hangup()).context("SIGHUP handler")?,
            usr2: signal(SignalKind::user_defined2()).context("SIGUSR2 handler")?,
            term: signal(SignalKind::terminate()).context("SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("SIGINT handler")?,
            usr1: signal(SignalKind::user_defined1()).context("SIGUSR1 handler")?,
        })
    }
}

/// Handles SIGHUP (reload) until SIGTERM or SIGINT.
async fn signals(shared: &Arc<Shared>, handlers: SignalHandlers) -> Result<()> {
    let SignalHandlers {
        mut hup,
        mut usr2,
        mut term,
        mut int,
        mut usr1,
    } = handlers;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                let _ = lifecycle::reload(shared).await;
            }
            _ = usr1.recv() => {
                let _ = elb_proxy::access_log::reopen(shared).await;
            }
            _ = term.recv() => return Ok(()),
            _ = shared.handover_done.notified() => return Ok(()),
            _ = usr2.recv() => start_successor(shared),
            _ = int.recv() => return Ok(()),
        }
    }
}

/// SIGUSR2: starts the binary at this process's own path (a package upgrade has replaced
/// it) with the same arguments; the new process takes the listening sockets over through
/// `upgrade_socket` and this one drains and exits. Started from here it stays in the
/// service's cgroup, and tells systemd it is the main process (`MAINPID`).
fn start_successor(shared: &Arc<Shared>) {
    if shared.snapshot.load().config.upgrade_socket.is_none() {
        tracing::error!("SIGUSR2: no upgrade_socket in the config; not upgrading");
        return;
    }
    let mut args = std::env::args_os();
    let Some(program) = args.next() else {
        return;
    };
    match std::process::Command::new(&program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .spawn()
    {
        Ok(mut child) => {
            tracing::info!(pid = child.id(), program = %program.to_string_lossy(), "SIGUSR2: started the new process");
            // Reaped if it ends while this process still runs (a failed start).
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
        Err(e) => tracing::error!(error = %e, "SIGUSR2: cannot start the new process"),
    }
}

/// `elb-proxy ctl`: the answer on stdout, exit 1 on an `error:` answer; when no answer comes,
/// one line on stderr saying why, exit 1.
fn ctl(
    config: &std::path::Path,
    socket: Option<PathBuf>,
    words: &[String],
) -> std::process::ExitCode {
    let answer = admin::ctl::socket_path(config, socket)
        .and_then(|socket| admin::ctl::request(&socket, words));
    match answer {
        Ok(answer) => {
            // A closed stdout (`| head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout(), "{answer}");
            if ctl_socket::is_error(&answer) {
                std::process::ExitCode::FAILURE
            } else {
                std::process::ExitCode::SUCCESS
            }
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "elb-proxy ctl: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
