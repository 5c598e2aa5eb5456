//! The live status page at `/status` on the metrics address (never on a client listener):
//! listeners, clusters and members with health, weight, state, rates and errors, and the
//! pair — this host's VRRP state, VIPs, priorities, the master and recent transitions — read
//! from the local vrrpd's control socket (`vrrpd.control_socket`) when configured. Plain HTML
//! that reloads itself every two seconds, no scripts, no external assets; the chart is inline
//! SVG drawn from samples a background task takes every two seconds.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::Response;
use http::header::{self, HeaderValue};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::body::ResponseBody;
use crate::shared::Shared;

/// Seconds between samples (and between page refreshes).
pub const REFRESH_SECS: u64 = 2;
/// Samples kept: five minutes.
const SAMPLES: usize = 150;
/// Transitions kept.
const TRANSITIONS: usize = 20;

/// One VRRP state change seen by the sampler.
#[derive(Debug, Clone)]
struct Transition {
    at: SystemTime,
    instance: String,
    from: String,
    to: String,
    reason: String,
}

#[derive(Debug, Default)]
struct History {
    /// (requests per second, a failover happened in this interval)
    samples: VecDeque<(f64, bool)>,
    last_requests: Option<(u64, Instant)>,
    states: Vec<(String, String)>,
    transitions: VecDeque<Transition>,
}

static HISTORY: Mutex<Option<History>> = Mutex::new(None);

fn with_history<T>(f: impl FnOnce(&mut History) -> T) -> T {
    let mut h = HISTORY.lock().unwrap_or_else(|e| e.into_inner());
    f(h.get_or_insert_with(History::default))
}

/// `show status json` from vrrpd's control socket, bounded in time.
async fn vrrpd_status(socket: &Path) -> Result<Value, String> {
    let ask = async {
        let mut s = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| format!("{}: {e}", socket.display()))?;
        s.write_all(b"show status json\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        (&mut s)
            .take(1 << 20)
            .read_to_end(&mut out)
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_slice::<Value>(&out).map_err(|e| format!("vrrpd answer: {e}"))
    };
    tokio::time::timeout(Duration::from_millis(500), ask)
        .await
        .map_err(|_| "vrrpd did not answer within 500 ms".to_string())?
}

fn instances(status: &Value) -> &[Value] {
    status
        .get("instances")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Takes one sample: the request rate, and VRRP transitions since the last sample.
async fn sample(shared: &Shared) {
    // vrrpd is asked only when the page can be seen (it lives on the metrics address).
    let socket = {
        let snap = shared.snapshot.load();
        let cfg = &snap.config;
        cfg.metrics
            .as_ref()
            .and(cfg.vrrpd.as_ref())
            .map(|v| v.control_socket.clone())
    };
    let vrrp = match &socket {
        Some(s) => vrrpd_status(s).await.ok(),
        None => None,
    };
    let requests = shared.stats.requests_total.load(Relaxed);
    with_history(|h| {
        let now = Instant::now();
        let rate = match h.last_requests {
            Some((n, t)) => {
                (requests.saturating_sub(n)) as f64 / now.duration_since(t).as_secs_f64().max(0.001)
            }
            None => 0.0,
        };
        h.last_requests = Some((requests, now));
        let mut failover = false;
        if let Some(v) = &vrrp {
            for i in instances(v) {
                let (name, state) = (text(i, "name").to_string(), text(i, "state").to_string());
                match h.states.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, old)) if *old != state => {
                        failover = true;
                        h.transitions.push_front(Transition {
                            at: SystemTime::now(),
                            instance: name.clone(),
                            from: std::mem::replace(old, state.clone()),
                            to: state,
                            reason: text(i, "last_transition_reason").to_string(),
                        });
                        h.transitions.truncate(TRANSITIONS);
                    }
                    Some(_) => {}
                    None => h.states.push((name, state)),
                }
            }
        }
        h.samples.push_back((rate, failover));
        while h.samples.len() > SAMPLES {
            h.samples.pop_front();
        }
    });
}

