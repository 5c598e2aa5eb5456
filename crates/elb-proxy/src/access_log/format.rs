//! The line formats: `combined` (Apache/nginx combined, read by every log tool), `json` (one
//! object per line with every field) and a template of `{field}` placeholders (grammar in
//! `elb_proxy_core::log_template`, so `--check` refuses a bad one at its line). Lines are
//! written straight into the writer's reused buffer: no value tree, no per-line allocation,
//! plain-ASCII text copied in one piece, numbers by `itoa`, the time stamp formatted once a
//! second.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

pub use elb_proxy_core::log_template::{FIELDS, Piece, TemplateError};

use super::buf::LineBuf;
#[cfg(test)]
use super::scan::all_clean;
use super::scan::clean_prefix;
pub use super::scan::json_plain;
use super::{Entry, Line};

/// A line format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// `client - - [time] "request" status bytes "referer" "user-agent"`.
    Combined,
    /// One JSON object per line.
    Json,
    /// Text with `{field}` placeholders (`{{` and `}}` for braces).
    Template(Vec<Piece>),
}

/// Why a format could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// `template:` given while the format is not `template`.
    #[error("access_log.template is set but access_log.format is not template")]
    TemplateUnused,
    /// `format: template` without `template:`.
    #[error("access_log.format is template but access_log.template is missing")]
    MissingTemplate,
    /// The template does not parse.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

impl Format {
    /// The format an `access_log` section asks for.
    pub fn from_config(cfg: &elb_proxy_core::config::AccessLog) -> Result<Self, FormatError> {
        use elb_proxy_core::config::AccessLogFormat as F;
        match (cfg.format, &cfg.template) {
            (F::Combined, None) => Ok(Self::Combined),
            (F::Json, None) => Ok(Self::Json),
            (F::Template, Some(t)) => Ok(Self::Template(elb_proxy_core::log_template::parse(t)?)),
            (F::Template, None) => Err(FormatError::MissingTemplate),
            (_, Some(_)) => Err(FormatError::TemplateUnused),
        }
    }

    /// Appends the line for `e` (with its newline).
    pub fn write(&self, e: &Entry, out: &mut Vec<u8>) {
        LineWriter::new(self.clone()).write(&e.line(), out);
    }
}

/// A format plus the writer's per-second time stamp cache.
#[derive(Debug)]
pub struct LineWriter {
    format: Format,
    stamp: Stamp,
}

impl LineWriter {
    /// A writer for `format`.
    pub fn new(format: Format) -> Self {
        Self {
            format,
            stamp: Stamp::default(),
        }
    }

    /// Appends the line for `e` (with its newline).
    pub fn write(&mut self, e: &Line<'_>, out: &mut Vec<u8>) {
        let mut buf = LineBuf::from(std::mem::take(out));
        self.write_to(e, &mut buf);
        *out = buf.into_vec();
    }

    /// Appends the line for `e` (with its newline) to the writer's batch.
    pub fn write_to(&mut self, e: &Line<'_>, out: &mut LineBuf) {
        let time = e.time.unwrap_or(SystemTime::UNIX_EPOCH);
        let (format, stamp) = (&self.format, &mut self.stamp);
        match format {
            // The line and its newline, written through one bounded reservation.
            Format::Json => {
                let t = stamp.get(time);
                super::json::write(e, t.stamp.rfc3339.as_bytes(), t.millis, out);
            }
            Format::Combined => out.append(|out| {
                combined(e, stamp.get(time), out);
                out.push(b'\n');
            }),
            Format::Template(pieces) => out.append(|out| {
                for p in pieces {
                    match p {
                        Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
                        Piece::Field(i) => field(e, *i, stamp, out),
                    }
                }
                out.push(b'\n');
            }),
        }
    }
}

/// The time stamps of one second, both forms, formatted when the second changes.
#[derive(Debug, Default)]
struct Stamp {
    secs: Option<u64>,
    /// `2026-01-01T00:00:00` (milliseconds and `Z` are added per line).
    rfc3339: String,
    /// `01/Jan/2026:00:00:00 +0000`.
    clf: String,
}

/// The two forms of one instant: the cached per-second texts and its milliseconds.
struct Stamped<'a> {
    stamp: &'a Stamp,
    millis: u32,
}

