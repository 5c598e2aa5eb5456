//! From the command line to a [`ProbeSpec`]: every flag validated, every
//! combination that would mean nothing refused with a sentence (usage
//! error, exit 2) instead of being ignored.

use elb_probe::{
    Bind, HeaderRule, HttpVersion, IpFamily, JsonRule, Method, ProbeSpec, ProxyProtocol, Scheme,
    StatusSet, Target, valid_header_name, valid_header_value,
};

use crate::cli::{Args, Format, MethodArg, ProxyArg};

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

fn method(arg: MethodArg) -> Method {
    match arg {
        MethodArg::Get => Method::Get,
        MethodArg::Head => Method::Head,
        MethodArg::Post => Method::Post,
        MethodArg::Put => Method::Put,
        MethodArg::Delete => Method::Delete,
        MethodArg::Options => Method::Options,
        MethodArg::Patch => Method::Patch,
    }
}

/// `--data TEXT`, or `--data @FILE` as curl reads it.
fn body(data: &str) -> Result<Vec<u8>, String> {
    match data.strip_prefix('@') {
        Some(path) => std::fs::read(path).map_err(|e| format!("--data @{path}: {e}")),
        None => Ok(data.as_bytes().to_vec()),
    }
}

fn json_rule(text: &str) -> Result<JsonRule, String> {
    let (pointer, expected) = text
        .split_once('=')
        .ok_or_else(|| format!("--expect-json {text:?} is not POINTER=VALUE"))?;
    if !(pointer.is_empty() || pointer.starts_with('/')) {
        return Err(format!(
            "--expect-json pointer {pointer:?} must start with / (RFC 6901, e.g. /status)"
        ));
    }
    Ok(JsonRule {
        pointer: pointer.to_string(),
        expected: expected.to_string(),
    })
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
        self.check_watch()?;
        let https = target.scheme == Scheme::Https;
        if self.cert_days.is_some() && !https {
            return Err(
                "--cert-days needs an https:// URL (there is no certificate to check)".into(),
            );
        }
        if self.http2 && !https {
            return Err("--http2 is negotiated over TLS: use --h2c for cleartext HTTP/2".into());
        }
        if self.h2c && https {
            return Err("--h2c is cleartext HTTP/2: use --http2 for https://".into());
        }
        if self.interface.is_some() && self.source.is_some() {
            return Err("give either --interface or --source, not both".into());
        }
        let unix = matches!(target.endpoint, elb_probe::Endpoint::Unix { .. });
        if unix
            && (self.interface.is_some()
                || self.source.is_some()
                || !self.connect_to.is_empty()
                || !self.resolve.is_empty())
        {
            return Err(
                "--interface, --source, --connect-to and --resolve apply to TCP, not to a Unix socket"
                    .into(),
            );
        }
        Ok(())
    }

    /// Watch-mode options need --watch, and --watch needs somewhere to publish.
    fn check_watch(&self) -> Result<(), String> {
        if self.watch.is_none() {
            let given = [
                (self.rise != 1, "--rise"),
                (self.fall != 1, "--fall"),
                (self.track_file.is_some(), "--track-file"),
                (self.notify_socket.is_some(), "--notify-socket"),
                (self.track_name.is_some(), "--track-name"),
                (self.up_value != 0, "--up-value"),
                (self.down_value != -254, "--down-value"),
            ];
            if let Some((_, flag)) = given.iter().find(|(set, _)| *set) {
                return Err(format!("{flag} applies to --watch mode"));
            }
            return Ok(());
        }
        if self.format != Format::Plain {
            return Err("--watch publishes to --track-file/--notify-socket: --format applies to one-shot probes".into());
        }
        if self.track_file.is_none() && self.notify_socket.is_none() {
            return Err("--watch needs --track-file PATH or --notify-socket PATH".into());
        }
        if self.up_value == self.down_value {
            return Err("--up-value and --down-value must differ".into());
        }
        if let Some(dir) = self.track_file.as_deref().and_then(|p| p.parent()) {
            if !dir.as_os_str().is_empty() && !dir.is_dir() {
                return Err(format!(
                    "--track-file: directory {} does not exist",
                    dir.display()
                ));
            }
        }
        Ok(())
    }

    /// Validates the flags and builds the probe. The error is a usage error (exit 2).
    pub fn to_spec(&self) -> Result<ProbeSpec, String> {
        let mut target = Target::parse(&self.url).map_err(|e| e.to_string())?;
        if let Some(path) = &self.unix_socket {
            if self.url.starts_with("unix:") {
                return Err("--unix-socket cannot be combined with a unix: URL".to_string());
            }
            target = target.via_unix_socket(path.clone());
        }
        self.check_combinations(&target)?;
        let mut spec = ProbeSpec::new(target);
        spec.timeout = self.timeout;
        self.request_into(&mut spec)?;
        self.rules_into(&mut spec)?;
        self.reach_into(&mut spec)?;
        spec.max_redirects = if self.location { self.max_redirs } else { 0 };
        spec.tls.ca_file = self.cacert.clone();
        spec.tls.client_cert = self.cert.clone().zip(self.key.clone());
        spec.tls.sni = self.sni.clone();
        spec.tls.insecure = self.insecure;
        spec.limits.max_body_bytes = self.max_body;
        Ok(spec)
    }

    /// Method, Host, headers and body.
    fn request_into(&self, spec: &mut ProbeSpec) -> Result<(), String> {
        spec.method = match (self.method, &self.data) {
            (Some(m), _) => method(m),
            (None, Some(_)) => Method::Post,
            (None, None) => Method::Get,
        };
        if let Some(data) = &self.data {
            if spec.method == Method::Head {
                return Err("-X HEAD cannot send a body (--data)".to_string());
            }
            spec.body = Some(body(data)?);
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
        Ok(())
    }

    /// What the answer must be.
    fn rules_into(&self, spec: &mut ProbeSpec) -> Result<(), String> {
        let body_rules =
            self.string.is_some() || self.regex.is_some() || !self.expect_json.is_empty();
        if spec.method == Method::Head && body_rules {
            return Err(
                "-X HEAD has no body, so --string/--regex/--expect-json cannot match".to_string(),
            );
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
        for rule in &self.expect_json {
            spec.json_rules.push(json_rule(rule)?);
        }
        Ok(())
    }

    /// Where and how to connect.
    fn reach_into(&self, spec: &mut ProbeSpec) -> Result<(), String> {
        for entry in &self.connect_to {
            spec.connect_to
                .push(entry.parse().map_err(|e| format!("--connect-to {e}"))?);
        }
        for entry in &self.resolve {
            spec.resolve
                .push(entry.parse().map_err(|e| format!("--resolve {e}"))?);
        }
        spec.bind = match (&self.interface, self.source) {
            (Some(text), _) => match text.parse() {
                Ok(ip) => Bind {
                    source: Some(ip),
                    interface: None,
                },
                Err(_) if !text.is_empty() && text.len() < 16 && !text.contains('/') => Bind {
                    source: None,
                    interface: Some(text.clone()),
                },
                Err(_) => return Err(format!("--interface {text:?} is not an interface name")),
            },
            (None, source) => Bind {
                source,
                interface: None,
            },
        };
        spec.http_version = match (self.http2, self.h2c) {
            (true, _) => HttpVersion::Http2,
            (_, true) => HttpVersion::H2c,
            _ => HttpVersion::Http1,
        };
        spec.proxy_protocol = self.proxy_protocol.map(|p| match p {
            ProxyArg::V1 => ProxyProtocol::V1,
            ProxyArg::V2 => ProxyProtocol::V2,
        });
        spec.family = match (self.ipv4, self.ipv6) {
            (true, _) => IpFamily::V4,
            (_, true) => IpFamily::V6,
            _ => IpFamily::Any,
        };
        Ok(())
    }
}
