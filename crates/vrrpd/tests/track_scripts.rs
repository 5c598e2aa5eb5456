//! Track scripts with real processes: rise/fall, timeouts that kill the whole process group,
//! skipped runs, chatty and forking scripts, users, a clean environment, no zombies.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use vrrpd::scripts::runner::{ScriptSettings, ScriptTracker, TrackScriptSpec, TrackerUpdate};

const WAIT: Duration = Duration::from_secs(10);

fn spec(name: &str, command: &str, interval_ms: u64) -> TrackScriptSpec {
    TrackScriptSpec {
        interval: Duration::from_millis(interval_ms),
        ..TrackScriptSpec::new(name, command)
    }
}

async fn next(rx: &mut mpsc::Receiver<TrackerUpdate>) -> TrackerUpdate {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("an update within the deadline")
        .expect("runner alive")
}

/// Polls `done` until it holds; fails the test after [`WAIT`].
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    test_support::wait_until_async(WAIT, what, || {
        let held = done();
        async move { held.then_some(()) }
    })
    .await
}

fn write_script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_owned()
}

fn process_alive(pid: i32) -> bool {
    // A zombie still has a /proc entry; count it as gone only when it is not running.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Zombie children of this test process (state Z with our pid as parent).
fn our_zombies() -> Vec<i32> {
    let me = std::process::id().to_string();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let rest: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if rest.first() == Some(&"Z") && rest.get(1) == Some(&me.as_str()) {
            zombies.push(pid);
        }
    }
    zombies
}

#[tokio::test]
async fn rise_and_fall_filter_a_script_driven_by_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("healthy");
    std::fs::write(&flag, "").unwrap();
    let cmd = format!("test -e {}", flag.display());
    let (tx, mut rx) = mpsc::channel(16);
    let s = TrackScriptSpec {
        rise: 2,
        fall: 3,
        ..spec("chk_file", &cmd, 50)
    };
    let tracker = ScriptTracker::start(s, &ScriptSettings::default(), tx).unwrap();
    let initial = next(&mut rx).await;
    assert!(initial.up, "{initial:?}");

    let removed_at = Instant::now();
    std::fs::remove_file(&flag).unwrap();
    let down = next(&mut rx).await;
    let took = removed_at.elapsed();
    assert!(!down.up);
    assert!(
        down.reason.contains("failed 3 time(s) in a row"),
        "{}",
        down.reason
    );
    assert!(down.reason.contains("exit status 1"), "{}", down.reason);
    // Three failing runs at 50 ms need at least ~100 ms, and far less than a second.
    assert!(
        took >= Duration::from_millis(90) && took < Duration::from_secs(2),
        "{took:?}"
    );

    std::fs::write(&flag, "").unwrap();
    let up = next(&mut rx).await;
    assert!(up.up);
    assert!(up.reason.contains("succeeded 2 time(s)"), "{}", up.reason);
    let counters = tracker.counters();
    assert!(counters.runs >= 5 && counters.failures >= 3, "{counters:?}");
    tracker.stop().await;
    assert_eq!(our_zombies(), Vec::<i32>::new());
}

#[tokio::test]
async fn init_fail_starts_down_and_a_passing_script_brings_it_up() {
    let (tx, mut rx) = mpsc::channel(16);
    let s = TrackScriptSpec {
        init_fail: true,
        ..spec("chk_true", "/bin/true", 50)
    };
    let tracker = ScriptTracker::start(s, &ScriptSettings::default(), tx).unwrap();
    let initial = next(&mut rx).await;
    assert!(!initial.up && initial.reason.contains("init_fail"));
    assert!(next(&mut rx).await.up);
    tracker.stop().await;
}

