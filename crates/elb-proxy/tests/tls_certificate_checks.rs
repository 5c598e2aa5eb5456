//! Certificates are checked before they are served: a key that does not match, an expired
//! chain, a chain that does not verify and a `server_names` entry the certificate does not
//! cover are errors at `--check`, at start and at reload (which keeps the old certificates);
//! a chain expiring soon is warned about and listed in `show info`; `server_names` default
//! to the certificate's DNS SANs.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};

/// A private CA.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca() -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    Ca {
        cert: p.self_signed(&key).unwrap(),
        key,
    }
}

/// A leaf for `names` signed by `ca`, valid until `days` from now (negative: expired).
fn leaf(ca: &Ca, names: &[&str], days: i64) -> (rcgen::Certificate, KeyPair) {
    let mut p =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let day = Duration::from_secs(86400);
    p.not_before = epoch + (now - 400 * day);
    p.not_after = if days >= 0 {
        epoch + (now + day * days as u32)
    } else {
        epoch + (now - day * (-days) as u32)
    };
    let key = KeyPair::generate().unwrap();
    (p.signed_by(&key, &ca.cert, &ca.key).unwrap(), key)
}

fn write(dir: &Path, name: &str, pems: &[String]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, pems.concat()).unwrap();
    path.display().to_string()
}

fn tls_yaml(cert: &str, key: &str, extra: &str) -> String {
    format!(
        "listeners:\n  - address: \"{{listen}}\"\n    tls:\n      certificates:\n        - {{ cert: {cert}, key: {key}{extra} }}\nclusters:\n  - {{ name: c, members: [{{ address: \"127.0.0.1:9\" }}] }}\ndefault_cluster: c\n"
    )
}

fn check(dir: &Path, yaml: &str) -> (bool, String) {
    check_config(dir, yaml)
}

#[test]
fn bad_certificates_fail_the_check_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = ca();
    let ca_pem = ca.cert.pem();
    let (good, good_key) = leaf(&ca, &["a.test"], 365);
    let (expired, expired_key) = leaf(&ca, &["a.test"], -1);
    let other_key = KeyPair::generate().unwrap();
    let chain = write(d, "good.crt", &[good.pem(), ca_pem.clone()]);
    let key = write(d, "good.key", &[good_key.serialize_pem()]);
    let (ok, out) = check(d, &tls_yaml(&chain, &key, ""));
    assert!(ok, "{out}");

    let wrong_key = write(d, "other.key", &[other_key.serialize_pem()]);
    let (ok, out) = check(d, &tls_yaml(&chain, &wrong_key, ""));
    assert!(
        !ok && out.contains("does not match the certificate"),
        "{out}"
    );

    let old = write(d, "expired.crt", &[expired.pem(), ca_pem.clone()]);
    let old_key = write(d, "expired.key", &[expired_key.serialize_pem()]);
    let (ok, out) = check(d, &tls_yaml(&old, &old_key, ""));
    assert!(!ok && out.contains("expired"), "{out}");

    // The leaf alone does not verify (private CA) unless `ca` names the CA.
    let alone = write(d, "alone.crt", &[good.pem()]);
    let (ok, out) = check(d, &tls_yaml(&alone, &key, ""));
    assert!(!ok && out.contains("does not verify"), "{out}");
    let ca_file = write(d, "ca.crt", &[ca_pem]);
    let (ok, out) = check(d, &tls_yaml(&alone, &key, &format!(", ca: {ca_file}")));
    assert!(ok, "{out}");

    let (ok, out) = check(d, &tls_yaml(&chain, &key, ", server_names: [b.test]"));
    assert!(!ok && out.contains("`b.test` is not covered"), "{out}");
    let (ok, out) = check(d, &tls_yaml(&chain, &key, ", server_names: [A.test]"));
    assert!(ok, "{out}");
}

fn connector(ca: &Ca) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.cert.der().to_vec()))
        .unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

/// Completes a handshake for `sni`; returns the served certificate's DER.
async fn handshake(p: &Proxy, ca: &Ca, sni: &'static str) -> Result<Vec<u8>, String> {
    let tcp = within("connect", tokio::net::TcpStream::connect(p.addr))
        .await
        .unwrap();
    let tls = within(
        "handshake",
        connector(ca).connect(ServerName::try_from(sni).unwrap(), tcp),
    )
    .await
    .map_err(|e| e.to_string())?;
    let certs = tls.get_ref().1.peer_certificates().unwrap();
    Ok(certs[0].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_soon_is_shown_names_default_to_sans_and_a_bad_reload_keeps_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = ca();
    let (soon, soon_key) = leaf(&ca, &["soon.test"], 10);
    let (later, later_key) = leaf(&ca, &["later.test"], 365);
    let soon_crt = write(d, "soon.crt", &[soon.pem(), ca.cert.pem()]);
    let soon_k = write(d, "soon.key", &[soon_key.serialize_pem()]);
    let later_crt = write(d, "later.crt", &[later.pem(), ca.cert.pem()]);
    let later_k = write(d, "later.key", &[later_key.serialize_pem()]);
    let yaml = format!(
        "listeners:\n  - address: \"{{listen}}\"\n    tls:\n      certificates:\n        - {{ cert: {soon_crt}, key: {soon_k} }}\n        - {{ cert: {later_crt}, key: {later_k} }}\nclusters:\n  - {{ name: c, members: [{{ address: \"127.0.0.1:9\" }}] }}\ndefault_cluster: c\n"
    );
    let p = start_proxy(&yaml);
    // No server_names: each certificate serves its SANs.
    assert_eq!(
        handshake(&p, &ca, "later.test").await.unwrap(),
        later.der().to_vec()
    );
    assert_eq!(
        handshake(&p, &ca, "soon.test").await.unwrap(),
        soon.der().to_vec()
    );
    let (ok, info) = p.ctl("show info");
    assert!(ok, "{info}");
    let line = info
        .lines()
        .find(|l| l.starts_with("CertExpiresSoon:"))
        .unwrap_or_else(|| panic!("no CertExpiresSoon in {info}"));
    // notAfter is 10 days from the certificate's making, to the second.
    let unix: u64 = line
        .rsplit("unix time ")
        .next()
        .unwrap()
        .trim_end_matches(')')
        .parse()
        .unwrap();
    let want = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 10 * 86400;
    assert!(
        line.contains("soon.crt") && unix.abs_diff(want) < 120,
        "{line}"
    );
    assert!(!info.contains("later.crt"), "{info}");
    assert!(p.log_contains("soon.crt: certificate chain expires in"));

    // A reload with a key that does not match fails and keeps the old certificates.
    let other = KeyPair::generate().unwrap();
    std::fs::write(&later_k, other.serialize_pem()).unwrap();
    let (ok, out) = p.ctl("reload");
    assert!(!ok || out.contains("error"), "{out}");
    assert!(out.contains("does not match the certificate"), "{out}");
    assert_eq!(
        handshake(&p, &ca, "later.test").await.unwrap(),
        later.der().to_vec()
    );
}
