//! Text of the `show` commands: `show info`, `show stat` (HAProxy-like CSV, and JSON) and
//! `show servers state`.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use crate::shared::Shared;

/// Columns of `show stat`, in order.
pub const STAT_COLUMNS: [&str; 22] = [
    "pxname",
    "svname",
    "status",
    "weight",
    "scur",
    "stot",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "eresp",
    "econ",
    "etimeout",
    "ejections",
    "ejections_5xx",
    "chkok",
    "chkfail",
    "check_status",
    "lastchg",
    "bout",
    "idle_conn",
];

fn rows(shared: &Shared) -> Vec<Vec<String>> {
    let rt = shared.snapshot.load();
    let now = Instant::now();
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut out = Vec::new();
    for c in &rt.clusters {
        let b = c.lock().clone();
        for (i, m) in c.members.iter().enumerate() {
            let s = &m.stats;
            let st = &b.members[i];
            let check = match s.last_check.load(Relaxed) {
                1 => "L7OK",
                2 => "L7FAIL",
                _ => {
                    if c.config.health_check.is_some() {
                        "INI"
                    } else {
                        ""
                    }
                }
            };
            let lastchg = match s.last_change.load(Relaxed) {
                0 => String::new(),
                t => unix_now.saturating_sub(t).to_string(),
            };
            out.push(vec![
                c.name.clone(),
                m.name.clone(),
                st.status(now).to_string(),
                st.weight.to_string(),
                st.in_flight.to_string(),
                s.requests.load(Relaxed).to_string(),
                s.responses[0].load(Relaxed).to_string(),
                s.responses[1].load(Relaxed).to_string(),
                s.responses[2].load(Relaxed).to_string(),
                s.responses[3].load(Relaxed).to_string(),
                s.responses[4].load(Relaxed).to_string(),
                s.failures.load(Relaxed).to_string(),
                s.connect_errors.load(Relaxed).to_string(),
                s.timeouts.load(Relaxed).to_string(),
                s.ejections.load(Relaxed).to_string(),
                s.ejections_5xx.load(Relaxed).to_string(),
                s.check_ok.load(Relaxed).to_string(),
                s.check_failed.load(Relaxed).to_string(),
                check.to_string(),
                lastchg,
                s.bytes_out.load(Relaxed).to_string(),
                m.pool.idle_count().to_string(),
            ]);
        }
        let total = |f: &dyn Fn(&crate::stats::MemberStats) -> u64| -> String {
            c.members
                .iter()
                .map(|m| f(&m.stats))
                .sum::<u64>()
                .to_string()
        };
        out.push(vec![
            c.name.clone(),
            "BACKEND".into(),
            if b.available_count(now) > 0 {
                "UP"
            } else {
                "DOWN"
            }
            .into(),
            b.members
                .iter()
                .map(|m| u64::from(m.weight))
                .sum::<u64>()
                .to_string(),
            b.members
                .iter()
                .map(|m| u64::from(m.in_flight))
                .sum::<u64>()
                .to_string(),
            c.stats.requests.load(Relaxed).to_string(),
            total(&|s| s.responses[0].load(Relaxed)),
            total(&|s| s.responses[1].load(Relaxed)),
            total(&|s| s.responses[2].load(Relaxed)),
            total(&|s| s.responses[3].load(Relaxed)),
            total(&|s| s.responses[4].load(Relaxed)),
            total(&|s| s.failures.load(Relaxed)),
            total(&|s| s.connect_errors.load(Relaxed)),
            total(&|s| s.timeouts.load(Relaxed)),
            total(&|s| s.ejections.load(Relaxed)),
            total(&|s| s.ejections_5xx.load(Relaxed)),
            total(&|s| s.check_ok.load(Relaxed)),
            total(&|s| s.check_failed.load(Relaxed)),
            String::new(),
            String::new(),
            total(&|s| s.bytes_out.load(Relaxed)),
            c.members
                .iter()
                .map(|m| m.pool.idle_count())
                .sum::<usize>()
                .to_string(),
        ]);
    }
    out
}

/// `show stat`: a `# ` header line then one CSV row per member and per cluster (BACKEND).
pub fn stat_csv(shared: &Shared) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {}", STAT_COLUMNS.join(","));
    for r in rows(shared) {
        let _ = writeln!(o, "{}", r.join(","));
    }
    o
}

