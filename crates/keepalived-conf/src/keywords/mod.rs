//! The one keyword table: every keyword keepalived 2.2.7 accepts (and the newer ones real
//! files carry), per block, with exactly one [`Status`]. The parser consults it for every
//! keyword line, so a keyword vrrpd does not act on is always said, never silently dropped;
//! docs/keepalived-compat.md is generated from it and checked against it by a test.

/// What vrrpd does with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Parsed and acted on; `test` names the test that shows the effect.
    Honoured {
        /// Name of a `#[test]` function in the workspace.
        test: &'static str,
    },
    /// Accepted as keepalived accepts it (`-t` class unchanged), but vrrpd does not act on it:
    /// every occurrence gets a warning with file:line, the keyword and `instead`.
    NotHonoured {
        /// What the operator gets instead.
        instead: &'static str,
    },
    /// Refused with an error (class 5), as keepalived 2.2.7 refuses it.
    Rejected {
        /// Why, and what to write instead.
        why: &'static str,
    },
}

/// Which block a keyword belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Block {
    /// The top level of the file.
    Root,
    /// `global_defs { }`.
    GlobalDefs,
    /// `vrrp_script NAME { }`.
    VrrpScript,
    /// `track_file NAME { }` / `vrrp_track_file NAME { }`.
    TrackFile,
    /// `vrrp_track_process NAME { }`.
    TrackProcess,
    /// `vrrp_sync_group NAME { }`.
    SyncGroup,
    /// `vrrp_instance NAME { }`.
    Instance,
    /// `authentication { }` inside an instance.
    Authentication,
    /// The options after a VIP address on a `virtual_ipaddress` / `static_ipaddress` line.
    VipOption,
    /// `garp_group { }`.
    GarpGroup,
    /// `track_group NAME { }`.
    TrackGroup,
}

/// Every block, in the order the documentation lists them.
pub const BLOCKS: [Block; 11] = [
    Block::Root,
    Block::GlobalDefs,
    Block::VrrpScript,
    Block::TrackFile,
    Block::TrackProcess,
    Block::SyncGroup,
    Block::Instance,
    Block::Authentication,
    Block::VipOption,
    Block::GarpGroup,
    Block::TrackGroup,
];

const fn h(test: &'static str) -> Status {
    Status::Honoured { test }
}

const fn n(instead: &'static str) -> Status {
    Status::NotHonoured { instead }
}

use Status::Rejected;

/// How to keep LVS, checkers and BFD: keepalived's own processes beside vrrpd.
pub const KEEP_CHECKERS: &str = "vrrpd runs no LVS/IPVS and no checkers; to keep them, run keepalived's checker process alone beside vrrpd, reading this same unchanged file: `keepalived --check` (`-C`)";
const LVS: &str = "nothing in vrrpd (an LVS/checker setting); keepalived's checker process reads it when run beside vrrpd as `keepalived --check`";
const BFD: &str = "no BFD session: vrrpd runs no BFD; keepalived's BFD process reads it when keepalived runs beside vrrpd on the same file";
const TUNING: &str =
    "vrrpd's own defaults (set scheduling, CPU affinity and memory limits in its systemd unit)";
const PROCESS_TUNING_TEST: &str = "vrrp_process_scheduling_memory_cpus_and_umask_match_keepalived";
const ADVERT_RCVBUF_TEST: &str = "advert_receive_buffers_are_sized_like_keepalived";
const NETLINK_RCVBUF_TEST: &str = "netlink_receive_buffers_are_sized_like_keepalived";
const CONNECTOR_RCVBUF_TEST: &str = "the_process_event_socket_takes_the_configured_receive_buffer";
const SNMP: &str = "no SNMP or D-Bus: `vrrpd ctl show status` (text or json) and `show stats` report the same state";
const RELOAD: &str =
    "vrrpd checks the new file itself on reload and keeps the running one when it has errors";
const VMAC: &str = "no ipvlan interface is made (VMACs are macvlans): the VIPs go where `use_vmac` or the instance interface puts them";
const PROCESS_TEST: &str = "sigkill_of_a_tracked_elb_proxy_moves_the_vip";
const STRICT_TEST: &str = "strict_mode_resets_what_it_forbids_and_defaults_to_no_accept";
const VMAC_TEST: &str = "vmac_names_macs_and_xmit_base_decide_where_vips_and_adverts_go";
const FIREWALL: &str = "no_accept rules go in vrrpd's own nftables tables (`ip`/`ip6` named by `nftables TABLE`, else `vrrpd_INSTANCE`, `vrrpd_CONFIG_ID` or `vrrpd`), as with `nftables` (input and output hooks at `nftables_priority`, default -1)";
const NO_ACCEPT: &str =
    "no_accept_rules_match_keepalived_and_are_removed_on_exit_and_after_a_crash";
const HMAC: &str = "no HMAC: adverts carry the `auth_type`/`auth_pass` authentication, if any (keepalived 2.2.7 does not know `auth_hmac` either)";

mod global;
mod instance;

pub(crate) use global::{GARP_GROUP, GLOBAL, ROOT, TRACK_GROUP};
pub(crate) use instance::{
    AUTHENTICATION, INSTANCE, SYNC_GROUP, TRACK_FILE, TRACK_PROCESS, VIP_OPTION, VRRP_SCRIPT,
};

/// Keywords that keepalived 2.2.7 does not know (newer keepalived releases). vrrpd treats them
/// per their status, and reports them as unknown-to-2.2.7 so `-t` classes stay the same.
pub const NEWER_THAN_2_2_7: &[&str] = &[
    "vrrp_owner_ignore_adverts",
    "v3_checksum_as_v2",
    "owner_ignore_adverts",
    "timer_expired_backup",
    "thread_timer_expired",
    "no_virtual_ipaddress",
    "auth_hmac",
    "vrrp_delay_after_boot",
];

/// The table of a block.
pub(crate) fn table(block: Block) -> &'static [(&'static str, Status)] {
    match block {
        Block::Root => ROOT,
        Block::GlobalDefs => GLOBAL,
        Block::VrrpScript => VRRP_SCRIPT,
        Block::TrackFile => TRACK_FILE,
        Block::TrackProcess => TRACK_PROCESS,
        Block::SyncGroup => SYNC_GROUP,
        Block::Instance => INSTANCE,
        Block::Authentication => AUTHENTICATION,
        Block::VipOption => VIP_OPTION,
        Block::GarpGroup => GARP_GROUP,
        Block::TrackGroup => TRACK_GROUP,
    }
}

/// The status of `kw` in `block`, `None` when keepalived does not know it there.
pub(crate) fn status(block: Block, kw: &str) -> Option<Status> {
    table(block).iter().find(|(k, _)| *k == kw).map(|(_, s)| *s)
}
