//! Members given by DNS name, turned into the members the proxy runs: one per A/AAAA answer,
//! with the configured weight and protocol, named `NAME@IP` (NAME: the member's `name`, or
//! its `host:port`) so a member that stays in the answer keeps its name, and with it its
//! counters and state, across re-resolutions and reloads.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use super::ValidConfig;
use super::model::{HostPort, Member, MemberAddress};

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
    pub fn expanded<'a>(&self, answers: impl Fn(&HostPort) -> Option<&'a [IpAddr]>) -> Self {
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

fn expand_member<'a>(
    m: Member,
    answers: &impl Fn(&HostPort) -> Option<&'a [IpAddr]>,
) -> Vec<Member> {
    let MemberAddress::Name(name) = &m.address else {
        return vec![m];
    };
    let base = m.display_name();
    let mut ips: Vec<IpAddr> = answers(name).unwrap_or_default().to_vec();
    ips.sort_unstable();
    ips.dedup();
    ips.into_iter()
        .map(|ip| Member {
            name: Some(format!("{base}@{ip}")),
            address: MemberAddress::Ip(SocketAddr::new(ip, name.port)),
            resolved_from: Some(name.clone()),
            // Every other key (weight, protocol, tls, ...) as written for the name.
            ..m.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::parse;

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
        let app = ["198.18.0.2".parse().unwrap(), "198.18.0.1".parse().unwrap()];
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
        let web = ["::1".parse().unwrap()];
        let e = c.expanded(|n| (n.host == "web.internal").then_some(&web[..]));
        let last = e.clusters[0].members.last().unwrap();
        assert_eq!(last.display_name(), "web@::1");
        assert_eq!(last.address.to_string(), "[::1]:80");
    }
}
