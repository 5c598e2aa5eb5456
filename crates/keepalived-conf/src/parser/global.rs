//! `global_defs { }`.

use super::values::{parse_int, parse_seconds};
use super::{PResult, Parser, flag, rest_after_keyword};
use crate::keywords::Block;
use crate::model::{NotifyFifo, RunAs, SmtpServer};
use crate::reader::Line;
use crate::script::parse_script;
use std::time::Duration;

/// An unsigned count in `min..=max`; out of range: error, `None`.
pub(crate) fn count(
    p: &mut Parser<'_>,
    l: &Line,
    i: usize,
    min: i64,
    max: i64,
) -> PResult<Option<u32>> {
    let w = p.arg(l, i)?;
    match parse_int(&w.text, min, max) {
        Some(v) => Ok(u32::try_from(v).ok()),
        None => {
            p.error(
                l,
                i,
                format!(
                    "{} '{}' is invalid - must be {min}..{max}; ignored",
                    l.words[0].text, w.text
                ),
            );
            Ok(None)
        }
    }
}

/// `[all] SECS` of `garp_extra_if` (`min` 0) and `vrrp_garp_extra_if` (`min` 1), read as
/// keepalived 2.2.7 reads it (measured with `-t`): `all` may stand anywhere, the last number
/// counts, up to 86400; no number, or any other word, is an error and the line is ignored.
pub(crate) fn garp_extra_if(
    p: &mut Parser<'_>,
    l: &Line,
    name: &str,
    min: i64,
) -> Option<crate::model::GarpExtraIf> {
    let mut all = false;
    let mut secs = None;
    for w in &l.words[1..] {
        if w.text == "all" {
            all = true;
        } else if let Some(v) = parse_int(&w.text, min, 86_400) {
            secs = Some(v);
        } else {
            p.error(l, 0, format!("{name} '{}' invalid - ignoring", w.text));
            return None;
        }
    }
    let Some(secs) = secs else {
        p.error(l, 0, format!("{name} specified without time - ignoring"));
        return None;
    };
    Some(crate::model::GarpExtraIf {
        interval: Duration::from_secs(secs.unsigned_abs()),
        all,
    })
}

/// keepalived 2.2.7's error (class 5) for the old name of a keyword it still acts on.
pub(crate) fn deprecated_alias(p: &mut Parser<'_>, l: &Line, old: &str, new: &str) {
    if l.words[0].text == old {
        p.error(
            l,
            0,
            format!("Keyword \"{old}\" is deprecated - please use \"{new}\""),
        );
    }
}

/// Decimal seconds in `min..=max`; invalid: error, `None`.
pub(crate) fn seconds(
    p: &mut Parser<'_>,
    l: &Line,
    i: usize,
    min: Duration,
    max: Duration,
) -> PResult<Option<Duration>> {
    let w = p.arg(l, i)?;
    match parse_seconds(&w.text).filter(|d| (min..=max).contains(d)) {
        Some(d) => Ok(Some(d)),
        None => {
            p.error(
                l,
                i,
                format!(
                    "{} '{}' is invalid - must be {} to {} seconds; ignored",
                    l.words[0].text,
                    w.text,
                    min.as_secs_f64(),
                    max.as_secs_f64()
                ),
            );
            Ok(None)
        }
    }
}

fn fifo(p: &mut Parser<'_>, l: &Line) -> Option<NotifyFifo> {
    let path = p
        .soft_arg(l, 1, "fifo name not specified - ignoring")?
        .text
        .clone();
    Some(NotifyFifo {
        path,
        user: l.words.get(2).map(|w| w.text.clone()),
        group: l.words.get(3).map(|w| w.text.clone()),
        script: None,
    })
}

