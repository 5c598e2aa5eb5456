//! From keepalived.conf to what the daemon runs: loading through `keepalived-conf` (whose
//! diagnostics and exit classes make `-t` behave like keepalived's), and the mapping of its
//! typed model onto [`DaemonSpec`] and the `vrrp` state machine's configuration.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use keepalived_conf::model as kc;

use crate::cli::DaemonArgs;
use crate::control::TrackerKind;
use crate::scripts::conf::instance_trackers;
use crate::spec::{
    Broadcast, DaemonSpec, GroupSpec, InstanceSpec, RouteKind, RouteSpec, RuleSpec, TrackerId, Vip,
    table_number,
};

/// The mapping proper.
pub fn spec_from_config(cfg: &kc::Config, args: &DaemonArgs) -> Result<DaemonSpec> {
    let g = &cfg.global_defs;
    let mut spec = DaemonSpec {
        garp_interval: g.vrrp_garp_interval,
        gna_interval: g.vrrp_gna_interval,
        garp_groups: cfg.garp_groups.clone(),
        log_unknown_vrids: g.log_unknown_vrids,
        nft_options: crate::net::nft::NftOptions {
            priority: g.nftables_priority,
            counters: g.nftables_counters,
            ifindex: g.nftables_ifindex,
        },
        router_id: g.router_id.clone(),
        conf: Some(std::sync::Arc::new(cfg.clone())),
        statics: statics_of(cfg),
        ..Default::default()
    };
    for i in &cfg.instances {
        spec.instances.push(
            instance_spec(cfg, i, args).with_context(|| format!("vrrp_instance {}", i.name))?,
        );
    }
    for sg in &cfg.sync_groups {
        spec.groups.push(GroupSpec {
            name: sg.name.clone(),
            members: sg.group.clone(),
        });
    }
    Ok(spec)
}

/// A `unicast_peer` line with its TTL window.
fn unicast_peer(p: &kc::UnicastPeer) -> vrrp::UnicastPeer {
    vrrp::UnicastPeer {
        addr: p.addr,
        min_ttl: p.min_ttl,
        max_ttl: p.max_ttl,
    }
}

/// `old_unicast_checksum` as the state machine's checksum mode.
fn unicast_checksum(m: kc::OldUnicastChecksum) -> vrrp::UnicastChecksum {
    match m {
        kc::OldUnicastChecksum::Auto => vrrp::UnicastChecksum::Auto,
        kc::OldUnicastChecksum::Always => vrrp::UnicastChecksum::Old,
        kc::OldUnicastChecksum::Never => vrrp::UnicastChecksum::Never,
    }
}