impl Stamp {
    fn get(&mut self, t: SystemTime) -> Stamped<'_> {
        let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let secs = d.as_secs();
        if self.secs != Some(secs) {
            self.secs = Some(secs);
            self.rfc3339 = rfc3339_seconds(secs);
            self.clf = clf_time(secs);
        }
        Stamped {
            stamp: self,
            millis: d.subsec_millis(),
        }
    }
}

impl Stamped<'_> {
    fn rfc3339(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.stamp.rfc3339.as_bytes());
        out.push(b'.');
        let m = self.millis;
        out.extend_from_slice(&[
            b'0' + (m / 100) as u8,
            b'0' + (m / 10 % 10) as u8,
            b'0' + (m % 10) as u8,
            b'Z',
        ]);
    }
}

/// A number; the short ones nearly every field holds (status, small sizes and times)
/// digit by digit, without a copy call.
#[inline(always)]
fn num(v: impl Into<u64>, out: &mut Vec<u8>) {
    let v: u64 = v.into();
    if v >= 1000 {
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        return;
    }
    if v >= 100 {
        out.push(b'0' + (v / 100) as u8);
    }
    if v >= 10 {
        out.push(b'0' + (v / 10 % 10) as u8);
    }
    out.push(b'0' + (v % 10) as u8);
}

/// Writes `s` with quotes, backslashes and control characters escaped as `\xHH` (as nginx
/// does), so a client cannot forge a field or a line. Plain text is copied in one piece.
fn escaped(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let first = clean_prefix(bytes, true);
    out.extend_from_slice(&bytes[..first]);
    if first == bytes.len() {
        return;
    }
    // The clean prefix is ASCII, so `first` is a char boundary.
    for c in s[first..].chars() {
        if c == '"' || c == '\\' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]);
            }
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

const HEX: [u8; 16] = *b"0123456789ABCDEF";

/// Milliseconds with up to three decimals, trailing zeros dropped (`1.5`, `3`, `0.005`).
#[inline(always)]
fn ms(d: Duration, out: &mut Vec<u8>) {
    // In u64 (a u128 division is a library call); saturates after 584,000 years.
    let micros = d
        .as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from((d.subsec_nanos() + 500) / 1000));
    num(micros / 1000, out);
    let frac = (micros % 1000) as u32;
    if frac == 0 {
        return;
    }
    let digits = [frac / 100, frac / 10 % 10, frac % 10];
    let n = if digits[2] != 0 {
        3
    } else if digits[1] != 0 {
        2
    } else {
        1
    };
    out.push(b'.');
    for d in &digits[..n] {
        out.push(b'0' + *d as u8);
    }
}

fn opt_ms(d: Option<Duration>, absent: &[u8], out: &mut Vec<u8>) {
    match d {
        Some(d) => ms(d, out),
        None => out.extend_from_slice(absent),
    }
}

/// The client address; IPv4 (nearly every line) without the formatting machinery.
fn client(c: Option<IpAddr>, out: &mut Vec<u8>) {
    match c {
        Some(IpAddr::V4(a)) => {
            for (i, o) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                if o >= 100 {
                    out.push(b'0' + o / 100);
                }
                if o >= 10 {
                    out.push(b'0' + o / 10 % 10);
                }
                out.push(b'0' + o % 10);
            }
        }
        Some(IpAddr::V6(a)) => {
            use std::io::Write as _;
            let _ = write!(out, "{a}");
        }
        None => out.push(b'-'),
    }
}

