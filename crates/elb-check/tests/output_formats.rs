//! `--format json` and `--format nagios` against real local servers, and
//! options that belong to one format refused in the others.

mod common;
#[path = "../../elb-probe/tests/support/mod.rs"]
mod support;

use common::{elb_check, expect_code};
use support::{app, http_server, refused_port};

fn json(stdout: &str) -> serde_json::Value {
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn json_reports_verdict_code_status_and_phases() {
    let addr = http_server(app());
    let run = elb_check(&[
        "--format",
        "json",
        &format!("http://{addr}/services/EchoProxy"),
    ]);
    expect_code(&run, 0);
    let v = json(&run.stdout);
    assert_eq!(v["verdict"], "healthy");
    assert_eq!(v["healthy"], true);
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["status"], 200);
    assert_eq!(v["status_line"], "HTTP/1.1 200 OK");
    assert!(v["error"].is_null() && v["failed_phase"].is_null());
    for phase in ["connect", "send", "wait", "receive"] {
        assert!(v["phases_ms"][phase].as_f64().is_some(), "{phase}: {v}");
    }
    assert!(v["total_ms"].as_f64().unwrap() > 0.0);

    let run = elb_check(&["--format", "json", &format!("http://{addr}/status/503")]);
    expect_code(&run, 8);
    let v = json(&run.stdout);
    assert_eq!(
        (v["exit_code"].as_u64(), v["status"].as_u64()),
        (Some(8), Some(503))
    );
    assert_eq!(v["failed_phase"], "judge");
    assert!(v["error"].as_str().unwrap().contains("503"), "{v}");

    let run = elb_check(&["--format", "json", &format!("http://{}/", refused_port())]);
    expect_code(&run, 4);
    let v = json(&run.stdout);
    assert_eq!(v["verdict"], "network failure");
    assert_eq!(v["failed_phase"], "connect");
    assert!(v["status"].is_null());

    let run = elb_check(&["--format", "json", "-e", "nope", "http://127.0.0.1/"]);
    expect_code(&run, 2);
    assert_eq!(json(&run.stdout)["verdict"], "usage error");
}

#[test]
fn nagios_perfdata_has_every_phase() {
    let addr = http_server(app());
    let run = elb_check(&["--format", "nagios", &format!("http://{addr}/")]);
    expect_code(&run, 0);
    let perf = run.stdout.split_once('|').expect("perfdata").1;
    for label in [
        "time=",
        "size=",
        "time_connect=",
        "time_headers=",
        "time_firstbyte=",
        "time_transfer=",
    ] {
        assert!(perf.contains(label), "{label} missing in {perf}");
    }
}

#[test]
fn options_of_one_format_are_refused_in_the_others() {
    for format in [None, Some("plain"), Some("json")] {
        for flag in ["--warning", "--critical"] {
            let mut args = Vec::new();
            if let Some(f) = format {
                args.extend(["--format", f]);
            }
            args.extend([flag, "1s", "http://127.0.0.1:1/"]);
            let run = elb_check(&args);
            expect_code(&run, 2);
            assert!(
                run.stderr.contains(&format!(
                    "{flag} sets a Nagios response-time threshold: it needs --format nagios"
                )),
                "{args:?}: {}",
                run.stderr
            );
        }
    }
}
