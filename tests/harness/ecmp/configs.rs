//! The configuration files of the ECMP lab, one function per file: FRR on the router and on
//! each balancer, the gate (vrrpd's keepalived.conf) and elb-proxy's YAML.

use std::path::Path;

use super::frr::{BFD_PROFILE, FrrConfig};
use super::topology::{BALANCERS, SERVICE, SERVICE_PORT, router_addr, uplink_addr};

/// The router's AS and the one AS all balancers share (one AS path, so the router treats the
/// balancers' routes as equal and installs them all).
pub const ROUTER_AS: u32 = 65000;
pub const BALANCER_AS: u32 = 65100;
/// The members' ports on the members host.
pub const MEMBER_PORTS: [u16; 2] = [9001, 9002];

/// How the gate judges its balancer.
#[derive(Debug, Clone)]
pub struct GateOptions {
    /// Track script interval, seconds as keepalived.conf writes them.
    pub interval: &'static str,
    /// elb-check's own deadline (`-t`).
    pub probe_timeout: &'static str,
    /// Failures in a row before the route is withdrawn.
    pub fall: u32,
    /// Successes in a row before it is announced again.
    pub rise: u32,
    /// Also track the elb-proxy process itself (`vrrp_track_process`), so a crash withdraws
    /// the moment the process is gone instead of after `fall` failed probes.
    pub track_process: bool,
}

impl GateOptions {
    /// The fast gate: the elb-proxy process tracked (a crash withdraws at once) and a probe
    /// every 100 ms for what a process watch cannot see (a hung or failing balancer),
    /// withdrawn after two failures.
    pub fn fast() -> Self {
        Self {
            interval: "0.1",
            probe_timeout: "0.25",
            fall: 2,
            rise: 3,
            track_process: true,
        }
    }

    /// keepalived's whole-second pace: a probe a second, withdrawn after two failures.
    pub fn keepalived_pace() -> Self {
        Self {
            interval: "1",
            probe_timeout: "0.5",
            fall: 2,
            rise: 2,
            track_process: false,
        }
    }
}

/// The router: one eBGP session (with BFD) per balancer, accepting only the service prefix,
/// announcing nothing, installing up to 16 equal paths.
pub fn router_frr() -> FrrConfig {
    let mut bgpd = format!(
        "frr defaults datacenter\nhostname router\n\
         ip prefix-list SERVICES seq 10 permit 198.18.1.0/24 ge 32\n\
         route-map FROM-BALANCERS permit 10\n match ip address prefix-list SERVICES\n!\n\
         route-map NOTHING deny 10\n!\n\
         router bgp {ROUTER_AS}\n bgp router-id {}\n no bgp ebgp-requires-policy\n\
         \x20neighbor BALANCERS peer-group\n neighbor BALANCERS remote-as {BALANCER_AS}\n\
         \x20neighbor BALANCERS bfd profile fast\n neighbor BALANCERS timers 3 9\n\
         \x20neighbor BALANCERS timers connect 1\n\
         \x20neighbor BALANCERS passive\n",
        router_addr(0)
    );
    for k in 0..BALANCERS {
        bgpd.push_str(&format!(
            " neighbor {} peer-group BALANCERS\n",
            uplink_addr(k)
        ));
    }
    bgpd.push_str(
        " address-family ipv4 unicast\n  maximum-paths 16\n\
         \x20 neighbor BALANCERS route-map FROM-BALANCERS in\n\
         \x20 neighbor BALANCERS route-map NOTHING out\n exit-address-family\n!\n",
    );
    FrrConfig {
        zebra: "hostname router\n".into(),
        bfdd: BFD_PROFILE.into(),
        bgpd,
    }
}

/// Balancer `k`: announces the service /32 while it is a connected route (the gate holds
/// the address on `lo`); `network` with import-check withdraws it the moment it is not.
pub fn balancer_frr(k: usize) -> FrrConfig {
    let (me, peer) = (uplink_addr(k), router_addr(k));
    let bgpd = format!(
        "frr defaults datacenter\nhostname balancer{k}\n\
         ip prefix-list SERVICE seq 10 permit {SERVICE}/32\n\
         route-map TO-ROUTER permit 10\n match ip address prefix-list SERVICE\n!\n\
         route-map NOTHING deny 10\n!\n\
         router bgp {BALANCER_AS}\n bgp router-id {me}\n no bgp ebgp-requires-policy\n\
         \x20bgp network import-check\n\
         \x20neighbor {peer} remote-as {ROUTER_AS}\n neighbor {peer} bfd profile fast\n\
         \x20neighbor {peer} timers 3 9\n neighbor {peer} timers connect 1\n\
         \x20address-family ipv4 unicast\n  network {SERVICE}/32\n\
         \x20 neighbor {peer} route-map TO-ROUTER out\n  neighbor {peer} route-map NOTHING in\n\
         \x20exit-address-family\n!\n"
    );
    FrrConfig {
        zebra: format!("hostname balancer{k}\n"),
        bfdd: BFD_PROFILE.into(),
        bgpd,
    }
}

