//! LVS and BFD blocks (`virtual_server`, `virtual_server_group`, `real_server`, the checkers,
//! `bfd_instance`): vrrpd runs none of them, but `-t` validates them as keepalived 2.2.7 does
//! (same class for bad values, missing parameters and scripts, found by running its `-t` on
//! variations), so a file keepalived's checker process would refuse is not called clean.

use super::values::{parse_int, parse_prefix, parse_seconds};
use super::{PResult, Parser};
use crate::diag::{ExitClass, Severity};
use crate::origin::At;
use crate::reader::Line;
use crate::script::parse_script;
use std::net::IpAddr;
use std::time::Duration;

/// What a keyword's first argument must be.
#[derive(Clone, Copy)]
enum Arg {
    /// No argument needed (extra words are ignored).
    Flag,
    /// Any word, required.
    Word,
    /// An integer in the range.
    Int(i64, i64),
    /// Decimal seconds, at least a microsecond.
    Timer,
    /// One of the words.
    Choice(&'static [&'static str]),
    /// An IP address.
    Addr,
    /// A TCP/UDP port.
    Port,
    /// A script command (security-checked like notify scripts).
    Script,
    /// A sub-block with its own keywords.
    Block(&'static [(&'static str, Arg)]),
}

/// The largest 32-bit unsigned value, as the integers are checked.
const U32_MAX: i64 = u32::MAX as i64;

const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos",
];
const METHODS: &[&str] = &["NAT", "DR", "TUN"];
const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];
const DNS_TYPES: &[&str] = &[
    "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY",
];

/// Keywords every checker takes (`CHECKER_TYPE` in keepalived.conf(5)).
const CHECKER_COMMON: &[(&str, Arg)] = &[
    ("connect_ip", Arg::Addr),
    ("connect_port", Arg::Port),
    ("bindto", Arg::Addr),
    ("bind_if", Arg::Word),
    ("bind_port", Arg::Port),
    ("fwmark", Arg::Int(0, U32_MAX)),
    ("alpha", Arg::Flag),
    ("connect_timeout", Arg::Timer),
    ("retry", Arg::Int(0, U32_MAX)),
    ("nb_get_retry", Arg::Int(0, U32_MAX)),
    ("delay_before_retry", Arg::Timer),
    ("warmup", Arg::Timer),
    ("delay_loop", Arg::Timer),
    ("log_all_failures", Arg::Flag),
];

const URL: &[(&str, Arg)] = &[
    ("path", Arg::Word),
    ("digest", Arg::Word),
    ("status_code", Arg::Word),
    ("virtualhost", Arg::Word),
    ("regex", Arg::Word),
    ("regex_no_match", Arg::Flag),
    ("regex_options", Arg::Word),
    ("regex_stack", Arg::Word),
    ("regex_min_offset", Arg::Word),
    ("regex_max_offset", Arg::Word),
];

const HTTP: &[(&str, Arg)] = &[
    ("http_protocol", Arg::Word),
    ("fast_recovery", Arg::Flag),
    ("enable_sni", Arg::Flag),
    ("virtualhost", Arg::Word),
    ("url", Arg::Block(URL)),
];
const SMTP: &[(&str, Arg)] = &[
    ("helo_name", Arg::Word),
    ("host", Arg::Block(CHECKER_COMMON)),
];
const DNS: &[(&str, Arg)] = &[("type", Arg::Choice(DNS_TYPES)), ("name", Arg::Word)];
const MISC: &[(&str, Arg)] = &[
    ("misc_path", Arg::Script),
    ("misc_timeout", Arg::Int(0, U32_MAX)),
    ("misc_dynamic", Arg::Flag),
    ("user", Arg::Word),
];
const BFD_CHECK: &[(&str, Arg)] = &[("name", Arg::Word)];
const UDP: &[(&str, Arg)] = &[
    ("payload", Arg::Word),
    ("require_reply", Arg::Flag),
    ("min_reply_length", Arg::Int(0, 65535)),
    ("max_reply_length", Arg::Int(0, 65535)),
];
const FILE: &[(&str, Arg)] = &[
    ("track_file", Arg::Word),
    ("dynamic", Arg::Flag),
    ("weight", Arg::Int(-2_147_483_647, 2_147_483_647)),
];

/// The checker blocks and their own keywords (the common ones are added to each).
const CHECKERS: &[(&str, &[(&str, Arg)])] = &[
    ("HTTP_GET", HTTP),
    ("SSL_GET", HTTP),
    ("TCP_CHECK", &[]),
    ("MISC_CHECK", MISC),
    ("SMTP_CHECK", SMTP),
    ("DNS_CHECK", DNS),
    ("UDP_CHECK", UDP),
    ("PING_CHECK", &[]),
    ("FILE_CHECK", FILE),
    ("BFD_CHECK", BFD_CHECK),
];

