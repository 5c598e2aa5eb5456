//! The model of real VRRP configurations matches what keepalived 2.2.7 itself reports: its
//! `-d` (dump configuration) output at start-up, run in a throw-away network namespace that
//! holds veth interfaces with the names the file uses. keepalived really starts there (VRRP
//! adverts stay on those unconnected veths) and is stopped with SIGTERM once it has dumped.
//!
//! Needs `/usr/sbin/keepalived` and root (`unshare -n`): without them it prints SKIPPED, or
//! fails under `CI` / `ELB_E2E`. Needs the corpus (`KEEPALIVED_CORPUS`, default
//! `../shared/keepalived-confs` beside the repository): without it SKIPPED, or fails when
//! `KEEPALIVED_CORPUS_REQUIRED` is set.

#[allow(dead_code)] // each test binary uses part of the shared oracle
mod oracle;

use keepalived_conf::{InitialState, LoadOptions, load_file};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const FILES: &[&str] = &[
    "acassen_keepalived__doc_samples_keepalived.conf.vrrp.sync",
    "acassen_keepalived__doc_samples_keepalived.conf.vrrp",
    "zillow_linuxgateway__etc_keepalived_keepalived.conf",
    "joetanx_load-balancing-cyberark__keepalived-master.conf",
    "kingkongmok_linux__etc_keepalived_keepalived.conf",
    "vincentbernat_network-lab__lab-multicast_conf_R1-keepalived.conf",
    "matayto_pihole-keepalived__etc_keepalived_keepalived.conf",
];

/// One instance as keepalived's dump prints it: `key = value` pairs and the VIP lines.
#[derive(Debug, Default)]
struct Dumped {
    fields: BTreeMap<String, String>,
    vips: Vec<String>,
}

/// Removes keepalived's `Thu Nov 26 04:36:25 2026: ` log prefix.
fn strip_stamp(line: &str) -> &str {
    match line.find(": ") {
        Some(i) if i >= 4 && line[i - 4..i].bytes().all(|b| b.is_ascii_digit()) => &line[i + 2..],
        _ => line,
    }
}

