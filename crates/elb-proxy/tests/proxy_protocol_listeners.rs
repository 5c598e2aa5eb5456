//! Listeners behind an L4 balancer: a PROXY protocol header (v1 or v2, encoded by elb-probe)
//! names the client, which members then see in X-Forwarded-For; a malformed or missing
//! header, or one from a peer outside `trusted_proxies`, closes the connection and is counted.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use elb_probe::ProxyProtocol;

fn yaml(a: SocketAddr, trusted: &str, mport: u16) -> String {
    format!(
        "listeners: [{{ address: \"{{listen}}\", proxy_protocol: true }}]\ntrusted_proxies: [{trusted}]\nmetrics: {{ address: \"127.0.0.1:{mport}\" }}\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("a", a, 1)], "")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_headers_name_the_client_and_bad_ones_close_the_connection() {
    let a = Backend::start("a").await;
    let mport = free_port();
    let p = start_proxy(&yaml(a.addr, "127.0.0.0/8", mport));
    let client: SocketAddr = "198.18.0.7:40000".parse().unwrap();
    let get_req: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for version in [ProxyProtocol::V1, ProxyProtocol::V2] {
        let mut bytes = version.header(Some((client, p.addr)));
        bytes.extend_from_slice(get_req);
        let answer = raw(p.addr, &bytes, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{version:?}: {answer}");
        let xff = a
            .last_headers
            .lock()
            .unwrap()
            .get("x-forwarded-for")
            .cloned();
        assert_eq!(xff.as_deref(), Some("198.18.0.7"), "{version:?}");
    }
    // LOCAL (a health check of the balancer itself): the peer stands.
    let mut bytes = ProxyProtocol::V2.header(None);
    bytes.extend_from_slice(get_req);
    let answer = raw(p.addr, &bytes, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        a.last_headers
            .lock()
            .unwrap()
            .get("x-forwarded-for")
            .cloned()
            .as_deref(),
        Some("127.0.0.1")
    );
    // No header, a malformed v1 line, a v2 header of another version: closed, no answer.
    let hits = a.hits();
    for bad in [
        get_req.to_vec(),
        [b"PROXY TCP4 198.18.0.7 x 1 2\r\n".as_slice(), get_req].concat(),
        {
            let mut v = ProxyProtocol::V2.header(Some((client, p.addr)));
            v[12] = 0x31;
            v.extend_from_slice(get_req);
            v
        },
    ] {
        let answer = raw(p.addr, &bad, Duration::from_secs(5)).await;
        assert_eq!(answer, "", "{:?}", String::from_utf8_lossy(&bad));
    }
    assert_eq!(a.hits(), hits);
    let m = get(
        format!("127.0.0.1:{mport}").parse().unwrap(),
        "m",
        "/metrics",
    )
    .await;
    assert!(
        m.body.contains("elb_proxy_proxy_header_refused_total 3"),
        "{}",
        m.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_header_from_an_untrusted_peer_is_refused() {
    let a = Backend::start("a").await;
    let mport = free_port();
    let p = start_proxy(&yaml(a.addr, "198.18.0.0/15", mport));
    let mut bytes = ProxyProtocol::V2.header(Some(("198.18.0.7:1".parse().unwrap(), p.addr)));
    bytes.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(raw(p.addr, &bytes, Duration::from_secs(5)).await, "");
    assert_eq!(a.hits(), 0);
    let m = get(
        format!("127.0.0.1:{mport}").parse().unwrap(),
        "m",
        "/metrics",
    )
    .await;
    assert!(
        m.body.contains("elb_proxy_proxy_header_refused_total 1"),
        "{}",
        m.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_that_ask_get_a_proxy_header_naming_the_client() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A member that expects a PROXY v2 header, records it, then answers one request.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let member = l.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<u8>>::new()));
    let s2 = seen.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let s2 = s2.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                // The v2 header (28 bytes for TCP4) has CRLFs of its own.
                while got.len() < 28 || !got[28..].windows(4).any(|w| w == b"\r\n\r\n") {
                    let Ok(n) = s.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                s2.lock().unwrap().push(got);
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
            });
        }
    });
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\nclusters:\n{}default_cluster: c\n",
        cluster_yaml("c", &[("m", member, 1)], "    send_proxy_protocol: v2\n")
    );
    let p = start_proxy(&yaml);
    for _ in 0..2 {
        assert_eq!(get(p.addr, "x", "/").await.status, 200);
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "one member connection per client connection");
    for got in seen {
        let header = &got[..28];
        assert_eq!(&header[..12], b"\r\n\r\n\0\r\nQUIT\n");
        assert_eq!(&header[16..20], &[127, 0, 0, 1], "source is the client");
        assert_eq!(&header[20..24], &[127, 0, 0, 1]);
        assert_eq!(u16::from_be_bytes([header[26], header[27]]), p.addr.port());
        assert!(got[28..].starts_with(b"GET / HTTP/1.1"));
    }
    task.abort();
}

/// A member that reads a PROXY v2 header, then speaks HTTP/2 (prior knowledge) on the
/// rest of the connection; each answer names the client port its connection's header
/// gave. Returns its address and the headers' source ports, one per connection.
async fn proxy_then_h2_member() -> (SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<u16>>>) {
    use tokio::io::AsyncReadExt;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let ports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = ports.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = [0u8; 16];
                if s.read_exact(&mut head).await.is_err() || &head[..12] != b"\r\n\r\n\0\r\nQUIT\n"
                {
                    return;
                }
                let mut rest = vec![0u8; usize::from(u16::from_be_bytes([head[14], head[15]]))];
                if s.read_exact(&mut rest).await.is_err() || rest.len() < 12 {
                    return;
                }
                let port = u16::from_be_bytes([rest[8], rest[9]]);
                seen.lock().unwrap().push(port);
                let service = hyper::service::service_fn(
                    move |req: http::Request<hyper::body::Incoming>| async move {
                        let body = format!("port={port} version={:?}", req.version());
                        Ok::<_, std::convert::Infallible>(http::Response::new(full(body)))
                    },
                );
                let _ =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(s), service)
                        .await;
            });
        }
    });
    (addr, ports)
}

async fn h2_members_get_the_proxy_header_of_each_client(engine: &str) {
    let (member, ports) = proxy_then_h2_member().await;
    let yaml = format!(
        "listeners: [{{ address: \"{{listen}}\"{engine} }}]\nclusters:\n{}default_cluster: c\n",
        cluster_yaml(
            "c",
            &[("m", member, 1)],
            "    send_proxy_protocol: v2\n    protocol: h2\n"
        )
    );
    let p = start_proxy(&yaml);
    let mut answers = Vec::new();
    for _ in 0..2 {
        let mut client = Client::connect(p.addr).await;
        let mut mine = Vec::new();
        for _ in 0..3 {
            let a = client.get("x", "/").await.unwrap();
            assert_eq!(a.status, 200, "{a:?}");
            mine.push(a.body);
        }
        answers.push(mine);
    }
    let ports = ports.lock().unwrap().clone();
    // One private HTTP/2 connection per client connection, reused for its requests.
    assert_eq!(ports.len(), 2, "{ports:?}");
    assert_ne!(ports[0], ports[1]);
    for (i, mine) in answers.iter().enumerate() {
        for body in mine {
            assert_eq!(*body, format!("port={} version=HTTP/2.0", ports[i]));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_members_get_a_private_connection_per_client_named_in_its_proxy_header() {
    h2_members_get_the_proxy_header_of_each_client("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_headers_to_members_are_sent_from_a_fast_engine_listener() {
    h2_members_get_the_proxy_header_of_each_client(", engine: fast").await;
}
