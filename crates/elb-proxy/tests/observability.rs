//! What an operator sees: the Prometheus exposition (checked by Debian's `promtool` and by a
//! strict parser here), the access log line of every answer (local ones and hyper's own
//! 400/431 included), reopening the log for logrotate, and `show stat` in HAProxy's layout.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use common::*;

/// A proxy with an app cluster (one live member), a route to a dead member, the metrics
/// port and a JSON access log at `{dir}/access.log`.
async fn lab(format: &str) -> (Proxy, Backend, SocketAddr) {
    let a = Backend::start("a").await;
    let dead: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let yaml = format!(
        "listeners: [{{ name: web, address: \"{{listen}}\" }}]\n\
         clusters:\n  - name: app\n    members: [{{ name: m1, address: \"{}\" }}]\n  \
         - name: gone\n    members: [{{ name: g1, address: \"{dead}\" }}]\n\
         routes:\n  - {{ name: api, match: {{ path_prefix: /api }}, cluster: app }}\n  \
         - {{ name: broken, match: {{ path_prefix: /gone }}, cluster: gone }}\n\
         limits: {{ max_header_bytes: 8KiB }}\n\
         metrics: {{ address: \"{metrics}\" }}\n\
         access_log: {{ path: \"{{dir}}/access.log\", format: {format} }}\n",
        a.addr
    );
    (start_proxy(&yaml), a, metrics)
}

