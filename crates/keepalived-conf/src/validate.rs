//! The whole-configuration checks keepalived makes once parsing is done
//! (`vrrp_complete_instance`, sync-group resolution, duplicate VRIDs), turning drafts into
//! the final model with global defaults applied.

use crate::diag::{Diagnostic, ExitClass, Severity};
use crate::model::{Authentication, Config, Family, InitialState, Instance, TrackInterface};
use crate::origin::Origins;
use crate::parser::InstanceDraft;
use std::time::Duration;

mod across_instances;
use across_instances::{duplicate_vrids, group_priority_notifications, sync_groups, track_groups};

struct Ctx<'d> {
    diags: &'d mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn push(&mut self, d: &InstanceDraft, line: Option<u32>, sev: Severity, msg: String) {
        self.diags.push(Diagnostic {
            severity: sev,
            class: ExitClass::ConfigError,
            file: d.file.clone(),
            line: line.unwrap_or(d.line),
            column: 0,
            keyword: "vrrp_instance".into(),
            message: msg,
        });
    }
    /// A warning keepalived's `-t` does not count.
    fn note(&mut self, d: &InstanceDraft, msg: String) {
        self.diags.push(Diagnostic {
            severity: Severity::Warning,
            class: ExitClass::None,
            file: d.file.clone(),
            line: d.line,
            column: 0,
            keyword: "vrrp_instance".into(),
            message: msg,
        });
    }

    fn error(&mut self, d: &InstanceDraft, msg: String) {
        self.push(d, None, Severity::Error, msg);
    }
}

/// Applies defaults and checks to every instance draft, then resolves sync groups.
pub(crate) fn complete(
    cfg: &mut Config,
    drafts: Vec<InstanceDraft>,
    origins: &Origins,
    diags: &mut Vec<Diagnostic>,
) {
    let mut cx = Ctx { diags };
    for d in drafts {
        if let Some(i) = complete_instance(cfg, d, &mut cx) {
            cfg.instances.push(i);
        }
    }
    duplicate_vrids(cfg, origins, cx.diags);
    sync_groups(cfg, origins, cx.diags);
    track_groups(cfg, origins, cx.diags);
    group_priority_notifications(cfg);
}

/// What the election settings settle to once defaults and the cross-checks are applied.
struct Election {
    family: Family,
    vips: Vec<crate::model::VirtualAddress>,
    version: u8,
    strict: bool,
    advert_int: Duration,
    priority: u8,
    state: Option<InitialState>,
    authentication: Option<Authentication>,
    preempt_delay: Duration,
}

fn complete_instance(cfg: &Config, mut d: InstanceDraft, cx: &mut Ctx<'_>) -> Option<Instance> {
    let name = d.name.clone();
    let Some(vrid) = d.vrid else {
        cx.error(&d, format!("({name}) the virtual router id must be set"));
        return None;
    };
    // keepalived 2.2.7 requires an interface even for unicast with unicast_src_ip.
    if d.interface.is_none() {
        cx.error(
            &d,
            format!("({name}) Unknown interface! (`interface` is required)"),
        );
        return None;
    }
    let e = election(cfg, &mut d, cx);
    addressing_checks(&mut d, &e, cx);
    dedup_trackers(&mut d, cx);
    let mut track_interface = own_interface_dropped(&mut d, cx);
    if e.priority == 255 {
        owner_trackers(cfg, &mut d, &mut track_interface, cx);
    }
    if e.strict && d.accept == Some(true) && e.version == 2 {
        cx.error(
            &d,
            format!("({name}) Strict mode requires no_accept for VRRPv2"),
        );
    }
    if e.strict {
        strict_resets(cfg, &mut d, cx);
    }
    Some(build(cfg, d, e, vrid, track_interface))
}

/// The per-instance settings strict mode forbids: reset, each with keepalived's error.
fn strict_resets(cfg: &Config, d: &mut InstanceDraft, cx: &mut Ctx<'_>) {
    let g = &cfg.global_defs;
    let name = d.name.clone();
    if d.down_timer_adverts.unwrap_or(g.vrrp_down_timer_adverts) != 3 {
        cx.error(
            d,
            format!("({name}) down_timer_adverts is incompatible with strict mode - resetting"),
        );
        d.down_timer_adverts = Some(3);
    }
    if d.higher_prio_send_advert
        .unwrap_or(g.vrrp_higher_prio_send_advert)
    {
        cx.error(
            d,
            format!("({name}) strict mode requires higher_prio_send_advert to be clear. resetting"),
        );
        d.higher_prio_send_advert = Some(false);
    }
    if d.vmac_xmit_base {
        cx.error(
            d,
            format!("({name}) xmit_base is incompatible with strict mode - resetting"),
        );
        d.vmac_xmit_base = false;
    }
}

