//! The chunked transfer coding (RFC 9112 §7.1) as a sans-IO state machine:
//! feed bytes, get data ranges and the end, or the framing error. Strict
//! where a lax reader lets a request be split differently downstream:
//! hex sizes only, no overflow, CRLF exactly, bounded extensions and trailers.

use std::ops::Range;

use crate::syntax::is_tchar;

/// Bounds on the parts of a chunked body that are not data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedLimits {
    /// Chunk-extension bytes over the whole body (hyper allows 16 KiB).
    pub max_extension_bytes: usize,
    /// Bytes of the trailer section, final CRLF excluded.
    pub max_trailer_bytes: usize,
    /// Trailer fields.
    pub max_trailers: usize,
}

impl Default for ChunkedLimits {
    fn default() -> Self {
        ChunkedLimits {
            max_extension_bytes: 16 * 1024,
            max_trailer_bytes: 8 * 1024,
            max_trailers: 32,
        }
    }
}

/// Why a chunked body is refused; the request gets 400 and the connection closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ChunkError {
    /// A chunk-size with a byte that is not a hex digit, or none at all.
    #[error("invalid chunk size")]
    InvalidSize,
    /// A chunk-size above 2^64 - 1.
    #[error("chunk size overflows")]
    SizeOverflow,
    /// A chunk extension with a control byte.
    #[error("invalid chunk extension")]
    InvalidExtension,
    /// Extensions beyond the limit.
    #[error("chunk extensions too long")]
    ExtensionTooLong,
    /// A line or a chunk's data not ended by exactly CRLF.
    #[error("missing CRLF")]
    MissingCrlf,
    /// A trailer line that is not a valid field, or one that may not be a
    /// trailer (framing, routing and connection fields, RFC 9110 §6.5.1).
    #[error("invalid trailer field")]
    InvalidTrailer,
    /// Trailers beyond the size or count limit.
    #[error("trailer section too large")]
    TrailersTooLarge,
}

impl ChunkError {
    /// A stable label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ChunkError::InvalidSize => "chunk_size",
            ChunkError::SizeOverflow => "chunk_size_overflow",
            ChunkError::InvalidExtension => "chunk_extension",
            ChunkError::ExtensionTooLong => "chunk_extension_too_long",
            ChunkError::MissingCrlf => "chunk_crlf",
            ChunkError::InvalidTrailer => "trailer",
            ChunkError::TrailersTooLarge => "trailers_too_large",
        }
    }
}

/// The result of one [`ChunkedDecoder::decode`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the input used; the rest is for the next call (or, once
    /// `done`, the next message).
    pub consumed: usize,
    /// Chunk data found, as a range of the input.
    pub data: Option<Range<usize>>,
    /// The last chunk and the trailer section have been read.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    SizeSpace,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    EndLf,
    Done,
}

/// Decodes one chunked body. Reuse it per message with [`Self::reset`].
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    limits: ChunkedLimits,
    state: State,
    size: u64,
    digits: u32,
    ext_bytes: usize,
    trailer_bytes: usize,
    trailers: usize,
    name: [u8; 24],
    name_len: usize,
}

