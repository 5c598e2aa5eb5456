//! Tracker lists inside instances and sync groups: `track_interface`, `track_script`,
//! `track_file`, `track_process`, each entry with an optional `weight N [reverse]`.

use super::blocks::weight;
use super::{PResult, Parser};
use crate::model::{TrackInterface, TrackRef};
use crate::reader::Line;

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
        p.draft
            .origins
            .interfaces
            .push(crate::origin::InterfaceUse {
                ifname: t.name.clone(),
                instance: String::new(),
                subject: String::new(),
                at: crate::origin::At::of(e),
                kind: crate::origin::InterfaceKind::Tracked,
            });
        out.push(t);
    }
    Ok(out)
}

/// What a tracker list names.
#[derive(Clone, Copy)]
pub(crate) enum RefKind {
    Script,
    File,
    Process,
}

/// `track_script { NAME [weight N [reverse]] }` / `track_file { ... }` / `track_process`.
pub(crate) fn track_refs<'a>(
    p: &mut Parser<'a>,
    l: &'a Line,
    kind: RefKind,
) -> PResult<Vec<TrackRef>> {
    let mut out = Vec::new();
    for e in p.value_block(l) {
        let name = e.words[0].text.clone();
        let c = &p.draft.config;
        let (known, what) = match kind {
            RefKind::Script => (c.scripts.contains_key(&name), "track script"),
            RefKind::File => (c.track_files.contains_key(&name), "track file"),
            RefKind::Process => (c.track_processes.contains_key(&name), "track process"),
        };
        if !known {
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

/// The three tracker lists of an instance or a sync group.
pub(crate) struct Trackers<'t> {
    pub(crate) interfaces: &'t mut Vec<TrackInterface>,
    pub(crate) scripts: &'t mut Vec<TrackRef>,
    pub(crate) files: &'t mut Vec<TrackRef>,
    pub(crate) processes: &'t mut Vec<TrackRef>,
}

/// `track_interface`, `track_script` or `track_file` into `t`; false for other keywords.
pub(crate) fn tracker_keyword<'a>(
    p: &mut Parser<'a>,
    e: &'a Line,
    t: Trackers<'_>,
) -> PResult<bool> {
    match e.words[0].text.as_str() {
        "track_interface" => t.interfaces.extend(track_interfaces(p, e)?),
        "track_script" => t.scripts.extend(track_refs(p, e, RefKind::Script)?),
        "track_file" => t.files.extend(track_refs(p, e, RefKind::File)?),
        "track_process" => t.processes.extend(track_refs(p, e, RefKind::Process)?),
        _ => return Ok(false),
    }
    Ok(true)
}
