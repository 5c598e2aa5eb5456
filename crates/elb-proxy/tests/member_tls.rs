//! TLS from the proxy to members, against real TLS members made with the test PKI: the
//! member's certificate verified (wrong name refused, `verify: false` accepting it), a
//! client certificate presented to a member that requires one, sessions resumed on new
//! connections (seen from the member's side), health checks over the same TLS, HTTP/2
//! over TLS by ALPN, and `--check` naming the config line of a missing CA file or of a key
//! that does not belong to its certificate.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use test_support::pki::Pki;
use test_support::tls_member::{TlsMemberOptions, tls_member};

/// A cluster with one member at `addr` and the given extra lines (four-space indent).
fn one_member(name: &str, addr: std::net::SocketAddr, extra: &str) -> String {
    cluster_yaml(name, &[(&format!("{name}1"), addr, 1)], extra)
}

/// The value of a Prometheus counter in the text at `addr`.
async fn metric(addr: std::net::SocketAddr, name: &str) -> u64 {
    let text = get(addr, "m", "/metrics").await.body;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

async fn client_cert_and_resumption(engine: &str) {
    let pki = Pki::new();
    let member_leaf = pki.leaf("member", &["127.0.0.1"], false);
    let client = pki.leaf("proxy-client", &["proxy.test"], false);
    let member = tls_member(
        &member_leaf,
        TlsMemberOptions {
            client_roots: Some(pki.roots()),
            alpn: vec!["http/1.1"],
            one_request_per_connection: true,
        },
    );
    let metrics = free_port();
    let tls = format!(
        "    tls:\n      ca: {}\n      client_cert: {}\n      client_key: {}\n    health_check: {{ path: /health, interval: 100ms, rise: 1, fall: 1 }}\n",
        pki.ca_file().display(),
        client.cert_file.display(),
        client.key_file.display()
    );
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\"{engine} }}]\nmetrics: {{ address: \"127.0.0.1:{metrics}\" }}\nclusters:\n{}default_cluster: c\n",
        one_member("c", member.addr, &tls)
    );
    let p = start_proxy(&yaml);
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{metrics}").parse().unwrap();
    // The health check reaches the member over TLS with the client certificate.
    test_support::wait::poll(Duration::from_secs(10), || {
        member
            .seen()
            .iter()
            .any(|s| s.path == "/health" && s.client_cert)
            .then_some(())
    })
    .expect("a health check over TLS");
    for i in 0..4 {
        let a = get(p.addr, "x", &format!("/r{i}")).await;
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(a.body, format!("version=HTTP/1.1 path=/r{i}\n"));
    }
    let proxied: Vec<_> = member
        .seen()
        .into_iter()
        .filter(|s| s.path.starts_with("/r"))
        .collect();
    assert_eq!(proxied.len(), 4, "{proxied:?}");
    assert!(proxied.iter().all(|s| s.client_cert), "{proxied:?}");
    // One connection per request (the member closes each): after the first handshake the
    // proxy resumes its session.
    assert!(
        proxied[1..].iter().all(|s| s.resumed),
        "not resumed: {proxied:?}"
    );
    assert!(metric(metrics, "elb_proxy_member_tls_resumed_total").await >= 3);
    assert!(metric(metrics, "elb_proxy_member_tls_handshakes_total").await >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_requiring_a_client_certificate_gets_it_and_sessions_resume() {
    client_cert_and_resumption("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_members_are_served_from_a_fast_engine_listener() {
    client_cert_and_resumption(", engine: fast").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_refused_unless_named_or_unverified() {
    let pki = Pki::new();
    let leaf = pki.leaf("other", &["other.test"], false);
    let member = tls_member(&leaf, TlsMemberOptions::default());
    let ca = pki.ca_file().display().to_string();
    let clusters = [
        one_member(
            "checked",
            member.addr,
            &format!("    tls: {{ ca: {ca} }}\n"),
        ),
        one_member(
            "named",
            member.addr,
            &format!("    tls: {{ ca: {ca}, server_name: other.test }}\n"),
        ),
        one_member(
            "wrongname",
            member.addr,
            &format!("    tls: {{ ca: {ca}, server_name: nope.test }}\n"),
        ),
        one_member("unverified", member.addr, "    tls: { verify: false }\n"),
        one_member("plain", member.addr, ""),
    ];
    let routes: String = ["checked", "named", "wrongname", "unverified", "plain"]
        .iter()
        .map(|c| format!("  - {{ match: {{ host: {c}.test }}, cluster: {c} }}\n"))
        .collect();
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}routes:\n{routes}",
        clusters.concat()
    );
    let p = start_proxy(&yaml);
    // The certificate names other.test, not 127.0.0.1 (the default name) or nope.test.
    assert_eq!(get(p.addr, "checked.test", "/").await.status, 502);
    assert_eq!(get(p.addr, "wrongname.test", "/").await.status, 502);
    assert_eq!(get(p.addr, "named.test", "/").await.status, 200);
    assert_eq!(get(p.addr, "unverified.test", "/").await.status, 200);
    // Plain HTTP to a TLS member is no answer at all.
    assert_eq!(get(p.addr, "plain.test", "/").await.status, 502);
    assert!(
        p.wait_log("TLS handshake", Duration::from_secs(5)),
        "the refusal is logged"
    );
    let refused = member.seen().len();
    assert_eq!(
        refused, 2,
        "only the accepted handshakes reached the member"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_spoken_over_tls_when_the_member_picks_it_by_alpn() {
    let pki = Pki::new();
    let leaf = pki.leaf("member", &["127.0.0.1"], false);
    let member = tls_member(
        &leaf,
        TlsMemberOptions {
            alpn: vec!["h2", "http/1.1"],
            ..Default::default()
        },
    );
    let ca = pki.ca_file().display().to_string();
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}{}{}routes:\n  - {{ match: {{ host: a.test }}, cluster: h2 }}\n  - {{ match: {{ host: b.test }}, cluster: offer }}\n  - {{ match: {{ host: c.test }}, cluster: h1 }}\n",
        one_member(
            "h2",
            member.addr,
            &format!("    protocol: h2\n    tls: {{ ca: {ca} }}\n")
        ),
        one_member(
            "offer",
            member.addr,
            &format!("    tls: {{ ca: {ca}, alpn: [h2, http/1.1] }}\n")
        ),
        one_member("h1", member.addr, &format!("    tls: {{ ca: {ca} }}\n")),
    );
    let p = start_proxy(&yaml);
    for _ in 0..3 {
        assert_eq!(
            get(p.addr, "a.test", "/x").await.body,
            "version=HTTP/2.0 path=/x\n"
        );
        assert_eq!(
            get(p.addr, "b.test", "/y").await.body,
            "version=HTTP/2.0 path=/y\n"
        );
        assert_eq!(
            get(p.addr, "c.test", "/z").await.body,
            "version=HTTP/1.1 path=/z\n"
        );
    }
    let seen = member.seen();
    let h2: Vec<_> = seen.iter().filter(|s| s.version == "HTTP/2.0").collect();
    assert_eq!(h2.len(), 6);
    assert!(
        h2.iter().all(|s| s.alpn.as_deref() == Some("h2")),
        "{seen:?}"
    );
}

/// `elb-proxy --check` on `yaml`: (success, output, the file checked).
fn check(dir: &Path, yaml: &str) -> (bool, String, String) {
    let (ok, out) = check_config(dir, yaml);
    (ok, out, dir.join("check.yaml").display().to_string())
}

#[test]
fn check_names_the_line_of_a_missing_ca_or_a_key_of_another_certificate() {
    let pki = Pki::new();
    let a = pki.leaf("a", &["a.test"], false);
    let b = pki.leaf("b", &["b.test"], false);
    let d = pki.dir.path();
    let yaml = |tls: &str| {
        format!(
            "listeners: [{{ address: \"127.0.0.1:{}\" }}]\nclusters:\n  - name: c\n    tls:\n{tls}    members:\n      - {{ name: m, address: \"127.0.0.1:9\" }}\ndefault_cluster: c\n",
            free_port()
        )
    };
    let (ok, out, path) = check(d, &yaml("      ca: /nonexistent/ca.pem\n"));
    assert!(!ok);
    assert!(
        out.starts_with(&format!("{path}:5: cluster `c` member `m`: tls: ")),
        "{out}"
    );
    assert!(
        out.contains("/nonexistent/ca.pem") && out.contains("No such file"),
        "{out}"
    );
    let pair = format!(
        "      ca: {}\n      client_cert: {}\n      client_key: {}\n",
        pki.ca_file().display(),
        a.cert_file.display(),
        b.key_file.display()
    );
    let (ok, out, path) = check(d, &yaml(&pair));
    assert!(!ok);
    assert!(out.starts_with(&format!("{path}:7: ")), "{out}");
    assert!(out.contains("does not match the certificate"), "{out}");
    let good = pair.replace(
        &b.key_file.display().to_string(),
        &a.key_file.display().to_string(),
    );
    let (ok, out, _) = check(d, &yaml(&good));
    assert!(ok, "{out}");
}