fn instance_spec(cfg: &kc::Config, i: &kc::Instance, args: &DaemonArgs) -> Result<InstanceSpec> {
    let g = &cfg.global_defs;
    let interface = match &i.interface {
        Some(n) => n.clone(),
        None => bail!("no interface (vrrpd needs one, also in unicast mode)"),
    };
    let version = match (i.family, i.version) {
        (kc::Family::V6, _) => vrrp::Version::V3,
        (_, 3) => vrrp::Version::V3,
        _ => vrrp::Version::V2,
    };
    let placeholder: IpAddr = match i.family {
        kc::Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        kc::Family::V6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    };
    let mut v =
        vrrp::InstanceConfig::new(i.name.clone(), i.virtual_router_id, version, placeholder);
    v.priority = i.priority;
    v.advert_interval = i.advert_int;
    v.initial_state = match i.state {
        Some(kc::InitialState::Master) => vrrp::InitialState::Master,
        _ => vrrp::InitialState::Backup,
    };
    v.preempt = !i.nopreempt;
    v.preempt_delay = i.preempt_delay;
    let vmac = vmac_of(g, i);
    // With a VMAC the VIPs live on it, and so do the adverts unless `vmac_xmit_base`.
    let vip_if = vmac.as_ref().map_or(interface.clone(), |m| m.name.clone());
    let interface = match &vmac {
        Some(m) if !m.xmit_base => m.name.clone(),
        _ => interface,
    };
    let vip_vmacs = vip_vmacs_of(g, i, vmac.as_ref());
    let vip_on = |a: &kc::VirtualAddress| {
        let mut vip = vip_of(a, &vip_if);
        if let Some(base) = i.vip_vmac_interface(a)
            && let Some(m) = vip_vmacs.iter().find(|m| m.base == base)
        {
            vip.ifname = m.name.clone();
        }
        vip
    };
    let (vips, family_vips): (Vec<Vip>, Vec<vrrp::Vip>) = i
        .virtual_ipaddress
        .iter()
        .filter(|a| vrrp::Family::of(a.addr) == v.family)
        .map(|a| (vip_on(a), vrrp_vip(a)))
        .unzip();
    v.vips = family_vips;
    let excluded: Vec<Vip> = i.virtual_ipaddress_excluded.iter().map(vip_on).collect();
    v.excluded_vips = i.virtual_ipaddress_excluded.iter().map(vrrp_vip).collect();
    v.auth = match (&i.authentication, version) {
        (Some(kc::Authentication::Pass(p)), vrrp::Version::V2) => vrrp::Auth::pass(p.as_bytes()),
        (Some(kc::Authentication::Ah(p)), vrrp::Version::V2) => vrrp::Auth::ah(p.as_bytes()),
        _ => vrrp::Auth::None,
    };
    v.unicast_peers = i.unicast_peer.iter().map(unicast_peer).collect();
    v.check_unicast_src = i.check_unicast_src || g.vrrp_check_unicast_src;
    v.multicast_group = match (i.mcast_dst_ip, v.family) {
        (Some(a), _) => a,
        (None, vrrp::Family::V4) => IpAddr::V4(g.vrrp_mcast_group4),
        (None, vrrp::Family::V6) => IpAddr::V6(g.vrrp_mcast_group6),
    };
    v.accept = i.accept;
    v.strict = i.strict_mode;
    v.garp = garp_of(i);
    v.down_timer_adverts = i.down_timer_adverts;
    v.lower_prio_no_advert = i.lower_prio_no_advert;
    v.higher_prio_send_advert = i.higher_prio_send_advert;
    v.owner_ignore_adverts = i.owner_ignore_adverts;
    v.skip_check_adv_addr = i.skip_check_adv_addr;
    // The instance's own setting, defaulted from global_defs by the parser.
    v.v3_checksum_as_v2 = i.v3_checksum_as_v2;
    v.unicast_checksum = unicast_checksum(i.old_unicast_checksum);
    v.dont_track_primary = i.dont_track_primary;
    v.timer_expired_backup = i.timer_expired_backup;
    v.fast_failover = fast_failover(args);
    let (tracker_configs, trackers) = trackers_of(cfg, i, &interface);
    v.trackers.extend(tracker_configs);
    // keepalived: "Cannot use unicast without any peers - going to fault state".
    let fault_no_peer = i.unicast_fault_no_peer && i.unicast_peer.is_empty();
    if fault_no_peer {
        v.trackers.push(vrrp::TrackerConfig {
            name: crate::spec::NO_UNICAST_PEER.into(),
            weight: 0,
            reverse: false,
        });
    }
    // keepalived sets it on the configured interface (a VMAC has it already).
    let promote_secondaries = i.promote_secondaries.then(|| i.interface.clone()).flatten();
    let source = i.unicast_src_ip.or(i.mcast_src_ip);
    let (routes, rules) = routes_and_rules(i);
    let rx_buf = crate::spec::RxBufShare::of(
        &cfg.global_defs.process,
        i.kernel_rx_buf_size,
        v.family == vrrp::Family::V6,
        v.version == vrrp::Version::V2,
        vips.len(),
    );
    Ok(InstanceSpec {
        name: i.name.clone(),
        interface,
        vrrp: v,
        source,
        unicast_ttl: if i.unicast_ttl == 0 {
            255
        } else {
            i.unicast_ttl
        },
        rx_buf,
        vips,
        excluded,
        routes,
        rules,
        trackers,
        vmac,
        vip_vmacs,
        fault_no_peer,
        promote_secondaries,
        garp_extra_if: i.garp_extra_if,
    })
}

/// `garp_master_*`, `garp_lower_prio_*`.
fn garp_of(i: &kc::Instance) -> vrrp::GarpConfig {
    vrrp::GarpConfig {
        master_delay: i.garp_master_delay,
        master_repeat: i.garp_master_repeat.max(1),
        master_refresh: (!i.garp_master_refresh.is_zero()).then_some(i.garp_master_refresh),
        master_refresh_repeat: i.garp_master_refresh_repeat.max(1),
        lower_prio_delay: i.garp_lower_prio_delay,
        lower_prio_repeat: i.garp_lower_prio_repeat,
    }
}

