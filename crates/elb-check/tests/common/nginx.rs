//! A real nginx (Debian's, with its echo module) on loopback ports for the
//! option tests: HTTP/2 over TLS and cleartext, PROXY protocol listeners,
//! request bodies echoed back. Stopped (killed and reaped) on drop.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx and the directory holding its config and logs.
pub struct Nginx {
    child: Child,
    /// Config, logs and temp paths.
    pub dir: tempfile::TempDir,
}

/// A free loopback port (bound, then released for nginx to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl Nginx {
    /// Starts nginx with these `server { ... }` blocks and waits (10 s at
    /// most) until every port in `ports` accepts.
    pub fn start(servers: &str, ports: &[u16]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(dir, servers, ports)
    }

    /// As [`Nginx::start`], in a directory the caller already filled (certificates).
    pub fn start_in(dir: tempfile::TempDir, servers: &str, ports: &[u16]) -> Self {
        let d = dir.path().display();
        let conf = format!(
            "daemon off; master_process off; error_log {d}/error.log; pid {d}/nginx.pid;\n\
             load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;\n\
             events {{ worker_connections 64; }}\n\
             http {{ access_log off; default_type text/plain;\n\
             client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
             {servers}\n}}\n"
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, conf).expect("write nginx.conf");
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&path)
            .arg("-p")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let mut nginx = Self { child, dir };
        nginx.wait_ready(ports);
        nginx
    }

    fn wait_ready(&mut self, ports: &[u16]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in ports {
            let addr = SocketAddr::from(([127, 0, 0, 1], *port));
            while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!("nginx exited ({status}): {}", self.error_log());
                }
                assert!(
                    Instant::now() < deadline,
                    "nginx not listening on {port}: {}",
                    self.error_log()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// nginx's error log, for failure messages.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Where to put files nginx reads (certificates).
    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        test_support::wait::kill_and_reap(&mut self.child);
    }
}

/// Writes a self-signed certificate for `name` with the openssl one-liner into `dir`.
pub fn openssl_cert(dir: &Path, name: &str) {
    let out = Command::new("timeout")
        .args([
            "-s", "KILL", "60", "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        ])
        .args(["-subj", &format!("/CN={name}")])
        .args(["-addext", &format!("subjectAltName=DNS:{name}")])
        .args(["-days", "30", "-keyout", "server.key", "-out", "server.pem"])
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
