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

/// One GET over TLS (SNI `proxy.test`) carrying forged certificate headers, presenting
/// `client` when given; the status, or why it failed.
async fn tls_get(addr: SocketAddr, pki: &Pki, client: Option<&Leaf>) -> Result<u16, String> {
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
    let req = Request::get("/")
        .header("host", "proxy.test")
        .header("x-client-cert-subject", "CN=mallory")
        .header("x-client-cert-verified", "SUCCESS")
        .body(empty())
        .unwrap();
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
