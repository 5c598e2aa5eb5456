//! What the control socket's JSON does not carry, recorded as it happens: transitions by
//! (from, to, reason class), track script durations and results, notify outcomes by channel.
//! Process-wide and behind one short-held lock, so the daemon's hooks stay one line each and
//! a scrape never waits on the VRRP loop. Label values come from the config (instance,
//! script and FIFO names) and fixed sets only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::scripts::exec::RunOutcome;

/// Upper bounds (seconds) of the script duration histogram: from a fast `elb-check` to a
/// script near keepalived's default timeout.
pub const SCRIPT_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; SCRIPT_BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Events {
    /// (instance, from, to, reason class) -> count.
    transitions: BTreeMap<(String, &'static str, &'static str, &'static str), u64>,
    /// script -> durations.
    durations: BTreeMap<String, Histogram>,
    /// (script, result) -> count.
    results: BTreeMap<(String, &'static str), u64>,
    /// (channel, name, result) -> count.
    notify: BTreeMap<(&'static str, String, &'static str), u64>,
}

static EVENTS: Mutex<Option<Events>> = Mutex::new(None);

fn with(f: impl FnOnce(&mut Events)) {
    let mut g = EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(Events::default));
}

/// The fixed class of a transition's free-text reason (its label must stay bounded).
pub fn reason_class(to: &str, reason: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 10] = [
        ("init", "init"),
        ("master down timer", "master_down"),
        // The master-down timer cut to the skew time (a priority-0 advert, a deleted VIP).
        ("skew time expired", "master_down"),
        ("fast preempt", "preempt"),
        ("higher priority advert", "higher_priority"),
        ("fault cleared", "fault_cleared"),
        ("maintenance", "maintenance"),
        ("shutdown", "shutdown"),
        ("sync group", "sync_group"),
        ("equal priority", "higher_priority"),
    ];
    if reason.contains("(sync group ") {
        return "sync_group";
    }
    if let Some((_, class)) = PREFIXES.iter().find(|(p, _)| reason.starts_with(p)) {
        return class;
    }
    match to {
        "FAULT" => "fault",
        _ => "other",
    }
}

/// An instance changed state.
pub fn transition(instance: &str, from: &'static str, to: &'static str, reason: &str) {
    let class = reason_class(to, reason);
    with(|e| {
        *e.transitions
            .entry((instance.to_string(), from, to, class))
            .or_default() += 1
    });
}

/// The `result` label of a track script run.
pub fn result_label(outcome: &RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Exited(0) => "success",
        RunOutcome::Exited(_) => "failure",
        RunOutcome::Signalled(_) => "signal",
        RunOutcome::TimedOut(_) => "timeout",
        RunOutcome::SpawnFailed(_) => "spawn_error",
    }
}

/// A track script run ended after `took`.
pub fn script_run(script: &str, took: Duration, outcome: &RunOutcome) {
    let secs = took.as_secs_f64();
    with(|e| {
        let h = e.durations.entry(script.to_string()).or_default();
        h.count += 1;
        h.sum += secs;
        for (b, le) in h.buckets.iter_mut().zip(SCRIPT_BUCKETS) {
            if secs <= le {
                *b += 1;
            }
        }
        *e.results
            .entry((script.to_string(), result_label(outcome)))
            .or_default() += 1;
    });
}