/// The gate on balancer `k`: vrrpd with one instance that no other node shares (its own
/// VRID, alone on its uplink) and priority 255, so it holds the service address on `lo`
/// exactly while elb-check passes (and, with `track_process`, while the elb-proxy started
/// with `proxy_config` runs), and FAULT (or maintenance) removes it.
pub fn gate_conf(k: usize, opts: &GateOptions, elb_check: &Path, proxy_config: &Path) -> String {
    // The process is matched by name and exact arguments: every balancer's elb-proxy is
    // visible from every namespace of the lab (one PID namespace), its config path is not.
    let (track_process_block, track_process_ref) = if opts.track_process {
        (
            format!(
                "vrrp_track_process elb_proxy {{\n   process elb-proxy --config {}\n   quorum 1\n}}\n",
                proxy_config.display()
            ),
            "    track_process {\n        elb_proxy\n    }\n",
        )
    } else {
        (String::new(), "")
    };
    format!(
        "global_defs {{\n   router_id balancer{k}\n}}\n{track_process_block}\
         vrrp_script chk_elb {{\n   script \"{} -t {} http://{}:{SERVICE_PORT}/services/EchoProxy\"\n\
         \x20  interval {}\n   timeout 1\n   fall {}\n   rise {}\n}}\n\
         vrrp_instance SERVICE {{\n    interface up0\n    state MASTER\n    virtual_router_id {}\n\
         \x20   priority 255\n    advert_int 1\n    virtual_ipaddress {{\n        {SERVICE}/32 dev lo\n    }}\n\
         \x20   track_script {{\n        chk_elb\n    }}\n{track_process_ref}}}\n",
        elb_check.display(),
        opts.probe_timeout,
        uplink_addr(k),
        opts.interval,
        opts.fall,
        opts.rise,
        10 + k,
    )
}

/// elb-proxy on a balancer: the shared members, the admin socket, a drain that tells the
/// gate first (`track chk_elb down`) and keeps serving for `grace`.
pub fn proxy_yaml(members_host: std::net::Ipv4Addr, dir: &Path, grace: &str) -> String {
    let members =
        crate::services::members_yaml("m", members_host, MEMBER_PORTS.into_iter().enumerate());
    format!(
        "workers: 1\n\
         listeners:\n  - name: http\n    address: 0.0.0.0:{SERVICE_PORT}\n\
         health:\n  path: /services/EchoProxy\n\
         clusters:\n  - name: members\n    balance: round_robin\n    members:\n{members}\
         default_cluster: members\n\
         admin:\n  socket: {}\n\
         shutdown:\n  grace: {grace}\n\
         vrrpd:\n  control_socket: {}\n  track: chk_elb\n",
        dir.join("admin.sock").display(),
        dir.join("vrrpd.sock").display(),
    )
}

/// What announces the service on each balancer.
#[derive(Debug, Clone)]
pub enum Speaker {
    /// FRR announcing the address the gate (vrrpd + elb-check) holds on `lo`.
    Gate(GateOptions),
    /// ExaBGP with its own healthcheck program running elb-check at the same pace (the
    /// peer the benchmark compares against); the address stays on `lo`.
    ExaBgp(GateOptions),
}

impl Speaker {
    pub fn gate(&self) -> &GateOptions {
        match self {
            Speaker::Gate(g) | Speaker::ExaBgp(g) => g,
        }
    }

    pub fn name(&self) -> String {
        let g = self.gate();
        let (who, process) = match self {
            Speaker::Gate(_) => ("FRR + vrrpd gate", g.track_process),
            // ExaBGP's healthcheck runs the probe only.
            Speaker::ExaBgp(_) => ("ExaBGP healthcheck", false),
        };
        let process = if process { ", process tracked" } else { "" };
        format!(
            "{who} (probe every {} s, fall {}, rise {}{process})",
            g.interval, g.fall, g.rise
        )
    }
}

/// ExaBGP on balancer `k`: one session to the router, its healthcheck process announcing
/// the service (withdrawing on down, disabled while `disable` exists).
pub fn exabgp_conf(k: usize, opts: &GateOptions, elb_check: &Path, disable: &Path) -> String {
    let (me, peer) = (uplink_addr(k), router_addr(k));
    format!(
        "process watch {{\n    run /usr/bin/python3 -m exabgp healthcheck --no-syslog \
         --cmd \"{} -t {} http://{me}:{SERVICE_PORT}/services/EchoProxy\" --ip {SERVICE}/32 \
         --no-ip-setup --interval {i} --fast-interval {i} --timeout 1 --rise {} --fall {} \
         --withdraw-on-down --disable {};\n    encoder text;\n}}\n\
         neighbor {peer} {{\n    router-id {me};\n    local-address {me};\n    local-as {BALANCER_AS};\n\
         \x20   peer-as {ROUTER_AS};\n    hold-time 9;\n    api {{\n        processes [ watch ];\n    }}\n}}\n",
        elb_check.display(),
        opts.probe_timeout,
        opts.rise,
        opts.fall,
        disable.display(),
        i = opts.interval,
    )
}
