//! What `show status` and `show stats` report: plain data the daemon fills in, and their
//! text renderings (JSON is serde's). Pure: rendering takes the current time as a parameter.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

/// `show status`: the whole daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// `router_id`, or the host name.
    pub router_id: String,
    /// `set maintenance on` is in force.
    pub maintenance: bool,
    /// One entry per `vrrp_instance`, in config order.
    pub instances: Vec<InstanceStatus>,
    /// One entry per `vrrp_sync_group`.
    pub sync_groups: Vec<GroupStatus>,
    /// Instances of the file that are not running (`--start-partial`), each with why.
    pub down: Vec<crate::spec::DownInstance>,
}

/// One `vrrp_instance`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InstanceStatus {
    /// The instance's name.
    pub name: String,
    /// The interface adverts go out on.
    pub interface: String,
    /// The virtual router id.
    pub vrid: u8,
    /// `INIT`, `BACKUP`, `MASTER`, `FAULT` or `STOP`.
    pub state: String,
    /// The configured `priority`.
    pub base_priority: u8,
    /// The priority after trackers' weights: what is advertised.
    pub effective_priority: u8,
    /// The current master's address as learnt from adverts (ours when MASTER).
    pub master_address: Option<IpAddr>,
    /// The master's advertised priority, when known.
    pub master_priority: Option<u8>,
    /// The virtual addresses, as `ADDR/LEN dev IF`.
    pub vips: Vec<String>,
    /// When the current state was entered, milliseconds since the Unix epoch.
    pub since_unix_ms: u64,
    /// Why the last state change happened.
    pub last_transition_reason: String,
    /// Every tracker the instance follows.
    pub trackers: Vec<TrackerStatus>,
    /// Weight-check findings and other configuration warnings for this instance.
    pub warnings: Vec<String>,
}

/// The kind of a tracked object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackerKind {
    /// A `vrrp_script`.
    #[default]
    Script,
    /// A `vrrp_track_file`.
    File,
    /// A `track_interface`.
    Interface,
    /// A `vrrp_track_process`.
    Process,
}

/// One tracker as an instance uses it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrackerStatus {
    /// The tracker's name (or interface name).
    pub name: String,
    /// What sort of tracker it is.
    pub kind: TrackerKind,
    /// Whether it currently passes.
    pub up: bool,
    /// Its weight for this instance (0: a failure means FAULT).
    pub weight: i64,
    /// `weight ... reverse`: the weight applies while it passes.
    pub reverse: bool,
    /// For `track_file`: the value read.
    pub value: Option<i64>,
    /// Set while a `track NAME up|down` push overrides the script.
    pub pushed: Option<bool>,
    /// The reason of the tracker's last change.
    pub reason: String,
}

/// One `vrrp_sync_group`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupStatus {
    /// The group's name.
    pub name: String,
    /// The group's state (its members share it).
    pub state: String,
    /// Names of the member instances.
    pub members: Vec<String>,
}

/// `show stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsReport {
    /// Per-instance advert and transition counters.
    pub instances: Vec<InstanceStats>,
    /// Per-script run counters.
    pub scripts: Vec<ScriptStats>,
    /// Control socket counters.
    pub control: ControlStats,
    /// Mail counters.
    pub alerts: AlertStats,
}

/// Per-instance counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InstanceStats {
    /// The instance's name.
    pub name: String,
    /// Adverts sent.
    pub adverts_sent: u64,
    /// Adverts received and accepted.
    pub adverts_received: u64,
    /// Priority-0 adverts sent (this node releasing MASTER).
    pub priority_zero_sent: u64,
    /// Priority-0 adverts received (the master releasing).
    pub priority_zero_received: u64,
    /// Times this instance became MASTER.
    pub became_master: u64,
    /// Times it left MASTER.
    pub released_master: u64,
    /// Every state change.
    pub transitions: u64,
    /// Receive errors by reason (`bad_checksum`, `bad_ttl`, `auth_failure`, ...).
    pub receive_errors: BTreeMap<String, u64>,
}

