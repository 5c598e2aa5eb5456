//! The few facts of an X.509 certificate a probe reports in plain words:
//! validity dates, subject common name, DNS and IP names, and whether it is
//! self-issued. A bounded DER walk over the TBSCertificate, no allocation
//! beyond the names; it never trusts anything, it only describes (trust is
//! decided by webpki, or by byte identity with a `--cacert` certificate).

use std::fmt;
use std::net::IpAddr;

/// What a certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// `notBefore`, seconds since the Unix epoch.
    pub not_before: i64,
    /// `notAfter`, seconds since the Unix epoch.
    pub not_after: i64,
    /// The subject's common name, when it has one.
    pub common_name: Option<String>,
    /// subjectAltName DNS names and IP addresses, in certificate order.
    pub names: Vec<String>,
    /// Issuer and subject are the same name (a self-signed certificate).
    pub self_issued: bool,
}

/// A DER element: its tag and contents.
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) body: &'a [u8],
}

/// Splits the first element off `input`; `None` on any malformation.
pub(crate) fn next(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
    };
    if rest.len() < len {
        return None;
    }
    let (body, after) = rest.split_at(len);
    Some((Tlv { tag, body }, after))
}

/// Iterates over the elements of a constructed value's contents.
pub(crate) fn elements(mut input: &[u8]) -> impl Iterator<Item = Tlv<'_>> {
    std::iter::from_fn(move || {
        let (tlv, rest) = next(input)?;
        input = rest;
        Some(tlv)
    })
}

const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

impl CertFacts {
    /// Reads a DER certificate; `None` when it is not one this walk understands.
    pub fn parse(der: &[u8]) -> Option<Self> {
        let (cert, _) = next(der)?;
        let (tbs, _) = next(cert.body)?;
        let mut fields = elements(tbs.body).peekable();
        if fields.peek()?.tag == 0xa0 {
            fields.next(); // version
        }
        let _serial = fields.next().filter(|t| t.tag == 0x02)?;
        let _signature = fields.next().filter(|t| t.tag == 0x30)?;
        let issuer = fields.next().filter(|t| t.tag == 0x30)?;
        let validity = fields.next().filter(|t| t.tag == 0x30)?;
        let subject = fields.next().filter(|t| t.tag == 0x30)?;
        let mut times = elements(validity.body);
        let not_before = parse_time(&times.next()?)?;
        let not_after = parse_time(&times.next()?)?;
        let mut names = Vec::new();
        for field in fields {
            if field.tag == 0xa3 {
                names = alt_names(field.body);
            }
        }
        Some(Self {
            not_before,
            not_after,
            common_name: common_name(subject.body),
            names,
            self_issued: issuer.body == subject.body,
        })
    }

    /// Whole days from `now` until `notAfter` (negative once expired).
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }

    /// The names a client may reach this certificate by, for messages:
    /// the subjectAltName entries, or the common name when there are none.
    pub fn describe_names(&self) -> String {
        if !self.names.is_empty() {
            return self.names.join(", ");
        }
        match &self.common_name {
            Some(cn) => format!("CN={cn} (no subjectAltName)"),
            None => "no names".to_string(),
        }
    }
}

/// The serial number of a DER certificate (its INTEGER contents as encoded).
pub fn serial_of(der: &[u8]) -> Option<Vec<u8>> {
    let (cert, _) = next(der)?;
    let (tbs, _) = next(cert.body)?;
    let mut fields = elements(tbs.body).peekable();
    if fields.peek()?.tag == 0xa0 {
        fields.next();
    }
    fields
        .next()
        .filter(|t| t.tag == 0x02)
        .map(|t| t.body.to_vec())
}

/// The subject of a DER certificate as an RFC 4514 string (`CN=alice,O=Example`: the
/// last attribute of the name first, special characters escaped); attributes without a
/// short name are written as their dotted OID. `None` when it is not a certificate.
pub fn subject_of(der: &[u8]) -> Option<String> {
    let (cert, _) = next(der)?;
    let (tbs, _) = next(cert.body)?;
    let mut fields = elements(tbs.body).peekable();
    if fields.peek()?.tag == 0xa0 {
        fields.next();
    }
    let subject = fields.nth(4).filter(|t| t.tag == 0x30)?;
    let mut rdns = Vec::new();
    for set in elements(subject.body) {
        let mut parts = Vec::new();
        for attribute in elements(set.body) {
            let mut av = elements(attribute.body);
            let (oid, value) = (av.next()?, av.next()?);
            let text = String::from_utf8_lossy(value.body);
            parts.push(format!("{}={}", attribute_name(oid.body), escape_dn(&text)));
        }
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

fn attribute_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC".into(),
        _ => dotted_oid(oid),
    }
}