/// `show stat json`: an array of objects with the same columns (numbers as numbers).
pub fn stat_json(shared: &Shared) -> String {
    let arr: Vec<serde_json::Value> = rows(shared)
        .into_iter()
        .map(|r| {
            let obj: serde_json::Map<String, serde_json::Value> = STAT_COLUMNS
                .iter()
                .zip(r)
                .map(|(k, v)| {
                    let val = v
                        .parse::<u64>()
                        .map_or(serde_json::Value::String(v), serde_json::Value::from);
                    ((*k).to_string(), val)
                })
                .collect();
            serde_json::Value::Object(obj)
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&arr).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// `show info`: `Key: value` lines.
pub fn info(shared: &Shared) -> String {
    let g = &shared.stats;
    let rt = shared.snapshot.load();
    let up = shared.started.elapsed().map_or(0, |d| d.as_secs());
    let loaded = rt
        .loaded_at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let state = if shared.stopping.load(Relaxed) {
        "stopping"
    } else if shared.admin_drain.load(Relaxed) {
        "draining"
    } else {
        "serving"
    };
    let health = match shared.health() {
        Ok(()) => "200".to_string(),
        Err(r) => format!("503 ({r})"),
    };
    let mut o = String::new();
    // HAProxy's keys first (hatop and the HAProxy exporter read them), then elb-proxy's.
    let _ = writeln!(o, "Name: elb-proxy");
    let _ = writeln!(o, "Version: {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(o, "Release_date: -");
    let _ = writeln!(o, "Nbthread: {}", tokio_workers());
    let _ = writeln!(o, "Nbproc: 1");
    let _ = writeln!(o, "Process_num: 1");
    let _ = writeln!(o, "Pid: {}", std::process::id());
    let _ = writeln!(
        o,
        "Uptime: {}d {}h{:02}m{:02}s",
        up / 86_400,
        (up % 86_400) / 3600,
        (up % 3600) / 60,
        up % 60
    );
    let _ = writeln!(o, "Uptime_sec: {up}");
    let _ = writeln!(o, "Maxconn: {}", rt.config.limits.max_connections);
    let _ = writeln!(o, "Maxpipes: 0");
    let _ = writeln!(o, "PipesUsed: 0");
    let (tasks, queued) = runtime_load();
    let _ = writeln!(o, "Tasks: {tasks}");
    let _ = writeln!(o, "Run_queue: {queued}");
    let _ = writeln!(o, "node: {}", node_name());
    let _ = writeln!(o, "State: {state}");
    let _ = writeln!(o, "Health: {health}");
    let _ = writeln!(o, "ConfigFile: {}", shared.config_path.display());
    let _ = writeln!(o, "ConfigLoadedAt: {loaded}");
    let _ = writeln!(o, "Workers: {}", rt.config.workers);
    let _ = writeln!(o, "Clusters: {}", rt.clusters.len());
    let _ = writeln!(o, "Routes: {}", rt.router.len());
    let _ = writeln!(o, "CurrConns: {}", g.connections_active.load(Relaxed));
    let _ = writeln!(o, "ParkedConns: {}", g.connections_parked.load(Relaxed));
    let _ = writeln!(o, "Parks: {}", g.parks_total.load(Relaxed));
    let _ = writeln!(o, "MaxConn: {}", rt.config.limits.max_connections);
    let _ = writeln!(o, "CumConns: {}", g.connections_total.load(Relaxed));
    let _ = writeln!(o, "RefusedConns: {}", g.connections_refused.load(Relaxed));
    let _ = writeln!(o, "CumReq: {}", g.requests_total.load(Relaxed));
    let _ = writeln!(o, "Reloads: {}", g.reloads_ok.load(Relaxed));
    let _ = writeln!(o, "FailedReloads: {}", g.reloads_failed.load(Relaxed));
    let (entries, evictions) = {
        let t = shared.clients.lock().unwrap_or_else(|p| p.into_inner());
        (t.len(), t.evictions())
    };
    let _ = writeln!(o, "ClientTableEntries: {entries}");
    let _ = writeln!(o, "ClientTableEvictions: {evictions}");
    let _ = writeln!(o, "RateLimited: {}", g.rate_limited.load(Relaxed));
    let _ = writeln!(
        o,
        "ClientConnsRefused: {}",
        g.client_conns_refused.load(Relaxed)
    );
    for w in shared.listeners.tls_warnings() {
        let _ = writeln!(o, "CertExpiresSoon: {w}");
    }
    o
}

/// Worker threads of the running tokio runtime.
fn tokio_workers() -> usize {
    tokio::runtime::Handle::try_current().map_or(1, |h| h.metrics().num_workers())
}

/// Live tasks and tasks waiting in the runtime's global queue (HAProxy's Tasks, Run_queue).
fn runtime_load() -> (usize, usize) {
    tokio::runtime::Handle::try_current().map_or((0, 0), |h| {
        let m = h.metrics();
        (m.num_alive_tasks(), m.global_queue_depth())
    })
}

/// The host name (HAProxy's `node`).
fn node_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "-".into())
}

/// `show servers state`: one line per member.
pub fn servers_state(shared: &Shared) -> String {
    let rt = shared.snapshot.load();
    let now = Instant::now();
    let mut o = String::from(
        "# cluster member address admin_state status weight initial_weight in_flight\n",
    );
    for c in &rt.clusters {
        let b = c.lock();
        for (i, m) in c.members.iter().enumerate() {
            let s = &b.members[i];
            let _ = writeln!(
                o,
                "{} {} {} {} {} {} {} {}",
                c.name,
                m.name,
                m.addr,
                s.admin.as_str(),
                s.status(now),
                s.weight,
                c.config.members[i].weight,
                s.in_flight
            );
        }
    }
    o
}
