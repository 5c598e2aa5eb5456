//! `track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }`: an
//! integer in a file, read periodically; every change of the value is reported on the same
//! channel as script changes, with `value` set. The file is polled (a stat and a small
//! read), which is cheap at the default 200 ms and needs no inotify descriptor.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::priority::{TrackedState, TrackerInput, adjustment};
use super::runner::TrackerUpdate;

/// How often a tracked file is re-read.
pub const DEFAULT_POLL: Duration = Duration::from_millis(200);

/// Reads at most this many bytes of a tracked file (an integer needs far fewer).
const MAX_READ: u64 = 4096;

/// A `track_file` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFileSpec {
    pub name: String,
    pub path: PathBuf,
    /// keepalived's default weight for files is 1.
    pub weight: i64,
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
    /// Applies `init_file`, sends the initial value and polls every `poll`.
    pub fn start(
        spec: TrackFileSpec,
        poll: Duration,
        updates: mpsc::Sender<TrackerUpdate>,
    ) -> std::io::Result<Self> {
        if let Some((value, overwrite)) = spec.init_file
            && (overwrite || !spec.path.exists())
        {
            std::fs::write(&spec.path, format!("{value}\n"))?;
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(poll_loop(spec, poll, updates, stop_rx));
        Ok(FileTracker { stop_tx, task })
    }

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

async fn poll_loop(
    spec: TrackFileSpec,
    poll: Duration,
    updates: mpsc::Sender<TrackerUpdate>,
    mut stop_rx: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(poll.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last: Option<i64> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
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

    #[tokio::test]
    async fn reports_initial_value_and_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let spec = TrackFileSpec {
            name: "f".into(),
            path: path.clone(),
            weight: 0,
            reverse: false,
            init_file: Some((0, false)),
        };
        let (tx, mut rx) = mpsc::channel(8);
        let tracker = FileTracker::start(spec, Duration::from_millis(20), tx).unwrap();
        let first = rx.recv().await.unwrap();
        assert_eq!((first.up, first.value), (true, Some(0)));
        std::fs::write(&path, "5\n").unwrap();
        let second = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        // Weight 0 and a non-zero value: FAULT.
        assert_eq!((second.up, second.value), (false, Some(5)));
        tracker.stop().await;
    }
}
