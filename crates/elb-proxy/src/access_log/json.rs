//! The `json` line, written through a cursor over a slice sized once per line: the line's
//! length is bounded first from its texts' lengths (a plain text counts its length, one that
//! needs escapes six times it, each number 20 bytes), the buffer grows once by that bound,
//! every piece is then a copy of known length or a fixed eight-byte store (no capacity check
//! per byte as `Vec::push` does), and the buffer is cut to the cursor at the end.

use std::net::IpAddr;
use std::time::Duration;

use super::Line;
use super::buf::LineBuf;
use super::line::hex_id;
use super::scan::{all_clean, clean_prefix};

/// The line's fixed texts: keys, quotes, separators and braces, every one written below.
const KEYS: [&[u8]; 25] = [
    b"{\"time\":\"",
    b".000Z\"",
    b",\"client\":",
    b",\"forwarded_for\":",
    b",\"listener\":",
    b",\"method\":",
    b",\"target\":",
    b",\"version\":",
    b",\"host\":",
    b",\"status\":",
    b",\"bytes_in\":",
    b",\"bytes_out\":",
    b",\"user_agent\":",
    b",\"referer\":",
    b",\"request_id\":",
    b",\"route\":",
    b",\"cluster\":",
    b",\"member\":",
    b",\"retries\":",
    b",\"queue_ms\":",
    b",\"connect_ms\":",
    b",\"first_byte_ms\":",
    b",\"total_ms\":",
    b",\"termination\":",
    b"}\n",
];

/// The total length of [`KEYS`].
const FIXED: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < KEYS.len() {
        n += KEYS[i].len();
        i += 1;
    }
    n
};

/// Room for a number: `u64::MAX` has 20 digits, and the eight-byte store needs 8.
const NUM: usize = 20;
/// Room for milliseconds: the whole part (a number) plus `.` and three decimals.
const MS: usize = NUM + 4;
/// Room for a client address: the longest IPv6 text (45) and its quotes; `null` fits too.
const CLIENT: usize = 47;
/// The line's numbers: status, bytes in and out, retries.
const NUMBERS: usize = 4;
/// The line's millisecond fields: queue, connect, first byte, total.
const MS_FIELDS: usize = 4;

/// A text of the line and whether it can be copied without escapes.
#[derive(Clone, Copy)]
struct Field<'a> {
    text: Option<&'a [u8]>,
    plain: bool,
}

impl<'a> Field<'a> {
    /// A text checked for escapes here, unless `known_plain` says it needs none.
    #[inline(always)]
    fn new(text: Option<&'a str>, known_plain: bool) -> Self {
        let text = text.map(str::as_bytes);
        Self {
            plain: known_plain || text.is_none_or(all_clean),
            text,
        }
    }

    /// Most bytes this field can take: `null`, or its quotes and text (six bytes for each
    /// byte when escaped: `\u00XX`).
    #[inline(always)]
    fn bound(&self) -> usize {
        match self.text {
            None => 4,
            Some(t) if self.plain => t.len() + 2,
            Some(t) => t.len() * 6 + 2,
        }
    }
}

