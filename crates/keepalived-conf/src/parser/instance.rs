//! `vrrp_instance NAME { }` and the per-line syntaxes it uses (VIPs, routes, rules, trackers).

use super::blocks::{notify_keyword, weight};
use super::global::{count, seconds};
use super::values::{parse_int, parse_prefix};
use super::{PResult, Parser, flag};
use crate::diag::{ExitClass, Severity};
use crate::keywords::Block;
use crate::model::{
    Broadcast, InitialState, Notify, Route, Rule, TrackInterface, TrackRef, UnicastPeer,
    VirtualAddress, Vmac,
};
use crate::reader::Line;
use std::net::IpAddr;
use std::time::Duration;

/// An instance as written; [`crate::validate`] applies defaults and the final checks.
#[derive(Debug, Clone, Default)]
pub(crate) struct InstanceDraft {
    pub name: String,
    pub file: std::sync::Arc<str>,
    pub line: u32,
    pub state: Option<InitialState>,
    pub interface: Option<String>,
    pub vrid: Option<u8>,
    pub priority: Option<u8>,
    pub advert_int: Option<Duration>,
    pub version: Option<u8>,
    pub native_ipv6: bool,
    pub nopreempt: bool,
    pub preempt_delay: Option<Duration>,
    pub auth_type: Option<String>,
    pub auth_pass: Option<String>,
    /// Each VIP with the line it was written on.
    pub vips: Vec<(VirtualAddress, u32)>,
    pub vips_excluded: Vec<VirtualAddress>,
    pub routes: Vec<Route>,
    pub rules: Vec<Rule>,
    pub track_interface: Vec<TrackInterface>,
    pub track_script: Vec<TrackRef>,
    pub track_file: Vec<TrackRef>,
    pub dont_track_primary: bool,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peer: Vec<UnicastPeer>,
    pub unicast_ttl: Option<u8>,
    pub unicast_fault_no_peer: bool,
    pub check_unicast_src: bool,
    pub mcast_src_ip: Option<IpAddr>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub track_src_ip: bool,
    pub garp_master_delay: Option<Duration>,
    pub garp_master_repeat: Option<u32>,
    pub garp_master_refresh: Option<Duration>,
    pub garp_master_refresh_repeat: Option<u32>,
    pub garp_lower_prio_delay: Option<Duration>,
    pub garp_lower_prio_repeat: Option<u32>,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub owner_ignore_adverts: Option<bool>,
    pub down_timer_adverts: Option<u32>,
    pub timer_expired_backup: Option<u8>,
    pub smtp_alert: Option<bool>,
    pub notify: Notify,
    pub notify_priority_changes: Option<bool>,
    pub use_vmac: Option<Vmac>,
    pub vmac_xmit_base: bool,
    pub accept: Option<bool>,
    pub strict_mode: Option<bool>,
    pub skip_check_adv_addr: Option<bool>,
    pub v3_checksum_as_v2: Option<bool>,
    pub no_virtual_ipaddress: bool,
    pub promote_secondaries: bool,
}

fn addr_word(p: &mut Parser<'_>, l: &Line, i: usize) -> PResult<Option<IpAddr>> {
    let w = p.arg(l, i)?;
    match w.text.parse::<IpAddr>() {
        Ok(a) => Ok(Some(a)),
        Err(_) => {
            p.error(
                l,
                i,
                format!(
                    "{} '{}' is not a valid IP address - ignored",
                    l.words[0].text, w.text
                ),
            );
            Ok(None)
        }
    }
}

