//! `*_rcv_bufs BYTES` / `*_rcv_bufs_force`: a socket's receive buffer as keepalived sets it
//! (SO_RCVBUF, capped by net.core.rmem_max; SO_RCVBUFFORCE past it). The kernel doubles the
//! figure for its bookkeeping, so `ss -m` shows `rb` twice the bytes configured.

use std::os::fd::AsFd;

use keepalived_conf::RcvBuf;
use nix::sys::socket::{setsockopt, sockopt};

/// Sets `fd`'s receive buffer; 0 bytes leaves the kernel's default. A refusal is logged and
/// the socket keeps what it had.
pub fn apply(fd: &impl AsFd, b: RcvBuf, socket: &str) {
    if b.bytes == 0 {
        return;
    }
    let bytes = b.bytes as usize;
    let r = if b.force {
        setsockopt(fd, sockopt::RcvBufForce, &bytes)
    } else {
        setsockopt(fd, sockopt::RcvBuf, &bytes)
    };
    match r {
        Ok(()) => tracing::debug!(socket, bytes, force = b.force, "receive buffer set"),
        Err(e) => {
            tracing::warn!(socket, bytes, force = b.force, error = %e, "receive buffer not set")
        }
    }
}
