//! Certificates made the way operators make them (the `openssl` one-liners,
//! and rcgen for dates openssl 3.0 cannot set), served by a real rustls
//! server: trusted as curl trusts them with `--cacert`, every refusal one
//! line in plain words with exit 5, and `--cert-days`.

mod common;
#[path = "../../elb-probe/tests/support/mod.rs"]
mod support;

use std::path::Path;

use common::{elb_check, expect_code};
use support::{Leaf, Pki, app, openssl, tls_server};

/// `openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=NAME -addext subjectAltName=DNS:NAME`:
/// the self-signed CA:TRUE certificate most how-tos produce.
fn openssl_self_signed(dir: &Path, label: &str, name: &str, days: &str) -> Leaf {
    let (cert, key) = (format!("{label}.pem"), format!("{label}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            &format!("subjectAltName=DNS:{name}"),
            "-days",
            days,
            "-keyout",
            &key,
            "-out",
            &cert,
        ],
    );
    Leaf::from_pem_files(&dir.join(cert), &dir.join(key))
}

/// The error line elb-check prints with -v for a failed probe.
fn last_line(stderr: &str) -> &str {
    stderr.lines().last().unwrap_or_default()
}

#[test]
fn openssl_self_signed_certificate_is_trusted_with_cacert_like_curl() {
    let dir = tempfile::tempdir().unwrap();
    let leaf = openssl_self_signed(dir.path(), "server", "localhost", "30");
    let addr = tls_server(&leaf, None, app());
    let cacert = leaf.cert_file.display().to_string();
    let url = format!("https://localhost:{}/services/EchoProxy", addr.port());
    expect_code(&elb_check(&["--cacert", &cacert, &url]), 0);

    // Its own name only: the same certificate reached as 127.0.0.1 is refused, naming its names.
    let run = elb_check(&["-v", "--cacert", &cacert, &format!("https://{addr}/")]);
    expect_code(&run, 5);
    assert!(
        last_line(&run.stderr).contains("certificate is for localhost, not for 127.0.0.1"),
        "{}",
        run.stderr
    );

    // Without --cacert the system store does not know it.
    let run = elb_check(&["-v", &url]);
    expect_code(&run, 5);
    assert!(
        last_line(&run.stderr).contains("self-signed certificate (localhost) is not trusted"),
        "{}",
        run.stderr
    );
    // Another self-signed certificate in --cacert does not trust this one.
    let other = openssl_self_signed(dir.path(), "other", "localhost", "30");
    let run = elb_check(&[
        "-v",
        "--cacert",
        &other.cert_file.display().to_string(),
        &url,
    ]);
    expect_code(&run, 5);
    assert!(
        last_line(&run.stderr).contains("not in the --cacert file"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("CaUsedAsEndEntity") && !run.stderr.contains("Other("));
}

#[test]
fn openssl_ca_and_signed_server_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_self_signed(d, "ca", "Test CA", "30");
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        d.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    );
    let leaf = Leaf::from_pem_files(&d.join("server.pem"), &d.join("server.key"));
    let addr = tls_server(&leaf, None, app());
    let ca = d.join("ca.pem").display().to_string();
    expect_code(
        &elb_check(&["--cacert", &ca, &format!("https://{addr}/")]),
        0,
    );
    expect_code(
        &elb_check(&[
            "--cacert",
            &ca,
            &format!("https://localhost:{}/", addr.port()),
        ]),
        0,
    );
    let stranger = Pki::new();
    let run = elb_check(&[
        "-v",
        "--cacert",
        &stranger.ca_file().display().to_string(),
        &format!("https://{addr}/"),
    ]);
    expect_code(&run, 5);
    assert!(
        last_line(&run.stderr).contains(
            "certificate (localhost, 127.0.0.1) is signed by an unknown authority: its issuer is not in the --cacert file"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn expired_and_not_yet_valid_say_the_date() {
    let pki = Pki::new();
    let ca = pki.ca_file().display().to_string();
    let old = tls_server(&pki.leaf("old", &["localhost"], true), None, app());
    let run = elb_check(&[
        "-v",
        "--cacert",
        &ca,
        &format!("https://localhost:{}/", old.port()),
    ]);
    expect_code(&run, 5);
    assert!(
        last_line(&run.stderr)
            .contains("certificate (localhost) expired on 2021-01-01 00:00:00 UTC ("),
        "{}",
        run.stderr
    );

    // A pinned self-signed certificate gets the same date checks.
    for (label, from, until, words) in [
        (
            "stale",
            (2019, 1, 1),
            (2020, 6, 1),
            "expired on 2020-06-01 00:00:00 UTC",
        ),
        (
            "future",
            (2090, 1, 1),
            (2091, 1, 1),
            "is not valid until 2090-01-01 00:00:00 UTC",
        ),
    ] {
        let leaf = pki.self_signed(label, &["localhost"], from, until);
        let addr = tls_server(&leaf, None, app());
        let run = elb_check(&[
            "-v",
            "--cacert",
            &leaf.cert_file.display().to_string(),
            &format!("https://localhost:{}/", addr.port()),
        ]);
        expect_code(&run, 5);
        assert!(
            last_line(&run.stderr).contains(words),
            "{label}: {}",
            run.stderr
        );
    }
}

#[test]
fn cert_days_warns_before_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let leaf = openssl_self_signed(dir.path(), "soon", "localhost", "5");
    let addr = tls_server(&leaf, None, app());
    let cacert = leaf.cert_file.display().to_string();
    let url = format!("https://localhost:{}/", addr.port());
    expect_code(
        &elb_check(&["--cacert", &cacert, "--cert-days", "3", &url]),
        0,
    );
    let run = elb_check(&["-v", "--cacert", &cacert, "--cert-days", "10", &url]);
    expect_code(&run, 5);
    // `-days 5` from openssl: 5 whole days in the same second, 4 after it.
    let soon = |text: &str| {
        ["expires in 4 days (", "expires in 5 days ("]
            .iter()
            .any(|w| text.contains(w))
    };
    assert!(
        soon(last_line(&run.stderr)) && run.stderr.contains("within --cert-days 10"),
        "{}",
        run.stderr
    );
    // -k skips trust but still reads the dates.
    expect_code(&elb_check(&["-k", "--cert-days", "10", &url]), 5);
    // Nagios: WARNING within the days, as check_http -C.
    let run = elb_check(&[
        "--format",
        "nagios",
        "--cacert",
        &cacert,
        "--cert-days",
        "10",
        &url,
    ]);
    expect_code(&run, 1);
    assert!(
        run.stdout.starts_with("HTTP WARNING: ") && soon(&run.stdout),
        "{}",
        run.stdout
    );
    // Plain http has no certificate to check: refused as a usage error.
    let run = elb_check(&["--cert-days", "10", "http://127.0.0.1:1/"]);
    expect_code(&run, 2);
    assert!(
        run.stderr.contains("--cert-days needs an https:// URL"),
        "{}",
        run.stderr
    );
}
