//! Header rules, path prefix rewrite, the sticky cookie's attributes and stripping, and
//! redirects, end to end: a real elb-proxy process in front of real members on loopback,
//! on both engines (the fast one hands routes with rules to hyper; it strips the sticky
//! cookie itself).

mod common;

use common::*;
use http::Request;

const ENGINES: [&str; 2] = ["hyper", "fast"];

fn listener(engine: &str) -> String {
    format!("listeners: [{{ address: \"{{listen}}\", engine: {engine} }}]\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_rules_run_cluster_then_route_and_the_prefix_is_rewritten() {
    for engine in ENGINES {
        let app = Backend::start("app").await;
        let routes = r#"routes:
  - match: { path_prefix: /api/ }
    cluster: app
    rewrite_prefix: /v2/
    headers:
      request:
        remove: [x-secret]
        set: { x-order: route, x-scheme: "%{scheme}" }
        add: { x-client: "%{client_addr} %{method} %{path}", x-id: "%{request_id}" }
      response:
        set: { x-host: "%{host}" }
        remove: [x-backend]
"#;
        let yaml = format!(
            "{}clusters:\n{}{routes}",
            listener(engine),
            cluster_yaml(
                "app",
                &[("a1", app.addr, 1)],
                "    headers:\n      request: { set: { x-order: cluster, x-cluster: app } }\n      response: { add: { x-via: elb } }\n"
            ),
        );
        let p = start_proxy(&yaml);
        let req = Request::get("/api/users?x=1")
            .header("host", "shop.example")
            .header("x-secret", "s")
            .header("x-request-id", "req-42")
            .body(empty())
            .unwrap();
        let r = request(p.addr, req).await.unwrap();
        assert_eq!(r.status, 200, "{engine}");
        let h = app.last_headers.lock().unwrap().clone();
        assert_eq!(
            h[":path"], "/v2/users?x=1",
            "{engine}: prefix rewritten, query kept"
        );
        assert_eq!(
            h["x-order"], "route",
            "{engine}: route rules run after the cluster's"
        );
        assert_eq!(h["x-cluster"], "app", "{engine}");
        assert_eq!(h["x-scheme"], "http", "{engine}");
        assert_eq!(h["x-client"], "127.0.0.1 GET /api/users", "{engine}");
        assert_eq!(h["x-id"], "req-42", "{engine}: the client's request id");
        assert!(!h.contains_key("x-secret"), "{engine}: removed");
        assert_eq!(r.headers["x-host"], "shop.example", "{engine}");
        assert_eq!(r.headers["x-via"], "elb", "{engine}");
        assert!(
            r.headers.get("x-backend").is_none(),
            "{engine}: removed from the answer"
        );
        // A path outside the prefix route is untouched and gets only the cluster's rules.
        let r = get(p.addr, "shop.example", "/other").await;
        assert_eq!(r.status, 404, "{engine}: no default cluster");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_cookie_is_opaque_stripped_before_the_member_and_stable_across_reload() {
    for engine in ENGINES {
        let a = Backend::start("a").await;
        let b = Backend::start("b").await;
        let yaml = format!(
            "{}clusters:\n{}default_cluster: s\n",
            listener(engine),
            cluster_yaml(
                "s",
                &[("web-a", a.addr, 1), ("web-b", b.addr, 1)],
                "    sticky: { cookie: SRV, secure: true, same_site: lax, max_age: 10m, secret: k1 }\n"
            ),
        );
        let p = start_proxy(&yaml);
        let first = get(p.addr, "s", "/").await;
        let set = first.headers["set-cookie"].to_str().unwrap().to_string();
        assert!(
            set.ends_with("; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=600"),
            "{engine}: {set}"
        );
        let pair = set.split(';').next().unwrap().to_string();
        let id = pair.strip_prefix("SRV=").unwrap().to_string();
        assert!(
            !id.contains("web-"),
            "{engine}: the value is not the member name: {id}"
        );
        let member = if first.body == "a\n" { &a } else { &b };
        let cookie = format!("theme=dark; {pair}; lang=en");
        for _ in 0..6 {
            let req = Request::get("/")
                .header("host", "s")
                .header("cookie", &cookie)
                .body(empty())
                .unwrap();
            let r = request(p.addr, req).await.unwrap();
            assert_eq!(r.body, first.body, "{engine}: sticky cookie honoured");
            assert!(r.headers.get("set-cookie").is_none(), "{engine}");
        }
        assert_eq!(
            member.last_headers.lock().unwrap()["cookie"],
            "theme=dark; lang=en",
            "{engine}: the sticky cookie never reaches the member"
        );
        // A forged value is balanced as usual and gets a real cookie.
        let req = Request::get("/")
            .header("host", "s")
            .header("cookie", "SRV=web-a")
            .body(empty())
            .unwrap();
        let r = request(p.addr, req).await.unwrap();
        assert_eq!(r.status, 200, "{engine}");
        assert!(
            r.headers.get("set-cookie").is_some(),
            "{engine}: forged value replaced"
        );
        // A reload that keeps the member's name keeps its cookie value.
        let (ok, out) = p.ctl("reload");
        assert!(ok && out.contains("config reloaded"), "{out}");
        let req = Request::get("/")
            .header("host", "s")
            .header("cookie", &pair)
            .body(empty())
            .unwrap();
        let r = request(p.addr, req).await.unwrap();
        assert_eq!(r.body, first.body, "{engine}: same member after reload");
        assert!(
            r.headers.get("set-cookie").is_none(),
            "{engine}: same id after reload"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_answered_by_the_proxy() {
    for engine in ENGINES {
        let app = Backend::start("app").await;
        let routes = r#"routes:
  - { match: { host: plain.example }, redirect: { scheme: https } }
  - match: { path_prefix: /old/ }
    redirect: { prefix: /new/, status: 308, drop_query: true }
  - { match: { path: /moved }, redirect: { host: "other.example:8443", path: /here, status: 302 } }
default_cluster: app
"#;
        let yaml = format!(
            "{}clusters:\n{}{routes}",
            listener(engine),
            cluster_yaml("app", &[("a1", app.addr, 1)], ""),
        );
        let p = start_proxy(&yaml);
        let r = get(p.addr, "plain.example:80", "/a/b?q=1").await;
        assert_eq!(r.status, 301, "{engine}");
        assert_eq!(
            r.headers["location"], "https://plain.example/a/b?q=1",
            "{engine}"
        );
        let r = get(p.addr, "x.example", "/old/page?q=1").await;
        assert_eq!(r.status, 308, "{engine}");
        assert_eq!(
            r.headers["location"], "http://x.example/new/page",
            "{engine}"
        );
        let r = get(p.addr, "x.example", "/moved?k=v").await;
        assert_eq!(r.status, 302, "{engine}");
        assert_eq!(
            r.headers["location"], "http://other.example:8443/here?k=v",
            "{engine}"
        );
        assert_eq!(app.hits(), 0, "{engine}: no redirect reached the member");
        assert_eq!(get(p.addr, "x.example", "/kept").await.body, "app\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regex_query_and_method_conditions_route() {
    for engine in ENGINES {
        let api = Backend::start("api").await;
        let beta = Backend::start("beta").await;
        let yaml = format!(
            "{}clusters:\n{}{}routes:\n\
  - {{ match: {{ path_regex: \"^/v[0-9]+/items$\", methods: [GET, HEAD] }}, cluster: beta }}\n\
  - {{ match: {{ query: {{ name: beta, value: \"yes please\" }} }}, cluster: beta }}\n\
  - {{ match: {{ header: {{ name: user-agent, value_regex: \"(?i)^canary\" }} }}, cluster: beta }}\n\
default_cluster: api\n",
            listener(engine),
            cluster_yaml("api", &[("a1", api.addr, 1)], ""),
            cluster_yaml("beta", &[("b1", beta.addr, 1)], ""),
        );
        let p = start_proxy(&yaml);
        let cases = [
            ("/v3/items", "beta"),
            ("/v3/items/1", "api"),
            ("/?beta=yes+please", "beta"),
            ("/?beta=yes%20please", "beta"),
            ("/?beta=no", "api"),
        ];
        for (target, want) in cases {
            let r = get(p.addr, "h", target).await;
            assert_eq!(r.body, format!("{want}\n"), "{engine}: GET {target}");
        }
        let post = Request::post("/v3/items")
            .header("host", "h")
            .body(empty())
            .unwrap();
        assert_eq!(
            request(p.addr, post).await.unwrap().body,
            "api\n",
            "{engine}"
        );
        let ua = Request::get("/")
            .header("host", "h")
            .header("user-agent", "Canary/1.0")
            .body(empty())
            .unwrap();
        assert_eq!(
            request(p.addr, ua).await.unwrap().body,
            "beta\n",
            "{engine}"
        );
    }
}
