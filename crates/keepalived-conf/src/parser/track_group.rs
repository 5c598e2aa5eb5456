//! The top-level `track_group NAME { group { INSTANCE ... } }` block and the `track_group NAME`
//! option of static addresses, routes and rules, read as keepalived 2.2.7 reads them (measured
//! with `-t`): a group is found only when defined earlier in the file; a duplicate name, an
//! empty or second `group` block and an unknown name are class-5 errors; a static route without
//! `dev` or a static rule without `iif`/`dev` cannot name a group.

use super::{PResult, Parser};
use crate::diag::{ExitClass, Severity};
use crate::model::TrackGroup;
use crate::origin::At;
use crate::reader::Line;

pub(super) fn track_group<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    let Some(name) = l.words.get(1).map(|w| w.text.clone()) else {
        p.error(l, 0, "track_group must have a name - skipping".into());
        p.skip_block_if_any();
        return Ok(());
    };
    if p.draft.config.track_groups.iter().any(|g| g.name == name) {
        p.error(l, 1, format!("track_group {name} already defined"));
        p.skip_block_if_any();
        return Ok(());
    }
    if !p.open_block(l) {
        return Ok(());
    }
    let mut group: Option<Vec<String>> = None;
    p.each_in_block(l, |p, e| {
        match e.words[0].text.as_str() {
            "group" => {
                if group.is_some() {
                    // keepalived's own wording (it shares the sync group's handler).
                    p.error(
                        e,
                        0,
                        format!("Group list already specified for sync group {name}"),
                    );
                    p.skip_block_if_any();
                    return Ok(());
                }
                let mut members = Vec::new();
                for m in p.value_block(e) {
                    for w in &m.words {
                        let key = (name.clone(), w.text.clone());
                        p.draft.origins.track_member.entry(key).or_insert(At::of(m));
                        members.push(w.text.clone());
                    }
                }
                if members.is_empty() {
                    p.error(
                        l,
                        0,
                        format!("Warning - track group {name} has empty group block"),
                    );
                }
                group = Some(members);
            }
            _ => p.other_keyword(crate::keywords::Block::TrackGroup, e),
        }
        Ok(())
    })?;
    p.draft.config.track_groups.push(TrackGroup {
        name,
        instances: group.unwrap_or_default(),
    });
    Ok(())
}

/// The group named by word `i` of a static entry line, when it is defined (else reported, as
/// keepalived reports it, and the entry tracks nothing).
pub(super) fn named(p: &mut Parser<'_>, l: &Line, i: usize) -> Option<String> {
    let name = &l.words.get(i)?.text;
    if p.draft.config.track_groups.iter().any(|g| &g.name == name) {
        return Some(name.clone());
    }
    p.error(l, i, format!("track_group {name} not found"));
    None
}

/// keepalived's check of a static route or rule that names a group: the group tracks the
/// entry's interface, so an entry without one is an error and tracks nothing.
pub(super) fn needs_interface(
    p: &mut Parser<'_>,
    l: &Line,
    group: &mut Option<String>,
    has_interface: bool,
    rule: bool,
) {
    if group.is_none() || has_interface {
        return;
    }
    let msg = if rule {
        "Static rule cannot have track_group if dev/iif not specified"
    } else {
        "Static route cannot have track group if no oif specified"
    };
    p.report(
        l,
        0,
        Severity::Error,
        ExitClass::ConfigError,
        msg.to_string(),
    );
    *group = None;
}