/// One VIP line: `ADDR[/LEN] [dev IF] [brd ADDR|+|-] [scope S] [label L] [peer A] [flags...]`.
/// `Ok(None)` when the address is invalid (reported).
pub(crate) fn vip(
    p: &mut Parser<'_>,
    l: &Line,
    _default_dev: Option<&str>,
) -> PResult<Option<VirtualAddress>> {
    let first = &l.words[0].text;
    let Some(pre) = parse_prefix(first) else {
        p.error(
            l,
            0,
            format!("VRRP parsed invalid IP {first}. skipping IP..."),
        );
        return Ok(None);
    };
    let mut a = VirtualAddress {
        addr: pre.addr,
        prefix_len: pre.len,
        dev: None,
        brd: None,
        scope: None,
        label: None,
        peer: None,
        home: false,
        nodad: false,
        mngtmpaddr: false,
        noprefixroute: false,
        autojoin: false,
        no_track: false,
        preferred_lft: None,
        use_vmac: false,
    };
    let mut i = 1;
    while i < l.words.len() {
        let opt = l.words[i].text.as_str();
        let takes_value = matches!(
            opt,
            "dev" | "brd" | "broadcast" | "scope" | "label" | "peer" | "preferred_lft"
        );
        if takes_value && i + 1 >= l.words.len() {
            // keepalived reports these ("No label parameter specified") and goes on.
            p.error(
                l,
                i,
                format!("No {opt} parameter specified for {first} - ignored"),
            );
            break;
        }
        let val = l
            .words
            .get(i + 1)
            .map(|w| w.text.clone())
            .unwrap_or_default();
        match opt {
            "dev" => a.dev = Some(val),
            "brd" | "broadcast" => {
                a.brd = match val.as_str() {
                    "+" => Some(Broadcast::Plus),
                    "-" => Some(Broadcast::Minus),
                    s => match s.parse() {
                        Ok(b) => Some(Broadcast::Addr(b)),
                        Err(_) => {
                            p.error(
                                l,
                                i + 1,
                                format!("invalid broadcast address '{s}' - ignored"),
                            );
                            None
                        }
                    },
                }
            }
            "scope" => {
                const SCOPES: [&str; 5] = ["site", "link", "host", "nowhere", "global"];
                if SCOPES.contains(&val.as_str()) || val.parse::<u8>().is_ok() {
                    a.scope = Some(val);
                } else {
                    p.error(l, i + 1, format!("invalid scope '{val}' - ignored"));
                }
            }
            "label" => a.label = Some(val),
            "peer" => match parse_prefix(&val) {
                Some(pp) => a.peer = Some(pp.addr),
                None => p.error(l, i + 1, format!("invalid peer address '{val}' - ignored")),
            },
            "preferred_lft" => {
                if val == "forever" {
                    a.preferred_lft = Some(u32::MAX);
                } else {
                    match val.parse::<u32>() {
                        Ok(v) => a.preferred_lft = Some(v),
                        Err(_) => {
                            p.error(l, i + 1, format!("invalid preferred_lft '{val}' - ignored"))
                        }
                    }
                }
            }
            "home" => a.home = true,
            "-nodad" | "nodad" => a.nodad = true,
            "mngtmpaddr" => a.mngtmpaddr = true,
            "noprefixroute" => a.noprefixroute = true,
            "autojoin" => a.autojoin = true,
            "no_track" => a.no_track = true,
            "track" => a.no_track = false,
            "use_vmac" => a.use_vmac = true,
            other => p.error(l, i, format!("unknown VIP option '{other}' - ignored")),
        }
        i += if takes_value { 2 } else { 1 };
    }
    Ok(Some(a))
}

/// One route line (`ip route` syntax). `None` when unusable (reported).
/// A route option without its value is fatal, as in keepalived (unlike VIP options).
pub(crate) fn route(p: &mut Parser<'_>, l: &Line, tracked: bool) -> PResult<Option<Route>> {
    let words: Vec<String> = l.words.iter().map(|w| w.text.clone()).collect();
    let mut r = Route {
        route_type: None,
        to: None,
        src: None,
        via: None,
        dev: None,
        table: None,
        metric: None,
        no_track: false,
        words: words.clone(),
    };
    let mut i = 0;
    const TYPES: [&str; 7] = [
        "blackhole",
        "unreachable",
        "prohibit",
        "throw",
        "local",
        "broadcast",
        "multicast",
    ];
    while i < words.len() {
        let w = words[i].as_str();
        const WITH_VALUE: [&str; 12] = [
            "src",
            "to",
            "via",
            "gw",
            "dev",
            "oif",
            "table",
            "metric",
            "priority",
            "preference",
            "mtu",
            "scope",
        ];
        if WITH_VALUE.contains(&w) && i + 1 >= words.len() {
            p.arg(l, i + 1)?;
        }
        let val = words.get(i + 1).map(String::as_str);
        let mut step = 2;
        match w {
            _ if TYPES.contains(&w) && r.to.is_none() => {
                r.route_type = Some(w.to_string());
                step = 1;
            }
            "src" => r.src = val.and_then(|v| v.parse().ok()),
            "to" => r.to = val.and_then(parse_prefix),
            "via" | "gw" => {
                if w == "gw" {
                    p.error(
                        l,
                        i,
                        "\"gw\" for routes is deprecated. Please use \"via\"".into(),
                    );
                }
                r.via = val.and_then(|v| v.parse().ok());
            }
            "or" => p.error(
                l,
                i,
                "\"or\" for routes is deprecated. Please use \"nexthop\"".into(),
            ),
            "dev" | "oif" => r.dev = val.map(str::to_string),
            "table" => r.table = val.map(str::to_string),
            "metric" | "priority" | "preference" => r.metric = val.and_then(|v| v.parse().ok()),
            "no_track" => {
                r.no_track = true;
                step = 1;
            }
            "track" => step = 1,
            _ if i == 0 || (r.to.is_none() && r.route_type.is_some() && i == 1) => {
                match parse_prefix(w) {
                    Some(pre) => r.to = Some(pre),
                    None => {
                        p.error(
                            l,
                            i,
                            format!("invalid route destination '{w}' - route ignored"),
                        );
                        return Ok(None);
                    }
                }
                step = 1;
            }
            // Other `ip route` options (nexthop, mtu, scope, proto, ...): kept in `words`.
            _ => step = 1,
        }
        i += step;
    }
    if tracked && !r.no_track && r.dev.is_none() {
        let dest =
            r.to.map(|t| format!("{}/{}", t.addr, t.len))
                .unwrap_or_default();
        p.error(
            l,
            0,
            format!(
                "Warning - cannot track route {dest} with no interface specified, not tracking"
            ),
        );
        r.no_track = true;
    }
    Ok(Some(r))
}