/// Per-script run counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScriptStats {
    /// The script's name.
    pub name: String,
    /// Runs started.
    pub runs: u64,
    /// Runs that exited non-zero or by a signal.
    pub failures: u64,
    /// Runs killed at their timeout.
    pub timeouts: u64,
    /// Runs not started because the previous one was still running.
    pub skipped: u64,
}

/// Control socket counters (filled by the server itself).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ControlStats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections refused because the server was at its limit.
    pub rejected_busy: u64,
    /// Lines that were not a command.
    pub bad_requests: u64,
    /// Connections closed for being too slow.
    pub timeouts: u64,
}

/// Mail alert counters (from [`crate::alert::AlertQueue::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AlertStats {
    /// Alerts queued.
    pub queued: u64,
    /// Alerts the relay accepted.
    pub sent: u64,
    /// Alerts dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Delivery attempts that failed (each is retried).
    pub failed_attempts: u64,
    /// Mails the server refused permanently (5xx); dropped, not retried.
    pub rejected: u64,
}

fn ago(since_unix_ms: u64, now_unix_ms: u64) -> String {
    if since_unix_ms == 0 {
        return "-".to_owned();
    }
    let secs = now_unix_ms.saturating_sub(since_unix_ms) / 1000;
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m{}s ago", secs / 60, secs % 60),
        3600..86400 => format!("{}h{}m ago", secs / 3600, (secs % 3600) / 60),
        _ => format!("{}d{}h ago", secs / 86400, (secs % 86400) / 3600),
    }
}

/// Text rendering of `show status`.
pub fn render_status_text(report: &StatusReport, now_unix_ms: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "router_id {}{}",
        report.router_id,
        if report.maintenance {
            "  (MAINTENANCE: draining)"
        } else {
            ""
        }
    );
    for i in &report.instances {
        let master = match (i.master_address, i.master_priority) {
            (Some(a), Some(p)) => format!("{a} (priority {p})"),
            (Some(a), None) => a.to_string(),
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "instance {} vrid {} on {}: {} since {}",
            i.name,
            i.vrid,
            i.interface,
            i.state,
            ago(i.since_unix_ms, now_unix_ms)
        );
        let _ = writeln!(
            out,
            "  priority {} (base {}), master {}",
            i.effective_priority, i.base_priority, master
        );
        let vips = if i.vips.is_empty() {
            "-".to_owned()
        } else {
            i.vips.join(" ")
        };
        let _ = writeln!(out, "  vips {vips}");
        let _ = writeln!(out, "  reason: {}", i.last_transition_reason);
        for t in &i.trackers {
            let state = match (t.value, t.up) {
                (Some(v), true) => format!("value {v}"),
                (Some(v), false) => format!("value {v} FAULT"),
                (None, true) => "up".to_owned(),
                (None, false) => "down".to_owned(),
            };
            let pushed = match t.pushed {
                Some(true) => " (pushed up)",
                Some(false) => " (pushed down)",
                None => "",
            };
            let kind = match t.kind {
                TrackerKind::Script => "script",
                TrackerKind::File => "file",
                TrackerKind::Interface => "interface",
                TrackerKind::Process => "process",
            };
            let _ = writeln!(
                out,
                "  track {kind} {} {state}{pushed} weight {}{}: {}",
                t.name,
                t.weight,
                if t.reverse { " reverse" } else { "" },
                t.reason
            );
        }
        for w in &i.warnings {
            let _ = writeln!(out, "  WARNING: {w}");
        }
    }
    for d in &report.down {
        let _ = writeln!(out, "instance {}: DOWN (not running): {}", d.name, d.reason);
    }
    for g in &report.sync_groups {
        let _ = writeln!(
            out,
            "sync_group {}: {} members {}",
            g.name,
            g.state,
            g.members.join(" ")
        );
    }
    out
}

