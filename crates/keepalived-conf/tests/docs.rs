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
