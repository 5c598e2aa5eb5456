//! What a chaos topology is made of (pure data) and the config files its nodes run with.
//!
//! Every topology has N ELB nodes (hosts `0..N`), each running elb-proxy and a VRRP daemon
//! (vrrpd, or Debian's keepalived 2.2.7) whose track script is elb-check against the local
//! balancer, then a client host (`N`) and a services host (`N + 1`) with the cluster's back
//! ends. One VRRPv3 instance, VRID 51, VIP 198.18.0.100, every node starting as BACKUP.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use super::rng::SplitMix64;

pub const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
pub const PROXY_PORT: u16 = 8280;
pub const BACKEND_PORTS: [u16; 2] = [9763, 9764];
pub const VRID: u8 = 51;

pub use netlab::Vrrp as Daemon;

#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub daemon: Daemon,
    pub priority: u8,
    /// The track script's `interval` (keepalived takes whole seconds only).
    pub script_interval: Duration,
}

/// One topology and its timers.
#[derive(Debug, Clone)]
pub struct TopologySpec {
    pub name: &'static str,
    pub nodes: Vec<NodeSpec>,
    pub advert_int: Duration,
    /// The track script's weight (keepalived semantics: positive adds while the script
    /// passes, negative subtracts while it fails, 0 puts the instance in FAULT).
    pub weight: i32,
    /// elb-check's own total deadline (`-t`): a hung balancer fails the check by then.
    pub probe_timeout: Duration,
    /// `garp_master_refresh` in whole seconds (None: keepalived's default, no refresh). Without
    /// it a client can follow a stale ARP entry for tens of seconds after two nodes were
    /// MASTER at once (see docs/reliability.md, Chaos).
    pub garp_refresh: Option<u32>,
}

/// The three topologies a chaos run covers, by the names tests and `scripts/chaos.sh` use.
pub const TOPOLOGIES: [&str; 3] = ["pair", "mixed", "three"];

impl TopologySpec {
    /// The topology called `name` (see [`TOPOLOGIES`]); `rng` decides the mixed pair's roles.
    pub fn named(name: &str, advert_int: Duration, rng: &mut SplitMix64) -> Option<Self> {
        let vrrpd = |priority| NodeSpec {
            daemon: Daemon::Vrrpd,
            priority,
            script_interval: Duration::from_millis(500),
        };
        let keepalived = |priority| NodeSpec {
            daemon: Daemon::Keepalived,
            priority,
            script_interval: Duration::from_secs(1),
        };
        let probe_timeout = Duration::from_millis(300);
        Some(match name {
            // The seed deployment: two vrrpd nodes, the seed's priorities and weight.
            "pair" => Self {
                name: "pair",
                nodes: vec![vrrpd(101), vrrpd(100)],
                advert_int,
                weight: 2,
                probe_timeout,
                garp_refresh: Some(1),
            },
            // keepalived 2.2.7 and vrrpd on one VRID; which one has the higher priority is
            // the seed's choice, so runs cover both roles.
            "mixed" => {
                let nodes = if rng.chance(50) {
                    vec![keepalived(101), vrrpd(100)]
                } else {
                    vec![vrrpd(101), keepalived(100)]
                };
                Self {
                    name: "mixed",
                    nodes,
                    advert_int,
                    weight: 2,
                    probe_timeout,
                    garp_refresh: Some(1),
                }
            }
            // Three vrrpd nodes; a failing check takes 60 off, so a failed node ranks below
            // the next healthy one (150 -> 90 < 100; 100 -> 40 < 50).
            "three" => Self {
                name: "three",
                nodes: vec![vrrpd(150), vrrpd(100), vrrpd(50)],
                advert_int,
                weight: -60,
                probe_timeout,
                garp_refresh: Some(1),
            },
            _ => return None,
        })
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The client's host index.
    pub fn client(&self) -> usize {
        self.nodes.len()
    }

    /// The services host's index.
    pub fn services(&self) -> usize {
        self.nodes.len() + 1
    }

    /// The node every healthy run must end on: the highest base priority (all nodes preempt).
    pub fn expected_master(&self) -> usize {
        (0..self.nodes.len())
            .max_by_key(|&i| self.nodes[i].priority)
            .expect("a topology has nodes")
    }

    /// RFC 5798's Master_Down_Interval of the slowest backup: 3 x advert + skew, with
    /// skew = (256 - priority) x advert / 256.
    pub fn master_down(&self) -> Duration {
        let lowest = self.nodes.iter().map(|n| n.priority).min().unwrap_or(1);
        self.advert_int * 3 + self.advert_int * (256 - u32::from(lowest)) / 256
    }

    /// How long a recovered balancer takes to count again: the next script run plus its
    /// deadline (the slowest node's).
    pub fn check_delay(&self) -> Duration {
        let interval = self
            .nodes
            .iter()
            .map(|n| n.script_interval)
            .max()
            .unwrap_or_default();
        interval + self.probe_timeout
    }

    /// A one-line summary for the run's header.
    pub fn describe(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("n{i}={} prio {}", n.daemon.name(), n.priority))
            .collect();
        format!(
            "{} [{}], VRRPv3 advert {:?}, master-down {:?}, track weight {}, script interval {:?}, probe deadline {:?}, garp_master_refresh {}",
            self.name,
            nodes.join(", "),
            self.advert_int,
            self.master_down(),
            self.weight,
            self.nodes
                .iter()
                .map(|n| n.script_interval)
                .max()
                .unwrap_or_default(),
            self.probe_timeout,
            self.garp_refresh
                .map_or("off".to_string(), |s| format!("{s} s")),
        )
    }

