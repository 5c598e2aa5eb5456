//! The top-level `garp_group { }` block, read as keepalived 2.2.7 reads it (measured with
//! `-t`): a group with neither delay is an error and dropped, an interface that does not exist
//! is reported by the host check, an unknown keyword inside is an error.

use super::global::seconds;
use super::{PResult, Parser};
use crate::keywords::Block;
use crate::model::GarpGroup;
use crate::origin::{At, InterfaceKind, InterfaceUse};
use crate::reader::Line;
use std::time::Duration;

/// keepalived holds the delays as a signed 32-bit count of microseconds.
const MAX_DELAY: Duration = Duration::from_micros(2_147_483_647);

pub(super) fn garp_group<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    let mut g = GarpGroup {
        garp_interval: None,
        gna_interval: None,
        interfaces: Vec::new(),
    };
    if !p.open_block(l) {
        return Ok(());
    }
    p.each_in_block(l, |p, e| {
        p.keyword_status(Block::GarpGroup, e);
        match e.words[0].text.as_str() {
            "garp_interval" => {
                g.garp_interval = seconds(p, e, 1, Duration::ZERO, MAX_DELAY)?.or(g.garp_interval)
            }
            "gna_interval" => {
                g.gna_interval = seconds(p, e, 1, Duration::ZERO, MAX_DELAY)?.or(g.gna_interval)
            }
            "interface" => {
                let w = p.arg(e, 1)?;
                member(p, &mut g, &w.text, e);
            }
            "interfaces" => {
                for entry in p.value_block(e) {
                    for w in &entry.words {
                        member(p, &mut g, &w.text, entry);
                    }
                }
            }
            _ => p.other_keyword(Block::GarpGroup, e),
        }
        Ok(())
    })?;
    if g.garp_interval.is_none() && g.gna_interval.is_none() {
        let n = p.draft.config.garp_groups.len();
        p.error(
            l,
            0,
            format!("garp group {n} does not have any delay set - removing"),
        );
        return Ok(());
    }
    p.draft.config.garp_groups.push(g);
    Ok(())
}

fn member(p: &mut Parser<'_>, g: &mut GarpGroup, ifname: &str, at: &Line) {
    p.draft.origins.interfaces.push(InterfaceUse {
        ifname: ifname.to_string(),
        instance: String::new(),
        subject: "garp_group".into(),
        at: At::of(at),
        kind: InterfaceKind::Item,
    });
    if !g.interfaces.iter().any(|i| i == ifname) {
        g.interfaces.push(ifname.to_string());
    }
}