/// A notification went out (or not) on `channel` (`script` or `fifo`) for `name` (the
/// instance or group for scripts, the FIFO's path for FIFOs).
pub fn notify(channel: &'static str, name: &str, result: &'static str) {
    with(|e| {
        *e.notify
            .entry((channel, name.to_string(), result))
            .or_default() += 1
    });
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

/// Appends the recorded families to an exposition.
pub fn render(o: &mut String) {
    let g = EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    let empty = Events::default();
    let e = g.as_ref().unwrap_or(&empty);
    family(
        o,
        "vrrpd_vrrp_transitions_by_reason_total",
        "counter",
        "State changes by old state, new state and reason class.",
    );
    for ((i, from, to, why), n) in &e.transitions {
        let _ = writeln!(
            o,
            "vrrpd_vrrp_transitions_by_reason_total{{iname=\"{}\",from=\"{from}\",to=\"{to}\",reason=\"{why}\"}} {n}",
            esc(i)
        );
    }
    family(
        o,
        "vrrpd_script_duration_seconds",
        "histogram",
        "Track script run time, start to exit (or kill).",
    );
    for (name, h) in &e.durations {
        let name = esc(name);
        for (le, n) in SCRIPT_BUCKETS.iter().zip(h.buckets) {
            let _ = writeln!(
                o,
                "vrrpd_script_duration_seconds_bucket{{script=\"{name}\",le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            o,
            "vrrpd_script_duration_seconds_bucket{{script=\"{name}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            o,
            "vrrpd_script_duration_seconds_sum{{script=\"{name}\"}} {}",
            h.sum
        );
        let _ = writeln!(
            o,
            "vrrpd_script_duration_seconds_count{{script=\"{name}\"}} {}",
            h.count
        );
    }
    family(
        o,
        "vrrpd_script_results_total",
        "counter",
        "Track script runs by result: success, failure (non-zero exit), signal, timeout, spawn_error.",
    );
    for ((name, result), n) in &e.results {
        let _ = writeln!(
            o,
            "vrrpd_script_results_total{{script=\"{}\",result=\"{result}\"}} {n}",
            esc(name)
        );
    }
    family(
        o,
        "vrrpd_notify_total",
        "counter",
        "Notifications by channel (script, fifo), target and result.",
    );
    for ((channel, name, result), n) in &e.notify {
        let _ = writeln!(
            o,
            "vrrpd_notify_total{{channel=\"{channel}\",name=\"{}\",result=\"{result}\"}} {n}",
            esc(name)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_fall_into_a_fixed_set_of_classes() {
        let cases = [
            (
                "MASTER",
                "master down timer expired (no higher-priority advert for 3s)",
                "master_down",
            ),
            (
                "MASTER",
                "skew time expired after a priority-0 advert from 198.18.0.2 (0.609s)",
                "master_down",
            ),
            (
                "BACKUP",
                "higher priority advert from 198.18.0.2 (150 > 100)",
                "higher_priority",
            ),
            (
                "FAULT",
                "track script chk: failed 2 time(s) in a row",
                "fault",
            ),
            ("FAULT", "init: interface eth0 down", "init"),
            (
                "MASTER",
                "master down timer expired (sync group G)",
                "sync_group",
            ),
            (
                "MASTER",
                "fast preempt: our priority 150 rose above master",
                "preempt",
            ),
            ("BACKUP", "fault cleared", "fault_cleared"),
            ("BACKUP", "something new", "other"),
        ];
        for (to, reason, want) in cases {
            assert_eq!(reason_class(to, reason), want, "{reason}");
        }
    }

    #[test]
    fn recorded_events_render_as_whole_families() {
        transition("VI_T", "BACKUP", "MASTER", "master down timer expired");
        script_run("chk_t", Duration::from_millis(30), &RunOutcome::Exited(1));
        notify("fifo", "/run/t.fifo", "dropped");
        let mut o = String::new();
        render(&mut o);
        for want in [
            "vrrpd_vrrp_transitions_by_reason_total{iname=\"VI_T\",from=\"BACKUP\",to=\"MASTER\",reason=\"master_down\"} 1",
            "vrrpd_script_duration_seconds_bucket{script=\"chk_t\",le=\"0.025\"} 0",
            "vrrpd_script_duration_seconds_bucket{script=\"chk_t\",le=\"0.05\"} 1",
            "vrrpd_script_duration_seconds_bucket{script=\"chk_t\",le=\"+Inf\"} 1",
            "vrrpd_script_duration_seconds_count{script=\"chk_t\"} 1",
            "vrrpd_script_results_total{script=\"chk_t\",result=\"failure\"} 1",
            "vrrpd_notify_total{channel=\"fifo\",name=\"/run/t.fifo\",result=\"dropped\"} 1",
        ] {
            assert!(o.lines().any(|l| l == want), "missing {want} in\n{o}");
        }
    }
}
