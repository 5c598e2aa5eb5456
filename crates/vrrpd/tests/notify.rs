//! Notify scripts with real processes: the right arguments, once per transition, in
//! transition order, as the configured user, bounded by a timeout, never blocking the caller.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vrrpd::notify::{Notifier, NotifyScript, NotifySpec, NotifyState, Target};
use vrrpd::scripts::runner::ScriptSettings;

fn write_script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Waits (bounded) until `path` has `n` lines and returns them.
async fn lines(path: &PathBuf, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let got: Vec<String> = text.lines().map(str::to_owned).collect();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "only {got:?} in {}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn generic_and_specific_scripts_run_once_per_transition_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let generic_log = dir.path().join("generic.log");
    let specific_log = dir.path().join("specific.log");
    // The generic script is slow, so transitions queue up behind it.
    let generic = write_script(
        dir.path(),
        "generic.sh",
        &format!("sleep 0.1\necho \"$@\" >> {}", generic_log.display()),
    );
    let specific = write_script(
        dir.path(),
        "specific.sh",
        &format!("echo \"$1\" >> {}", specific_log.display()),
    );
    let mut spec = NotifySpec::new(Target::Instance, "VI_1");
    spec.generic = Some(NotifyScript::new(generic));
    spec.master = Some(NotifyScript::new(format!("{specific} master")));
    spec.backup = Some(NotifyScript::new(format!("{specific} backup")));
    spec.fault = Some(NotifyScript::new(format!("{specific} fault")));
    spec.stop = Some(NotifyScript::new(format!("{specific} stop")));
    spec.timeout = Duration::from_secs(5);
    let notifier = Notifier::start(spec, &ScriptSettings::default(), 16).unwrap();

    let transitions = [
        (NotifyState::Backup, 100),
        (NotifyState::Master, 103),
        (NotifyState::Fault, 101),
        (NotifyState::Backup, 101),
        (NotifyState::Master, 103),
        (NotifyState::Stop, 103),
    ];
    let mut slowest = Duration::ZERO;
    for (state, prio) in transitions {
        let t = Instant::now();
        notifier.notify(state, prio).unwrap();
        slowest = slowest.max(t.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(100),
        "notify blocked {slowest:?}"
    );

    let got = lines(&generic_log, transitions.len()).await;
    assert_eq!(
        got,
        [
            "INSTANCE VI_1 BACKUP 100",
            "INSTANCE VI_1 MASTER 103",
            "INSTANCE VI_1 FAULT 101",
            "INSTANCE VI_1 BACKUP 101",
            "INSTANCE VI_1 MASTER 103",
            "INSTANCE VI_1 STOP 103",
        ]
    );
    let specific = lines(&specific_log, transitions.len()).await;
    assert_eq!(
        specific,
        ["backup", "master", "fault", "backup", "master", "stop"]
    );
    notifier.shutdown(Duration::from_secs(5)).await;
    // Exactly once each: nothing more arrived.
    assert_eq!(
        std::fs::read_to_string(&generic_log)
            .unwrap()
            .lines()
            .count(),
        6
    );
}

#[tokio::test]
async fn group_notify_gets_group_and_priority_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("group.log");
    let generic = write_script(
        dir.path(),
        "g.sh",
        &format!("echo \"$@\" >> {}", log.display()),
    );
    let mut spec = NotifySpec::new(Target::Group, "G_web");
    spec.generic = Some(NotifyScript::new(generic));
    let notifier = Notifier::start(spec, &ScriptSettings::default(), 4).unwrap();
    notifier.notify(NotifyState::Master, 150).unwrap();
    assert_eq!(lines(&log, 1).await, ["GROUP G_web MASTER 0"]);
    notifier.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_hanging_notify_script_is_killed_at_its_timeout_and_later_ones_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("n.log");
    // MASTER hangs; everything else logs.
    let generic = write_script(
        dir.path(),
        "n.sh",
        &format!(
            "[ \"$3\" = MASTER ] && exec sleep 300\necho \"$3\" >> {}",
            log.display()
        ),
    );
    let mut spec = NotifySpec::new(Target::Instance, "VI_2");
    spec.generic = Some(NotifyScript::new(generic));
    spec.timeout = Duration::from_millis(300);
    let notifier = Notifier::start(spec, &ScriptSettings::default(), 4).unwrap();
    let started = Instant::now();
    notifier.notify(NotifyState::Master, 100).unwrap();
    notifier.notify(NotifyState::Backup, 100).unwrap();
    assert_eq!(lines(&log, 1).await, ["BACKUP"]);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(3),
        "{took:?}"
    );
    notifier.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_full_queue_drops_new_notifications_without_blocking() {
    let mut spec = NotifySpec::new(Target::Instance, "VI_3");
    spec.generic = Some(NotifyScript::new("sleep 5"));
    spec.timeout = Duration::from_secs(10);
    let notifier = Notifier::start(spec, &ScriptSettings::default(), 2).unwrap();
    let t = Instant::now();
    let results: Vec<bool> = (0..10)
        .map(|_| notifier.notify(NotifyState::Backup, 1).is_ok())
        .collect();
    assert!(t.elapsed() < Duration::from_millis(200));
    // One is being run, two wait in the queue; the rest are refused.
    let accepted = results.iter().filter(|ok| **ok).count();
    assert!((2..=3).contains(&accepted), "{results:?}");
    notifier.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn notify_scripts_run_as_their_user() {
    if !test_support::require_root("notify_scripts_run_as_their_user") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let log = dir.path().join("uid.log");
    let script = write_script(dir.path(), "uid.sh", &format!("id -u >> {}", log.display()));
    let mut spec = NotifySpec::new(Target::Instance, "VI_4");
    spec.master = Some(NotifyScript {
        command: script,
        user: Some(("nobody".into(), None)),
    });
    let notifier = Notifier::start(spec, &ScriptSettings::default(), 4).unwrap();
    notifier.notify(NotifyState::Master, 100).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    assert_eq!(lines(&log, 1).await, [nobody.uid.to_string()]);
    notifier.shutdown(Duration::from_secs(5)).await;
}
