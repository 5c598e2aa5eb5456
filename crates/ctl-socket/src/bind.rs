//! Creating the socket file: never steal a live daemon's socket, never replace a file that is
//! not a socket, and never let the path be reachable with looser permissions than asked for.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, Socket, Type};

use crate::server::Server;

/// The socket file's access: mode, and optionally a group that may connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOptions {
    /// File mode (0600: the owner only; 0660 with `group`).
    pub mode: u32,
    /// Group owning the socket file (owner stays the daemon's user).
    pub group: Option<u32>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            mode: 0o600,
            group: None,
        }
    }
}

/// Why the socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// A daemon accepts connections on that path.
    #[error("control socket {path}: another daemon is listening there")]
    InUse {
        /// The socket path.
        path: PathBuf,
    },
    /// The path is a regular file, a directory or anything else but a socket.
    #[error("control socket {path}: exists and is not a socket; refusing to replace it")]
    NotASocket {
        /// The socket path.
        path: PathBuf,
    },
    /// Creating, placing or opening up the socket failed.
    #[error("control socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// What is at the socket path before binding.
#[derive(Debug, PartialEq, Eq)]
enum Existing {
    Nothing,
    /// A socket nobody accepts on (its daemon died): safe to replace.
    Stale,
    Live,
    NotASocket,
}

fn existing(path: &Path) -> std::io::Result<Existing> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => probe(path),
        Ok(_) => Ok(Existing::NotASocket),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Existing::Nothing),
        Err(e) => Err(e),
    }
}

/// Connects without blocking: a live daemon accepts (or has a full backlog, `EAGAIN`); only
/// a refused connection proves that no one listens any more.
fn probe(path: &Path) -> std::io::Result<Existing> {
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&SockAddr::unix(path)?) {
        Ok(()) => Ok(Existing::Live),
        Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(Existing::Live),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(Existing::Stale),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Existing::Nothing),
        Err(e) => Err(e),
    }
}

/// Binds a Unix stream socket at `path` with `options`. It is created under a temporary name
/// beside `path`, given its mode and group, and only then renamed into place. A stale socket
/// left by a dead daemon is replaced; a live one or a non-socket file is an error. Needs no
/// runtime; [`Server::serve`] does.
pub fn bind(path: &Path, options: &SocketOptions) -> Result<Server, BindError> {
    let io = |source| BindError::Io {
        path: path.to_owned(),
        source,
    };
    match existing(path).map_err(io)? {
        Existing::Live => {
            return Err(BindError::InUse {
                path: path.to_owned(),
            });
        }
        Existing::NotASocket => {
            return Err(BindError::NotASocket {
                path: path.to_owned(),
            });
        }
        Existing::Stale | Existing::Nothing => {}
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ctl.sock".to_owned());
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let listener = std::os::unix::net::UnixListener::bind(&tmp).map_err(io)?;
    let placed = prepare(&tmp, options)
        .and_then(|()| listener.set_nonblocking(true))
        .and_then(|()| std::fs::rename(&tmp, path))
        .and_then(|()| std::fs::symlink_metadata(path));
    match placed {
        Ok(meta) => Ok(Server::new(
            listener,
            SocketFile {
                path: path.to_owned(),
                id: (meta.dev(), meta.ino()),
            },
        )),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(io(e))
        }
    }
}

fn prepare(tmp: &Path, options: &SocketOptions) -> std::io::Result<()> {
    if let Some(gid) = options.group {
        std::os::unix::fs::chown(tmp, None, Some(gid))?;
    }
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(options.mode))
}

/// The bound socket's file; removed on drop unless another daemon has put its own there since.
#[derive(Debug)]
pub(crate) struct SocketFile {
    pub(crate) path: PathBuf,
    id: (u64, u64),
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.file_type().is_socket() && (m.dev(), m.ino()) == self.id);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
