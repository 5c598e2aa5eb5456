//! One resolution round with hickory-resolver: the system's servers (/etc/resolv.conf, read
//! again each round so an edited file takes effect) or the configured `resolvers.nameservers`,
//! A and AAAA both asked (SRV for an SRV name, then each target's A and AAAA), no cache kept
//! between rounds (each round asks the servers); the answer's smallest TTL is returned so the
//! caller can ask again before it runs out.

use std::net::IpAddr;
use std::time::Duration;

use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, NameServerConfigGroup, ResolverConfig, ResolverOpts,
};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, Resolver, TokioResolver};

use elb_proxy_core::config::{Endpoint, HostPort, Resolvers};

/// A resolver for one round.
pub(super) fn resolver(cfg: &Resolvers) -> Result<TokioResolver, String> {
    let mut builder = if cfg.nameservers.is_empty() {
        Resolver::builder_tokio().map_err(|e| format!("reading /etc/resolv.conf: {e}"))?
    } else {
        let servers: Vec<NameServerConfig> = cfg
            .nameservers
            .iter()
            .flat_map(|&a| {
                [
                    NameServerConfig::new(a, Protocol::Udp),
                    NameServerConfig::new(a, Protocol::Tcp),
                ]
            })
            .collect();
        let config = ResolverConfig::from_parts(None, vec![], NameServerConfigGroup::from(servers));
        Resolver::builder_with_config(config, TokioConnectionProvider::default())
    };
    let opts: &mut ResolverOpts = builder.options_mut();
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    opts.cache_size = 0;
    // Leave room for one retry inside the round's deadline.
    opts.timeout = cfg.timeout.0 / 2;
    opts.attempts = 1;
    Ok(builder.build())
}

/// What one name resolves to now and the answer's smallest TTL (seconds).
pub(super) type Found = (Vec<Endpoint>, Option<u32>);

/// The endpoints of `name`, or why there are none (no answer within `deadline` counts): its
/// A/AAAA addresses, or for an SRV name each record's target addresses with the record's
/// port and weight.
pub(super) async fn endpoints(
    resolver: &TokioResolver,
    name: &HostPort,
    deadline: Duration,
) -> Result<Found, String> {
    let ask = async {
        if name.is_srv() {
            srv(resolver, &name.host).await
        } else {
            let (ips, ttl) = addresses(resolver, &name.host).await?;
            Ok((ips.into_iter().map(Endpoint::from).collect(), ttl))
        }
    };
    match tokio::time::timeout(deadline, ask).await {
        Err(_) => Err(format!("no answer within {deadline:?}")),
        Ok(found) => found,
    }
}

fn why(e: &ResolveError, what: &str) -> String {
    if e.is_nx_domain() {
        "no such name (NXDOMAIN)".into()
    } else if e.is_no_records_found() {
        format!("no {what} record")
    } else {
        e.to_string()
    }
}

fn min_ttl(lookup: &Lookup) -> Option<u32> {
    lookup.record_iter().map(|r| r.ttl()).min()
}

/// The A/AAAA addresses of `host`, sorted, and their smallest TTL.
async fn addresses(
    resolver: &TokioResolver,
    host: &str,
) -> Result<(Vec<IpAddr>, Option<u32>), String> {
    let answer = resolver
        .lookup_ip(host)
        .await
        .map_err(|e| why(&e, "A or AAAA"))?;
    let mut ips: Vec<IpAddr> = answer.iter().collect();
    ips.sort_unstable();
    ips.dedup();
    if ips.is_empty() {
        return Err("no A or AAAA record".into());
    }
    Ok((ips, min_ttl(answer.as_lookup())))
}

/// The records of the lowest priority (RFC 2782: the others are for when those fail, and
/// elb-proxy has no backup members), each target asked for its addresses. A record with
/// port 0 or target `.` says there is no such service. Weight 0 counts as 1 (a weight-0
/// target is still picked, rarely, by RFC 2782); above 1000 as 1000 (the largest weight).
async fn srv(resolver: &TokioResolver, host: &str) -> Result<Found, String> {
    let answer = resolver
        .srv_lookup(host)
        .await
        .map_err(|e| why(&e, "SRV"))?;
    let lowest = answer.iter().map(|r| r.priority()).min();
    let records: Vec<_> = answer
        .iter()
        .filter(|r| Some(r.priority()) == lowest && r.port() != 0 && !r.target().is_root())
        .collect();
    if records.is_empty() {
        return Err("no SRV record with a target".into());
    }
    let mut ttl = min_ttl(answer.as_lookup());
    let mut out = Vec::new();
    let mut failed = Vec::new();
    for r in records {
        let target = r.target().to_utf8();
        match addresses(resolver, &target).await {
            Ok((ips, t)) => {
                ttl = match (ttl, t) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let weight = u32::from(r.weight()).max(1);
                out.extend(ips.into_iter().map(|ip| Endpoint {
                    ip,
                    port: r.port(),
                    weight: Some(weight),
                }));
            }
            Err(e) => failed.push(format!("{target}: {e}")),
        }
    }
    if out.is_empty() {
        return Err(format!("no SRV target resolves ({})", failed.join("; ")));
    }
    out.sort_unstable();
    Ok((out, ttl))
}
