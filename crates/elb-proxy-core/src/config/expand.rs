//! Members given by DNS name, turned into the members the proxy runs: one per A/AAAA answer,
//! with the configured weight and protocol, named `NAME@IP` (NAME: the member's `name`, or
//! its `host:port`) so a member that stays in the answer keeps its name, and with it its
//! counters and state, across re-resolutions and reloads. An SRV name gives one member per
//! address of each record's target, at the record's port and with its weight, named
//! `NAME@IP:PORT`.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use super::ValidConfig;
use super::model::{HostPort, Member, MemberAddress};

/// One address a name resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// The address.
    pub ip: IpAddr,
    /// The port an SRV record gives; 0 for an A/AAAA answer (the name's port).
    pub port: u16,
    /// The weight an SRV record gives (capped at 1000); `None`: the configured weight.
    pub weight: Option<u32>,
}

impl From<IpAddr> for Endpoint {
    fn from(ip: IpAddr) -> Self {
        Self {
            ip,
            port: 0,
            weight: None,
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.port, self.weight) {
            (0, _) => self.ip.fmt(f),
            (p, None) => SocketAddr::new(self.ip, p).fmt(f),
            (p, Some(w)) => write!(f, "{}*{w}", SocketAddr::new(self.ip, p)),
        }
    }
}

impl ValidConfig {
    /// Every DNS name some member is given by, each once.
    pub fn member_names(&self) -> BTreeSet<HostPort> {
        self.0
            .clusters
            .iter()
            .flat_map(|c| &c.members)
            .filter_map(|m| m.address.name().cloned())
            .collect()
    }

    /// The config with every member given by name replaced by one member per address in
    /// `answers(name)` (none while a name has no answer yet). A cluster may so end up with no
    /// member for a while; it then answers 503 as a cluster whose members are all down.
    pub fn expanded<'a>(&self, answers: impl Fn(&HostPort) -> Option<&'a [Endpoint]>) -> Self {
        let mut out = self.0.clone();
        for c in &mut out.clusters {
            if c.members.iter().all(|m| m.address.ip().is_some()) {
                continue;
            }
            c.members = std::mem::take(&mut c.members)
                .into_iter()
                .flat_map(|m| expand_member(m, &answers))
                .collect();
        }
        Self(out)
    }
}

impl ValidConfig {
    /// The config with each cluster's members changed by `edit(cluster name, members)`, the
    /// rest as validated: for member changes made at run time, which the caller has checked
    /// (a cluster may be left without members, as by a name not resolved yet).
    pub fn with_members(&self, mut edit: impl FnMut(&str, &mut Vec<Member>)) -> Self {
        let mut out = self.0.clone();
        for c in &mut out.clusters {
            edit(&c.name, &mut c.members);
        }
        Self(out)
    }
}

