//! `show stat` in HAProxy 2.6's CSV layout, so tools written for HAProxy's stats socket
//! (prometheus-haproxy-exporter, hatop, scripts) read elb-proxy: the same 113 columns in the
//! same order, a FRONTEND row per listener, a row per member and a BACKEND row per cluster.
//! Columns with no elb-proxy counterpart (queues, compression, agents, caches, QUIC) stay
//! empty, as HAProxy leaves columns that do not apply.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use crate::shared::Shared;
use crate::stats::{Histogram, MemberStats};

/// HAProxy 2.6's `show stat` columns, in order.
pub const COLUMNS: [&str; 113] = [
    "pxname",
    "svname",
    "qcur",
    "qmax",
    "scur",
    "smax",
    "slim",
    "stot",
    "bin",
    "bout",
    "dreq",
    "dresp",
    "ereq",
    "econ",
    "eresp",
    "wretr",
    "wredis",
    "status",
    "weight",
    "act",
    "bck",
    "chkfail",
    "chkdown",
    "lastchg",
    "downtime",
    "qlimit",
    "pid",
    "iid",
    "sid",
    "throttle",
    "lbtot",
    "tracked",
    "type",
    "rate",
    "rate_lim",
    "rate_max",
    "check_status",
    "check_code",
    "check_duration",
    "hrsp_1xx",
    "hrsp_2xx",
    "hrsp_3xx",
    "hrsp_4xx",
    "hrsp_5xx",
    "hrsp_other",
    "hanafail",
    "req_rate",
    "req_rate_max",
    "req_tot",
    "cli_abrt",
    "srv_abrt",
    "comp_in",
    "comp_out",
    "comp_byp",
    "comp_rsp",
    "lastsess",
    "last_chk",
    "last_agt",
    "qtime",
    "ctime",
    "rtime",
    "ttime",
    "agent_status",
    "agent_code",
    "agent_duration",
    "check_desc",
    "agent_desc",
    "check_rise",
    "check_fall",
    "check_health",
    "agent_rise",
    "agent_fall",
    "agent_health",
    "addr",
    "cookie",
    "mode",
    "algo",
    "conn_rate",
    "conn_rate_max",
    "conn_tot",
    "intercepted",
    "dcon",
    "dses",
    "wrew",
    "connect",
    "reuse",
    "cache_lookups",
    "cache_hits",
    "srv_icur",
    "src_ilim",
    "qtime_max",
    "ctime_max",
    "rtime_max",
    "ttime_max",
    "eint",
    "idle_conn_cur",
    "safe_conn_cur",
    "used_conn_cur",
    "need_conn_est",
    "uweight",
    "agg_server_status",
    "agg_server_check_status",
    "agg_check_status",
    "srid",
    "sess_other",
    "h1sess",
    "h2sess",
    "h3sess",
    "req_other",
    "h1req",
    "h2req",
    "h3req",
    "proto",
];

/// One CSV row being filled by column name.
struct Row(Vec<String>);

impl Row {
    fn new() -> Self {
        Self(vec![String::new(); COLUMNS.len()])
    }

    fn set(&mut self, col: &str, v: impl ToString) -> &mut Self {
        if let Some(i) = COLUMNS.iter().position(|c| *c == col) {
            // A comma or newline in a name would shift every later column.
            self.0[i] = v.to_string().replace([',', '\n', '\r'], "_");
        }
        self
    }
}

/// Mean of a histogram in milliseconds (HAProxy's qtime/ctime/rtime/ttime are averages).
fn mean_ms(h: &Histogram) -> u64 {
    let (count, sum) = h.count_and_sum();
    if count == 0 {
        0
    } else {
        (sum * 1000.0 / count as f64).round() as u64
    }
}

fn sum_members(c: &crate::snapshot::LiveCluster, f: impl Fn(&MemberStats) -> u64) -> u64 {
    c.members.iter().map(|m| f(&m.stats)).sum()
}

/// HAProxy's status word for a member state.
fn haproxy_status(elb: &str) -> &'static str {
    match elb {
        "UP" => "UP",
        "MAINT" => "MAINT",
        "DRAIN" => "DRAIN",
        // Passively ejected: out of rotation like a member whose checks failed.
        _ => "DOWN",
    }
}

/// What every row of one `show stat` shares.
struct RowCtx {
    now: Instant,
    unix_now: u64,
    pid: u32,
}

/// The rows: FRONTEND per listener, then per cluster its members and BACKEND.
fn rows(shared: &Shared) -> Vec<Row> {
    let rt = shared.snapshot.load();
    let ctx = RowCtx {
        now: Instant::now(),
        unix_now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        pid: std::process::id(),
    };
    let mut out = Vec::new();
    let mut iid = 0u32;
    for l in shared.stats.traffic.listeners() {
        iid += 1;
        out.push(frontend_row(&ctx, &l, iid));
    }
    for c in &rt.clusters {
        iid += 1;
        let b = c.lock().clone();
        for (i, m) in c.members.iter().enumerate() {
            out.push(server_row(&ctx, c, &b, i, m, iid));
        }
        out.push(backend_row(&ctx, c, &b, iid));
    }
    out
}

