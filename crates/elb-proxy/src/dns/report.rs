//! What the operator sees of member names: `show resolvers` and the metrics families.

use std::fmt::Write as _;

use crate::shared::Shared;

/// `show resolvers`: one line per member name (HAProxy's command of that name shows its
/// resolvers' counters; here each name says what it resolves to and whether it still does).
pub fn show(shared: &Shared) -> String {
    let report = shared.names.report();
    if report.is_empty() {
        return "no member is given by name\n".into();
    }
    let mut o = String::from("# name status addresses resolutions failures ttl error\n");
    for (name, s) in report {
        let addresses: Vec<String> = s.addresses.iter().map(ToString::to_string).collect();
        let status = match (&s.error, s.addresses.is_empty()) {
            (None, true) => "pending",
            (None, false) => "ok",
            (Some(_), true) => "failing",
            (Some(_), false) => "failing-kept-last-answer",
        };
        let _ = writeln!(
            o,
            "{name} {status} {} {} {} {} {}",
            if addresses.is_empty() {
                "-".into()
            } else {
                addresses.join(",")
            },
            s.resolutions,
            s.failures,
            s.ttl.map_or_else(|| "-".to_string(), |t| t.to_string()),
            s.error.as_deref().unwrap_or("-")
        );
    }
    o
}

/// The member-name families (none when no member is given by name).
pub fn metrics(o: &mut String, shared: &Shared) {
    let report = shared.names.report();
    if report.is_empty() {
        return;
    }
    let families: [(&str, &str, &str); 4] = [
        (
            "elb_proxy_dns_name_resolving",
            "gauge",
            "1 while the member name's last resolution found addresses, 0 while it keeps its last good answer.",
        ),
        (
            "elb_proxy_dns_name_addresses",
            "gauge",
            "Addresses (members) the member name runs with.",
        ),
        (
            "elb_proxy_dns_resolutions_total",
            "counter",
            "Resolutions of the member name.",
        ),
        (
            "elb_proxy_dns_resolution_failures_total",
            "counter",
            "Resolutions of the member name that found no address.",
        ),
    ];
    for (i, (family, kind, help)) in families.into_iter().enumerate() {
        let _ = writeln!(o, "# HELP {family} {help}");
        let _ = writeln!(o, "# TYPE {family} {kind}");
        for (name, s) in &report {
            let value = match i {
                0 => u64::from(s.error.is_none() && !s.addresses.is_empty()),
                1 => s.addresses.len() as u64,
                2 => s.resolutions,
                _ => s.failures,
            };
            let label = name.to_string().replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(o, "{family}{{name=\"{label}\"}} {value}");
        }
    }
}