/// One line of `global_defs`: each group of keywords has its handler.
pub(super) fn keyword<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    p.keyword_status(Block::GlobalDefs, l);
    let handled = mail(p, l)?
        || scripts(p, l)?
        || protocol(p, l)?
        || nft_options(p, l)?
        || garp_and_adverts(p, l)?
        || firewall(p, l)
        || super::tuning::keyword(p, l)?
        || reading(p, l)?
        || process_naming(p, l)?
        || host_settings(l, &mut p.draft.config.global_defs);
    if !handled {
        p.other_keyword(Block::GlobalDefs, l);
    }
    Ok(())
}

/// Router identity and the SMTP alert settings.
fn mail<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<bool> {
    let secs = |v: u32| Duration::from_secs(u64::from(v));
    match l.words[0].text.as_str() {
        "router_id" => {
            if let Some(w) = p.soft_arg(l, 1, "routerid name missing - ignoring") {
                p.draft.config.global_defs.router_id = Some(w.text.clone());
            }
        }
        "notification_email" => {
            let emails: Vec<String> = p
                .value_block(l)
                .into_iter()
                .map(|e| e.words[0].text.clone())
                .collect();
            if emails.is_empty() {
                p.error(l, 0, "Warning - empty notification_email block".into());
            }
            p.draft.config.global_defs.notification_email.extend(emails);
        }
        "notification_email_from" => {
            if let Some(w) = p.soft_arg(l, 1, "notification_email_from missing - ignoring") {
                p.draft.config.global_defs.notification_email_from = Some(w.text.clone());
            }
        }
        "smtp_server" => {
            let host = p.arg(l, 1)?.text.clone();
            let port = match l.words.get(2) {
                None => 25,
                Some(w) => match parse_int(&w.text, 1, 65535) {
                    Some(v) => v as u16,
                    None => {
                        p.error(l, 2, format!("invalid SMTP port '{}' - using 25", w.text));
                        25
                    }
                },
            };
            p.draft.config.global_defs.smtp_server = Some(SmtpServer { host, port });
        }
        "smtp_helo_name" => {
            if let Some(w) = p.soft_arg(l, 1, "") {
                p.draft.config.global_defs.smtp_helo_name = Some(w.text.clone());
            }
        }
        "smtp_connect_timeout" => {
            // keepalived keeps it in microseconds in 32 bits: at most 4294 s.
            if let Some(v) = count(p, l, 1, 1, 4294)? {
                p.draft.config.global_defs.smtp_connect_timeout = secs(v);
            }
        }
        "smtp_alert" => {
            let v = Some(flag(p, l));
            p.draft.config.global_defs.smtp_alert = v;
        }
        "smtp_alert_vrrp" => {
            let v = Some(flag(p, l));
            p.draft.config.global_defs.smtp_alert_vrrp = v;
        }
        "no_email_faults" => {
            let v = true;
            p.draft.config.global_defs.no_email_faults = v;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The options of the no_accept rules (keepalived 2.2.7 ignores the flags' arguments).
fn nft_options(p: &mut Parser<'_>, l: &Line) -> PResult<bool> {
    match l.words[0].text.as_str() {
        "nftables_counters" => p.draft.config.global_defs.nftables_counters = true,
        "nftables_ifindex" => p.draft.config.global_defs.nftables_ifindex = true,
        "nftables_priority" => {
            let w = p.arg(l, 1)?;
            match w.text.parse::<i32>() {
                Ok(v) => p.draft.config.global_defs.nftables_priority = v,
                Err(_) => p.error(
                    l,
                    1,
                    format!("invalid nftables chain priority '{}'", w.text),
                ),
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Script security, the default script user, FIFOs and startup/shutdown scripts.
fn scripts<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<bool> {
    let kw = l.words[0].text.as_str();
    match l.words[0].text.as_str() {
        "enable_script_security" => {
            let v = true;
            p.draft.config.global_defs.enable_script_security = v;
        }
        "script_user" => {
            if let Some(w) = p.soft_arg(l, 1, "No script username specified") {
                let user = w.text.clone();
                let group = l
                    .words
                    .get(2)
                    .map(|w| w.text.trim_start_matches(':').to_string());
                p.draft.config.global_defs.script_user = Some(RunAs { user, group });
                p.draft.origins.script_user = Some(crate::origin::At::of(l));
            }
        }
        "vrrp_notify_fifo" => {
            if let Some(f) = fifo(p, l) {
                p.draft.config.global_defs.vrrp_notify_fifo = Some(f);
            }
        }
        "notify_fifo" => {
            if let Some(f) = fifo(p, l) {
                p.draft.config.global_defs.notify_fifo = Some(f);
            }
        }
        "fifo_write_vrrp_states_on_reload" => {
            p.draft.config.global_defs.fifo_write_vrrp_states_on_reload = true;
        }
        "vrrp_notify_fifo_script" | "notify_fifo_script" => {
            if p.soft_arg(l, 1, "fifo script not specified - ignoring")
                .is_none()
            {
                return Ok(true);
            }
            let s = parse_script(rest_after_keyword(l));
            super::blocks::note_notify(p, l, s.as_ref());
            let g = &mut p.draft.config.global_defs;
            let target = if kw == "notify_fifo_script" {
                &mut g.notify_fifo
            } else {
                &mut g.vrrp_notify_fifo
            };
            match target {
                Some(f) => f.script = s,
                None => p.error(l, 0, format!("{kw} without a preceding fifo - ignored")),
            }
        }
        "startup_script_timeout" | "shutdown_script_timeout" => {
            let max = Duration::from_secs(1000);
            if let Some(d) = seconds(p, l, 1, Duration::from_secs(1), max)? {
                let g = &mut p.draft.config.global_defs;
                if kw == "startup_script_timeout" {
                    g.startup_script_timeout = d;
                } else {
                    g.shutdown_script_timeout = d;
                }
            }
        }
        "startup_script" | "shutdown_script" => {
            if p.soft_arg(l, 1, "script not specified - ignoring")
                .is_none()
            {
                return Ok(true);
            }
            let s = parse_script(rest_after_keyword(l));
            let g = &mut p.draft.config.global_defs;
            if kw == "startup_script" {
                g.startup_script = s;
            } else {
                g.shutdown_script = s;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Protocol defaults: multicast groups, version, strict mode, VMAC, priorities.
fn protocol<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<bool> {
    match l.words[0].text.as_str() {
        "vrrp_mcast_group4" => {
            let w = p.arg(l, 1)?;
            match w.text.parse::<std::net::Ipv4Addr>() {
                Ok(a) if a.is_multicast() => p.draft.config.global_defs.vrrp_mcast_group4 = a,
                _ => p.error(
                    l,
                    1,
                    format!(
                        "vrrp_mcast_group4 '{}' is not an IPv4 multicast address - ignored",
                        w.text
                    ),
                ),
            }
        }
        "vrrp_mcast_group6" => {
            let w = p.arg(l, 1)?;
            match w.text.parse::<std::net::Ipv6Addr>() {
                Ok(a) if a.is_multicast() => p.draft.config.global_defs.vrrp_mcast_group6 = a,
                _ => p.error(
                    l,
                    1,
                    format!(
                        "vrrp_mcast_group6 '{}' is not an IPv6 multicast address - ignored",
                        w.text
                    ),
                ),
            }
        }
        "default_interface" => {
            if let Some(w) = p.soft_arg(l, 1, "default_interface missing - ignoring") {
                p.draft.config.global_defs.default_interface = Some(w.text.clone());
            }
        }
        "vrrp_version" => {
            if let Some(v) = count(p, l, 1, 2, 3)? {
                p.draft.config.global_defs.vrrp_version = v as u8;
            }
        }
        "vrrp_strict" => {
            let v = flag(p, l);
            p.draft.config.global_defs.vrrp_strict = v;
        }
        "vrrp_skip_check_adv_addr" => {
            let v = flag(p, l);
            p.draft.config.global_defs.vrrp_skip_check_adv_addr = v;
        }
        "vrrp_check_unicast_src" => {
            let v = true;
            p.draft.config.global_defs.vrrp_check_unicast_src = v;
        }
        "vrrp_startup_delay" => {
            if let Some(d) = seconds(p, l, 1, Duration::ZERO, Duration::from_secs(3600))? {
                p.draft.config.global_defs.vrrp_startup_delay = d;
            }
        }
        "vrrp_delay_after_boot" => {
            if let Some(d) = seconds(p, l, 1, Duration::ZERO, Duration::from_secs(3600))? {
                p.draft.config.global_defs.vrrp_delay_after_boot = d;
            }
        }
        "dynamic_interfaces" => {
            let v = true;
            p.draft.config.global_defs.dynamic_interfaces = v;
        }
        "vmac_prefix" => {
            let v = Some(p.arg(l, 1)?.text.clone());
            p.draft.config.global_defs.vmac_prefix = v;
        }
        "log_unknown_vrids" => p.draft.config.global_defs.log_unknown_vrids = true,
        "vmac_addr_prefix" => {
            let v = Some(p.arg(l, 1)?.text.clone());
            p.draft.config.global_defs.vmac_addr_prefix = v;
        }
        "v3_checksum_as_v2" => {
            let v = flag(p, l);
            p.draft.config.global_defs.v3_checksum_as_v2 = v;
        }
        "vrrp_notify_priority_changes" => {
            let v = flag(p, l);
            p.draft.config.global_defs.vrrp_notify_priority_changes = v;
        }
        "min_auto_priority_delay" => {
            if let Some(v) = count(p, l, 1, 1, 10_000_000)? {
                p.draft.config.global_defs.min_auto_priority_delay =
                    Duration::from_micros(v as u64);
            }
        }
        "max_auto_priority" => {
            let v = match l.words.get(1) {
                None => Some(99),
                Some(w) => match parse_int(&w.text, -1, 99) {
                    Some(v) => Some(v as i32),
                    None => {
                        p.error(
                            l,
                            1,
                            format!("max_auto_priority '{}' is invalid - must be -1..99", w.text),
                        );
                        None
                    }
                },
            };
            if v.is_some() {
                p.draft.config.global_defs.max_auto_priority = v;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// How the file itself is read: `random_seed` fixes `${_RANDOM}` (see `load_with`).
fn reading(p: &mut Parser<'_>, l: &Line) -> PResult<bool> {
    if l.words[0].text != "random_seed" {
        return Ok(false);
    }
    if let Some(v) = count(p, l, 1, 0, u32::MAX.into())? {
        p.draft.config.global_defs.random_seed = Some(v);
    }
    Ok(true)
}

/// `vrrp_process_name NAME` and `process_names`: what `ps`/`pidof` call the VRRP process.
fn process_naming(p: &mut Parser<'_>, l: &Line) -> PResult<bool> {
    match l.words[0].text.as_str() {
        "vrrp_process_name" => {
            let name = p.arg(l, 1)?.text.clone();
            p.draft.config.global_defs.vrrp_process_name = Some(name);
        }
        "process_names" => p.draft.config.global_defs.process_names = true,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Settings of the host (its network namespace) that keepalived changes while it runs.
fn host_settings(l: &Line, g: &mut crate::model::GlobalDefs) -> bool {
    match l.words[0].text.as_str() {
        "disable_local_igmp" => g.disable_local_igmp = true,
        _ => return false,
    }
    true
}

/// Gratuitous ARP timing and the advert-answering defaults.
fn garp_and_adverts<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<bool> {
    let kw = l.words[0].text.as_str();
    let secs = |v: u32| Duration::from_secs(u64::from(v));
    match l.words[0].text.as_str() {
        "vrrp_garp_master_delay" => {
            if let Some(v) = count(p, l, 1, 0, i64::from(u32::MAX))? {
                p.draft.config.global_defs.vrrp_garp_master_delay = secs(v);
            }
        }
        "vrrp_garp_master_repeat" => {
            if let Some(v) = count(p, l, 1, 1, i64::from(u32::MAX))? {
                p.draft.config.global_defs.vrrp_garp_master_repeat = v;
            }
        }
        "vrrp_garp_lower_prio_delay" => {
            if let Some(v) = count(p, l, 1, 0, i64::from(u32::MAX))? {
                p.draft.config.global_defs.vrrp_garp_lower_prio_delay = Some(secs(v));
            }
        }
        "vrrp_garp_lower_prio_repeat" => {
            if let Some(v) = count(p, l, 1, 1, i64::from(u32::MAX))? {
                p.draft.config.global_defs.vrrp_garp_lower_prio_repeat = Some(v);
            }
        }
        "vrrp_garp_master_refresh" => {
            if let Some(v) = count(p, l, 1, 0, i64::from(u32::MAX))? {
                p.draft.config.global_defs.vrrp_garp_master_refresh = secs(v);
            }
        }
        "vrrp_garp_master_refresh_repeat" => {
            if let Some(v) = count(p, l, 1, 1, i64::from(u32::MAX))? {
                p.draft.config.global_defs.vrrp_garp_master_refresh_repeat = v;
            }
        }
        "vrrp_garp_interval" | "vrrp_gna_interval" => {
            // 2.2.7 rejects an explicit 0 (minimum 0.000001 s).
            let d = seconds(
                p,
                l,
                1,
                Duration::from_micros(1),
                Duration::from_micros(4_294_967_295),
            )?;
            if let Some(d) = d {
                let g = &mut p.draft.config.global_defs;
                if kw == "vrrp_garp_interval" {
                    g.vrrp_garp_interval = d;
                } else {
                    g.vrrp_gna_interval = d;
                }
            }
        }
        "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => {
            deprecated_alias(p, l, "vrrp_vmac_garp_intvl", "vrrp_garp_extra_if");
            if let Some(x) = garp_extra_if(p, l, kw, 1) {
                p.draft.config.global_defs.vrrp_garp_extra_if = Some(x);
            }
        }
        "vrrp_min_garp" => {
            let v = flag(p, l);
            p.draft.config.global_defs.vrrp_min_garp = v;
        }
        "vrrp_down_timer_adverts" => {
            if let Some(v) = count(p, l, 1, 1, 100)? {
                p.draft.config.global_defs.vrrp_down_timer_adverts = v;
            }
        }
        "vrrp_lower_prio_no_advert" => {
            let v = Some(flag(p, l));
            p.draft.config.global_defs.vrrp_lower_prio_no_advert = v;
        }
        "vrrp_higher_prio_send_advert" => {
            let v = flag(p, l);
            p.draft.config.global_defs.vrrp_higher_prio_send_advert = v;
        }
        "vrrp_owner_ignore_adverts" => {
            let v = Some(flag(p, l));
            p.draft.config.global_defs.vrrp_owner_ignore_adverts = v;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `nftables [TABLE]`: the table name is checked here, so nft never sees a name it would
/// have to quote.
fn firewall(p: &mut Parser<'_>, l: &Line) -> bool {
    if l.words[0].text != "nftables" {
        return false;
    }
    if let Some(w) = l.words.get(1) {
        if is_nft_identifier(&w.text) {
            p.draft.config.global_defs.nftables = Some(w.text.clone());
        } else {
            p.error(
                l,
                1,
                format!(
                    "nftables: table name {:?} is not one nft takes: a letter or _ first, then letters, digits, _ - . / (at most 64)",
                    w.text
                ),
            );
        }
    }
    true
}

/// A table name nft takes unquoted, short enough to carry a `_guard` suffix.
fn is_nft_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
        && name.len() <= 64
}
