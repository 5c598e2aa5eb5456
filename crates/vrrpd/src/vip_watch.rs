//! Which instance a deleted address concerns. keepalived 2.2.7 watches the VIPs and excluded
//! VIPs of a MASTER: one deleted by someone else (`ip addr del`) makes the instance hand over
//! (priority 0) and take over again, which puts the address back; a line with `no_track` is
//! not watched. Pure, so the rule is tested without a kernel.

use std::net::IpAddr;

use crate::spec::InstanceSpec;

/// An address the kernel reported deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    /// The interface it was on.
    pub ifindex: u32,
    /// The address.
    pub addr: IpAddr,
}

/// One running instance as the matcher sees it.
#[derive(Debug, Clone, Copy)]
pub struct Watched<'a> {
    /// Its configuration.
    pub spec: &'a InstanceSpec,
    /// Whether it is MASTER now (only a MASTER holds its VIPs).
    pub master: bool,
}

/// The positions (in `instances`) of the MASTER instances for which `gone` was a tracked VIP
/// or excluded VIP. `ifindex_of` names the interface index of a VIP's interface; a VIP whose
/// interface is unknown is not matched (an address elsewhere of the same value is not ours).
pub fn watchers<'a>(
    gone: Deleted,
    instances: impl IntoIterator<Item = Watched<'a>>,
    ifindex_of: impl Fn(&str) -> Option<u32>,
) -> Vec<usize> {
    instances
        .into_iter()
        .enumerate()
        .filter(|(_, w)| w.master)
        .filter(|(_, w)| {
            (w.spec.vips.iter().chain(&w.spec.excluded)).any(|v| {
                !v.no_track && v.addr == gone.addr && ifindex_of(&v.ifname) == Some(gone.ifindex)
            })
        })
        .map(|(pos, _)| pos)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Vip;

    fn spec(name: &str, vips: &[(&str, &str, bool)], excluded: &[(&str, &str)]) -> InstanceSpec {
        let mut s = InstanceSpec::bare(name, "eth0", 51);
        s.vips = vips
            .iter()
            .map(|(a, dev, no_track)| Vip {
                no_track: *no_track,
                ..Vip::plain(a.parse().unwrap(), 24, dev)
            })
            .collect();
        s.excluded = excluded
            .iter()
            .map(|(a, dev)| Vip::plain(a.parse().unwrap(), 24, dev))
            .collect();
        s
    }

    fn index(name: &str) -> Option<u32> {
        match name {
            "eth0" => Some(2),
            "eth1" => Some(3),
            _ => None,
        }
    }

    fn gone(ifindex: u32, addr: &str) -> Deleted {
        Deleted {
            ifindex,
            addr: addr.parse().unwrap(),
        }
    }

    fn run(g: Deleted, specs: &[InstanceSpec], master: &[bool]) -> Vec<usize> {
        let w = specs
            .iter()
            .zip(master)
            .map(|(spec, &master)| Watched { spec, master });
        watchers(g, w, index)
    }

    #[test]
    fn a_tracked_vip_or_excluded_vip_of_a_master_is_watched() {
        let s = [spec(
            "VI_1",
            &[("198.18.0.100", "eth0", false)],
            &[("198.18.0.102", "eth1")],
        )];
        assert_eq!(run(gone(2, "198.18.0.100"), &s, &[true]), vec![0]);
        assert_eq!(run(gone(3, "198.18.0.102"), &s, &[true]), vec![0]);
    }

    #[test]
    fn a_no_track_vip_is_not_watched() {
        let s = [spec("VI_1", &[("198.18.0.101", "eth0", true)], &[])];
        assert!(run(gone(2, "198.18.0.101"), &s, &[true]).is_empty());
    }

    /// A BACKUP holds no VIPs: the deletions it sees are its own release or someone else's.
    #[test]
    fn only_a_master_is_concerned() {
        let s = [spec("VI_1", &[("198.18.0.100", "eth0", false)], &[])];
        assert!(run(gone(2, "198.18.0.100"), &s, &[false]).is_empty());
    }

    #[test]
    fn the_same_address_on_another_interface_is_not_the_vip() {
        let s = [spec("VI_1", &[("198.18.0.100", "eth0", false)], &[])];
        assert!(run(gone(3, "198.18.0.100"), &s, &[true]).is_empty());
        let s = [spec("VI_1", &[("198.18.0.100", "gone0", false)], &[])];
        assert!(run(gone(2, "198.18.0.100"), &s, &[true]).is_empty());
    }

    #[test]
    fn every_master_holding_the_address_is_concerned_and_no_other() {
        let s = [
            spec("VI_1", &[("198.18.0.100", "eth0", false)], &[]),
            spec("VI_2", &[("198.18.0.200", "eth0", false)], &[]),
            spec("VI_3", &[("198.18.0.100", "eth0", false)], &[]),
        ];
        assert_eq!(
            run(gone(2, "198.18.0.100"), &s, &[true, true, true]),
            vec![0, 2]
        );
    }
}
