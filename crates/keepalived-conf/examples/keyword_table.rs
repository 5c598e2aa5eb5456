//! Prints the keyword status table of docs/keepalived-compat.md (markdown) from the table the
//! parser uses; `cargo test -p keepalived-conf --test docs` fails when the document differs.
//!
//! `cargo run -p keepalived-conf --example keyword_table`

fn main() {
    print!("{}", keepalived_conf::keyword_table_markdown());
}
