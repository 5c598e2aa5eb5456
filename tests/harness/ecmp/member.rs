//! The members behind the balancers: a small HTTP/1.1 server (Debian's python3) that names
//! itself and the address the request came from, so a client can tell which balancer
//! carried its connection (each balancer reaches the members from its own address).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result};
use netlab::{Host, Proc};

use crate::services::SYSTEM_PYTHON;

const MEMBER_PY: &str = r#"
import http.server, sys
name, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("%s via %s\n" % (name, self.client_address[0])).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer((addr, port), Handler).serve_forever()
"#;

/// Starts member `name` on `host`:`port` and waits until it accepts connections.
pub fn start_member(host: &Host, name: &str, port: u16) -> Result<Proc> {
    let mut cmd = host.command(SYSTEM_PYTHON);
    cmd.args(["-u", "-c", MEMBER_PY, name])
        .arg(host.ipv4().to_string())
        .arg(port.to_string());
    let proc = host.spawn(&format!("member-{name}"), cmd)?;
    host.wait_tcp(
        SocketAddr::new(IpAddr::V4(host.ipv4()), port),
        Duration::from_secs(10),
    )
    .with_context(|| format!("member {name} did not start"))?;
    Ok(proc)
}
