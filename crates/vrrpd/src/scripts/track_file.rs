//! `track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }`: an
//! integer in a file; every change of the value is reported on the same channel as script
//! changes, with `value` set. As in keepalived, the file's directory is watched with inotify,
//! so a write (or a rename into place) acts within milliseconds; a slow re-read backs it up.
//! Where inotify cannot watch (no directory yet, no inotify descriptor left) the file is polled.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::priority::{TrackedState, TrackerInput, adjustment};
use super::runner::TrackerUpdate;

/// How often a tracked file is re-read when it cannot be watched.
pub const DEFAULT_POLL: Duration = Duration::from_millis(200);

/// With inotify, the backstop re-read is this many times slower than the poll (it catches
/// what inotify cannot see, such as a write on another host to a network file system).
const BACKSTOP_FACTOR: u32 = 10;

/// Reads at most this many bytes of a tracked file (an integer needs far fewer).
const MAX_READ: u64 = 4096;

/// A `track_file` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFileSpec {
    /// The `vrrp_track_file` name.
    pub name: String,
    /// The file whose integer is read.
    pub path: PathBuf,
    /// keepalived's default weight for files is 1.
    pub weight: i64,
    /// `reverse`: the weighted value is negated.
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`: create the file with VALUE (default 0) if missing,
    /// or always with `overwrite`.
    pub init_file: Option<(i64, bool)>,
}

/// The value a file's contents stand for: the leading integer; anything else (missing file,
/// empty, not a number) is 0, like `strtol` in keepalived.
pub fn parse_value(contents: &str) -> i64 {
    let s = contents.trim_start();
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse::<i64>().unwrap_or_else(|_| {
        // Too many digits: saturate in the direction of the sign.
        if s[..end].starts_with('-') && end > 1 {
            i64::MIN
        } else if end > 1 || s[..end].chars().next().is_some_and(|c| c.is_ascii_digit()) {
            i64::MAX
        } else {
            0
        }
    })
}

/// A running file tracker.
#[derive(Debug)]
pub struct FileTracker {
    stop_tx: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FileTracker {
    /// Applies `init_file`, sends the initial value, then reports each change: on inotify
    /// events, or every `poll` when the file's directory cannot be watched.
    pub fn start(
        spec: TrackFileSpec,
        poll: Duration,
        updates: mpsc::Sender<TrackerUpdate>,
    ) -> std::io::Result<Self> {
        Self::start_with(spec, poll, updates, true)
    }

    /// As [`Self::start`]; `inotify` false polls only (the fallback, also for tests).
    pub fn start_with(
        spec: TrackFileSpec,
        poll: Duration,
        updates: mpsc::Sender<TrackerUpdate>,
        inotify: bool,
    ) -> std::io::Result<Self> {
        if let Some((value, overwrite)) = spec.init_file
            && (overwrite || !spec.path.exists())
        {
            std::fs::write(&spec.path, format!("{value}\n"))?;
        }
        let watcher = if inotify {
            match DirWatch::new(&spec.path) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(file = %spec.name, path = %spec.path.display(), error = %e,
                        "track file: cannot watch with inotify; polling every {poll:?}");
                    None
                }
            }
        } else {
            None
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(watch_loop(spec, poll, watcher, updates, stop_rx));
        Ok(FileTracker { stop_tx, task })
    }

    /// Stops watching and waits for the task to end.
    pub async fn stop(self) {
        let _ = self.stop_tx.send(true);
        let _ = self.task.await;
    }
}

async fn read_value(path: &PathBuf) -> (i64, Option<String>) {
    use tokio::io::AsyncReadExt;
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) => return (0, Some(e.to_string())),
    };
    let mut buf = String::new();
    match file.take(MAX_READ).read_to_string(&mut buf).await {
        Ok(_) => (parse_value(&buf), None),
        Err(e) => (0, Some(e.to_string())),
    }
}

/// The file's directory under inotify, events for the file's own name.
struct DirWatch {
    fd: AsyncFd<InotifyFd>,
    name: OsString,
}

/// An inotify instance as tokio's `AsyncFd` wants it.
struct InotifyFd(Inotify);

impl AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl DirWatch {
    fn new(path: &Path) -> std::io::Result<Self> {
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other("no file name"))?
            .to_os_string();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        // A write closed, a rename into or out of place, a removal; the directory's own end.
        let mask = AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_DELETE_SELF
            | AddWatchFlags::IN_MOVE_SELF;
        ino.add_watch(dir, mask)?;
        Ok(DirWatch {
            fd: register(InotifyFd(ino))?,
            name,
        })
    }

    /// Waits for an event about the file. `Err` when the watch ended (the directory was
    /// removed or moved) or inotify failed: the caller falls back to polling.
    async fn changed(&self) -> std::io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let events = match guard.try_io(|fd| fd.get_ref().0.read_events().map_err(Into::into)) {
                Ok(r) => r?,
                Err(_would_block) => continue,
            };
            let gone = AddWatchFlags::IN_DELETE_SELF
                | AddWatchFlags::IN_MOVE_SELF
                | AddWatchFlags::IN_IGNORED;
            if events.iter().any(|e| e.mask.intersects(gone)) {
                return Err(std::io::Error::other("the watched directory went away"));
            }
            if events.iter().any(|e| e.name.as_deref() == Some(&self.name)) {
                return Ok(());
            }
        }
    }
}

/// Registers the inotify descriptor with tokio's reactor.
#[allow(unsafe_code)]
fn register(fd: InotifyFd) -> std::io::Result<AsyncFd<InotifyFd>> {
    // SAFETY: `Inotify` owns its descriptor and keeps it open and unchanged until it is
    // dropped, which happens only together with the AsyncFd.
    unsafe { AsyncFd::register(fd) }.map_err(|e| e.into_parts().1)
}

/// Waits for the watcher's next event; never returns without one.
async fn next_event(w: &Option<DirWatch>) -> std::io::Result<()> {
    match w {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}

fn ticker(period: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(period.max(Duration::from_millis(10)));
    t.set_missed_tick_behavior(MissedTickBehavior::Delay);
    t
}

async fn watch_loop(
    spec: TrackFileSpec,
    poll: Duration,
    mut watcher: Option<DirWatch>,
    updates: mpsc::Sender<TrackerUpdate>,
    mut stop_rx: watch::Receiver<bool>,
) {
    let mut tick = match watcher {
        Some(_) => ticker(poll * BACKSTOP_FACTOR),
        None => ticker(poll),
    };
    let mut last: Option<i64> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            r = next_event(&watcher) => if let Err(e) = r {
                tracing::warn!(file = %spec.name, error = %e,
                    "track file: inotify watch ended; polling every {poll:?}");
                watcher = None;
                tick = ticker(poll);
            },
            () = async { let _ = stop_rx.wait_for(|s| *s).await; } => return,
        }
        let (value, error) = read_value(&spec.path).await;
        if last == Some(value) {
            continue;
        }
        last = Some(value);
        let up = adjustment(&TrackerInput {
            name: spec.name.clone(),
            weight: spec.weight,
            reverse: spec.reverse,
            state: TrackedState::Value(value),
        })
        .is_some();
        let reason = match error {
            Some(e) => format!(
                "track file {}: {} unreadable ({e}), value 0",
                spec.name,
                spec.path.display()
            ),
            None => format!("track file {}: value {value}", spec.name),
        };
        tracing::info!(file = %spec.name, value, "{reason}");
        let update = TrackerUpdate {
            name: spec.name.clone(),
            up,
            value: Some(value),
            reason,
        };
        if updates.send(update).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_strtol() {
        assert_eq!(parse_value("42\n"), 42);
        assert_eq!(parse_value("  -7 trailing"), -7);
        assert_eq!(parse_value("+3"), 3);
        assert_eq!(parse_value(""), 0);
        assert_eq!(parse_value("abc"), 0);
        assert_eq!(parse_value("-"), 0);
        assert_eq!(parse_value("99999999999999999999999"), i64::MAX);
        assert_eq!(parse_value("-99999999999999999999999"), i64::MIN);
    }

    fn spec(path: &Path) -> TrackFileSpec {
        TrackFileSpec {
            name: "f".into(),
            path: path.to_path_buf(),
            weight: 0,
            reverse: false,
            init_file: Some((0, false)),
        }
    }

    async fn next(rx: &mut mpsc::Receiver<TrackerUpdate>) -> TrackerUpdate {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an update within the deadline")
            .expect("tracker running")
    }

    /// No poll in the test's lifetime: only inotify can deliver the changes.
    const NEVER: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn inotify_reports_writes_renames_and_removal_without_polling() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let (tx, mut rx) = mpsc::channel(8);
        let tracker = FileTracker::start(spec(&path), NEVER, tx).unwrap();
        let first = next(&mut rx).await;
        assert_eq!((first.up, first.value), (true, Some(0)));
        std::fs::write(&path, "5\n").unwrap();
        let second = next(&mut rx).await;
        // Weight 0 and a non-zero value: FAULT.
        assert_eq!((second.up, second.value), (false, Some(5)));
        // Written elsewhere and renamed into place (how elb-check --track-file writes).
        let tmp = dir.path().join(".state.tmp");
        std::fs::write(&tmp, "0\n").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert_eq!(next(&mut rx).await.value, Some(0));
        std::fs::write(&path, "3\n").unwrap();
        assert_eq!(next(&mut rx).await.value, Some(3));
        // Removed: value 0, as keepalived reads a missing file.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(next(&mut rx).await.value, Some(0));
        tracker.stop().await;
    }

    #[tokio::test]
    async fn without_inotify_the_file_is_polled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let (tx, mut rx) = mpsc::channel(8);
        let poll = Duration::from_millis(20);
        let tracker = FileTracker::start_with(spec(&path), poll, tx, false).unwrap();
        assert_eq!(next(&mut rx).await.value, Some(0));
        std::fs::write(&path, "5\n").unwrap();
        assert_eq!(next(&mut rx).await.value, Some(5));
        tracker.stop().await;
    }

    #[tokio::test]
    async fn a_directory_that_cannot_be_watched_falls_back_to_polling() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("later");
        let path = sub.join("state");
        let mut s = spec(&path);
        s.init_file = None;
        let (tx, mut rx) = mpsc::channel(8);
        let poll = Duration::from_millis(20);
        let tracker = FileTracker::start(s, poll, tx).unwrap();
        assert_eq!(
            next(&mut rx).await.value,
            Some(0),
            "missing file reads as 0"
        );
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(&path, "7\n").unwrap();
        assert_eq!(next(&mut rx).await.value, Some(7));
        tracker.stop().await;
    }

    #[tokio::test]
    async fn the_watched_directory_removed_falls_back_to_polling() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("d");
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("state");
        let (tx, mut rx) = mpsc::channel(8);
        let tracker = FileTracker::start(spec(&path), Duration::from_millis(20), tx).unwrap();
        assert_eq!(next(&mut rx).await.value, Some(0));
        std::fs::remove_dir_all(&sub).unwrap();
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(&path, "9\n").unwrap();
        // The removal may or may not be seen as a value (0 again = no change); the new file's
        // value arrives through the poll that replaced the ended watch.
        assert_eq!(next(&mut rx).await.value, Some(9));
        tracker.stop().await;
    }
}
