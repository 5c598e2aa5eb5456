//! `vrrp_script`, `track_file` and `vrrp_sync_group` blocks.

use super::global::count;
use super::trackers::{Trackers, tracker_keyword};
use super::values::{parse_int, parse_seconds};
use super::{PResult, Parser, flag, rest_after_keyword};
use crate::diag::{ExitClass, Severity};
use crate::keywords::Block;
use crate::model::{Notify, RunAs, SyncGroup, TrackFile, VrrpScript};
use crate::origin::At;
use crate::reader::Line;
use crate::script::{ScriptCommand, parse_script};
use std::time::Duration;

/// The name word of a named block, or an error (and the block skipped) when absent.
pub(super) fn block_name(p: &mut Parser<'_>, l: &Line) -> Option<String> {
    match l.words.get(1) {
        Some(w) => Some(w.text.clone()),
        None => {
            p.error(
                l,
                0,
                format!("{} must have a name - block skipped", l.words[0].text),
            );
            p.skip_block_if_any();
            None
        }
    }
}

/// Script interval/timeout: decimal seconds as written and honoured; keepalived 2.2.7 takes
/// whole seconds only, so a fraction is an error of its class for `-t`.
fn script_seconds(p: &mut Parser<'_>, l: &Line) -> PResult<Option<Duration>> {
    let w = p.arg(l, 1)?;
    match parse_seconds(&w.text) {
        // keepalived holds these in microseconds in 32 bits.
        Some(d) if d > Duration::from_secs(4294) => {
            p.error(
                l,
                1,
                format!(
                    "vrrp script {} '{}' invalid (at most 4294 s) - ignoring",
                    l.words[0].text, w.text
                ),
            );
            Ok(None)
        }
        // keepalived 2.2.7 refuses the fraction (class 5, the value ignored), so `-t` keeps that
        // class; vrrpd itself runs the value as written, so it is a warning, at -t and at start.
        Some(d) if d.subsec_micros() != 0 => {
            p.report(
                l,
                1,
                Severity::Warning,
                ExitClass::ConfigError,
                format!(
                    "{} '{}': keepalived 2.2.7 refuses a fraction here (whole seconds only, class \
                     5); vrrpd runs it as written ({} s)",
                    l.words[0].text,
                    w.text,
                    d.as_secs_f64()
                ),
            );
            Ok(Some(d))
        }
        Some(d) if d.is_zero() && l.words[0].text == "interval" => {
            p.error(l, 1, "vrrp_script interval must be > 0 - using 1 s".into());
            Ok(Some(Duration::from_secs(1)))
        }
        Some(d) => Ok(Some(d)),
        None => {
            p.error(
                l,
                1,
                format!(
                    "{} '{}' is not a number of seconds - ignored",
                    l.words[0].text, w.text
                ),
            );
            Ok(None)
        }
    }
}

/// `weight N [reverse|noreverse]` in -`max`..`max`.
pub(super) fn weight(
    p: &mut Parser<'_>,
    l: &Line,
    max: i64,
) -> PResult<Option<(i32, Option<bool>)>> {
    let w = p.arg(l, 1)?;
    let Some(v) = parse_int(&w.text, -max, max) else {
        p.error(
            l,
            1,
            format!(
                "weight '{}' is invalid - must be -{max}..{max}; ignored",
                w.text
            ),
        );
        return Ok(None);
    };
    let reverse = match l.words.get(2).map(|w| w.text.as_str()) {
        None => None,
        Some("reverse") => Some(true),
        Some("noreverse") => Some(false),
        Some(other) => {
            p.error(l, 2, format!("unknown weight option '{other}' - ignored"));
            None
        }
    };
    Ok(Some((v as i32, reverse)))
}