/// One rule line (`ip rule` syntax).
pub(crate) fn rule(p: &mut Parser<'_>, l: &Line) -> Option<Rule> {
    let words: Vec<String> = l.words.iter().map(|w| w.text.clone()).collect();
    let mut r = Rule {
        from: None,
        to: None,
        table: None,
        preference: None,
        no_track: false,
        words: words.clone(),
    };
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        let val = words.get(i + 1).map(String::as_str).unwrap_or("");
        let mut step = 2;
        match w {
            "from" | "to" => {
                if val == "all" {
                } else if let Some(pre) = parse_prefix(val) {
                    if w == "from" {
                        r.from = Some(pre);
                    } else {
                        r.to = Some(pre);
                    }
                } else {
                    p.error(
                        l,
                        i + 1,
                        format!("VRRP parsed invalid IP {val}. skipping IP..."),
                    );
                    p.error(l, i + 1, format!("Invalid rule {w} address {val}"));
                    return None;
                }
            }
            "table" | "lookup" => r.table = Some(val.to_string()),
            "preference" | "pref" | "priority" => match val.parse() {
                Ok(v) => r.preference = Some(v),
                Err(_) => p.error(l, i + 1, format!("invalid rule preference '{val}'")),
            },
            "no_track" => {
                r.no_track = true;
                step = 1;
            }
            _ => step = 1,
        }
        i += step;
    }
    if r.preference.is_none() {
        p.error(
            l,
            0,
            "Rule has no preference specified. This is probably not what you want.".into(),
        );
    }
    Some(r)
}

/// `track_interface { IF [weight N [reverse]] }`.
pub(crate) fn track_interfaces<'a>(
    p: &mut Parser<'a>,
    l: &'a Line,
) -> PResult<Vec<TrackInterface>> {
    let mut out = Vec::new();
    for e in p.value_block(l) {
        let mut t = TrackInterface {
            name: e.words[0].text.clone(),
            weight: 0,
            reverse: false,
        };
        if e.words.len() == 2 && e.words[1].text == "weight" {
            p.error(
                e,
                1,
                format!("{}: weight without a value - ignored", e.words[0].text),
            );
        } else if e.words.get(1).is_some_and(|w| w.text == "weight") {
            let shifted = shift(e);
            if let Some((w, r)) = weight(p, &shifted, 254)? {
                if w.abs() == 254 {
                    p.error(
                        e,
                        2,
                        format!(
                            "track_interface {} weight {w} is outside -253..253 - using {}",
                            t.name,
                            w.clamp(-253, 253)
                        ),
                    );
                }
                t.weight = w.clamp(-253, 253);
                t.reverse = r.unwrap_or(false);
            }
        }
        out.push(t);
    }
    Ok(out)
}

