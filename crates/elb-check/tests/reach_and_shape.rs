//! The reach and shape options against real servers on loopback: nginx for
//! HTTP/2 (ALPN and prior knowledge), PROXY protocol v1/v2 listeners and
//! request bodies; the hyper test app for --connect-to/--resolve/--source.

mod common;
#[path = "../../elb-probe/tests/support/mod.rs"]
mod support;

use common::nginx::{Nginx, free_port, openssl_cert};
use common::{elb_check, expect_code};
use support::{app, http_server};

#[test]
fn connect_to_and_resolve_probe_a_named_host_on_another_address() {
    let addr = http_server(app());
    let port = addr.port().to_string();
    // Host header and URL name stay app.example; the connection goes to the test server.
    let url = "http://app.example/echo";
    let run = elb_check(&[
        "--connect-to",
        &format!("app.example:80:127.0.0.1:{port}"),
        "-s",
        "host=app.example ",
        url,
    ]);
    expect_code(&run, 0);
    let url = format!("http://app.example:{port}/echo");
    let run = elb_check(&[
        "-v",
        "--resolve",
        &format!("app.example:{port}:127.0.0.1"),
        "-s",
        &format!("host=app.example:{port} "),
        &url,
    ]);
    expect_code(&run, 0);
    assert!(
        !run.stderr.contains("elb-check: resolve"),
        "no DNS: {}",
        run.stderr
    );
    // Entries for another port do not apply (and .example does not resolve).
    let run = elb_check(&["--resolve", "app.example:1:127.0.0.1", &url]);
    expect_code(&run, 4);
}

#[test]
fn source_and_interface_bind_the_local_end() {
    let nginx_port = free_port();
    let nginx = Nginx::start(
        &format!(
            "server {{ listen 127.0.0.1:{nginx_port}; location / {{ return 200 \"from $remote_addr\\n\"; }} }}"
        ),
        &[nginx_port],
    );
    let url = format!("http://127.0.0.1:{nginx_port}/");
    for flag in ["--source", "--interface"] {
        let run = elb_check(&[flag, "127.0.0.9", "-s", "from 127.0.0.9\n", &url]);
        expect_code(&run, 0);
    }
    expect_code(
        &elb_check(&["--interface", "lo", "-s", "from 127.0.0.1\n", &url]),
        0,
    );
    let run = elb_check(&["-v", "--interface", "no-such-if0", &url]);
    expect_code(&run, 4);
    assert!(
        run.stderr.contains("cannot bind to interface no-such-if0"),
        "{}",
        run.stderr
    );
    drop(nginx);
}

#[test]
fn http2_over_tls_and_cleartext() {
    let dir = tempfile::tempdir().unwrap();
    openssl_cert(dir.path(), "localhost");
    let (tls, clear, h1) = (free_port(), free_port(), free_port());
    let servers = format!(
        "server {{ listen 127.0.0.1:{tls} ssl http2; ssl_certificate server.pem; ssl_certificate_key server.key;\n\
           location / {{ return 200 \"$server_protocol\\n\"; }} }}\n\
         server {{ listen 127.0.0.1:{clear} http2; location / {{ return 200 \"$server_protocol\\n\"; }} }}\n\
         server {{ listen 127.0.0.1:{h1} ssl; ssl_certificate server.pem; ssl_certificate_key server.key;\n\
           location / {{ return 200 \"$server_protocol\\n\"; }} }}"
    );
    let nginx = Nginx::start_in(dir, &servers, &[tls, clear, h1]);
    let ca = nginx.path("server.pem").display().to_string();
    let run = elb_check(&[
        "-v",
        "--http2",
        "--cacert",
        &ca,
        "-s",
        "HTTP/2.0",
        &format!("https://localhost:{tls}/"),
    ]);
    expect_code(&run, 0);
    assert!(run.stderr.contains("HTTP/2 200"), "{}", run.stderr);
    // Without --http2 the same server speaks HTTP/1.1.
    let run = elb_check(&[
        "--cacert",
        &ca,
        "-s",
        "HTTP/1.1",
        &format!("https://localhost:{tls}/"),
    ]);
    expect_code(&run, 0);
    // A server without h2 in ALPN: --http2 falls back to HTTP/1.1 as curl does.
    let run = elb_check(&[
        "--http2",
        "--cacert",
        &ca,
        "-s",
        "HTTP/1.1",
        &format!("https://localhost:{h1}/"),
    ]);
    expect_code(&run, 0);
    let run = elb_check(&[
        "--h2c",
        "-s",
        "HTTP/2.0",
        "--format",
        "json",
        &format!("http://127.0.0.1:{clear}/"),
    ]);
    expect_code(&run, 0);
    assert!(
        run.stdout.contains("\"status_line\":\"HTTP/2 200 OK\""),
        "{}",
        run.stdout
    );
    // Prior knowledge against an HTTP/1.1-only listener is a protocol error.
    let run = elb_check(&["-v", "--h2c", &format!("http://127.0.0.1:{h1}/")]);
    expect_code(&run, 7);
    assert!(
        run.stderr
            .contains("protocol error in wait: HTTP/2 request: "),
        "{}",
        run.stderr
    );
    drop(nginx);
}