/// One field as text (`-` when absent).
fn field(e: &Line<'_>, i: usize, stamp: &mut Stamp, out: &mut Vec<u8>) {
    let opt = |out: &mut Vec<u8>, v: Option<&str>| match v {
        Some(v) => escaped(v, out),
        None => out.push(b'-'),
    };
    let dash_if_empty = |out: &mut Vec<u8>, v: &str| {
        if v.is_empty() {
            out.push(b'-');
        } else {
            escaped(v, out);
        }
    };
    match FIELDS[i] {
        "time" => stamp
            .get(e.time.unwrap_or(SystemTime::UNIX_EPOCH))
            .rfc3339(out),
        "client" => client(e.client, out),
        "forwarded_for" => opt(out, e.forwarded_for),
        "listener" => dash_if_empty(out, e.listener),
        "method" => dash_if_empty(out, e.method),
        "target" => dash_if_empty(out, e.target),
        "version" => dash_if_empty(out, e.version),
        "host" => opt(out, e.host),
        "status" => num(e.status, out),
        "bytes_in" => num(e.bytes_in, out),
        "bytes_out" => num(e.bytes_out, out),
        "user_agent" => opt(out, e.user_agent),
        "referer" => opt(out, e.referer),
        "request_id" => match e.made_up_id {
            Some(v) => out.extend_from_slice(&super::line::hex_id(v)),
            None => dash_if_empty(out, e.request_id),
        },
        "route" => dash_if_empty(out, e.route),
        "cluster" => dash_if_empty(out, e.cluster),
        "member" => dash_if_empty(out, e.member),
        "retries" => num(e.retries, out),
        "queue_ms" => opt_ms(e.queue, b"-", out),
        "connect_ms" => opt_ms(e.connect, b"-", out),
        "first_byte_ms" => opt_ms(e.first_byte, b"-", out),
        "total_ms" => ms(e.total, out),
        "termination" => out.extend_from_slice(e.termination.as_bytes()),
        "request" => request_line(e, out),
        _ => out.push(b'-'),
    }
}

fn request_line(e: &Line<'_>, out: &mut Vec<u8>) {
    if e.method.is_empty() {
        out.push(b'-');
        return;
    }
    escaped(e.method, out);
    out.push(b' ');
    escaped(e.target, out);
    out.push(b' ');
    out.extend_from_slice(e.version.as_bytes());
}

fn combined(e: &Line<'_>, time: Stamped<'_>, out: &mut Vec<u8>) {
    client(e.client, out);
    out.extend_from_slice(b" - - [");
    out.extend_from_slice(time.stamp.clf.as_bytes());
    out.extend_from_slice(b"] \"");
    request_line(e, out);
    out.extend_from_slice(b"\" ");
    num(e.status, out);
    out.push(b' ');
    if e.bytes_out == 0 {
        out.push(b'-');
    } else {
        num(e.bytes_out, out);
    }
    out.extend_from_slice(b" \"");
    match e.referer {
        Some(v) => escaped(v, out),
        None => out.push(b'-'),
    }
    out.extend_from_slice(b"\" \"");
    match e.user_agent {
        Some(v) => escaped(v, out),
        None => out.push(b'-'),
    }
    out.push(b'"');
}

#[cfg(test)]
fn some(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
/// A JSON string (RFC 8259 escapes). Only ASCII bytes ever need escaping, so the runs
/// between them (UTF-8 included) are copied whole.
#[inline(always)]
fn json_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let mut rest = s.as_bytes();
    if all_clean(rest) {
        out.extend_from_slice(rest);
        out.push(b'"');
        return;
    }
    loop {
        let n = clean_prefix(rest, false);
        out.extend_from_slice(&rest[..n]);
        let Some(&b) = rest.get(n) else {
            break;
        };
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize].to_ascii_lowercase(),
                HEX[(b & 15) as usize].to_ascii_lowercase(),
            ]),
        }
        rest = &rest[n + 1..];
    }
    out.push(b'"');
}

