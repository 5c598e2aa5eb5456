//! The top-level `interface_up_down_delays { IF DOWN [UP] ... }` block, read as keepalived
//! 2.2.7 reads it (measured with `-t`): seconds 0..255 (microsecond resolution), a line
//! without a delay is ignored, a bad number is an error (class 5) and the
//! line ignored, an interface that does not exist stops keepalived (class 4, its delays
//! then not read: `interfaces::check` drops their errors). An omitted UP
//! is no delay: its man page says UP defaults to DOWN, but in the lab keepalived 2.2.7 holds
//! nothing on the way up then (`an_omitted_up_delay_holds_nothing_like_keepalived`).

use super::values::parse_seconds;
use super::{PResult, Parser};
use crate::model::UpDownDelay;
use crate::origin::{At, InterfaceKind, InterfaceUse};
use crate::reader::Line;
use std::time::Duration;

const MAX: Duration = Duration::from_secs(255);

pub(super) fn interface_up_down_delays<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    for e in p.value_block(l) {
        let ifname = e.words[0].text.clone();
        // Checked first: keepalived refuses an unknown interface whatever follows it.
        p.draft.origins.interfaces.push(InterfaceUse {
            ifname: ifname.clone(),
            instance: String::new(),
            subject: "up/down delay".into(),
            at: At::of(e),
            kind: InterfaceKind::Delays,
        });
        let Some(down_word) = e.words.get(1) else {
            continue;
        };
        let Some(down) = delay(p, e, 1, &down_word.text) else {
            continue;
        };
        let up = match e.words.get(2) {
            Some(w) => match delay(p, e, 2, &w.text) {
                Some(d) => d,
                None => continue,
            },
            None => Duration::ZERO,
        };
        p.draft
            .config
            .interface_up_down_delays
            .insert(ifname, UpDownDelay { down, up });
    }
    Ok(())
}

fn delay(p: &mut Parser<'_>, l: &Line, i: usize, text: &str) -> Option<Duration> {
    match parse_seconds(text).filter(|d| *d <= MAX) {
        Some(d) => Some(d),
        None => {
            p.error(
                l,
                i,
                format!("invalid up/down delay '{text}' - must be 0 to 255 seconds; line ignored"),
            );
            None
        }
    }
}