#[tokio::test]
async fn a_hanging_script_is_killed_with_its_group_at_the_timeout_and_counts_as_failure() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // The script starts a grandchild in the same group, records both pids, then hangs.
    let script = write_script(
        dir.path(),
        "hang.sh",
        &format!("sleep 300 &\necho $$ $! > {}\nwait", pids.display()),
    );
    let (tx, mut rx) = mpsc::channel(16);
    let s = TrackScriptSpec {
        timeout: Some(Duration::from_millis(300)),
        ..spec("chk_hang", &script, 1000)
    };
    let started = Instant::now();
    let tracker = ScriptTracker::start(s, &ScriptSettings::default(), tx).unwrap();
    assert!(next(&mut rx).await.up);
    let down = next(&mut rx).await;
    let took = started.elapsed();
    assert!(!down.up);
    assert!(
        down.reason.contains("timed out after 0.300s"),
        "{}",
        down.reason
    );
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let recorded = std::fs::read_to_string(&pids).unwrap();
    let ids: Vec<i32> = recorded
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{recorded}");
    // SIGKILL/SIGTERM delivery to the grandchild is asynchronous: give it a moment to die.
    let deadline = Instant::now() + Duration::from_secs(2);
    for pid in ids {
        while process_alive(pid) {
            assert!(
                Instant::now() < deadline,
                "pid {pid} of the killed group still runs"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert_eq!(tracker.counters().timeouts, 1);
    tracker.stop().await;
    assert_eq!(our_zombies(), Vec::<i32>::new());
}

#[tokio::test]
async fn a_script_ignoring_sigterm_gets_sigkill_two_seconds_later() {
    let dir = tempfile::tempdir().unwrap();
    let script = write_script(dir.path(), "stubborn.sh", "trap '' TERM\nsleep 300");
    let (tx, mut rx) = mpsc::channel(16);
    let s = TrackScriptSpec {
        timeout: Some(Duration::from_millis(200)),
        ..spec("chk_stubborn", &script, 10_000)
    };
    let started = Instant::now();
    let tracker = ScriptTracker::start(s, &ScriptSettings::default(), tx).unwrap();
    assert!(next(&mut rx).await.up);
    assert!(!next(&mut rx).await.up);
    // The failure is reported once the group is dead: timeout + the 2 s grace.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(2150) && took < Duration::from_secs(5),
        "{took:?}"
    );
    tracker.stop().await;
    assert_eq!(our_zombies(), Vec::<i32>::new());
}

#[tokio::test]
async fn a_run_still_going_at_the_next_interval_is_skipped() {
    let (tx, mut rx) = mpsc::channel(16);
    let s = TrackScriptSpec {
        timeout: Some(Duration::from_secs(5)),
        ..spec("chk_slow", "sleep 0.35", 100)
    };
    let tracker = ScriptTracker::start(s, &ScriptSettings::default(), tx).unwrap();
    assert!(next(&mut rx).await.up);
    // Wait for the first run to finish (a skipped tick happens meanwhile).
    let deadline = Instant::now() + WAIT;
    while tracker.counters().runs < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let c = tracker.counters();
    assert!(c.runs >= 2, "{c:?}");
    assert!(c.skipped >= 2, "{c:?}");
    assert_eq!(c.failures, 0, "{c:?}");
    tracker.stop().await;
}

#[tokio::test]
async fn flooding_stdout_and_forking_children_stall_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // 50 MB to stdout and stderr, then 50 children that outlive the script briefly.
    let flood = write_script(
        dir.path(),
        "flood.sh",
        "head -c 50000000 /dev/zero\nhead -c 1000000 /dev/zero >&2\n\
         i=0; while [ $i -lt 50 ]; do sleep 1 & i=$((i+1)); done\nexit 0",
    );
    let (tx, mut rx) = mpsc::channel(64);
    let flood_spec = TrackScriptSpec {
        timeout: Some(Duration::from_secs(5)),
        ..spec("chk_flood", &flood, 100)
    };
    let cadence_spec = spec("chk_cadence", "/bin/true", 50);
    let settings = ScriptSettings::default();
    let a = ScriptTracker::start(flood_spec, &settings, tx.clone()).unwrap();
    let b = ScriptTracker::start(cadence_spec, &settings, tx).unwrap();
    let started = Instant::now();
    // Meanwhile the runtime stays responsive: a 10 ms timer fires on time.
    let mut worst = Duration::ZERO;
    for _ in 0..50 {
        let t = Instant::now();
        tokio::time::sleep(Duration::from_millis(10)).await;
        worst = worst.max(t.elapsed());
    }
    let elapsed = started.elapsed();
    let fa = a.counters();
    let fb = b.counters();
    assert_eq!(fa.failures, 0, "{fa:?}");
    assert!(fa.runs >= 2, "flood script ran {fa:?} in {elapsed:?}");
    // The cheap script kept its 50 ms cadence (allow for slow CI machines).
    let expected = (elapsed.as_millis() / 50) as u64;
    assert!(fb.runs * 2 >= expected, "{fb:?} in {elapsed:?}");
    assert!(
        worst < Duration::from_millis(200),
        "timer late by {worst:?}"
    );
    let mut ups = 0;
    while let Ok(u) = rx.try_recv() {
        assert!(u.up, "{u:?}");
        ups += 1;
    }
    assert_eq!(ups, 2, "only the two initial states, no changes");
    a.stop().await;
    b.stop().await;
    assert_eq!(our_zombies(), Vec::<i32>::new());
}