#[cfg(test)]
/// `key` is the whole `,"name":` text, so each field costs one copy before its value (inlined:
/// a copy of known length is a few moves, not a `memcpy` call).
#[inline(always)]
fn json_text(out: &mut Vec<u8>, key: &[u8], v: Option<&str>) {
    out.extend_from_slice(key);
    match v {
        Some(v) => json_str(v, out),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
/// As `json_text` for a text known to need no escape.
#[inline(always)]
fn json_raw(out: &mut Vec<u8>, key: &[u8], v: Option<&str>) {
    out.extend_from_slice(key);
    match v {
        Some(v) => {
            out.push(b'"');
            out.extend_from_slice(v.as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
/// A text copied as is when `plain` (known to need no escape), else scanned: a branch
/// rather than a chosen function, so both sides inline.
#[inline(always)]
fn json_maybe_plain(out: &mut Vec<u8>, key: &[u8], v: Option<&str>, plain: bool) {
    if plain {
        json_raw(out, key, v);
    } else {
        json_text(out, key, v);
    }
}

#[cfg(test)]
#[inline(always)]
fn json_num(out: &mut Vec<u8>, key: &[u8], v: impl Into<u64>) {
    out.extend_from_slice(key);
    num(v, out);
}

#[cfg(test)]
#[inline(always)]
fn json_ms(out: &mut Vec<u8>, key: &[u8], v: Option<Duration>) {
    out.extend_from_slice(key);
    opt_ms(v, b"null", out);
}

#[cfg(test)]
fn json(e: &Line<'_>, time: Stamped<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"time\":\"");
    time.rfc3339(out);
    out.extend_from_slice(b"\",\"client\":");
    if e.client.is_some() {
        out.push(b'"');
        client(e.client, out);
        out.push(b'"');
    } else {
        out.extend_from_slice(b"null");
    }
    // Names known plain since their config was loaded, and made-up ids, skip the scan.
    json_text(out, b",\"forwarded_for\":", e.forwarded_for);
    let names = e.names_plain;
    json_maybe_plain(out, b",\"listener\":", Some(e.listener), names);
    // A method is a token (no quote, backslash or control byte can be in one); the version
    // and the termination are the proxy's own texts: none needs the scan.
    json_raw(out, b",\"method\":", some(e.method));
    json_text(out, b",\"target\":", some(e.target));
    json_raw(out, b",\"version\":", some(e.version));
    json_text(out, b",\"host\":", e.host);
    json_num(out, b",\"status\":", e.status);
    json_num(out, b",\"bytes_in\":", e.bytes_in);
    json_num(out, b",\"bytes_out\":", e.bytes_out);
    json_text(out, b",\"user_agent\":", e.user_agent);
    json_text(out, b",\"referer\":", e.referer);
    let hex = e.made_up_id.map(super::line::hex_id);
    let id = hex
        .as_ref()
        .map_or(e.request_id, |h| std::str::from_utf8(h).unwrap_or(""));
    json_maybe_plain(out, b",\"request_id\":", Some(id), hex.is_some());
    json_maybe_plain(out, b",\"route\":", some(e.route), names);
    json_maybe_plain(out, b",\"cluster\":", some(e.cluster), names);
    json_maybe_plain(out, b",\"member\":", some(e.member), names);
    json_num(out, b",\"retries\":", e.retries);
    json_ms(out, b",\"queue_ms\":", e.queue);
    json_ms(out, b",\"connect_ms\":", e.connect);
    json_ms(out, b",\"first_byte_ms\":", e.first_byte);
    json_ms(out, b",\"total_ms\":", Some(e.total));
    json_raw(out, b",\"termination\":", Some(e.termination));
    out.push(b'}');
}

/// The `json` line as the writer pushing a byte at a time made it (with its newline): what
/// the cursor writer's tests compare its bytes with.
#[cfg(test)]
pub(super) fn json_by_push(e: &Line<'_>, out: &mut Vec<u8>) {
    let mut stamp = Stamp::default();
    json(e, stamp.get(e.time.unwrap_or(SystemTime::UNIX_EPOCH)), out);
    out.push(b'\n');
}

/// `2026-01-01T00:00:00`.
fn rfc3339_seconds(secs: u64) -> String {
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Common Log Format time: `01/Jan/2026:00:00:00 +0000`.
fn clf_time(secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{day:02}/{}/{y:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
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

    fn entry() -> Entry {
        Entry {
            time: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(20_454 * 86_400 + 3661)),
            client: Some("198.18.0.1".parse().unwrap()),
            listener: "web".into(),
            method: "GET".into(),
            target: "/a\"b?q=1".into(),
            version: "HTTP/1.1",
            host: Some("example.test".into()),
            status: 502,
            bytes_in: 80,
            bytes_out: 12,
            user_agent: Some("curl/8".into()),
            request_id: "abc".into(),
            cluster: "app".into(),
            member: "m1".into(),
            retries: 1,
            queue: Some(Duration::from_micros(5)),
            connect: Some(Duration::from_micros(1500)),
            first_byte: None,
            total: Duration::from_millis(3),
            termination: "SH",
            ..Default::default()
        }
    }

    #[test]
    fn combined_line_keeps_the_query_and_escapes_quotes() {
        let mut s = Vec::new();
        Format::Combined.write(&entry(), &mut s);
        assert_eq!(
            String::from_utf8(s).unwrap(),
            "198.18.0.1 - - [01/Jan/2026:01:01:01 +0000] \"GET /a\\x22b?q=1 HTTP/1.1\" 502 12 \"-\" \"curl/8\"\n"
        );
    }

    #[test]
    fn json_line_has_every_field() {
        let mut s = Vec::new();
        Format::Json.write(&entry(), &mut s);
        let v: serde_json::Value = serde_json::from_slice(&s).unwrap();
        for f in FIELDS.iter().filter(|f| **f != "request") {
            assert!(
                v.get(*f).is_some(),
                "missing {f} in {}",
                String::from_utf8_lossy(&s)
            );
        }
        assert_eq!(v["target"], "/a\"b?q=1");
        assert_eq!(v["connect_ms"], 1.5);
        assert_eq!(v["first_byte_ms"], serde_json::Value::Null);
        assert_eq!(v["termination"], "SH");
        assert_eq!(v["time"], "2026-01-01T01:01:01.000Z");
        let mut odd = entry();
        odd.user_agent = Some("a\"b\\c\u{1}\u{7f}é\n".into());
        let mut s = Vec::new();
        Format::Json.write(&odd, &mut s);
        let v: serde_json::Value = serde_json::from_slice(&s).unwrap();
        assert_eq!(v["user_agent"], "a\"b\\c\u{1}\u{7f}é\n");
    }

    #[test]
    fn template_fills_fields_in_place() {
        let f = Format::Template(
            elb_proxy_core::log_template::parse(
                "{{{client}}} {request} {status} {termination} {total_ms}",
            )
            .unwrap(),
        );
        let mut s = Vec::new();
        f.write(&entry(), &mut s);
        assert_eq!(
            String::from_utf8(s).unwrap(),
            "{198.18.0.1} GET /a\\x22b?q=1 HTTP/1.1 502 SH 3\n"
        );
    }

    #[test]
    fn milliseconds_keep_three_decimals_without_trailing_zeros() {
        for (micros, want) in [
            (0, "0"),
            (5, "0.005"),
            (1500, "1.5"),
            (3000, "3"),
            (12_345, "12.345"),
            (1_000_050, "1000.05"),
        ] {
            let mut s = Vec::new();
            ms(Duration::from_micros(micros), &mut s);
            assert_eq!(String::from_utf8(s).unwrap(), want);
        }
    }

    #[test]
    fn escaping_copies_plain_text_and_escapes_controls_quotes_and_c1() {
        let mut s = Vec::new();
        escaped("plain/ascii?x=1", &mut s);
        escaped("é\\\"\u{85}\u{1b}", &mut s);
        assert_eq!(
            String::from_utf8(s).unwrap(),
            "plain/ascii?x=1é\\x5C\\x22\\xC2\\x85\\x1B"
        );
        let mut s = Vec::new();
        json_str("a\u{1}é\u{7f}\r", &mut s);
        assert_eq!(String::from_utf8(s).unwrap(), "\"a\\u0001é\\u007f\\r\"");
    }

    #[test]
    fn plain_names_and_ids_are_written_as_when_scanned() {
        let mut e = entry();
        e.route = "api".into();
        e.request_id = "0123456789abcdef".into();
        let scanned = {
            let mut s = Vec::new();
            LineWriter::new(Format::Json).write(&e.line(), &mut s);
            s
        };
        let mut line = e.line();
        line.names_plain = true;
        line.request_id = "";
        line.made_up_id = Some(0x0123_4567_89ab_cdef);
        let mut s = Vec::new();
        LineWriter::new(Format::Json).write(&line, &mut s);
        assert_eq!(s, scanned);
        let template =
            Format::Template(elb_proxy_core::log_template::parse("{request_id}").unwrap());
        let mut s = Vec::new();
        LineWriter::new(template).write(&line, &mut s);
        assert_eq!(s, b"0123456789abcdef\n");
        assert!(json_plain("listener#0") && json_plain("é") && !json_plain("a\"b"));
    }

    #[test]
    fn the_time_stamp_cache_follows_the_second() {
        let mut w = LineWriter::new(Format::Json);
        let mut e = entry();
        for (offset_ms, want) in [
            (0, "2026-01-01T01:01:01.000Z"),
            (999, "2026-01-01T01:01:01.999Z"),
            (1000, "2026-01-01T01:01:02.000Z"),
        ] {
            e.time = entry().time.map(|t| t + Duration::from_millis(offset_ms));
            let mut s = Vec::new();
            w.write(&e.line(), &mut s);
            let v: serde_json::Value = serde_json::from_slice(&s).unwrap();
            assert_eq!(v["time"], want);
        }
    }
}
