//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the stable test that replays
//! their committed corpora (`tests/fuzz_corpus.rs`). Each must accept any bytes without
//! panicking, hanging or allocating without bound.

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::config;
use crate::route::{RequestHead, Router};

/// Config loading and route matching: the bytes are a config file; when it is valid, a few
/// request heads derived from the same bytes are routed through its compiled table.
pub fn config_and_route(data: &[u8]) {
    // Bound input size the way a real deployment would (config files are small).
    if data.len() > 64 * 1024 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = config::parse(text, "fuzz.yaml") else {
        return;
    };
    member_names_expand(&cfg, data);
    let _ = crate::request_id::header_of(&cfg);
    let names: Vec<&str> = cfg.clusters.iter().map(|c| c.name.as_str()).collect();
    let router = Router::compile(&cfg, |n| names.iter().position(|x| *x == n));
    let mut headers = HeaderMap::new();
    for line in text.lines().take(8) {
        if let Some((k, v)) = line.split_once(':') {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.trim().as_bytes()),
                HeaderValue::from_str(v.trim()),
            ) {
                headers.append(k, v);
            }
        }
    }
    for word in text.split_whitespace().take(16) {
        let (path, query) = match word.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (word, None),
        };
        let head = RequestHead {
            host: Some(word),
            path,
            method: &Method::GET,
            headers: &headers,
            query,
        };
        if let Some(r) = router.route(&head) {
            assert!(
                r.cluster < cfg.clusters.len(),
                "route points outside the cluster list"
            );
            if let Some(rules) = &r.rules {
                apply_rules(rules, r.cluster, &router, &headers, word, path, query);
            }
        }
    }
    hashed_picks(&cfg, text, &headers);
}

/// Each `balance: hash` cluster picks a member for keys drawn from the text: always one of
/// its members with a weight.
fn hashed_picks(cfg: &config::ValidConfig, text: &str, headers: &HeaderMap) {
    for c in cfg
        .clusters
        .iter()
        .filter(|c| c.balance == config::BalanceMode::Hash)
    {
        let weights: Vec<u32> = c.members.iter().map(|m| m.weight).collect();
        let passive = crate::PassivePolicy {
            consecutive_failures: 0,
            base_ejection: std::time::Duration::ZERO,
            max_ejection: std::time::Duration::ZERO,
            max_ejection_percent: 0,
            panic_threshold_percent: 0,
        };
        let mut b = crate::Balancer::new(c.balance, &weights, passive, None);
        b.enable_hashing(
            c.members.iter().map(|m| m.display_name()).collect(),
            c.hash_balance_factor,
        );
        let on = c.hash_on.clone().unwrap_or_default();
        let now = std::time::Instant::now();
        for word in text.split_whitespace().take(8) {
            let key = crate::request_key(&on, std::net::Ipv4Addr::LOCALHOST.into(), word, headers);
            if let Some(i) = b.pick_keyed(now, 0, None, &[], key) {
                assert!(weights[i] > 0, "hashing picked a member of weight 0");
            }
        }
    }
}

/// Members given by name, expanded with answers made from the bytes: each name becomes as
/// many members as it has distinct addresses, every other member stays.
fn member_names_expand(cfg: &config::ValidConfig, data: &[u8]) {
    let answer: Vec<config::Endpoint> = data
        .iter()
        .take(4)
        .map(|&b| config::Endpoint::from(std::net::IpAddr::from([198, 18, 0, b])))
        .collect();
    let mut distinct = answer.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let expanded = cfg.expanded(|_| Some(&answer[..]));
    for (before, after) in cfg.clusters.iter().zip(&expanded.clusters) {
        let named = before
            .members
            .iter()
            .filter(|m| m.address.name().is_some())
            .count();
        let want = before.members.len() - named + named * distinct.len();
        assert_eq!(after.members.len(), want, "expansion lost or added members");
        assert!(after.members.iter().all(|m| m.address.ip().is_some()));
    }
}

/// Runs a matched route's rules the way the proxy does (header rules both ways, prefix
/// rewrite, redirect location, split pick) on a request derived from the fuzz input.
fn apply_rules(
    rules: &crate::RouteRules,
    cluster: usize,
    router: &Router,
    headers: &HeaderMap,
    word: &str,
    path: &str,
    query: Option<&str>,
) {
    use crate::rewrite::{Origin, Vars, rewrite_prefix};
    let vars = Vars {
        client: None,
        request_id: word,
        host: word,
        scheme: "http",
        path,
        method: "GET",
    };
    let mut h = headers.clone();
    let picked = rules.cluster(cluster);
    if let Some(c) = router.cluster_rules(picked) {
        c.request.apply(&mut h, &vars);
        c.response.apply(&mut h, &vars);
    }
    rules.headers.request.apply(&mut h, &vars);
    rules.headers.response.apply(&mut h, &vars);
    if let Some((from, to)) = &rules.rewrite_prefix {
        if let Some(p) = rewrite_prefix(word, from, to) {
            assert!(p.starts_with('/'), "a rewritten path starts with /");
        }
    }
    if let Some(r) = &rules.redirect {
        let o = Origin {
            scheme: "http",
            host: word,
            path,
            query,
        };
        let _ = r.location(&o);
    }
}

