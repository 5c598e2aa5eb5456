//! Prints the keyword status table of docs/keepalived-compat.md (markdown) from the tables
//! the parser uses, so the document cannot drift from the code.
//!
//! `cargo run -p keepalived-conf --example keyword_table`

use keepalived_conf::keywords::{self, Block, NEWER_THAN_2_2_7, Status};

fn main() {
    let blocks = [
        (Block::Root, "top level"),
        (Block::GlobalDefs, "`global_defs`"),
        (Block::VrrpScript, "`vrrp_script`"),
        (Block::TrackFile, "`track_file`"),
        (Block::SyncGroup, "`vrrp_sync_group`"),
        (Block::Instance, "`vrrp_instance`"),
        (Block::Authentication, "`authentication`"),
    ];
    println!("| block | keyword | status |");
    println!("|---|---|---|");
    for (block, name) in blocks {
        for (kw, status) in keywords::table(block) {
            let s = match status {
                Status::Supported if NEWER_THAN_2_2_7.contains(kw) => {
                    "supported (newer than 2.2.7: also reported, class 5, as 2.2.7 does not know it)"
                }
                Status::Supported => "supported",
                Status::Ignored => "accepted, ignored with a warning",
                Status::Lvs => "LVS/checker/BFD: skipped silently (with its block)",
            };
            println!("| {name} | `{kw}` | {s} |");
        }
    }
}
