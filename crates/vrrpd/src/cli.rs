//! Command line, shaped like keepalived's so unit files and scripts written for keepalived keep
//! working, plus the paths every vrrpd writes, derived so that several vrrpd on one machine (one
//! per network namespace) never collide.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

/// keepalived's default configuration file, kept so an unchanged unit file works.
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";
/// Default pid file when `-p` is not given.
pub const DEFAULT_PID_FILE: &str = "/run/vrrpd/vrrpd.pid";
/// Default control socket when neither `--control-socket` nor `-p` is given.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/vrrpd/vrrpd.sock";
/// keepalived's SIGUSR1 dump file, kept for scripts that read it.
pub const DEFAULT_DATA_FILE: &str = "/tmp/keepalived.data";
/// keepalived's SIGUSR2 dump file, kept for scripts that read it.
pub const DEFAULT_STATS_FILE: &str = "/tmp/keepalived.stats";
/// keepalived's JSON-signal dump file.
pub const DEFAULT_JSON_FILE: &str = "/tmp/keepalived.json";

/// vrrpd: VRRP (RFC 3768 / 5798) driven by keepalived.conf.
#[derive(Debug, Parser)]
#[command(
    name = "vrrpd",
    version,
    about,
    args_conflicts_with_subcommands = true,
    disable_version_flag = true
)]
pub struct Cli {
    /// Print version (keepalived's -v; -V is --dont-release-vrrp there too).
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    /// The daemon's flags (keepalived's).
    #[command(flatten)]
    pub daemon: DaemonArgs,
    /// A client subcommand instead of running the daemon.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// vrrpd's own subcommands, beside keepalived's flags.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send one command to a running vrrpd's control socket and print the answer
    /// (e.g. `vrrpd ctl show status`).
    Ctl(CtlArgs),
}