pub(super) fn vrrp_script<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    // A tracker without a name is keepalived's missing parameter (exit 2), unlike an
    // unnamed instance or sync group (class 5).
    let name = p.arg(l, 1)?.text.clone();
    if !p.open_block(l) {
        return Ok(());
    }
    let mut s = VrrpScript {
        name: name.clone(),
        script: ScriptCommand {
            argv_source: String::new(),
            argv: Vec::new(),
            user: None,
            group: None,
            supplementary_groups: false,
        },
        interval: Duration::from_secs(1),
        timeout: Duration::ZERO,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        user: None,
        init_fail: false,
    };
    let mut have_script = false;
    let mut timeout_set = false;
    p.each_in_block(l, |p, e| {
        p.keyword_status(Block::VrrpScript, e);
        match e.words[0].text.as_str() {
            "script" => {
                if let Some(c) = parse_script(rest_after_keyword(e)) {
                    let at = At::of(e);
                    p.draft.origins.script.entry(name.clone()).or_insert(at);
                    s.script = c;
                    have_script = true;
                }
            }
            "interval" => {
                if let Some(d) = script_seconds(p, e)? {
                    s.interval = d;
                }
            }
            "timeout" => {
                if let Some(d) = script_seconds(p, e)? {
                    s.timeout = d;
                    timeout_set = !d.is_zero();
                }
            }
            "weight" => {
                if let Some((w, r)) = weight(p, e, 253)? {
                    s.weight = w;
                    s.weight_reverse = r.unwrap_or(false);
                }
            }
            "rise" => {
                if let Some(v) = count(p, e, 1, 1, i64::from(i32::MAX))? {
                    s.rise = v;
                }
            }
            "fall" => {
                if let Some(v) = count(p, e, 1, 1, i64::from(i32::MAX))? {
                    s.fall = v;
                }
            }
            "user" => {
                let user = p.arg(e, 1)?.text.clone();
                let group = e
                    .words
                    .get(2)
                    .map(|w| w.text.trim_start_matches(':').to_string());
                s.user = Some(RunAs { user, group });
            }
            "init_fail" => s.init_fail = true,
            _ => p.other_keyword(Block::VrrpScript, e),
        }
        Ok(())
    })?;
    if !timeout_set {
        s.timeout = s.interval;
    }
    if !have_script {
        p.error(
            l,
            1,
            format!("no script set for vrrp_script {name} - removing"),
        );
        return Ok(());
    }
    // A duplicate name is accepted silently; references resolve to the first (keepalived).
    p.draft.config.scripts.entry(name).or_insert(s);
    Ok(())
}

pub(super) fn track_file<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    // A tracker without a name is keepalived's missing parameter (exit 2), unlike an
    // unnamed instance or sync group (class 5).
    let name = p.arg(l, 1)?.text.clone();
    if !p.open_block(l) {
        return Ok(());
    }
    let mut t = TrackFile {
        name: name.clone(),
        file: String::new(),
        weight: 1,
        weight_written: false,
        weight_reverse: false,
        init_file: None,
    };
    let mut weight_set = false;
    p.each_in_block(l, |p, e| {
        p.keyword_status(Block::TrackFile, e);
        match e.words[0].text.as_str() {
            "file" => {
                if let Some(w) = p.soft_arg(e, 1, "track file file name missing") {
                    t.file = w.text.clone();
                }
            }
            "weight" if e.words.len() < 2 => {
                p.error(
                    e,
                    0,
                    format!("No weight specified for track file {name} - ignoring"),
                );
            }
            // keepalived keeps the first weight and reports a second one.
            "weight" if weight_set => {
                p.error(
                    e,
                    1,
                    format!(
                        "Weight already set for track file {name} - ignoring {}",
                        e.words[1].text
                    ),
                );
            }
            "weight" => {
                if let Some((w, r)) = weight(p, e, i64::from(i32::MAX))? {
                    t.weight = w;
                    t.weight_reverse = r.unwrap_or(false);
                    t.weight_written = true;
                    weight_set = true;
                }
            }
            "init_file" => {
                let mut value = 0;
                let mut overwrite = false;
                for w in &e.words[1..] {
                    if w.text == "overwrite" {
                        overwrite = true;
                    } else if let Ok(v) = w.text.parse::<i64>() {
                        value = v;
                    } else {
                        p.error(e, 1, format!("init_file: unexpected '{}'", w.text));
                    }
                }
                t.init_file = Some((value, overwrite));
            }
            _ => p.other_keyword(Block::TrackFile, e),
        }
        Ok(())
    })?;
    if t.file.is_empty() {
        p.error(
            l,
            1,
            format!("no file set for track_file {name} - removing"),
        );
        return Ok(());
    }
    p.draft.config.track_files.entry(name).or_insert(t);
    Ok(())
}