/// A write position in a slice the line's bound sized: an index past the end would be a
/// wrong bound, caught by the slice's own check (a panic, never a write out of place).
struct Cursor<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Cursor<'_> {
    #[inline(always)]
    fn put(&mut self, b: &[u8]) {
        self.buf[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.buf[self.at] = b;
        self.at += 1;
    }

    /// Stores eight bytes at once and keeps the first `n` (the rest is slack the next
    /// piece overwrites).
    #[inline(always)]
    fn word(&mut self, w: u64, n: usize) {
        self.buf[self.at..self.at + 8].copy_from_slice(&w.to_le_bytes());
        self.at += n;
    }

    /// Four bytes at once, the first `n` kept.
    #[inline(always)]
    fn word4(&mut self, w: u32, n: usize) {
        self.buf[self.at..self.at + 4].copy_from_slice(&w.to_le_bytes());
        self.at += n;
    }

    /// A number: below 1000 (status, retries, most sizes and times) one table word, below
    /// 10^8 one eight-byte store of digits made at once, else by `itoa`.
    #[inline(always)]
    fn num(&mut self, v: u64) {
        if v < 1000 {
            let w = SMALL[v as usize];
            self.word4(w, (w >> 24) as usize);
            return;
        }
        match u32::try_from(v) {
            Ok(v) if v < 100_000_000 => {
                let (w, n) = digits8(v);
                self.word(w, n);
            }
            _ => self.put(itoa::Buffer::new().format(v).as_bytes()),
        }
    }

    /// Milliseconds with up to three decimals, trailing zeros dropped (`1.5`, `3`, `0.005`).
    #[inline(always)]
    fn ms(&mut self, d: Duration) {
        // In u64 (a u128 division is a library call); saturates after 584,000 years.
        let micros = d
            .as_secs()
            .saturating_mul(1_000_000)
            .saturating_add(u64::from((d.subsec_nanos() + 500) / 1000));
        self.num(micros / 1000);
        let (w, n) = FRAC[(micros % 1000) as usize];
        self.word4(w, usize::from(n));
    }

    #[inline(always)]
    fn opt_ms(&mut self, key: &[u8], d: Option<Duration>) {
        self.put(key);
        match d {
            Some(d) => self.ms(d),
            None => self.put(b"null"),
        }
    }

    /// `key` (which ends in the text's opening quote) then the text and its closing
    /// quote, escaped unless plain; or the key without its quote and `null`.
    #[inline(always)]
    fn text(&mut self, key: &[u8], f: Field<'_>) {
        match f.text {
            None => {
                self.put(&key[..key.len() - 1]);
                self.put(b"null");
            }
            Some(t) => {
                self.put(key);
                if f.plain {
                    self.put(t);
                } else {
                    self.escaped(t);
                }
                self.byte(b'"');
            }
        }
    }

    /// RFC 8259 escapes. Only ASCII bytes ever need one, so the runs between them (UTF-8
    /// included) are copied whole.
    fn escaped(&mut self, mut rest: &[u8]) {
        loop {
            let n = clean_prefix(rest, false);
            self.put(&rest[..n]);
            let Some(&b) = rest.get(n) else {
                return;
            };
            match b {
                b'"' => self.put(b"\\\""),
                b'\\' => self.put(b"\\\\"),
                b'\n' => self.put(b"\\n"),
                b'\r' => self.put(b"\\r"),
                b'\t' => self.put(b"\\t"),
                b => self.put(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]),
            }
            rest = &rest[n + 1..];
        }
    }

    /// The client address in quotes; IPv4 (nearly every line) an octet per four-byte store.
    fn client(&mut self, c: Option<IpAddr>) {
        match c {
            Some(IpAddr::V4(a)) => {
                self.byte(b'"');
                let [a, b, c, d] = a.octets();
                for o in [a, b, c] {
                    let (w, n) = OCTETS[usize::from(o)];
                    self.word(u64::from(w), n + 1);
                }
                let (w, n) = OCTETS[usize::from(d)];
                // The dot after the last octet is overwritten by the closing quote.
                self.word(u64::from(w), n);
                self.byte(b'"');
            }
            Some(IpAddr::V6(a)) => {
                use std::io::Write as _;
                let mut text = [0u8; 45];
                let mut w = &mut text[..];
                let _ = write!(w, "{a}");
                let len = 45 - w.len();
                self.byte(b'"');
                self.put(&text[..len]);
                self.byte(b'"');
            }
            None => self.put(b"null"),
        }
    }
}

const HEX: [u8; 16] = *b"0123456789abcdef";

/// Each number below 1000 as its digits in a little-endian word, the digit count in the
/// fourth byte (slack the next piece overwrites).
const SMALL: [u32; 1000] = {
    let mut t = [0; 1000];
    let mut i = 0;
    while i < 1000 {
        let (w, n) = digits8(i as u32);
        t[i] = w as u32 & 0xff_ffff | (n as u32) << 24;
        i += 1;
    }
    t
};

/// Each thousandth as `.ddd` (a little-endian word) and how much of it to keep: trailing
/// zeros dropped, nothing for zero.
const FRAC: [(u32, u8); 1000] = {
    let mut t = [(0, 0); 1000];
    let mut i = 0;
    while i < 1000 {
        let d = [(i / 100) as u8, (i / 10 % 10) as u8, (i % 10) as u8];
        let w = u32::from_le_bytes([b'.', b'0' + d[0], b'0' + d[1], b'0' + d[2]]);
        let n = if i == 0 {
            0
        } else if d[2] != 0 {
            4
        } else if d[1] != 0 {
            3
        } else {
            2
        };
        t[i] = (w, n);
        i += 1;
    }
    t
};