    /// keepalived.conf for `node` (read by vrrpd and keepalived alike).
    pub fn keepalived_conf(&self, node: usize, elb_check: &Path) -> String {
        let n = &self.nodes[node];
        let mut conf = String::new();
        let _ = writeln!(conf, "global_defs {{\n   router_id n{node}\n}}");
        let _ = writeln!(
            conf,
            "vrrp_script chk_elb {{\n   script \"{} -t {} http://localhost:{PROXY_PORT}/services/EchoProxy\"\n   \
             interval {}\n   weight {}\n}}",
            elb_check.display(),
            secs(self.probe_timeout),
            secs(n.script_interval),
            self.weight
        );
        let _ = writeln!(
            conf,
            "vrrp_instance VI_1 {{\n    interface eth0\n    state BACKUP\n    virtual_router_id {VRID}\n    \
             priority {}\n    advert_int {}\n    version 3\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n    \
             track_script {{\n        chk_elb\n    }}\n{}}}",
            n.priority,
            secs(self.advert_int),
            self.garp_refresh
                .map_or(String::new(), |s| format!("    garp_master_refresh {s}\n")),
        );
        conf
    }

    /// elb-proxy.yaml for a node: one listener, the two back ends on the services host, an
    /// admin socket in the node's directory.
    pub fn proxy_yaml(&self, services: Ipv4Addr, admin_socket: &Path) -> String {
        let members =
            crate::services::members_yaml("as", services, BACKEND_PORTS.into_iter().enumerate());
        format!(
            "workers: 1\n\
             listeners:\n  - name: http\n    address: 0.0.0.0:{PROXY_PORT}\n\
             health:\n  path: /services/EchoProxy\n\
             clusters:\n  - name: appserver\n    balance: round_robin\n    members:\n{members}\
             default_cluster: appserver\n\
             admin:\n  socket: {}\n",
            admin_socket.display()
        )
    }
}

/// A duration as keepalived.conf writes seconds (`0.2`, `1`).
fn secs(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> TopologySpec {
        TopologySpec::named(name, Duration::from_millis(200), &mut SplitMix64::new(7)).unwrap()
    }

    #[test]
    fn master_down_follows_rfc_5798() {
        // 3 x 0.2 s + (256 - 50) x 0.2 s / 256 = 0.6 + 0.1609375 s
        let three = spec("three");
        assert_eq!(three.master_down(), Duration::from_nanos(760_937_500));
        assert_eq!(three.expected_master(), 0);
    }

    #[test]
    fn configs_carry_the_timers() {
        let pair = spec("pair");
        let conf = pair.keepalived_conf(1, Path::new("/bin/elb-check"));
        assert!(conf.contains("advert_int 0.2\n"), "{conf}");
        assert!(conf.contains("priority 100\n"), "{conf}");
        assert!(conf.contains("-t 0.3 http://localhost:8280/"), "{conf}");
        assert!(conf.contains("interval 0.5\n"), "{conf}");
        assert!(conf.contains("version 3\n"), "{conf}");
        assert!(conf.contains("garp_master_refresh 1\n}"), "{conf}");
        assert_eq!(secs(Duration::from_secs(1)), "1");
        assert!(TopologySpec::named("nope", Duration::ZERO, &mut SplitMix64::new(1)).is_none());
    }

    #[test]
    fn the_mixed_pair_has_one_of_each() {
        for seed in 0..8 {
            let s = TopologySpec::named(
                "mixed",
                Duration::from_millis(200),
                &mut SplitMix64::new(seed),
            )
            .unwrap();
            let kinds: Vec<Daemon> = s.nodes.iter().map(|n| n.daemon).collect();
            assert!(kinds.contains(&Daemon::Vrrpd) && kinds.contains(&Daemon::Keepalived));
        }
    }
}
