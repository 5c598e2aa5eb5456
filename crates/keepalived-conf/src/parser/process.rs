//! `vrrp_track_process NAME { process NAME [ARGS]; param_match; weight; quorum; quorum_max;
//! delay; fork_delay; terminate_delay; full_command }`.

use std::time::Duration;

use super::blocks::weight;
use super::values::{parse_int, parse_seconds};
use super::{PResult, Parser};
use crate::keywords::Block;
use crate::model::{ParamMatch, TrackProcess};
use crate::reader::Line;

/// keepalived keeps process delays in microseconds in 32 bits.
const MAX_DELAY: Duration = Duration::from_secs(4294);

pub(super) fn track_process<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    // A tracker without a name is keepalived's missing parameter (exit 2), unlike an
    // unnamed instance or sync group (class 5).
    let name = p.arg(l, 1)?.text.clone();
    if !p.open_block(l) {
        return Ok(());
    }
    let mut t = TrackProcess {
        name: name.clone(),
        process: String::new(),
        params: Vec::new(),
        param_match: None,
        // keepalived 2.2.7 runs an unweighted process tracker as weight 0 (too few processes
        // mean FAULT), whatever its man page says of a default of 1; observed in the lab.
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay: Duration::ZERO,
        terminate_delay: Duration::ZERO,
        full_command: false,
    };
    p.each_in_block(l, |p, e| {
        p.keyword_status(Block::TrackProcess, e);
        match e.words[0].text.as_str() {
            "process" => {
                if let Some(w) = p.soft_arg(e, 1, "process name missing - ignoring") {
                    t.process = w.text.clone();
                    t.params = e.words[2..].iter().map(|w| w.text.clone()).collect();
                }
            }
            "param_match" => match e.words.get(1).map(|w| w.text.as_str()) {
                Some("partial") => t.param_match = Some(ParamMatch::Partial),
                Some("initial") => t.param_match = Some(ParamMatch::Initial),
                None => t.param_match = Some(ParamMatch::Exact),
                Some(other) => p.error(
                    e,
                    1,
                    format!("Invalid param_match '{other}' - must be initial or partial"),
                ),
            },
            "weight" if e.words.len() < 2 => p.error(
                e,
                0,
                format!("No weight specified for track process {name} - ignoring"),
            ),
            "weight" => {
                if let Some((w, r)) = weight(p, e, 254)? {
                    t.weight = w;
                    t.weight_reverse = r.unwrap_or(false);
                }
            }
            "quorum" => {
                if let Some(v) = number(p, e, 1)? {
                    t.quorum = v;
                }
            }
            "quorum_max" => {
                if let Some(v) = number(p, e, 0)? {
                    t.quorum_max = Some(v);
                }
            }
            "delay" => {
                if let Some(d) = delay(p, e)? {
                    t.fork_delay = d;
                    t.terminate_delay = d;
                }
            }
            "fork_delay" => {
                if let Some(d) = delay(p, e)? {
                    t.fork_delay = d;
                }
            }
            "terminate_delay" => {
                if let Some(d) = delay(p, e)? {
                    t.terminate_delay = d;
                }
            }
            "full_command" => t.full_command = true,
            _ => p.other_keyword(Block::TrackProcess, e),
        }
        Ok(())
    })?;
    if t.process.is_empty() {
        p.error(
            l,
            1,
            format!("No process specified for track process {name} - removing"),
        );
        return Ok(());
    }
    if let Some(max) = t.quorum_max
        && max < t.quorum
    {
        p.error(
            l,
            1,
            format!(
                "Track process {name}: quorum_max {max} is below quorum {} - ignoring quorum_max",
                t.quorum
            ),
        );
        t.quorum_max = None;
    }
    p.draft.config.track_processes.entry(name).or_insert(t);
    Ok(())
}

/// `quorum` (1..65535) and `quorum_max` (0..65535).
fn number(p: &mut Parser<'_>, e: &Line, min: i64) -> PResult<Option<u32>> {
    let w = p.arg(e, 1)?;
    match parse_int(&w.text, min, 65535) {
        Some(v) => Ok(Some(v as u32)),
        None => {
            p.error(
                e,
                1,
                format!(
                    "{} '{}' is invalid - must be {min}..65535; ignoring",
                    e.words[0].text, w.text
                ),
            );
            Ok(None)
        }
    }
}

fn delay(p: &mut Parser<'_>, e: &Line) -> PResult<Option<Duration>> {
    let w = p.arg(e, 1)?;
    match parse_seconds(&w.text) {
        Some(d) if d <= MAX_DELAY => Ok(Some(d)),
        _ => {
            p.error(
                e,
                1,
                format!(
                    "{} '{}' is invalid - must be 0..4294 seconds; ignoring",
                    e.words[0].text, w.text
                ),
            );
            Ok(None)
        }
    }
}