/// The instance's trackers for the state machine, with what each follows (same order).
fn trackers_of(
    cfg: &kc::Config,
    i: &kc::Instance,
    own_interface: &str,
) -> (Vec<vrrp::TrackerConfig>, Vec<TrackerId>) {
    let mut configs = Vec::new();
    let mut trackers = Vec::new();
    for t in instance_trackers(cfg, i) {
        let w = &t.weight;
        let weight = i32::try_from(w.weight.clamp(-254, 254)).unwrap_or(0);
        let id = match t.kind {
            TrackerKind::Script => TrackerId::Script(w.name.clone()),
            TrackerKind::Interface => {
                if w.name == own_interface {
                    continue; // own interface: tracked anyway (keepalived ignores it too)
                }
                TrackerId::Interface(w.name.clone())
            }
            // Fed with the file's value (Event::TrackerValue): weighted files add value x weight.
            TrackerKind::File => TrackerId::File(w.name.clone()),
            TrackerKind::Process => TrackerId::Process(w.name.clone()),
        };
        configs.push(vrrp::TrackerConfig {
            name: id.key(),
            weight,
            reverse: w.reverse,
        });
        trackers.push(id);
    }
    // The `dev` of VIP and route lines without `no_track`, and the interfaces of static routes
    // and rules naming a `track_group` the instance is in: down means FAULT (keepalived).
    let tracked = i.address_interfaces();
    let grouped = cfg.track_group_interfaces(&i.name);
    for dev in tracked.into_iter().chain(grouped) {
        let id = TrackerId::Interface(dev.to_string());
        if dev == own_interface || trackers.contains(&id) {
            continue;
        }
        configs.push(vrrp::TrackerConfig {
            name: id.key(),
            weight: 0,
            reverse: false,
        });
        trackers.push(id);
    }
    (configs, trackers)
}

/// The `virtual_routes` and `virtual_rules` vrrpd installs; the others are logged and ignored.
fn routes_and_rules(i: &kc::Instance) -> (Vec<RouteSpec>, Vec<RuleSpec>) {
    let routes = i
        .virtual_routes
        .iter()
        .filter_map(|r| {
            let spec = route_spec(r);
            if spec.is_none() {
                tracing::warn!(instance = %i.name, route = r.words.join(" "), "virtual route not supported; ignored");
            }
            spec
        })
        .collect();
    let rules = i
        .virtual_rules
        .iter()
        .filter_map(|r| {
            let spec = rule_spec(r);
            if spec.is_none() {
                tracing::warn!(instance = %i.name, rule = r.words.join(" "), "virtual rule not supported; ignored");
            }
            spec
        })
        .collect();
    (routes, rules)
}

/// The subset of `virtual_rules` vrrpd installs (see [`RuleSpec`]); `None` for the rest.
fn rule_spec(r: &kc::Rule) -> Option<RuleSpec> {
    if r.from.is_none() && r.to.is_none() {
        return None;
    }
    Some(RuleSpec {
        from: r.from.map(|p| (p.addr, p.len)),
        to: r.to.map(|p| (p.addr, p.len)),
        table: table_number(r.table.as_deref()?)?,
        priority: r.preference,
        iif: r.iif.clone(),
    })
}

/// The subset of `virtual_routes` vrrpd installs (see [`RouteSpec`]); `None` for the rest.
fn route_spec(r: &kc::Route) -> Option<RouteSpec> {
    let to = r.to?;
    let kind = match r.route_type.as_deref() {
        None | Some("unicast") => RouteKind::Unicast,
        Some("blackhole") => RouteKind::Blackhole,
        Some("unreachable") => RouteKind::Unreachable,
        Some("prohibit") => RouteKind::Prohibit,
        Some(_) => return None,
    };
    Some(RouteSpec {
        dst: to.addr,
        prefix_len: to.len,
        via: r.via,
        dev: r.dev.clone(),
        src: r.src,
        table: match &r.table {
            Some(t) => table_number(t)?,
            None => 254,
        },
        metric: r.metric,
        kind,
        nexthops: r
            .nexthops
            .iter()
            .map(|n| crate::spec::NexthopSpec {
                via: n.via,
                dev: n.dev.clone(),
                weight: n.weight.unwrap_or(1),
            })
            .collect(),
    })
}