fn dotted_oid(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut n: u64 = 0;
    for &b in oid {
        n = (n << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                arcs.push((n / 40).min(2));
                arcs.push(n - arcs[0] * 40);
            } else {
                arcs.push(n);
            }
            n = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// RFC 4514 escaping; control characters become `?` so the result fits a header value.
fn escape_dn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let edge =
            (i == 0 && (c == ' ' || c == '#')) || (i + 1 == value.chars().count() && c == ' ');
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push('?'),
            c if edge => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn common_name(name: &[u8]) -> Option<String> {
    for set in elements(name) {
        for attribute in elements(set.body) {
            let mut parts = elements(attribute.body);
            let oid = parts.next()?;
            let value = parts.next()?;
            if oid.tag == 0x06 && oid.body == OID_COMMON_NAME {
                return Some(String::from_utf8_lossy(value.body).into_owned());
            }
        }
    }
    None
}

fn alt_names(extensions: &[u8]) -> Vec<String> {
    let Some((list, _)) = next(extensions) else {
        return Vec::new();
    };
    for extension in elements(list.body) {
        let mut parts = elements(extension.body);
        let Some(oid) = parts.next() else { continue };
        if oid.body != OID_SUBJECT_ALT_NAME {
            continue;
        }
        let Some(value) = parts.find(|p| p.tag == 0x04) else {
            continue;
        };
        let Some((general_names, _)) = next(value.body) else {
            continue;
        };
        return elements(general_names.body)
            .filter_map(|name| match name.tag {
                0x82 => Some(String::from_utf8_lossy(name.body).into_owned()),
                0x87 => ip_name(name.body),
                _ => None,
            })
            .collect();
    }
    Vec::new()
}

fn ip_name(bytes: &[u8]) -> Option<String> {
    let ip: IpAddr = match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok()?.into(),
        16 => <[u8; 16]>::try_from(bytes).ok()?.into(),
        _ => return None,
    };
    Some(ip.to_string())
}

fn digits(text: &[u8]) -> Option<i64> {
    text.iter().try_fold(0i64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
    })
}

/// UTCTime (YYMMDDHHMMSSZ, RFC 5280's two-digit years) or GeneralizedTime.
pub(crate) fn parse_time(time: &Tlv<'_>) -> Option<i64> {
    let text = time.body.strip_suffix(b"Z")?;
    let (year, rest) = match time.tag {
        0x17 if text.len() == 12 => {
            let yy = digits(&text[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        0x18 if text.len() == 14 => (digits(&text[..4])?, &text[4..]),
        _ => return None,
    };
    let field = |i: usize| digits(&rest[i..i + 2]);
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A Unix time printed as a UTC date and time, e.g. `2026-12-02 07:16:42 UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime(pub i64);

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_is_written_last_attribute_first_and_escaped() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["a.test".to_string()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "DE");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example, Inc");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "alice");
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(
            subject_of(cert.der()).unwrap(),
            "CN=alice,O=Example\\, Inc,C=DE"
        );
        assert_eq!(subject_of(b"\x30\x03junk"), None);
        assert_eq!(
            dotted_oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(UtcTime(0).to_string(), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            UtcTime(days_from_civil(2026, 12, 2) * 86_400 + 7 * 3600 + 16 * 60 + 42).to_string(),
            "2026-12-02 07:16:42 UTC"
        );
        assert_eq!(UtcTime(951_782_400).to_string(), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn times_in_both_encodings() {
        let utc = Tlv {
            tag: 0x17,
            body: b"491231235959Z",
        };
        assert_eq!(
            UtcTime(parse_time(&utc).unwrap()).to_string(),
            "2049-12-31 23:59:59 UTC"
        );
        let utc = Tlv {
            tag: 0x17,
            body: b"500101000000Z",
        };
        assert_eq!(
            UtcTime(parse_time(&utc).unwrap()).to_string(),
            "1950-01-01 00:00:00 UTC"
        );
        let gen_time = Tlv {
            tag: 0x18,
            body: b"99991231235959Z",
        };
        assert!(parse_time(&gen_time).is_some());
        for bad in [
            &b"4912312359Z"[..],
            b"491331235959Z",
            b"49123123595aZ",
            b"491231235959",
        ] {
            assert!(
                parse_time(&Tlv {
                    tag: 0x17,
                    body: bad
                })
                .is_none()
            );
        }
    }

    #[test]
    fn truncated_input_is_refused() {
        assert!(CertFacts::parse(&[]).is_none());
        assert!(CertFacts::parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(CertFacts::parse(&[0x30, 0x03, 0x30, 0x01]).is_none());
    }

    #[test]
    fn reads_an_rcgen_certificate() {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "probe test");
        params.not_before = rcgen::date_time_ymd(2020, 1, 2);
        params.not_after = rcgen::date_time_ymd(2031, 5, 6);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let facts = CertFacts::parse(cert.der()).unwrap();
        assert_eq!(facts.names, ["localhost", "127.0.0.1"]);
        assert_eq!(facts.common_name.as_deref(), Some("probe test"));
        assert!(facts.self_issued);
        assert_eq!(
            UtcTime(facts.not_before).to_string(),
            "2020-01-02 00:00:00 UTC"
        );
        assert_eq!(
            UtcTime(facts.not_after).to_string(),
            "2031-05-06 00:00:00 UTC"
        );
        assert_eq!(facts.days_left(facts.not_after - 1), 0);
        assert_eq!(facts.days_left(facts.not_after + 1), -1);
        assert_eq!(facts.days_left(facts.not_after - 86_400), 1);
    }
}