/// Family, version, advert interval, priority, state, authentication and preemption.
fn election(cfg: &Config, d: &mut InstanceDraft, cx: &mut Ctx<'_>) -> Election {
    let g = &cfg.global_defs;
    let (family, vips) = family_and_vips(d, cx);
    let (version, advert_int) = version_and_interval(d, g.vrrp_version, family, cx);
    let strict = d.strict_mode.unwrap_or(g.vrrp_strict);
    let name = d.name.clone();
    let priority = match (d.priority, d.state) {
        (Some(p), _) => p,
        (None, Some(InitialState::Master)) => 255,
        (None, _) => 100,
    };
    let mut state = d.state;
    if priority == 255 && state.is_none() {
        state = Some(InitialState::Master);
    }
    if strict && (state == Some(InitialState::Master)) != (priority == 255) {
        cx.error(
            d,
            format!("({name}) State MASTER must match being address owner"),
        );
        if priority != 255 {
            state = Some(InitialState::Backup);
        }
    }
    let mut e = Election {
        family,
        vips,
        version,
        strict,
        advert_int,
        priority,
        state,
        authentication: None,
        preempt_delay: Duration::ZERO,
    };
    e.authentication = authentication(d, &mut e, cx);
    preemption(d, &mut e, cx);
    e
}

/// The first VIP decides the family (`native_ipv6` forces IPv6); the others must match.
fn family_and_vips(
    d: &mut InstanceDraft,
    cx: &mut Ctx<'_>,
) -> (Family, Vec<crate::model::VirtualAddress>) {
    let name = d.name.clone();
    // keepalived: the first address written decides (native_ipv6 forces IPv6).
    let family = if d.native_ipv6 || d.first_family_v6 == Some(true) {
        Family::V6
    } else {
        Family::V4
    };
    other_family_addresses(d, family, cx);
    let mut vips = Vec::new();
    for (a, l) in std::mem::take(&mut d.vips) {
        if a.addr.is_ipv6() != (family == Family::V6) {
            cx.push(
                d,
                Some(l),
                Severity::Error,
                format!(
                    "({name}): address family must match VRRP instance [{}/{}] - ignoring",
                    a.addr, a.prefix_len
                ),
            );
        } else {
            vips.push(a);
        }
    }
    (family, vips)
}

/// Unicast peers and source or multicast addresses of the other family are dropped with an
/// error, as keepalived drops them (the instance cannot use them).
fn other_family_addresses(d: &mut InstanceDraft, family: Family, cx: &mut Ctx<'_>) {
    let v6 = family == Family::V6;
    let name = d.name.clone();
    let peers = std::mem::take(&mut d.unicast_peer);
    let lines = std::mem::take(&mut d.unicast_peer_lines);
    for (peer, line) in peers.into_iter().zip(lines) {
        if peer.addr.is_ipv6() == v6 {
            d.unicast_peer.push(peer);
            d.unicast_peer_lines.push(line);
        } else {
            let msg = format!(
                "Configuration error: VRRP instance[{name}] and unicast peer address[{}] MUST be of the same family !!! Skipping...",
                peer.addr
            );
            cx.push(d, Some(line), Severity::Error, msg);
        }
    }
    let lines = d.address_lines;
    for (slot, line) in lines.into_iter().enumerate() {
        let a = match slot {
            0 => &mut d.unicast_src_ip,
            1 => &mut d.mcast_src_ip,
            _ => &mut d.mcast_dst_ip,
        };
        if let Some(addr) = a.take_if(|a| a.is_ipv6() != v6) {
            let msg =
                format!("({name}): address family must match VRRP instance [{addr}] - ignoring");
            cx.push(d, Some(line), Severity::Error, msg);
        }
    }
}

