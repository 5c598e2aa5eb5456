//! What goes into an instance (events, received adverts) and what comes out (actions), and
//! its protocol state.

use std::net::IpAddr;
use std::time::Duration;

use crate::config::Vip;
use crate::packet::Advert;
use crate::rx::CheckedAdvert;

/// Protocol state (plus `Stopped` after shutdown, which keepalived reports
/// to notify scripts as STOP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started, or waiting for unweighted trackers' first result.
    Init,
    /// Following a master; the master-down timer runs.
    Backup,
    /// Owning the VIPs and advertising.
    Master,
    /// A fault condition holds: no adverts, no timers.
    Fault,
    /// Shut down.
    Stopped,
}

impl State {
    /// keepalived's name for the state (notify scripts, logs).
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stopped => "STOP",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The parts of a valid advert the state machine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedAdvert {
    /// Sender's address (IP source).
    pub src: IpAddr,
    /// Advertised priority.
    pub priority: u8,
    /// Advertised interval.
    pub interval: Duration,
}

impl From<&CheckedAdvert> for ReceivedAdvert {
    fn from(c: &CheckedAdvert) -> Self {
        ReceivedAdvert {
            src: c.src,
            priority: c.advert.priority,
            interval: c.advert.interval.as_duration(),
        }
    }
}

/// What happens to an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Leave INIT (daemon start, or instance added by a reload).
    Start,
    /// A deadline from [`Instance::next_deadline`] may have passed.
    Timer,
    /// An advert that passed [`rx::check`] (use [`Instance::handle_packet`]
    /// to run the checks and this in one call).
    Advert(ReceivedAdvert),
    /// A configured tracker (by [`crate::TrackerConfig::name`]) is up or down.
    TrackerChanged {
        /// Tracker name.
        name: String,
        /// Whether it is up (script exit 0, interface up, file value OK…).
        up: bool,
    },
    /// A value tracker (keepalived's `track_file`) read a new integer: a weighted one adds
    /// value x weight (negated with `reverse`; below -253 means FAULT), an unweighted one
    /// means FAULT while the value is not 0.
    TrackerValue {
        /// Tracker name.
        name: String,
        /// The integer read.
        value: i64,
    },
    /// The instance's own interface went up or down.
    LinkState {
        /// Link state.
        up: bool,
    },
    /// Whether adverts can be sent at all (e.g. false while the IPv6
    /// link-local source is tentative). While false the instance is in FAULT:
    /// it never claims MASTER while it cannot advertise.
    SendReady(bool),
    /// Drain on (true): a MASTER hands over with a priority-0 advert and the
    /// instance stays BACKUP, without FAULT, until drain is turned off.
    Maintenance(bool),
    /// A VIP (or excluded VIP) the MASTER holds was deleted by someone else: as keepalived
    /// 2.2.7 does, it hands over with a priority-0 advert, drops its addresses and takes over
    /// again after its Skew_Time unless a better router answers, which puts the VIP back.
    VipDeleted(IpAddr),
    /// Stop: a MASTER sends priority 0 and removes its VIPs.
    Shutdown,
}

/// Why gratuitous ARPs / unsolicited NAs are sent (for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GarpCause {
    /// The burst on becoming MASTER.
    BecameMaster,
    /// The second burst `garp_master_delay` after becoming MASTER.
    MasterDelay,
    /// Periodic refresh (`garp_master_refresh`).
    Refresh,
    /// A MASTER saw a lower-priority advert (`garp_lower_prio_repeat`).
    LowerPriority,
    /// The delayed burst after a lower-priority advert (`garp_lower_prio_delay`).
    LowerPriorityDelay,
}

/// What the I/O shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this advert to the multicast group or to every unicast peer.
    SendAdvert(Advert),
    /// Add the VIPs (and excluded VIPs, routes, rules) to the system.
    AddVips {
        /// Advertised VIPs.
        vips: Vec<Vip>,
        /// `virtual_ipaddress_excluded`.
        excluded: Vec<Vip>,
    },
    /// Remove them.
    RemoveVips {
        /// Advertised VIPs.
        vips: Vec<Vip>,
        /// `virtual_ipaddress_excluded`.
        excluded: Vec<Vip>,
    },
    /// Send `count` gratuitous ARPs (IPv4) / unsolicited NAs (IPv6) for each
    /// VIP, paced by the daemon's `vrrp_garp_interval`.
    SendGratuitous {
        /// The addresses to announce.
        vips: Vec<Vip>,
        /// Messages per address.
        count: u32,
        /// Why.
        cause: GarpCause,
    },
    /// Unicast instance leaving FAULT: announce our own source address so
    /// the master relearns us (keepalived sends a GARP for it).
    AnnounceSource,
    /// State changed; `reason` is the human-readable cause for logs, notify
    /// scripts and mail.
    Transition {
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: String,
    },
    /// Effective priority changed (`notify_priority_changes`).
    PriorityChanged {
        /// Before.
        old: u8,
        /// After.
        new: u8,
    },
    /// A MASTER saw a lower-priority advert (`notify_master_rx_lower_pri`).
    MasterRxLowerPriority {
        /// Sender.
        from: IpAddr,
        /// Its priority.
        priority: u8,
    },
}
