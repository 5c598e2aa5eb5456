//! OCSP stapling from a file: a real OCSP response made with `openssl ocsp` is stapled to
//! handshakes (seen by `openssl s_client -status`), re-read at reload, and `--check` says
//! when a file is no OCSP response or one for another certificate.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use test_support::pki::openssl;

/// A CA and a leaf for `ocsp.test` signed by it (real openssl, as an operator makes them).
fn make_ca_and_leaf(d: &Path, leaf: &str) {
    if !d.join("ca.pem").exists() {
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=OCSP test CA",
                "-days",
                "30",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
            ],
        );
        std::fs::write(d.join("ext.cnf"), "subjectAltName=DNS:ocsp.test\n").unwrap();
    }
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{leaf}.key"),
            "-out",
            &format!("{leaf}.csr"),
            "-subj",
            "/CN=ocsp.test",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{leaf}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &format!("{leaf}.pem"),
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
        ],
    );
}

/// `openssl ocsp` as the responder: a `good` answer for `leaf`, valid `days`, into `out`.
fn make_ocsp(d: &Path, leaf: &str, days: &str, out: &str) {
    let serial = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(d.join(format!("{leaf}.pem")))
        .output()
        .unwrap();
    let serial = String::from_utf8_lossy(&serial.stdout);
    let serial = serial.trim().trim_start_matches("serial=");
    std::fs::write(
        d.join("index.txt"),
        format!("V\t491231235959Z\t\t{serial}\tunknown\t/CN=ocsp.test\n"),
    )
    .unwrap();
    openssl(
        d,
        &[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-cert",
            &format!("{leaf}.pem"),
            "-no_nonce",
            "-reqout",
            "req.der",
        ],
    );
    openssl(
        d,
        &[
            "ocsp",
            "-index",
            "index.txt",
            "-rsigner",
            "ca.pem",
            "-rkey",
            "ca.key",
            "-CA",
            "ca.pem",
            "-reqin",
            "req.der",
            "-respout",
            out,
            "-ndays",
            days,
        ],
    );
}

/// What `openssl s_client -status` prints about the staple from `addr`.
fn s_client_status(addr: std::net::SocketAddr) -> String {
    let out = Command::new("timeout")
        .args([
            "-s",
            "KILL",
            "20",
            "openssl",
            "s_client",
            "-connect",
            &addr.to_string(),
            "-servername",
            "ocsp.test",
            "-status",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn next_update(status: &str) -> Option<String> {
    status
        .lines()
        .find(|l| l.trim_start().starts_with("Next Update:"))
        .map(|l| l.trim().to_string())
}

/// A TLS listener serving `leaf`, stapling `ocsp` when given.
fn yaml(d: &Path, leaf: &str, ocsp: Option<&str>) -> String {
    let member: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let staple = ocsp.map_or(String::new(), |o| {
        format!(", ocsp_response: {}/{o}", d.display())
    });
    format!(
        "listeners:\n  - address: \"{{listen}}\"\n    tls:\n      certificates:\n        - {{ cert: {0}/{leaf}.pem, key: {0}/{leaf}.key, ca: {0}/ca.pem{staple} }}\nclusters:\n{1}default_cluster: c\n",
        d.display(),
        cluster_yaml("c", &[("b", member, 1)], "")
    )
}

#[test]
fn a_stapled_ocsp_response_is_seen_by_s_client_and_reread_at_reload() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_ca_and_leaf(d, "leaf");
    make_ocsp(d, "leaf", "1", "leaf.ocsp");
    let p = start_proxy(&yaml(d, "leaf", Some("leaf.ocsp")));
    let first = s_client_status(p.addr);
    assert!(
        first.contains("OCSP Response Status: successful"),
        "{first}"
    );
    assert!(first.contains("Cert Status: good"), "{first}");
    // A fresh response (valid longer) replaces the file; a reload staples it.
    make_ocsp(d, "leaf", "3", "leaf.ocsp");
    let (ok, out) = p.ctl("reload");
    assert!(ok, "{out}");
    let second = s_client_status(p.addr);
    assert!(second.contains("Cert Status: good"), "{second}");
    assert!(next_update(&first).is_some());
    assert_ne!(next_update(&first), next_update(&second), "{second}");
    // Without the key, no staple is sent.
    let plain = start_proxy(&yaml(d, "leaf", None));
    let none = s_client_status(plain.addr);
    assert!(none.contains("OCSP response: no response sent"), "{none}");
}

#[test]
fn check_refuses_a_file_that_is_no_ocsp_response_or_one_for_another_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_ca_and_leaf(d, "leaf");
    make_ca_and_leaf(d, "other");
    make_ocsp(d, "other", "1", "other.ocsp");
    std::fs::write(d.join("junk.ocsp"), b"not DER").unwrap();
    let (ok, out) = check_config(d, &yaml(d, "leaf", Some("junk.ocsp")));
    assert!(
        !ok && out.contains("junk.ocsp: not a DER OCSP response"),
        "{out}"
    );
    let (ok, out) = check_config(d, &yaml(d, "leaf", Some("other.ocsp")));
    assert!(!ok && out.contains("not for this certificate"), "{out}");
    make_ocsp(d, "leaf", "1", "leaf.ocsp");
    let (ok, out) = check_config(d, &yaml(d, "leaf", Some("leaf.ocsp")));
    assert!(ok, "{out}");
}
