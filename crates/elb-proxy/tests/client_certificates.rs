//! Client certificates on TLS listeners, made by the test PKI: `required` refuses a client
//! without one, `optional` serves it; members get the verified subject and a
//! verified/none flag in headers only the proxy sets (a client's own copies are removed on
//! every listener of the config, plain ones included).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::*;
use http::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use test_support::pki::{Leaf, Pki};

/// Forged copies of the default certificate headers.
const FORGED_DEFAULTS: [(&str, &str); 2] = [
    ("x-client-cert-subject", "CN=mallory"),
    ("x-client-cert-verified", "SUCCESS"),
];

/// One GET over TLS (SNI `proxy.test`) carrying forged certificate headers, presenting
/// `client` when given; the status, or why it failed.
async fn tls_get(addr: SocketAddr, pki: &Pki, client: Option<&Leaf>) -> Result<u16, String> {
    tls_get_forging(addr, pki, client, &FORGED_DEFAULTS).await
}

/// One GET over TLS (SNI `proxy.test`) carrying `forged` headers, presenting `client` when
/// given; the status, or why it failed.
async fn tls_get_forging(
    addr: SocketAddr,
    pki: &Pki,
    client: Option<&Leaf>,
    forged: &[(&str, &str)],
) -> Result<u16, String> {
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(pki.roots());
    let config = match client {
        Some(l) => builder
            .with_client_auth_cert(l.chain.clone(), l.key.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = within("connect", tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("proxy.test").unwrap();
    let tls = within("handshake", connector.connect(name, tcp))
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = Request::get("/").header("host", "proxy.test");
    for (name, value) in forged {
        req = req.header(*name, *value);
    }
    let req = req.body(empty()).unwrap();
    let r = within("request", send.send_request(req))
        .await
        .map_err(|e| e.to_string())?;
    Ok(r.status().as_u16())
}

fn seen(b: &Backend, name: &str) -> Option<String> {
    b.last_headers.lock().unwrap().get(name).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_and_optional_client_certificates_reach_members_as_proxy_headers() {
    let pki = Pki::new();
    let server = pki.leaf("proxy", &["proxy.test"], false);
    let alice = pki.leaf("alice", &["alice.test"], false);
    let stranger_pki = Pki::new();
    let stranger = stranger_pki.leaf("stranger", &["stranger.test"], false);
    let b = Backend::start("b").await;
    let (required, optional) = (free_port(), free_port());
    let ca = pki.ca_file().display().to_string();
    let tls = |mode: &str| {
        format!(
            "tls: {{ certificates: [{{ cert: {}, key: {}, ca: {ca} }}], client_auth: {{ ca: {ca}, mode: {mode} }} }}",
            server.cert_file.display(),
            server.key_file.display()
        )
    };
    let yaml = format!(
        "listeners:\n  - {{ address: \"{{listen}}\" }}\n  - {{ address: \"127.0.0.1:{required}\", {} }}\n  - {{ address: \"127.0.0.1:{optional}\", {} }}\nclusters:\n{}default_cluster: c\n",
        tls("required"),
        tls("optional"),
        cluster_yaml("c", &[("b", b.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let at = |port: u16| -> SocketAddr { format!("127.0.0.1:{port}").parse().unwrap() };

    // Required: no certificate, or one from another CA, gets no answer.
    assert!(tls_get(at(required), &pki, None).await.is_err());
    assert!(tls_get(at(required), &pki, Some(&stranger)).await.is_err());
    assert_eq!(b.hits(), 0, "nothing reached the member");
    assert_eq!(tls_get(at(required), &pki, Some(&alice)).await, Ok(200));
    assert_eq!(
        seen(&b, "x-client-cert-verified").as_deref(),
        Some("SUCCESS")
    );
    assert_eq!(
        seen(&b, "x-client-cert-subject").as_deref(),
        Some("CN=alice")
    );

    // Optional: served without a certificate; the forged subject is gone.
    assert_eq!(tls_get(at(optional), &pki, None).await, Ok(200));
    assert_eq!(seen(&b, "x-client-cert-verified").as_deref(), Some("NONE"));
    assert_eq!(seen(&b, "x-client-cert-subject"), None);
    assert_eq!(tls_get(at(optional), &pki, Some(&alice)).await, Ok(200));
    assert_eq!(
        seen(&b, "x-client-cert-subject").as_deref(),
        Some("CN=alice")
    );
    // A certificate that does not verify is refused even where one is optional.
    assert!(tls_get(at(optional), &pki, Some(&stranger)).await.is_err());

    // The plain listener of the same config sets nothing and passes no forged copy.
    let forged = Request::get("/")
        .header("host", "x")
        .header("x-client-cert-subject", "CN=mallory")
        .header("x-client-cert-verified", "SUCCESS")
        .body(empty())
        .unwrap();
    assert_eq!(request(p.addr, forged).await.unwrap().status, 200);
    assert_eq!(seen(&b, "x-client-cert-subject"), None);
    assert_eq!(seen(&b, "x-client-cert-verified"), None);
}

/// A TLS listener in block style whose `client_auth` has `headers` (lines of 10 spaces'
/// indent), optional client certificates and underscores allowed in client headers.
fn named_listener(pki: &Pki, server: &Leaf, port: u16, headers: &str) -> String {
    let ca = pki.ca_file().display().to_string();
    format!(
        "  - address: \"127.0.0.1:{port}\"
    underscores_in_headers: allow
    tls:
      certificates: [{{ cert: {}, key: {}, ca: {ca} }}]
      client_auth:
        ca: {ca}
        mode: optional
        headers:
{headers}",
        server.cert_file.display(),
        server.key_file.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chosen_certificate_header_names_reach_members_and_no_client_copy_of_any_does() {
    let pki = Pki::new();
    let server = pki.leaf("proxy", &["proxy.test"], false);
    let alice = pki.leaf("alice", &["alice.test"], false);
    let b = Backend::start("b").await;
    let port = free_port();
    let names = "          verified: X-SSL-Verified\n          subject: X-SSL-Subject\n";
    let yaml = format!(
        "listeners:\n  - {{ address: \"{{listen}}\", underscores_in_headers: allow }}\n{}clusters:\n{}default_cluster: c\n",
        named_listener(&pki, &server, port, names),
        cluster_yaml("c", &[("b", b.addr, 1)], "")
    );
    let p = start_proxy(&yaml);
    let at: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let forged = [
        ("x-ssl-subject", "CN=mallory"),
        ("x-ssl-verified", "SUCCESS"),
        ("x_ssl_subject", "CN=mallory"),
        ("x-client-cert-subject", "CN=mallory"),
        ("x-client-cert-verified", "SUCCESS"),
        ("x_client_cert_subject", "CN=mallory"),
    ];
    let forged_seen = |b: &Backend| {
        forged
            .iter()
            .filter_map(|(n, _)| seen(b, n).map(|v| format!("{n}: {v}")))
            .collect::<Vec<_>>()
    };

    assert_eq!(
        tls_get_forging(at, &pki, Some(&alice), &forged).await,
        Ok(200)
    );
    assert_eq!(seen(&b, "x-ssl-verified").as_deref(), Some("SUCCESS"));
    assert_eq!(seen(&b, "x-ssl-subject").as_deref(), Some("CN=alice"));
    let others: Vec<_> = forged_seen(&b)
        .into_iter()
        .filter(|h| !h.starts_with("x-ssl-"))
        .collect();
    assert!(
        others.is_empty(),
        "the defaults and forged copies: {others:?}"
    );

    assert_eq!(tls_get_forging(at, &pki, None, &forged).await, Ok(200));
    assert_eq!(seen(&b, "x-ssl-verified").as_deref(), Some("NONE"));
    let left: Vec<_> = forged_seen(&b)
        .into_iter()
        .filter(|h| h != "x-ssl-verified: NONE")
        .collect();
    assert!(left.is_empty(), "without a certificate: {left:?}");

    // The plain listener of the same config removes the chosen names too.
    let mut plain = Request::get("/").header("host", "x");
    for (name, value) in forged {
        plain = plain.header(name, value);
    }
    let plain = plain.body(empty()).unwrap();
    assert_eq!(request(p.addr, plain).await.unwrap().status, 200);
    assert_eq!(b.hits(), 3);
    assert_eq!(
        forged_seen(&b),
        Vec::<String>::new(),
        "on the plain listener"
    );
}

#[test]
fn check_refuses_a_bad_repeated_or_proxy_owned_certificate_header_name_at_its_line() {
    let pki = Pki::new();
    let server = pki.leaf("proxy", &["proxy.test"], false);
    let dir = tempfile::tempdir().unwrap();
    let config = |headers: &str| {
        format!(
            "listeners:\n{}clusters:\n{}default_cluster: c\nrequest_id: {{ header: X-Trace-Id }}\n",
            named_listener(&pki, &server, free_port(), headers),
            cluster_yaml("c", &[("b", "127.0.0.1:9".parse().unwrap(), 1)], "")
        )
    };
    let good = config("          subject: X-SSL-Subject\n");
    let (ok, out) = check_config(dir.path(), &good);
    assert!(ok, "{out}");
    for (headers, says) in [
        (
            "          verified: \"X Verified\"\n",
            "is not a header name",
        ),
        (
            "          verified: X-SSL\n          subject: x-ssl\n",
            "both `x-ssl`",
        ),
        ("          subject: X-Forwarded-For\n", "proxy already sets"),
        ("          verified: X-Trace-Id\n", "proxy already sets"),
        ("          subject: X_SSL_Subject\n", "has `_`"),
    ] {
        let yaml = config(headers);
        let last = headers.lines().last().unwrap();
        let line = yaml.lines().position(|l| l == last).unwrap() + 1;
        let (ok, out) = check_config(dir.path(), &yaml);
        assert!(!ok, "{headers} passed: {out}");
        assert!(
            out.contains(&format!("check.yaml:{line}: ")) && out.contains(says),
            "{headers}: {out}"
        );
    }
}