fn expand_member<'a>(
    m: Member,
    answers: &impl Fn(&HostPort) -> Option<&'a [Endpoint]>,
) -> Vec<Member> {
    let MemberAddress::Name(name) = &m.address else {
        return vec![m];
    };
    let base = m.display_name();
    let mut ends: Vec<Endpoint> = answers(name).unwrap_or_default().to_vec();
    ends.sort_unstable();
    ends.dedup_by_key(|e| (e.ip, e.port));
    ends.into_iter()
        .map(|e| {
            let port = if e.port == 0 { name.port } else { e.port };
            let addr = SocketAddr::new(e.ip, port);
            Member {
                name: Some(if name.is_srv() {
                    format!("{base}@{addr}")
                } else {
                    format!("{base}@{}", e.ip)
                }),
                address: MemberAddress::Ip(addr),
                resolved_from: Some(name.clone()),
                weight: e.weight.map_or(m.weight, |w| w.min(1000)),
                // Every other key (protocol, tls, ...) as written for the name.
                ..m.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    #[test]
    fn an_srv_name_gives_members_at_each_records_port_and_weight() {
        let c = parse(
            "listeners: [{ address: 127.0.0.1:1 }]\nclusters:\n  - name: app\n    members:\n      - address: _http._tcp.web.lab\ndefault_cluster: app\n",
            "t",
        )
        .unwrap();
        let srv = [
            Endpoint {
                ip: "198.18.0.2".parse().unwrap(),
                port: 8081,
                weight: Some(10),
            },
            Endpoint {
                ip: "198.18.0.3".parse().unwrap(),
                port: 8082,
                weight: Some(70000),
            },
        ];
        let e = c.expanded(|n| n.is_srv().then_some(&srv[..]));
        let shown: Vec<(String, String, u32)> = e.clusters[0]
            .members
            .iter()
            .map(|m| (m.display_name(), m.address.to_string(), m.weight))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "_http._tcp.web.lab@198.18.0.2:8081".into(),
                    "198.18.0.2:8081".into(),
                    10
                ),
                (
                    "_http._tcp.web.lab@198.18.0.3:8082".into(),
                    "198.18.0.3:8082".into(),
                    1000
                ),
            ]
        );
    }

    #[test]
    fn any_written_weight_on_an_srv_member_is_refused_at_its_line() {
        let yaml = |extra: &str| {
            format!(
                "listeners: [{{ address: 127.0.0.1:1 }}]\nclusters:\n  - name: app\n    members:\n      - address: _http._tcp.web.lab\n{extra}default_cluster: app\n"
            )
        };
        assert!(parse(&yaml(""), "t.yaml").is_ok());
        for w in ["0", "1", "5"] {
            let e = parse(&yaml(&format!("        weight: {w}\n")), "t.yaml")
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("t.yaml:6:") && e.contains("takes each record's weight"),
                "weight {w}: {e}"
            );
        }
        // Found at the SRV member's own line, not at an earlier member's equal weight.
        let before = yaml("        weight: 1\n").replace(
            "      - address: _http",
            "      - address: 127.0.0.1:9001\n        weight: 1\n      - address: _http",
        );
        let e = parse(&before, "t.yaml").unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:8:"), "{e}");
        // A written weight of 1 on a member by address is as good as none.
        let by_ip = yaml("").replace("_http._tcp.web.lab", "127.0.0.1:9001");
        let c = parse(&by_ip.replace("9001\n", "9001\n        weight: 1\n"), "t").unwrap();
        assert_eq!(c.clusters[0].members[0].weight, 1);
    }

    const NAMED: &str = "\
listeners:
  - address: 127.0.0.1:8280
clusters:
  - name: app
    members:
      - address: 127.0.0.1:9001
      - address: app.internal:9002
        weight: 3
      - name: web
        address: web.internal:80
default_cluster: app
";

    #[test]
    fn each_answer_becomes_a_member_with_the_configured_weight() {
        let c = parse(NAMED, "t").unwrap();
        let names: Vec<String> = c.member_names().iter().map(|n| n.to_string()).collect();
        assert_eq!(names, ["app.internal:9002", "web.internal:80"]);
        let app = [
            Endpoint::from("198.18.0.2".parse::<IpAddr>().unwrap()),
            Endpoint::from("198.18.0.1".parse::<IpAddr>().unwrap()),
        ];
        let e = c.expanded(|n| (n.host == "app.internal").then_some(&app[..]));
        let m = &e.clusters[0].members;
        let shown: Vec<(String, String, u32)> = m
            .iter()
            .map(|m| (m.display_name(), m.address.to_string(), m.weight))
            .collect();
        assert_eq!(
            shown,
            [
                ("127.0.0.1:9001".into(), "127.0.0.1:9001".into(), 1),
                (
                    "app.internal:9002@198.18.0.1".into(),
                    "198.18.0.1:9002".into(),
                    3
                ),
                (
                    "app.internal:9002@198.18.0.2".into(),
                    "198.18.0.2:9002".into(),
                    3
                ),
            ]
        );
        assert_eq!(m[1].resolved_from.as_ref().unwrap().host, "app.internal");
        assert!(m[0].resolved_from.is_none());
    }

    #[test]
    fn a_named_member_keeps_its_name_as_the_prefix() {
        let c = parse(NAMED, "t").unwrap();
        let web = [Endpoint::from("::1".parse::<IpAddr>().unwrap())];
        let e = c.expanded(|n| (n.host == "web.internal").then_some(&web[..]));
        let last = e.clusters[0].members.last().unwrap();
        assert_eq!(last.display_name(), "web@::1");
        assert_eq!(last.address.to_string(), "[::1]:80");
    }
}
