//! Checks of a cluster's traffic policy: a queue needs a connection limit to queue behind,
//! its timeout must be positive, and slow start cannot ramp a hashing cluster's table.

use super::Problem;
use crate::config::model::{BalanceMode, Cluster};

/// The traffic-policy keys of one cluster.
pub(super) fn traffic_policy(cl: &Cluster) -> Result<(), Problem> {
    let limited = cl.members.iter().any(|m| m.max_connections > 0);
    if cl.queue_size > 0 && !limited {
        return Err(Problem::new(
            format!(
                "cluster `{}`: queue_size needs max_connections on a member (nothing would ever wait)",
                cl.name
            ),
            "queue_size",
            &cl.queue_size.to_string(),
        ));
    }
    match cl.queue_timeout {
        Some(_) if cl.queue_size == 0 => {
            return Err(Problem::new(
                format!("cluster `{}`: queue_timeout needs queue_size", cl.name),
                "queue_timeout",
                "",
            ));
        }
        Some(d) if d.0.is_zero() => {
            return Err(Problem::new(
                format!("cluster `{}`: queue_timeout must be above 0s", cl.name),
                "queue_timeout",
                "",
            ));
        }
        _ => {}
    }
    if cl.slow_start.is_some() && cl.balance == BalanceMode::Hash {
        return Err(Problem::new(
            format!(
                "cluster `{}`: slow_start does not apply to balance: hash (the table keeps full weights)",
                cl.name
            ),
            "slow_start",
            "",
        ));
    }
    if let Some(b) = cl.retry_budget {
        if b.budget().window.0.is_zero() {
            return Err(Problem::new(
                format!(
                    "cluster `{}`: retry_budget window must be above 0s",
                    cl.name
                ),
                "window",
                "",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::{RetryOn, parse};

    const BASE: &str = "\
listeners:
  - address: 127.0.0.1:8280
clusters:
  - name: app
    members:
      - { address: 127.0.0.1:9001, max_connections: 10 }
default_cluster: app
";

    fn with(extra: &str) -> String {
        BASE.replace("    members:\n", &format!("{extra}    members:\n"))
    }

    #[test]
    fn traffic_policy_keys_parse_with_their_defaults() {
        let c = parse(BASE, "t").unwrap();
        let cl = &c.clusters[0];
        assert_eq!(cl.retry_on, vec![RetryOn::ConnectFailure]);
        assert!(cl.retry_budget.is_none() && cl.slow_start.is_none());
        assert_eq!((cl.queue_size, cl.queue_timeout), (0, None));
        assert_eq!(cl.members[0].max_connections, 10);
        let c = parse(
            &with("    retry_on: [connect_failure, reset_before_response, 502, 503, 504, timeout]\n    retry_budget: 20%\n    queue_size: 50\n    queue_timeout: 2s\n    slow_start: 30s\n"),
            "t",
        )
        .unwrap();
        let cl = &c.clusters[0];
        assert_eq!(cl.retry_on.len(), 6);
        let b = cl.retry_budget.unwrap().budget();
        assert_eq!(
            (b.percent.0, b.window.0.as_secs(), b.min_retries),
            (20, 10, 3)
        );
        let c = parse(
            &with("    retry_budget: { percent: 5, window: 1m, min_retries: 0 }\n"),
            "t",
        )
        .unwrap();
        let b = c.clusters[0].retry_budget.unwrap().budget();
        assert_eq!(
            (b.percent.0, b.window.0.as_secs(), b.min_retries),
            (5, 60, 0)
        );
    }

    #[test]
    fn bad_traffic_policy_keys_name_their_line() {
        let e = parse(&with("    retry_on: [500]\n"), "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("retry_on `500`"), "{e}");
        let e = parse(&with("    retry_budget: 120%\n"), "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.yaml:"), "{e}");
        let t = with("    queue_size: 5\n").replace(", max_connections: 10", "");
        let e = parse(&t, "t.yaml").unwrap_err().to_string();
        assert!(
            e.starts_with("t.yaml:5: ") && e.contains("needs max_connections"),
            "{e}"
        );
        let e = parse(
            &with("    queue_size: 5\n    queue_timeout: 0s\n"),
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("t.yaml:6: ") && e.contains("queue_timeout"),
            "{e}"
        );
        let e = parse(&with("    queue_timeout: 1s\n"), "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.yaml:5: ") && e.contains("needs queue_size"),
            "{e}"
        );
        let e = parse(&with("    balance: hash\n    slow_start: 10s\n"), "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.yaml:6: ") && e.contains("slow_start"),
            "{e}"
        );
    }
}
