//! The live status page in a real headless browser (Debian's chromium) against the running lab
//! pair: it shows the members and this host's VRRP state with the VIP, and follows a failover
//! (elb-a put in maintenance, the VIP moves to elb-b) within two of its refreshes.

use std::time::{Duration, Instant};

use elb_ha_e2e::seed::{ELB_A, ELB_B, Seed, SeedOptions, VIP};
use netlab::require_root_or_skip;

/// The page's own refresh period (elb-proxy's `status_page::REFRESH_SECS`).
const REFRESH: Duration = Duration::from_secs(2);
const STATUS_URL: &str = "http://127.0.0.1:9101/status";

/// Chromium, headless, in elb-a's namespace (the page is on its loopback); `what` is
/// `--dump-dom` or `--screenshot=PATH`. Flags keep it off the (closed) network.
fn chromium(seed: &Seed, what: &str, profile: &std::path::Path) -> String {
    let out = seed
        .host(ELB_A)
        .command("/usr/bin/chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,1000",
            "--timeout=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(what)
        .arg(STATUS_URL)
        .output()
        .expect("chromium (Debian package chromium)");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the `<tr>` rows of the table with `id`, tags stripped.
fn rows(dom: &str, id: &str) -> Vec<String> {
    let Some(start) = dom.find(&format!("<table id=\"{id}\">")) else {
        return Vec::new();
    };
    let table = &dom[start
        ..dom[start..]
            .find("</table>")
            .map_or(dom.len(), |e| start + e)];
    table
        .split("<tr>")
        .skip(2)
        .map(|r| {
            let mut text = String::new();
            let mut in_tag = false;
            for c in r.chars() {
                match c {
                    '<' => {
                        in_tag = true;
                        text.push(' ');
                    }
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

#[test]
fn status_page_shows_the_pair_and_follows_a_failover_within_two_refreshes() {
    let test = "status_page_shows_the_pair_and_follows_a_failover_within_two_refreshes";
    if !require_root_or_skip(test) {
        return;
    }
    let seed = Seed::start(SeedOptions {
        push_to_vrrpd: true,
        ..SeedOptions::default()
    })
    .expect("seed deployment starts");
    seed.wait_vip_on(ELB_A, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", seed.logs()));
    // The status page lives on the metrics address: add one to elb-a's file and reload.
    let yaml = seed
        .lab
        .dir()
        .join(Seed::node_name(ELB_A))
        .join("elb-proxy.yaml");
    let mut text = std::fs::read_to_string(&yaml).unwrap();
    text.push_str("metrics:\n  address: 127.0.0.1:9101\n");
    std::fs::write(&yaml, text).unwrap();
    let out = seed.proxy_ctl(ELB_A, &["reload"]).unwrap();
    assert!(!out.starts_with("error"), "{out}");
    for _ in 0..5 {
        seed.request_via_vip(Duration::from_secs(2)).unwrap();
    }
    let profile = seed.lab.dir().join("chromium-profile");
    let dom = chromium(&seed, "--dump-dom", &profile);
    let members = rows(&dom, "members");
    assert!(
        members
            .iter()
            .any(|r| r.starts_with("appserver as1 ") && r.contains(" UP "))
            && members.iter().any(|r| r.starts_with("appserver as2 ")),
        "members: {members:?}\n{dom}"
    );
    let vrrp = rows(&dom, "vrrp");
    assert!(
        vrrp.iter()
            .any(|r| r.contains(" MASTER ") && r.contains(&VIP.to_string())),
        "elb-a holds the VIP: {vrrp:?}"
    );
    assert!(dom.contains("<svg id=\"chart\""), "the chart is there");
    let shot = seed.lab.dir().join("status-page.png");
    chromium(&seed, &format!("--screenshot={}", shot.display()), &profile);
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 1000)
            .unwrap_or(false)
    );
    if let Some(keep) = std::env::var_os("STATUS_PAGE_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }

    // Failover: elb-a gives the VIP away; within two refreshes the page says so.
    let out = seed
        .vrrpd_ctl(ELB_A, &["set", "maintenance", "on"])
        .unwrap();
    assert!(!out.starts_with("error"), "{out}");
    seed.wait_vip_on(ELB_B, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", seed.logs()));
    let moved = Instant::now();
    let dom = loop {
        let dom = chromium(&seed, "--dump-dom", &profile);
        let vrrp = rows(&dom, "vrrp");
        let transitions = rows(&dom, "transitions");
        if !vrrp.iter().any(|r| r.contains(" MASTER "))
            && transitions.iter().any(|r| r.contains(" MASTER "))
        {
            break dom;
        }
        assert!(
            moved.elapsed() <= 2 * REFRESH + Duration::from_secs(1),
            "page did not follow the failover within two refreshes: {vrrp:?} {transitions:?}"
        );
    };
    let transitions = rows(&dom, "transitions");
    assert!(
        transitions
            .iter()
            .any(|r| r.contains("MASTER") && (r.contains("FAULT") || r.contains("BACKUP"))),
        "{transitions:?}"
    );
}
