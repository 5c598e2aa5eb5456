//! docs/keepalived-compat.md carries the keyword table exactly as the code renders it.

const BEGIN: &str =
    "<!-- keyword-table:begin (cargo run -p keepalived-conf --example keyword_table) -->\n";
const END: &str = "<!-- keyword-table:end -->";

#[test]
fn compat_doc_keyword_table_is_the_code_table() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/keepalived-compat.md"),
    )
    .expect("docs/keepalived-compat.md");
    let start = doc.find(BEGIN).expect("keyword table begin marker") + BEGIN.len();
    let end = doc[start..].find(END).expect("keyword table end marker") + start;
    let in_doc = &doc[start..end];
    let code = keepalived_conf::keyword_table_markdown();
    if in_doc != code {
        let first = in_doc
            .lines()
            .zip(code.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("doc:  {a}\ncode: {b}"))
            .unwrap_or_else(|| "one is a prefix of the other".into());
        panic!(
            "docs/keepalived-compat.md keyword table differs from the code; first difference:\n{first}\n(regenerate with `cargo run -p keepalived-conf --example keyword_table`)"
        );
    }
    assert!(doc.contains("## Runtime behaviour"));
}

/// The keywords on the `- **Keywords:**` lines of the "Deliberately out of scope" section
/// (a list may run over several lines, until the next blank line).
fn out_of_scope_keywords(doc: &str) -> std::collections::BTreeSet<String> {
    let start = doc
        .find("## Deliberately out of scope\n")
        .expect("out-of-scope section");
    let section = &doc[start + 3..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut listed = std::collections::BTreeSet::new();
    let mut in_list = false;
    for line in section.lines() {
        if line.starts_with("- **Keywords:**") {
            in_list = true;
        } else if line.trim().is_empty() {
            in_list = false;
        }
        if in_list {
            listed.extend(line.split('`').skip(1).step_by(2).map(str::to_string));
        }
    }
    listed
}

#[test]
fn every_not_honoured_keyword_is_listed_with_its_reason_and_nothing_more() {
    use keepalived_conf::{BLOCKS, Status, keyword_table};
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/keepalived-compat.md"),
    )
    .expect("docs/keepalived-compat.md");
    let listed = out_of_scope_keywords(&doc);
    let not_honoured: std::collections::BTreeSet<String> = BLOCKS
        .iter()
        .flat_map(|b| keyword_table(*b).iter())
        .filter(|(_, s)| matches!(s, Status::NotHonoured { .. }))
        .map(|(k, _)| k.to_string())
        .collect();
    let unargued: Vec<_> = not_honoured.difference(&listed).collect();
    assert!(
        unargued.is_empty(),
        "not honoured, but not listed in the out-of-scope section of docs/keepalived-compat.md: {unargued:?}"
    );
    let not_out: Vec<_> = listed.difference(&not_honoured).collect();
    assert!(
        not_out.is_empty(),
        "listed as out of scope, but honoured or unknown: {not_out:?}"
    );
}
