//! The routed part of the ECMP lab, built with `ip` inside the lab's own namespaces: netlab
//! gives one bridged segment (here the back-end network between balancers and members), and
//! this module adds the point-to-point links a top-of-rack router has to each balancer and
//! to the client side.
//!
//! ```text
//!   client ──198.18.3.0/31── router ──198.18.2.(2k)/31── balancer k (k = 0, 1, 2)
//!   sources 198.18.4.0/24            multipath to 198.18.1.1/32 (BGP)
//!   balancers ──eth0 on the bridge 198.18.0.0/24── members (198.18.0.5)
//! ```

use std::net::Ipv4Addr;

use anyhow::{Context, Result};
use netlab::{Host, Lab};

/// The service address every healthy balancer announces.
pub const SERVICE: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
/// elb-proxy's listener port (on every balancer address, the service address included).
pub const SERVICE_PORT: u16 = 8280;
/// How many balancers the lab has.
pub const BALANCERS: usize = 3;
/// The client host owns this whole /24 (an AnyIP route), so each connection can come from
/// its own address, as from many clients.
pub const CLIENT_SOURCES: &str = "198.18.4.0/24";

/// Lab host indices.
pub const ROUTER: usize = 0;
pub const MEMBERS: usize = BALANCERS + 1;
pub const CLIENT: usize = BALANCERS + 2;
/// Hosts in the lab: router, balancers, members, client.
pub const HOSTS: usize = BALANCERS + 3;

/// Lab host index of balancer `k`.
pub fn balancer_host(k: usize) -> usize {
    1 + k
}

/// Router side of the link to balancer `k`.
pub fn router_addr(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 2, (2 * k) as u8)
}

/// Balancer `k`'s side of its uplink (the BGP next hop the router installs).
pub fn uplink_addr(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 2, (2 * k + 1) as u8)
}

/// Which balancer a next hop on the router is, if any.
pub fn balancer_of_next_hop(ip: Ipv4Addr) -> Option<usize> {
    (0..BALANCERS).find(|&k| uplink_addr(k) == ip)
}

/// Balancer `k`'s address on the back-end segment (members see requests come from it).
pub fn backend_addr(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, (balancer_host(k) + 1) as u8)
}

/// Which balancer a back-end source address belongs to.
pub fn balancer_of_backend_addr(ip: Ipv4Addr) -> Option<usize> {
    (0..BALANCERS).find(|&k| backend_addr(k) == ip)
}

/// Client source address number `i` (1..=254 cycle) of [`CLIENT_SOURCES`].
pub fn client_source(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 4, (i % 254 + 1) as u8)
}

/// Builds the links, addresses and static routes of the diagram above. The router and the
/// client leave the bridge (their `eth0` goes down), so the only way from a client to a
/// balancer is through the router's multipath route.
pub fn wire(lab: &Lab) -> Result<()> {
    let router = lab.host(ROUTER);
    let client = lab.host(CLIENT);
    for k in 0..BALANCERS {
        let bal = lab.host(balancer_host(k));
        router.run(&[
            "ip",
            "link",
            "add",
            &format!("rb{k}"),
            "type",
            "veth",
            "peer",
            "name",
            "up0",
            "netns",
            bal.netns(),
        ])?;
        batch(
            router,
            &format!(
                "addr add {}/31 dev rb{k}\nlink set dev rb{k} up\n",
                router_addr(k)
            ),
        )?;
        batch(
            bal,
            &format!(
                "addr add {}/31 dev up0\nlink set dev up0 up\nroute add default via {}\n",
                uplink_addr(k),
                router_addr(k)
            ),
        )?;
        // The service address stays deliverable here while the gate has withdrawn it (the
        // gate removes it from `lo`): a drained balancer keeps serving the connections the
        // router still sends it until the withdrawal has spread. In the local table, because
        // the kernel accepts a reply's source address only if it is an interface address or
        // local there; zebra ignores local routes, so this never announces anything.
        batch(
            bal,
            &format!("route add local {SERVICE}/32 dev lo table local metric 10\n"),
        )?;
    }
    router.run(&[
        "ip",
        "link",
        "add",
        "rc0",
        "type",
        "veth",
        "peer",
        "name",
        "up0",
        "netns",
        client.netns(),
    ])?;
    batch(
        router,
        &format!(
            "addr add 198.18.3.0/31 dev rc0\nlink set dev rc0 up\nlink set dev eth0 down\n\
         route add {CLIENT_SOURCES} via 198.18.3.1\n"
        ),
    )?;
    batch(
        client,
        &format!(
            "addr add 198.18.3.1/31 dev up0\nlink set dev up0 up\nlink set dev eth0 down\n\
         route add default via 198.18.3.0 src 198.18.3.1\nroute add local {CLIENT_SOURCES} dev lo\n"
        ),
    )?;
    router.run(&[
        "sysctl",
        "-q",
        "-w",
        "net.ipv4.ip_forward=1",
        // Hash on the 5-tuple, as data-centre routers do: many flows from one client spread.
        "net.ipv4.fib_multipath_hash_policy=1",
    ])?;
    Ok(())
}

/// Runs `ip -batch -` lines inside `host`.
fn batch(host: &Host, script: &str) -> Result<()> {
    for line in script.lines().filter(|l| !l.trim().is_empty()) {
        let mut argv = vec!["ip"];
        argv.extend(line.split_whitespace());
        host.run(&argv)
            .with_context(|| format!("ip {line} on {}", host.netns()))?;
    }
    Ok(())
}
