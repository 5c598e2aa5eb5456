//! Walks the keyword table: every honoured keyword names a test that exists in the workspace,
//! every not-honoured one is warned about at each occurrence (file:line, keyword, what the
//! operator gets instead) by the loader, whose diagnostics `vrrpd -t` prints and vrrpd logs at
//! start, and every rejected one is an error.

use keepalived_conf::{
    BLOCKS, Block, Diagnostic, ExitClass, LoadOptions, MemResolver, Severity, Status,
    keyword_table, load_with,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const FILE: &str = "/etc/keepalived/keepalived.conf";

/// Names of the `#[test]` functions (plain, tokio or proptest) in the workspace's sources.
fn workspace_test_names() -> BTreeSet<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut names = BTreeSet::new();
    let mut dirs = vec![root.join("crates"), root.join("tests")];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "target") {
                    dirs.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                collect_tests(&text, &mut names);
            }
        }
    }
    names
}

/// A function counts as a test when one of the three lines above it is a test attribute.
fn collect_tests(text: &str, names: &mut BTreeSet<String>) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let t = t.strip_prefix("async ").unwrap_or(t);
        let Some(rest) = t.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let attr = lines[i.saturating_sub(3)..i]
            .iter()
            .any(|a| a.contains("#[test]") || a.contains("#[tokio::test"));
        if attr {
            names.insert(name);
        }
    }
}

/// Keywords whose entries come in a `{ }` list.
const LISTS: &[&str] = &["track_bfd", "track_process"];

/// A file using `kw` twice in `block`, and the two lines it is on.
fn two_uses(block: Block, kw: &str) -> (String, [u32; 2]) {
    let inst = |body: &str| {
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n{body} virtual_ipaddress {{\n 198.18.0.1/24\n }}\n}}\n"
        )
    };
    match block {
        Block::Root => (format!("{kw} x {{\n}}\n{kw} x {{\n}}\n"), [1, 3]),
        Block::GlobalDefs => (format!("global_defs {{\n {kw} 1\n {kw} 1\n}}\n"), [2, 3]),
        Block::VrrpScript => (
            format!("vrrp_script s {{\n script /bin/true\n {kw} 1\n {kw} 1\n}}\n"),
            [3, 4],
        ),
        Block::TrackFile => (
            format!("track_file f {{\n file /tmp/f\n {kw} 1\n {kw} 1\n}}\n"),
            [3, 4],
        ),
        Block::TrackProcess => (
            format!("vrrp_track_process t {{\n process x\n {kw} 1\n {kw} 1\n}}\n"),
            [3, 4],
        ),
        Block::SyncGroup => (
            format!(
                "vrrp_sync_group G {{\n group {{\n VI_1\n }}\n {kw} 1\n {kw} 1\n}}\n{}",
                inst("")
            ),
            [5, 6],
        ),
        // A list keyword takes its entries in a block.
        Block::Instance if LISTS.contains(&kw) => (
            inst(&format!(" {kw} {{\n x\n }}\n {kw} {{\n x\n }}\n")),
            [4, 7],
        ),
        Block::Instance => (inst(&format!(" {kw} 1\n {kw} 1\n")), [4, 5]),
        Block::Authentication => (
            inst(&format!(" authentication {{\n {kw} 1\n {kw} 1\n }}\n")),
            [5, 6],
        ),
        Block::GarpGroup => (
            format!("garp_group {{\n garp_interval 1\n {kw} 1\n {kw} 1\n}}\n"),
            [3, 4],
        ),
        Block::TrackGroup => (format!("track_group G {{\n {kw} 1\n {kw} 1\n}}\n"), [2, 3]),
        Block::VipOption => (
            format!(
                "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {{\n 198.18.0.1/24 {kw} 198.18.0.9\n 198.18.0.2/24 {kw} 198.18.0.9\n }}\n}}\n"
            ),
            [5, 6],
        ),
    }
}

fn load(text: &str) -> Vec<Diagnostic> {
    let r = MemResolver::new().with_file(FILE, text);
    let opts = LoadOptions {
        skip_script_checks: true,
        ..LoadOptions::default()
    };
    load_with(&r, Path::new(FILE), &opts).diagnostics
}

/// The diagnostics about `kw` (for VIP options: about the option on a VIP line).
fn about<'d>(diags: &'d [Diagnostic], block: Block, kw: &str) -> Vec<&'d Diagnostic> {
    diags
        .iter()
        .filter(|d| match block {
            Block::VipOption => d.message.contains(&format!("option `{kw}`")),
            _ => d.keyword == kw && d.message.contains(&format!("`{kw}`")),
        })
        .collect()
}

#[test]
fn every_honoured_keyword_names_an_existing_test() {
    let tests = workspace_test_names();
    assert!(tests.len() > 100, "found only {} tests", tests.len());
    let mut missing = Vec::new();
    for block in BLOCKS {
        for (kw, status) in keyword_table(block) {
            if let Status::Honoured { test } = status
                && !tests.contains(*test)
            {
                missing.push(format!("{block:?} {kw}: no test named {test}"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_not_honoured_keyword_warns_at_each_use_with_file_line_and_what_instead() {
    let mut wrong = Vec::new();
    let mut checked = Vec::new();
    for block in BLOCKS {
        for (kw, status) in keyword_table(block) {
            let Status::NotHonoured { instead } = status else {
                continue;
            };
            checked.push(*kw);
            let (text, lines) = two_uses(block, kw);
            let diags = load(&text);
            let warned: Vec<&Diagnostic> = about(&diags, block, kw)
                .into_iter()
                .filter(|d| d.severity == Severity::Warning && d.message.contains(instead))
                .collect();
            let at: Vec<u32> = warned.iter().map(|d| d.line).collect();
            let files_ok = warned.iter().all(|d| &*d.file == FILE);
            if at != lines || !files_ok {
                wrong.push(format!(
                    "{block:?} {kw}: warnings at lines {at:?}, want {lines:?}; all diagnostics: {:?}",
                    diags.iter().map(|d| d.to_string()).collect::<Vec<_>>()
                ));
            }
        }
    }
    // Not vacuous: the LVS block (out of scope for good) is among those checked.
    assert!(
        checked.contains(&"virtual_server"),
        "not-honoured keywords checked: {checked:?}"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_rejected_keyword_is_an_error_at_each_use() {
    for block in BLOCKS {
        for (kw, status) in keyword_table(block) {
            let Status::Rejected { why } = status else {
                continue;
            };
            let (text, lines) = two_uses(block, kw);
            let diags = load(&text);
            let at: Vec<u32> = about(&diags, block, kw)
                .into_iter()
                .filter(|d| d.severity == Severity::Error && d.class == ExitClass::ConfigError)
                .filter(|d| d.message.contains(why))
                .map(|d| d.line)
                .collect();
            assert_eq!(at, lines, "{block:?} {kw}: {diags:?}");
        }
    }
}

#[test]
fn each_keyword_has_exactly_one_status_per_block() {
    for block in BLOCKS {
        let mut seen = BTreeSet::new();
        for (kw, _) in keyword_table(block) {
            assert!(seen.insert(*kw), "{block:?}: `{kw}` listed twice");
        }
    }
}

#[test]
fn honoured_keywords_say_nothing_about_status() {
    // A clean file of honoured keywords gets no not-honoured warning.
    let diags = load(
        "global_defs {\n router_id a\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n priority 100\n advert_int 1\n virtual_ipaddress {\n 198.18.0.1/24 dev eth1\n }\n}\n",
    );
    assert!(
        !diags.iter().any(|d| d.message.contains("not honoured")),
        "{diags:?}"
    );
}