/// IPv6 runs VRRPv3; a v2 interval is whole seconds, a v3 one centiseconds (both rounded).
fn version_and_interval(
    d: &InstanceDraft,
    global_version: u8,
    family: Family,
    cx: &mut Ctx<'_>,
) -> (u8, Duration) {
    let name = &d.name;
    let mut version = d.version.unwrap_or(global_version);
    if family == Family::V6 && version == 2 {
        if d.version == Some(2) {
            // keepalived 2.2.7 switches silently (-t class 0).
            cx.note(
                d,
                format!("({name}) IPv6 needs VRRP version 3; `version 2` ignored"),
            );
        }
        version = 3;
    }
    let mut advert_int = d.advert_int.unwrap_or(Duration::from_secs(1));
    if version == 2 && advert_int.subsec_micros() != 0 {
        let rounded = Duration::from_secs(advert_int.as_secs_f64().round().max(1.0) as u64);
        cx.error(
            d,
            format!(
                "({name}) VRRPv2 advertisement interval {}s must be an integer. rounding to {}s",
                advert_int.as_secs_f64(),
                rounded.as_secs()
            ),
        );
        advert_int = rounded;
    } else if version == 3 {
        let cs = (advert_int.as_micros().div_ceil(10_000) as u64).min(4095);
        let rounded = Duration::from_millis(cs * 10);
        if rounded != advert_int {
            cx.error(
                d,
                format!(
                    "({name}) VRRPv3 advertisement interval {}s rounded to {}s",
                    advert_int.as_secs_f64(),
                    rounded.as_secs_f64()
                ),
            );
            advert_int = rounded;
        }
    }
    (version, advert_int)
}

/// Authentication: v2 only, not in strict mode; AH and a non-owner MASTER do not mix.
fn authentication(d: &InstanceDraft, e: &mut Election, cx: &mut Ctx<'_>) -> Option<Authentication> {
    let name = &d.name;
    let auth = match (&d.auth_type, &d.auth_pass) {
        (Some(_), None) => {
            cx.error(
                d,
                format!("({name}) Authentication specified but no password given. Ignoring"),
            );
            return None;
        }
        (Some(t), Some(pass)) if t == "AH" => Authentication::Ah(pass.clone()),
        (Some(_), Some(pass)) => Authentication::Pass(pass.clone()),
        (None, _) => return None,
    };
    if e.version == 3 {
        cx.error(
            d,
            format!("({name}) VRRP version 3 does not support authentication. Ignoring."),
        );
        return None;
    }
    if e.strict {
        cx.error(
            d,
            format!("({name}) Strict mode does not support authentication. Ignoring."),
        );
        return None;
    }
    if matches!(auth, Authentication::Ah(_)) {
        if e.family == Family::V6 {
            cx.error(
                d,
                format!("({name}) AH authentication is IPv4 only - ignored"),
            );
            return None;
        }
        if e.state == Some(InitialState::Master) && e.priority != 255 {
            cx.error(d, format!("({name}) Initial state master is incompatible with AH authentication - clearing"));
            e.state = Some(InitialState::Backup);
        }
    }
    Some(auth)
}

/// `nopreempt` and `preempt_delay` against state MASTER, address owner and strict mode.
fn preemption(d: &mut InstanceDraft, e: &mut Election, cx: &mut Ctx<'_>) {
    let name = d.name.clone();
    let owner = e.priority == 255;
    if d.nopreempt && (e.state == Some(InitialState::Master) || owner) {
        cx.error(d, format!("({name}) nopreempt is incompatible with initial state MASTER or address owner - clearing"));
        d.nopreempt = false;
    }
    let delay = d.preempt_delay.unwrap_or_default();
    if !delay.is_zero() && (d.nopreempt || e.strict || e.state == Some(InitialState::Master)) {
        cx.error(d, format!("({name}) preempt_delay is incompatible with nopreempt, state MASTER or strict mode - clearing"));
    } else {
        e.preempt_delay = delay;
    }
}

/// VIP presence and the unicast keywords' consistency.
fn addressing_checks(d: &mut InstanceDraft, e: &Election, cx: &mut Ctx<'_>) {
    if d.use_vmac.is_some() && !d.unicast_peer.is_empty() && !d.vmac_xmit_base {
        let msg = format!(
            "({}) unicast with use_vmac requires vmac_xmit_base - setting",
            d.name
        );
        cx.push(d, Some(d.use_vmac_line), Severity::Error, msg);
        d.vmac_xmit_base = true;
    }
    let name = &d.name;
    if e.vips.is_empty() && !d.no_virtual_ipaddress {
        if e.version == 3 || e.strict {
            cx.error(
                d,
                format!("({name}) No VIP specified; VRRPv3 and strict mode require at least one"),
            );
        } else {
            cx.push(
                d,
                None,
                Severity::Warning,
                format!("({name}) No VIP specified; at least one is sensible"),
            );
        }
    }
    if e.strict && !d.unicast_peer.is_empty() {
        // keepalived 2.2.7 -t accepts this (class 0, issue #2645); say it anyway.
        cx.note(
            d,
            format!("({name}) unicast peers with strict mode: RFC strict mode is multicast only"),
        );
    }
    // With unicast_fault_no_peer keepalived 2.2.7 keeps unicast and holds the instance in
    // FAULT instead (`-t` class 0).
    if d.unicast_peer.is_empty()
        && !d.unicast_fault_no_peer
        && (d.unicast_src_ip.is_some() || d.unicast_ttl.is_some() || d.unicast_peer_block)
    {
        cx.error(d, format!(
            "({name}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast."
        ));
    }
}