/// Arguments of `vrrpd ctl`.
#[derive(Debug, Args)]
pub struct CtlArgs {
    /// Control socket to talk to (default: the daemon's default, or beside `-p`'s pid file).
    #[arg(long = "control-socket", short = 's')]
    pub control_socket: Option<PathBuf>,
    /// Pid file of the daemon, to find the control socket beside it.
    #[arg(long = "pid", short = 'p')]
    pub pid_file: Option<PathBuf>,
    /// The command words, e.g. `show status json`.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

/// keepalived's command-line flags, so unit files written for keepalived work.
#[derive(Debug, Clone, Args)]
pub struct DaemonArgs {
    /// Configuration file (keepalived.conf syntax).
    #[arg(short = 'f', long = "use-file", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Accepted for keepalived compatibility: vrrpd never forks.
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Accepted for keepalived compatibility: vrrpd always logs to stderr.
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed (debug level) logging.
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    /// Accepted for keepalived compatibility: vrrpd only runs VRRP.
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp_only: bool,
    /// Accepted for keepalived compatibility (syslog facility); logs go to stderr.
    #[arg(short = 'S', long = "log-facility")]
    pub log_facility: Option<String>,
    /// Log lines as JSON objects instead of text.
    #[arg(long = "log-json")]
    pub log_json: bool,
    /// Pid file; other written paths default to files beside it.
    #[arg(short = 'p', long = "pid")]
    pub pid_file: Option<PathBuf>,
    /// Accepted for keepalived compatibility (VRRP child pid file); ignored.
    #[arg(short = 'r', long = "vrrp_pid")]
    pub vrrp_pid_file: Option<PathBuf>,
    /// Config id for `@ID` conditional lines (default: host name up to the first dot).
    #[arg(short = 'i', long = "config-id")]
    pub config_id: Option<String>,
    /// Check the configuration, print diagnostics to stderr (or to LOG_FILE, as
    /// keepalived's `-tFILE`) and exit with keepalived's codes (0 ok, 4 cannot run, 5 errors
    /// but would run, 6 scripts without script security).
    #[arg(short = 't', long = "config-test", value_name = "LOG_FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = "-")]
    pub config_test: Option<PathBuf>,
    /// Print the parsed configuration as JSON and exit.
    #[arg(long = "dump-config")]
    pub dump_config: bool,
    /// keepalived's -d: log the parsed configuration at start (and on reload) and keep running.
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    /// Start the instances that can run when others cannot (an interface they name is
    /// missing); the log and `show status` name those left down. Default: such a file is
    /// refused, as `-t` says.
    #[arg(long = "start-partial")]
    pub start_partial: bool,
    /// Print the signal number for a keepalived signal function (STOP, RELOAD, DATA, STATS,
    /// STATS_CLEAR, JSON) and exit, as `keepalived --signum` does.
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    /// keepalived's -C: run only the health checkers. vrrpd has none: refused.
    #[arg(short = 'C', long = "check")]
    pub check_only: bool,
    /// keepalived's -B: no BFD process. vrrpd runs none: accepted.
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,
    /// keepalived's --all: force all child processes. vrrpd has only VRRP: warned.
    #[arg(long = "all")]
    pub all: bool,
    /// keepalived's -G: no syslog. vrrpd never logs to syslog: accepted.
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// keepalived's -g: log to a file (appended), instead of stderr.
    #[arg(short = 'g', long = "log-file", value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// File creation mask (octal, keepalived's -u), applied at start.
    #[arg(short = 'u', long = "umask", value_name = "MASK")]
    pub umask: Option<String>,
    /// keepalived's -X (drop VIPs on a transition caused by a signal). vrrpd always releases
    /// the VIPs when it leaves MASTER: accepted, warned.
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    /// keepalived's -I: keep IPVS on stop. vrrpd sets up no IPVS: accepted.
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,
    /// keepalived's -R: do not respawn children. vrrpd has no children: accepted.
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// keepalived's -c: checker child pid file. vrrpd has no checker child: ignored.
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid_file: Option<PathBuf>,
    /// keepalived's -b: BFD child pid file. vrrpd has no BFD child: ignored.
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid_file: Option<PathBuf>,
    /// keepalived's -a: log every address change. vrrpd logs its own VIP changes only: warned.
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,
    /// keepalived's -x: SNMP. vrrpd has no SNMP agent (use `vrrpd ctl show status json`): warned.
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,
    /// keepalived's -A: SNMP agent socket. No SNMP in vrrpd: warned.
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "FILE")]
    pub snmp_agent_socket: Option<PathBuf>,
    /// Run in the network namespace NAME (/run/netns/NAME), as keepalived's -s.
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,
    /// keepalived's -m: allow a core dump on abnormal end (RLIMIT_CORE unlimited).
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,
    /// keepalived's -M: also set the kernel's core_pattern. vrrpd does not change host-wide
    /// settings: implies -m, the pattern is warned about and not set.
    #[arg(short = 'M', long = "core-dump-pattern", value_name = "PATN", num_args = 0..=1, default_missing_value = "core")]
    pub core_dump_pattern: Option<String>,
    /// keepalived's -e: a missing configuration file (include) is an error.
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,
    /// keepalived's -T: genhash mode. Not in vrrpd: refused (use keepalived's genhash).
    #[arg(short = 'T', long = "genhash")]
    pub genhash: bool,
    /// Keep the VIPs on exit (keepalived's -V).
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release: bool,
    /// Control socket path (default /run/vrrpd/vrrpd.sock, or vrrpd.sock beside `-p`).
    #[arg(long = "control-socket")]
    pub control_socket: Option<PathBuf>,
    /// Let this group use the control socket too (mode 0660), e.g. the user elb-proxy runs as,
    /// for its drain push (`track NAME down`). Default: owner only (0600).
    #[arg(long = "control-group", value_name = "GROUP")]
    pub control_group: Option<String>,
    /// Serve Prometheus metrics over HTTP at ADDR/metrics (e.g. 127.0.0.1:9650); read
    /// from the control socket on each scrape. Off unless given.
    #[arg(long = "metrics-listen", value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// SIGUSR1 data dump file (default /tmp/keepalived.data, or beside `-p`).
    #[arg(long = "data-file")]
    pub data_file: Option<PathBuf>,
    /// SIGUSR2 statistics file (default /tmp/keepalived.stats, or beside `-p`).
    #[arg(long = "stats-file")]
    pub stats_file: Option<PathBuf>,
    /// JSON-signal dump file (default /tmp/keepalived.json, or beside `-p`).
    #[arg(long = "json-file")]
    pub json_file: Option<PathBuf>,
    /// Fast failover (not keepalived behaviour): a MASTER advertises a priority change at once
    /// and a preemptive BACKUP that hears a lower-priority master takes over at once instead of
    /// waiting out the master-down interval. Off = keepalived's exact behaviour.
    #[arg(long = "fast-failover")]
    pub fast_failover: bool,
    /// With --fast-failover: a priority dip must last this many seconds before it is
    /// advertised or acted on (anti-flap). Default 0.
    #[arg(long = "hold-time", value_name = "SECS", requires = "fast_failover")]
    pub hold_time: Option<f64>,
    /// With --fast-failover: a BACKUP takes over from a master that advertises a priority
    /// below its own only once that dip has lasted this many seconds, and keeps following the
    /// master meanwhile (a shorter dip moves nothing). For a keepalived master, which
    /// advertises every dip at once; between vrrpd nodes --hold-time on the master does it.
    /// Default 0 (at once).
    #[arg(
        long = "fast-preempt-delay",
        value_name = "SECS",
        requires = "fast_failover"
    )]
    pub fast_preempt_delay: Option<f64>,
    /// With --fast-failover: a MASTER that hands over keeps its VIPs this many seconds more,
    /// so requests on connections opened just before the hand-over still complete (the new
    /// master's gratuitous ARP has already moved new traffic). 0 = remove at once.
    #[arg(
        long = "release-delay",
        value_name = "SECS",
        default_value_t = 0.1,
        requires = "fast_failover"
    )]
    pub release_delay: f64,
    /// For this many seconds after taking over, drop (instead of resetting) TCP segments to
    /// the VIPs that belong to no local connection, so requests the old master was still
    /// answering complete (needs nft and the kernel's nft socket lookup). Not keepalived
    /// behaviour; off by default.
    #[arg(long = "takeover-guard", value_name = "SECS")]
    pub takeover_guard: Option<f64>,
}

