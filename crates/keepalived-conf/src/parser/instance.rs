//! `vrrp_instance NAME { }`: the instance draft and its keyword handlers, by group.

use super::addresses::{route, rule, vip};
use super::blocks::notify_keyword;
use super::global::{count, deprecated_alias, garp_extra_if, seconds};
use super::trackers::{Trackers, tracker_keyword};
use super::values::{parse_int, parse_prefix};
use super::{PResult, Parser, flag};
use crate::diag::{ExitClass, Severity};
use crate::keywords::Block;
use crate::model::{
    InitialState, Notify, Route, Rule, TrackInterface, TrackRef, UnicastPeer, VirtualAddress, Vmac,
};
use crate::origin::{At, InterfaceKind, InterfaceUse};
use crate::reader::Line;
use std::net::IpAddr;
use std::time::Duration;

/// An instance as written; [`crate::validate`] applies defaults and the final checks.
#[derive(Debug, Clone, Default)]
pub(crate) struct InstanceDraft {
    pub name: String,
    pub file: std::sync::Arc<str>,
    pub line: u32,
    pub state: Option<InitialState>,
    pub interface: Option<String>,
    pub vrid: Option<u8>,
    pub priority: Option<u8>,
    pub advert_int: Option<Duration>,
    pub version: Option<u8>,
    pub native_ipv6: bool,
    pub nopreempt: bool,
    pub preempt_delay: Option<Duration>,
    pub auth_type: Option<String>,
    pub auth_pass: Option<String>,
    /// Each VIP with the line it was written on.
    pub vips: Vec<(VirtualAddress, u32)>,
    pub vips_excluded: Vec<VirtualAddress>,
    pub routes: Vec<Route>,
    pub rules: Vec<Rule>,
    pub track_interface: Vec<TrackInterface>,
    pub track_script: Vec<TrackRef>,
    pub track_file: Vec<TrackRef>,
    pub track_process: Vec<TrackRef>,
    pub dont_track_primary: bool,
    pub unicast_src_ip: Option<IpAddr>,
    /// The family of the first address written (unicast or multicast source or destination,
    /// a peer, a VIP): keepalived gives the instance that family, and refuses the others.
    pub first_family_v6: Option<bool>,
    /// Lines of `unicast_src_ip`, `mcast_src_ip` and `mcast_dst_ip` (0 when absent).
    pub address_lines: [u32; 3],
    /// Line of each unicast peer, in `unicast_peer`'s order.
    pub unicast_peer_lines: Vec<u32>,
    /// `unicast_peer` was written (even empty: keepalived then says "without any peers").
    pub unicast_peer_block: bool,
    /// Line of `use_vmac`.
    pub use_vmac_line: u32,
    pub unicast_peer: Vec<UnicastPeer>,
    pub unicast_ttl: Option<u8>,
    pub kernel_rx_buf_size: u32,
    pub unicast_fault_no_peer: bool,
    pub check_unicast_src: bool,
    pub mcast_src_ip: Option<IpAddr>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub track_src_ip: bool,
    pub garp_master_delay: Option<Duration>,
    pub garp_master_repeat: Option<u32>,
    pub garp_master_refresh: Option<Duration>,
    pub garp_master_refresh_repeat: Option<u32>,
    pub garp_lower_prio_delay: Option<Duration>,
    pub garp_lower_prio_repeat: Option<u32>,
    /// `garp_extra_if`; an interval of 0 turns off the global default.
    pub garp_extra_if: Option<crate::model::GarpExtraIf>,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub owner_ignore_adverts: Option<bool>,
    pub down_timer_adverts: Option<u32>,
    pub timer_expired_backup: Option<u8>,
    pub smtp_alert: Option<bool>,
    pub notify: Notify,
    pub notify_priority_changes: Option<bool>,
    pub use_vmac: Option<Vmac>,
    pub use_vmac_addr: bool,
    pub vmac_xmit_base: bool,
    pub accept: Option<bool>,
    pub strict_mode: Option<bool>,
    pub skip_check_adv_addr: Option<bool>,
    pub v3_checksum_as_v2: Option<bool>,
    pub old_unicast_checksum: crate::model::OldUnicastChecksum,
    pub no_virtual_ipaddress: bool,
    pub promote_secondaries: bool,
}

