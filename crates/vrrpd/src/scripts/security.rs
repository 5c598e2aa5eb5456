//! `enable_script_security` and `script_user`: which user scripts run as, and refusing a
//! script that a non-root user could modify, since vrrpd (usually root) would run whatever
//! that user writes there.

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::exec::{RunAs, RunAsError};

/// The user keepalived runs scripts as by default when it exists.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// A script refused by script security.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnsafeScript {
    #[error(
        "script {script}: {path} is writable by {who} (uid {uid}, gid {gid}, mode {mode:o}); \
         refusing to run it with enable_script_security (make it owned by root and not \
         group/world-writable)"
    )]
    /// Someone other than root can change the file or a directory above it.
    Writable {
        /// The script's name.
        script: String,
        /// The file or directory at fault.
        path: PathBuf,
        /// Who can write it: group or others.
        who: &'static str,
        /// Its owner.
        uid: u32,
        /// Its group.
        gid: u32,
        /// Its mode bits.
        mode: u32,
    },
    /// The file or a directory above it could not be examined.
    #[error("script {script}: cannot check {path}: {error}")]
    Unreadable {
        /// The script's name.
        script: String,
        /// The path that could not be examined.
        path: PathBuf,
        /// Why.
        error: String,
    },
}

/// Checks `program` with keepalived's rule, the same function `-t` uses
/// ([`keepalived_conf::check_script_file_secure`]): the file and every directory above it
/// (symlinks resolved) writable by root alone; a sticky directory such as /tmp is fine, as
/// keepalived 2.2.7 finds it.
pub fn check_script_secure(script: &str, program: &Path) -> Result<(), UnsafeScript> {
    use keepalived_conf::InsecureScript;
    keepalived_conf::check_script_file_secure(program).map_err(|e| match e {
        InsecureScript::Writable {
            path,
            who,
            uid,
            gid,
            mode,
        } => UnsafeScript::Writable {
            script: script.to_owned(),
            path,
            who,
            uid,
            gid,
            mode,
        },
        InsecureScript::Unreadable { path, error } => UnsafeScript::Unreadable {
            script: script.to_owned(),
            path,
            error,
        },
    })
}

/// The default user for scripts: `script_user` when configured, else `keepalived_script`
/// when that user exists, else `None` (vrrpd's own user).
pub fn default_script_user(
    script_user: Option<(&str, Option<&str>)>,
) -> Result<Option<RunAs>, RunAsError> {
    match script_user {
        Some((user, group)) => RunAs::resolve(user, group).map(Some),
        None => match RunAs::resolve(DEFAULT_SCRIPT_USER, None) {
            Ok(r) => Ok(Some(r)),
            Err(RunAsError::NoUser(_)) => Ok(None),
            Err(e) => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn system_binaries_are_secure() {
        check_script_secure("true", Path::new("/bin/sh")).unwrap();
    }

    #[test]
    fn world_writable_file_is_refused_but_a_sticky_parent_is_fine_as_in_keepalived() {
        // A root-owned 0755 directory under /var/tmp (sticky, world-writable): keepalived
        // 2.2.7 runs a root-owned 0755 script there with enable_script_security.
        let base = tempfile::Builder::new()
            .prefix("elbha-sec")
            .tempdir_in("/var/tmp")
            .unwrap();
        let root_owned = nix::unistd::geteuid().is_root();
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = base.path().join("chk.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_script_secure("chk", &script).unwrap_err();
        assert!(err.to_string().contains("refusing"), "{err}");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        if root_owned {
            check_script_secure("chk", &script).unwrap();
            // A world-writable directory without the sticky bit is refused.
            std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
            match check_script_secure("chk", &script).unwrap_err() {
                UnsafeScript::Writable { path, who, .. } => {
                    assert_eq!((path.as_path(), who), (base.path(), "everyone"))
                }
                other => panic!("unexpected {other:?}"),
            }
        } else {
            assert!(check_script_secure("chk", &script).is_err(), "owned by us");
        }
    }

    #[test]
    fn missing_script_is_reported() {
        assert!(matches!(
            check_script_secure("x", Path::new("/no/such/script")),
            Err(UnsafeScript::Unreadable { .. })
        ));
    }
}
