//! The command line (clap derive). Its translation into a probe is in
//! `to_spec.rs`; both are pure, so every flag combination is tested
//! without a server.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

const AFTER_HELP: &str = "\
URL forms:
  http://HOST[:PORT]/PATH     https://HOST[:PORT]/PATH     unix:/path/to.sock:/PATH
  (or --unix-socket PATH with an http:// or https:// URL)

Exit status (wget's codes, so scripts written for wget keep working):
  0  healthy: the server answered as expected
  1  other error (e.g. unreadable --cacert, --cert or --key file)
  2  usage error (bad option or URL)
  4  network failure: name not resolved, connection refused or unreachable,
     connection reset, or no complete answer before --timeout
  5  TLS failure: certificate not verified (unknown CA, self-signed, wrong
     name, expired), expiring within --cert-days, or TLS handshake refused
  7  protocol error: the answer is not valid HTTP (garbage, bad status line,
     oversized head, closed mid-answer), or not TLS on an https:// URL
  8  unexpected answer: status not in --expect, or --string/--regex/
     --expect-json/--expect-header did not match, or too many redirects
  143, 130  terminated by SIGTERM / SIGINT (watch mode: 0)
With --format nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (as check_http).
With --format json: one object on stdout, the codes above.

elb-check never retries; one --timeout covers DNS, connect, TLS, request and
answer. Example keepalived track script:
  vrrp_script chk_elb { script \"/usr/bin/elb-check http://localhost:8280/services/EchoProxy\" interval 2 }
Or no fork at all: elb-check --watch 20ms -t 15ms --track-file /run/elb-check/elb.track URL
with keepalived's/vrrpd's  track_file elb { file /run/elb-check/elb.track }";

/// Output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Nothing unless -v; the exit status tells.
    Plain,
    /// One monitoring-plugins line with perfdata on stdout; exit 0/1/2/3.
    Nagios,
    /// One JSON object on stdout (verdict, exit code, status, timings, certificate); wget's exit codes.
    Json,
}

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum MethodArg {
    /// GET (default; POST with --data).
    Get,
    /// HEAD (no body; cannot be combined with body rules).
    Head,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
    /// OPTIONS.
    Options,
    /// PATCH.
    Patch,
}

/// PROXY protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProxyArg {
    /// The text header (`PROXY TCP4 ...`).
    V1,
    /// The binary header.
    V2,
}

/// Probe an HTTP(S) or Unix-socket endpoint once and report by exit status.
#[derive(Debug, Parser)]
#[command(name = "elb-check", version, after_help = AFTER_HELP)]
pub struct Args {
    /// URL to probe: http://, https:// or unix:/path/to.sock:/uri
    pub url: String,

    /// Total deadline for the whole probe: seconds ("1.5") or with a unit ("500ms", "2s")
    #[arg(short = 't', long, default_value = "1s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Extra request header "Name: value" (repeatable; replaces a default of the same name)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Host header to send (e.g. a cluster's name while connecting to 127.0.0.1); also the TLS name unless --sni
    #[arg(long, value_name = "HOST[:PORT]")]
    pub host: Option<String>,

    /// Request method (default GET, or POST with --data)
    #[arg(short = 'X', long = "method", value_enum, ignore_case = true)]
    pub method: Option<MethodArg>,

    /// Request body to send; @FILE reads it from FILE (curl's syntax)
    #[arg(short = 'd', long = "data", value_name = "DATA|@FILE")]
    pub data: Option<String>,

    /// Accepted status codes: list of codes, classes and ranges, e.g. "200,204,3xx" or "200-299"
    #[arg(
        short = 'e',
        long,
        visible_alias = "expect-status",
        default_value = "200",
        value_name = "CODES"
    )]
    pub expect: String,

    /// The body must contain this text (first --max-body bytes)
    #[arg(short = 's', long = "string", value_name = "TEXT")]
    pub string: Option<String>,

    /// The body must match this regular expression (first --max-body bytes)
    #[arg(
        short = 'r',
        long = "regex",
        visible_alias = "expect-body",
        value_name = "REGEX"
    )]
    pub regex: Option<String>,

    /// The JSON body must hold VALUE at POINTER (RFC 6901), e.g. "/status=UP" (repeatable)
    #[arg(long = "expect-json", value_name = "POINTER=VALUE")]
    pub expect_json: Vec<String>,

    /// A response header must be present and contain TEXT: "Name: TEXT" (repeatable)
    #[arg(long = "expect-header", value_name = "NAME: TEXT")]
    pub expect_headers: Vec<String>,

    /// Follow redirects (301, 302, 303, 307, 308), at most --max-redirs
    #[arg(short = 'L', long = "location")]
    pub location: bool,

    /// Most redirects to follow with -L
    #[arg(long = "max-redirs", default_value_t = 5, value_name = "N")]
    pub max_redirs: u32,

    /// Connect to this Unix socket instead of the URL's host (the URL still gives Host and path)
    #[arg(long = "unix-socket", value_name = "PATH")]
    pub unix_socket: Option<PathBuf>,

    /// Trust the CA certificates in this PEM file instead of the system store
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Client certificate chain (PEM), for servers that ask for one; needs --key
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) for --cert
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// TLS server name to send and verify (default: --host, else the URL's host)
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,

    /// Do not verify the server's certificate
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Connect to HOST2:PORT2 instead of HOST1:PORT1 (curl's syntax; URL keeps Host and TLS name; repeatable)
    #[arg(long = "connect-to", value_name = "HOST1:PORT1:HOST2:PORT2")]
    pub connect_to: Vec<String>,

    /// Resolve HOST:PORT to these addresses instead of asking DNS (curl's syntax; repeatable)
    #[arg(long, value_name = "HOST:PORT:ADDR[,ADDR]")]
    pub resolve: Vec<String>,

    /// Send from this network interface (SO_BINDTODEVICE), or from this address when given one
    #[arg(long, value_name = "NAME|ADDR")]
    pub interface: Option<String>,

    /// Send from this source address
    #[arg(long, value_name = "ADDR")]
    pub source: Option<std::net::IpAddr>,

    /// Speak HTTP/2 when the https server offers it by ALPN (else HTTP/1.1)
    #[arg(long, conflicts_with = "h2c")]
    pub http2: bool,

    /// Speak HTTP/2 over cleartext without negotiation (prior knowledge)
    #[arg(long)]
    pub h2c: bool,

    /// Send a PROXY protocol header first, for listeners that expect one
    #[arg(long = "proxy-protocol", value_enum, value_name = "v1|v2")]
    pub proxy_protocol: Option<ProxyArg>,

    /// Connect over IPv4 only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Connect over IPv6 only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,

    /// Print nothing (the default)
    #[arg(short = 'q', long, overrides_with = "verbose")]
    pub quiet: bool,

    /// Print one line per phase with timings, then the verdict, on stderr
    #[arg(short = 'v', long, action = ArgAction::Count, overrides_with = "quiet")]
    pub verbose: u8,

    /// Output format
    #[arg(long, value_enum, default_value = "plain")]
    pub format: Format,

    /// Nagios: WARNING when healthy but slower than this many seconds
    #[arg(long, value_name = "SECONDS", value_parser = parse_duration)]
    pub warning: Option<Duration>,

    /// Nagios: CRITICAL when healthy but slower than this many seconds
    #[arg(long, value_name = "SECONDS", value_parser = parse_duration)]
    pub critical: Option<Duration>,

    /// https: fail (exit 5; Nagios WARNING) when the certificate expires within N days
    #[arg(long = "cert-days", value_name = "N")]
    pub cert_days: Option<u32>,

    /// Stay running and probe every INTERVAL (10ms..1h), publishing the state to --track-file/--notify-socket
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval)]
    pub watch: Option<Duration>,

    /// --watch: successes in a row to go up
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub rise: u32,

    /// --watch: failures in a row to go down
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub fall: u32,

    /// --watch: keep this keepalived/vrrpd track_file up to date (atomic rename)
    #[arg(long = "track-file", value_name = "PATH")]
    pub track_file: Option<PathBuf>,

    /// --watch: value written while healthy
    #[arg(
        long = "up-value",
        default_value_t = 0,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub up_value: i64,

    /// --watch: value written while unhealthy (-254: FAULT with weight 1 or 0)
    #[arg(long = "down-value", default_value_t = -254, value_name = "N", allow_negative_numbers = true)]
    pub down_value: i64,

    /// --watch: push "track NAME up|down" to this vrrpd control socket on each change
    #[arg(long = "notify-socket", value_name = "PATH", requires = "track_name")]
    pub notify_socket: Option<PathBuf>,

    /// --watch: the vrrp_script name to push with --notify-socket
    #[arg(long = "track-name", value_name = "NAME")]
    pub track_name: Option<String>,

    /// --watch: on SIGTERM/SIGINT, publish down (default) or keep the last state
    #[arg(long = "on-exit", value_enum, default_value = "down")]
    pub on_exit: crate::watch::OnExit,

    /// Most body bytes read for --string/--regex
    #[arg(long = "max-body", default_value_t = 64 * 1024, value_name = "BYTES")]
    pub max_body: usize,
}