/// `track_script { NAME [weight N [reverse]] }` / `track_file { ... }`.
pub(crate) fn track_refs<'a>(
    p: &mut Parser<'a>,
    l: &'a Line,
    scripts: bool,
) -> PResult<Vec<TrackRef>> {
    let mut out = Vec::new();
    for e in p.value_block(l) {
        let name = e.words[0].text.clone();
        let known = if scripts {
            p.draft.config.scripts.contains_key(&name)
        } else {
            p.draft.config.track_files.contains_key(&name)
        };
        if !known {
            let what = if scripts {
                "track script"
            } else {
                "track file"
            };
            p.error(e, 0, format!("{what} {name} not found, ignoring..."));
            continue;
        }
        let mut t = TrackRef {
            name,
            weight: None,
            reverse: None,
        };
        if e.words.len() == 2 && e.words[1].text == "weight" {
            p.error(
                e,
                1,
                format!("{}: weight without a value - ignored", e.words[0].text),
            );
        } else if e.words.get(1).is_some_and(|w| w.text == "weight") {
            let shifted = shift(e);
            if let Some((w, r)) = weight(p, &shifted, 254)? {
                t.weight = Some(w);
                t.reverse = r;
            }
        }
        out.push(t);
    }
    Ok(out)
}

/// The line without its first word, so `NAME weight N` reads like `weight N`.
fn shift(l: &Line) -> Line {
    let mut s = l.clone();
    s.words.remove(0);
    s
}

pub(super) fn instance<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    let Some(name) = l.words.get(1).map(|w| w.text.clone()) else {
        p.error(
            l,
            0,
            "vrrp_instance must have a name - block skipped".into(),
        );
        p.skip_block_if_any();
        return Ok(());
    };
    if p.draft.instance_names.contains(&name) {
        p.error(
            l,
            1,
            format!("vrrp instance {name} already defined - block skipped"),
        );
        p.skip_block_if_any();
        return Ok(());
    }
    if !p.open_block(l) {
        return Ok(());
    }
    let mut d = InstanceDraft {
        name,
        file: l.file.clone(),
        line: l.line,
        ..InstanceDraft::default()
    };
    p.each_in_block(l, |p, e| keyword(p, e, &mut d))?;
    p.draft.instance_names.insert(d.name.clone());
    p.draft.instances.push(d);
    Ok(())
}

