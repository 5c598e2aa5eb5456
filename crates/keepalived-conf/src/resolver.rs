//! Everything the loader needs from the host, behind one trait: reading included files,
//! expanding include globs, and the few look-ups keepalived's `-t` makes (script files,
//! users, environment). The library itself touches nothing; [`FsResolver`] is the real host,
//! [`MemResolver`] an in-memory one for tests and fuzzing.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Reading failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The file does not exist.
    #[error("{path}: not found")]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// An `include` glob keepalived would not accept.
    #[error("bad include pattern {pattern:?}: {message}")]
    BadPattern {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
}

/// What a script path resolves to on the host (keepalived checks this at `-t` time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptFile {
    /// No such file, or not executable.
    Missing,
    /// Present and executable; `secure` is false when it or a directory above it is writable
    /// by someone other than root (keepalived's "Unsafe permissions").
    Found {
        /// Whether keepalived's `enable_script_security` would run it.
        secure: bool,
    },
}

/// The host as seen by the loader.
pub trait IncludeResolver {
    /// Reads the whole file at `path`.
    fn read(&self, path: &Path) -> Result<Vec<u8>, ResolveError>;
    /// Expands `pattern` (`*`, `?`, `[...]`; braces are expanded by the caller) to the existing
    /// regular files it names, in sorted order.
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, ResolveError>;
    /// Looks at an absolute script path.
    fn script_file(&self, _path: &Path) -> ScriptFile {
        ScriptFile::Found { secure: true }
    }
    /// `Some(true/false)` when the system user database was consulted, `None` when unknown
    /// (then no user-related diagnostics are made).
    fn user_exists(&self, _name: &str) -> Option<bool> {
        None
    }
    /// Same as [`Self::user_exists`] for groups.
    fn group_exists(&self, _name: &str) -> Option<bool> {
        None
    }
    /// An environment variable, for `${_ENV NAME}` and `PATH` look-ups of scripts.
    fn env_var(&self, _name: &str) -> Option<String> {
        None
    }
    /// Whether a network interface of this name exists where the daemon would run (its
    /// network namespace); `None` when unknown (then no interface diagnostics are made).
    fn interface_exists(&self, _name: &str) -> Option<bool> {
        None
    }
    /// How many CPUs the host has (`vrrp_cpu_affinity` may name 0..N-1); `None` when unknown
    /// (then the CPU numbers are not checked).
    fn cpu_count(&self) -> Option<u32> {
        None
    }
}

/// The real file system, users from `/etc/passwd` and `/etc/group`, the process environment.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsResolver;