/// A listener's FRONTEND row.
fn frontend_row(ctx: &RowCtx, l: &crate::traffic::ListenerStats, iid: u32) -> Row {
    let routes = l.routes();
    let class = |i: usize| -> u64 { routes.iter().map(|r| r.durations[i].count()).sum() };
    let mut r = Row::new();
    r.set("pxname", &l.name)
        .set("svname", "FRONTEND")
        .set("scur", l.open.load(Relaxed))
        .set("stot", l.accepted.load(Relaxed))
        .set("bin", l.bytes_in.load(Relaxed))
        .set("bout", l.bytes_out.load(Relaxed))
        .set("status", "OPEN")
        .set("pid", ctx.pid)
        .set("iid", iid)
        .set("sid", 0)
        .set("type", 0)
        .set("mode", "http")
        .set("conn_tot", l.accepted.load(Relaxed));
    for i in 0..5 {
        r.set(&format!("hrsp_{}xx", i + 1), class(i));
    }
    r.set("req_tot", (0..5).map(class).sum::<u64>());
    r
}

/// One member's server row.
fn server_row(
    ctx: &RowCtx,
    c: &crate::snapshot::LiveCluster,
    b: &elb_proxy_core::Balancer,
    i: usize,
    m: &crate::snapshot::LiveMember,
    iid: u32,
) -> Row {
    let s = &m.stats;
    let st = &b.members[i];
    let check = match s.last_check.load(Relaxed) {
        1 => "L7OK",
        2 => "L7STS",
        _ if c.config.health_check.is_some() => "INI",
        _ => "",
    };
    let mut r = Row::new();
    r.set("pxname", &c.name)
        .set("svname", &m.name)
        .set("scur", st.in_flight)
        .set("stot", s.requests.load(Relaxed))
        .set("bin", s.bytes_in.load(Relaxed))
        .set("bout", s.bytes_out.load(Relaxed))
        .set("econ", s.connect_errors.load(Relaxed))
        .set(
            "eresp",
            s.failures.load(Relaxed) - s.connect_errors.load(Relaxed).min(s.failures.load(Relaxed)),
        )
        .set("status", haproxy_status(st.status(ctx.now)))
        .set("weight", st.weight)
        .set("act", 1)
        .set("bck", 0)
        .set("chkfail", s.check_failed.load(Relaxed))
        .set("pid", ctx.pid)
        .set("iid", iid)
        .set("sid", i + 1)
        .set("lbtot", s.requests.load(Relaxed))
        .set("type", 2)
        .set("check_status", check)
        .set("addr", m.addr)
        .set("mode", "http")
        .set("ctime", mean_ms(&s.connect_time))
        .set("rtime", mean_ms(&s.first_byte))
        .set("idle_conn_cur", m.pool.idle_count())
        .set("uweight", c.config.members[i].weight);
    if st.max_in_flight > 0 {
        r.set("slim", st.max_in_flight);
    }
    if let t @ 1.. = s.last_change.load(Relaxed) {
        r.set("lastchg", ctx.unix_now.saturating_sub(t));
    }
    for k in 0..5 {
        r.set(&format!("hrsp_{}xx", k + 1), s.responses[k].load(Relaxed));
    }
    r
}

/// A cluster's BACKEND row.
fn backend_row(
    ctx: &RowCtx,
    c: &crate::snapshot::LiveCluster,
    b: &elb_proxy_core::Balancer,
    iid: u32,
) -> Row {
    let up = b.available_count(ctx.now);
    let mut r = Row::new();
    r.set("pxname", &c.name)
        .set("svname", "BACKEND")
        .set(
            "scur",
            b.members
                .iter()
                .map(|m| u64::from(m.in_flight))
                .sum::<u64>(),
        )
        .set("stot", c.stats.requests.load(Relaxed))
        .set("bin", sum_members(c, |s| s.bytes_in.load(Relaxed)))
        .set("bout", sum_members(c, |s| s.bytes_out.load(Relaxed)))
        .set("econ", sum_members(c, |s| s.connect_errors.load(Relaxed)))
        .set("wretr", c.stats.retries.load(Relaxed))
        .set("status", if up > 0 { "UP" } else { "DOWN" })
        .set(
            "weight",
            b.members.iter().map(|m| u64::from(m.weight)).sum::<u64>(),
        )
        .set("act", up)
        .set("bck", 0)
        .set("chkfail", sum_members(c, |s| s.check_failed.load(Relaxed)))
        .set("pid", ctx.pid)
        .set("iid", iid)
        .set("sid", 0)
        .set("lbtot", sum_members(c, |s| s.requests.load(Relaxed)))
        .set("type", 1)
        .set("mode", "http")
        .set("rtime", mean_ms(&c.stats.latency));
    if let Some(q) = &c.queue {
        let q = q.lock().unwrap_or_else(|p| p.into_inner());
        r.set("qcur", q.waiting())
            .set("qmax", c.stats.queue_max.load(Relaxed))
            .set("qlimit", q.limit());
    }
    for k in 0..5 {
        r.set(
            &format!("hrsp_{}xx", k + 1),
            sum_members(c, |s| s.responses[k].load(Relaxed)),
        );
    }
    r
}

/// `show stat`: HAProxy's `# ` header line, then one row per line, each ending with a comma.
pub fn stat_csv(shared: &Shared) -> String {
    let mut o = String::with_capacity(4096);
    let _ = writeln!(o, "# {},", COLUMNS.join(","));
    for r in rows(shared) {
        let _ = writeln!(o, "{},", r.0.join(","));
    }
    o
}
