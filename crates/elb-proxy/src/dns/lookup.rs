//! One resolution round with hickory-resolver: the system's servers (/etc/resolv.conf, read
//! again each round so an edited file takes effect) or the configured `resolvers.nameservers`,
//! A and AAAA both asked, no cache kept between rounds (each round asks the servers).

use std::net::IpAddr;
use std::time::Duration;

use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, NameServerConfigGroup, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{Resolver, TokioResolver};

use elb_proxy_core::config::{HostPort, Resolvers};

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

/// The addresses of `name`, or why there are none (no answer within `deadline` counts).
pub(super) async fn addresses(
    resolver: &TokioResolver,
    name: &HostPort,
    deadline: Duration,
) -> Result<Vec<IpAddr>, String> {
    match tokio::time::timeout(deadline, resolver.lookup_ip(name.host.as_str())).await {
        Err(_) => Err(format!("no answer within {deadline:?}")),
        Ok(Err(e)) if e.is_nx_domain() => Err("no such name (NXDOMAIN)".into()),
        Ok(Err(e)) if e.is_no_records_found() => Err("no A or AAAA record".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(answer)) => {
            let mut ips: Vec<IpAddr> = answer.iter().collect();
            ips.sort_unstable();
            ips.dedup();
            if ips.is_empty() {
                Err("no A or AAAA record".into())
            } else {
                Ok(ips)
            }
        }
    }
}
