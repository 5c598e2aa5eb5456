//! Access log: one line per proxied request, off unless configured (it costs a lock and a
//! write per request). Format, space separated:
//! `RFC3339-time client-ip "METHOD path HTTP/x" status body-bytes cluster member duration-us outcome`.

use std::io::{LineWriter, Write};
use std::path::Path;
use std::sync::Mutex;

/// Where lines go.
pub struct AccessLog {
    out: Mutex<LineWriter<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessLog")
    }
}

/// One request's line.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Client address (the TCP peer).
    pub client: std::net::IpAddr,
    /// Request method.
    pub method: http::Method,
    /// Request path (without the query string).
    pub path: String,
    /// HTTP version of the client's request.
    pub version: http::Version,
    /// Status sent to the client.
    pub status: u16,
    /// Response body bytes sent.
    pub bytes: u64,
    /// Cluster that served the request.
    pub cluster: String,
    /// Member that served the request.
    pub member: String,
    /// From the request head to the last body byte, in microseconds.
    pub duration_us: u128,
    /// How the exchange ended (`ok`, `member-broke-body`, `client-gone`, `timeout`).
    pub outcome: &'static str,
}

impl AccessLog {
    /// Opens (appends to) a file, or uses stderr for the path `stderr`.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let out: Box<dyn Write + Send> = if path == Path::new("stderr") {
            Box::new(std::io::stderr())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )
        };
        Ok(Self {
            out: Mutex::new(LineWriter::new(out)),
        })
    }

    /// Writes one line; a failing write (full disk) is dropped, never blocks serving.
    pub fn write(&self, e: &Entry) {
        let line = format_entry(e, &now_rfc3339());
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(line.as_bytes());
        }
    }
}

/// The line for an entry (pure, for tests).
pub fn format_entry(e: &Entry, time: &str) -> String {
    let path: String = e
        .path
        .chars()
        .map(|c| if c == '"' || c.is_control() { '_' } else { c })
        .collect();
    format!(
        "{time} {} \"{} {} {:?}\" {} {} {} {} {} {}\n",
        e.client,
        e.method,
        path,
        e.version,
        e.status,
        e.bytes,
        e.cluster,
        e.member,
        e.duration_us,
        e.outcome
    )
}

fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_line_format() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        let e = Entry {
            client: "198.18.0.1".parse().unwrap(),
            method: http::Method::GET,
            path: "/a\"b".into(),
            version: http::Version::HTTP_11,
            status: 200,
            bytes: 12,
            cluster: "app".into(),
            member: "m1".into(),
            duration_us: 345,
            outcome: "ok",
        };
        assert_eq!(
            format_entry(&e, "T"),
            "T 198.18.0.1 \"GET /a_b HTTP/1.1\" 200 12 app m1 345 ok\n"
        );
    }
}
