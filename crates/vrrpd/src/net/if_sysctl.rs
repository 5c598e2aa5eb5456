//! Per-interface IPv4 sysctls vrrpd sets for the instances' lifetime and puts back on exit,
//! as keepalived 2.2.7 does with `promote_secondaries` (measured in the lab: set to 1 on the
//! instance's interface when the instance starts, the earlier value written back on exit).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::PathBuf;

use anyhow::{Context, Result};

/// The values vrrpd changed, each with the value it found first.
#[derive(Debug)]
pub struct SavedSysctls {
    /// `/proc/sys/net/ipv4/conf` (a directory of the same shape in unit tests).
    root: PathBuf,
    /// (interface, key) -> the value before vrrpd first wrote it.
    saved: BTreeMap<(String, String), String>,
}

impl Default for SavedSysctls {
    fn default() -> Self {
        Self::under("/proc/sys/net/ipv4/conf")
    }
}

impl SavedSysctls {
    /// Sysctls under `root` (`<root>/<interface>/<key>`).
    pub fn under(root: impl Into<PathBuf>) -> Self {
        SavedSysctls {
            root: root.into(),
            saved: BTreeMap::new(),
        }
    }

    fn path(&self, ifname: &str, key: &str) -> PathBuf {
        self.root.join(ifname).join(key)
    }

    /// Writes `value`, remembering the value found only the first time: a second instance
    /// (or a reload) setting the same key must not make 1 the value restored on exit.
    pub fn set(&mut self, ifname: &str, key: &str, value: &str) -> Result<()> {
        let path = self.path(ifname, key);
        let id = (ifname.to_string(), key.to_string());
        if let Entry::Vacant(e) = self.saved.entry(id) {
            let old = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            e.insert(old.trim().to_string());
        }
        std::fs::write(&path, value).with_context(|| format!("writing {}", path.display()))
    }

    /// Writes every remembered value back; an interface gone since is skipped (its sysctls
    /// went with it). Returns the errors of the others.
    pub fn restore_all(&mut self) -> Vec<anyhow::Error> {
        let mut errors = Vec::new();
        for ((ifname, key), old) in std::mem::take(&mut self.saved) {
            if !self.root.join(&ifname).exists() {
                continue;
            }
            let path = self.path(&ifname, &key);
            if let Err(e) = std::fs::write(&path, &old) {
                errors.push(anyhow::Error::new(e).context(format!("restoring {}", path.display())));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_root(ifaces: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (ifname, value) in ifaces {
            std::fs::create_dir(dir.path().join(ifname)).expect("mkdir");
            std::fs::write(dir.path().join(ifname).join("promote_secondaries"), value)
                .expect("write");
        }
        dir
    }

    fn read(dir: &tempfile::TempDir, ifname: &str) -> String {
        std::fs::read_to_string(dir.path().join(ifname).join("promote_secondaries"))
            .expect("read")
            .trim()
            .to_string()
    }

    #[test]
    fn the_value_found_first_is_restored_even_when_set_twice() {
        let dir = fake_root(&[("eth0", "0\n")]);
        let mut s = SavedSysctls::under(dir.path());
        s.set("eth0", "promote_secondaries", "1").expect("set");
        s.set("eth0", "promote_secondaries", "1")
            .expect("set again");
        assert_eq!(read(&dir, "eth0"), "1");
        assert!(s.restore_all().is_empty());
        assert_eq!(read(&dir, "eth0"), "0");
    }

    #[test]
    fn an_interface_that_already_had_it_keeps_it_after_restore() {
        let dir = fake_root(&[("eth1", "1\n")]);
        let mut s = SavedSysctls::under(dir.path());
        s.set("eth1", "promote_secondaries", "1").expect("set");
        assert!(s.restore_all().is_empty());
        assert_eq!(read(&dir, "eth1"), "1");
    }

    #[test]
    fn a_vanished_interface_is_skipped_on_restore() {
        let dir = fake_root(&[("eth0", "0"), ("veth9", "0")]);
        let mut s = SavedSysctls::under(dir.path());
        s.set("eth0", "promote_secondaries", "1").expect("set");
        s.set("veth9", "promote_secondaries", "1").expect("set");
        std::fs::remove_dir_all(dir.path().join("veth9")).expect("rm");
        assert!(s.restore_all().is_empty());
        assert_eq!(read(&dir, "eth0"), "0");
    }

    #[test]
    fn a_missing_interface_is_an_error_on_set() {
        let dir = fake_root(&[]);
        let mut s = SavedSysctls::under(dir.path());
        assert!(s.set("nope0", "promote_secondaries", "1").is_err());
    }
}