/// Keywords of `virtual_server` and `real_server` alike.
const SERVER_COMMON: &[(&str, Arg)] = &[
    ("lvs_method", Arg::Choice(METHODS)),
    ("lb_kind", Arg::Choice(METHODS)),
    ("smtp_alert", Arg::Flag),
    ("virtualhost", Arg::Word),
    ("snmp_name", Arg::Word),
    ("alpha", Arg::Flag),
    ("connect_timeout", Arg::Timer),
    ("retry", Arg::Int(0, U32_MAX)),
    ("delay_before_retry", Arg::Timer),
    ("warmup", Arg::Timer),
    ("delay_loop", Arg::Timer),
    ("inhibit_on_failure", Arg::Flag),
];

const REAL_SERVER: &[(&str, Arg)] = &[
    ("weight", Arg::Int(0, 2_147_483_647)),
    ("notify_up", Arg::Script),
    ("notify_down", Arg::Script),
    ("uthreshold", Arg::Int(0, U32_MAX)),
    ("lthreshold", Arg::Int(0, U32_MAX)),
];

const VIRTUAL_SERVER: &[(&str, Arg)] = &[
    ("lvs_sched", Arg::Choice(SCHEDULERS)),
    ("lb_algo", Arg::Choice(SCHEDULERS)),
    ("flag-1", Arg::Flag),
    ("flag-2", Arg::Flag),
    ("flag-3", Arg::Flag),
    ("sh-port", Arg::Flag),
    ("sh-fallback", Arg::Flag),
    ("mh-port", Arg::Flag),
    ("mh-fallback", Arg::Flag),
    ("hashed", Arg::Flag),
    ("ops", Arg::Flag),
    ("persistence_engine", Arg::Word),
    ("persistence_timeout", Arg::Flag),
    ("persistence_granularity", Arg::Word),
    ("protocol", Arg::Choice(PROTOCOLS)),
    ("ha_suspend", Arg::Flag),
    ("omega", Arg::Flag),
    ("quorum", Arg::Int(0, U32_MAX)),
    ("hysteresis", Arg::Int(0, U32_MAX)),
    ("quorum_up", Arg::Script),
    ("quorum_down", Arg::Script),
    ("ip_family", Arg::Choice(&["inet", "inet6"])),
    ("sorry_server", Arg::Addr),
    ("sorry_server_inhibit", Arg::Flag),
    ("sorry_server_lvs_method", Arg::Choice(METHODS)),
    // Found by trying keepalived 2.2.7 itself: accepted at the virtual_server level too.
    ("weight", Arg::Int(0, 2_147_483_647)),
];

const BFD_INSTANCE: &[(&str, Arg)] = &[
    ("neighbor_ip", Arg::Word),
    ("neighbour_ip", Arg::Word),
    ("source_ip", Arg::Addr),
    ("min_rx", Arg::Word),
    ("min_tx", Arg::Word),
    ("idle_tx", Arg::Word),
    ("multiplier", Arg::Int(1, 255)),
    ("passive", Arg::Flag),
    ("ttl", Arg::Int(0, 255)),
    ("hoplimit", Arg::Int(0, 255)),
    ("max_hops", Arg::Int(0, 255)),
    ("weight", Arg::Int(-253, 253)),
    ("vrrp", Arg::Flag),
    ("checker", Arg::Flag),
];

/// What one block's lines said, for the checks made at its `}`.
#[derive(Default)]
struct Seen {
    keywords: Vec<String>,
    real_servers: usize,
    persistence: bool,
}

impl Seen {
    fn has(&self, kw: &str) -> bool {
        self.keywords.iter().any(|k| k == kw)
    }
}

fn lookup(tables: &[&'static [(&'static str, Arg)]], kw: &str) -> Option<Arg> {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .find(|(k, _)| *k == kw)
        .map(|(_, a)| *a)
}

