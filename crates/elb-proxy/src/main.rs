//! elb-proxy binary: loads the config, starts listeners, health checks, admin socket and
//! metrics, and handles signals. `elb-proxy ctl ...` is the admin socket client.

// The one unsafe use is mimalloc's `mi_collect` (below), allowed where it is declared and
// called.
#![deny(unsafe_code)]

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write as _};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use elb_proxy::shared::Shared;
use elb_proxy::{admin, health_check, lifecycle, tls};
use elb_proxy_core::config::{self, ValidConfig};

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
/// (`Pool::reap`), and, when connections were parked or pooled ones closed since the last
/// look, gives the freed memory back to the OS. mimalloc keeps freed pages for reuse and
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
            + elb_proxy::fast::pool::reap(shared.snapshot.load().config.timeouts.upstream_idle.0);
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
    let cli = Cli::parse();
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
    if let Some(Cmd::Ctl { socket, words }) = cli.command {
        return ctl(&cli.config, socket, &words);
    }
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
    for l in &config.listeners {
        if let Some(t) = &l.tls {
            tls::server_config(t)
                .map_err(|e| format!("{}: listener {}: {e}", path.display(), l.address))?;
        }
    }
    Ok(())
}

async fn serve(config: ValidConfig, path: PathBuf) -> Result<()> {
    let admin_listener = match &config.admin {
        Some(a) => {
            let mode = u32::from_str_radix(a.mode.trim_start_matches("0o"), 8).unwrap_or(0o600);
            Some(
                admin::bind(&a.socket, mode)
                    .with_context(|| format!("admin socket {}", a.socket.display()))?,
            )
        }
        None => None,
    };
    let access_log = lifecycle::open_access_log(&config).map_err(anyhow::Error::msg)?;
    let admin_path = config.admin.as_ref().map(|a| a.socket.clone());
    let shared = Shared::new(config, path);
    let prepared = shared
        .listeners
        .prepare(&shared.snapshot.load().config)
        .context("listeners")?;
    shared.listeners.commit(prepared, &shared);
    shared.access_log.store(access_log);
    health_check::start(&shared, &shared.snapshot.load_full());
    let mut tasks = Vec::new();
    tokio::spawn(maintenance(shared.clone()));
    if let Some(l) = admin_listener {
        tasks.push(tokio::spawn(admin::run(l, shared.clone())));
    }
    // Handlers first: a SIGTERM that arrives right after READY must drain, not kill.
    let handlers = SignalHandlers::install()?;
    lifecycle::notify(&[sd_notify::NotifyState::Ready]);
    tracing::info!(pid = std::process::id(), "elb-proxy ready");
    signals(&shared, handlers).await?;
    lifecycle::stop(&shared).await;
    shared.listeners.join_all().await;
    for t in tasks {
        let _ = t.await;
    }
    if let Some(p) = admin_path {
        let _ = std::fs::remove_file(p);
    }
    tracing::info!("elb-proxy stopped");
    Ok(())
}

/// The signals elb-proxy handles, registered before it reports READY.
struct SignalHandlers {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl SignalHandlers {
    fn install() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            hup: signal(SignalKind::hangup()).context("SIGHUP handler")?,
            term: signal(SignalKind::terminate()).context("SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("SIGINT handler")?,
        })
    }
}

/// Handles SIGHUP (reload) until SIGTERM or SIGINT.
async fn signals(shared: &Arc<Shared>, handlers: SignalHandlers) -> Result<()> {
    let SignalHandlers {
        mut hup,
        mut term,
        mut int,
    } = handlers;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                let _ = lifecycle::reload(shared).await;
            }
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
        }
    }
}

/// The admin client.
fn ctl(
    config: &std::path::Path,
    socket: Option<PathBuf>,
    words: &[String],
) -> Result<std::process::ExitCode> {
    let socket = match socket {
        Some(s) => s,
        None => {
            let c = config::load(config).map_err(anyhow::Error::msg)?;
            match &c.admin {
                Some(a) => a.socket.clone(),
                None => bail!("{} has no admin socket; pass --socket", config.display()),
            }
        }
    };
    let line = words.join(" ");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    let out = rt.block_on(async {
        let mut s = tokio::net::UnixStream::connect(&socket)
            .await
            .with_context(|| format!("connecting to {}", socket.display()))?;
        s.write_all(format!("{line}\n").as_bytes()).await?;
        s.shutdown().await?;
        let mut out = String::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            s.read_to_string(&mut out),
        )
        .await
        .context("no answer within 30 s")??;
        anyhow::Ok(out)
    })?;
    let out = out.trim_end_matches('\n');
    // A closed stdout (`| head`) is not an error worth a panic.
    let _ = writeln!(std::io::stdout(), "{out}");
    Ok(if out.starts_with("error:") {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    })
}