fn fast_failover(args: &DaemonArgs) -> vrrp::FastFailover {
    if !args.fast_failover {
        return vrrp::FastFailover::default();
    }
    vrrp::FastFailover {
        immediate_advert_on_priority_change: true,
        fast_preempt: true,
        fast_preempt_delay: seconds(args.fast_preempt_delay),
        hold_time: seconds(args.hold_time),
        release_delay: seconds(Some(args.release_delay)).min(Duration::from_secs(5)),
    }
}

/// A command-line duration in seconds: absent, negative or not finite = zero, at most an hour.
pub fn seconds(secs: Option<f64>) -> Duration {
    secs.and_then(|s| Duration::try_from_secs_f64(s.clamp(0.0, 3600.0)).ok())
        .unwrap_or(Duration::ZERO)
}

fn vrrp_vip(a: &kc::VirtualAddress) -> vrrp::Vip {
    vrrp::Vip {
        addr: a.addr,
        prefix_len: a.prefix_len,
    }
}

/// `use_vmac [NAME] [MAC]`, `vmac_prefix`, `vmac_xmit_base`.
fn vmac_of(g: &kc::GlobalDefs, i: &kc::Instance) -> Option<crate::net::vmac::VmacSpec> {
    use crate::net::vmac::{VmacSpec, parse_mac, virtual_mac};
    let u = i.use_vmac.as_ref()?;
    let vrid = i.virtual_router_id;
    let prefix = g.vmac_prefix.as_deref().unwrap_or("vrrp");
    let v6 = i.family == kc::Family::V6;
    Some(VmacSpec {
        name: u.name.clone().unwrap_or_else(|| format!("{prefix}.{vrid}")),
        base: i.interface.clone()?,
        mac: u
            .mac
            .as_deref()
            .and_then(|m| parse_mac(m, vrid))
            .unwrap_or_else(|| virtual_mac(vrid, v6)),
        xmit_base: i.vmac_xmit_base,
        v6,
    })
}

/// The VMACs of VIPs (a VIP's `use_vmac`, the instance's `use_vmac_addr`): one per interface,
/// named like keepalived 2.2.7 names them, the first free of `vrrp.51`, `vrrp1.51`, ... (the
/// instance's own VMAC taken first). They carry VIPs only: adverts never go out on them.
fn vip_vmacs_of(
    g: &kc::GlobalDefs,
    i: &kc::Instance,
    own: Option<&crate::net::vmac::VmacSpec>,
) -> Vec<crate::net::vmac::VmacSpec> {
    let vrid = i.virtual_router_id;
    let prefix = (g.vmac_addr_prefix.as_deref())
        .or(g.vmac_prefix.as_deref())
        .unwrap_or("vrrp");
    let v6 = i.family == kc::Family::V6;
    let mut taken: Vec<String> = own.map(|m| m.name.clone()).into_iter().collect();
    let mut out = Vec::new();
    for base in i.vip_vmac_interfaces() {
        let name = (0..)
            .map(|n| match n {
                0 => format!("{prefix}.{vrid}"),
                n => format!("{prefix}{n}.{vrid}"),
            })
            .find(|c| !taken.contains(c))
            .unwrap_or_default();
        taken.push(name.clone());
        out.push(crate::net::vmac::VmacSpec {
            name,
            base: base.to_string(),
            mac: crate::net::vmac::virtual_mac(vrid, v6),
            xmit_base: true,
            v6,
        });
    }
    out
}

fn vip_of(a: &kc::VirtualAddress, default_if: &str) -> Vip {
    Vip {
        addr: a.addr,
        prefix_len: a.prefix_len,
        ifname: a.dev.clone().unwrap_or_else(|| default_if.to_string()),
        broadcast: match &a.brd {
            None => Broadcast::None,
            Some(kc::Broadcast::Plus) => Broadcast::Derived,
            Some(kc::Broadcast::Minus) => Broadcast::None,
            Some(kc::Broadcast::Addr(IpAddr::V4(b))) => Broadcast::Addr(*b),
            Some(kc::Broadcast::Addr(_)) => Broadcast::None,
        },
        scope: a.scope.as_deref().and_then(scope_number),
        label: a.label.clone(),
        peer: a.peer,
        noprefixroute: a.noprefixroute,
        home: a.home,
        nodad: a.nodad,
        mngtmpaddr: a.mngtmpaddr,
        autojoin: a.autojoin,
        preferred_lft: a.preferred_lft,
        no_track: a.no_track,
    }
}