/// The admin command parser.
pub fn admin_command(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n').take(64) {
        let _ = crate::command::parse(line);
    }
}

/// The PROXY protocol header parser, fed as the proxy's reader feeds it (only the bytes it
/// asks for): it never asks past a complete header and never panics.
pub fn proxy_header(data: &[u8]) {
    use crate::proxy_protocol::{Progress, parse};
    let mut at = 0;
    let mut need = 1;
    while at + need <= data.len() {
        at += need;
        match parse(&data[..at]) {
            Err(_) => return,
            Ok(Progress::Done(h)) => {
                assert_eq!(h.len, at, "a header ends where the reader stopped");
                return;
            }
            Ok(Progress::Need(n)) => {
                assert!(n > 0 && n <= 65_535 + 16, "asked for {n} bytes");
                need = n;
            }
        }
    }
}

/// The strict HTTP/1.1 gate: the first byte picks a read size; whether a request is
/// refused must not depend on how the input is split (the reason may: a head cut short can
/// break a different rule first), and without a refusal every byte passes unchanged.
pub fn request_gate(data: &[u8]) {
    use crate::gate::{GateConfig, RequestGate};
    let Some((&split, input)) = data.split_first() else {
        return;
    };
    let run = |step: usize| {
        let mut g = RequestGate::new(GateConfig::default());
        let mut out = Vec::new();
        for chunk in input.chunks(step.max(1)) {
            if let Some(r) = g.feed(chunk, &mut out) {
                return (out, Some(r.reason), g.holds_partial_head());
            }
        }
        (out, None, g.holds_partial_head())
    };
    let (whole, whole_reason, whole_partial) = run(input.len());
    let (parts, parts_reason, _) = run(usize::from(split % 32) + 1);
    assert_eq!(
        whole_reason.is_some(),
        parts_reason.is_some(),
        "the split changed the verdict: {whole_reason:?} / {parts_reason:?}"
    );
    if whole_reason.is_none() && !whole_partial {
        assert_eq!(whole, input, "an accepted stream passes unchanged");
        assert_eq!(
            parts, input,
            "an accepted stream passes unchanged when split"
        );
    }
}

/// The forwarding headers that name the client behind a trusted proxy: any text as an
/// `X-Forwarded-For` or a `Forwarded` value gives an address, never a panic.
pub fn forwarded_client(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let peer = std::net::IpAddr::from([198, 18, 0, 1]);
    let trusted = |ip: std::net::IpAddr| ip.is_loopback() || ip == peer;
    let _ = crate::forwarded::forwarded_for_hops(&[&text]);
    let _ = crate::limits::client_address(peer, trusted, &[], &[&text]);
    let _ = crate::limits::client_address(peer, trusted, &[&text], &[&text]);
}

/// The per-client limits table under a stream of operations: it never holds more than
/// its capacity; the same bytes as forwarding header text (`forwarded_client`).
pub fn limits_table(data: &[u8]) {
    forwarded_client(data);
    use crate::limits::{ClientKey, ClientTable, RateSpec, Scope};
    let Some((&cap, ops)) = data.split_first() else {
        return;
    };
    let cap = usize::from(cap % 64) + 1;
    let mut t = ClientTable::new(cap);
    let start = std::time::Instant::now();
    for (i, w) in ops.chunks(3).enumerate() {
        let [op, a, b] = [w[0], *w.get(1).unwrap_or(&0), *w.get(2).unwrap_or(&0)];
        let key = ClientKey {
            scope: if op & 0x80 == 0 {
                Scope::Global
            } else {
                Scope::Route(u32::from(b % 4))
            },
            addr: std::net::IpAddr::from([198, 18, a, b]),
        };
        let now = start + std::time::Duration::from_millis(i as u64 * u64::from(b % 8));
        match op % 3 {
            0 => {
                let _ = t.take(
                    key,
                    RateSpec::new(f64::from(a % 10) + 0.5, Some(u32::from(b % 5) + 1)),
                    now,
                );
            }
            1 => {
                let _ = t.connect(key, u32::from(a % 4) + 1, now);
            }
            _ => t.disconnect(key),
        }
        assert!(t.len() <= cap, "table over its capacity");
    }
}

#[cfg(test)]
mod tests {
    /// A stable, bounded run of the gate and table targets on mutated requests.
    #[test]
    fn gate_and_table_targets_hold_on_mutated_requests() {
        let seeds: [&[u8]; 3] = [
            b"\x05GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
            b"\x03POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            b"\x01GET /%61 HTTP/1.1\r\nHost: a\r\nX_A: 1\r\n\r\n",
        ];
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for i in 0..20_000 {
            let mut input = seeds[i % 3].to_vec();
            for _ in 0..(next() % 4) {
                let at = (next() as usize) % input.len();
                match next() % 3 {
                    0 => input[at] = next() as u8,
                    1 => input.insert(at, b"\r\n:; 0a"[(next() % 7) as usize]),
                    _ => {
                        input.remove(at);
                    }
                }
                if input.is_empty() {
                    input.push(1);
                }
            }
            super::request_gate(&input);
            super::limits_table(&input);
            super::proxy_header(&input[1..]);
        }
    }
}