/// Checks one keyword line's argument; `Ok(false)` when it is invalid (reported).
fn check_arg(p: &mut Parser<'_>, l: &Line, arg: Arg) -> PResult<bool> {
    let kw = l.words[0].text.clone();
    let ok = match arg {
        Arg::Flag | Arg::Block(_) => true,
        Arg::Word => {
            p.arg(l, 1)?;
            true
        }
        Arg::Int(min, max) => parse_int(&p.arg(l, 1)?.text, min, max).is_some(),
        Arg::Timer => {
            parse_seconds(&p.arg(l, 1)?.text).is_some_and(|d| d >= Duration::from_micros(1))
        }
        Arg::Choice(words) => words.contains(&p.arg(l, 1)?.text.as_str()),
        Arg::Addr => p.arg(l, 1)?.text.parse::<IpAddr>().is_ok(),
        Arg::Port => parse_int(&p.arg(l, 1)?.text, 1, 65535).is_some(),
        Arg::Script => {
            p.arg(l, 1)?;
            let cmd = parse_script(super::rest_after_keyword(l));
            super::blocks::note_notify(p, l, cmd.as_ref());
            if let Some(c) = cmd {
                p.draft.check_scripts.push(c);
            }
            true
        }
    };
    if !ok {
        let v = l.words.get(1).map(|w| w.text.as_str()).unwrap_or("");
        p.error(l, 1, format!("{kw} '{v}' is invalid - ignoring"));
    }
    Ok(ok)
}

/// Reads the body of an LVS/BFD block whose keyword line is `l`, checking each keyword against
/// `tables`; sub-blocks recurse with `sub`. Unknown keywords: class 5, block skipped.
fn body<'a>(
    p: &mut Parser<'a>,
    l: &'a Line,
    tables: &[&'static [(&'static str, Arg)]],
    sub: &mut dyn FnMut(&mut Parser<'a>, &'a Line, &mut Seen) -> PResult<bool>,
) -> PResult<Seen> {
    let mut seen = Seen::default();
    p.open_block(l);
    p.each_in_block(l, |p, e| {
        let kw = e.words[0].text.clone();
        if sub(p, e, &mut seen)? {
            seen.keywords.push(kw);
            return Ok(());
        }
        match lookup(tables, &kw) {
            Some(Arg::Block(t)) => {
                let name = kw.clone();
                let inner = body(p, e, &[t], &mut |_, _, _| Ok(false))?;
                if name == "url" && !inner.has("path") {
                    p.error(
                        e,
                        0,
                        "HTTP/SSL_GET checker url has no path - ignoring".into(),
                    );
                }
            }
            Some(arg) => {
                if check_arg(p, e, arg)? {
                    value_checks(p, e)?;
                }
            }
            None => {
                let note = if p.peek_is_open() {
                    " (its whole block is skipped)"
                } else {
                    ""
                };
                p.report(
                    e,
                    0,
                    Severity::Warning,
                    ExitClass::ConfigError,
                    format!("unknown keyword '{kw}'{note}"),
                );
                p.skip_block_if_any();
            }
        }
        if kw == "persistence_timeout" {
            seen.persistence = true;
        }
        seen.keywords.push(kw);
        Ok(())
    })?;
    Ok(seen)
}

/// The value checks keepalived makes beyond the argument's type.
fn value_checks(p: &mut Parser<'_>, e: &Line) -> PResult<()> {
    let kw = e.words[0].text.as_str();
    let v = e.words.get(1).map(|w| w.text.as_str()).unwrap_or("");
    let bad = match kw {
        "persistence_timeout" => !v.is_empty() && parse_int(v, 1, 2_678_400).is_none(),
        "digest" => v.len() != 32 || !v.bytes().all(|b| b.is_ascii_hexdigit()),
        "status_code" => !e.words[1..].iter().all(|w| status_codes(&w.text)),
        "payload" => v.len() % 2 != 0 || !v.bytes().all(|b| b.is_ascii_hexdigit()),
        "neighbor_ip" | "neighbour_ip" => v.parse::<IpAddr>().is_err(),
        "min_rx" | "min_tx" | "idle_tx" => parse_seconds(v)
            .is_none_or(|d| d < Duration::from_secs(1) || d > Duration::from_secs(4_294_967)),
        "name" | "track_file" if !v.is_empty() => {
            let bfd = match (p.draft.lvs_checker, kw) {
                ("BFD_CHECK", "name") => Some(true),
                ("FILE_CHECK", "track_file") => Some(false),
                _ => None,
            };
            if let Some(bfd) = bfd {
                p.draft.lvs_refs.push((At::of(e), v.to_string(), bfd));
            }
            false
        }
        "sorry_server" => e
            .words
            .get(2)
            .is_some_and(|w| parse_int(&w.text, 1, 65535).is_none()),
        _ => false,
    };
    if bad {
        p.error(e, 1, format!("{kw} '{v}' is invalid - ignoring"));
    }
    Ok(())
}