/// `static_ipaddress`, `static_routes`, `static_rules` (unsupported lines are logged).
fn statics_of(cfg: &kc::Config) -> crate::spec::StaticSpec {
    let mut s = crate::spec::StaticSpec::default();
    // Without `dev`, keepalived puts a static address on `default_interface`, else eth0.
    let default_if = cfg
        .global_defs
        .default_interface
        .as_deref()
        .unwrap_or("eth0");
    for a in &cfg.static_addresses {
        s.addresses
            .push(vip_of(a, a.dev.as_deref().unwrap_or(default_if)));
    }
    for r in &cfg.static_routes {
        match route_spec(r) {
            Some(spec) => s.routes.push(spec),
            None => tracing::warn!(
                route = r.words.join(" "),
                "static route not supported; not installed"
            ),
        }
    }
    for r in &cfg.static_rules {
        match rule_spec(r) {
            Some(spec) => s.rules.push(spec),
            None => tracing::warn!(
                rule = r.words.join(" "),
                "static rule not supported; not installed"
            ),
        }
    }
    s
}

/// `scope` words as `ip` understands them.
fn scope_number(s: &str) -> Option<u8> {
    match s {
        "global" | "universe" => Some(0),
        "site" => Some(200),
        "link" => Some(253),
        "host" => Some(254),
        "nowhere" => Some(255),
        n => n.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::Path;

    fn spec(text: &str, extra: &[&str]) -> DaemonSpec {
        let mut r = keepalived_conf::MemResolver::new().with_file("/k.conf", text);
        r.scripts.insert("/bin/true".into(), true);
        let loaded = keepalived_conf::load_with(
            &r,
            Path::new("/k.conf"),
            &keepalived_conf::LoadOptions::default(),
        );
        let cfg = loaded.config.expect("config");
        let args = crate::cli::Cli::try_parse_from(["vrrpd"].iter().chain(extra.iter()).copied())
            .unwrap()
            .daemon;
        spec_from_config(&cfg, &args).unwrap()
    }

    #[test]
    fn vmac_names_macs_and_xmit_base_decide_where_vips_and_adverts_go() {
        let inst = |vrid: u8, body: &str| {
            format!(
                "vrrp_instance VI_{vrid} {{\n interface eth0\n virtual_router_id {vrid}\n{body}\n virtual_ipaddress {{\n 198.18.0.{vrid}/24\n 198.18.1.{vrid}/24 dev eth1\n }}\n}}\n"
            )
        };
        let s = spec(
            &format!(
                "global_defs {{\n vmac_prefix vm\n}}\n{}{}{}",
                inst(51, " use_vmac"),
                inst(52, " use_vmac lb0 02:aa:bb:cc:dd"),
                inst(53, " use_vmac\n vmac_xmit_base"),
            ),
            &[],
        );
        let [a, b, c] = &s.instances[..] else {
            panic!("three instances")
        };
        let m = a.vmac.as_ref().unwrap();
        assert_eq!((m.name.as_str(), m.base.as_str()), ("vm.51", "eth0"));
        assert_eq!(m.mac, [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(a.interface, "vm.51", "adverts from the VMAC");
        assert_eq!(a.vips[0].ifname, "vm.51");
        assert_eq!(a.vips[1].ifname, "eth1", "`dev` keeps its interface");
        let m = b.vmac.as_ref().unwrap();
        assert_eq!(
            (m.name.as_str(), m.mac),
            ("lb0", [2, 0xaa, 0xbb, 0xcc, 0xdd, 52])
        );
        assert_eq!(c.interface, "eth0", "vmac_xmit_base: adverts on the base");
        assert_eq!(c.vips[0].ifname, "vm.53");
    }

    #[test]
    fn ah_is_honoured_on_v2_and_ignored_on_v3_like_keepalived() {
        let conf = |version: u8| {
            format!(
                "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n version {version}\n\
                 authentication {{\n auth_type AH\n auth_pass secret12\n }}\n\
                 virtual_ipaddress {{\n 198.18.0.100/24\n }}\n}}\n"
            )
        };
        let v2 = spec(&conf(2), &[]);
        let key = *b"secret12";
        assert_eq!(v2.instances[0].vrrp.auth, vrrp::Auth::Ah { key, seq: 0 });
        // keepalived 2.2.7: "VRRP version 3 does not support authentication. Ignoring."
        let v3 = spec(&conf(3), &[]);
        assert_eq!(v3.instances[0].vrrp.auth, vrrp::Auth::None);
    }

    #[test]
    fn v2_pass_instance_with_vip_attributes() {
        let s = spec(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n\
             authentication {\n auth_type PASS\n auth_pass secret12345\n }\n\
             virtual_ipaddress {\n 198.18.0.100/24 brd + dev eth1 scope link label eth1:v\n }\n}\n",
            &[],
        );
        let i = &s.instances[0];
        assert_eq!(i.interface, "eth0");
        assert_eq!(i.vrrp.version, vrrp::Version::V2);
        assert_eq!(i.vrrp.priority, 150);
        assert_eq!(i.vrrp.auth, vrrp::Auth::Pass(*b"secret12"));
        assert_eq!(
            i.vrrp.multicast_group,
            "224.0.0.18".parse::<IpAddr>().unwrap()
        );
        assert_eq!(i.vrrp.fast_failover, vrrp::FastFailover::default());
        let v = &i.vips[0];
        assert_eq!((v.prefix_len, v.ifname.as_str()), (24, "eth1"));
        assert_eq!(v.broadcast, Broadcast::Derived);
        assert_eq!(v.scope, Some(253));
        assert_eq!(v.label.as_deref(), Some("eth1:v"));
    }

    #[test]
    fn unicast_v3_with_trackers_and_fast_failover() {
        let s = spec(
            "vrrp_script chk {\n script \"/bin/true\"\n weight -20\n}\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 52\n version 3\n\
             advert_int 0.1\n unicast_src_ip 198.18.0.1\n unicast_peer {\n 198.18.0.2\n }\n\
             track_interface {\n eth1 weight -10\n eth0\n }\n track_script {\n chk\n }\n\
             virtual_ipaddress {\n 198.18.0.100\n }\n}\n",
            &[
                "--fast-failover",
                "--hold-time",
                "0.5",
                "--fast-preempt-delay",
                "1.5",
            ],
        );
        let i = &s.instances[0];
        assert_eq!(i.vrrp.version, vrrp::Version::V3);
        assert_eq!(i.vrrp.advert_interval, Duration::from_millis(100));
        assert_eq!(i.source, Some("198.18.0.1".parse().unwrap()));
        assert_eq!(i.vrrp.unicast_peers.len(), 1);
        let names: Vec<(&str, i32)> = i
            .vrrp
            .trackers
            .iter()
            .map(|t| (t.name.as_str(), t.weight))
            .collect();
        assert!(names.contains(&("chk", -20)), "{names:?}");
        assert!(names.contains(&("interface:eth1", -10)), "{names:?}");
        assert!(
            !names.iter().any(|(n, _)| *n == "interface:eth0"),
            "{names:?}"
        );
        assert_eq!(i.tracked_interfaces().collect::<Vec<_>>(), ["eth1"]);
        assert!(i.vrrp.fast_failover.fast_preempt);
        assert_eq!(i.vrrp.fast_failover.hold_time, Duration::from_millis(500));
        assert_eq!(
            i.vrrp.fast_failover.fast_preempt_delay,
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn old_unicast_checksum_sets_the_instance_checksum_mode() {
        use vrrp::UnicastChecksum as U;
        let mode = |extra: &str| {
            let text = format!(
                "vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n version 3\n{extra}\
                 virtual_ipaddress {{\n 198.18.0.1\n }}\n}}\n"
            );
            spec(&text, &[]).instances[0].vrrp.unicast_checksum
        };
        assert_eq!(mode(""), U::Auto);
        assert_eq!(mode(" old_unicast_checksum\n"), U::Old);
        assert_eq!(mode(" old_unicast_checksum never\n"), U::Never);
        // keepalived 2.2.7: "Unknown old_unicast_chksum mode NEVER - ignoring".
        assert_eq!(mode(" old_unicast_checksum NEVER\n"), U::Auto);
    }

    #[test]
    fn per_instance_v3_checksum_as_v2_overrides_the_global() {
        let inst = |name: &str, vrid: u8, extra: &str| {
            format!(
                "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n version 3\n{extra}\
                 virtual_ipaddress {{\n 198.18.0.{vrid}\n }}\n}}\n"
            )
        };
        let text = format!(
            "global_defs {{\n v3_checksum_as_v2\n}}\n{}{}",
            inst("A", 1, " v3_checksum_as_v2 false\n"),
            inst("B", 2, "")
        );
        let s = spec(&text, &[]);
        assert!(!s.instances[0].vrrp.v3_checksum_as_v2);
        assert!(s.instances[1].vrrp.v3_checksum_as_v2);
        let s = spec(&inst("C", 3, " v3_checksum_as_v2\n"), &[]);
        assert!(s.instances[0].vrrp.v3_checksum_as_v2);
    }

    #[test]
    fn unicast_fault_no_peer_without_peers_holds_the_instance_in_fault() {
        let inst = |peers: &str| {
            format!(
                "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n\
                 unicast_src_ip 198.18.0.1\n unicast_fault_no_peer\n unicast_peer {{\n{peers} }}\n\
                 virtual_ipaddress {{\n 198.18.0.100\n }}\n}}\n"
            )
        };
        let s = spec(&inst(""), &[]);
        let i = &s.instances[0];
        assert!(i.fault_no_peer);
        let t = i.vrrp.trackers.last().unwrap();
        assert_eq!(
            (t.name.as_str(), t.weight),
            (crate::spec::NO_UNICAST_PEER, 0)
        );
        // The state machine takes a weight-0 tracker that is down as FAULT.
        let mut m = vrrp::Instance::new(i.vrrp.clone()).unwrap();
        let d = Duration::ZERO;
        let _ = m.handle(
            d,
            vrrp::Event::TrackerChanged {
                name: t.name.clone(),
                up: false,
            },
        );
        let _ = m.handle(d, vrrp::Event::Start);
        assert_eq!(m.state(), vrrp::State::Fault);
        let s = spec(&inst(" 198.18.0.2\n"), &[]);
        assert!(!s.instances[0].fault_no_peer);
        assert!(s.instances[0].vrrp.trackers.is_empty());
    }

    #[test]
    fn ipv6_instance_is_v3_on_ff02_12() {
        let s = spec(
            "vrrp_instance V6 {\n interface eth0\n virtual_router_id 7\n\
             virtual_ipaddress {\n 2001:2::100/64\n }\n}\n",
            &[],
        );
        let i = &s.instances[0];
        assert!(i.is_v6());
        assert_eq!(i.vrrp.version, vrrp::Version::V3);
        assert_eq!(
            i.vrrp.multicast_group,
            "ff02::12".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn promote_secondaries_names_the_configured_interface_also_with_a_vmac() {
        let inst = |extra: &str| {
            format!(
                "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n{extra}\
                 virtual_ipaddress {{\n 198.18.0.100\n }}\n}}\n"
            )
        };
        let s = spec(&inst(" promote_secondaries\n use_vmac\n"), &[]);
        assert_eq!(s.instances[0].promote_secondaries.as_deref(), Some("eth0"));
        let s = spec(&inst(""), &[]);
        assert_eq!(s.instances[0].promote_secondaries, None);
    }

    #[test]
    fn a_track_groups_instances_track_its_static_interfaces_and_rules_keep_their_iif() {
        let s = spec(
            "track_group TG {\n group {\n VI_1\n }\n}\n\
             static_routes {\n 198.18.7.0/24 via 198.18.5.254 dev eth1 track_group TG\n}\n\
             static_rules {\n from 198.18.5.0/24 iif eth2 table 100 priority 100 track_group TG\n}\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n\
             vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n 198.18.0.2\n }\n}\n",
            &[],
        );
        let tracked = |i: usize| s.instances[i].tracked_interfaces().collect::<Vec<_>>();
        assert_eq!(tracked(0), ["eth1", "eth2"]);
        assert!(tracked(1).is_empty());
        assert_eq!(s.statics.rules[0].iif.as_deref(), Some("eth2"));
    }
}