impl InstanceDraft {
    /// Records the line of address `slot` (see `address_lines`) and the family it implies.
    fn noted_address(&mut self, a: Option<IpAddr>, slot: usize, line: u32) {
        if let Some(a) = a {
            self.first_family_v6.get_or_insert(a.is_ipv6());
            self.address_lines[slot] = line;
        }
    }
}

fn addr_word(p: &mut Parser<'_>, l: &Line, i: usize) -> PResult<Option<IpAddr>> {
    let w = p.arg(l, i)?;
    match w.text.parse::<IpAddr>() {
        Ok(a) => Ok(Some(a)),
        Err(_) => {
            p.error(
                l,
                i,
                format!(
                    "{} '{}' is not a valid IP address - ignored",
                    l.words[0].text, w.text
                ),
            );
            Ok(None)
        }
    }
}

pub(super) fn instance<'a>(p: &mut Parser<'a>, l: &'a Line) -> PResult<()> {
    let Some(name) = l.words.get(1).map(|w| w.text.clone()) else {
        p.error(
            l,
            0,
            "vrrp_instance must have a name - block skipped".into(),
        );
        p.skip_block_if_any();
        return Ok(());
    };
    if p.draft.instance_names.contains(&name) {
        p.error(
            l,
            1,
            format!("vrrp instance {name} already defined - block skipped"),
        );
        p.skip_block_if_any();
        return Ok(());
    }
    if !p.open_block(l) {
        return Ok(());
    }
    let mut d = InstanceDraft {
        name,
        file: l.file.clone(),
        line: l.line,
        ..InstanceDraft::default()
    };
    p.each_in_block(l, |p, e| keyword(p, e, &mut d))?;
    p.draft.instance_names.insert(d.name.clone());
    p.draft.instances.push(d);
    Ok(())
}

/// One line of the instance block: each group of keywords has its handler.
fn keyword<'a>(p: &mut Parser<'a>, e: &'a Line, d: &mut InstanceDraft) -> PResult<()> {
    p.keyword_status(Block::Instance, e);
    if notify_keyword(p, e, &mut d.notify)? {
        return Ok(());
    }
    let handled = election(p, e, d)?
        || lists(p, e, d)?
        || addressing(p, e, d)?
        || garp_and_adverts(p, e, d)?
        || modes(p, e, d)?;
    if !handled {
        p.other_keyword(Block::Instance, e);
    }
    Ok(())
}