/// A watch interval: a duration of at least 10 ms.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = parse_duration(text)?;
    if interval < Duration::from_millis(10) {
        return Err(format!("{text:?} is below the 10ms minimum"));
    }
    Ok(interval)
}

/// A duration as seconds ("1", "1.5") or with a unit ("500ms", "2s"); between 1 ms and 1 hour.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (examples: 1, 1.5, 500ms, 2s)"))?;
    let seconds = value * scale;
    if !seconds.is_finite() || !(0.001..=3600.0).contains(&seconds) {
        return Err(format!("{text:?} is outside 1ms..1h"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use elb_probe::{IpFamily, Method};

    fn args(list: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("elb-check").chain(list.iter().copied()))
    }

    #[test]
    fn seed_invocation_defaults() {
        let a = args(&["http://localhost:8280/services/EchoProxy"]).unwrap();
        let spec = a.to_spec().unwrap();
        assert_eq!(spec.timeout, Duration::from_secs(1));
        assert!(spec.expect.contains(200) && !spec.expect.contains(204));
        assert_eq!(spec.method, Method::Get);
        assert_eq!(spec.max_redirects, 0);
        assert_eq!(a.verbose, 0);
        assert_eq!(a.format, Format::Plain);
    }

    #[test]
    fn every_flag_reaches_the_spec() {
        let a = args(&[
            "-t",
            "250ms",
            "-H",
            "X-A: b",
            "--host",
            "app:8080",
            "-X",
            "head",
            "-e",
            "2xx,301",
            "--expect-header",
            "X-Role: master",
            "-L",
            "--max-redirs",
            "3",
            "--unix-socket",
            "/run/p.sock",
            "--cacert",
            "ca.pem",
            "--cert",
            "c.pem",
            "--key",
            "k.pem",
            "--sni",
            "app",
            "-k",
            "-6",
            "-v",
            "--format",
            "nagios",
            "--warning",
            "1s",
            "https://h/p",
        ])
        .unwrap();
        let spec = a.to_spec().unwrap();
        assert_eq!(spec.timeout, Duration::from_millis(250));
        assert_eq!(spec.headers, vec![("X-A".to_string(), "b".to_string())]);
        assert_eq!(spec.host.as_deref(), Some("app:8080"));
        assert_eq!(spec.method, Method::Head);
        assert!(spec.expect.contains(204) && spec.expect.contains(301));
        assert_eq!(spec.header_rules[0].contains, "master");
        assert_eq!(spec.max_redirects, 3);
        assert_eq!(
            spec.target.endpoint,
            elb_probe::Endpoint::Unix {
                path: "/run/p.sock".into()
            }
        );
        assert!(spec.tls.insecure && spec.tls.client_cert.is_some());
        assert_eq!(spec.tls.sni.as_deref(), Some("app"));
        assert_eq!(spec.family, IpFamily::V6);
        assert_eq!((a.verbose, a.format), (1, Format::Nagios));
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &["ftp://x/"][..],
            &["-e", "2000", "http://h/"],
            &["-H", "NoColon", "http://h/"],
            &["-H", "Bad Name: v", "http://h/"],
            &["-r", "(", "http://h/"],
            &["-X", "HEAD", "-s", "ok", "http://h/"],
            &["--unix-socket", "/s", "unix:/t.sock:/"],
            &["--host", "a b", "http://h/"],
            &["--warning", "1s", "http://h/"],
            &["--format", "json", "--critical", "1s", "http://h/"],
            &["--cert-days", "5", "http://h/"],
            &["--http2", "http://h/"],
            &["--h2c", "https://h/"],
            &["--expect-json", "status=UP", "http://h/"],
            &["--expect-json", "/status", "http://h/"],
            &["--connect-to", "a:80:b", "http://h/"],
            &["--resolve", "h:80:not-an-ip", "http://h/"],
            &["--interface", "lo", "--source", "127.0.0.1", "http://h/"],
            &["--interface", "lo", "unix:/s.sock:/"],
            &["-X", "HEAD", "-d", "x", "http://h/"],
            &["-X", "HEAD", "--expect-json", "/a=1", "http://h/"],
            &["-d", "@/nonexistent/file", "http://h/"],
        ] {
            let parsed = args(bad).unwrap();
            assert!(parsed.to_spec().is_err(), "{bad:?} accepted");
        }
        for bad in [
            &["-t", "0", "http://h/"][..],
            &["-t", "abc", "http://h/"],
            &["-X", "TRACE", "http://h/"],
            &["--http2", "--h2c", "http://h/"],
            &["-4", "-6", "http://h/"],
            &["--cert", "c.pem", "http://h/"],
            &[][..],
        ] {
            assert!(args(bad).is_err(), "{bad:?} accepted by clap");
        }
    }

    #[test]
    fn reach_and_shape_flags_reach_the_spec() {
        let a = args(&[
            "--connect-to",
            "app:443:127.0.0.1:8443",
            "--resolve",
            "app:443:127.0.0.2",
            "--interface",
            "127.0.0.3",
            "--http2",
            "--proxy-protocol",
            "v2",
            "--expect-status",
            "2xx",
            "--expect-body",
            "^ok",
            "--expect-json",
            "/status=UP",
            "-d",
            "a=1",
            "https://app/",
        ])
        .unwrap();
        let spec = a.to_spec().unwrap();
        assert_eq!((spec.connect_to.len(), spec.resolve.len()), (1, 1));
        assert_eq!(spec.bind.source, Some("127.0.0.3".parse().unwrap()));
        assert_eq!(spec.http_version, elb_probe::HttpVersion::Http2);
        assert_eq!(spec.proxy_protocol, Some(elb_probe::ProxyProtocol::V2));
        assert!(spec.expect.contains(204) && spec.body_regex.is_some());
        assert_eq!(spec.json_rules[0].pointer, "/status");
        assert_eq!(
            (spec.method, spec.body.as_deref()),
            (Method::Post, Some(&b"a=1"[..]))
        );
        let named = args(&["--interface", "eth0", "-X", "put", "-d", "x", "http://h/"]).unwrap();
        let spec = named.to_spec().unwrap();
        assert_eq!(spec.bind.interface.as_deref(), Some("eth0"));
        assert_eq!(spec.method, Method::Put);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("20ms").unwrap(), Duration::from_millis(20));
        assert!(parse_duration("-1").is_err() && parse_duration("NaN").is_err());
        assert!(parse_duration("7200").is_err());
    }
}