/// Samples every `REFRESH_SECS` until shutdown.
pub fn spawn_sampler(shared: Arc<Shared>) {
    tokio::spawn(async move {
        let mut shutdown = shared.shutdown.subscribe();
        let mut tick = tokio::time::interval(Duration::from_secs(REFRESH_SECS));
        loop {
            tokio::select! {
                _ = tick.tick() => sample(&shared).await,
                _ = crate::shared::until_shutdown(&mut shutdown) => return,
            }
        }
    });
}

/// HTML-escapes text.
fn h(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font:14px sans-serif;margin:1em;color:#222}table{border-collapse:collapse;margin-bottom:1em}\
th,td{border:1px solid #bbb;padding:2px 8px;text-align:left}th{background:#dde}\
.UP,.MASTER{background:#bfb}.DOWN,.EJECTED,.FAULT{background:#fbb}.DRAIN,.MAINT,.BACKUP{background:#ffb}\
h2{margin:.6em 0 .3em}svg{border:1px solid #bbb;background:#fafafa}";

/// The request-rate chart with failovers as red lines.
fn chart(o: &mut String, samples: &VecDeque<(f64, bool)>) {
    let (w, ht) = (600.0, 120.0);
    let max = samples.iter().map(|s| s.0).fold(1.0, f64::max);
    let step = w / (SAMPLES as f64 - 1.0);
    let x0 = w - step * (samples.len().saturating_sub(1)) as f64;
    let _ = write!(
        o,
        "<svg id=\"chart\" width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\"><polyline fill=\"none\" stroke=\"#36c\" stroke-width=\"2\" points=\""
    );
    for (i, (rate, _)) in samples.iter().enumerate() {
        let _ = write!(
            o,
            "{:.1},{:.1} ",
            x0 + step * i as f64,
            ht - 4.0 - rate / max * (ht - 8.0)
        );
    }
    o.push_str("\"/>");
    for (i, (_, failover)) in samples.iter().enumerate() {
        if *failover {
            let x = x0 + step * i as f64;
            let _ = write!(
                o,
                "<line class=\"failover\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"0\" y2=\"{ht}\" stroke=\"#c00\"/>"
            );
        }
    }
    let _ = write!(
        o,
        "</svg><p>requests/s over the last {} min (peak {max:.0}); red: VRRP transitions</p>",
        SAMPLES as u64 * REFRESH_SECS / 60
    );
}

fn ago(t: SystemTime) -> String {
    SystemTime::now()
        .duration_since(t)
        .map_or("now".into(), |d| format!("{}s ago", d.as_secs()))
}

fn pair(o: &mut String, vrrp: Option<&Result<Value, String>>, transitions: &VecDeque<Transition>) {
    o.push_str("<h2>VRRP pair</h2>");
    let Some(vrrp) = vrrp else {
        o.push_str("<p>no vrrpd control socket configured (<code>vrrpd.control_socket</code>)</p>");
        return;
    };
    let v = match vrrp {
        Ok(v) => v,
        Err(e) => {
            let _ = write!(o, "<p class=\"FAULT\">vrrpd unreachable: {}</p>", h(e));
            return;
        }
    };
    o.push_str("<table id=\"vrrp\"><tr><th>instance</th><th>state</th><th>priority base/effective</th><th>master</th><th>master priority</th><th>VIPs</th><th>since</th><th>why</th></tr>");
    for i in instances(v) {
        let state = text(i, "state");
        let since = i
            .get("since_unix_ms")
            .and_then(Value::as_u64)
            .map_or(String::new(), |ms| {
                ago(SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
            });
        let vips: Vec<&str> = i
            .get("vips")
            .and_then(Value::as_array)
            .map_or(vec![], |a| a.iter().filter_map(Value::as_str).collect());
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(text(i, "name")),
            h(state),
            h(state),
            i.get("base_priority").and_then(Value::as_u64).unwrap_or(0),
            i.get("effective_priority")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            if state == "MASTER" {
                "this host".to_string()
            } else {
                h(i.get("master_address")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown"))
            },
            i.get("master_priority")
                .and_then(Value::as_u64)
                .map_or("-".into(), |p| p.to_string()),
            h(&vips.join(" ")),
            since,
            h(text(i, "last_transition_reason")),
        );
    }
    o.push_str("</table><h2>Recent transitions</h2><table id=\"transitions\"><tr><th>when</th><th>instance</th><th>from</th><th>to</th><th>why</th></tr>");
    for t in transitions {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            ago(t.at),
            h(&t.instance),
            h(&t.from),
            h(&t.to),
            h(&t.to),
            h(&t.reason)
        );
    }
    o.push_str("</table>");
}

fn proxy_tables(o: &mut String, shared: &Shared) {
    o.push_str("<h2>Listeners</h2><table id=\"listeners\"><tr><th>listener</th><th>open</th><th>accepted</th><th>bytes in</th><th>bytes out</th></tr>");
    for l in shared.stats.traffic.listeners() {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(&l.name),
            l.open.load(Relaxed),
            l.accepted.load(Relaxed),
            l.bytes_in.load(Relaxed),
            l.bytes_out.load(Relaxed)
        );
    }
    o.push_str("</table><h2>Clusters</h2><table id=\"members\"><tr><th>cluster</th><th>member</th><th>address</th><th>status</th><th>weight</th><th>in flight</th><th>requests</th><th>2xx</th><th>5xx</th><th>errors</th><th>ejections</th><th>check</th></tr>");
    let snap = shared.snapshot.load();
    let now = Instant::now();
    for c in &snap.clusters {
        let b = c.lock().clone();
        for (i, m) in c.members.iter().enumerate() {
            let (s, st) = (&m.stats, &b.members[i]);
            let status = st.status(now);
            let check = match s.last_check.load(Relaxed) {
                1 => "ok",
                2 => "failed",
                _ => "-",
            };
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{status}\">{status}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{check}</td></tr>",
                h(&c.name),
                h(&m.name),
                m.addr,
                st.weight,
                st.in_flight,
                s.requests.load(Relaxed),
                s.responses[1].load(Relaxed),
                s.responses[4].load(Relaxed),
                s.failures.load(Relaxed),
                s.ejections.load(Relaxed),
            );
        }
    }
    o.push_str("</table>");
}

/// The whole page.
async fn render(shared: &Shared) -> String {
    let socket = shared
        .snapshot
        .load()
        .config
        .vrrpd
        .as_ref()
        .map(|v| v.control_socket.clone());
    let vrrp = match &socket {
        Some(s) => Some(vrrpd_status(s).await),
        None => None,
    };
    let mut o = String::with_capacity(16 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\"><title>elb-proxy status</title><style>{STYLE}</style></head><body><h1>elb-proxy on {}</h1><p>state: <b id=\"state\">{}</b>; {} open connections; {} requests</p>",
        h(std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap_or_default()
            .trim()),
        match shared.health() {
            Ok(()) => "serving".to_string(),
            Err(r) => h(&r),
        },
        shared.stats.connections_active.load(Relaxed),
        shared.stats.requests_total.load(Relaxed),
    );
    with_history(|hist| {
        chart(&mut o, &hist.samples);
        pair(&mut o, vrrp.as_ref(), &hist.transitions);
    });
    proxy_tables(&mut o, shared);
    o.push_str("</body></html>\n");
    o
}

/// The `/status` answer (never cached: every refresh shows fresh state).
pub async fn response(shared: &Shared) -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::full(Bytes::from(render(shared).await)));
    let hd = r.headers_mut();
    hd.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    hd.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
