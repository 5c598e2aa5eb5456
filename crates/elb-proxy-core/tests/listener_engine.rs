//! The listener `engine` key: `fast` or `hyper` on plain listeners, refused where the fast
//! path cannot serve (TLS, h2c), and anything else is a config error.

use elb_proxy_core::config::{Engine, parse};

const CLUSTER: &str =
    "clusters: [{ name: a, members: [{ address: 127.0.0.1:2 }] }]\ndefault_cluster: a\n";

fn with_listener(listener: &str) -> String {
    format!("listeners: [{listener}]\n{CLUSTER}")
}

#[test]
fn plain_listeners_take_either_engine_or_leave_it_unset() {
    for (text, want) in [
        ("{ address: 127.0.0.1:1 }", None),
        ("{ address: 127.0.0.1:1, engine: fast }", Some(Engine::Fast)),
        (
            "{ address: 127.0.0.1:1, engine: hyper }",
            Some(Engine::Hyper),
        ),
    ] {
        let c = parse(&with_listener(text), "test.yaml").expect(text);
        assert_eq!(c.listeners[0].engine, want, "{text}");
    }
}

#[test]
fn engine_fast_is_refused_on_h2c_and_unknown_engines_are_errors() {
    let err = parse(
        &with_listener("{ address: 127.0.0.1:1, engine: fast, h2c: true }"),
        "test.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("engine fast serves plain HTTP/1.1 only"),
        "{err}"
    );
    assert!(err.contains("test.yaml"), "names the file: {err}");
    let err = parse(
        &with_listener("{ address: 127.0.0.1:1, engine: turbo }"),
        "test.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("engine") || err.contains("turbo"), "{err}");
    // hyper is always fine, h2c included.
    parse(
        &with_listener("{ address: 127.0.0.1:1, engine: hyper, h2c: true }"),
        "test.yaml",
    )
    .unwrap();
}
