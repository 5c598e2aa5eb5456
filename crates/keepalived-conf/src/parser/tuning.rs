//! The VRRP process's own settings in `global_defs`: `vrrp_priority`, `vrrp_rt_priority`,
//! `vrrp_no_swap`, `vrrp_cpu_affinity`, `vrrp_rlimit_rttime` (alias `vrrp_rlimit_rtime`) and
//! `umask`, with keepalived 2.2.7's argument rules and words (seen with `keepalived -t`).

use super::values::{parse_bool, parse_int};
use super::{PResult, Parser};
use crate::diag::{ExitClass, Severity};
use crate::model::RxBufsPolicy;
use crate::origin::{At, diag_at};
use crate::reader::Line;
use crate::resolver::IncludeResolver;

/// The highest CPU number accepted before the host is asked (the kernel's CPU_SETSIZE).
const MAX_CPU: i64 = 1023;

/// One `global_defs` line, if it is one of these keywords.
pub(super) fn keyword<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<bool> {
    match l.words[0].text.as_str() {
        "vrrp_priority" => nice(p, l),
        "vrrp_rt_priority" => rt_priority(p, l),
        "vrrp_no_swap" => p.draft.config.global_defs.process.no_swap = true,
        "vrrp_cpu_affinity" => cpu_affinity(p, l),
        "vrrp_rlimit_rttime" | "vrrp_rlimit_rtime" => {
            let w = p.arg(l, 1)?;
            match parse_int(&w.text, 1, i64::from(u32::MAX)) {
                Some(v) => p.draft.config.global_defs.process.rlimit_rttime = Some(v as u64),
                None => p.error(l, 1, format!("Invalid vrrp real-time limit - {}", w.text)),
            }
        }
        "umask" => {
            p.arg(l, 1)?;
            match parse_umask(
                &l.words[1..]
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>(),
            ) {
                Ok(v) => p.draft.config.global_defs.process.umask = Some(v),
                Err(why) => p.error(l, 1, why),
            }
        }
        "vrrp_rx_bufs_policy" => rx_bufs_policy(p, l),
        "vrrp_rx_bufs_multiplier" => {
            match l
                .words
                .get(1)
                .and_then(|w| parse_int(&w.text, 1, i64::from(u32::MAX)))
            {
                Some(v) => p.draft.config.global_defs.process.rx_bufs_multiplier = Some(v as u32),
                None => {
                    let arg = l
                        .words
                        .get(1)
                        .map(|w| format!(" {}", w.text))
                        .unwrap_or_default();
                    p.error(l, 1, format!("Invalid vrrp_rx_bufs_multiplier{arg}"));
                }
            }
        }
        kw => return Ok(rcv_bufs(p, l, kw)),
    }
    Ok(true)
}

/// `vrrp_rx_bufs_policy MTU|ADVERT|BYTES` (words in any case; MTU wins over ADVERT).
fn rx_bufs_policy(p: &mut Parser<'_>, l: &Line) {
    if l.words.len() < 2 {
        p.error(l, 0, "vrrp_rx_bufs_policy missing".into());
        return;
    }
    let mut policy = None;
    for (i, w) in l.words.iter().enumerate().skip(1) {
        let word = match w.text.to_ascii_uppercase().as_str() {
            "MTU" => RxBufsPolicy::Mtu,
            "ADVERT" => RxBufsPolicy::Advert,
            _ => match parse_int(&w.text, 0, i64::from(u32::MAX)) {
                Some(v) => RxBufsPolicy::Bytes(v as u32),
                None => {
                    p.error(l, i, format!("Invalid vrrp_rx_bufs_policy {}", w.text));
                    return;
                }
            },
        };
        policy = match (policy, word) {
            (Some(RxBufsPolicy::Mtu), RxBufsPolicy::Advert)
            | (Some(RxBufsPolicy::Advert), RxBufsPolicy::Mtu) => {
                let msg = "Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT";
                p.error(l, i, msg.into());
                Some(RxBufsPolicy::Mtu)
            }
            _ => Some(word),
        };
    }
    p.draft.config.global_defs.process.rx_bufs_policy = policy;
}