/// Each octet's digits followed by a dot, as one little-endian word, and its digit count.
const OCTETS: [(u32, usize); 256] = {
    let mut t = [(0, 0); 256];
    let mut i = 0;
    while i < 256 {
        let (w, n) = digits8(i as u32);
        t[i] = ((w as u32) | (b'.' as u32) << (8 * n), n);
        i += 1;
    }
    t
};

/// The decimal digits of `v` (below 10^8) as eight ASCII bytes, most significant first
/// (little-endian word), and how many of them to keep: all eight digits are made at once,
/// two lanes of four, then of two, then of one, and the leading zeros shifted out.
const fn digits8(v: u32) -> (u64, usize) {
    let v = v as u64;
    // [v / 10^4, v % 10^4] in 32-bit lanes (the high digits first in the line).
    let x = (v / 10_000) | (v % 10_000) << 32;
    // Each lane below 10^4 split by 100 into 16-bit lanes (x * 5243 >> 19 = x / 100).
    let hi = ((x * 5243) >> 19) & 0x0000_007f_0000_007f;
    let y = hi | (x - hi * 100) << 16;
    // Each 16-bit lane below 100 split by 10 into bytes (y * 103 >> 10 = y / 10).
    let hi = ((y * 103) >> 10) & 0x000f_000f_000f_000f;
    let z = hi | (y - hi * 10) << 8;
    // Leading zero digits are the low zero bytes; at least one digit is kept (for 0).
    let lead = {
        let l = z.trailing_zeros() as usize / 8;
        if l > 7 { 7 } else { l }
    };
    ((z | 0x3030_3030_3030_3030) >> (8 * lead), 8 - lead)
}

