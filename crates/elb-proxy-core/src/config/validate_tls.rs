//! Checks of the `tls:` blocks toward members that need no file: pairs that only work
//! together, ALPN names, the protocol the ALPN list must allow. The files themselves (CA,
//! client certificate and key) are read and checked by the proxy at `--check`, start and
//! reload.

use super::model::{Cluster, MemberProtocol, MemberTls};
use super::validate::Problem;

/// Every member's effective `tls` block of `cl`.
pub(super) fn cluster_tls(cl: &Cluster) -> Result<(), Problem> {
    if let Some(t) = &cl.tls {
        block(t, cl.protocol, &cl.name)?;
    }
    for m in &cl.members {
        if let Some(t) = &m.tls {
            block(t, m.protocol.unwrap_or(cl.protocol), &cl.name)?;
        } else if let (Some(t), Some(p)) = (&cl.tls, m.protocol) {
            block(t, p, &cl.name)?;
        }
    }
    Ok(())
}

fn block(t: &MemberTls, protocol: MemberProtocol, cluster: &str) -> Result<(), Problem> {
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    match (path(&t.client_cert), path(&t.client_key)) {
        (Some(c), None) => {
            return Err(Problem::new(
                format!("cluster `{cluster}`: tls.client_cert needs tls.client_key"),
                "client_cert",
                &c,
            ));
        }
        (None, Some(k)) => {
            return Err(Problem::new(
                format!("cluster `{cluster}`: tls.client_key needs tls.client_cert"),
                "client_key",
                &k,
            ));
        }
        _ => {}
    }
    if let (false, Some(ca)) = (t.verify, path(&t.ca)) {
        return Err(Problem::new(
            format!(
                "cluster `{cluster}`: tls.ca is not used with verify: false (drop one of them)"
            ),
            "ca",
            &ca,
        ));
    }
    for p in &t.alpn {
        if p != "h2" && p != "http/1.1" {
            return Err(Problem::new(
                format!("cluster `{cluster}`: unsupported tls.alpn protocol `{p}` (h2, http/1.1)"),
                "alpn",
                "",
            ));
        }
    }
    if protocol == MemberProtocol::H2 && !t.alpn.is_empty() && !t.alpn.iter().any(|p| p == "h2") {
        return Err(Problem::new(
            format!("cluster `{cluster}`: protocol h2 needs `h2` in tls.alpn"),
            "alpn",
            "",
        ));
    }
    if let Some(n) = &t.server_name {
        let ok = n.parse::<std::net::IpAddr>().is_ok()
            || (!n.is_empty()
                && n.len() <= 253
                && n.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                }));
        if !ok {
            return Err(Problem::new(
                format!(
                    "cluster `{cluster}`: tls.server_name `{n}` is not a DNS name or IP address"
                ),
                "server_name",
                n,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    const BASE: &str = "\
listeners:
  - address: 127.0.0.1:8280
clusters:
  - name: app
    TLS
    members:
      - address: 127.0.0.1:9001
default_cluster: app
";

    fn with(tls: &str) -> Result<(), String> {
        parse(&BASE.replace("TLS", tls), "t.yaml")
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_block_loads_with_its_defaults() {
        let c = parse(&BASE.replace("TLS", "tls: { ca: /etc/ca.pem }"), "t").unwrap();
        let t = c.clusters[0].tls.as_ref().unwrap();
        assert!(t.verify && t.server_name.is_none() && t.alpn.is_empty());
        let m = &c.clusters[0].members[0];
        assert_eq!(c.clusters[0].tls_for(m), Some(t));
    }

    #[test]
    fn broken_blocks_are_named_with_their_line() {
        // Block style, as operators write it, so each key has its own line.
        let t = "tls:\n      ";
        for (tls, says) in [
            (
                format!("{t}client_cert: /c.pem"),
                "client_cert needs tls.client_key",
            ),
            (
                format!("{t}client_key: /k.pem"),
                "client_key needs tls.client_cert",
            ),
            (
                format!("{t}verify: false\n      ca: /ca.pem"),
                "tls.ca is not used with verify",
            ),
            (
                format!("{t}alpn: [spdy]"),
                "unsupported tls.alpn protocol `spdy`",
            ),
            (
                format!("protocol: h2\n    {t}alpn: [http/1.1]"),
                "protocol h2 needs `h2`",
            ),
            (format!("{t}server_name: \"a b\""), "is not a DNS name"),
            (format!("{t}verfy: false"), "unknown field `verfy`"),
        ] {
            let e = with(&tls).unwrap_err();
            assert!(e.contains(says), "{tls}: {e}");
            let line = BASE.replace("TLS", &tls).lines().count() - BASE.lines().count() + 5;
            assert!(e.starts_with(&format!("t.yaml:{line}:")), "{tls}: {e}");
        }
    }
}
