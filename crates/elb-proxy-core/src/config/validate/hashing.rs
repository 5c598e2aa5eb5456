//! Checks of a cluster's `balance: hash` keys: they only mean something together, the
//! header or cookie named is a valid token, the balance factor is off or at least 100.

use super::Problem;
use crate::config::model::{BalanceMode, Cluster, HashOn};

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The hashing keys of one cluster.
pub(super) fn hashing(cl: &Cluster) -> Result<(), Problem> {
    let hashing = cl.balance == BalanceMode::Hash;
    if !hashing && cl.hash_on.is_some() {
        return Err(Problem::new(
            format!("cluster `{}`: hash_on needs balance: hash", cl.name),
            "hash_on",
            "",
        ));
    }
    if !hashing && cl.hash_balance_factor != 0 {
        return Err(Problem::new(
            format!(
                "cluster `{}`: hash_balance_factor needs balance: hash",
                cl.name
            ),
            "hash_balance_factor",
            &cl.hash_balance_factor.to_string(),
        ));
    }
    if (1..100).contains(&cl.hash_balance_factor) {
        return Err(Problem::new(
            format!(
                "cluster `{}`: hash_balance_factor {} must be 0 (off) or at least 100",
                cl.name, cl.hash_balance_factor
            ),
            "hash_balance_factor",
            &cl.hash_balance_factor.to_string(),
        ));
    }
    match &cl.hash_on {
        Some(HashOn::Header(n)) if !is_token(n) => Err(Problem::new(
            format!(
                "cluster `{}`: hash_on header `{n}` is not a header name",
                cl.name
            ),
            "header",
            n,
        )),
        Some(HashOn::Cookie(n)) if !is_token(n) || n.contains(['=', ';']) => Err(Problem::new(
            format!(
                "cluster `{}`: hash_on cookie `{n}` is not a cookie name",
                cl.name
            ),
            "cookie",
            n,
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{HashOn, parse};

    const BASE: &str = "\
listeners:
  - address: 127.0.0.1:8280
clusters:
  - name: cache
    balance: hash
    members:
      - address: 127.0.0.1:9001
      - address: 127.0.0.1:9002
default_cluster: cache
";

    #[test]
    fn hash_on_forms_parse_and_default_to_source() {
        let c = parse(BASE, "t").unwrap();
        assert_eq!(c.clusters[0].hash_on, None);
        for (text, want) in [
            ("hash_on: source", HashOn::Source),
            ("hash_on: path", HashOn::Path),
            (
                "hash_on: { header: X-User }",
                HashOn::Header("X-User".into()),
            ),
            (
                "hash_on: { cookie: session }",
                HashOn::Cookie("session".into()),
            ),
        ] {
            let t = BASE.replace(
                "    balance: hash\n",
                &format!("    balance: hash\n    {text}\n"),
            );
            let c = parse(&t, "t").unwrap();
            assert_eq!(c.clusters[0].hash_on, Some(want), "{text}");
        }
    }

    #[test]
    fn hashing_keys_without_balance_hash_or_out_of_range_name_their_line() {
        let t = BASE.replace("    balance: hash\n", "    hash_on: path\n");
        let e = parse(&t, "t.yaml").unwrap_err().to_string();
        assert_eq!(e, "t.yaml:5: cluster `cache`: hash_on needs balance: hash");
        let t = BASE.replace(
            "    balance: hash\n",
            "    balance: hash\n    hash_balance_factor: 50\n",
        );
        let e = parse(&t, "t.yaml").unwrap_err().to_string();
        assert!(
            e.starts_with("t.yaml:6: ") && e.contains("at least 100"),
            "{e}"
        );
        let t = BASE.replace(
            "    balance: hash\n",
            "    balance: hash\n    hash_on: { header: \"a b\" }\n",
        );
        let e = parse(&t, "t.yaml").unwrap_err().to_string();
        assert!(e.contains("is not a header name"), "{e}");
        let t = BASE.replace(
            "    balance: hash\n",
            "    balance: hash\n    hash_on: { query: x }\n",
        );
        let e = parse(&t, "t.yaml").unwrap_err().to_string();
        // serde names the cluster's line for a value it could not convert.
        assert!(
            e.starts_with("t.yaml:4: ") && e.contains("hash_on `query`"),
            "{e}"
        );
    }
}
