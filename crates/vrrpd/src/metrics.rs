//! Optional Prometheus endpoint (`--metrics-listen ADDR`; keepalived.conf unchanged). Each
//! scrape asks the daemon's own control socket for `show status json` and `show stats json`
//! and renders them, so the endpoint is just another control-socket client and can never
//! stall VRRP. Where the widely used mehdy/keepalived-exporter (formerly
//! cafebazaar/keepalived-exporter) names the same quantity, its name and labels (`iname`,
//! `intf`, `vrid`) are used, so its dashboards keep working; everything else is `vrrpd_*`.

pub mod events;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Longest request head read from a scraper.
const MAX_HEAD: usize = 8 * 1024;
/// Time a scraper has to send its request, and the daemon to answer it.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Scrapes served at once; more are closed.
const MAX_CLIENTS: usize = 16;

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

/// keepalived-exporter's state numbers.
fn state_number(state: &str) -> u8 {
    match state {
        "BACKUP" => 1,
        "MASTER" => 2,
        "FAULT" => 3,
        _ => 0,
    }
}

fn u(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

/// Renders the exposition from the control socket's two JSON answers; `now_ms` is the
/// current Unix time in milliseconds (for the time since the last transition).
pub fn render(status: &Value, stats: &Value, now_ms: u64) -> String {
    let mut o = String::with_capacity(4096);
    family(
        &mut o,
        "keepalived_up",
        "gauge",
        "1 while vrrpd answers on its control socket.",
    );
    let _ = writeln!(o, "keepalived_up 1");
    family(
        &mut o,
        "vrrpd_maintenance",
        "gauge",
        "1 while vrrpd is in maintenance (all instances FAULT).",
    );
    let _ = writeln!(
        o,
        "vrrpd_maintenance {}",
        u8::from(status.get("maintenance").and_then(Value::as_bool) == Some(true))
    );
    let insts = list(status, "instances");
    let labels = |i: &Value| {
        format!(
            "iname=\"{}\",intf=\"{}\",vrid=\"{}\"",
            esc(s(i, "name")),
            esc(s(i, "interface")),
            u(i, "vrid")
        )
    };
    instance_gauges(&mut o, insts, &labels, now_ms);
    instance_counters(&mut o, insts, list(stats, "instances"), &labels);
    trackers(&mut o, insts, &labels);
    scripts_and_alerts(&mut o, stats);
    o
}

fn instance_gauges(
    o: &mut String,
    insts: &[Value],
    labels: &dyn Fn(&Value) -> String,
    now_ms: u64,
) {
    family(
        o,
        "keepalived_vrrp_state",
        "gauge",
        "Instance state per VIP: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (keepalived-exporter's).",
    );
    for i in insts {
        for vip in list(i, "vips") {
            let _ = writeln!(
                o,
                "keepalived_vrrp_state{{{},ip_address=\"{}\"}} {}",
                labels(i),
                esc(vip.as_str().unwrap_or("")),
                state_number(s(i, "state"))
            );
        }
    }
    family(
        o,
        "vrrpd_vrrp_state",
        "gauge",
        "Instance state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (also for instances without VIPs).",
    );
    for i in insts {
        let _ = writeln!(
            o,
            "vrrpd_vrrp_state{{{}}} {}",
            labels(i),
            state_number(s(i, "state"))
        );
    }
    type Read = fn(&Value) -> Option<u64>;
    let gauges: [(&str, &str, Read); 5] = [
        ("vrrpd_vrrp_base_priority", "Configured priority.", |i| {
            i.get("base_priority")?.as_u64()
        }),
        (
            "vrrpd_vrrp_effective_priority",
            "Priority after tracker weights.",
            |i| i.get("effective_priority")?.as_u64(),
        ),
        (
            "vrrpd_vrrp_master_priority",
            "Priority the current master advertises (absent while unknown).",
            |i| i.get("master_priority")?.as_u64(),
        ),
        (
            "vrrpd_vrrp_vips_held",
            "VIPs this host holds for the instance (its VIPs while MASTER).",
            |i| {
                Some(if s(i, "state") == "MASTER" {
                    list(i, "vips").len() as u64
                } else {
                    0
                })
            },
        ),
        (
            "vrrpd_vrrp_last_transition_timestamp_seconds",
            "Unix time of the instance's last state change.",
            |i| Some(u(i, "since_unix_ms") / 1000),
        ),
    ];
    for (name, help, read) in gauges {
        family(o, name, "gauge", help);
        for i in insts {
            if let Some(v) = read(i) {
                let _ = writeln!(o, "{name}{{{}}} {v}", labels(i));
            }
        }
    }
    family(
        o,
        "vrrpd_vrrp_seconds_since_last_transition",
        "gauge",
        "Seconds since the instance's last state change.",
    );
    for i in insts {
        let secs = now_ms.saturating_sub(u(i, "since_unix_ms")) as f64 / 1000.0;
        let _ = writeln!(
            o,
            "vrrpd_vrrp_seconds_since_last_transition{{{}}} {secs}",
            labels(i)
        );
    }
}

fn instance_counters(
    o: &mut String,
    insts: &[Value],
    stats: &[Value],
    labels: &dyn Fn(&Value) -> String,
) {
    let stat_of = |i: &Value| stats.iter().find(|st| s(st, "name") == s(i, "name"));
    let counters: [(&str, &str, &str); 7] = [
        (
            "keepalived_advert_rcvd_total",
            "adverts_received",
            "Adverts received.",
        ),
        (
            "keepalived_advert_sent_total",
            "adverts_sent",
            "Adverts sent.",
        ),
        (
            "keepalived_become_master_total",
            "became_master",
            "Times the instance became MASTER.",
        ),
        (
            "keepalived_release_master_total",
            "released_master",
            "Times the instance left MASTER.",
        ),
        (
            "keepalived_pri_zero_rcvd_total",
            "priority_zero_received",
            "Priority 0 adverts received (a master leaving).",
        ),
        (
            "keepalived_pri_zero_sent_total",
            "priority_zero_sent",
            "Priority 0 adverts sent.",
        ),
        (
            "vrrpd_vrrp_transitions_total",
            "transitions",
            "State changes of any kind.",
        ),
    ];
    for (name, key, help) in counters {
        family(o, name, "counter", help);
        for i in insts {
            let v = stat_of(i).map_or(0, |st| u(st, key));
            let _ = writeln!(o, "{name}{{{}}} {v}", labels(i));
        }
    }
    family(
        o,
        "vrrpd_vrrp_receive_errors_total",
        "counter",
        "Adverts dropped by the receive checks, by reason.",
    );
    for i in insts {
        if let Some(errs) = stat_of(i)
            .and_then(|st| st.get("receive_errors"))
            .and_then(Value::as_object)
        {
            for (reason, v) in errs {
                let _ = writeln!(
                    o,
                    "vrrpd_vrrp_receive_errors_total{{{},reason=\"{}\"}} {}",
                    labels(i),
                    esc(reason),
                    v.as_u64().unwrap_or(0)
                );
            }
        }
    }
}

fn trackers(o: &mut String, insts: &[Value], labels: &dyn Fn(&Value) -> String) {
    family(
        o,
        "vrrpd_tracker_up",
        "gauge",
        "1 when the tracker (script, file, interface) counts as up for the instance.",
    );
    for i in insts {
        for t in list(i, "trackers") {
            let _ = writeln!(
                o,
                "vrrpd_tracker_up{{{},tracker=\"{}\",kind=\"{}\"}} {}",
                labels(i),
                esc(s(t, "name")),
                esc(s(t, "kind")),
                u8::from(t.get("up").and_then(Value::as_bool) == Some(true))
            );
        }
    }
    family(
        o,
        "vrrpd_tracker_weight",
        "gauge",
        "The tracker's configured weight (0 = a failure means FAULT).",
    );
    for i in insts {
        for t in list(i, "trackers") {
            let w = t.get("weight").and_then(Value::as_i64).unwrap_or(0);
            let _ = writeln!(
                o,
                "vrrpd_tracker_weight{{{},tracker=\"{}\",kind=\"{}\"}} {w}",
                labels(i),
                esc(s(t, "name")),
                esc(s(t, "kind"))
            );
        }
    }
}

fn scripts_and_alerts(o: &mut String, stats: &Value) {
    let counters: [(&str, &str, &str); 4] = [
        ("vrrpd_script_runs_total", "runs", "Track script runs."),
        (
            "vrrpd_script_failures_total",
            "failures",
            "Track script runs that failed (non-zero exit or signal).",
        ),
        (
            "vrrpd_script_timeouts_total",
            "timeouts",
            "Track script runs killed at their timeout.",
        ),
        (
            "vrrpd_script_skipped_total",
            "skipped",
            "Track script runs skipped because the previous one still ran.",
        ),
    ];
    for (name, key, help) in counters {
        family(o, name, "counter", help);
        for sc in list(stats, "scripts") {
            let _ = writeln!(
                o,
                "{name}{{script=\"{}\"}} {}",
                esc(s(sc, "name")),
                u(sc, key)
            );
        }
    }
    let empty = Value::Null;
    let alerts = stats.get("alerts").unwrap_or(&empty);
    let mails: [(&str, &str, &str); 5] = [
        ("vrrpd_mail_queued_total", "queued", "Alert mails queued."),
        (
            "vrrpd_mail_sent_total",
            "sent",
            "Alert mails the SMTP server accepted.",
        ),
        (
            "vrrpd_mail_dropped_total",
            "dropped_queue_full",
            "Alert mails dropped because the queue was full.",
        ),
        (
            "vrrpd_mail_failed_attempts_total",
            "failed_attempts",
            "Failed SMTP delivery attempts.",
        ),
        (
            "vrrpd_mail_rejected_total",
            "rejected",
            "Alert mails the SMTP server refused.",
        ),
    ];
    for (name, key, help) in mails {
        family(o, name, "counter", help);
        let _ = writeln!(o, "{name} {}", u(alerts, key));
    }
    let control = stats.get("control").unwrap_or(&empty);
    let ctl: [(&str, &str, &str); 4] = [
        (
            "vrrpd_control_connections_total",
            "connections",
            "Control socket connections.",
        ),
        (
            "vrrpd_control_rejected_busy_total",
            "rejected_busy",
            "Control socket connections refused (too many at once).",
        ),
        (
            "vrrpd_control_bad_requests_total",
            "bad_requests",
            "Control socket lines not understood.",
        ),
        (
            "vrrpd_control_timeouts_total",
            "timeouts",
            "Control socket clients or answers that timed out.",
        ),
    ];
    for (name, key, help) in ctl {
        family(o, name, "counter", help);
        let _ = writeln!(o, "{name} {}", u(control, key));
    }
}

/// One scrape: both JSON answers from the control socket, rendered.
async fn scrape(control: &Path) -> Result<String, String> {
    let ask = |line: &'static str| async move {
        let text = crate::control::client::request(control, line, TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_str::<Value>(&text).map_err(|e| format!("{line}: {e}"))
    };
    let status = ask("show status json").await?;
    let stats = ask("show stats json").await?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut text = render(&status, &stats, now_ms);
    events::render(&mut text);
    Ok(text)
}

/// Answers one scraper: `GET /metrics` (or `HEAD`), anything else 404.
async fn serve_one(mut stream: TcpStream, control: Arc<PathBuf>) {
    let mut head = Vec::with_capacity(512);
    let read = tokio::time::timeout(TIMEOUT, async {
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        true
    })
    .await;
    if read != Ok(true) {
        return;
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_ascii_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (status, body) = match (method, path.split('?').next().unwrap_or("")) {
        ("GET" | "HEAD", "/metrics") => match scrape(&control).await {
            Ok(text) => ("200 OK", text),
            Err(e) => (
                "503 Service Unavailable",
                format!("vrrpd control socket: {e}\n"),
            ),
        },
        _ => (
            "404 Not Found",
            "only /metrics is served here\n".to_string(),
        ),
    };
    let mut answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        answer.push_str(&body);
    }
    let _ = tokio::time::timeout(TIMEOUT, stream.write_all(answer.as_bytes())).await;
    let _ = stream.shutdown().await;
}

/// Serves scrapes until the task is dropped.
async fn serve(listener: TcpListener, control: Arc<PathBuf>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CLIENTS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let control = control.clone();
        tokio::spawn(async move {
            let _permit = permit;
            serve_one(stream, control).await;
        });
    }
}