#[test]
fn proxy_protocol_v1_and_v2_listeners() {
    let port = free_port();
    let nginx = Nginx::start(
        &format!(
            "server {{ listen 127.0.0.1:{port} proxy_protocol;\n\
               location / {{ return 200 \"client=$proxy_protocol_addr\\n\"; }} }}"
        ),
        &[port],
    );
    let url = format!("http://127.0.0.1:{port}/");
    for version in ["v1", "v2"] {
        let run = elb_check(&[
            "--proxy-protocol",
            version,
            "-s",
            "client=127.0.0.1\n",
            &url,
        ]);
        expect_code(&run, 0);
    }
    // Without the header nginx refuses the connection.
    let run = elb_check(&[&url]);
    assert_ne!(run.code, Some(0), "{}", nginx.error_log());
}

#[test]
fn method_data_headers_and_answer_rules() {
    let port = free_port();
    let nginx = Nginx::start(
        &format!(
            "server {{ listen 127.0.0.1:{port};\n\
               location /echo {{ echo_read_request_body; echo \"$request_method $http_x_probe $request_body\"; }}\n\
               location /health {{ default_type application/json;\n\
                 return 200 '{{\"status\":\"UP\",\"checks\":[{{\"name\":\"db\",\"ok\":true}}],\"n\":3}}'; }}\n\
               location /created {{ return 201 created; }} }}"
        ),
        &[port],
    );
    let base = format!("http://127.0.0.1:{port}");
    let echo = format!("{base}/echo");
    expect_code(
        &elb_check(&[
            "-d",
            "a=1",
            "-H",
            "X-Probe: yes",
            "-s",
            "POST yes a=1",
            &echo,
        ]),
        0,
    );
    expect_code(
        &elb_check(&["-X", "PUT", "-d", "b", "-s", "PUT  b", &echo]),
        0,
    );
    let file = nginx.path("payload");
    std::fs::write(&file, "from-file").unwrap();
    let at = format!("@{}", file.display());
    expect_code(
        &elb_check(&["--data", &at, "-s", "POST  from-file", &echo]),
        0,
    );
    expect_code(&elb_check(&["-X", "DELETE", "-s", "DELETE", &echo]), 0);
    expect_code(
        &elb_check(&["--expect-body", "(?m)^POST .* a=1$", "-d", "a=1", &echo]),
        0,
    );
    expect_code(
        &elb_check(&["--expect-body", "^GET", "-d", "a=1", &echo]),
        8,
    );

    let health = format!("{base}/health");
    expect_code(
        &elb_check(&[
            "--expect-json",
            "/status=UP",
            "--expect-json",
            "/checks/0/ok=true",
            "--expect-json",
            "/n=3",
            &health,
        ]),
        0,
    );
    let run = elb_check(&["-v", "--expect-json", "/status=DOWN", &health]);
    expect_code(&run, 8);
    assert!(
        run.stderr
            .contains("JSON body has \"UP\" at /status, expected \"DOWN\""),
        "{}",
        run.stderr
    );
    expect_code(&elb_check(&["--expect-json", "/missing=1", &health]), 8);
    expect_code(&elb_check(&["--expect-json", "/status=UP", &echo]), 8);

    let created = format!("{base}/created");
    expect_code(&elb_check(&[&created]), 8);
    expect_code(&elb_check(&["--expect-status", "200-204", &created]), 0);
    expect_code(&elb_check(&["--expect-status", "2xx,301", &created]), 0);
    expect_code(&elb_check(&["--expect-status", "202-299", &created]), 8);
    drop(nginx);
}
