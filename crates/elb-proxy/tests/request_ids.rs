//! Request ids on both engines: made when absent (unique, seen by the member and in the
//! access log), replaced when sent by a client that is not a trusted proxy, kept when sent by
//! one (clients from 127.0.0.5 are trusted here), and `traceparent` passed through untouched.
//! Off (no `request_id:`), the header passes as received.

mod common;

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::*;
use hyper_util::rt::TokioIo;

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// One GET from source address `from`, with `extra` headers; returns the member's view of
/// `header` and `traceparent`.
async fn send_from(
    proxy: SocketAddr,
    from: IpAddr,
    extra: &[(&str, &str)],
) -> Result<Answer, String> {
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(from, 0))
        .map_err(|e| e.to_string())?;
    let stream = within("connect", socket.connect(proxy))
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = http::Request::get("/").header("host", "shop.test");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = within("answer", send.send_request(req.body(empty()).unwrap()))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: String::new(),
    })
}

fn seen(m: &Backend, header: &str) -> Option<String> {
    m.last_headers.lock().unwrap().get(header).cloned()
}

fn is_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        && parts[2].starts_with('4')
}

/// The access log's `request_id` values, once it has `count` lines.
async fn logged_ids(p: &Proxy, count: usize) -> Vec<String> {
    let path = p.dir.path().join("access.log");
    poll_for("access log lines", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let ids: Vec<String> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["request_id"].as_str().map(str::to_string))
            .collect();
        async move { (ids.len() >= count).then_some(ids) }
    })
    .await
}

