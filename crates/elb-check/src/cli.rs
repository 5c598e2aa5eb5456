//! The command line (clap derive) and its translation into a
//! [`ProbeSpec`]. Pure: every flag combination is tested without a server.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};
use elb_probe::{
    HeaderRule, IpFamily, Method, ProbeSpec, StatusSet, Target, valid_header_name,
    valid_header_value,
};

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
  5  TLS failure: certificate not verified (unknown CA, wrong name, expired)
     or TLS handshake refused
  7  protocol error: the answer is not valid HTTP (garbage, bad status line,
     oversized head, closed mid-answer), or not TLS on an https:// URL
  8  unexpected answer: status not in --expect, or --string/--regex/
     --expect-header did not match, or too many redirects
  143, 130  terminated by SIGTERM / SIGINT
With --format nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (as check_http).

elb-check never retries; one --timeout covers DNS, connect, TLS, request and
answer. Example keepalived track script:
  vrrp_script chk_elb { script \"/usr/bin/elb-check http://localhost:8280/services/EchoProxy\" interval 2 }";

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
    /// GET (default).
    Get,
    /// HEAD (no body; cannot be combined with --string/--regex).
    Head,
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

    /// Request method
    #[arg(
        short = 'X',
        long = "method",
        value_enum,
        default_value = "GET",
        ignore_case = true
    )]
    pub method: MethodArg,

    /// Accepted status codes: list of codes, classes and ranges, e.g. "200,204,3xx" or "200-299"
    #[arg(short = 'e', long, default_value = "200", value_name = "CODES")]
    pub expect: String,

    /// The body must contain this text (first --max-body bytes)
    #[arg(short = 's', long = "string", value_name = "TEXT")]
    pub string: Option<String>,

    /// The body must match this regular expression (first --max-body bytes)
    #[arg(short = 'r', long = "regex", value_name = "REGEX")]
    pub regex: Option<String>,

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

    /// Most body bytes read for --string/--regex
    #[arg(long = "max-body", default_value_t = 64 * 1024, value_name = "BYTES")]
    pub max_body: usize,
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

fn split_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("header {text:?} is not \"Name: value\""))?;
    let (name, value) = (name.trim(), value.trim());
    if !valid_header_name(name) {
        return Err(format!("invalid header name {name:?}"));
    }
    if !valid_header_value(value) {
        return Err(format!(
            "header {name:?} has control characters in its value"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

impl Args {
    /// Refuses options that mean nothing with the other flags given, rather
    /// than ignoring them (a `--warning` outside Nagios output did nothing).
    fn check_combinations(&self, target: &Target) -> Result<(), String> {
        if self.format != Format::Nagios {
            for (set, flag) in [
                (self.warning.is_some(), "--warning"),
                (self.critical.is_some(), "--critical"),
            ] {
                if set {
                    return Err(format!(
                        "{flag} sets a Nagios response-time threshold: it needs --format nagios"
                    ));
                }
            }
        }
        if self.cert_days.is_some() && target.scheme != elb_probe::Scheme::Https {
            return Err(
                "--cert-days needs an https:// URL (there is no certificate to check)".into(),
            );
        }
        Ok(())
    }

    /// Validates the flags and builds the probe. The error is a usage error (exit 2).
    pub fn to_spec(&self) -> Result<ProbeSpec, String> {
        let mut target = Target::parse(&self.url).map_err(|e| e.to_string())?;
        self.check_combinations(&target)?;
        if let Some(path) = &self.unix_socket {
            if self.url.starts_with("unix:") {
                return Err("--unix-socket cannot be combined with a unix: URL".to_string());
            }
            target = target.via_unix_socket(path.clone());
        }
        let mut spec = ProbeSpec::new(target);
        spec.timeout = self.timeout;
        spec.method = match self.method {
            MethodArg::Get => Method::Get,
            MethodArg::Head => Method::Head,
        };
        if spec.method == Method::Head && (self.string.is_some() || self.regex.is_some()) {
            return Err("-X HEAD has no body, so --string/--regex cannot match".to_string());
        }
        if let Some(host) = &self.host {
            if host.is_empty() || !valid_header_value(host) || host.contains([' ', '/']) {
                return Err(format!("invalid --host {host:?}"));
            }
            spec.host = Some(host.clone());
        }
        for header in &self.headers {
            spec.headers.push(split_header(header)?);
        }
        spec.expect = self
            .expect
            .parse::<StatusSet>()
            .map_err(|e| format!("--expect: {e}"))?;
        spec.body_contains = self.string.clone();
        if let Some(pattern) = &self.regex {
            spec.body_regex =
                Some(regex_lite::Regex::new(pattern).map_err(|e| format!("--regex: {e}"))?);
        }
        for rule in &self.expect_headers {
            let (name, contains) = split_header(rule)?;
            spec.header_rules.push(HeaderRule { name, contains });
        }
        spec.max_redirects = if self.location { self.max_redirs } else { 0 };
        spec.tls.ca_file = self.cacert.clone();
        spec.tls.client_cert = self.cert.clone().zip(self.key.clone());
        spec.tls.sni = self.sni.clone();
        spec.tls.insecure = self.insecure;
        spec.family = match (self.ipv4, self.ipv6) {
            (true, _) => IpFamily::V4,
            (_, true) => IpFamily::V6,
            _ => IpFamily::Any,
        };
        spec.limits.max_body_bytes = self.max_body;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ] {
            let parsed = args(bad).unwrap();
            assert!(parsed.to_spec().is_err(), "{bad:?} accepted");
        }
        for bad in [
            &["-t", "0", "http://h/"][..],
            &["-t", "abc", "http://h/"],
            &["-X", "POST", "http://h/"],
            &["-4", "-6", "http://h/"],
            &["--cert", "c.pem", "http://h/"],
            &[][..],
        ] {
            assert!(args(bad).is_err(), "{bad:?} accepted by clap");
        }
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