fn some(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Appends the JSON line for `e` (with its newline); `stamp` is the time's second as
/// `2026-01-01T00:00:00`, `millis` its milliseconds.
pub(super) fn write(e: &Line<'_>, stamp: &[u8], millis: u32, out: &mut LineBuf) {
    let names = e.names_plain;
    // A method is a token (no quote, backslash or control byte can be in one); the version
    // and the termination are the proxy's own texts: none needs the scan.
    let fields = [
        Field::new(e.forwarded_for, false),
        Field::new(Some(e.listener), names),
        Field::new(some(e.method), true),
        Field::new(some(e.target), false),
        Field::new(some(e.version), true),
        Field::new(e.host, false),
        Field::new(e.user_agent, false),
        Field::new(e.referer, false),
        // A made-up id is 16 hex digits, spelled straight into the line.
        match e.made_up_id {
            Some(_) => Field {
                text: Some(&[0; 16]),
                plain: true,
            },
            None => Field::new(Some(e.request_id), false),
        },
        Field::new(some(e.route), names),
        Field::new(some(e.cluster), names),
        Field::new(some(e.member), names),
        Field::new(Some(e.termination), true),
    ];
    let texts: usize = fields.iter().map(Field::bound).sum();
    let bound = FIXED + stamp.len() + CLIENT + NUMBERS * NUM + MS_FIELDS * MS + texts;
    let mut c = Cursor {
        buf: out.room(bound),
        at: 0,
    };
    let [
        fwd,
        listener,
        method,
        target,
        version,
        host,
        ua,
        referer,
        id,
        route,
        cluster,
        member,
        term,
    ] = fields;
    c.put(b"{\"time\":\"");
    c.put(stamp);
    // `.mmm` (all three digits), `Z` and the closing quote.
    let (frac, _) = FRAC[millis.min(999) as usize];
    c.word(
        u64::from(frac) | u64::from(b'Z') << 32 | u64::from(b'"') << 40,
        6,
    );
    c.put(b",\"client\":");
    c.client(e.client);
    c.text(b",\"forwarded_for\":\"", fwd);
    c.text(b",\"listener\":\"", listener);
    c.text(b",\"method\":\"", method);
    c.text(b",\"target\":\"", target);
    c.text(b",\"version\":\"", version);
    c.text(b",\"host\":\"", host);
    c.put(b",\"status\":");
    c.num(u64::from(e.status));
    c.put(b",\"bytes_in\":");
    c.num(e.bytes_in);
    c.put(b",\"bytes_out\":");
    c.num(e.bytes_out);
    c.text(b",\"user_agent\":\"", ua);
    c.text(b",\"referer\":\"", referer);
    match e.made_up_id {
        Some(v) => {
            c.put(b",\"request_id\":\"");
            c.put(&hex_id(v));
            c.byte(b'"');
        }
        None => c.text(b",\"request_id\":\"", id),
    }
    c.text(b",\"route\":\"", route);
    c.text(b",\"cluster\":\"", cluster);
    c.text(b",\"member\":\"", member);
    c.put(b",\"retries\":");
    c.num(u64::from(e.retries));
    c.opt_ms(b",\"queue_ms\":", e.queue);
    c.opt_ms(b",\"connect_ms\":", e.connect);
    c.opt_ms(b",\"first_byte_ms\":", e.first_byte);
    c.opt_ms(b",\"total_ms\":", Some(e.total));
    c.text(b",\"termination\":\"", term);
    c.put(b"}\n");
    let n = c.at;
    out.commit(n);
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::access_log::format::json_by_push;
    use crate::access_log::line::{MAX_TEXT, Text};

    #[test]
    fn eight_digits_at_once_spell_every_number_as_itoa_does() {
        let mut rng = fastrand::Rng::with_seed(3);
        let edges = (0..8).flat_map(|k| [10u32.pow(k) - 1, 10u32.pow(k), 10u32.pow(k) + 1]);
        let randoms = (0..200_000).map(|_| rng.u32(..100_000_000));
        for v in (0..100_000).chain(edges).chain([99_999_999]).chain(randoms) {
            let (w, n) = digits8(v);
            assert_eq!(&w.to_le_bytes()[..n], v.to_string().as_bytes(), "{v}");
        }
        for (v, w) in SMALL.iter().enumerate() {
            let n = (w >> 24) as usize;
            assert_eq!(&w.to_le_bytes()[..n], v.to_string().as_bytes(), "{v}");
        }
        for (o, (w, n)) in OCTETS.iter().enumerate() {
            assert_eq!(&w.to_le_bytes()[..=*n], format!("{o}.").as_bytes());
        }
    }

    /// A text of plain ASCII, UTF-8, and every kind of byte that needs an escape.
    fn text(rng: &mut fastrand::Rng, max: usize) -> String {
        const PIECES: [&str; 12] = [
            "a",
            "Z",
            "/",
            " ",
            "\"",
            "\\",
            "\n",
            "\r\t",
            "\u{1}",
            "\u{7f}",
            "é",
            "\u{85}日",
        ];
        let len = rng.usize(0..=max);
        let mut s = String::new();
        while s.len() < len {
            let p = if rng.u8(..) < 200 {
                "plain"
            } else {
                PIECES[rng.usize(..PIECES.len())]
            };
            s.push_str(p);
        }
        s
    }

    fn duration(rng: &mut fastrand::Rng) -> Duration {
        match rng.u8(..4) {
            0 => Duration::ZERO,
            1 => Duration::MAX,
            2 => Duration::from_nanos(rng.u64(..)),
            _ => Duration::from_micros(rng.u64(..10_000_000)),
        }
    }

    fn number(rng: &mut fastrand::Rng) -> u64 {
        match rng.u8(..4) {
            0 => 0,
            1 => u64::MAX,
            2 => rng.u64(..),
            _ => rng.u64(..100_000_000),
        }
    }

    #[test]
    fn the_cursor_writer_writes_the_bytes_the_pushing_writer_did() {
        let mut rng = fastrand::Rng::with_seed(5);
        for round in 0..3_000 {
            let max = if round % 10 == 0 { MAX_TEXT } else { 40 };
            let texts: Vec<String> = (0..10).map(|_| text(&mut rng, max)).collect();
            let opt = |rng: &mut fastrand::Rng, s: &'_ str| -> Option<String> {
                (rng.u8(..4) != 0).then(|| s.to_string())
            };
            let fwd = opt(&mut rng, &texts[0]);
            let host = opt(&mut rng, &texts[1]);
            let ua = opt(&mut rng, &texts[2]);
            let referer = opt(&mut rng, &texts[3]);
            let client: Option<IpAddr> = match rng.u8(..3) {
                0 => None,
                1 => Some(IpAddr::from(rng.u32(..).to_be_bytes())),
                _ => Some(IpAddr::from(rng.u128(..).to_be_bytes())),
            };
            let line = Line {
                time: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(rng.u64(..1 << 45))),
                client,
                forwarded_for: fwd.as_deref(),
                listener: &texts[4],
                method: ["", "GET", "PROPFIND"][rng.usize(..3)],
                target: &texts[5],
                version: "HTTP/1.1",
                host: host.as_deref(),
                status: rng.u16(..),
                bytes_in: number(&mut rng),
                bytes_out: number(&mut rng),
                user_agent: ua.as_deref(),
                referer: referer.as_deref(),
                request_id: &texts[6],
                route: &texts[7],
                cluster: &texts[8],
                member: &texts[9],
                retries: [0, u32::MAX, rng.u32(..)][rng.usize(..3)],
                queue: rng.bool().then(|| duration(&mut rng)),
                connect: rng.bool().then(|| duration(&mut rng)),
                first_byte: rng.bool().then(|| duration(&mut rng)),
                total: duration(&mut rng),
                termination: "--",
                names_plain: false,
                made_up_id: rng.bool().then(|| rng.u64(..)),
            };
            let mut want = b"earlier line\n".to_vec();
            json_by_push(&line, &mut want);
            let mut w = super::super::LineWriter::new(super::super::Format::Json);
            let mut got = b"earlier line\n".to_vec();
            w.write(&line, &mut got);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want)
            );
        }
    }

    #[test]
    fn the_longest_line_fits_its_bound() {
        // Every text the longest a header can be, every byte of it escaped six-fold, every
        // number and time the largest: a bound too small would panic in the cursor.
        let worst = "\u{1}".repeat(MAX_TEXT);
        let line = Line {
            time: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 40)),
            client: Some("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe".parse().unwrap()),
            forwarded_for: Some(&worst),
            listener: &worst,
            method: "GET",
            target: &worst,
            version: "HTTP/1.1",
            host: Some(&worst),
            status: u16::MAX,
            bytes_in: u64::MAX,
            bytes_out: u64::MAX,
            user_agent: Some(&worst),
            referer: Some(&worst),
            request_id: &worst,
            route: &worst,
            cluster: &worst,
            member: &worst,
            retries: u32::MAX,
            queue: Some(Duration::MAX),
            connect: Some(Duration::MAX),
            first_byte: Some(Duration::MAX),
            total: Duration::MAX,
            termination: "--",
            names_plain: false,
            made_up_id: Some(u64::MAX),
        };
        let mut got = Vec::new();
        super::super::LineWriter::new(super::super::Format::Json).write(&line, &mut got);
        let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
        assert_eq!(v["user_agent"].as_str(), Some(worst.as_str()));
        assert_eq!(v["bytes_in"], u64::MAX);
        let mut want = Vec::new();
        json_by_push(&line, &mut want);
        assert_eq!(got, want);
    }

    #[test]
    fn a_header_that_is_not_utf8_is_null_and_zeros_are_written() {
        let bad = Text::Header(http::HeaderValue::from_bytes(b"a\xff\"b").unwrap());
        let line = Line {
            time: None,
            client: None,
            forwarded_for: bad.as_str(),
            listener: "",
            method: "",
            target: "",
            version: "",
            host: None,
            status: 0,
            bytes_in: 0,
            bytes_out: 0,
            user_agent: None,
            referer: None,
            request_id: "",
            route: "",
            cluster: "",
            member: "",
            retries: 0,
            queue: Some(Duration::ZERO),
            connect: None,
            first_byte: None,
            total: Duration::from_micros(5),
            termination: "",
            names_plain: true,
            made_up_id: None,
        };
        let mut got = Vec::new();
        super::super::LineWriter::new(super::super::Format::Json).write(&line, &mut got);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "{\"time\":\"1970-01-01T00:00:00.000Z\",\"client\":null,\"forwarded_for\":null,\
             \"listener\":\"\",\"method\":null,\"target\":null,\"version\":null,\"host\":null,\
             \"status\":0,\"bytes_in\":0,\"bytes_out\":0,\"user_agent\":null,\"referer\":null,\
             \"request_id\":\"\",\"route\":null,\"cluster\":null,\"member\":null,\"retries\":0,\
             \"queue_ms\":0,\"connect_ms\":null,\"first_byte_ms\":null,\"total_ms\":0.005,\
             \"termination\":\"\"}\n"
        );
    }
}
