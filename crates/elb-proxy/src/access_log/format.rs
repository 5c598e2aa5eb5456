//! The line formats: `combined` (Apache/nginx combined, read by every log tool), `json` (one
//! object per line with every field) and a template of `{field}` placeholders.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::Entry;

/// Fields a template may name, in the order `json` writes them.
pub const FIELDS: [&str; 24] = [
    "time",
    "client",
    "forwarded_for",
    "listener",
    "method",
    "target",
    "version",
    "host",
    "status",
    "bytes_in",
    "bytes_out",
    "user_agent",
    "referer",
    "request_id",
    "route",
    "cluster",
    "member",
    "retries",
    "queue_ms",
    "connect_ms",
    "first_byte_ms",
    "total_ms",
    "termination",
    "request",
];

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// The field `FIELDS[i]`.
    Field(usize),
}

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
    /// A placeholder names no field.
    #[error("access_log.template: unknown field '{{{0}}}'; fields: {fields}", fields = FIELDS.join(", "))]
    UnknownField(String),
    /// A `{` without its `}` (or a lone `}`).
    #[error("access_log.template: unbalanced brace at byte {0}")]
    Unbalanced(usize),
}

impl Format {
    /// The format an `access_log` section asks for.
    pub fn from_config(cfg: &elb_proxy_core::config::AccessLog) -> Result<Self, FormatError> {
        use elb_proxy_core::config::AccessLogFormat as F;
        match (cfg.format, &cfg.template) {
            (F::Combined, None) => Ok(Self::Combined),
            (F::Json, None) => Ok(Self::Json),
            (F::Template, Some(t)) => Ok(Self::Template(parse_template(t)?)),
            (F::Template, None) => Err(FormatError::MissingTemplate),
            (_, Some(_)) => Err(FormatError::TemplateUnused),
        }
    }

    /// Appends the line for `e` (with its newline).
    pub fn write(&self, e: &Entry, out: &mut String) {
        match self {
            Self::Combined => combined(e, out),
            Self::Json => json(e, out),
            Self::Template(pieces) => {
                for p in pieces {
                    match p {
                        Piece::Text(t) => out.push_str(t),
                        Piece::Field(i) => field(e, *i, out, false),
                    }
                }
            }
        }
        out.push('\n');
    }
}

fn parse_template(t: &str) -> Result<Vec<Piece>, FormatError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = t.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|p| p.1) == Some('{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek().map(|p| p.1) == Some('}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let rest = &t[i + 1..];
                let end = rest.find('}').ok_or(FormatError::Unbalanced(i))?;
                let name = &rest[..end];
                let idx = FIELDS
                    .iter()
                    .position(|f| *f == name)
                    .ok_or_else(|| FormatError::UnknownField(name.chars().take(32).collect()))?;
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Field(idx));
                for _ in 0..name.chars().count() + 1 {
                    chars.next();
                }
            }
            '}' => return Err(FormatError::Unbalanced(i)),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Writes `s` with quotes, backslashes and control bytes escaped as `\xHH` (as nginx does),
/// so a client cannot forge a field or a line.
fn escaped(s: &str, out: &mut String) {
    for c in s.chars() {
        if c == '"' || c == '\\' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
}

fn ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| (d.as_secs_f64() * 1e6).round() / 1e3)
}

/// One field as text (`-` when absent); `quoted_text` adds quotes around text fields.
fn field(e: &Entry, i: usize, out: &mut String, _quoted_text: bool) {
    let opt = |out: &mut String, v: &Option<String>| match v {
        Some(v) => escaped(v, out),
        None => out.push('-'),
    };
    let dash_if_empty = |out: &mut String, v: &str| {
        if v.is_empty() {
            out.push('-');
        } else {
            escaped(v, out);
        }
    };
    let num_ms = |out: &mut String, v: Option<f64>| match v {
        Some(v) => {
            let _ = write!(out, "{v}");
        }
        None => out.push('-'),
    };
    match FIELDS[i] {
        "time" => rfc3339(e.time.unwrap_or(SystemTime::UNIX_EPOCH), out),
        "client" => match e.client {
            Some(c) => {
                let _ = write!(out, "{c}");
            }
            None => out.push('-'),
        },
        "forwarded_for" => opt(out, &e.forwarded_for),
        "listener" => dash_if_empty(out, &e.listener),
        "method" => dash_if_empty(out, &e.method),
        "target" => dash_if_empty(out, &e.target),
        "version" => dash_if_empty(out, e.version),
        "host" => opt(out, &e.host),
        "status" => {
            let _ = write!(out, "{}", e.status);
        }
        "bytes_in" => {
            let _ = write!(out, "{}", e.bytes_in);
        }
        "bytes_out" => {
            let _ = write!(out, "{}", e.bytes_out);
        }
        "user_agent" => opt(out, &e.user_agent),
        "referer" => opt(out, &e.referer),
        "request_id" => dash_if_empty(out, &e.request_id),
        "route" => dash_if_empty(out, &e.route),
        "cluster" => dash_if_empty(out, &e.cluster),
        "member" => dash_if_empty(out, &e.member),
        "retries" => {
            let _ = write!(out, "{}", e.retries);
        }
        "queue_ms" => num_ms(out, ms(e.queue)),
        "connect_ms" => num_ms(out, ms(e.connect)),
        "first_byte_ms" => num_ms(out, ms(e.first_byte)),
        "total_ms" => num_ms(out, ms(Some(e.total))),
        "termination" => out.push_str(e.termination),
        "request" => request_line(e, out),
        _ => out.push('-'),
    }
}

