//! The set of HTTP status codes a probe accepts, parsed from the compact
//! notation operators already know from check_http and keepalived
//! (`200`, `200,204`, `3xx`, `200-299`). Pure: no I/O, so it is tested alone.

use std::fmt;
use std::str::FromStr;

/// Why a status-set string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusSetError {
    /// The string (or one of its comma-separated items) was empty.
    #[error("empty status item in {0:?}")]
    Empty(String),
    /// An item is neither `NNN`, `Nxx` nor `NNN-NNN`.
    #[error("bad status item {0:?}: expected a code (200), a class (2xx) or a range (200-299)")]
    BadItem(String),
    /// A code lies outside 100..=999, which no HTTP/1 status line can carry.
    #[error("status {0} is outside 100-999")]
    OutOfRange(u32),
    /// A range whose start is above its end.
    #[error("range {0:?} runs backwards")]
    Backwards(String),
}

/// A union of inclusive status ranges. Small (a handful of items), so a
/// linear scan beats anything cleverer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet {
    ranges: Vec<(u16, u16)>,
}

impl StatusSet {
    /// The set holding exactly one code.
    pub fn single(code: u16) -> Self {
        Self {
            ranges: vec![(code, code)],
        }
    }

    /// Whether `code` is in the set.
    pub fn contains(&self, code: u16) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= code && code <= hi)
    }
}

impl Default for StatusSet {
    /// 200 only: the seed's wget script accepted exactly that.
    fn default() -> Self {
        Self::single(200)
    }
}

fn parse_code(text: &str, item: &str) -> Result<u16, StatusSetError> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StatusSetError::BadItem(item.to_string()));
    }
    let value: u32 = text
        .parse()
        .map_err(|_| StatusSetError::BadItem(item.to_string()))?;
    if !(100..=999).contains(&value) {
        return Err(StatusSetError::OutOfRange(value));
    }
    Ok(value as u16)
}

fn parse_item(item: &str) -> Result<(u16, u16), StatusSetError> {
    let lower = item.to_ascii_lowercase();
    if let Some(class) = lower.strip_suffix("xx") {
        if class.len() == 1 && class.as_bytes()[0].is_ascii_digit() {
            let base = u16::from(class.as_bytes()[0] - b'0') * 100;
            if base == 0 {
                return Err(StatusSetError::OutOfRange(0));
            }
            return Ok((base, base + 99));
        }
        return Err(StatusSetError::BadItem(item.to_string()));
    }
    if let Some((lo, hi)) = item.split_once('-') {
        let lo = parse_code(lo.trim(), item)?;
        let hi = parse_code(hi.trim(), item)?;
        if lo > hi {
            return Err(StatusSetError::Backwards(item.to_string()));
        }
        return Ok((lo, hi));
    }
    let code = parse_code(item, item)?;
    Ok((code, code))
}

impl FromStr for StatusSet {
    type Err = StatusSetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut ranges = Vec::new();
        for item in s.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(StatusSetError::Empty(s.to_string()));
            }
            ranges.push(parse_item(item)?);
        }
        Ok(Self { ranges })
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(lo, hi)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else if lo % 100 == 0 && hi == lo + 99 {
                write!(f, "{}xx", lo / 100)?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_200_only() {
        let set = StatusSet::default();
        assert!(set.contains(200));
        assert!(!set.contains(201));
        assert!(!set.contains(204));
    }

    #[test]
    fn lists_classes_and_ranges() {
        let set: StatusSet = "200,204,3xx".parse().unwrap();
        for ok in [200, 204, 300, 301, 399] {
            assert!(set.contains(ok), "{ok}");
        }
        for bad in [201, 203, 299, 400, 503] {
            assert!(!set.contains(bad), "{bad}");
        }
        let range: StatusSet = "200-299, 404".parse().unwrap();
        assert!(range.contains(250) && range.contains(404) && !range.contains(300));
        assert_eq!(range.to_string(), "2xx,404");
        assert_eq!("2XX".parse::<StatusSet>().unwrap().to_string(), "2xx");
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "", "200,", "abc", "20", "2000", "0xx", "xx", "299-200", "99", "1-2", "+200",
        ] {
            assert!(bad.parse::<StatusSet>().is_err(), "{bad:?} accepted");
        }
    }
}