/// `*_rcv_bufs BYTES` (0..2^32-1) and `*_rcv_bufs_force [BOOL]` of the three sockets.
fn rcv_bufs(p: &mut Parser<'_>, l: &Line, kw: &str) -> bool {
    let (socket, force) = match kw.strip_suffix("_force") {
        Some(k) => (k, true),
        None => (kw, false),
    };
    let process = &p.draft.config.global_defs.process;
    let mut b = match socket {
        "vrrp_netlink_cmd_rcv_bufs" => process.netlink_cmd,
        "vrrp_netlink_monitor_rcv_bufs" => process.netlink_monitor,
        "process_monitor_rcv_bufs" => process.process_monitor,
        _ => return false,
    };
    if force {
        match l.words.get(1).map(|w| parse_bool(&w.text)) {
            None => b.force = true,
            Some(Some(v)) => b.force = v,
            Some(None) => {
                let msg = format!(
                    "Invalid value '{}' for global {kw} specified",
                    l.words[1].text
                );
                p.error(l, 1, msg);
                return true;
            }
        }
    } else {
        let Some(w) = p.soft_arg(l, 1, &format!("{kw} size missing")) else {
            return true;
        };
        match parse_int(&w.text, 0, i64::from(u32::MAX)) {
            Some(v) => b.bytes = v as u32,
            None => {
                let msg = format!("{kw} size ({}) invalid", w.text);
                p.error(l, 1, msg);
                return true;
            }
        }
    }
    let process = &mut p.draft.config.global_defs.process;
    match socket {
        "vrrp_netlink_cmd_rcv_bufs" => process.netlink_cmd = b,
        "vrrp_netlink_monitor_rcv_bufs" => process.netlink_monitor = b,
        _ => process.process_monitor = b,
    }
    true
}

fn nice(p: &mut Parser<'_>, l: &Line) {
    let Some(w) = p.soft_arg(l, 1, "No vrrp process priority specified") else {
        return;
    };
    match parse_int(&w.text, -20, 19) {
        Some(v) => p.draft.config.global_defs.process.nice = Some(v as i32),
        None => p.error(
            l,
            1,
            format!(
                "Invalid vrrp process priority specified ('{}': must be -20..19)",
                w.text
            ),
        ),
    }
}

/// Out of 1..99 is taken as the nearest bound, with keepalived's warning (class 5).
fn rt_priority(p: &mut Parser<'_>, l: &Line) {
    let Some(w) = p.soft_arg(l, 1, "No vrrp process real-time priority specified") else {
        return;
    };
    let Ok(v) = w.text.parse::<i64>() else {
        let msg = format!("vrrp process real-time priority '{}' invalid", w.text);
        p.error(l, 1, msg);
        return;
    };
    let clamped = v.clamp(1, 99);
    if v > 99 {
        let msg = format!(
            "vrrp process real-time priority {v} greater than maximum 99 - setting to maximum"
        );
        p.report(l, 1, Severity::Warning, ExitClass::ConfigError, msg);
    } else if v < 1 {
        let msg =
            format!("vrrp process real-time priority {v} less than minimum 1 - setting to minimum");
        p.report(l, 1, Severity::Warning, ExitClass::ConfigError, msg);
    }
    p.draft.config.global_defs.process.rt_priority = Some(clamped as i32);
}