/// The command line with keepalived's `-tFILE` (an optional value glued to the flag, as
/// getopt reads it) spelled `--config-test=FILE`, which clap reads.
pub fn keepalived_argv(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    args.into_iter()
        .enumerate()
        .map(
            |(i, a)| match a.to_str().and_then(|s| s.strip_prefix("-t")) {
                Some(file) if i > 0 && !file.is_empty() && !file.starts_with('=') => {
                    format!("--config-test={file}").into()
                }
                _ => a,
            },
        )
        .collect()
}

/// What vrrpd makes of keepalived's flags that have no exact meaning here: a refusal (one
/// line, keepalived's exit status 1) or a warning each, printed at start.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FlagNotes {
    /// Why vrrpd refuses to start with these flags, if it does.
    pub refused: Option<String>,
    /// One line per flag taken with a different meaning, logged at start.
    pub warnings: Vec<String>,
}

/// Reads the flags once, so no keepalived option is taken in silence.
pub fn flag_notes(a: &DaemonArgs) -> FlagNotes {
    let mut n = FlagNotes::default();
    if a.check_only {
        n.refused = Some(
            "-C/--check: vrrpd runs no health checkers; run `keepalived --check` beside vrrpd on \
             the same file for them"
                .into(),
        );
    } else if a.genhash {
        n.refused = Some("-T/--genhash: not in vrrpd; use keepalived's genhash".into());
    }
    let mut warn = |on: bool, text: &str| {
        if on {
            n.warnings.push(text.to_string());
        }
    };
    warn(
        a.all,
        "--all: vrrpd has only its VRRP part; no checker or BFD process is started",
    );
    warn(
        a.release_vips,
        "-X/--release-vips: vrrpd always removes the VIPs when an instance leaves MASTER",
    );
    warn(
        a.address_monitoring,
        "-a/--address-monitoring: not in vrrpd; only its own VIP changes are logged",
    );
    warn(
        a.snmp || a.snmp_agent_socket.is_some(),
        "-x/-A SNMP: no SNMP agent in vrrpd; use `vrrpd ctl show status json` or the dumps",
    );
    warn(
        a.checkers_pid_file.is_some() || a.bfd_pid_file.is_some() || a.vrrp_pid_file.is_some(),
        "-r/-c/-b child pid files: vrrpd runs as one process; only -p is written",
    );
    warn(
        a.core_dump_pattern.is_some(),
        "-M/--core-dump-pattern: the kernel's core_pattern is left unchanged (a host-wide \
         setting); -m's core dump limit is applied",
    );
    warn(
        a.all_config,
        "-e/--all-config: a missing included file is reported and ignored, not an error",
    );
    n
}

