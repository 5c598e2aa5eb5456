//! The file keepalived's and vrrpd's `track_file` read: one integer and a
//! newline, replaced by an atomic rename so a reader never sees a partial
//! write (a new temporary file in the same directory, written, fsynced,
//! renamed over the old one).

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Where the value goes and what up and down are written as.
#[derive(Debug, Clone)]
pub struct TrackFile {
    path: PathBuf,
    temporary: PathBuf,
    /// Written while healthy (keepalived: 0 = no priority change).
    pub up_value: i64,
    /// Written while unhealthy (-254 puts the instance in FAULT with weight 1 or 0).
    pub down_value: i64,
}

impl TrackFile {
    /// A track file at `path`, written through `.PATH.elb-check.tmp` beside it.
    pub fn new(path: &Path, up_value: i64, down_value: i64) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "track".to_string());
        let temporary = path.with_file_name(format!(".{name}.elb-check.tmp"));
        Self {
            path: path.to_path_buf(),
            temporary,
            up_value,
            down_value,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the file's contents with the value for `up`.
    pub fn write(&self, up: bool) -> io::Result<()> {
        let value = if up { self.up_value } else { self.down_value };
        let mut file = fs::File::create(&self.temporary)?;
        writeln!(file, "{value}")?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.temporary, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_value_by_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("elb.track");
        let file = TrackFile::new(&path, 0, -254);
        file.write(true).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "0\n");
        let before = fs::metadata(&path).unwrap();
        file.write(false).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "-254\n");
        use std::os::unix::fs::MetadataExt as _;
        assert_ne!(
            before.ino(),
            fs::metadata(&path).unwrap().ino(),
            "a new inode: renamed"
        );
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
    }
}
