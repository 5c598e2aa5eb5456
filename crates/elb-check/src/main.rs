//! `elb-check`: probe one HTTP(S) or Unix-socket endpoint and say by exit
//! status whether it is healthy. A drop-in for the seed's wget+awk track
//! script; see `elb-check --help` and docs/elb-check.md.
//!
//! Start-up is kept cheap because keepalived forks this every couple of
//! seconds: a current-thread runtime, no DNS for literals or `localhost`,
//! TLS set up only for https, and no log subscriber unless asked for.

// One unsafe call, registering the signalfd with tokio (stop_signals.rs).
#![deny(unsafe_code)]

mod assess;
mod cli;
mod exit;
mod json;
mod report;
mod stop_signals;
mod to_spec;
mod watch;

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::Parser;

use crate::assess::Rules;
use crate::cli::{Args, Format};
use crate::exit::NagiosState;
use crate::stop_signals::{StopSignal, StopSignals};

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => return clap_failure(e),
    };
    init_tracing();
    let code = match run(&args) {
        Ok(code) => code,
        Err(e) => {
            let state = NagiosState::Unknown;
            // Printing never decides the exit code: a full or closed stream loses
            // the text, nothing else (`println!` would panic and abort).
            match args.format {
                Format::Nagios => {
                    let _ = writeln!(std::io::stdout(), "HTTP {} - {e:#}", state.word());
                    state.code()
                }
                Format::Plain => {
                    let _ = writeln!(std::io::stderr(), "elb-check: {e:#}");
                    exit::USAGE
                }
                Format::Json => {
                    let _ = writeln!(std::io::stderr(), "elb-check: {e:#}");
                    let object = serde_json::json!({
                        "verdict": "usage error",
                        "healthy": false,
                        "exit_code": exit::USAGE,
                        "error": format!("{e:#}"),
                    });
                    let _ = writeln!(std::io::stdout(), "{object}");
                    exit::USAGE
                }
            }
        }
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // Exit at once; nothing is left to wait for (see `run`).
    std::process::exit(i32::from(code))
}

/// Opt-in diagnostics: `ELB_CHECK_LOG=debug` (a plain level) logs the
/// library's tracing events to stderr. No subscriber otherwise, and no
/// EnvFilter ever: its regex engine would double the binary that keepalived
/// forks every interval.
fn init_tracing() {
    let Some(level) = std::env::var_os("ELB_CHECK_LOG") else {
        return;
    };
    let level = level
        .to_str()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::DEBUG);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(level)
        .init();
}

/// A command line clap refused: usage error 2, or UNKNOWN 3 in Nagios mode.
fn clap_failure(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let nagios = std::env::args()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "nagios")
        || std::env::args().any(|a| a == "--format=nagios");
    if nagios {
        let first = e.to_string();
        let first = first.lines().next().unwrap_or("usage error");
        let _ = writeln!(std::io::stdout(), "HTTP UNKNOWN - {first}");
        return ExitCode::from(NagiosState::Unknown.code());
    }
    let _ = e.print();
    ExitCode::from(exit::USAGE)
}

/// Validates the flags, runs the probe, prints what was asked for, and
/// returns the exit status. An `Err` is a usage error.
fn run(args: &Args) -> anyhow::Result<u8> {
    let spec = args.to_spec().map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the I/O runtime: {e}"))?;
    if let Some(interval) = args.watch {
        let watch = watch::Watch {
            interval,
            health: watch::Health::new(args.rise, args.fall),
            file: args
                .track_file
                .as_deref()
                .map(|p| watch::TrackFile::new(p, args.up_value, args.down_value)),
            notifier: args
                .notify_socket
                .as_deref()
                .zip(args.track_name.as_deref())
                .map(|(socket, name)| watch::Notifier::new(socket, name)),
            on_exit: args.on_exit,
            rules: Rules {
                cert_days: args.cert_days,
                ..Rules::default()
            },
            verbose: args.verbose > 0,
        };
        let code = runtime.block_on(async {
            let stop = StopSignals::install().ok();
            watch.run(&spec, stop.as_ref()).await
        });
        runtime.shutdown_background();
        return Ok(code);
    }
    let outcome = runtime.block_on(async {
        // Without the signalfd the signals keep their default action, which
        // also ends the probe at once (by signal rather than with 143/130).
        let stop = StopSignals::install().ok();
        tokio::select! {
            result = elb_probe::probe(&spec) => Ok(result),
            Some(signal) = recv(stop.as_ref()) => Err(match signal {
                StopSignal::Terminate => exit::TERMINATED,
                StopSignal::Interrupt => exit::INTERRUPTED,
            }),
        }
    });
    // Dropping the runtime would wait for its blocking threads, and after a
    // DNS timeout one is still inside getaddrinfo until the resolver gives up
    // (resolv.conf's timeout x attempts, 10 s by default): long after the
    // deadline. Shut it down without waiting; the process exits right after
    // the verdict, which ends that thread too.
    runtime.shutdown_background();
    let result = match outcome {
        Ok(result) => result,
        Err(code) => {
            if args.verbose > 0 {
                let _ = writeln!(
                    std::io::stderr(),
                    "elb-check: {}: stopped by signal (exit {code})",
                    spec.target.display_url()
                );
            }
            return Ok(code);
        }
    };
    let rules = Rules {
        cert_days: args.cert_days,
        warning: args.warning,
        critical: args.critical,
    };
    let now = assess::unix_now();
    let assessment = assess::assess(&result, &rules, now);
    let code = match args.format {
        Format::Plain | Format::Json => assessment.code,
        Format::Nagios => assessment.state.code(),
    };
    match args.format {
        Format::Plain => {}
        Format::Nagios => {
            let limits = report::Thresholds {
                timeout: args.timeout,
                warning: args.warning,
                critical: args.critical,
            };
            let line = report::nagios_line(&result, &assessment, limits);
            let _ = writeln!(std::io::stdout(), "{line}");
        }
        Format::Json => {
            let object = json::object(&result, &assessment, code, now);
            let _ = writeln!(std::io::stdout(), "{object}");
        }
    }
    if args.verbose > 0 {
        let lines = report::verbose_lines(&result, &assessment, code);
        let _ = write!(std::io::stderr(), "{lines}");
    }
    Ok(code)
}

/// Waits for a stop signal if the signalfd could be set up, else forever.
async fn recv(stop: Option<&StopSignals>) -> Option<StopSignal> {
    match stop {
        Some(stop) => stop.recv().await.ok(),
        None => std::future::pending().await,
    }
}
