//! The running member set, built in one place: the config file's members, each member given
//! by name expanded to its DNS answers (`crate::dns`), and the changes made on the admin
//! socket (`add server`, `del server`, `set server … addr`) applied on top. A new DNS answer
//! and a runtime change both rebuild from these three parts, so neither undoes the other,
//! whichever comes first. A reload from the file forgets the runtime changes (as HAProxy
//! does without a server-state file): the file says again what runs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use elb_proxy_core::config::{Config, Member, ValidConfig};

use crate::shared::Shared;
use crate::snapshot::Snapshot;

/// A member by (cluster, member name).
type Key = (String, String);

/// What the admin socket changed since the last load of the file.
#[derive(Debug, Clone, Default)]
pub struct RuntimeChanges {
    /// Members added at run time, in the order they were added.
    added: Vec<(String, Member)>,
    /// Members of the file (or of a DNS answer) deleted at run time.
    removed: BTreeSet<Key>,
    /// Members of the file (or of a DNS answer) moved to another address at run time.
    moved: BTreeMap<Key, SocketAddr>,
}

impl RuntimeChanges {
    /// How many members the changes touch (said when a reload undoes them).
    pub fn len(&self) -> usize {
        self.added.len() + self.removed.len() + self.moved.len()
    }

    /// No change since the file was loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `cluster/member` was added at run time.
    pub fn is_added(&self, cluster: &str, member: &str) -> bool {
        self.added
            .iter()
            .any(|(c, m)| c == cluster && m.display_name() == member)
    }

    /// A member added at run time.
    pub fn add(&mut self, cluster: &str, member: Member) {
        self.added.push((cluster.to_string(), member));
    }

    /// `cluster/member` deleted: a runtime-added one is forgotten, one of the file or of a
    /// DNS answer is left out until the next reload.
    pub fn delete(&mut self, cluster: &str, member: &str) {
        let before = self.added.len();
        self.added
            .retain(|(c, m)| !(c == cluster && m.display_name() == member));
        if self.added.len() == before {
            let key = (cluster.to_string(), member.to_string());
            self.moved.remove(&key);
            self.removed.insert(key);
        }
    }

    /// `cluster/member` moved to `address`.
    pub fn set_addr(&mut self, cluster: &str, member: &str, address: SocketAddr) {
        if let Some((_, m)) = self
            .added
            .iter_mut()
            .find(|(c, m)| c == cluster && m.display_name() == member)
        {
            m.address = address.into();
        } else {
            self.moved
                .insert((cluster.to_string(), member.to_string()), address);
        }
    }

    /// Applies the changes to `config` (names already expanded). A runtime-added member whose
    /// name a member of the file or of a DNS answer now has is left out, and said so.
    fn apply(&self, config: &mut Config) {
        for c in &mut config.clusters {
            self.apply_to(&c.name, &mut c.members);
        }
    }

    /// Applies the changes to the members of `cluster`.
    fn apply_to(&self, cluster: &str, members: &mut Vec<Member>) {
        let key = |m: &Member| (cluster.to_string(), m.display_name());
        members.retain(|m| !self.removed.contains(&key(m)));
        for m in members.iter_mut() {
            if let Some(&address) = self.moved.get(&key(m)) {
                // An unnamed member is known by its address: it keeps that name.
                m.name.get_or_insert_with(|| m.address.to_string());
                m.address = address.into();
                m.resolved_from = None;
            }
        }
        for (c, m) in &self.added {
            if c != cluster {
                continue;
            }
            let name = m.display_name();
            if members.iter().any(|x| x.display_name() == name) {
                tracing::warn!(cluster, member = %name, "a member added at run time is left out: a member of the file or of a DNS answer has its name");
                continue;
            }
            members.push(m.clone());
        }
    }
}

/// The runtime changes in force (locked briefly; rebuilds are serialised by the reload lock).
#[derive(Debug, Default)]
pub struct Running {
    changes: Mutex<RuntimeChanges>,
}

impl Running {
    /// The changes in force.
    pub fn changes(&self) -> MutexGuard<'_, RuntimeChanges> {
        self.changes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets every runtime change (a reload from the file); returns how many there were.
    pub fn forget(&self) -> usize {
        std::mem::take(&mut *self.changes()).len()
    }
}