/// Fields a trailer may not carry: a member that merges trailers into the
/// head would let them change framing, routing or the connection.
const FORBIDDEN_TRAILERS: [&[u8]; 8] = [
    b"content-length",
    b"transfer-encoding",
    b"host",
    b"trailer",
    b"te",
    b"connection",
    b"keep-alive",
    b"upgrade",
];

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new(limits: ChunkedLimits) -> Self {
        ChunkedDecoder {
            limits,
            state: State::Size,
            size: 0,
            digits: 0,
            ext_bytes: 0,
            trailer_bytes: 0,
            trailers: 0,
            name: [0; 24],
            name_len: 0,
        }
    }

    /// Back to the start of a body, limits kept.
    pub fn reset(&mut self) {
        *self = ChunkedDecoder::new(self.limits);
    }

    /// Whether the whole body has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Reads from `input` until data is found, the input ends or the body
    /// ends. Call again with the unconsumed rest (plus new bytes).
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, ChunkError> {
        let mut i = 0;
        while i < input.len() && self.state != State::Done {
            if self.state == State::Data {
                let n = usize::try_from(self.size)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - i);
                self.size -= n as u64;
                if self.size == 0 {
                    self.state = State::DataCr;
                }
                return Ok(Decoded {
                    consumed: i + n,
                    data: Some(i..i + n),
                    done: false,
                });
            }
            self.step(input[i])?;
            i += 1;
        }
        Ok(Decoded {
            consumed: i,
            data: None,
            done: self.state == State::Done,
        })
    }

    fn step(&mut self, b: u8) -> Result<(), ChunkError> {
        self.state = match self.state {
            State::Size => self.size_byte(b)?,
            State::SizeSpace => match b {
                b' ' | b'\t' => State::SizeSpace,
                b';' => self.extension_byte(b)?,
                _ => return Err(ChunkError::InvalidSize),
            },
            State::Extension => match b {
                b'\r' => State::SizeLf,
                _ => self.extension_byte(b)?,
            },
            State::SizeLf if b == b'\n' => self.after_size_line(),
            State::DataCr if b == b'\r' => State::DataLf,
            State::DataLf if b == b'\n' => State::Size,
            State::TrailerLf if b == b'\n' => State::TrailerStart,
            State::EndLf if b == b'\n' => State::Done,
            State::SizeLf | State::DataCr | State::DataLf | State::EndLf => {
                return Err(ChunkError::MissingCrlf);
            }
            State::TrailerLf => return Err(ChunkError::InvalidTrailer),
            State::TrailerStart | State::TrailerName | State::TrailerValue => {
                self.trailer_byte(b)?
            }
            State::Data | State::Done => unreachable!("handled by decode"),
        };
        Ok(())
    }

    fn size_byte(&mut self, b: u8) -> Result<State, ChunkError> {
        if let Some(d) = (b as char).to_digit(16) {
            self.size = self
                .size
                .checked_mul(16)
                .and_then(|s| s.checked_add(u64::from(d)))
                .ok_or(ChunkError::SizeOverflow)?;
            self.digits += 1;
            return Ok(State::Size);
        }
        if self.digits == 0 {
            return Err(ChunkError::InvalidSize);
        }
        match b {
            b'\r' => Ok(State::SizeLf),
            b'\n' => Err(ChunkError::MissingCrlf),
            b' ' | b'\t' => Ok(State::SizeSpace),
            b';' => self.extension_byte(b),
            _ => Err(ChunkError::InvalidSize),
        }
    }

    /// One byte of `*( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )`:
    /// visible bytes, space, tab and obs-text; no control byte, no bare LF.
    fn extension_byte(&mut self, b: u8) -> Result<State, ChunkError> {
        self.ext_bytes += 1;
        if self.ext_bytes > self.limits.max_extension_bytes {
            return Err(ChunkError::ExtensionTooLong);
        }
        if b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80 {
            Ok(State::Extension)
        } else {
            Err(ChunkError::InvalidExtension)
        }
    }

    fn after_size_line(&mut self) -> State {
        let size = self.size;
        self.digits = 0;
        if size == 0 {
            State::TrailerStart
        } else {
            State::Data
        }
    }

    fn trailer_byte(&mut self, b: u8) -> Result<State, ChunkError> {
        if self.state == State::TrailerStart && b == b'\r' {
            return Ok(State::EndLf);
        }
        if self.state == State::TrailerStart && b == b'\n' {
            return Err(ChunkError::MissingCrlf);
        }
        self.trailer_bytes += 1;
        if self.trailer_bytes > self.limits.max_trailer_bytes {
            return Err(ChunkError::TrailersTooLarge);
        }
        match self.state {
            State::TrailerStart | State::TrailerName if is_tchar(b) => {
                if self.state == State::TrailerStart {
                    self.trailers += 1;
                    if self.trailers > self.limits.max_trailers {
                        return Err(ChunkError::TrailersTooLarge);
                    }
                    self.name_len = 0;
                }
                if self.name_len < self.name.len() {
                    self.name[self.name_len] = b.to_ascii_lowercase();
                }
                self.name_len += 1;
                Ok(State::TrailerName)
            }
            State::TrailerName if b == b':' => {
                let name = &self.name[..self.name_len.min(self.name.len())];
                if self.name_len <= self.name.len() && FORBIDDEN_TRAILERS.contains(&name) {
                    return Err(ChunkError::InvalidTrailer);
                }
                Ok(State::TrailerValue)
            }
            State::TrailerValue if b == b'\r' => Ok(State::TrailerLf),
            State::TrailerValue if b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80 => {
                Ok(State::TrailerValue)
            }
            _ => Err(ChunkError::InvalidTrailer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `body` fed in pieces of `step` bytes: the data and whether it ended.
    fn decode_in_steps(body: &[u8], step: usize) -> Result<(Vec<u8>, bool, usize), ChunkError> {
        let mut d = ChunkedDecoder::new(ChunkedLimits::default());
        let mut data = Vec::new();
        let mut pos = 0;
        let mut avail = step.min(body.len());
        loop {
            let r = d.decode(&body[pos..avail])?;
            if let Some(range) = r.data.clone() {
                data.extend_from_slice(&body[pos..avail][range]);
            }
            pos += r.consumed;
            if r.done {
                return Ok((data, true, pos));
            }
            if r.consumed == 0 && r.data.is_none() {
                if avail == body.len() {
                    return Ok((data, false, pos));
                }
                avail = (avail + step).min(body.len());
            }
        }
    }

    #[test]
    fn chunks_decode_whatever_the_split() {
        let body = b"5;ext=\"v\"\r\nhello\r\nA \t;x\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\nNEXT";
        for step in 1..body.len() {
            let (data, done, used) = decode_in_steps(body, step).unwrap();
            assert_eq!(data, b"hello0123456789");
            assert!(done);
            assert_eq!(&body[used..], b"NEXT", "step {step}");
        }
    }

    #[test]
    fn framing_errors_are_named() {
        use ChunkError::*;
        for (body, want) in [
            (&b"x\r\n"[..], InvalidSize),
            (b"\r\n", InvalidSize),
            (b"-1\r\n", InvalidSize),
            (b"+1\r\n", InvalidSize),
            (b"0x1\r\n", InvalidSize),
            (b"1 2\r\n", InvalidSize),
            (b"5 \r\n", InvalidSize),
            (b"10000000000000000\r\n", SizeOverflow),
            (b"5\nhello\r\n", MissingCrlf),
            (b"5\r\nhelloX\r\n", MissingCrlf),
            (b"5\r\nhello\n0\r\n\r\n", MissingCrlf),
            (b"5\r\nhello\r\n0\r\n\n", MissingCrlf),
            (b"5\r\r\n", MissingCrlf),
            (b"5;a\x00\r\n", InvalidExtension),
            (b"5;a\nb\r\n", InvalidExtension),
            (b"0\r\nContent-Length: 5\r\n\r\n", InvalidTrailer),
            (b"0\r\nhost: x\r\n\r\n", InvalidTrailer),
            (b"0\r\nX: a\nY: b\r\n\r\n", InvalidTrailer),
            (b"0\r\n X: a\r\n\r\n", InvalidTrailer),
            (b"0\r\nX : a\r\n\r\n", InvalidTrailer),
            (b"0\r\nX: a\r\r\n\r\n", InvalidTrailer),
        ] {
            assert_eq!(
                decode_in_steps(body, body.len()).err(),
                Some(want),
                "{body:?}"
            );
        }
    }

    #[test]
    fn limits_bound_extensions_and_trailers() {
        let limits = ChunkedLimits {
            max_extension_bytes: 8,
            max_trailer_bytes: 16,
            max_trailers: 1,
        };
        let mut d = ChunkedDecoder::new(limits);
        assert_eq!(
            d.decode(b"1;123456789\r\n").err(),
            Some(ChunkError::ExtensionTooLong)
        );
        let mut d = ChunkedDecoder::new(limits);
        assert_eq!(
            d.decode(b"0\r\nA: 1\r\nB: 2\r\n\r\n").err(),
            Some(ChunkError::TrailersTooLarge)
        );
        let mut d = ChunkedDecoder::new(limits);
        let long = b"0\r\nA: 12345678901234567\r\n\r\n";
        assert_eq!(d.decode(long).err(), Some(ChunkError::TrailersTooLarge));
    }

    #[test]
    fn a_huge_chunk_is_passed_through_in_pieces() {
        let mut d = ChunkedDecoder::new(ChunkedLimits::default());
        let r = d.decode(b"ffffffffffffffff\r\nabc").unwrap();
        assert_eq!((r.consumed, r.data), (21, Some(18..21)));
        let r = d.decode(b"abc").unwrap();
        assert_eq!((r.consumed, r.data), (3, Some(0..3)));
        assert!(!d.is_done());
    }
}