/// The instance's own interface in `track_interface` is dropped (keepalived does the same).
fn own_interface_dropped(d: &mut InstanceDraft, cx: &mut Ctx<'_>) -> Vec<TrackInterface> {
    let own = d.interface.clone();
    let mut kept = Vec::new();
    for t in std::mem::take(&mut d.track_interface) {
        if own.as_deref() == Some(t.name.as_str()) {
            let msg = format!(
                "({}) Ignoring track_interface {} since own interface",
                d.name, t.name
            );
            cx.error(d, msg);
        } else {
            kept.push(t);
        }
    }
    kept
}

/// An address owner's priority cannot move, so its weighted trackers go as keepalived 2.2.7
/// drops them: weighted scripts and interfaces and files with a written weight are removed;
/// a file with the default weight keeps tracking with weight 0 (a non-zero value is FAULT);
/// process trackers stay, their weights having no effect on priority 255.
fn owner_trackers(
    cfg: &Config,
    d: &mut InstanceDraft,
    ifs: &mut Vec<TrackInterface>,
    cx: &mut Ctx<'_>,
) {
    let name = d.name.clone();
    let mut msgs = Vec::new();
    ifs.retain(|t| {
        let keep = t.weight == 0;
        if !keep {
            msgs.push(format!(
                "({name}) ignoring {} tracked interface due to address owner",
                t.name
            ));
        }
        keep
    });
    d.track_script.retain(|t| {
        let weight = t
            .weight
            .or_else(|| cfg.scripts.get(&t.name).map(|s| s.weight))
            .unwrap_or(0);
        if weight != 0 {
            msgs.push(format!(
                "({name}) ignoring tracked script {} with weights due to address_owner",
                t.name
            ));
        }
        weight == 0
    });
    d.track_file.retain_mut(|t| {
        // The weight in force, and whether it was written (here or in the file's block).
        let (weight, written) = match t.weight {
            Some(w) => (w, true),
            None => cfg
                .track_files
                .get(&t.name)
                .map_or((0, false), |f| (f.weight, f.weight_written)),
        };
        if weight == 0 {
            return true;
        }
        if written {
            msgs.push(format!(
                "({name}) ignoring tracked file {} with weight {weight} due to address_owner",
                t.name
            ));
            return false;
        }
        msgs.push(format!(
            "({name}) ignoring weight from tracked file {} due to address_owner. specify weight 0",
            t.name
        ));
        t.weight = Some(0);
        true
    });
    for msg in msgs {
        cx.error(d, msg);
    }
}