fn keyword<'a>(p: &mut Parser<'a>, e: &'a Line, d: &mut InstanceDraft) -> PResult<()> {
    if notify_keyword(p, e, &mut d.notify)? {
        return Ok(());
    }
    p.note_if_newer(e);
    let kw = e.words[0].text.as_str();
    let secs = |v: u32| Duration::from_secs(u64::from(v));
    match kw {
        "state" => {
            let w = p.arg(e, 1)?;
            match w.text.as_str() {
                "MASTER" => d.state = Some(InitialState::Master),
                "BACKUP" => {
                    if d.state == Some(InitialState::Master) {
                        p.error(e, 1, "state BACKUP after state MASTER - ignored".into());
                    } else {
                        d.state = Some(InitialState::Backup);
                    }
                }
                other => {
                    p.error(
                        e,
                        1,
                        format!("({}) unknown state '{other}', defaulting to BACKUP", d.name),
                    );
                    d.state = Some(InitialState::Backup);
                }
            }
        }
        "interface" => {
            let w = p.arg(e, 1)?;
            if w.text.len() >= 16 {
                p.error(
                    e,
                    1,
                    format!(
                        "interface name '{}' is longer than 15 characters - ignored",
                        w.text
                    ),
                );
            } else if w.text == "lo" {
                p.error(
                    e,
                    1,
                    "cannot use the loopback interface for VRRP - ignored".into(),
                );
            } else {
                d.interface = Some(w.text.clone());
            }
        }
        "virtual_router_id" => {
            let w = p.arg(e, 1)?;
            match parse_int(&w.text, 1, 255) {
                Some(v) => d.vrid = Some(v as u8),
                None => p.error(
                    e,
                    1,
                    format!(
                        "({}): VRID '{}' not valid - must be between 1 & 255",
                        d.name, w.text
                    ),
                ),
            }
        }
        "priority" => {
            let w = p.arg(e, 1)?;
            match parse_int(&w.text, 1, 255) {
                Some(v) => d.priority = Some(v as u8),
                None => {
                    p.error(e, 1, format!("({}) Priority '{}' not valid! must be between 1 & 255. Using default 100", d.name, w.text));
                    d.priority = Some(100);
                }
            }
        }
        "advert_int" => {
            if let Some(v) = seconds(p, e, 1, Duration::from_millis(10), Duration::from_secs(255))?
            {
                d.advert_int = Some(v);
            }
        }
        "version" => {
            if let Some(v) = count(p, e, 1, 2, 3)? {
                d.version = Some(v as u8);
            }
        }
        "native_ipv6" => d.native_ipv6 = true,
        "nopreempt" => d.nopreempt = true,
        "preempt" => d.nopreempt = false,
        "preempt_delay" => {
            if let Some(v) = seconds(p, e, 1, Duration::ZERO, Duration::from_secs(1000))? {
                d.preempt_delay = Some(v);
            }
        }
        "authentication" => {
            if p.open_block(e) {
                p.each_in_block(e, |p, a| {
                    match a.words[0].text.as_str() {
                        "auth_type" => {
                            let w = p.arg(a, 1)?;
                            if w.text == "PASS" || w.text == "AH" {
                                d.auth_type = Some(w.text.clone());
                            } else {
                                p.error(
                                    a,
                                    1,
                                    format!("unknown auth_type '{}' - must be PASS or AH", w.text),
                                );
                            }
                        }
                        "auth_pass" => {
                            let w = p.arg(a, 1)?;
                            let mut pass = w.text.clone();
                            if pass.len() > 8 {
                                p.error(a, 1, "Truncating auth_pass to 8 characters".into());
                                let mut cut = 8;
                                while !pass.is_char_boundary(cut) {
                                    cut -= 1;
                                }
                                pass.truncate(cut);
                            }
                            d.auth_pass = Some(pass);
                        }
                        _ => p.other_keyword(Block::Authentication, a),
                    }
                    Ok(())
                })?;
            }
        }
        "virtual_ipaddress" => {
            for v in p.value_block(e) {
                if let Some(a) = vip(p, v, None)? {
                    d.vips.push((a, v.line));
                }
            }
        }
        "virtual_ipaddress_excluded" => {
            for v in p.value_block(e) {
                if let Some(a) = vip(p, v, None)? {
                    d.vips_excluded.push(a);
                }
            }
        }
        "virtual_routes" => {
            for v in p.value_block(e) {
                if let Some(r) = route(p, v, true)? {
                    d.routes.push(r);
                }
            }
        }
        "virtual_rules" => {
            for v in p.value_block(e) {
                if let Some(r) = rule(p, v) {
                    d.rules.push(r);
                }
            }
        }
        "track_interface" => {
            let t = track_interfaces(p, e)?;
            d.track_interface.extend(t);
        }
        "track_script" => {
            let t = track_refs(p, e, true)?;
            d.track_script.extend(t);
        }
        "track_file" => {
            let t = track_refs(p, e, false)?;
            d.track_file.extend(t);
        }
        "dont_track_primary" => d.dont_track_primary = true,
        "unicast_src_ip" => d.unicast_src_ip = addr_word(p, e, 1)?,
        "unicast_peer" => {
            for v in p.value_block(e) {
                let Some(pre) = parse_prefix(&v.words[0].text) else {
                    p.error(
                        v,
                        0,
                        format!(
                            "invalid unicast_peer address '{}' - ignored",
                            v.words[0].text
                        ),
                    );
                    continue;
                };
                let mut peer = UnicastPeer {
                    addr: pre.addr,
                    min_ttl: None,
                    max_ttl: None,
                };
                let mut i = 1;
                while i < v.words.len() {
                    let opt = v.words[i].text.as_str();
                    if opt == "min_ttl" || opt == "max_ttl" {
                        let val = p.arg(v, i + 1)?;
                        match parse_int(&val.text, 0, 255) {
                            Some(t) if opt == "min_ttl" => peer.min_ttl = Some(t as u8),
                            Some(t) => peer.max_ttl = Some(t as u8),
                            None => p.error(v, i + 1, format!("invalid {opt} '{}'", val.text)),
                        }
                        i += 2;
                    } else {
                        p.error(
                            v,
                            i,
                            format!("unknown unicast_peer option '{opt}' - ignored"),
                        );
                        i += 1;
                    }
                }
                if d.unicast_peer.iter().any(|q| q.addr == peer.addr) {
                    p.report(
                        v,
                        0,
                        Severity::Warning,
                        ExitClass::None,
                        format!("duplicate unicast peer {} - ignored", peer.addr),
                    );
                } else {
                    d.unicast_peer.push(peer);
                }
            }
        }
        "unicast_ttl" => {
            if let Some(v) = count(p, e, 1, 0, 255)? {
                d.unicast_ttl = Some(v as u8);
            }
        }
        "unicast_fault_no_peer" => d.unicast_fault_no_peer = true,
        "check_unicast_src" => d.check_unicast_src = true,
        "mcast_src_ip" => d.mcast_src_ip = addr_word(p, e, 1)?,
        "mcast_dst_ip" => {
            if let Some(a) = addr_word(p, e, 1)? {
                if a.is_multicast() {
                    d.mcast_dst_ip = Some(a);
                } else {
                    p.error(e, 1, format!("mcast_dst_ip {a} is not multicast - ignored"));
                }
            }
        }
        "track_src_ip" => d.track_src_ip = true,
        "garp_master_delay" => {
            d.garp_master_delay = count(p, e, 1, 0, i64::from(u32::MAX))?
                .map(secs)
                .or(d.garp_master_delay)
        }
        "garp_master_repeat" => {
            d.garp_master_repeat = count(p, e, 1, 1, i64::from(u32::MAX))?.or(d.garp_master_repeat)
        }
        "garp_master_refresh" => {
            d.garp_master_refresh = count(p, e, 1, 0, i64::from(u32::MAX))?
                .map(secs)
                .or(d.garp_master_refresh)
        }
        "garp_master_refresh_repeat" => {
            d.garp_master_refresh_repeat =
                count(p, e, 1, 1, i64::from(u32::MAX))?.or(d.garp_master_refresh_repeat)
        }
        "garp_lower_prio_delay" => {
            d.garp_lower_prio_delay = count(p, e, 1, 0, i64::from(u32::MAX))?
                .map(secs)
                .or(d.garp_lower_prio_delay)
        }
        "garp_lower_prio_repeat" => {
            d.garp_lower_prio_repeat =
                count(p, e, 1, 1, i64::from(u32::MAX))?.or(d.garp_lower_prio_repeat)
        }
        "lower_prio_no_advert" => d.lower_prio_no_advert = Some(flag(p, e)),
        "higher_prio_send_advert" => d.higher_prio_send_advert = Some(flag(p, e)),
        "owner_ignore_adverts" => d.owner_ignore_adverts = Some(flag(p, e)),
        "down_timer_adverts" => {
            d.down_timer_adverts = count(p, e, 1, 1, 100)?.or(d.down_timer_adverts)
        }
        "timer_expired_backup" | "thread_timer_expired" => {
            if p.soft_arg(e, 1, "timer_expired_backup needs a priority - ignored")
                .is_some()
            {
                d.timer_expired_backup = count(p, e, 1, 1, 254)?.map(|v| v as u8);
            }
        }
        "smtp_alert" => d.smtp_alert = Some(flag(p, e)),
        "notify_priority_changes" => d.notify_priority_changes = Some(flag(p, e)),
        "use_vmac" => {
            let mut v = Vmac {
                name: None,
                mac: None,
            };
            let mut i = 1;
            while i < e.words.len() {
                let w = e.words[i].text.as_str();
                match w {
                    "name" => {
                        v.name = Some(p.arg(e, i + 1)?.text.clone());
                        i += 1;
                    }
                    "netlink_notify_msg" => {}
                    "group" => i += 1,
                    _ if w.contains(':') => v.mac = Some(w.to_string()),
                    _ if v.name.is_none() => v.name = Some(w.to_string()),
                    _ => p.error(e, i, format!("use_vmac: unexpected '{w}' - ignored")),
                }
                i += 1;
            }
            d.use_vmac = Some(v);
        }
        "vmac_xmit_base" => d.vmac_xmit_base = true,
        "accept" => d.accept = Some(true),
        "no_accept" => d.accept = Some(false),
        "strict_mode" => d.strict_mode = Some(flag(p, e)),
        // keepalived sets the flag even for `skip_check_adv_addr false` (reference b.5).
        "skip_check_adv_addr" => {
            flag(p, e);
            d.skip_check_adv_addr = Some(true);
        }
        "v3_checksum_as_v2" => d.v3_checksum_as_v2 = Some(flag(p, e)),
        "no_virtual_ipaddress" => d.no_virtual_ipaddress = true,
        "promote_secondaries" => d.promote_secondaries = true,
        "debug" => {
            p.arg(e, 1)?;
        }
        "lvs_sync_daemon_interface" => {
            p.error(e, 0, format!("({}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated. Please use global lvs_sync_daemon", d.name));
        }
        _ => p.other_keyword(Block::Instance, e),
    }
    Ok(())
}