/// Text rendering of `show stats`: one `name counter value` line each, easy to grep.
pub fn render_stats_text(report: &StatsReport) -> String {
    let mut out = String::new();
    for i in &report.instances {
        for (key, value) in [
            ("adverts_sent", i.adverts_sent),
            ("adverts_received", i.adverts_received),
            ("priority_zero_sent", i.priority_zero_sent),
            ("priority_zero_received", i.priority_zero_received),
            ("became_master", i.became_master),
            ("released_master", i.released_master),
            ("transitions", i.transitions),
        ] {
            let _ = writeln!(out, "instance {} {key} {value}", i.name);
        }
        for (reason, count) in &i.receive_errors {
            let _ = writeln!(out, "instance {} rx_error {reason} {count}", i.name);
        }
    }
    for s in &report.scripts {
        let _ = writeln!(
            out,
            "script {} runs {} failures {} timeouts {} skipped {}",
            s.name, s.runs, s.failures, s.timeouts, s.skipped
        );
    }
    let c = &report.control;
    let _ = writeln!(
        out,
        "control connections {} rejected_busy {} bad_requests {} timeouts {}",
        c.connections, c.rejected_busy, c.bad_requests, c.timeouts
    );
    let a = &report.alerts;
    let _ = writeln!(
        out,
        "alerts queued {} sent {} dropped_queue_full {} failed_attempts {} rejected {}",
        a.queued, a.sent, a.dropped_queue_full, a.failed_attempts, a.rejected
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StatusReport {
        StatusReport {
            router_id: "lb-a".into(),
            maintenance: false,
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                state: "BACKUP".into(),
                base_priority: 101,
                effective_priority: 101,
                master_address: Some("198.18.0.2".parse().unwrap()),
                master_priority: Some(102),
                vips: vec!["198.18.0.100/24".into()],
                since_unix_ms: 1_000_000,
                last_transition_reason: "track script chk_elb: failed 1 time(s) in a row".into(),
                trackers: vec![TrackerStatus {
                    name: "chk_elb".into(),
                    kind: TrackerKind::Script,
                    up: false,
                    weight: 2,
                    reverse: false,
                    value: None,
                    pushed: Some(false),
                    reason: "pushed down".into(),
                }],
                warnings: vec!["no tracker failure can cause failover".into()],
            }],
            sync_groups: vec![],
            down: vec![crate::spec::DownInstance {
                name: "VI_2".into(),
                reason: "keepalived.conf:30:5: WARNING - interface nosuch0 doesn't exist".into(),
            }],
        }
    }

    #[test]
    fn status_text_says_state_priorities_master_vips_why_and_trackers() {
        let text = render_status_text(&sample(), 1_000_000 + 75_000);
        for needle in [
            "instance VI_1 vrid 51 on eth0: BACKUP since 1m15s ago",
            "priority 101 (base 101), master 198.18.0.2 (priority 102)",
            "vips 198.18.0.100/24",
            "reason: track script chk_elb: failed",
            "track script chk_elb down (pushed down) weight 2: pushed down",
            "WARNING: no tracker failure",
            "instance VI_2: DOWN (not running): keepalived.conf:30:5: WARNING - interface nosuch0",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }

    #[test]
    fn status_json_has_the_same_fields() {
        let json = serde_json::to_value(sample()).unwrap();
        let i = &json["instances"][0];
        assert_eq!(i["state"], "BACKUP");
        assert_eq!(i["effective_priority"], 101);
        assert_eq!(i["master_address"], "198.18.0.2");
        assert_eq!(i["trackers"][0]["kind"], "script");
        assert_eq!(i["trackers"][0]["pushed"], false);
        assert_eq!(json["down"][0]["name"], "VI_2");
        assert!(
            json["down"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("nosuch0")
        );
    }

    #[test]
    fn stats_text_lists_every_counter() {
        let mut errors = BTreeMap::new();
        errors.insert("bad_checksum".to_owned(), 3);
        let report = StatsReport {
            instances: vec![InstanceStats {
                name: "VI_1".into(),
                adverts_sent: 10,
                adverts_received: 20,
                transitions: 2,
                receive_errors: errors,
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = render_stats_text(&report);
        assert!(text.contains("instance VI_1 adverts_sent 10\n"), "{text}");
        assert!(
            text.contains("instance VI_1 rx_error bad_checksum 3\n"),
            "{text}"
        );
        assert!(text.contains("instance VI_1 transitions 2\n"), "{text}");
    }
}