/// The running config: `declared` (the file as loaded) with its names expanded to the answers
/// known now and `changes` on top. The changes are validated on the file's config as a file
/// is (`origin` names the cause in errors): a name not resolved yet leaves its cluster empty
/// for a while, which the file's rules would refuse, so the expanded config is not checked
/// again (its members are the file's, the answers' and the changes').
pub fn compose(
    shared: &Shared,
    declared: &ValidConfig,
    changes: &RuntimeChanges,
    origin: &str,
) -> Result<ValidConfig, String> {
    if changes.is_empty() {
        return Ok(shared.names.expand(declared));
    }
    let mut checked = declared.clone().into_inner();
    changes.apply(&mut checked);
    elb_proxy_core::config::validate_model(checked, origin).map_err(|e| e.to_string())?;
    Ok(shared
        .names
        .expand(declared)
        .with_members(|cluster, members| changes.apply_to(cluster, members)))
}

/// Installs `config` as the running snapshot over the one running now: members that keep
/// their names keep their counters, admin state and (at the same address) pools and health;
/// weights set at run time (`set weight`) are kept. `prepare` sees the new snapshot before
/// any request does. The caller holds the reload lock.
pub fn install(
    shared: &Arc<Shared>,
    config: ValidConfig,
    prepare: impl FnOnce(&Snapshot),
) -> Arc<Snapshot> {
    let old = shared.snapshot.load_full();
    let new = Arc::new(Snapshot::build(config, Some(&old), &shared.stats.traffic));
    keep_runtime_weights(&old, &new);
    prepare(&new);
    shared.snapshot.store(new.clone());
    crate::health_check::start(shared, &new);
    new
}

/// Rebuilds the running snapshot from the file as loaded, the answers known now and the
/// runtime changes in force (after a DNS answer changed). The caller holds the reload lock.
pub fn rebuild(shared: &Arc<Shared>, why: &str) -> Option<Arc<Snapshot>> {
    let declared = shared.names.declared()?;
    let changes = shared.running.changes().clone();
    match compose(shared, &declared, &changes, why) {
        Ok(config) => Some(install(shared, config, |_| {})),
        Err(e) => {
            tracing::error!(error = %e, "{why}: the running members cannot be rebuilt; keeping them as they are");
            None
        }
    }
}

/// A weight set at run time (`set weight`: the member's weight differs from its configured
/// one) survives a rebuild that is not a reload of the file.
fn keep_runtime_weights(old: &Snapshot, new: &Snapshot) {
    for c in &new.clusters {
        let Some(o) = old.cluster(&c.name) else {
            continue;
        };
        let ob = o.lock();
        let mut nb = c.lock();
        for (i, m) in c.members.iter().enumerate() {
            let Some(j) = o.member_index(&m.name) else {
                continue;
            };
            if ob.members[j].weight != o.config.members[j].weight {
                nb.set_weight(i, ob.members[j].weight);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        elb_proxy_core::config::parse(
            "listeners: [{ address: 127.0.0.1:1 }]\nclusters:\n  - name: app\n    members:\n      - { name: a, address: 127.0.0.1:2 }\n      - { address: 127.0.0.1:3 }\ndefault_cluster: app\n",
            "t",
        )
        .unwrap()
        .into_inner()
    }

    fn member(name: &str, addr: &str) -> Member {
        Member {
            name: Some(name.into()),
            address: addr.parse::<SocketAddr>().unwrap().into(),
            weight: 1,
            weight_written: false,
            protocol: None,
            max_connections: 0,
            resolved_from: None,
            tls: None,
        }
    }

    fn names(c: &Config) -> Vec<(String, String)> {
        c.clusters[0]
            .members
            .iter()
            .map(|m| (m.display_name(), m.address.to_string()))
            .collect()
    }

    #[test]
    fn changes_apply_on_top_of_the_file_in_any_order() {
        let mut ch = RuntimeChanges::default();
        ch.add("app", member("b", "127.0.0.1:4"));
        ch.set_addr("app", "127.0.0.1:3", "127.0.0.1:5".parse().unwrap());
        ch.set_addr("app", "b", "127.0.0.1:6".parse().unwrap());
        ch.delete("app", "a");
        let mut c = config();
        ch.apply(&mut c);
        assert_eq!(
            names(&c),
            [
                ("127.0.0.1:3".into(), "127.0.0.1:5".into()),
                ("b".into(), "127.0.0.1:6".into())
            ]
        );
        assert_eq!(ch.len(), 3);
        // Deleting a runtime-added member forgets it.
        ch.delete("app", "b");
        assert!(!ch.is_added("app", "b"));
        assert_eq!(ch.len(), 2);
    }

    #[test]
    fn a_runtime_member_whose_name_the_file_took_is_left_out() {
        let mut ch = RuntimeChanges::default();
        ch.add("app", member("a", "127.0.0.1:9"));
        let mut c = config();
        ch.apply(&mut c);
        assert_eq!(names(&c)[0], ("a".into(), "127.0.0.1:2".into()));
        assert_eq!(c.clusters[0].members.len(), 2);
    }
}
