//! Both engines log a request alike: the fast engine reads the logged fields straight from
//! its head buffer, the hyper engine from hyper's parsed request, and the lines they write
//! for the same bytes on the wire must agree field by field (the timings, the listener and
//! the request size, which each engine counts its own way, aside).

mod common;

use std::time::Duration;

use common::*;

/// The same requests, as bytes, to send to each engine.
fn cases() -> Vec<Vec<u8>> {
    let mut cases: Vec<Vec<u8>> = [
        // Every logged field, a repeated one (the first is logged), a JSON escape.
        "GET /a?b=1&c=%22 HTTP/1.1\r\nHost: shop.test\r\nUser-Agent: ua/1 \"q\"\r\n\
         User-Agent: second\r\nReferer: http://ref.test/\r\nX-Forwarded-For: 198.18.0.9\r\n\
         X-Request-Id: id-7\r\nConnection: close\r\n\r\n",
        // HTTP/1.0, no optional field.
        "GET / HTTP/1.0\r\nHost: x.test\r\n\r\n",
        // Field names in another case, an empty referer, a tab inside a value.
        "GET /p HTTP/1.1\r\nhost: y.test\r\nuser-agent: a\tb\r\nREFERER: \r\n\
         connection: close\r\n\r\n",
        // A request id too long to keep: a made-up one is logged instead.
        "GET /q HTTP/1.1\r\nHost: z.test\r\nX-Request-Id: {long}\r\nConnection: close\r\n\r\n",
        // No path and query to speak of, a query alone.
        "GET /?x HTTP/1.1\r\nHost: z.test\r\nConnection: close\r\n\r\n",
    ]
    .iter()
    .map(|c| c.replace("{long}", &"i".repeat(200)).into_bytes())
    .collect();
    // UTF-8 and a byte that is not UTF-8 in header values (the latter logs as null).
    cases.push(
        b"GET /u HTTP/1.1\r\nHost: u.test\r\nUser-Agent: caf\xc3\xa9\r\nReferer: \xff\r\n\
          Connection: close\r\n\r\n"
            .to_vec(),
    );
    cases
}

/// A line's fields that do not depend on the engine (a made-up id by its form only).
fn comparable(line: &str) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let o = v.as_object_mut().unwrap();
    for k in [
        "time",
        "listener",
        "bytes_in",
        "queue_ms",
        "connect_ms",
        "first_byte_ms",
        "total_ms",
    ] {
        assert!(o.remove(k).is_some(), "{k} missing: {line}");
    }
    let id = o["request_id"].as_str().unwrap_or_default().to_string();
    if id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        o.insert("request_id".into(), "made up".into());
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_engines_log_the_same_fields_for_the_same_request() {
    let a = Backend::start("a").await;
    let fast_addr = format!("127.0.0.1:{}", free_port());
    let yaml = format!(
        "listeners:\n  - {{ name: f, address: \"{fast_addr}\", engine: fast }}\n  \
         - {{ name: h, address: \"{{listen}}\", engine: hyper }}\n\
         clusters:\n  - name: app\n    members: [{{ name: m1, address: \"{}\" }}]\n\
         default_cluster: app\n\
         access_log: {{ path: \"{{dir}}/access.log\", format: json }}\n",
        a.addr
    );
    let p = start_proxy(&yaml);
    let fast_addr = fast_addr.parse().unwrap();
    let cases = cases();
    for c in &cases {
        for addr in [p.addr, fast_addr] {
            let answer = raw(addr, c, Duration::from_secs(5)).await;
            assert_eq!(answer.split(' ').nth(1), Some("200"), "{answer}");
        }
    }
    let path = p.dir.path().join("access.log");
    let lines = poll_for("both engines' lines", Duration::from_secs(10), || async {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        (lines.len() >= 2 * cases.len()).then_some(lines)
    })
    .await;
    let of = |name: &str| -> Vec<&String> {
        let key = format!("\"listener\":\"{name}\"");
        lines.iter().filter(|l| l.contains(&key)).collect()
    };
    let (hyper, fast) = (of("h"), of("f"));
    assert_eq!(hyper.len(), cases.len(), "{lines:#?}");
    assert_eq!(fast.len(), cases.len(), "{lines:#?}");
    for (h, f) in hyper.iter().zip(&fast) {
        assert_eq!(comparable(h), comparable(f), "hyper: {h}\nfast:  {f}");
    }
}