/// The final instance: the draft's values, else the global defaults, else keepalived's.
fn build(
    cfg: &Config,
    d: InstanceDraft,
    e: Election,
    vrid: u8,
    track_interface: Vec<TrackInterface>,
) -> Instance {
    let g = &cfg.global_defs;
    let strict = e.strict;
    let owner = e.priority == 255;
    let min_garp = MinGarp::from_globals(g);
    Instance {
        name: d.name,
        state: e.state,
        interface: d.interface,
        virtual_router_id: vrid,
        priority: e.priority,
        advert_int: e.advert_int,
        version: e.version,
        family: e.family,
        nopreempt: d.nopreempt,
        preempt_delay: e.preempt_delay,
        authentication: e.authentication,
        virtual_ipaddress: e.vips,
        virtual_ipaddress_excluded: d.vips_excluded,
        virtual_routes: d.routes,
        virtual_rules: d.rules,
        track_interface,
        track_script: d.track_script,
        track_file: d.track_file,
        track_process: d.track_process,
        dont_track_primary: d.dont_track_primary,
        unicast_src_ip: d.unicast_src_ip,
        unicast_peer: d.unicast_peer,
        unicast_ttl: d.unicast_ttl.unwrap_or(255),
        kernel_rx_buf_size: d.kernel_rx_buf_size,
        unicast_fault_no_peer: d.unicast_fault_no_peer,
        check_unicast_src: d.check_unicast_src || g.vrrp_check_unicast_src,
        mcast_src_ip: d.mcast_src_ip,
        mcast_dst_ip: d.mcast_dst_ip,
        track_src_ip: d.track_src_ip,
        garp_master_delay: d.garp_master_delay.unwrap_or(min_garp.delay),
        garp_master_repeat: d.garp_master_repeat.unwrap_or(min_garp.repeat),
        garp_master_refresh: d.garp_master_refresh.unwrap_or(g.vrrp_garp_master_refresh),
        garp_master_refresh_repeat: d
            .garp_master_refresh_repeat
            .unwrap_or(g.vrrp_garp_master_refresh_repeat),
        garp_lower_prio_delay: d
            .garp_lower_prio_delay
            .or(g.vrrp_garp_lower_prio_delay)
            .unwrap_or(g.vrrp_garp_master_delay),
        garp_lower_prio_repeat: d
            .garp_lower_prio_repeat
            .or(g.vrrp_garp_lower_prio_repeat)
            .unwrap_or(g.vrrp_garp_master_repeat),
        garp_extra_if: d
            .garp_extra_if
            .or(g.vrrp_garp_extra_if)
            .filter(|x| !x.interval.is_zero()),
        lower_prio_no_advert: d
            .lower_prio_no_advert
            .or(g.vrrp_lower_prio_no_advert)
            .unwrap_or(strict),
        higher_prio_send_advert: d
            .higher_prio_send_advert
            .unwrap_or(g.vrrp_higher_prio_send_advert),
        owner_ignore_adverts: d
            .owner_ignore_adverts
            .or(g.vrrp_owner_ignore_adverts)
            .unwrap_or(strict),
        down_timer_adverts: d.down_timer_adverts.unwrap_or(g.vrrp_down_timer_adverts),
        smtp_alert: d
            .smtp_alert
            .or(g.smtp_alert_vrrp)
            .or(g.smtp_alert)
            .unwrap_or(false),
        notify: d.notify,
        notify_priority_changes: d
            .notify_priority_changes
            .unwrap_or(g.vrrp_notify_priority_changes),
        use_vmac: d.use_vmac,
        use_vmac_addr: d.use_vmac_addr,
        vmac_xmit_base: d.vmac_xmit_base,
        accept: d.accept.unwrap_or(!strict || owner),
        strict_mode: strict,
        skip_check_adv_addr: d.skip_check_adv_addr.unwrap_or(g.vrrp_skip_check_adv_addr),
        no_virtual_ipaddress: d.no_virtual_ipaddress,
        promote_secondaries: d.promote_secondaries,
        v3_checksum_as_v2: d.v3_checksum_as_v2.unwrap_or(g.v3_checksum_as_v2),
        old_unicast_checksum: d.old_unicast_checksum,
        timer_expired_backup: d.timer_expired_backup,
        sync_group: None,
    }
}

/// The global GARP defaults after `vrrp_min_garp` (one GARP, no second burst): it only
/// changes values still at keepalived's defaults.
struct MinGarp {
    delay: Duration,
    repeat: u32,
}

impl MinGarp {
    fn from_globals(g: &crate::model::GlobalDefs) -> Self {
        let mut m = MinGarp {
            delay: g.vrrp_garp_master_delay,
            repeat: g.vrrp_garp_master_repeat,
        };
        if g.vrrp_min_garp {
            if m.delay == Duration::from_secs(5) {
                m.delay = Duration::ZERO;
            }
            if m.repeat == 5 {
                m.repeat = 1;
            }
        }
        m
    }
}

/// A tracker listed twice in one instance: keepalived keeps the first and reports the rest.
fn dedup_trackers(d: &mut InstanceDraft, cx: &mut Ctx<'_>) {
    let name = d.name.clone();
    let mut seen = std::collections::HashSet::new();
    let mut dups = Vec::new();
    d.track_interface.retain(|t| {
        seen.insert(t.name.clone()) || {
            dups.push(format!("track_interface {}", t.name));
            false
        }
    });
    seen.clear();
    d.track_script.retain(|t| {
        seen.insert(t.name.clone()) || {
            dups.push(format!("track_script {}", t.name));
            false
        }
    });
    seen.clear();
    d.track_file.retain(|t| {
        seen.insert(t.name.clone()) || {
            dups.push(format!("track_file {}", t.name));
            false
        }
    });
    seen.clear();
    d.track_process.retain(|t| {
        seen.insert(t.name.clone()) || {
            dups.push(format!("track_process {}", t.name));
            false
        }
    });
    for what in dups {
        cx.error(d, format!("({name}) duplicate {what} - ignoring"));
    }
}