async fn request_ids(engine: &str, header: Option<&str>) {
    let m = Backend::start("m").await;
    let name = header.unwrap_or("X-Request-Id");
    let lower = name.to_ascii_lowercase();
    let section = match header {
        Some(h) => format!("request_id: {{ header: {h} }}\n"),
        None => "request_id: {}\n".into(),
    };
    let p = start_proxy(&format!(
        "listeners: [{{ address: \"{{listen}}\", engine: {engine} }}]\n\
         clusters:\n  - name: app\n    members: [{{ address: \"{}\" }}]\n\
         default_cluster: app\n\
         trusted_proxies: [127.0.0.5/32]\n\
         access_log: {{ path: \"{{dir}}/access.log\", format: json }}\n{section}",
        m.addr
    ));
    let client: IpAddr = [127, 0, 0, 1].into();
    let trusted: IpAddr = [127, 0, 0, 5].into();

    // Absent: a fresh, unique id each time, seen by the member; traceparent untouched.
    let mut made = Vec::new();
    for _ in 0..20 {
        let a = send_from(p.addr, client, &[("traceparent", TRACEPARENT)])
            .await
            .unwrap();
        assert_eq!(a.status, 200);
        let id = seen(&m, &lower).expect("the member sees a request id");
        assert!(is_uuid_v4(&id), "{id}");
        assert_eq!(seen(&m, "traceparent").as_deref(), Some(TRACEPARENT));
        made.push(id);
    }
    let unique: HashSet<&String> = made.iter().collect();
    assert_eq!(unique.len(), made.len(), "every made id is unique");

    // Sent by an untrusted client: replaced.
    send_from(p.addr, client, &[(name, "forged-by-client")])
        .await
        .unwrap();
    let replaced = seen(&m, &lower).unwrap();
    assert!(is_uuid_v4(&replaced), "{replaced}");

    // Sent by a trusted proxy: kept, traceparent still untouched.
    send_from(
        p.addr,
        trusted,
        &[(name, "from-lb-7"), ("traceparent", TRACEPARENT)],
    )
    .await
    .unwrap();
    assert_eq!(seen(&m, &lower).as_deref(), Some("from-lb-7"));
    assert_eq!(seen(&m, "traceparent").as_deref(), Some(TRACEPARENT));

    // Two ids from a trusted proxy: neither is chosen, one fresh id goes on.
    send_from(p.addr, trusted, &[(name, "a"), (name, "b")])
        .await
        .unwrap();
    let single = seen(&m, &lower).unwrap();
    assert!(is_uuid_v4(&single), "one made id, not both: {single}");

    // The access log names the same ids (lines of requests on different connections may
    // be written in either order).
    let ids = logged_ids(&p, 23).await;
    let logged: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let sent: HashSet<&str> = made
        .iter()
        .map(String::as_str)
        .chain([replaced.as_str(), "from-lb-7", single.as_str()])
        .collect();
    assert_eq!(logged, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_made_replaced_or_kept_on_the_hyper_engine() {
    request_ids("hyper", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_made_replaced_or_kept_on_the_fast_engine() {
    request_ids("fast", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_request_id_header_is_used_on_both_engines() {
    request_ids("hyper", Some("X-Correlation-Id")).await;
    request_ids("fast", Some("X-Correlation-Id")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_request_id_the_header_is_passed_as_received() {
    let m = Backend::start("m").await;
    let p = start_proxy(&format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\n\
         clusters:\n  - name: app\n    members: [{{ address: \"{}\" }}]\n\
         default_cluster: app\n",
        m.addr
    ));
    send_from(
        p.addr,
        [127, 0, 0, 1].into(),
        &[("x-request-id", "as-sent")],
    )
    .await
    .unwrap();
    assert_eq!(seen(&m, "x-request-id").as_deref(), Some("as-sent"));
    send_from(p.addr, [127, 0, 0, 1].into(), &[]).await.unwrap();
    assert_eq!(seen(&m, "x-request-id"), None, "none made when off");
}

/// A proxy whose cluster copies `%{request_id}` into the request (`x-copy`) and into the
/// answer (`x-answer-id`), with the JSON access log on or off and `section` added.
fn proxy_with_id_rules(m: &Backend, log: bool, section: &str) -> Proxy {
    let log = if log {
        "access_log: { path: \"{dir}/access.log\", format: json }\n"
    } else {
        ""
    };
    start_proxy(&format!(
        "listeners: [{{ address: \"{{listen}}\" }}]\n\
         clusters:\n  - name: app\n    members: [{{ address: \"{}\" }}]\n\
         \x20   headers:\n\
         \x20     request: {{ set: {{ x-copy: \"%{{request_id}}\" }} }}\n\
         \x20     response: {{ set: {{ x-answer-id: \"%{{request_id}}\" }} }}\n\
         default_cluster: app\n\
         trusted_proxies: [127.0.0.5/32]\n{log}{section}",
        m.addr
    ))
}

fn answer_id(a: &Answer) -> Option<String> {
    a.headers
        .get("x-answer-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_rules_request_id_is_the_configured_id_the_member_gets_and_the_log_records() {
    let m = Backend::start("m").await;
    let p = proxy_with_id_rules(&m, true, "request_id: { header: X-Correlation-Id }\n");
    let client: IpAddr = [127, 0, 0, 1].into();
    let mut ids = Vec::new();
    // A client's own X-Request-Id (and a forged correlation id) must not leak into the rule.
    for extra in [
        &[][..],
        &[("x-request-id", "client-chose-this")][..],
        &[("x-correlation-id", "forged-by-client")][..],
    ] {
        let a = send_from(p.addr, client, extra).await.unwrap();
        assert_eq!(a.status, 200);
        let id = seen(&m, "x-correlation-id").expect("the member gets an id");
        assert!(is_uuid_v4(&id), "{id}");
        assert_eq!(seen(&m, "x-copy").as_deref(), Some(id.as_str()));
        assert_eq!(answer_id(&a).as_deref(), Some(id.as_str()));
        ids.push(id);
    }
    // A trusted proxy's id is kept, and is what the rule writes.
    let a = send_from(
        p.addr,
        [127, 0, 0, 5].into(),
        &[("x-correlation-id", "lb-9")],
    )
    .await
    .unwrap();
    assert_eq!(seen(&m, "x-copy").as_deref(), Some("lb-9"));
    assert_eq!(answer_id(&a).as_deref(), Some("lb-9"));
    ids.push("lb-9".into());
    let logged: HashSet<String> = logged_ids(&p, 4).await.into_iter().collect();
    assert_eq!(logged, ids.into_iter().collect::<HashSet<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_request_id_a_header_rule_and_the_log_share_one_id_per_request() {
    let m = Backend::start("m").await;
    for log in [true, false] {
        let p = proxy_with_id_rules(&m, log, "");
        let client: IpAddr = [127, 0, 0, 1].into();
        // None sent: one id made for the request, the same in both rules and in the log.
        let mut made = Vec::new();
        for _ in 0..3 {
            let a = send_from(p.addr, client, &[]).await.unwrap();
            let copy = seen(&m, "x-copy").expect("the rule writes an id");
            assert_eq!(copy.len(), 16, "{copy}");
            assert!(copy.chars().all(|c| c.is_ascii_hexdigit()), "{copy}");
            assert_eq!(answer_id(&a).as_deref(), Some(copy.as_str()));
            assert_eq!(seen(&m, "x-request-id"), None, "the header is not added");
            made.push(copy);
        }
        assert_eq!(made.iter().collect::<HashSet<_>>().len(), 3, "{made:?}");
        // Sent by the client: that id, in the rules and in the log.
        let a = send_from(p.addr, client, &[("x-request-id", "as-sent")])
            .await
            .unwrap();
        assert_eq!(seen(&m, "x-copy").as_deref(), Some("as-sent"));
        assert_eq!(seen(&m, "x-request-id").as_deref(), Some("as-sent"));
        assert_eq!(answer_id(&a).as_deref(), Some("as-sent"));
        if log {
            made.push("as-sent".into());
            let logged: HashSet<String> = logged_ids(&p, 4).await.into_iter().collect();
            assert_eq!(logged, made.into_iter().collect::<HashSet<_>>());
        }
    }
}