/// Every path a running vrrpd writes. Explicit flags win; otherwise, when `-p` is given, files
/// go beside the pid file so two daemons with different pid files share nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimePaths {
    /// `-p`: the pid file.
    pub pid_file: PathBuf,
    /// The control socket (`--control-socket`, else beside the pid file).
    pub control_socket: PathBuf,
    /// keepalived's data dump (SIGUSR1).
    pub data_file: PathBuf,
    /// keepalived's stats dump (SIGUSR2).
    pub stats_file: PathBuf,
    /// keepalived's JSON dump (SIGJSON).
    pub json_file: PathBuf,
}

impl RuntimePaths {
    /// Resolves every path from the flags, deriving unset ones beside `-p`.
    pub fn from_args(args: &DaemonArgs) -> Self {
        let beside = args.pid_file.as_deref().map(Beside::new);
        let pick = |explicit: &Option<PathBuf>, derived: Option<PathBuf>, default: &str| {
            explicit
                .clone()
                .or(derived)
                .unwrap_or_else(|| PathBuf::from(default))
        };
        RuntimePaths {
            pid_file: args
                .pid_file
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_PID_FILE)),
            control_socket: pick(
                &args.control_socket,
                beside.as_ref().map(|b| b.dir.join("vrrpd.sock")),
                DEFAULT_CONTROL_SOCKET,
            ),
            data_file: pick(
                &args.data_file,
                beside.as_ref().map(|b| b.sibling("data")),
                DEFAULT_DATA_FILE,
            ),
            stats_file: pick(
                &args.stats_file,
                beside.as_ref().map(|b| b.sibling("stats")),
                DEFAULT_STATS_FILE,
            ),
            json_file: pick(
                &args.json_file,
                beside.as_ref().map(|b| b.sibling("json")),
                DEFAULT_JSON_FILE,
            ),
        }
    }
}

/// The control socket a `vrrpd ctl` client should use.
pub fn ctl_socket(args: &CtlArgs) -> PathBuf {
    if let Some(p) = &args.control_socket {
        return p.clone();
    }
    match &args.pid_file {
        Some(pid) => Beside::new(pid).dir.join("vrrpd.sock"),
        None => PathBuf::from(DEFAULT_CONTROL_SOCKET),
    }
}

/// Names derived from a pid file: its directory and its stem.
struct Beside {
    dir: PathBuf,
    stem: String,
}

