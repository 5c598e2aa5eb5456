//! The ECMP deployment in the lab: a router running FRR with multipath BGP and BFD, three
//! balancers each with elb-proxy, its gate (vrrpd + elb-check) and its speaker (FRR), two
//! members behind them, and a client in front whose connections come from a whole /24.
//! The layout is in [`topology`].

pub mod balancer;
pub mod configs;
pub mod frr;
pub mod load;
pub mod member;
pub mod resilient;
pub mod routes;
pub mod topology;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use netlab::{Host, Lab, Proc};

use balancer::Balancer;
use configs::{MEMBER_PORTS, Speaker, router_frr};
use frr::Frr;
use routes::RouteWatch;
use topology::{BALANCERS, CLIENT, HOSTS, MEMBERS, ROUTER, balancer_host};

/// Time for the whole lab to come up (FRR sessions, first announcements).
const UP_TIMEOUT: Duration = Duration::from_secs(30);

/// The running ECMP lab.
pub struct Ecmp {
    pub balancers: Vec<Balancer>,
    pub router: Frr,
    pub routes: RouteWatch,
    _members: Vec<Proc>,
    // Last: the lab (and with it every namespace) goes after the processes inside it.
    pub lab: Lab,
}

impl Ecmp {
    /// Builds the lab and waits until the router forwards the service to every balancer.
    pub fn start(speaker: &Speaker) -> Result<Self> {
        let lab = Lab::new(HOSTS)?;
        topology::wire(&lab)?;
        let members_host = lab.host(MEMBERS);
        let members = MEMBER_PORTS
            .iter()
            .enumerate()
            .map(|(i, &port)| member::start_member(members_host, &format!("m{}", i + 1), port))
            .collect::<Result<Vec<_>>>()?;
        let routes = RouteWatch::start(lab.host(ROUTER))?;
        let router = Frr::start(lab.host(ROUTER), &lab.dir().join("router"), &router_frr())?;
        let mut balancers = Vec::new();
        for k in 0..BALANCERS {
            let dir = lab.dir().join(format!("balancer{k}"));
            let host = lab.host(balancer_host(k));
            balancers.push(Balancer::start(host, k, dir, members_host.ipv4(), speaker)?);
        }
        let ecmp = Self {
            balancers,
            router,
            routes,
            _members: members,
            lab,
        };
        // ExaBGP speaks no BFD: only the FRR balancers bring sessions up.
        let bfd_peers = ecmp.balancers.iter().filter(|b| b.frr.is_some()).count();
        ecmp.router
            .wait_bfd_up(bfd_peers, UP_TIMEOUT)
            .with_context(|| format!("BFD never settled\n{}", ecmp.logs()))?;
        let all: Vec<usize> = (0..BALANCERS).collect();
        ecmp.routes
            .wait_for(ecmp.router_host(), &all, Instant::now(), UP_TIMEOUT)
            .with_context(|| format!("the router never had every balancer\n{}", ecmp.logs()))?;
        Ok(ecmp)
    }

    pub fn router_host(&self) -> &Host {
        self.lab.host(ROUTER)
    }

    pub fn client_host(&self) -> &Host {
        self.lab.host(CLIENT)
    }

    pub fn balancer_host(&self, k: usize) -> &Host {
        self.lab.host(balancer_host(k))
    }

    /// Balancer `k` and its host, for the operations that need both.
    pub fn balancer(&mut self, k: usize) -> (&mut Balancer, &Host) {
        (&mut self.balancers[k], self.lab.host(balancer_host(k)))
    }

    /// Waits until the router forwards to exactly `want`; returns when that changed (a
    /// change stamped before `since`, the event waited for, is not taken for it).
    pub fn wait_next_hops_since(
        &self,
        want: &[usize],
        since: Instant,
        timeout: Duration,
    ) -> Result<Instant> {
        self.routes
            .wait_for(self.router_host(), want, since, timeout)
            .with_context(|| format!("router never forwarded to {want:?}\n{}", self.logs()))
    }

    /// [`Self::wait_next_hops_since`] an event that happened just now.
    pub fn wait_next_hops(&self, want: &[usize], timeout: Duration) -> Result<Instant> {
        self.wait_next_hops_since(want, Instant::now(), timeout)
    }

    /// `vtysh -c CMD` on the router.
    pub fn router_vtysh(&self, cmd: &str) -> Result<String> {
        self.router.vtysh(&[cmd])
    }

    /// Everything every daemon printed, for a failure report.
    pub fn logs(&self) -> String {
        let mut out = format!("===== router =====\n{}", self.router.logs());
        for b in &self.balancers {
            out.push_str(&b.logs());
        }
        out
    }
}