/// CPU numbers, one a word (no ranges or commas in keepalived 2.2.7); one bad number drops
/// the keyword. Whether the host has them is checked after parsing ([`check_cpus`]).
fn cpu_affinity(p: &mut Parser<'_>, l: &Line) {
    if l.words.len() < 2 {
        p.error(l, 0, "No vrrp cpu_id set specified".into());
        return;
    }
    let mut cpus = Vec::new();
    for (i, w) in l.words.iter().enumerate().skip(1) {
        match parse_int(&w.text, 0, MAX_CPU) {
            Some(c) => cpus.push(c as u32),
            None => {
                p.error(
                    l,
                    i,
                    format!("Invalid cpu_id:{} specified for vrrp process", w.text),
                );
                return;
            }
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    p.draft.config.global_defs.process.cpu_affinity = cpus;
    p.draft.origins.cpu_affinity = Some(At::of(l));
}

/// keepalived's `umask` argument: an octal, hex or decimal number up to 0777 (C's base 0), or
/// permission bits `IRUSR`..`IXOTH` joined by `|` (in one word or as separate words).
pub(crate) fn parse_umask(words: &[&str]) -> Result<u32, String> {
    let first = words.first().copied().unwrap_or("");
    if first.starts_with(|c: char| c.is_ascii_digit()) {
        let v = parse_c_number(first)
            .filter(|v| *v <= 0o777)
            .ok_or_else(|| format!("invalid umask value {first}"))?;
        if words.len() > 1 {
            return Err("Extra parameter(s) to umask option".into());
        }
        return Ok(v);
    }
    let text = words.join(" ");
    let mut mask = 0;
    let mut rest = text.as_str();
    loop {
        rest = rest.trim_start();
        let end = rest.find(['|', ' ']).unwrap_or(rest.len());
        let bit =
            umask_bit(&rest[..end]).ok_or_else(|| format!("Unknown umask bit {}", rest.trim()))?;
        mask |= bit;
        rest = rest[end..].trim_start();
        if rest.is_empty() {
            return Ok(mask);
        }
        let Some(after) = rest.strip_prefix('|') else {
            let word = rest.split(' ').next().unwrap_or(rest);
            return Err(format!("Invalid umask syntax {word}"));
        };
        rest = after;
    }
}

fn umask_bit(name: &str) -> Option<u32> {
    Some(match name {
        "IRUSR" => 0o400,
        "IWUSR" => 0o200,
        "IXUSR" => 0o100,
        "IRGRP" => 0o040,
        "IWGRP" => 0o020,
        "IXGRP" => 0o010,
        "IROTH" => 0o004,
        "IWOTH" => 0o002,
        "IXOTH" => 0o001,
        _ => return None,
    })
}

/// C's `strtoul(s, NULL, 0)` over the whole word: `0x` hex, leading `0` octal, else decimal.
fn parse_c_number(s: &str) -> Option<u32> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// keepalived's check that `vrrp_cpu_affinity` names CPUs this host has (`[0, N-1]`); a CPU
/// beyond drops the keyword (class 5). Without the host's answer nothing is checked.
pub(crate) fn check_cpus(
    host: &dyn IncludeResolver,
    at: Option<&At>,
    process: &mut crate::model::ProcessTuning,
    diags: &mut Vec<crate::diag::Diagnostic>,
) {
    let Some(n) = host.cpu_count() else {
        return;
    };
    if let Some(bad) = process.cpu_affinity.iter().find(|c| **c >= n) {
        diags.push(diag_at(
            at,
            Severity::Error,
            ExitClass::ConfigError,
            "vrrp_cpu_affinity",
            format!(
                "number '{bad}' outside range [0, {}]; Invalid cpu_id:{bad} specified for vrrp process",
                n.saturating_sub(1)
            ),
        ));
        process.cpu_affinity.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::parse_umask;

    #[test]
    fn umask_takes_c_numbers_up_to_0777_and_or_joined_permission_bits() {
        assert_eq!(parse_umask(&["022"]), Ok(0o22));
        assert_eq!(parse_umask(&["18"]), Ok(0o22), "decimal, as strtoul base 0");
        assert_eq!(parse_umask(&["0x12"]), Ok(0o22));
        assert_eq!(parse_umask(&["0777"]), Ok(0o777));
        assert_eq!(parse_umask(&["IWGRP|IWOTH"]), Ok(0o22));
        assert_eq!(parse_umask(&["IWGRP", "|", "IWOTH", "|IROTH"]), Ok(0o26));
        assert_eq!(parse_umask(&["IRUSR|IXUSR"]), Ok(0o500));
        assert_eq!(
            parse_umask(&["1777"]),
            Err("invalid umask value 1777".into())
        );
        assert_eq!(parse_umask(&["09"]), Err("invalid umask value 09".into()));
        assert_eq!(
            parse_umask(&["022", "IWGRP"]),
            Err("Extra parameter(s) to umask option".into())
        );
        assert_eq!(
            parse_umask(&["IWGRP", "IWOTH"]),
            Err("Invalid umask syntax IWOTH".into())
        );
        assert_eq!(parse_umask(&["x"]), Err("Unknown umask bit x".into()));
        assert_eq!(parse_umask(&["-1"]), Err("Unknown umask bit -1".into()));
        assert_eq!(
            parse_umask(&["IRUSR|IRWXG|IRWXU"]),
            Err("Unknown umask bit IRWXG|IRWXU".into())
        );
    }
}
