//! https probes against a real rustls server with a CA generated at test
//! time: trusted, untrusted, wrong host name, expired, --insecure, SNI
//! override, client certificates, and plain HTTP on an https URL.

mod common;
#[path = "../../elb-probe/tests/support/mod.rs"]
mod support;

use common::{elb_check, expect_code};
use support::{Pki, app, http_server, tls_server};

#[test]
fn verified_certificate_is_healthy_and_times_the_handshake() {
    let pki = Pki::new();
    let leaf = pki.leaf("good", &["localhost", "127.0.0.1"], false);
    let addr = tls_server(&leaf, None, app());
    let ca = pki.ca_file().display().to_string();
    let run = elb_check(&[
        "-v",
        "--cacert",
        &ca,
        &format!("https://localhost:{}/services/EchoProxy", addr.port()),
    ]);
    expect_code(&run, 0);
    assert!(run.stderr.contains("elb-check: tls "), "{}", run.stderr);
    // An IP literal is checked against the certificate's IP SAN.
    expect_code(
        &elb_check(&["--cacert", &ca, &format!("https://{addr}/")]),
        0,
    );
    // Status rules still apply over TLS.
    expect_code(
        &elb_check(&["--cacert", &ca, &format!("https://{addr}/status/503")]),
        8,
    );
}

#[test]
fn certificate_problems_are_5() {
    let pki = Pki::new();
    let ca = pki.ca_file().display().to_string();

    // Unknown CA: the system store does not know the test CA.
    let good = tls_server(&pki.leaf("good", &["localhost"], false), None, app());
    let url = format!("https://localhost:{}/", good.port());
    let run = elb_check(&["-v", &url]);
    expect_code(&run, 5);
    assert!(run.stderr.contains("in tls"), "{}", run.stderr);
    // ... unless verification is explicitly off.
    expect_code(&elb_check(&["-k", &url]), 0);

    // Wrong host name.
    let other = tls_server(&pki.leaf("other", &["other.example"], false), None, app());
    let url = format!("https://localhost:{}/", other.port());
    let run = elb_check(&["-v", "--cacert", &ca, &url]);
    expect_code(&run, 5);
    assert!(
        run.stderr
            .contains("certificate is for other.example, not for localhost"),
        "{}",
        run.stderr
    );
    // --sni (or --host) names the certificate to expect.
    expect_code(
        &elb_check(&["--cacert", &ca, "--sni", "other.example", &url]),
        0,
    );
    expect_code(
        &elb_check(&[
            "--cacert",
            &ca,
            "--host",
            "other.example",
            "-s",
            "host=other.example",
            &format!("https://localhost:{}/echo", other.port()),
        ]),
        0,
    );

    // Expired.
    let old = tls_server(&pki.leaf("old", &["localhost"], true), None, app());
    let url = format!("https://localhost:{}/", old.port());
    let run = elb_check(&["-v", "--cacert", &ca, &url]);
    expect_code(&run, 5);
    assert!(
        run.stderr.to_lowercase().contains("expired"),
        "{}",
        run.stderr
    );
    expect_code(&elb_check(&["-k", &url]), 0);
}

#[test]
fn client_certificates() {
    let pki = Pki::new();
    let ca = pki.ca_file().display().to_string();
    let server_leaf = pki.leaf("server", &["localhost"], false);
    let client = pki.leaf("client", &["probe.client"], false);
    let addr = tls_server(&server_leaf, Some(pki.roots()), app());
    let url = format!("https://localhost:{}/", addr.port());
    let without = elb_check(&["-v", "--cacert", &ca, &url]);
    expect_code(&without, 5);
    let cert = client.cert_file.display().to_string();
    let key = client.key_file.display().to_string();
    expect_code(
        &elb_check(&["--cacert", &ca, "--cert", &cert, "--key", &key, &url]),
        0,
    );
    // A key file that holds no key is a setup error (1).
    expect_code(
        &elb_check(&["--cacert", &ca, "--cert", &cert, "--key", &ca, &url]),
        1,
    );
}

#[test]
fn plain_http_on_an_https_url_is_a_protocol_error() {
    let addr = http_server(app());
    let run = elb_check(&["-v", "-k", &format!("https://{addr}/")]);
    expect_code(&run, 7);
    assert!(run.stderr.contains("in tls"), "{}", run.stderr);
}
