//! docs/keepalived-compat.md lists every keyword the parser knows.

use keepalived_conf::keywords::{self, Block};

#[test]
fn compat_doc_lists_every_keyword() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/keepalived-compat.md"),
    )
    .expect("docs/keepalived-compat.md");
    let blocks = [
        Block::Root,
        Block::GlobalDefs,
        Block::VrrpScript,
        Block::TrackFile,
        Block::SyncGroup,
        Block::Instance,
        Block::Authentication,
    ];
    let missing: Vec<&str> = blocks
        .iter()
        .flat_map(|b| keywords::table(*b).iter().map(|(k, _)| *k))
        .filter(|k| !doc.contains(&format!("`{k}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "keywords missing from the doc: {missing:?}"
    );
    assert!(doc.contains("## Runtime behaviour"));
}
