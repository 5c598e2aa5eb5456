//! The per-line syntaxes of address lists: VIPs (`virtual_ipaddress`, `static_ipaddress`),
//! routes (`ip route` syntax) and rules (`ip rule` syntax).

use super::track_group::{named, needs_interface};
use super::values::parse_prefix;
use super::{PResult, Parser};
use crate::diag::{ExitClass, Severity};
use crate::keywords::{self, Block, Status};
use crate::model::{Broadcast, Nexthop, Prefix, Route, Rule, VirtualAddress};
use crate::reader::Line;

/// One VIP line: `ADDR[/LEN] [dev IF] [brd ADDR|+|-] [scope S] [label L] [peer A] [flags...]`;
/// a `static_ipaddress` line (`statics`) may also name a `track_group`.
/// `Ok(None)` when the address is invalid (reported).
pub(crate) fn vip(p: &mut Parser<'_>, l: &Line, statics: bool) -> PResult<Option<VirtualAddress>> {
    let first = &l.words[0].text;
    let Some(pre) = parse_prefix(first) else {
        p.error(
            l,
            0,
            format!("VRRP parsed invalid IP {first}. skipping IP..."),
        );
        return Ok(None);
    };
    let mut a = bare_vip(pre.addr, pre.len);
    let mut i = 1;
    while i < l.words.len() {
        let opt = l.words[i].text.as_str();
        let takes_value = matches!(
            opt,
            "dev" | "brd" | "broadcast" | "scope" | "label" | "peer" | "preferred_lft"
        ) || (statics && opt == "track_group");
        if statics && opt == "track_group" && i + 1 >= l.words.len() {
            p.error(
                l,
                i,
                format!("No track_group parameter specified for {first}"),
            );
            break;
        }
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
            "track_group" if statics => track_option(p, l, i + 1, &mut a.track_group),
            other => p.error(l, i, format!("unknown VIP option '{other}' - ignored")),
        }
        if let Some(Status::NotHonoured { instead }) = keywords::status(Block::VipOption, opt) {
            p.report(
                l,
                i,
                Severity::Warning,
                ExitClass::None,
                format!("VIP {first}: option `{opt}` is not honoured by vrrpd; instead: {instead}"),
            );
        }
        i += if takes_value { 2 } else { 1 };
    }
    Ok(Some(a))
}

/// A VIP line's address before its options.
fn bare_vip(addr: std::net::IpAddr, prefix_len: u8) -> VirtualAddress {
    VirtualAddress {
        addr,
        prefix_len,
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
        track_group: None,
    }
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
        nexthops: Vec::new(),
        track_group: None,
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
        const WITH_VALUE: [&str; 13] = [
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
            "track_group",
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
            // Static routes only: keepalived does not know it on `virtual_routes`.
            "track_group" if !tracked => track_option(p, l, i + 1, &mut r.track_group),
            "track_group" => p.error(l, i, "unknown route keyword track_group".into()),
            "nexthop" => {
                let (nh, used) = nexthop(&words[i + 1..]);
                r.nexthops.push(nh);
                step = 1 + used;
            }
            "default" if r.to.is_none() && (i == 0 || r.route_type.is_some()) => {
                r.to = Some(Prefix {
                    addr: std::net::Ipv4Addr::UNSPECIFIED.into(),
                    len: 0,
                });
                step = 1;
            }
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
    finish_route(p, l, &mut r, tracked);
    let has_dev = r.dev.is_some() || r.nexthops.iter().any(|n| n.dev.is_some());
    needs_interface(p, l, &mut r.track_group, has_dev, false);
    Ok(Some(r))
}

/// After a route line is read: `default` takes the family of its gateways, and a tracked
/// route without an interface is reported and not tracked (as keepalived).
fn finish_route(p: &mut Parser<'_>, l: &Line, r: &mut Route, tracked: bool) {
    // `default` takes the family of the gateways.
    let v6_gateway = r
        .via
        .into_iter()
        .chain(r.nexthops.iter().filter_map(|n| n.via))
        .any(|v| v.is_ipv6());
    if let Some(to) = &mut r.to
        && to.len == 0
        && v6_gateway
    {
        to.addr = std::net::Ipv6Addr::UNSPECIFIED.into();
    }
    // A static route is checked so only when it names a track group (keepalived checks
    // them all; vrrpd has not said so about the others so far).
    if (tracked || r.track_group.is_some()) && !r.no_track && r.dev.is_none() {
        let dest = match r.to {
            Some(t) if t.len == 0 => "default".to_string(),
            Some(t) => format!("{}/{}", t.addr, t.len),
            None => String::new(),
        };
        p.error(
            l,
            0,
            format!(
                "Warning - cannot track route {dest} with no interface specified, not tracking"
            ),
        );
        r.no_track = true;
    }
}

/// The words of one `nexthop` (`via ADDR`, `dev IF`, `weight N`) and how many it used.
fn nexthop(words: &[String]) -> (Nexthop, usize) {
    let mut nh = Nexthop {
        via: None,
        dev: None,
        weight: None,
    };
    let mut i = 0;
    while i + 1 < words.len() {
        let val = &words[i + 1];
        match words[i].as_str() {
            "via" | "gw" => nh.via = val.parse().ok(),
            "dev" | "oif" => nh.dev = Some(val.clone()),
            "weight" => nh.weight = val.parse().ok().filter(|w| (1..=256).contains(w)),
            _ => break,
        }
        i += 2;
    }
    (nh, i)
}

/// One rule line (`ip rule` syntax); a `static_rules` line (`statics`) may name a
/// `track_group`. A `track_group` without its name is fatal, as in keepalived.
pub(crate) fn rule(p: &mut Parser<'_>, l: &Line, statics: bool) -> PResult<Option<Rule>> {
    let words: Vec<String> = l.words.iter().map(|w| w.text.clone()).collect();
    let mut r = Rule {
        from: None,
        to: None,
        table: None,
        preference: None,
        iif: None,
        no_track: false,
        track_group: None,
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
                    return Ok(None);
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
            "iif" | "dev" => r.iif = Some(val.to_string()),
            "track_group" if statics => {
                p.arg(l, i + 1)?;
                track_option(p, l, i + 1, &mut r.track_group);
            }
            "track_group" => {
                p.error(l, i, "Unknown rule option track_group".into());
                step = 1;
            }
            _ => step = 1,
        }
        i += step;
    }
    let has_iif = r.iif.is_some();
    needs_interface(p, l, &mut r.track_group, has_iif, true);
    if r.preference.is_none() {
        p.error(
            l,
            0,
            "Rule has no preference specified. This is probably not what you want.".into(),
        );
    }
    Ok(Some(r))
}

/// `track_group NAME` at word `i - 1`: the first one on a line counts, a second is reported.
fn track_option(p: &mut Parser<'_>, l: &Line, i: usize, slot: &mut Option<String>) {
    if slot.is_some() {
        let name = l.words.get(i).map_or("", |w| w.text.as_str());
        p.error(l, i, format!("track_group {name} is a duplicate"));
        return;
    }
    *slot = named(p, l, i);
}