fn request_line(e: &Entry, out: &mut String) {
    if e.method.is_empty() {
        out.push('-');
        return;
    }
    escaped(&e.method, out);
    out.push(' ');
    escaped(&e.target, out);
    out.push(' ');
    out.push_str(e.version);
}

fn combined(e: &Entry, out: &mut String) {
    field(e, 1, out, false);
    out.push_str(" - - [");
    clf_time(e.time.unwrap_or(SystemTime::UNIX_EPOCH), out);
    out.push_str("] \"");
    request_line(e, out);
    let _ = write!(out, "\" {} ", e.status);
    if e.bytes_out == 0 {
        out.push('-');
    } else {
        let _ = write!(out, "{}", e.bytes_out);
    }
    out.push_str(" \"");
    field(e, 12, out, false);
    out.push_str("\" \"");
    field(e, 11, out, false);
    out.push('"');
}

/// A JSON string (RFC 8259 escapes), written directly: building a `serde_json::Value` per
/// line cost more than the rest of the line.
fn some(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json(e: &Entry, out: &mut String) {
    let text = |out: &mut String, key: &str, v: Option<&str>| {
        let _ = write!(out, ",\"{key}\":");
        match v {
            Some(v) => json_str(v, out),
            None => out.push_str("null"),
        }
    };
    let num = |out: &mut String, key: &str, v: Option<f64>| {
        let _ = write!(out, ",\"{key}\":");
        match v {
            Some(v) => {
                let _ = write!(out, "{v}");
            }
            None => out.push_str("null"),
        }
    };
    out.push_str("{\"time\":\"");
    rfc3339(e.time.unwrap_or(SystemTime::UNIX_EPOCH), out);
    out.push('"');
    let client = e.client.map(|c| c.to_string());
    text(out, "client", client.as_deref());
    text(out, "forwarded_for", e.forwarded_for.as_deref());
    text(out, "listener", Some(&e.listener));
    text(out, "method", some(&e.method));
    text(out, "target", some(&e.target));
    text(out, "version", some(e.version));
    text(out, "host", e.host.as_deref());
    let _ = write!(
        out,
        ",\"status\":{},\"bytes_in\":{},\"bytes_out\":{}",
        e.status, e.bytes_in, e.bytes_out
    );
    text(out, "user_agent", e.user_agent.as_deref());
    text(out, "referer", e.referer.as_deref());
    text(out, "request_id", Some(&e.request_id));
    text(out, "route", some(&e.route));
    text(out, "cluster", some(&e.cluster));
    text(out, "member", some(&e.member));
    let _ = write!(out, ",\"retries\":{}", e.retries);
    num(out, "queue_ms", ms(e.queue));
    num(out, "connect_ms", ms(e.connect));
    num(out, "first_byte_ms", ms(e.first_byte));
    num(out, "total_ms", ms(Some(e.total)));
    text(out, "termination", Some(e.termination));
    out.push('}');
}

/// `2026-01-01T00:00:00.000Z`.
fn rfc3339(t: SystemTime, out: &mut String) {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_millis()
    );
}

/// Common Log Format time: `01/Jan/2026:00:00:00 +0000`.
fn clf_time(t: SystemTime, out: &mut String) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let _ = write!(
        out,
        "{day:02}/{}/{y:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
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
        let mut s = String::new();
        Format::Combined.write(&entry(), &mut s);
        assert_eq!(
            s,
            "198.18.0.1 - - [01/Jan/2026:01:01:01 +0000] \"GET /a\\x22b?q=1 HTTP/1.1\" 502 12 \"-\" \"curl/8\"\n"
        );
    }

    #[test]
    fn json_line_has_every_field() {
        let mut s = String::new();
        Format::Json.write(&entry(), &mut s);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        for f in FIELDS.iter().filter(|f| **f != "request") {
            assert!(v.get(*f).is_some(), "missing {f} in {s}");
        }
        assert_eq!(v["target"], "/a\"b?q=1");
        assert_eq!(v["connect_ms"], 1.5);
        assert_eq!(v["first_byte_ms"], serde_json::Value::Null);
        assert_eq!(v["termination"], "SH");
        assert_eq!(v["time"], "2026-01-01T01:01:01.000Z");
        let mut odd = entry();
        odd.user_agent = Some("a\"b\\c\u{1}\u{7f}é\n".into());
        let mut s = String::new();
        Format::Json.write(&odd, &mut s);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["user_agent"], "a\"b\\c\u{1}\u{7f}é\n");
    }

    #[test]
    fn template_fills_fields_and_rejects_unknown_ones() {
        let f = Format::Template(
            parse_template("{{{client}}} {request} {status} {termination} {total_ms}").unwrap(),
        );
        let mut s = String::new();
        f.write(&entry(), &mut s);
        assert_eq!(s, "{198.18.0.1} GET /a\\x22b?q=1 HTTP/1.1 502 SH 3\n");
        assert_eq!(
            parse_template("{path}"),
            Err(FormatError::UnknownField("path".into()))
        );
        assert_eq!(parse_template("x {status"), Err(FormatError::Unbalanced(2)));
        assert_eq!(parse_template("x }"), Err(FormatError::Unbalanced(2)));
    }
}
