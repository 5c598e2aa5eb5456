//! `enable_script_security` and `script_user`: which user scripts run as, and refusing a
//! script that a non-root user could modify, since vrrpd (usually root) would run whatever
//! that user writes there.

use std::os::unix::fs::MetadataExt;
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
    Writable {
        script: String,
        path: PathBuf,
        who: &'static str,
        uid: u32,
        gid: u32,
        mode: u32,
    },
    #[error("script {script}: cannot check {path}: {error}")]
    Unreadable {
        script: String,
        path: PathBuf,
        error: String,
    },
}

/// Checks `program` and every directory above it (after resolving symlinks): none may be
/// writable by a user other than root — owned by non-root, group-writable by a non-root
/// group, or world-writable (a sticky directory such as /tmp still lets anyone add files,
/// so it counts as writable too).
pub fn check_script_secure(script: &str, program: &Path) -> Result<(), UnsafeScript> {
    let canonical = program
        .canonicalize()
        .map_err(|e| UnsafeScript::Unreadable {
            script: script.to_owned(),
            path: program.to_owned(),
            error: e.to_string(),
        })?;
    for path in canonical.ancestors() {
        let meta = std::fs::metadata(path).map_err(|e| UnsafeScript::Unreadable {
            script: script.to_owned(),
            path: path.to_owned(),
            error: e.to_string(),
        })?;
        let mode = meta.mode() & 0o7777;
        let who = if meta.uid() != 0 {
            Some("its non-root owner")
        } else if mode & 0o020 != 0 && meta.gid() != 0 {
            Some("a non-root group")
        } else if mode & 0o002 != 0 {
            Some("everyone")
        } else {
            None
        };
        if let Some(who) = who {
            return Err(UnsafeScript::Writable {
                script: script.to_owned(),
                path: path.to_owned(),
                who,
                uid: meta.uid(),
                gid: meta.gid(),
                mode,
            });
        }
    }
    Ok(())
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
    fn world_writable_file_or_parent_is_refused() {
        // Under a root-owned 0755 directory so only our own modes matter.
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
        // /var/tmp itself is world-writable (sticky): a script below it is refused too.
        let err = check_script_secure("chk", &script).unwrap_err();
        match err {
            UnsafeScript::Writable { path, .. } if root_owned => {
                assert_eq!(path, Path::new("/var/tmp"))
            }
            UnsafeScript::Writable { .. } => {}
            other => panic!("unexpected {other:?}"),
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
