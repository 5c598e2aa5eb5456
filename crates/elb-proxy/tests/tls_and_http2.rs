//! TLS termination with two certificates chosen by SNI, HTTP/2 by ALPN and by prior
//! knowledge (h2c), and an HTTP/2 rapid-reset flood that must not hurt other clients.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use http::Request;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Certs {
    dir: tempfile::TempDir,
    one: CertificateDer<'static>,
    two: CertificateDer<'static>,
}

fn make_certs() -> Certs {
    let dir = tempfile::tempdir().unwrap();
    let mut ders = Vec::new();
    for name in ["one", "two"] {
        let ck = rcgen::generate_simple_self_signed(vec![
            format!("{name}.test"),
            format!("*.{name}.test"),
        ])
        .unwrap();
        std::fs::write(dir.path().join(format!("{name}.crt")), ck.cert.pem()).unwrap();
        std::fs::write(
            dir.path().join(format!("{name}.key")),
            ck.key_pair.serialize_pem(),
        )
        .unwrap();
        ders.push(ck.cert.der().clone());
    }
    Certs {
        one: ders[0].clone(),
        two: ders[1].clone(),
        dir,
    }
}

fn connector(certs: &Certs, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certs.one.clone()).unwrap();
    roots.add(certs.two.clone()).unwrap();
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_picks_the_certificate_and_alpn_h2_is_proxied() {
    let a = Backend::start("a").await;
    let certs = make_certs();
    let d = certs.dir.path().display();
    let yaml = format!(
        "listeners:\n  - address: \"{{listen}}\"\n    tls:\n      certificates:\n        - {{ cert: {d}/one.crt, key: {d}/one.key, server_names: [one.test] }}\n        - {{ cert: {d}/two.crt, key: {d}/two.key, server_names: [\"*.two.test\", two.test] }}\nclusters:\n  - {{ name: c, members: [{{ address: \"{}\" }}] }}\ndefault_cluster: c\n",
        a.addr
    );
    let p = start_proxy(&yaml);
    for (sni, want) in [
        ("one.test", &certs.one),
        ("two.test", &certs.two),
        ("www.two.test", &certs.two),
    ] {
        let tcp = within("connect", tokio::net::TcpStream::connect(p.addr))
            .await
            .unwrap();
        let c = connector(&certs, &[b"http/1.1"]);
        let tls = within(
            "TLS handshake",
            c.connect(ServerName::try_from(sni.to_string()).unwrap(), tcp),
        )
        .await
        .unwrap();
        let served = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
        assert_eq!(&served, want, "{sni}");
        let (mut send, conn) = within(
            "handshake",
            hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(tls)),
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        let r = within(
            "request",
            send.send_request(Request::get("/").header("host", sni).body(empty()).unwrap()),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(a.last_headers.lock().unwrap()["x-forwarded-proto"], "https");
    }
    // ALPN h2: an HTTP/2 client through TLS, several concurrent streams on one connection.
    let tcp = within("connect", tokio::net::TcpStream::connect(p.addr))
        .await
        .unwrap();
    let tls = within(
        "TLS handshake",
        connector(&certs, &[b"h2", b"http/1.1"])
            .connect(ServerName::try_from("one.test").unwrap(), tcp),
    )
    .await
    .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let send = h2_sender(tls).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let mut s = send.clone();
        tasks.push(tokio::spawn(async move {
            let req = Request::get(format!("https://one.test/h2/{i}"))
                .body(empty())
                .unwrap();
            let r = within("request", s.send_request(req)).await.unwrap();
            let st = r.status();
            let body = within("body", r.into_body().collect())
                .await
                .unwrap()
                .to_bytes();
            (st, body)
        }));
    }
    for t in tasks {
        let (st, body) = t.await.unwrap();
        assert_eq!(st, 200);
        assert_eq!(&body[..], b"a\n");
    }
    assert_eq!(
        a.last_headers.lock().unwrap()["host"],
        "one.test",
        "h2 :authority becomes Host upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_prior_knowledge_and_rapid_reset_flood() {
    let a = Backend::start("a").await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\", h2c: true }}]\nclusters:\n  - {{ name: c, members: [{{ address: \"{}\" }}] }}\ndefault_cluster: c\n",
        a.addr
    );
    let p = start_proxy(&yaml);
    let mut send = h2c_sender(p.addr).await;
    let r = within(
        "request",
        send.send_request(Request::get("http://h2c.test/").body(empty()).unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);

    // Rapid reset: HEADERS immediately followed by RST_STREAM, thousands of times.
    let mut flood = within("connect", tokio::net::TcpStream::connect(p.addr))
        .await
        .unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    out.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
    // GET / http, :authority "x" (static-table indexes 2, 6, 4; literal with name index 1).
    let block = [0x82u8, 0x86, 0x84, 0x41, 0x01, b'x'];
    for i in 0..5000u32 {
        let id = 2 * i + 1;
        out.extend_from_slice(&[0, 0, block.len() as u8, 1, 0x5]);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&block);
        out.extend_from_slice(&[0, 0, 4, 3, 0]);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&8u32.to_be_bytes()); // CANCEL
    }
    let writer = tokio::spawn(async move {
        let (mut r, mut w) = flood.split();
        let _ = w.write_all(&out).await;
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), r.read_to_end(&mut got)).await;
        got
    });
    let got = writer.await.unwrap();
    // The server must have sent GOAWAY (frame type 7) and closed the connection.
    let mut i = 0;
    let mut goaway = false;
    while i + 9 <= got.len() {
        let len =
            (usize::from(got[i]) << 16) | (usize::from(got[i + 1]) << 8) | usize::from(got[i + 2]);
        if got[i + 3] == 7 {
            goaway = true;
        }
        i += 9 + len;
    }
    assert!(
        goaway,
        "no GOAWAY after a rapid-reset flood ({} bytes back)",
        got.len()
    );
    // Other clients were not harmed.
    assert_eq!(get(p.addr, "x", "/").await.status, 200);
    let r = within(
        "request",
        send.send_request(Request::get("http://h2c.test/again").body(empty()).unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        a.hits() < 2000,
        "flood streams reached the member: {}",
        a.hits()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_marked_h2_get_http2_on_one_shared_connection() {
    let h2 = H2Backend::start().await;
    let h1 = Backend::start("h1").await;
    // Cluster default h2; a second cluster whose single member overrides back to http1.
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n  - {{ name: c, protocol: h2, members: [{{ address: \"{}\" }}] }}\n  - {{ name: d, protocol: h2, members: [{{ address: \"{}\", protocol: http1 }}] }}\nroutes: [{{ match: {{ path_prefix: /one }}, cluster: d }}]\ndefault_cluster: c\n",
        h2.addr, h1.addr
    );
    let p = start_proxy(&yaml);
    // One HTTP/1.1 request: the member sees HTTP/2 with the client's Host as :authority.
    let a = get(p.addr, "app.test", "/first?q=1").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, "h2 HTTP/2.0 app.test /first\n");
    {
        let seen = h2.last_headers.lock().unwrap();
        assert_eq!(seen["x-forwarded-host"], "app.test");
        assert!(!seen.contains_key("host"), "Host travels as :authority");
    }
    // 40 concurrent requests from 40 client connections, with bodies, multiplexed.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let addr = p.addr;
        tasks.push(tokio::spawn(async move {
            let req = Request::post(format!("/slow/50/{i}"))
                .header("host", "app.test")
                .body(full(format!("body-{i}")))
                .unwrap();
            request(addr, req).await.unwrap()
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let a = t.await.unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(
            a.body,
            format!("h2 HTTP/2.0 app.test /slow/50/{i}\nbody-{i}")
        );
    }
    assert_eq!(
        h2.connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "every request shares one HTTP/2 connection"
    );
    // The member marked http1 in an h2 cluster still gets HTTP/1.1 with a Host header.
    let a = get(p.addr, "other.test", "/one").await;
    assert_eq!((a.status, a.body.as_str()), (200, "h1\n"));
    assert_eq!(h1.last_headers.lock().unwrap()["host"], "other.test");
    // The shared connection shows as the member's one idle connection.
    let (ok, stat) = p.ctl("show stat elb");
    assert!(ok, "{stat}");
    let row = stat
        .lines()
        .find(|l| l.contains(&h2.addr.to_string()))
        .unwrap();
    assert!(row.ends_with(",1"), "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_the_certificate_for_new_handshakes() {
    let a = Backend::start("a").await;
    let certs = make_certs();
    let d = certs.dir.path().display();
    // The listener's certificate files start as `one`, then are overwritten with `two`.
    std::fs::copy(
        certs.dir.path().join("one.crt"),
        certs.dir.path().join("live.crt"),
    )
    .unwrap();
    std::fs::copy(
        certs.dir.path().join("one.key"),
        certs.dir.path().join("live.key"),
    )
    .unwrap();
    let yaml = format!(
        "listeners:\n  - address: \"{{listen}}\"\n    tls:\n      certificates:\n        - {{ cert: {d}/live.crt, key: {d}/live.key }}\nclusters:\n  - {{ name: c, members: [{{ address: \"{}\" }}] }}\ndefault_cluster: c\n",
        a.addr
    );
    let p = start_proxy(&yaml);
    let handshake = |sni: &'static str| {
        let c = connector(&certs, &[b"http/1.1"]);
        let addr = p.addr;
        async move {
            let tcp = within("connect", tokio::net::TcpStream::connect(addr))
                .await
                .unwrap();
            within(
                "TLS handshake",
                c.connect(ServerName::try_from(sni).unwrap(), tcp),
            )
            .await
            .unwrap()
        }
    };
    let old = handshake("one.test").await;
    assert_eq!(old.get_ref().1.peer_certificates().unwrap()[0], certs.one);
    let (mut old_send, conn) = within(
        "handshake",
        hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(old)),
    )
    .await
    .unwrap();
    tokio::spawn(conn);

    std::fs::copy(
        certs.dir.path().join("two.crt"),
        certs.dir.path().join("live.crt"),
    )
    .unwrap();
    std::fs::copy(
        certs.dir.path().join("two.key"),
        certs.dir.path().join("live.key"),
    )
    .unwrap();
    let (ok, out) = p.ctl("reload");
    assert!(ok, "{out}");
    let new = handshake("two.test").await;
    assert_eq!(new.get_ref().1.peer_certificates().unwrap()[0], certs.two);
    // The connection made before the swap keeps working.
    let r = within(
        "request",
        old_send.send_request(
            Request::get("/")
                .header("host", "one.test")
                .body(empty())
                .unwrap(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);

    // A broken certificate file refuses the reload; `two` is still served.
    std::fs::write(certs.dir.path().join("live.crt"), "not a certificate").unwrap();
    let (ok, out) = p.ctl("reload");
    assert!(!ok && out.contains("live.crt"), "{out}");
    let again = handshake("two.test").await;
    assert_eq!(again.get_ref().1.peer_certificates().unwrap()[0], certs.two);
}
