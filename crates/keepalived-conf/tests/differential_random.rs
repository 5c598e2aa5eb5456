//! Randomised differential test: seeded mutations of a rich configuration (line deleted,
//! duplicated, truncated, commented, a brace inserted, a number or keyword garbled, a word
//! quoted) must get the same `-t` class from keepalived 2.2.7 and from this crate. Same
//! sandbox and SKIPPED rules as `differential.rs`. `ELB_DIFF_CASES` sets the count (default 80),
//! `ELB_DIFF_SEED` the seed; `ELB_DIFF_KEEP=DIR` saves disagreeing inputs there.

#[allow(dead_code)] // each test binary uses part of the shared oracle
mod oracle;

use keepalived_conf::{LoadOptions, load_file};
use std::path::Path;

const BASE: &str = r#"global_defs {
    router_id lab
    notification_email {
        ops@example.invalid
    }
    notification_email_from vrrp@example.invalid
    smtp_server 127.0.0.1 25
    smtp_connect_timeout 30
    enable_script_security
    script_user root
    vrrp_garp_master_delay 2
}
vrrp_script chk_proxy {
    script "/bin/true --probe"
    interval 2
    timeout 1
    weight -20
    fall 2
    rise 2
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
    notify_master "/bin/true group master"
    sync_group_tracking_weight
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    nopreempt
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    unicast_src_ip 198.18.0.2
    unicast_peer {
        198.18.0.3
    }
    track_interface {
        eth1 weight -10
    }
    track_script {
        chk_proxy
    }
    virtual_ipaddress {
        198.18.0.10/24 dev eth0 label eth0:vip
        198.18.0.11/24
    }
    virtual_routes {
        198.19.0.0/24 via 198.18.0.1 dev eth0
    }
    notify_master "/bin/true master"
    notify_backup /bin/true
    smtp_alert
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth1
    virtual_router_id 52
    priority 100
    version 3
    advert_int 0.5
    virtual_ipaddress {
        2001:2::10/64
    }
}
"#;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One random mutation of `text`, with a description.
fn mutate(text: &str, rng: &mut Rng) -> (String, String) {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let i = rng.below(lines.len());
    let what;
    match rng.below(8) {
        0 => {
            what = format!("delete line {}", i + 1);
            lines.remove(i);
        }
        1 => {
            what = format!("duplicate line {}", i + 1);
            lines.insert(i, lines[i].clone());
        }
        2 => {
            what = format!("drop last word of line {}", i + 1);
            let mut w: Vec<&str> = lines[i].split_whitespace().collect();
            w.pop();
            lines[i] = w.join(" ");
        }
        3 => {
            let pos = rng.below(lines[i].len() + 1);
            what = format!("'#' at line {} col {pos}", i + 1);
            if lines[i].is_char_boundary(pos) {
                lines[i].insert(pos, '#');
            }
        }
        4 => {
            let b = if rng.below(2) == 0 { "{" } else { "}" };
            what = format!("insert {b} before line {}", i + 1);
            lines.insert(i, b.to_string());
        }
        5 => {
            let repl = ["0", "300", "abc", "-1", "1.5", "65536"][rng.below(6)];
            what = format!("numbers on line {} -> {repl}", i + 1);
            lines[i] = lines[i]
                .split(' ')
                .map(|w| {
                    if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) {
                        repl
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
        }
        6 => {
            what = format!("typo in first word of line {}", i + 1);
            let t = lines[i].trim_start().to_string();
            if t.len() > 3 {
                let indent = &lines[i][..lines[i].len() - t.len()];
                lines[i] = format!("{indent}{}{}", &t[..2], &t[3..]);
            }
        }
        _ => {
            what = format!("quote last word of line {}", i + 1);
            let mut w: Vec<String> = lines[i].split_whitespace().map(str::to_string).collect();
            if let Some(last) = w.last_mut() {
                if !last.contains('"') {
                    *last = format!("\"{last}\"");
                }
            }
            lines[i] = w.join(" ");
        }
    }
    (lines.join("\n") + "\n", what)
}

#[test]
fn random_mutations_agree_with_keepalived() {
    if !oracle::available() {
        return;
    }
    let cases: usize = std::env::var("ELB_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(80);
    let seed: u64 = std::env::var("ELB_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_1234);
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keepalived.conf");
    // The unmutated base first: it must be clean for both.
    let mut texts = vec![(BASE.to_string(), "base".to_string())];
    for _ in 0..cases {
        let (t, w) = mutate(BASE, &mut rng);
        // Sometimes two mutations.
        texts.push(if rng.below(3) == 0 {
            let (t2, w2) = mutate(&t, &mut rng);
            (t2, format!("{w}; {w2}"))
        } else {
            (t, w)
        });
    }
    let mut bad = Vec::new();
    let mut compared = 0;
    for (n, (text, what)) in texts.iter().enumerate() {
        std::fs::write(&path, text).unwrap();
        let Some((theirs, their_text)) = oracle::run(&path) else {
            eprintln!("#{n} {what}: keepalived killed - not compared");
            continue;
        };
        let loaded = load_file(&path, &LoadOptions::default());
        let ours = loaded.exit_class();
        compared += 1;
        if n == 0 {
            assert_eq!(
                (theirs, ours),
                (0, 0),
                "base config must be clean: {:?}",
                loaded.diagnostics
            );
        }
        // Documented difference (docs/keepalived-compat.md): vrrpd skips an unknown or stray
        // block whole, keepalived reads its lines at the enclosing level (a keyword lacking its
        // argument there exits 2; keywords of the enclosing block are lost, e.g.
        // enable_script_security, which can turn 5 into 6).
        let skipped_block = loaded.diagnostics.iter().any(|d| {
            d.message.contains("whole block is skipped") || d.message.contains("block skipped")
        });
        if ours != theirs && skipped_block {
            eprintln!(
                "#{n} {what}: keepalived {theirs}, vrrpd {ours} - documented (block skipped whole)"
            );
            continue;
        }
        // Documented: interface existence is the daemon's check, not the library's.
        if ours != theirs && their_text.contains("doesn't exist") {
            eprintln!(
                "#{n} {what}: keepalived {theirs}, vrrpd {ours} - documented (interface existence)"
            );
            continue;
        }
        if ours != theirs {
            eprintln!("#{n} {what}: keepalived {theirs}, vrrpd {ours}");
            for d in &loaded.diagnostics {
                eprintln!("      {d}");
            }
            bad.push(format!("#{n} {what}: keepalived {theirs}, vrrpd {ours}"));
            if let Some(keep) = std::env::var_os("ELB_DIFF_KEEP") {
                let _ = std::fs::write(Path::new(&keep).join(format!("case{n}.conf")), text);
            }
        }
    }
    eprintln!(
        "{compared} compared, {} disagree (seed {seed:#x})",
        bad.len()
    );
    assert!(compared > cases / 2);
    assert!(bad.is_empty(), "disagreements:\n{}", bad.join("\n"));
}
