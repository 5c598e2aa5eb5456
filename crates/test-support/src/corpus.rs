//! Replay of fuzz corpora on stable, through the function the fuzz target itself calls.
//!
//! Layout, per crate: `fuzz/corpus/<target>/` (seeds and what the fuzzer kept) and
//! `fuzz/regressions/<target>/` (every crash input ever found, kept forever). The check is
//! shared, never copied: the fuzz target and the test call the same `fn(&[u8])`.

use std::path::{Path, PathBuf};

/// Replays `fuzz/corpus/<target>` and `fuzz/regressions/<target>` under `crate_dir` through
/// `check`, in file-name order, and returns how many inputs ran.
///
/// A failing input fails the test naming its file. A missing or short corpus (fewer than
/// `at_least` files) fails under CI and skips elsewhere (see [`crate::gate`]); the regressions
/// directory may be absent (no crash found yet).
pub fn replay(crate_dir: &str, target: &str, at_least: usize, check: fn(&[u8])) -> usize {
    let fuzz = Path::new(crate_dir).join("fuzz");
    let seeds = files(&fuzz.join("corpus").join(target));
    if seeds.len() < at_least {
        let what = format!(
            "at least {at_least} inputs in {} (found {})",
            fuzz.join("corpus").join(target).display(),
            seeds.len()
        );
        crate::gate::skip_or_fail(&format!("corpus replay of {target}"), &what);
        return 0;
    }
    let crashes = files(&fuzz.join("regressions").join(target));
    let mut n = 0;
    for path in seeds.iter().chain(&crashes) {
        run_one(path, check);
        n += 1;
    }
    n
}

/// The regular files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.expect("readable corpus directory").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
}

fn run_one(path: &Path, check: fn(&[u8])) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if std::panic::catch_unwind(|| check(&data)).is_err() {
        panic!("fuzz input {} fails the target's check", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch crate dir holding `fuzz/<kind>/t/<name>` files.
    fn scratch(files: &[(&str, &str, &[u8])]) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("test-support-{}-{n}", std::process::id()));
        for (kind, name, data) in files {
            let d = dir.join("fuzz").join(kind).join("t");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(name), data).unwrap();
        }
        dir
    }

    fn no_x(data: &[u8]) {
        assert!(!data.contains(&b'x'), "found x");
    }

    #[test]
    fn replay_runs_the_corpus_and_every_regression() {
        let dir = scratch(&[
            ("corpus", "a", b"a"),
            ("corpus", "b", b"b"),
            ("regressions", "c", b"c"),
        ]);
        assert_eq!(replay(dir.to_str().unwrap(), "t", 2, no_x), 3);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[should_panic(expected = "fuzz/regressions/t/crash-1 fails the target's check")]
    fn a_regression_that_breaks_the_check_fails_naming_its_file() {
        let dir = scratch(&[("corpus", "a", b"a"), ("regressions", "crash-1", b"x")]);
        let crate_dir = dir.to_str().unwrap().to_string();
        let _cleanup = Cleanup(dir);
        replay(&crate_dir, "t", 1, no_x);
    }

    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