/// `200`, `200-299`: HTTP status codes keepalived accepts (100..=599).
fn status_codes(w: &str) -> bool {
    let ok = |s: &str| parse_int(s, 100, 599).is_some();
    match w.split_once('-') {
        Some((a, b)) => ok(a) && ok(b),
        None => ok(w),
    }
}

/// `ADDR [PORT]` of a virtual or real server; the address, or `None` (reported).
fn server_address(p: &mut Parser<'_>, l: &Line, what: &str) -> Option<IpAddr> {
    let a = l.words.get(1).map(|w| w.text.as_str()).unwrap_or("");
    let port = l.words.get(2).map(|w| w.text.as_str());
    let addr = a.parse::<IpAddr>().ok();
    let port_ok = port.is_none_or(|v| parse_int(v, 0, 65535).is_some());
    if addr.is_none() || !port_ok {
        p.error(
            l,
            1,
            format!(
                "Invalid {what} IP address/port {a}/{} - skipping",
                port.unwrap_or("")
            ),
        );
        return None;
    }
    addr
}

/// `virtual_server ADDR [PORT] | fwmark N | group NAME { ... }`.
pub(super) fn virtual_server<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    let first = p.arg(l, 1)?.text.clone();
    let (family, fwmark, port0) = match first.as_str() {
        "fwmark" => {
            let v = p.arg(l, 2)?;
            if parse_int(&v.text, 1, U32_MAX).is_none() {
                p.error(
                    l,
                    2,
                    format!("virtual server fwmark '{}' is invalid", v.text),
                );
            }
            (None, true, false)
        }
        "group" => {
            p.arg(l, 2)?;
            (None, false, false)
        }
        _ => {
            let port = l.words.get(2).map(|w| w.text.as_str());
            let addr = server_address(p, l, "virtual server");
            (addr.map(|a| a.is_ipv6()), false, port.is_none())
        }
    };
    let mut rs = |p: &mut Parser<'a>, e: &'a Line, seen: &mut Seen| -> PResult<bool> {
        if e.words[0].text != "real_server" {
            return Ok(false);
        }
        p.arg(e, 1)?;
        let addr = server_address(p, e, "real server");
        let usable = match (addr, family) {
            (Some(a), Some(v6)) if a.is_ipv6() != v6 => {
                p.error(e, 1, format!("Address family of virtual server and real server {a} don't match - skipping real server."));
                false
            }
            (Some(_), _) => true,
            (None, _) => false,
        };
        real_server(p, e)?;
        seen.real_servers += usize::from(usable);
        Ok(true)
    };
    let seen = body(p, l, &[VIRTUAL_SERVER, SERVER_COMMON], &mut rs)?;
    virtual_server_checks(p, l, &seen, fwmark, port0);
    Ok(())
}

/// keepalived's final checks of a virtual server (all class 5).
fn virtual_server_checks(p: &mut Parser<'_>, l: &Line, seen: &Seen, fwmark: bool, port0: bool) {
    if seen.real_servers == 0 {
        p.error(l, 0, "virtual server has no real servers - ignoring".into());
    }
    if !seen.has("lvs_sched") && !seen.has("lb_algo") {
        p.error(
            l,
            0,
            "virtual server: no scheduler set, setting default 'wlc'".into(),
        );
    }
    if !seen.has("lvs_method") && !seen.has("lb_kind") {
        p.error(
            l,
            0,
            "virtual server: no forwarding method set, setting default NAT".into(),
        );
    }
    match (fwmark, seen.has("protocol")) {
        (true, true) => p.error(
            l,
            0,
            "Warning: Virtual server: protocol specified for fwmark - protocol will be ignored"
                .into(),
        ),
        (false, false) => p.error(
            l,
            0,
            "virtual server: no protocol set - defaulting to UDP".into(),
        ),
        _ => {}
    }
    if port0 && !seen.persistence {
        p.error(
            l,
            0,
            "virtual server: zero port only valid for persistent services - setting".into(),
        );
    }
}

/// `real_server ADDR [PORT] { ... }` with its checkers.
fn real_server<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    let mut checker = |p: &mut Parser<'a>, e: &'a Line, _: &mut Seen| -> PResult<bool> {
        let kw = e.words[0].text.as_str();
        let Some((_, own)) = CHECKERS.iter().find(|(k, _)| *k == kw) else {
            return Ok(false);
        };
        p.draft.lvs_checker = CHECKERS
            .iter()
            .find(|(k, _)| *k == kw)
            .map_or("", |(k, _)| k);
        let seen = body(p, e, &[own, CHECKER_COMMON], &mut |_, _, _| Ok(false))?;
        p.draft.lvs_checker = "";
        checker_checks(p, e, kw, &seen);
        Ok(true)
    };
    body(p, l, &[REAL_SERVER, SERVER_COMMON], &mut checker)?;
    Ok(())
}

