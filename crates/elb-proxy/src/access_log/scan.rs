//! The scan behind both escapes (`\\xHH` in text lines, JSON's in `json`): which bytes need
//! one, eight bytes at a time, since log fields are nearly always plain.

/// Whether a byte cannot be written as is: quotes, backslashes, ASCII controls and DEL.
pub(super) const fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether one of the eight bytes of `v` is zero (exact for existence).
fn has_zero_byte(v: u64) -> bool {
    v.wrapping_sub(ONES) & !v & HIGHS != 0
}

/// Whether one of eight bytes needs an escape: below 0x20, `"`, `\\` or DEL.
fn chunk_needs_escape(x: u64) -> bool {
    x.wrapping_sub(ONES * 0x20) & !x & HIGHS != 0
        || has_zero_byte(x ^ (ONES * u64::from(b'"')))
        || has_zero_byte(x ^ (ONES * u64::from(b'\\')))
        || has_zero_byte(x ^ (ONES * 0x7f))
}

/// Bytes that need an escape (below 0x20, `"`, `\\`, DEL), and with them every non-ASCII
/// byte: one lookup per byte for the short tails the eight-byte scan leaves.
const fn escape_tables() -> [[bool; 256]; 2] {
    let mut t = [[false; 256]; 2];
    let mut b = 0;
    while b < 256 {
        let esc = needs_escape(b as u8);
        t[0][b] = esc;
        t[1][b] = esc || b >= 0x80;
        b += 1;
    }
    t
}

const ESCAPE: [[bool; 256]; 2] = escape_tables();

/// Up to seven bytes as one eight-byte word, the missing bytes a plain letter: the first
/// and last four bytes overlap for 4..=7, and three picks cover 1..=3.
fn short_word(b: &[u8]) -> u64 {
    const PAD: u64 = ONES * 0x61;
    let n = b.len();
    match n {
        0 => PAD,
        1..=3 => {
            let picked = u64::from(b[0]) | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]) << 16;
            picked | (PAD & !0xff_ffff)
        }
        _ => {
            let first = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let last = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]);
            u64::from(first) | u64::from(last) << 32
        }
    }
}

/// Whether no byte of `b` needs a JSON escape, eight at a time with the last word
/// overlapping: checks a whole text without the byte-by-byte tail of [`clean_prefix`].
pub(super) fn all_clean(b: &[u8]) -> bool {
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
    if b.len() < 8 {
        return !chunk_needs_escape(short_word(b));
    }
    let mut i = 0;
    while i + 8 <= b.len() {
        if chunk_needs_escape(word(i)) {
            return false;
        }
        i += 8;
    }
    i == b.len() || !chunk_needs_escape(word(b.len() - 8))
}

/// Whether `s` goes into a JSON line as is: names checked once when a config is loaded
/// are then copied without a scan per line.
pub fn json_plain(s: &str) -> bool {
    all_clean(s.as_bytes())
}

/// Length of the leading run that needs no escape (and, with `ascii_only`, is ASCII),
/// eight bytes at a time: log fields are nearly always plain.
pub(super) fn clean_prefix(b: &[u8], ascii_only: bool) -> usize {
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        if chunk_needs_escape(x) || (ascii_only && x & HIGHS != 0) {
            break;
        }
        i += 8;
    }
    let table = &ESCAPE[usize::from(ascii_only)];
    while i < b.len() && !table[usize::from(b[i])] {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_byte_scan_agrees_with_the_byte_by_byte_one() {
        let naive = |b: &[u8], ascii: bool| {
            b.iter()
                .position(|&x| needs_escape(x) || (ascii && x >= 0x80))
                .unwrap_or(b.len())
        };
        let mut rng = fastrand::Rng::with_seed(7);
        // Mostly plain bytes with an occasional special one, at every offset and length.
        let special = [
            0u8, 0x1f, 0x20, b'"', b'\\', 0x7e, 0x7f, 0x80, 0xff, b'!', b'#', b'[',
        ];
        for _ in 0..20_000 {
            let len = rng.usize(0..40);
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.u8(..) < 16 {
                        special[rng.usize(..special.len())]
                    } else {
                        rng.u8(0x20..0x7f)
                    }
                })
                .collect();
            for ascii in [false, true] {
                assert_eq!(clean_prefix(&b, ascii), naive(&b, ascii), "{b:?} {ascii}");
            }
        }
    }

    #[test]
    fn the_whole_text_check_agrees_with_the_byte_by_byte_one() {
        let mut rng = fastrand::Rng::with_seed(11);
        let special = [0u8, 0x1f, b'"', b'\\', 0x7f, 0x80, 0xff, b' ', b'~'];
        for _ in 0..20_000 {
            let len = rng.usize(0..24);
            let b: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.u8(..) < 12 {
                        special[rng.usize(..special.len())]
                    } else {
                        rng.u8(0x20..0x7f)
                    }
                })
                .collect();
            assert_eq!(all_clean(&b), !b.iter().any(|&x| needs_escape(x)), "{b:?}");
        }
    }
}