impl IncludeResolver for FsResolver {
    fn read(&self, path: &Path) -> Result<Vec<u8>, ResolveError> {
        std::fs::read(path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                ResolveError::NotFound {
                    path: path.to_path_buf(),
                }
            } else {
                ResolveError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, ResolveError> {
        let paths = glob::glob(pattern).map_err(|e| ResolveError::BadPattern {
            pattern: pattern.to_string(),
            message: e.msg.to_string(),
        })?;
        let mut found: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        Ok(found)
    }

    fn script_file(&self, path: &Path) -> ScriptFile {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return ScriptFile::Missing;
        };
        if !meta.is_file() || meta.mode() & 0o111 == 0 {
            return ScriptFile::Missing;
        }
        ScriptFile::Found {
            secure: check_script_file_secure(path).is_ok(),
        }
    }

    fn user_exists(&self, name: &str) -> Option<bool> {
        name_in_db("/etc/passwd", name)
    }

    fn group_exists(&self, name: &str) -> Option<bool> {
        name_in_db("/etc/group", name)
    }

    fn env_var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Why `enable_script_security` refuses a script file (keepalived's "Unsafe permissions").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsecureScript {
    /// The file or a directory above it could not be looked at.
    #[error("cannot check {path}: {error}")]
    Unreadable {
        /// What could not be looked at.
        path: PathBuf,
        /// What the system said.
        error: String,
    },
    /// The file or a directory above it can be changed by someone other than root.
    #[error("{path} is writable by {who} (uid {uid}, gid {gid}, mode {mode:o})")]
    Writable {
        /// The file or directory at fault.
        path: PathBuf,
        /// Who could change it.
        who: &'static str,
        /// Its owner.
        uid: u32,
        /// Its group.
        gid: u32,
        /// Its permission bits.
        mode: u32,
    },
}

/// keepalived's script security rule, the one implementation (the loader's `-t` check and
/// the daemon's check before each run both call it): after resolving symlinks, the file and
/// every directory above it must be writable by root alone (sticky directories excepted).
pub fn check_script_file_secure(path: &Path) -> Result<(), InsecureScript> {
    use std::os::unix::fs::MetadataExt;
    let unreadable = |p: &Path, e: io::Error| InsecureScript::Unreadable {
        path: p.to_path_buf(),
        error: e.to_string(),
    };
    let canonical = path.canonicalize().map_err(|e| unreadable(path, e))?;
    for p in canonical.ancestors() {
        let m = std::fs::metadata(p).map_err(|e| unreadable(p, e))?;
        if writable_by_others(&m) {
            let mode = m.mode() & 0o7777;
            let who = if m.uid() != 0 {
                "its non-root owner"
            } else if mode & 0o020 != 0 && m.gid() != 0 {
                "a non-root group"
            } else {
                "everyone"
            };
            return Err(InsecureScript::Writable {
                path: p.to_path_buf(),
                who,
                uid: m.uid(),
                gid: m.gid(),
                mode,
            });
        }
    }
    Ok(())
}

/// keepalived 2.2.7's rule, found by running its `-t` on each case: the file and every
/// directory above it must be owned by root and writable by no one else: not by others, not
/// by a group other than root's. A sticky directory (like /tmp) is fine whatever its write
/// bits, as only a file's owner can replace it there; for a file the sticky bit changes nothing.
pub(crate) fn writable_by_others(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mode = m.mode();
    let sticky_dir = m.is_dir() && mode & 0o1000 != 0;
    let others = mode & 0o002 != 0;
    let group = mode & 0o020 != 0 && m.gid() != 0;
    m.uid() != 0 || (!sticky_dir && (others || group))
}

/// Whether `name` (or a numeric id) is in a colon-separated database file.
fn name_in_db(db: &str, name: &str) -> Option<bool> {
    let text = std::fs::read_to_string(db).ok()?;
    let numeric = name.parse::<u32>().ok();
    Some(text.lines().any(|l| {
        let mut f = l.split(':');
        let n = f.next();
        let id = f.nth(1).and_then(|s| s.parse::<u32>().ok());
        n == Some(name) || (numeric.is_some() && id == numeric)
    }))
}

/// An in-memory host: files by absolute path, executable script paths, known users and groups.
#[derive(Debug, Default, Clone)]
pub struct MemResolver {
    /// File contents by absolute path.
    pub files: BTreeMap<PathBuf, Vec<u8>>,
    /// Script paths that exist; value = secure.
    pub scripts: BTreeMap<PathBuf, bool>,
    /// `None` = user database unknown.
    pub users: Option<BTreeSet<String>>,
    /// `None` = group database unknown.
    pub groups: Option<BTreeSet<String>>,
    /// Environment variables (`${_ENV}`-style look-ups and `PATH`).
    pub env: BTreeMap<String, String>,
    /// `None` = network interfaces unknown.
    pub interfaces: Option<BTreeSet<String>>,
    /// `None` = the number of CPUs unknown.
    pub cpus: Option<u32>,
}

impl MemResolver {
    /// An empty host: no files, no scripts, user and group databases unknown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns `self` for chaining.
    pub fn with_file(mut self, path: impl Into<PathBuf>, text: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.into(), text.into());
        self
    }
}

impl IncludeResolver for MemResolver {
    fn read(&self, path: &Path) -> Result<Vec<u8>, ResolveError> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| ResolveError::NotFound {
                path: path.to_path_buf(),
            })
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, ResolveError> {
        let pat = glob::Pattern::new(pattern).map_err(|e| ResolveError::BadPattern {
            pattern: pattern.to_string(),
            message: e.msg.to_string(),
        })?;
        let opts = glob::MatchOptions {
            require_literal_separator: true,
            require_literal_leading_dot: true,
            ..glob::MatchOptions::new()
        };
        Ok(self
            .files
            .keys()
            .filter(|p| pat.matches_path_with(p, opts))
            .cloned()
            .collect())
    }

    fn script_file(&self, path: &Path) -> ScriptFile {
        match self.scripts.get(path) {
            Some(&secure) => ScriptFile::Found { secure },
            None => ScriptFile::Missing,
        }
    }

    fn user_exists(&self, name: &str) -> Option<bool> {
        self.users.as_ref().map(|u| u.contains(name))
    }

    fn group_exists(&self, name: &str) -> Option<bool> {
        self.groups.as_ref().map(|g| g.contains(name))
    }

    fn env_var(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn interface_exists(&self, name: &str) -> Option<bool> {
        self.interfaces.as_ref().map(|i| i.contains(name))
    }
    fn cpu_count(&self) -> Option<u32> {
        self.cpus
    }
}