/// One of each answer: proxied 200 (with a query string), 404 (no route), 502 (dead
/// member), hyper's own 400 (garbage head) and 431 (head too large). Returns the body bytes
/// of the 200, 404 and 502 answers (hyper's own answers have none).
async fn one_of_each(p: &Proxy) -> usize {
    let req = http::Request::get("/api/items?id=7&sort=asc")
        .header("host", "shop.test")
        .header("user-agent", "obs-test/1")
        .header("referer", "http://ref.test/")
        .header("x-request-id", "req-42")
        .body(empty())
        .unwrap();
    let ok = request(p.addr, req).await.unwrap();
    assert_eq!(ok.status, 200);
    let not_found = get(p.addr, "shop.test", "/nowhere").await;
    assert_eq!(not_found.status, 404);
    let gone = get(p.addr, "shop.test", "/gone").await;
    assert_eq!(gone.status, 502);
    let bad = raw(
        p.addr,
        b"GARBAGE\x01 / HTTP/1.1\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let big = raw(p.addr, big.as_bytes(), Duration::from_secs(5)).await;
    assert!(big.starts_with("HTTP/1.1 431"), "{big}");
    // The strict gate's 400 and 431 carry a body too.
    let body_of = |raw: &str| raw.split_once("\r\n\r\n").map_or(0, |(_, b)| b.len());
    ok.body.len() + not_found.body.len() + gone.body.len() + body_of(&bad) + body_of(&big)
}

async fn log_lines(p: &Proxy, n: usize) -> Vec<String> {
    let path = p.dir.path().join("access.log");
    poll_for("access log lines", Duration::from_secs(10), || async {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        (lines.len() >= n).then_some(lines)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_access_log_records_every_answer_with_its_termination_state() {
    let (p, _a, _m) = lab("json").await;
    one_of_each(&p).await;
    let lines = log_lines(&p, 5).await;
    let entries: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let by_status: HashMap<u64, &serde_json::Value> = entries
        .iter()
        .map(|e| (e["status"].as_u64().unwrap(), e))
        .collect();
    let ok = by_status[&200];
    assert_eq!(ok["target"], "/api/items?id=7&sort=asc", "{ok}");
    assert_eq!(ok["method"], "GET");
    assert_eq!(ok["host"], "shop.test");
    assert_eq!(ok["user_agent"], "obs-test/1");
    assert_eq!(ok["referer"], "http://ref.test/");
    assert_eq!(ok["request_id"], "req-42");
    assert_eq!(ok["client"], "127.0.0.1");
    assert_eq!(ok["listener"], "web");
    assert_eq!(ok["route"], "api");
    assert_eq!(ok["cluster"], "app");
    assert_eq!(ok["member"], "m1");
    assert_eq!(ok["termination"], "--");
    assert_eq!(ok["bytes_out"], 2, "the backend answers \"a\\n\"");
    assert!(ok["bytes_in"].as_u64().unwrap() > 0);
    for t in ["queue_ms", "connect_ms", "first_byte_ms", "total_ms"] {
        assert!(ok[t].as_f64().is_some(), "{t} missing: {ok}");
    }
    assert_eq!(by_status[&404]["termination"], "PR", "{lines:#?}");
    let gone = by_status[&502];
    assert_eq!(gone["termination"], "SC", "{gone}");
    assert_eq!(gone["cluster"], "gone");
    assert_eq!(gone["member"], "g1");
    assert_eq!(by_status[&400]["termination"], "PR");
    assert_eq!(by_status[&431]["termination"], "PR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_is_reopened_by_sigusr1_and_by_the_admin_command() {
    let (p, _a, _m) = lab("combined").await;
    let path = p.dir.path().join("access.log");
    assert_eq!(get(p.addr, "x", "/api/one?x=1").await.status, 200);
    let first = log_lines(&p, 1).await;
    assert!(
        first[0].contains("\"GET /api/one?x=1 HTTP/1.1\" 200 2 \"-\" \"-\""),
        "{first:?}"
    );
    // logrotate: move the file away, ask for a reopen, the next line lands in a new file.
    let rotated = p.dir.path().join("access.log.1");
    std::fs::rename(&path, &rotated).unwrap();
    let (ok, out) = p.ctl("reopen logs");
    assert!(ok && out.contains("reopened"), "{out}");
    assert_eq!(get(p.addr, "x", "/api/two").await.status, 200);
    let second = log_lines(&p, 1).await;
    assert!(second[0].contains("GET /api/two"), "{second:?}");
    std::fs::rename(&path, &rotated).unwrap();
    p.signal("USR1");
    // The admin command above logged the same line: wait for the signal's own.
    assert!(p.wait_log_count("access log reopened", 2, Duration::from_secs(10)));
    assert_eq!(get(p.addr, "x", "/api/three").await.status, 200);
    let third = log_lines(&p, 1).await;
    assert!(third[0].contains("GET /api/three"), "{third:?}");
}

/// The strict reading of the text format: every sample belongs to the family whose HELP
/// and TYPE came just before it, no family appears twice, histograms are complete.
fn strict_check(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut current: Option<(String, String)> = None;
    let mut help: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap().to_string();
            assert!(seen.insert(name.clone()), "family {name} appears twice");
            help = Some(name);
            current = None;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut w = rest.split(' ');
            let (name, kind) = (w.next().unwrap(), w.next().unwrap());
            assert_eq!(help.as_deref(), Some(name), "TYPE {name} without its HELP");
            assert!(
                ["counter", "gauge", "histogram"].contains(&kind),
                "{name}: {kind}"
            );
            current = Some((name.to_string(), kind.to_string()));
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let v: f64 = value.parse().unwrap_or_else(|_| panic!("bad value {line}"));
        let name = series.split('{').next().unwrap();
        let (fam, kind) = current
            .as_ref()
            .unwrap_or_else(|| panic!("sample before any TYPE: {line}"));
        let ok = match kind.as_str() {
            "histogram" => [
                format!("{fam}_bucket"),
                format!("{fam}_sum"),
                format!("{fam}_count"),
            ]
            .contains(&name.to_string()),
            _ => name == fam,
        };
        assert!(ok, "sample {name} outside its family {fam}");
        if kind == "counter" {
            assert!(name.ends_with("_total"), "counter {name} without _total");
        }
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
                for pair in labels[1..labels.len() - 1].split("\",") {
                    let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                    assert!(
                        k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "label name {k}"
                    );
                    assert!(!v.contains('\n'), "{line}");
                }
            }
        }
        assert!(
            samples.insert(series.to_string(), v).is_none(),
            "duplicate {series}"
        );
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool_and_a_strict_parser_and_count_every_answer() {
    let (p, _a, m) = lab("json").await;
    let body_bytes = one_of_each(&p).await as f64;
    let text = get(m, "m", "/metrics").await.body;
    let dir = p.dir.path();
    std::fs::write(dir.join("metrics.txt"), &text).unwrap();
    let promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(dir.join("metrics.txt")).unwrap())
        .output()
        .expect("promtool (Debian package prometheus; make test-deps installs it)");
    assert!(
        promtool.status.success() && promtool.stdout.is_empty() && promtool.stderr.is_empty(),
        "promtool: {}{}",
        String::from_utf8_lossy(&promtool.stdout),
        String::from_utf8_lossy(&promtool.stderr)
    );
    let s = strict_check(&text);
    let want = [
        // The strict gate's refusals count once, by their exact reason, not as hyper's.
        ("elb_proxy_rejections_total{reason=\"request_line\"}", 1.0),
        ("elb_proxy_rejections_total{reason=\"head_too_large\"}", 1.0),
        ("elb_proxy_rejections_total{reason=\"bad_request\"}", 0.0),
        (
            "elb_proxy_rejections_total{reason=\"header_too_large\"}",
            0.0,
        ),
        ("elb_proxy_rejections_total{reason=\"no_route\"}", 1.0),
        ("elb_proxy_local_responses_total{code=\"400\"}", 1.0),
        ("elb_proxy_local_responses_total{code=\"431\"}", 1.0),
        ("elb_proxy_local_responses_total{code=\"404\"}", 1.0),
        ("elb_proxy_local_responses_total{code=\"502\"}", 1.0),
        (
            "elb_proxy_request_duration_seconds_count{listener=\"web\",route=\"api\",cluster=\"app\",class=\"2xx\"}",
            1.0,
        ),
        (
            "elb_proxy_request_duration_seconds_count{listener=\"web\",route=\"broken\",cluster=\"gone\",class=\"5xx\"}",
            1.0,
        ),
        // The 404, and the 400 and 431 that the strict HTTP/1.1 gate answers as requests.
        (
            "elb_proxy_request_duration_seconds_count{listener=\"web\",route=\"\",cluster=\"\",class=\"4xx\"}",
            3.0,
        ),
        (
            "elb_proxy_upstream_first_byte_seconds_count{cluster=\"app\",member=\"m1\"}",
            1.0,
        ),
        (
            "elb_proxy_upstream_connect_seconds_count{cluster=\"app\",member=\"m1\"}",
            1.0,
        ),
        (
            "elb_proxy_listener_sent_bytes_total{listener=\"web\"}",
            body_bytes,
        ),
        (
            "elb_proxy_listener_connections_total{listener=\"web\"}",
            5.0,
        ),
        ("elb_proxy_access_log_dropped_total", 0.0),
    ];
    for (series, v) in want {
        assert_eq!(s.get(series), Some(&v), "{series} in\n{text}");
    }
    assert!(s["elb_proxy_access_log_lines_total"] >= 5.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_stat_uses_haproxy_columns_with_frontend_server_and_backend_rows() {
    let (p, _a, _m) = lab("json").await;
    for _ in 0..3 {
        assert_eq!(get(p.addr, "x", "/api").await.status, 200);
    }
    let (ok, out) = p.ctl("show stat");
    assert!(ok, "{out}");
    let mut lines = out.lines().filter(|l| !l.is_empty());
    let header = lines.next().unwrap();
    let cols: Vec<&str> = header.trim_start_matches("# ").split(',').collect();
    assert_eq!(
        cols.len(),
        114,
        "113 columns and the trailing comma: {header}"
    );
    assert_eq!(&cols[..4], ["pxname", "svname", "qcur", "qmax"]);
    assert_eq!(cols[112], "proto");
    let idx = |c: &str| cols.iter().position(|x| *x == c).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    for r in &rows {
        assert_eq!(r.len(), cols.len(), "{r:?}");
    }
    let find = |px: &str, sv: &str| {
        rows.iter()
            .find(|r| r[0] == px && r[1] == sv)
            .unwrap_or_else(|| panic!("no row {px}/{sv} in {out}"))
    };
    let fe = find("web", "FRONTEND");
    assert_eq!(fe[idx("type")], "0");
    assert_eq!(fe[idx("status")], "OPEN");
    assert_eq!(fe[idx("hrsp_2xx")], "3");
    let m1 = find("app", "m1");
    assert_eq!(m1[idx("type")], "2");
    assert_eq!(m1[idx("status")], "UP");
    assert_eq!(m1[idx("hrsp_2xx")], "3");
    assert_eq!(m1[idx("stot")], "3");
    assert_eq!(m1[idx("sid")], "1");
    let be = find("app", "BACKEND");
    assert_eq!(be[idx("type")], "1");
    assert_eq!(be[idx("act")], "1");
    assert_eq!(be[idx("hrsp_2xx")], "3");
    let (ok, old) = p.ctl("show stat elb");
    assert!(
        ok && old.starts_with("# pxname,svname,status,weight,"),
        "{old}"
    );
    let (ok, info) = p.ctl("show info");
    assert!(ok, "{info}");
    for key in [
        "Name:",
        "Version:",
        "Pid:",
        "Uptime:",
        "CurrConns:",
        "Maxconn:",
        "node:",
    ] {
        assert!(info.lines().any(|l| l.starts_with(key)), "{key} in {info}");
    }
}

/// Kills a helper process when the test ends, however it ends.
struct Helper(std::process::Child);

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = wait_exit(&mut self.0, Duration::from_secs(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_haproxy_exporter_reads_the_admin_socket() {
    let (p, _a, _m) = lab("json").await;
    for _ in 0..3 {
        assert_eq!(get(p.addr, "x", "/api").await.status, 200);
    }
    let port = free_port();
    let _exporter = Helper(
        std::process::Command::new("prometheus-haproxy-exporter")
            .arg(format!("--haproxy.scrape-uri=unix:{}", p.admin.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prometheus-haproxy-exporter (Debian package of that name)"),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let text = poll_for(
        "the exporter's metrics",
        Duration::from_secs(15),
        || async {
            let a = request(
                addr,
                http::Request::get("/metrics")
                    .header("host", "e")
                    .body(empty())
                    .unwrap(),
            )
            .await
            .ok()?;
            (a.status == 200 && a.body.contains("haproxy_up")).then_some(a.body)
        },
    )
    .await;
    for line in [
        "haproxy_up 1",
        "haproxy_server_up{backend=\"app\",server=\"m1\"} 1",
        "haproxy_server_up{backend=\"gone\",server=\"g1\"} 1",
        "haproxy_server_http_responses_total{backend=\"app\",code=\"2xx\",server=\"m1\"} 3",
        "haproxy_server_bytes_out_total{backend=\"app\",server=\"m1\"} 6",
        "haproxy_backend_http_responses_total{backend=\"app\",code=\"2xx\"} 3",
        "haproxy_frontend_http_responses_total{code=\"2xx\",frontend=\"web\"} 3",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
}

/// A private tmux server (its own socket name), killed when the test ends.
struct Tmux(String);

impl Tmux {
    fn cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new("tmux");
        c.args(["-L", &self.0]);
        c
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hatop_shows_the_members_read_from_the_admin_socket() {
    let (p, _a, _m) = lab("json").await;
    assert_eq!(get(p.addr, "x", "/api").await.status, 200);
    let tmux = Tmux(format!("elb-obs-{}", std::process::id()));
    // Debian's python3 (hatop's interpreter), not one earlier on PATH.
    let started = tmux
        .cmd()
        .args(["new-session", "-d", "-s", "hatop", "-x", "200", "-y", "50"])
        .arg(format!(
            "/usr/bin/python3 /usr/bin/hatop -s {}",
            p.admin.display()
        ))
        .status()
        .expect("tmux");
    assert!(started.success());
    let screen = poll_for("hatop's screen", Duration::from_secs(15), || async {
        let out = tmux
            .cmd()
            .args(["capture-pane", "-p", "-t", "hatop"])
            .output()
            .ok()?;
        let s = String::from_utf8_lossy(&out.stdout).into_owned();
        (s.contains("m1") && s.contains("g1")).then_some(s)
    })
    .await;
    for want in ["elb-proxy", "app", "gone", "BACKEND", "FRONTEND", "UP"] {
        assert!(
            screen.contains(want),
            "missing {want} on hatop's screen:\n{screen}"
        );
    }
}
