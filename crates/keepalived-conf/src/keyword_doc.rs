//! The keyword table rendered as the markdown table of docs/keepalived-compat.md.

use crate::keywords::{BLOCKS, Block, NEWER_THAN_2_2_7, Status, table};

/// How the documentation names a block.
fn block_title(block: Block) -> &'static str {
    match block {
        Block::Root => "top level",
        Block::GlobalDefs => "`global_defs`",
        Block::VrrpScript => "`vrrp_script`",
        Block::TrackFile => "`track_file`",
        Block::TrackProcess => "`vrrp_track_process`",
        Block::SyncGroup => "`vrrp_sync_group`",
        Block::Instance => "`vrrp_instance`",
        Block::Authentication => "`authentication`",
        Block::VipOption => "VIP option",
        Block::GarpGroup => "`garp_group`",
        Block::TrackGroup => "`track_group`",
    }
}

/// The keyword table of docs/keepalived-compat.md, rendered from the tables above (a test
/// compares the document with this, so the two cannot drift).
pub(crate) fn markdown() -> String {
    let mut out =
        String::from("| block | keyword | status | shown by / instead |\n|---|---|---|---|\n");
    for block in BLOCKS {
        for (kw, status) in table(block) {
            let newer = if NEWER_THAN_2_2_7.contains(kw) {
                " (newer than 2.2.7: also class 5, as 2.2.7 does not know it)"
            } else {
                ""
            };
            let (name, detail) = match status {
                Status::Honoured { test } => ("honoured", format!("test `{test}`")),
                Status::NotHonoured { instead } => ("not honoured, warned", instead.to_string()),
                Status::Rejected { why } => ("rejected (class 5)", why.to_string()),
            };
            out.push_str(&format!(
                "| {} | `{kw}` | {name}{newer} | {} |\n",
                block_title(block),
                detail.replace('|', "\\|")
            ));
        }
    }
    out
}