fn keepalived_dump(file: &Path, ifaces: &[String], tmp: &Path) -> BTreeMap<String, Dumped> {
    let mut setup = String::new();
    for (n, i) in ifaces.iter().enumerate() {
        setup.push_str(&format!("ip link add '{i}' type veth peer name kdp{n} && ip link set '{i}' up && ip link set kdp{n} up && "));
    }
    let script = format!(
        "{setup} exec /usr/sbin/keepalived -n -l -D -d -P -f \"$1\" -p \"$2/k.pid\" -r \"$2/v.pid\" -c \"$2/c.pid\" 2>&1"
    );
    let mut child = Command::new("timeout")
        .args([
            "30",
            "unshare",
            "-n",
            "--kill-child=SIGTERM",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .arg(file)
        .arg(tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn keepalived");
    let out = child.stdout.take().expect("stdout");
    let mut dumped: BTreeMap<String, Dumped> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut in_topology = false;
    let mut in_vips = false;
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        let text = strip_stamp(&line);
        if text.contains("------< VRRP Topology >------") {
            in_topology = true;
            continue;
        }
        if in_topology && text.starts_with("------<") {
            break; // topology done: stop keepalived
        }
        if !in_topology {
            continue;
        }
        if let Some(name) = text.trim().strip_prefix("VRRP Instance = ") {
            current = Some(name.to_string());
            dumped.insert(name.to_string(), Dumped::default());
            in_vips = false;
            continue;
        }
        let Some(inst) = current.as_ref().and_then(|c| dumped.get_mut(c)) else {
            continue;
        };
        let indent = text.len() - text.trim_start().len();
        if indent == 0 {
            // Not part of the dump (every dump line is indented): a log line of keepalived's
            // other process interleaved under load. It must not end a VIP list.
            continue;
        }
        let t = text.trim();
        if t.starts_with("Virtual IP (") {
            in_vips = true;
            continue;
        }
        if in_vips && indent >= 5 {
            inst.vips.push(t.to_string());
            continue;
        }
        in_vips = false;
        if let Some((k, v)) = t.split_once(" = ") {
            inst.fields.insert(k.to_string(), v.to_string());
        }
    }
    // SIGTERM to `timeout` reaches unshare, whose death SIGTERMs keepalived (--kill-child).
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    // Past the bound the whole `timeout` process is killed instead (and the dump stands).
    let _ = test_support::wait::try_wait_child(&mut child, std::time::Duration::from_secs(10));
    dumped
}

#[test]
fn model_matches_keepalived_dump() {
    if !oracle::available() {
        return;
    }
    let Some(dir) = oracle::external_corpus() else {
        return;
    };
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for f in FILES {
        let path = dir.join(f);
        let loaded = load_file(&path, &LoadOptions::default());
        let cfg = loaded.config.expect("corpus file loads");
        let tmp = tempfile::tempdir().unwrap();
        let dump = keepalived_dump(&path, &oracle::interfaces_of(&cfg), tmp.path());
        assert_eq!(
            dump.len(),
            cfg.instances.len(),
            "{f}: instance count (keepalived dumped {:?})",
            dump.keys()
        );
        for i in &cfg.instances {
            let d = &dump[&i.name];
            let want = |k: &str| {
                let v = d
                    .fields
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| format!("<no {k}>"));
                // With use_vmac keepalived prints "NAME, vmac on PARENT": compare the parent.
                match v.split_once(", vmac on ") {
                    Some((_, parent)) if k == "Interface" => parent.to_string(),
                    _ => v,
                }
            };
            let ours = our_values(i);
            for (k, v) in ours {
                compared += 1;
                if want(k) != v {
                    mismatches.push(format!(
                        "{f} {}: {k}: keepalived {:?}, vrrpd {v:?}",
                        i.name,
                        want(k)
                    ));
                }
            }
            let our_vips: Vec<String> = i
                .virtual_ipaddress
                .iter()
                .map(|v| {
                    let host = if v.addr.is_ipv4() { 32 } else { 128 };
                    if v.prefix_len == host {
                        v.addr.to_string()
                    } else {
                        format!("{}/{}", v.addr, v.prefix_len)
                    }
                })
                .collect();
            let their_vips: Vec<String> = d
                .vips
                .iter()
                .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
                .collect();
            compared += 1;
            if our_vips != their_vips {
                mismatches.push(format!(
                    "{f} {}: VIPs keepalived {their_vips:?}, vrrpd {our_vips:?}",
                    i.name
                ));
            }
        }
    }
    eprintln!(
        "{compared} values compared, {} mismatches",
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// The model's values under the names keepalived's dump prints them with.
fn our_values(i: &keepalived_conf::Instance) -> Vec<(&'static str, String)> {
    let wantstate = match (i.state, i.priority) {
        (Some(InitialState::Master), _) | (None, 255) => "MASTER",
        _ => "BACKUP",
    };
    let auth = match &i.authentication {
        None => "none",
        Some(keepalived_conf::Authentication::Pass(_)) => "SIMPLE_PASSWORD",
        Some(keepalived_conf::Authentication::Ah(_)) => "IPSEC_AH",
    };
    let mut ours: Vec<(&'static str, String)> = vec![
        ("VRRP Version", i.version.to_string()),
        ("Interface", i.interface.clone().unwrap_or_default()),
        ("Virtual Router ID", i.virtual_router_id.to_string()),
        ("Priority", i.priority.to_string()),
        ("Advert interval", format!("{} sec", i.advert_int.as_secs())),
        (
            "Accept",
            if i.accept { "enabled" } else { "disabled" }.into(),
        ),
        (
            "Preempt",
            if i.nopreempt { "disabled" } else { "enabled" }.into(),
        ),
        ("Authentication type", auth.into()),
        (
            "Gratuitous ARP delay",
            i.garp_master_delay.as_secs().to_string(),
        ),
        ("Gratuitous ARP repeat", i.garp_master_repeat.to_string()),
        (
            "Gratuitous ARP refresh",
            i.garp_master_refresh.as_secs().to_string(),
        ),
        (
            "Gratuitous ARP refresh repeat",
            i.garp_master_refresh_repeat.to_string(),
        ),
        (
            "Gratuitous ARP lower priority delay",
            i.garp_lower_prio_delay.as_secs().to_string(),
        ),
        (
            "Gratuitous ARP lower priority repeat",
            i.garp_lower_prio_repeat.to_string(),
        ),
        ("Down timer adverts", i.down_timer_adverts.to_string()),
        (
            "Sync group",
            i.sync_group
                .clone()
                .unwrap_or_else(|| "<no Sync group>".into()),
        ),
        (
            "Using smtp notification",
            if i.smtp_alert { "yes" } else { "no" }.into(),
        ),
    ];
    // In a sync group the wanted state is settled by the group at start-up (runtime).
    if i.sync_group.is_none() {
        ours.push(("Wantstate", wantstate.to_string()));
    }
    ours
}