/// What a checker block must hold; references to BFD instances and track files are resolved
/// once the whole file is read.
fn checker_checks(p: &mut Parser<'_>, l: &Line, kind: &str, seen: &Seen) {
    match kind {
        "MISC_CHECK" if !seen.has("misc_path") => {
            p.error(
                l,
                0,
                "No script path has been specified for MISC_CHECKER - skipping".into(),
            );
        }
        "HTTP_GET" | "SSL_GET" if !seen.has("url") => {
            p.error(
                l,
                0,
                "HTTP/SSL_GET checker has no urls specified - ignoring".into(),
            );
        }
        "FILE_CHECK" if !seen.has("track_file") => {
            p.error(
                l,
                0,
                "FILE_CHECK has no track_file specified - ignoring".into(),
            );
        }
        _ => {}
    }
}

/// `virtual_server_group NAME { ADDR [PORT] | ADDR-RANGE [PORT] | fwmark N [inet|inet6] }`.
pub(super) fn virtual_server_group<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    p.arg(l, 1)?;
    if !p.peek_is_open() {
        // keepalived 2.2.7 then reads the next line as a parameter and stops (exit 2).
        let msg = "virtual_server_group without '{': keepalived stops here (missing parameter)";
        p.report(
            l,
            0,
            Severity::Fatal,
            ExitClass::MissingParameter,
            msg.into(),
        );
        return Err(super::MissingParam);
    }
    let mut entries = 0;
    for e in p.value_block(l) {
        let w = e.words[0].text.as_str();
        let ok = if w == "fwmark" {
            p.arg(e, 1)?;
            parse_int(&e.words[1].text, 0, U32_MAX).is_some()
        } else {
            group_address(w)
                && e.words
                    .get(1)
                    .is_none_or(|p| parse_int(&p.text, 0, 65535).is_some())
        };
        if ok {
            entries += 1;
        } else {
            p.error(
                e,
                0,
                format!("Invalid virtual server group IP address {w} - skipping"),
            );
        }
    }
    if entries == 0 {
        p.error(
            l,
            1,
            format!(
                "virtual server group {} has no entries - removing",
                l.words[1].text
            ),
        );
    }
    Ok(())
}

/// `ADDR`, `ADDR-LAST` (last byte or group, or a whole address) or `ADDR/LEN`.
fn group_address(w: &str) -> bool {
    if let Some((a, last)) = w.split_once('-') {
        return a.parse::<IpAddr>().is_ok()
            && (last.parse::<IpAddr>().is_ok()
                || parse_int(last, 0, 255).is_some()
                || u16::from_str_radix(last, 16).is_ok());
    }
    parse_prefix(w).is_some()
}

/// `bfd_instance NAME { neighbor_ip ADDR ... }`.
pub(super) fn bfd_instance<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    let Some(name) = l.words.get(1).map(|w| w.text.clone()) else {
        // keepalived 2.2.7 crashes here; refuse the block instead.
        p.error(l, 0, "bfd_instance must have a name - block skipped".into());
        p.skip_block_if_any();
        return Ok(());
    };
    if !p.draft.bfd_names.insert(name.clone()) {
        p.error(
            l,
            1,
            format!("Configuration error: BFD instance {name} already configured - ignoring"),
        );
    }
    let seen = body(p, l, &[BFD_INSTANCE], &mut |_, _, _| Ok(false))?;
    if !seen.has("neighbor_ip") && !seen.has("neighbour_ip") {
        p.error(l, 1, format!("Configuration error: BFD instance {name} has no neighbor address set, disabling instance"));
    }
    Ok(())
}

/// `BFD_CHECK { name N }` and `FILE_CHECK { track_file N }` name objects that must exist once
/// the whole file is read.
pub(super) fn resolve_references(p: &mut Parser<'_>, refs: Vec<(At, String, bool)>) {
    for (at, name, bfd) in refs {
        let known = if bfd {
            p.draft.bfd_names.contains(&name)
        } else {
            p.draft.config.track_files.contains_key(&name)
        };
        if !known {
            let msg = if bfd {
                format!("BFD_CHECK - BFD {name} not configured")
            } else {
                format!("track_file {name} not found")
            };
            p.diags.push(crate::origin::diag_at(
                Some(&at),
                Severity::Error,
                ExitClass::ConfigError,
                if bfd { "BFD_CHECK" } else { "FILE_CHECK" },
                msg,
            ));
        }
    }
}
