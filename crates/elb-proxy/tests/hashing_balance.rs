//! `balance: hash` end to end: a real elb-proxy in front of real members on loopback; the
//! same key reaches the same member across requests, connections and a reload that keeps
//! the member set (in another order), and only the keys of a member taken out move.

mod common;

use std::collections::HashMap;

use common::*;
use http::Request;

/// The member (its body) that answers each of `users` for a request with `X-User`.
async fn members_of(addr: std::net::SocketAddr, users: &[String]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for u in users {
        let req = Request::get("/item")
            .header("host", "cache")
            .header("x-user", u.as_str())
            .body(empty())
            .unwrap();
        let a = request(addr, req).await.unwrap();
        assert_eq!(a.status, 200, "{u}");
        out.insert(u.clone(), a.body);
    }
    out
}

fn config(backends: &[Backend], order: &[usize], engine: &str) -> String {
    let members: Vec<(String, std::net::SocketAddr, u32)> = order
        .iter()
        .map(|&i| (format!("m{i}"), backends[i].addr, 1))
        .collect();
    let refs: Vec<(&str, std::net::SocketAddr, u32)> = members
        .iter()
        .map(|(n, a, w)| (n.as_str(), *a, *w))
        .collect();
    format!(
        "listeners: [{{ address: \"{{listen}}\"{engine} }}]\nclusters:\n{}default_cluster: cache\n",
        cluster_yaml(
            "cache",
            &refs,
            "    balance: hash\n    hash_on: { header: X-User }\n"
        )
    )
}

async fn same_key_same_member(engine: &str) {
    let mut backends = Vec::new();
    for i in 0..5 {
        backends.push(Backend::start(&format!("m{i}")).await);
    }
    let p = start_proxy(&config(&backends, &[0, 1, 2, 3, 4], engine));
    let users: Vec<String> = (0..60).map(|i| format!("user-{i}")).collect();
    let first = members_of(p.addr, &users).await;
    let used: std::collections::HashSet<&String> = first.values().collect();
    assert!(used.len() >= 4, "60 keys over 5 members used only {used:?}");
    assert_eq!(
        members_of(p.addr, &users).await,
        first,
        "second round moved keys"
    );

    // A reload with the same members listed in another order keeps every key's member.
    std::fs::write(
        &p.config_path,
        config(&backends, &[3, 1, 4, 0, 2], engine)
            .replace("{listen}", &p.addr.to_string())
            .replace(
                "default_cluster",
                &format!(
                    "admin: {{ socket: \"{}\" }}\ndefault_cluster",
                    p.admin.display()
                ),
            ),
    )
    .unwrap();
    let (ok, out) = p.ctl("reload");
    assert!(ok && out.contains("config reloaded"), "{out}");
    assert_eq!(members_of(p.addr, &users).await, first, "reload moved keys");

    // A member in maintenance: its keys move to their next choices, no other key moves.
    let (ok, out) = p.ctl("disable server cache/m2");
    assert!(ok, "{out}");
    let without = members_of(p.addr, &users).await;
    for u in &users {
        if first[u] == "m2\n" {
            assert_ne!(without[u], "m2\n", "{u} still on the member in maintenance");
        } else {
            assert_eq!(without[u], first[u], "{u} moved though its member is up");
        }
    }
    // A request without the header is still served (round-robin).
    assert_eq!(get(p.addr, "cache", "/").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_key_reaches_the_same_member_across_requests_and_a_reload() {
    same_key_same_member("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_engine_listener_hands_hashing_clusters_to_hyper_and_keeps_the_keys() {
    same_key_same_member(", engine: fast").await;
}