/// The running endpoint; stops when dropped.
pub struct Endpoint(tokio::task::JoinHandle<()>);

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Binds `addr` (failing start-up with a clear error when it cannot) and serves metrics read
/// from the control socket at `control`. `None` when no address was asked for.
pub async fn start(addr: Option<SocketAddr>, control: &Path) -> anyhow::Result<Option<Endpoint>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("--metrics-listen {addr}: {e}"))?;
    tracing::info!(%addr, "metrics endpoint listening");
    let control = Arc::new(control.to_path_buf());
    Ok(Some(Endpoint(tokio::spawn(serve(listener, control)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_keepalived_exporter_names_and_vrrpd_extras() {
        let status = serde_json::json!({
            "maintenance": false,
            "instances": [{
                "name": "VI_1", "interface": "eth0", "vrid": 51, "state": "MASTER",
                "base_priority": 150, "effective_priority": 140, "master_priority": 140,
                "vips": ["198.18.0.100/32"], "since_unix_ms": 1000,
                "trackers": [{"name": "chk", "kind": "script", "up": false, "weight": -10}]
            }]
        });
        let stats = serde_json::json!({
            "instances": [{"name": "VI_1", "adverts_sent": 7, "adverts_received": 2,
                "became_master": 1, "transitions": 2, "receive_errors": {"bad_ttl": 3}}],
            "scripts": [{"name": "chk", "runs": 4, "failures": 1}],
            "alerts": {"sent": 1}, "control": {"connections": 9}
        });
        let text = render(&status, &stats, 4500);
        let l = "iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"";
        for want in [
            format!("keepalived_vrrp_state{{{l},ip_address=\"198.18.0.100/32\"}} 2"),
            format!("keepalived_advert_sent_total{{{l}}} 7"),
            format!("keepalived_become_master_total{{{l}}} 1"),
            format!("vrrpd_vrrp_effective_priority{{{l}}} 140"),
            format!("vrrpd_vrrp_vips_held{{{l}}} 1"),
            format!("vrrpd_vrrp_seconds_since_last_transition{{{l}}} 3.5"),
            format!("vrrpd_vrrp_receive_errors_total{{{l},reason=\"bad_ttl\"}} 3"),
            format!("vrrpd_tracker_up{{{l},tracker=\"chk\",kind=\"script\"}} 0"),
            "vrrpd_script_failures_total{script=\"chk\"} 1".to_string(),
            "vrrpd_mail_sent_total 1".to_string(),
        ] {
            assert!(text.lines().any(|x| x == want), "missing {want} in\n{text}");
        }
    }
}