impl Beside {
    fn new(pid: &Path) -> Self {
        let dir = pid
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let stem = pid
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "vrrpd".to_string());
        Beside { dir, stem }
    }

    /// `<dir>/<stem>.<ext>`: the stem keeps two daemons whose pid files share a directory apart.
    fn sibling(&self, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", self.stem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("vrrpd").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn keepalived_flags_are_accepted() {
        let cli = parse(&[
            "-n", "-l", "-D", "-P", "-f", "/x.conf", "-p", "/r/k.pid", "-i", "a",
        ]);
        assert!(cli.command.is_none());
        let d = cli.daemon;
        assert!(d.dont_fork && d.log_console && d.log_detail && d.vrrp_only);
        assert_eq!(d.config, PathBuf::from("/x.conf"));
        assert_eq!(d.config_id.as_deref(), Some("a"));
    }

    #[test]
    fn config_test_takes_an_optional_glued_log_file_like_getopt() {
        let argv = |a: &[&str]| keepalived_argv(a.iter().map(std::ffi::OsString::from));
        let cli = Cli::try_parse_from(argv(&["vrrpd", "-t/tmp/x.log", "-f", "/k"])).unwrap();
        assert_eq!(cli.daemon.config_test, Some(PathBuf::from("/tmp/x.log")));
        assert_eq!(cli.daemon.config, PathBuf::from("/k"));
        let cli = Cli::try_parse_from(argv(&["vrrpd", "-t", "-f", "/k"])).unwrap();
        assert_eq!(cli.daemon.config_test, Some(PathBuf::from("-")));
        assert_eq!(cli.daemon.config, PathBuf::from("/k"));
    }

    #[test]
    fn every_keepalived_option_is_accepted_or_refused_in_one_line() {
        let cli = parse(&[
            "-P", "-B", "--all", "-G", "-u", "022", "-X", "-I", "-R", "-c", "/c.pid", "-b",
            "/b.pid", "-a", "-x", "-A", "/s", "-m", "-M", "-e", "-d", "-V", "-S", "local1",
        ]);
        let notes = flag_notes(&cli.daemon);
        assert_eq!(notes.refused, None);
        assert_eq!(notes.warnings.len(), 7, "{:?}", notes.warnings);
        for refused in [["-C"], ["-T"]] {
            let n = flag_notes(&parse(&refused).daemon);
            assert!(n.refused.is_some(), "{refused:?}");
        }
    }

    #[test]
    fn defaults_without_pid_file() {
        let cli = parse(&[]);
        assert_eq!(cli.daemon.config, PathBuf::from(DEFAULT_CONFIG));
        let p = RuntimePaths::from_args(&cli.daemon);
        assert_eq!(p.control_socket, PathBuf::from(DEFAULT_CONTROL_SOCKET));
        assert_eq!(p.data_file, PathBuf::from(DEFAULT_DATA_FILE));
        assert_eq!(p.stats_file, PathBuf::from(DEFAULT_STATS_FILE));
    }

    #[test]
    fn paths_follow_the_pid_file_unless_explicit() {
        let cli = parse(&["-p", "/lab/a/node.pid", "--stats-file", "/s"]);
        let p = RuntimePaths::from_args(&cli.daemon);
        assert_eq!(p.pid_file, PathBuf::from("/lab/a/node.pid"));
        assert_eq!(p.control_socket, PathBuf::from("/lab/a/vrrpd.sock"));
        assert_eq!(p.data_file, PathBuf::from("/lab/a/node.data"));
        assert_eq!(p.stats_file, PathBuf::from("/s"));
    }

    #[test]
    fn ctl_subcommand_takes_words() {
        let cli = parse(&["ctl", "-p", "/lab/b/x.pid", "show", "status", "json"]);
        let Some(Command::Ctl(c)) = cli.command else {
            panic!("expected ctl")
        };
        assert_eq!(c.words, ["show", "status", "json"]);
        assert_eq!(ctl_socket(&c), PathBuf::from("/lab/b/vrrpd.sock"));
    }
}
