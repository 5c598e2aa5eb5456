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