#[tokio::test]
async fn scripts_run_as_the_configured_user_with_a_clean_environment() {
    if !test_support::require_root("scripts_run_as_the_configured_user_with_a_clean_environment") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = dir.path().join("env.txt");
    // A shell line starting with an executable would be exec'd directly (keepalived's rule),
    // so the redirections live in a script file.
    let cmd = write_script(
        dir.path(),
        "whoami.sh",
        &format!(
            "id -u > {o}.tmp; env >> {o}.tmp; mv {o}.tmp {o}",
            o = out.display()
        ),
    );
    let (tx, mut rx) = mpsc::channel(16);
    let s = TrackScriptSpec {
        user: Some(("nobody".into(), None)),
        ..spec("chk_user", &cmd, 60_000)
    };
    let tracker = ScriptTracker::start(s, &ScriptSettings::default(), tx).unwrap();
    assert!(next(&mut rx).await.up);
    let deadline = Instant::now() + WAIT;
    while !out.exists() {
        let c = tracker.counters();
        assert!(Instant::now() < deadline, "script did not run: {c:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    assert_eq!(lines.next(), Some(nobody.uid.to_string().as_str()));
    let vars: Vec<&str> = lines.map(|l| l.split('=').next().unwrap()).collect();
    // PATH, plus what sh itself sets (PWD); nothing inherited from the test process.
    for var in &vars {
        assert!(
            ["PATH", "PWD", "SHLVL", "_", "OLDPWD"].contains(var),
            "{vars:?}"
        );
    }
    assert!(vars.contains(&"PATH"));
    tracker.stop().await;
}

#[tokio::test]
async fn script_security_refuses_a_world_writable_script() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let script = write_script(dir.path(), "chk.sh", "exit 0");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (tx, _rx) = mpsc::channel(16);
    let settings = ScriptSettings {
        enable_script_security: true,
        default_user: None,
    };
    let err = ScriptTracker::start(spec("chk_unsafe", &script, 1000), &settings, tx).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("chk_unsafe") && msg.contains("refusing"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_pushed_down_moves_at_once_and_holds_until_the_script_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("healthy");
    std::fs::write(&flag, "").unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let s = spec("chk_push", &format!("test -e {}", flag.display()), 50);
    let tracker = ScriptTracker::start(s, &ScriptSettings::default(), tx).unwrap();
    assert!(next(&mut rx).await.up);
    let pushed_at = Instant::now();
    tracker.push(false).unwrap();
    let down = next(&mut rx).await;
    assert!(!down.up && down.reason.contains("pushed down"), "{down:?}");
    assert!(pushed_at.elapsed() < Duration::from_millis(100));
    assert_eq!(tracker.pushed(), Some(false));
    // Passing runs do not undo the push...
    let runs = tracker.counters().runs;
    wait_until("four more passing runs", || {
        tracker.counters().runs >= runs + 4
    })
    .await;
    assert!(rx.try_recv().is_err(), "state changed back while pushed");
    // ...until the script has failed once (the push is released), then passes again.
    std::fs::remove_file(&flag).unwrap();
    let failures = tracker.counters().failures;
    wait_until("a failing run", || tracker.counters().failures > failures).await;
    assert_eq!(tracker.pushed(), None, "a failing run releases the push");
    std::fs::write(&flag, "").unwrap();
    let up = next(&mut rx).await;
    assert!(up.up && up.reason.contains("succeeded"), "{up:?}");
    tracker.stop().await;
}