/// Records where a notify script was given (the first place, for the security check).
pub(super) fn note_notify(p: &mut Parser<'_>, e: &Line, s: Option<&ScriptCommand>) {
    if let Some(s) = s {
        let at = At::of(e);
        p.draft
            .origins
            .notify
            .entry(s.argv_source.clone())
            .or_insert(at);
    }
}

/// `notify*` keywords shared by instances and sync groups. Returns false if `kw` is not one.
pub(super) fn notify_keyword(p: &mut Parser<'_>, e: &Line, n: &mut Notify) -> PResult<bool> {
    let kw = e.words[0].text.as_str();
    let slot = match kw {
        "notify_master" => &mut n.master,
        "notify_backup" => &mut n.backup,
        "notify_fault" => &mut n.fault,
        "notify_stop" => &mut n.stop,
        "notify" => &mut n.generic,
        "notify_master_rx_lower_pri" => &mut n.master_rx_lower_pri,
        "notify_deleted" => {
            // Bare `notify_deleted` only switches the DELETED notification on.
            n.send_deleted = true;
            if e.words.len() > 1 {
                n.deleted = parse_script(rest_after_keyword(e));
                note_notify(p, e, n.deleted.as_ref());
            }
            return Ok(true);
        }
        _ => return Ok(false),
    };
    if e.words.len() < 2 {
        p.arg(e, 1)?;
    }
    if slot.is_some() {
        p.error(e, 0, format!("{kw} script already specified - ignoring"));
        return Ok(true);
    }
    *slot = parse_script(rest_after_keyword(e));
    note_notify(p, e, slot.as_ref());
    Ok(true)
}

pub(super) fn sync_group<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    let Some(name) = block_name(p, l) else {
        return Ok(());
    };
    if p.draft.config.sync_groups.iter().any(|g| g.name == name) {
        p.error(
            l,
            1,
            format!("vrrp_sync_group {name} already defined - block skipped"),
        );
        p.skip_block_if_any();
        return Ok(());
    }
    if !p.open_block(l) {
        return Ok(());
    }
    p.draft.origins.group.insert(name.clone(), At::of(l));
    let mut g = SyncGroup {
        name,
        group: Vec::new(),
        notify: Notify::default(),
        smtp_alert: false,
        track_interface: Vec::new(),
        track_script: Vec::new(),
        track_file: Vec::new(),
        track_process: Vec::new(),
        sync_group_tracking_weight: false,
        notify_priority_changes: false,
    };
    let mut smtp: Option<bool> = None;
    p.each_in_block(l, |p, e| {
        p.keyword_status(Block::SyncGroup, e);
        if notify_keyword(p, e, &mut g.notify)? {
            return Ok(());
        }
        let lists = Trackers {
            interfaces: &mut g.track_interface,
            scripts: &mut g.track_script,
            files: &mut g.track_file,
            processes: &mut g.track_process,
        };
        if tracker_keyword(p, e, lists)? {
            return Ok(());
        }
        match e.words[0].text.as_str() {
            "group" => {
                for m in p.value_block(e) {
                    for w in &m.words {
                        let key = (g.name.clone(), w.text.clone());
                        p.draft.origins.member.entry(key).or_insert(At::of(m));
                        g.group.push(w.text.clone());
                    }
                }
            }
            "smtp_alert" => smtp = Some(flag(p, e)),
            "sync_group_tracking_weight" => g.sync_group_tracking_weight = true,
            "global_tracking" => {
                p.error(
                    e,
                    0,
                    "global_tracking is deprecated - use sync_group_tracking_weight".into(),
                );
                g.sync_group_tracking_weight = true;
            }
            "notify_priority_changes" => g.notify_priority_changes = flag(p, e),
            _ => p.other_keyword(Block::SyncGroup, e),
        }
        Ok(())
    })?;
    g.smtp_alert = smtp
        .or(p.draft.config.global_defs.smtp_alert_vrrp)
        .or(p.draft.config.global_defs.smtp_alert)
        .unwrap_or(false);
    p.draft.config.sync_groups.push(g);
    Ok(())
}