/// Who wins the election: state, interface, VRID, priority, timers, preemption, authentication.
fn election<'a>(p: &mut Parser<'a>, e: &'a Line, d: &mut InstanceDraft) -> PResult<bool> {
    match e.words[0].text.as_str() {
        "state" => {
            let w = p.arg(e, 1)?;
            match w.text.as_str() {
                "MASTER" => d.state = Some(InitialState::Master),
                "BACKUP" => {
                    if d.state == Some(InitialState::Master) {
                        p.error(e, 1, "state BACKUP after state MASTER - ignored".into());
                    } else {
                        d.state = Some(InitialState::Backup);
                    }
                }
                other => {
                    p.error(
                        e,
                        1,
                        format!("({}) unknown state '{other}', defaulting to BACKUP", d.name),
                    );
                    d.state = Some(InitialState::Backup);
                }
            }
        }
        "interface" => {
            let w = p.arg(e, 1)?;
            if w.text.len() >= 16 {
                p.error(
                    e,
                    1,
                    format!(
                        "interface name '{}' is longer than 15 characters - ignored",
                        w.text
                    ),
                );
            } else if w.text == "lo" {
                p.error(
                    e,
                    1,
                    "cannot use the loopback interface for VRRP - ignored".into(),
                );
            } else {
                d.interface = Some(w.text.clone());
                p.draft.origins.interfaces.push(InterfaceUse {
                    ifname: w.text.clone(),
                    instance: d.name.clone(),
                    subject: format!("vrrp_instance {}", d.name),
                    at: At::of(e),
                    kind: InterfaceKind::Runs,
                });
            }
        }
        "virtual_router_id" => {
            let w = p.arg(e, 1)?;
            match parse_int(&w.text, 1, 255) {
                Some(v) => {
                    d.vrid = Some(v as u8);
                    let at = crate::origin::At::of(e);
                    p.draft.origins.vrid.insert(d.name.clone(), at);
                }
                None => p.error(
                    e,
                    1,
                    format!(
                        "({}): VRID '{}' not valid - must be between 1 & 255",
                        d.name, w.text
                    ),
                ),
            }
        }
        "priority" => {
            let w = p.arg(e, 1)?;
            match parse_int(&w.text, 1, 255) {
                Some(v) => d.priority = Some(v as u8),
                None => {
                    p.error(e, 1, format!("({}) Priority '{}' not valid! must be between 1 & 255. Using default 100", d.name, w.text));
                    d.priority = Some(100);
                }
            }
        }
        "advert_int" => {
            if let Some(v) = seconds(p, e, 1, Duration::from_millis(10), Duration::from_secs(255))?
            {
                d.advert_int = Some(v);
            }
        }
        "version" => {
            if let Some(v) = count(p, e, 1, 2, 3)? {
                d.version = Some(v as u8);
            }
        }
        "native_ipv6" => d.native_ipv6 = true,
        "nopreempt" => d.nopreempt = true,
        "preempt" => d.nopreempt = false,
        "preempt_delay" => {
            if let Some(v) = seconds(p, e, 1, Duration::ZERO, Duration::from_secs(1000))? {
                d.preempt_delay = Some(v);
            }
        }
        "authentication" => authentication(p, e, d)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// What the instance holds and watches: addresses, routes, rules and trackers.
/// Records a VIP's `dev` for the host check that the interface exists.
fn note_vip_dev(p: &mut Parser<'_>, v: &Line, d: &InstanceDraft, a: &VirtualAddress) {
    if let Some(dev) = &a.dev {
        p.draft.origins.interfaces.push(InterfaceUse {
            ifname: dev.clone(),
            instance: d.name.clone(),
            subject: format!("ip address {}", v.words[0].text),
            at: At::of(v),
            kind: InterfaceKind::Runs,
        });
    }
}

fn lists<'a>(p: &mut Parser<'a>, e: &'a Line, d: &mut InstanceDraft) -> PResult<bool> {
    let lists = Trackers {
        interfaces: &mut d.track_interface,
        scripts: &mut d.track_script,
        files: &mut d.track_file,
        processes: &mut d.track_process,
    };
    let before = p.draft.origins.interfaces.len();
    if tracker_keyword(p, e, lists)? {
        // The tracked interfaces just recorded belong to this instance.
        for u in &mut p.draft.origins.interfaces[before..] {
            u.instance = d.name.clone();
        }
        return Ok(true);
    }
    match e.words[0].text.as_str() {
        "virtual_ipaddress" => {
            for v in p.value_block(e) {
                if let Some(a) = vip(p, v, false)? {
                    note_vip_dev(p, v, d, &a);
                    d.first_family_v6.get_or_insert(a.addr.is_ipv6());
                    d.vips.push((a, v.line));
                }
            }
        }
        "virtual_ipaddress_excluded" => {
            for v in p.value_block(e) {
                if let Some(a) = vip(p, v, false)? {
                    note_vip_dev(p, v, d, &a);
                    d.vips_excluded.push(a);
                }
            }
        }
        "virtual_routes" => {
            for v in p.value_block(e) {
                if let Some(r) = route(p, v, true)? {
                    if let Some(dev) = &r.dev {
                        p.draft.origins.interfaces.push(InterfaceUse {
                            ifname: dev.clone(),
                            instance: d.name.clone(),
                            subject: "VROUTE nexthop".into(),
                            at: At::of(v),
                            kind: InterfaceKind::Item,
                        });
                    }
                    d.routes.push(r);
                }
            }
        }
        "virtual_rules" => {
            for v in p.value_block(e) {
                if let Some(r) = rule(p, v, false)? {
                    d.rules.push(r);
                }
            }
        }
        "dont_track_primary" => d.dont_track_primary = true,
        "track_bfd" => {
            // Not run by vrrpd (the table says so), but its names are checked as keepalived does.
            for v in p.value_block(e) {
                let bfd = &v.words[0].text;
                if !p.draft.bfd_names.contains(bfd) {
                    p.error(
                        v,
                        0,
                        format!("({}) track bfd {bfd} not found, ignoring...", d.name),
                    );
                }
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Where adverts go and come from: unicast peers, multicast group, source addresses.
fn addressing<'a>(p: &mut Parser<'a>, e: &'a Line, d: &mut InstanceDraft) -> PResult<bool> {
    match e.words[0].text.as_str() {
        "unicast_src_ip" => {
            d.unicast_src_ip = addr_word(p, e, 1)?;
            d.noted_address(d.unicast_src_ip, 0, e.line);
        }
        "unicast_peer" => unicast_peers(p, e, d)?,
        "unicast_ttl" => {
            if let Some(v) = count(p, e, 1, 0, 255)? {
                d.unicast_ttl = Some(v as u8);
            }
        }
        "kernel_rx_buf_size" => {
            match e
                .words
                .get(1)
                .and_then(|w| parse_int(&w.text, 0, i64::from(u32::MAX)))
            {
                Some(v) => d.kernel_rx_buf_size = v as u32,
                None => p.error(
                    e,
                    1,
                    format!("({}) invalid kernel_rx_buf_size specified", d.name),
                ),
            }
        }
        "unicast_fault_no_peer" => d.unicast_fault_no_peer = true,
        "check_unicast_src" => d.check_unicast_src = true,
        "mcast_src_ip" => {
            d.mcast_src_ip = addr_word(p, e, 1)?;
            d.noted_address(d.mcast_src_ip, 1, e.line);
        }
        "mcast_dst_ip" => {
            if let Some(a) = addr_word(p, e, 1)? {
                if a.is_multicast() {
                    d.mcast_dst_ip = Some(a);
                    d.noted_address(Some(a), 2, e.line);
                } else {
                    p.error(e, 1, format!("mcast_dst_ip {a} is not multicast - ignored"));
                }
            }
        }
        "track_src_ip" => d.track_src_ip = true,
        "use_vmac_addr" => d.use_vmac_addr = true,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Gratuitous ARP timing and the advert-answering rules.
fn garp_and_adverts<'a>(p: &mut Parser<'a>, e: &'a Line, d: &mut InstanceDraft) -> PResult<bool> {
    let secs = |v: u32| Duration::from_secs(u64::from(v));
    match e.words[0].text.as_str() {
        "garp_master_delay" => {
            d.garp_master_delay = count(p, e, 1, 0, i64::from(u32::MAX))?
                .map(secs)
                .or(d.garp_master_delay)
        }
        "garp_master_repeat" => {
            d.garp_master_repeat = count(p, e, 1, 1, i64::from(u32::MAX))?.or(d.garp_master_repeat)
        }
        "garp_master_refresh" => {
            d.garp_master_refresh = count(p, e, 1, 0, i64::from(u32::MAX))?
                .map(secs)
                .or(d.garp_master_refresh)
        }
        "garp_master_refresh_repeat" => {
            d.garp_master_refresh_repeat =
                count(p, e, 1, 1, i64::from(u32::MAX))?.or(d.garp_master_refresh_repeat)
        }
        "garp_lower_prio_delay" => {
            d.garp_lower_prio_delay = count(p, e, 1, 0, i64::from(u32::MAX))?
                .map(secs)
                .or(d.garp_lower_prio_delay)
        }
        "garp_lower_prio_repeat" => {
            d.garp_lower_prio_repeat =
                count(p, e, 1, 1, i64::from(u32::MAX))?.or(d.garp_lower_prio_repeat)
        }
        "garp_extra_if" | "vmac_garp_intvl" => {
            deprecated_alias(p, e, "vmac_garp_intvl", "garp_extra_if");
            let name = format!("({}): {}", d.name, e.words[0].text);
            d.garp_extra_if = garp_extra_if(p, e, &name, 0).or(d.garp_extra_if)
        }
        "lower_prio_no_advert" => d.lower_prio_no_advert = Some(flag(p, e)),
        "higher_prio_send_advert" => d.higher_prio_send_advert = Some(flag(p, e)),
        "owner_ignore_adverts" => d.owner_ignore_adverts = Some(flag(p, e)),
        "down_timer_adverts" => {
            d.down_timer_adverts = count(p, e, 1, 1, 100)?.or(d.down_timer_adverts)
        }
        "timer_expired_backup" | "thread_timer_expired" => {
            if p.soft_arg(e, 1, "timer_expired_backup needs a priority - ignored")
                .is_some()
            {
                d.timer_expired_backup = count(p, e, 1, 1, 254)?.map(|v| v as u8);
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Mail, VMAC, accept, strict mode and the other per-instance switches.
fn modes<'a>(p: &mut Parser<'a>, e: &'a Line, d: &mut InstanceDraft) -> PResult<bool> {
    match e.words[0].text.as_str() {
        "smtp_alert" => d.smtp_alert = Some(flag(p, e)),
        "notify_priority_changes" => d.notify_priority_changes = Some(flag(p, e)),
        "use_vmac" => {
            d.use_vmac = Some(use_vmac(p, e)?);
            d.use_vmac_line = e.line;
        }
        "vmac_xmit_base" => d.vmac_xmit_base = true,
        "accept" => d.accept = Some(true),
        "no_accept" => d.accept = Some(false),
        "strict_mode" => d.strict_mode = Some(flag(p, e)),
        // keepalived sets the flag even for `skip_check_adv_addr false` (reference b.5).
        "skip_check_adv_addr" => {
            flag(p, e);
            d.skip_check_adv_addr = Some(true);
        }
        "v3_checksum_as_v2" => d.v3_checksum_as_v2 = Some(flag(p, e)),
        "old_unicast_checksum" => old_unicast_checksum(p, e, d),
        "no_virtual_ipaddress" => d.no_virtual_ipaddress = true,
        "promote_secondaries" => d.promote_secondaries = true,
        "debug" => {
            p.arg(e, 1)?;
        }
        // Rejected by the keyword table (keepalived 2.2.7 reports it as deprecated).
        "lvs_sync_daemon_interface" => {}
        _ => return Ok(false),
    }
    Ok(true)
}

/// `authentication { auth_type PASS|AH  auth_pass SECRET }` (a secret over 8 bytes is cut).
fn authentication<'a>(p: &mut Parser<'a>, e: &'a Line, d: &mut InstanceDraft) -> PResult<()> {
    if p.open_block(e) {
        p.each_in_block(e, |p, a| {
            p.keyword_status(Block::Authentication, a);
            match a.words[0].text.as_str() {
                "auth_type" => {
                    let w = p.arg(a, 1)?;
                    if w.text == "PASS" || w.text == "AH" {
                        d.auth_type = Some(w.text.clone());
                    } else {
                        p.error(
                            a,
                            1,
                            format!("unknown auth_type '{}' - must be PASS or AH", w.text),
                        );
                    }
                }
                "auth_pass" => {
                    let w = p.arg(a, 1)?;
                    let mut pass = w.text.clone();
                    if pass.len() > 8 {
                        p.error(a, 1, "Truncating auth_pass to 8 characters".into());
                        let mut cut = 8;
                        while !pass.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        pass.truncate(cut);
                    }
                    d.auth_pass = Some(pass);
                }
                _ => p.other_keyword(Block::Authentication, a),
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// `unicast_peer { ADDR [min_ttl N] [max_ttl N] ... }`; a repeated address is dropped.
fn unicast_peers<'a>(p: &mut Parser<'a>, e: &'a Line, d: &mut InstanceDraft) -> PResult<()> {
    d.unicast_peer_block = true;
    for v in p.value_block(e) {
        let Some(pre) = parse_prefix(&v.words[0].text) else {
            p.error(
                v,
                0,
                format!(
                    "invalid unicast_peer address '{}' - ignored",
                    v.words[0].text
                ),
            );
            continue;
        };
        let mut peer = UnicastPeer {
            addr: pre.addr,
            min_ttl: None,
            max_ttl: None,
        };
        let mut i = 1;
        while i < v.words.len() {
            let opt = v.words[i].text.as_str();
            if opt == "min_ttl" || opt == "max_ttl" {
                let val = p.arg(v, i + 1)?;
                match parse_int(&val.text, 0, 255) {
                    Some(t) if opt == "min_ttl" => peer.min_ttl = Some(t as u8),
                    Some(t) => peer.max_ttl = Some(t as u8),
                    None => p.error(v, i + 1, format!("invalid {opt} '{}'", val.text)),
                }
                i += 2;
            } else {
                p.error(
                    v,
                    i,
                    format!("unknown unicast_peer option '{opt}' - ignored"),
                );
                i += 1;
            }
        }
        if d.unicast_peer.iter().any(|q| q.addr == peer.addr) {
            p.report(
                v,
                0,
                Severity::Warning,
                ExitClass::None,
                format!("duplicate unicast peer {} - ignored", peer.addr),
            );
        } else {
            d.first_family_v6.get_or_insert(peer.addr.is_ipv6());
            d.unicast_peer.push(peer);
            d.unicast_peer_lines.push(v.line);
        }
    }
    Ok(())
}

/// `use_vmac [name] [NAME] [MAC]` with keepalived's optional words.
fn use_vmac(p: &mut Parser<'_>, e: &Line) -> PResult<Vmac> {
    let mut v = Vmac {
        name: None,
        mac: None,
    };
    let mut i = 1;
    while i < e.words.len() {
        let w = e.words[i].text.as_str();
        match w {
            "name" => {
                v.name = Some(p.arg(e, i + 1)?.text.clone());
                i += 1;
            }
            "netlink_notify_msg" => p.report(
                e,
                i,
                Severity::Warning,
                ExitClass::None,
                "use_vmac: `netlink_notify_msg` is not honoured: vrrpd sends no extra netlink \
                 message when it makes the VMAC"
                    .into(),
            ),
            "group" => {
                p.report(
                    e,
                    i,
                    Severity::Warning,
                    ExitClass::None,
                    "use_vmac: `group` is not honoured: the VMAC interface is made without an \
                     interface group"
                        .into(),
                );
                i += 1;
            }
            _ if w.contains(':') => {
                let octets: Option<Vec<u8>> = w
                    .split(':')
                    .map(|o| u8::from_str_radix(o, 16).ok())
                    .collect();
                if octets.is_some_and(|o| o.len() == 5 || o.len() == 6) {
                    v.mac = Some(w.to_string());
                } else {
                    p.error(
                        e,
                        i,
                        format!("use_vmac: invalid MAC '{w}' - using 00:00:5e:00:01:VRID"),
                    );
                }
            }
            _ if v.name.is_none() => v.name = Some(w.to_string()),
            _ => p.error(e, i, format!("use_vmac: unexpected '{w}' - ignored")),
        }
        i += 1;
    }
    Ok(v)
}

/// `old_unicast_checksum [never]`: keepalived 2.2.7 takes only a lower-case `never` (later
/// words ignored); any other word is reported and the keyword ignored.
fn old_unicast_checksum(p: &mut Parser<'_>, e: &Line, d: &mut InstanceDraft) {
    use crate::model::OldUnicastChecksum as M;
    match e.words.get(1).map(|w| w.text.as_str()) {
        None => d.old_unicast_checksum = M::Always,
        Some("never") => d.old_unicast_checksum = M::Never,
        Some(w) => {
            let msg = format!(
                "({}) Unknown old_unicast_chksum mode {w} - ignoring",
                d.name
            );
            p.error(e, 1, msg);
        }
    }
}
