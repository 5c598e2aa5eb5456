//! Incremental, bounded reader of one HTTP/1.x response, fed bytes as they
//! arrive. Pure (no I/O, no clock), so it is fuzzed and unit-tested on byte
//! strings; the probe's I/O loop only moves bytes into it.
//!
//! Everything it keeps is bounded by [`Limits`]: an endless, oversized or
//! malformed answer ends with an error or a truncated body, never with
//! unbounded memory. Interim `1xx` answers are skipped. The head is parsed by
//! `httparse` once its end is found, so a byte-at-a-time trickle costs a
//! linear scan, not a re-parse per byte.

use std::fmt;

/// Bounds on what is read from a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest response head (status line plus headers) accepted.
    pub max_head_bytes: usize,
    /// Most header fields accepted.
    pub max_headers: usize,
    /// Most body bytes kept for matching; reading stops once this many are held.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Why a response could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The peer closed without sending a byte.
    #[error("empty reply: the server closed the connection without answering")]
    EmptyReply,
    /// The first bytes are not `HTTP/`.
    #[error("not an HTTP response (starts with {0:?})")]
    NotHttp(String),
    /// The head grew past [`Limits::max_head_bytes`].
    #[error("response head larger than {0} bytes")]
    HeadTooLarge(usize),
    /// More header fields than [`Limits::max_headers`].
    #[error("more than {0} response header fields")]
    TooManyHeaders(usize),
    /// httparse refused the head.
    #[error("malformed response head: {0}")]
    Malformed(String),
    /// The connection closed before the head was complete.
    #[error("connection closed after {0} bytes, inside the response head")]
    ClosedInHead(usize),
    /// `Content-Length` is not a number, or several disagree.
    #[error("invalid Content-Length")]
    BadContentLength,
    /// A chunk-size line or chunk terminator is malformed.
    #[error("malformed chunked body: {0}")]
    BadChunk(&'static str),
    /// The connection closed before the body's declared end.
    #[error("connection closed inside the response body")]
    ClosedInBody,
}

/// The status line and header fields of the final response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// HTTP major version: 1, or 2 for an answer over HTTP/2.
    pub major_version: u8,
    /// HTTP minor version (`1` for HTTP/1.1; 0 for HTTP/2).
    pub minor_version: u8,
    /// Status code.
    pub status: u16,
    /// Reason phrase, lossily decoded.
    pub reason: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl ResponseHead {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

impl fmt::Display for ResponseHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.major_version == 2 {
            return write!(f, "HTTP/2 {} {}", self.status, self.reason);
        }
        write!(
            f,
            "HTTP/1.{} {} {}",
            self.minor_version, self.status, self.reason
        )
    }
}

/// What the reader needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Feed more bytes (or call [`ResponseReader::finish`] at end of stream).
    NeedMore,
    /// The answer is complete as far as the probe cares; stop reading.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading a chunk-size line; holds its length so far.
    Size {
        line: usize,
        value: u64,
        digits: u8,
        in_ext: bool,
        cr: bool,
    },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// After chunk data: expecting CRLF.
    DataEnd { cr: bool },
    /// After the last chunk: trailer lines until an empty one.
    Trailer { line: usize, total: usize, cr: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Length { remaining: u64 },
    Chunked(Chunk),
    UntilClose,
    Done,
}

/// Longest chunk-size line (size plus extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;

/// Reads one response. Create it per request, [`feed`](Self::feed) it the
/// bytes read, and call [`finish`](Self::finish) at end of stream.
#[derive(Debug, Clone)]
pub struct ResponseReader {
    limits: Limits,
    /// Whether the caller judges the body; if not, reading stops after the head.
    want_body: bool,
    /// A HEAD request's answer has no body whatever its headers say.
    head_request: bool,
    state: State,
    /// Bytes of the head not yet parsed.
    head_buf: Vec<u8>,
    /// Where to resume searching for the end of the head.
    scan_from: usize,
    head: Option<ResponseHead>,
    body: Vec<u8>,
    body_truncated: bool,
    received: u64,
}

impl ResponseReader {
    /// A reader for the answer to one request.
    pub fn new(limits: Limits, want_body: bool, head_request: bool) -> Self {
        Self {
            limits,
            want_body,
            head_request,
            state: State::Head,
            head_buf: Vec::new(),
            scan_from: 0,
            head: None,
            body: Vec::new(),
            body_truncated: false,
            received: 0,
        }
    }

    /// Total bytes fed so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether at least the final head has been parsed.
    pub fn head(&self) -> Option<&ResponseHead> {
        self.head.as_ref()
    }

    /// Body bytes kept (decoded from chunked), at most `max_body_bytes`.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Whether body bytes were dropped because of `max_body_bytes`.
    pub fn body_truncated(&self) -> bool {
        self.body_truncated
    }

    /// Feeds bytes read from the connection.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<Progress, ResponseError> {
        self.received += data.len() as u64;
        while !data.is_empty() {
            data = match self.state {
                State::Done => return Ok(Progress::Done),
                State::Head => self.feed_head(data)?,
                State::Length { remaining } => {
                    let take = remaining.min(data.len() as u64) as usize;
                    self.keep(&data[..take]);
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        State::Done
                    } else {
                        State::Length { remaining: left }
                    };
                    &data[take..]
                }
                State::UntilClose => {
                    self.keep(data);
                    &[]
                }
                State::Chunked(chunk) => self.feed_chunked(chunk, data)?,
            };
            if self.state != State::Head && self.head.is_some() && !self.want_body {
                self.state = State::Done;
            }
            if self.want_body && self.body_truncated {
                self.state = State::Done;
            }
        }
        Ok(if self.state == State::Done {
            Progress::Done
        } else {
            Progress::NeedMore
        })
    }

    /// Called at end of stream: says whether what arrived is a whole answer.
    pub fn finish(&mut self) -> Result<(), ResponseError> {
        match self.state {
            State::Done => Ok(()),
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            State::Head if self.received == 0 => Err(ResponseError::EmptyReply),
            State::Head => Err(ResponseError::ClosedInHead(self.head_buf.len())),
            State::Length { .. } | State::Chunked(_) => Err(ResponseError::ClosedInBody),
        }
    }

    fn keep(&mut self, data: &[u8]) {
        let room = self.limits.max_body_bytes.saturating_sub(self.body.len());
        let take = room.min(data.len());
        self.body.extend_from_slice(&data[..take]);
        if take < data.len() {
            self.body_truncated = true;
        }
    }

    fn feed_head<'d>(&mut self, data: &'d [u8]) -> Result<&'d [u8], ResponseError> {
        let before = self.head_buf.len();
        let room = self
            .limits
            .max_head_bytes
            .saturating_add(1)
            .saturating_sub(before);
        let take = room.min(data.len());
        self.head_buf.extend_from_slice(&data[..take]);
        let prefix_len = self.head_buf.len().min(5);
        if !b"HTTP/".starts_with(&self.head_buf[..prefix_len]) {
            let shown =
                String::from_utf8_lossy(&self.head_buf[..self.head_buf.len().min(16)]).into_owned();
            return Err(ResponseError::NotHttp(shown));
        }
        let Some(end) = find_head_end(&self.head_buf, self.scan_from) else {
            if self.head_buf.len() > self.limits.max_head_bytes {
                return Err(ResponseError::HeadTooLarge(self.limits.max_head_bytes));
            }
            self.scan_from = self.head_buf.len().saturating_sub(2);
            return Ok(&data[take..]);
        };
        if end > self.limits.max_head_bytes {
            return Err(ResponseError::HeadTooLarge(self.limits.max_head_bytes));
        }
        // Bytes past the head's end that were copied into head_buf belong to the body.
        let used_from_data = end.saturating_sub(before);
        let head = parse_head(&self.head_buf[..end], self.limits.max_headers)?;
        self.head_buf.clear();
        self.scan_from = 0;
        if (100..200).contains(&head.status) && head.status != 101 {
            // Interim answer (100 Continue, 103 Early Hints): the real one follows.
            return Ok(&data[used_from_data..]);
        }
        self.state = self.framing(&head)?;
        self.head = Some(head);
        Ok(&data[used_from_data..])
    }

    fn framing(&self, head: &ResponseHead) -> Result<State, ResponseError> {
        if self.head_request || head.status == 204 || head.status == 304 || head.status < 200 {
            return Ok(State::Done);
        }
        let mut chunked = None;
        for value in head.all("transfer-encoding") {
            let last = value
                .rsplit(|&b| b == b',')
                .next()
                .map(|c| c.trim_ascii())
                .unwrap_or_default();
            chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
        }
        match chunked {
            Some(true) => {
                return Ok(State::Chunked(Chunk::Size {
                    line: 0,
                    value: 0,
                    digits: 0,
                    in_ext: false,
                    cr: false,
                }));
            }
            Some(false) => return Ok(State::UntilClose),
            None => {}
        }
        let mut length: Option<u64> = None;
        for value in head.all("content-length") {
            for item in value.split(|&b| b == b',') {
                let item = item.trim_ascii();
                if item.is_empty() || item.len() > 19 || !item.iter().all(u8::is_ascii_digit) {
                    return Err(ResponseError::BadContentLength);
                }
                let n: u64 = std::str::from_utf8(item)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or(ResponseError::BadContentLength)?;
                if length.is_some_and(|l| l != n) {
                    return Err(ResponseError::BadContentLength);
                }
                length = Some(n);
            }
        }
        Ok(match length {
            Some(0) => State::Done,
            Some(n) => State::Length { remaining: n },
            None => State::UntilClose,
        })
    }

    fn feed_chunked<'d>(
        &mut self,
        mut chunk: Chunk,
        data: &'d [u8],
    ) -> Result<&'d [u8], ResponseError> {
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            match &mut chunk {
                Chunk::Size {
                    line,
                    value,
                    digits,
                    in_ext,
                    cr,
                } => {
                    i += 1;
                    *line += 1;
                    if *line > MAX_CHUNK_LINE {
                        return Err(ResponseError::BadChunk("chunk-size line too long"));
                    }
                    if *cr {
                        if b != b'\n' {
                            return Err(ResponseError::BadChunk("CR without LF after chunk size"));
                        }
                    } else if b == b'\r' {
                        *cr = true;
                        continue;
                    }
                    if b == b'\n' {
                        if *digits == 0 {
                            return Err(ResponseError::BadChunk("missing chunk size"));
                        }
                        chunk = if *value == 0 {
                            Chunk::Trailer {
                                line: 0,
                                total: 0,
                                cr: false,
                            }
                        } else {
                            Chunk::Data { remaining: *value }
                        };
                        continue;
                    }
                    if *in_ext {
                        continue;
                    }
                    if let Some(d) = (b as char).to_digit(16) {
                        if *digits >= 15 {
                            return Err(ResponseError::BadChunk("chunk size too large"));
                        }
                        *value = *value * 16 + u64::from(d);
                        *digits += 1;
                    } else if (b == b';' || b == b' ' || b == b'\t') && *digits > 0 {
                        *in_ext = true;
                    } else {
                        return Err(ResponseError::BadChunk("invalid chunk-size character"));
                    }
                }
                Chunk::Data { remaining } => {
                    let take = (*remaining).min((data.len() - i) as u64) as usize;
                    let slice = &data[i..i + take];
                    i += take;
                    *remaining -= take as u64;
                    let done = *remaining == 0;
                    self.keep(slice);
                    if done {
                        chunk = Chunk::DataEnd { cr: false };
                    }
                    if self.want_body && self.body_truncated {
                        self.state = State::Done;
                        return Ok(&data[i..]);
                    }
                }
                Chunk::DataEnd { cr } => {
                    i += 1;
                    if b == b'\r' && !*cr {
                        *cr = true;
                    } else if b == b'\n' {
                        chunk = Chunk::Size {
                            line: 0,
                            value: 0,
                            digits: 0,
                            in_ext: false,
                            cr: false,
                        };
                    } else {
                        return Err(ResponseError::BadChunk("chunk data not followed by CRLF"));
                    }
                }
                Chunk::Trailer { line, total, cr } => {
                    i += 1;
                    *total += 1;
                    if *total > self.limits.max_head_bytes {
                        return Err(ResponseError::HeadTooLarge(self.limits.max_head_bytes));
                    }
                    if b == b'\n' {
                        if *line == 0 {
                            self.state = State::Done;
                            return Ok(&data[i..]);
                        }
                        *line = 0;
                        *cr = false;
                    } else if b == b'\r' {
                        *cr = true;
                    } else {
                        if *cr {
                            return Err(ResponseError::BadChunk("CR without LF in trailer"));
                        }
                        *line += 1;
                    }
                }
            }
        }
        self.state = State::Chunked(chunk);
        Ok(&[])
    }
}

/// Index just past the blank line ending the head (`\n\n` or `\n\r\n`), if present.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        let nl = memchr_nl(&buf[i..])? + i;
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

fn memchr_nl(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

fn parse_head(bytes: &[u8], max_headers: usize) -> Result<ResponseHead, ResponseError> {
    let mut fields = vec![httparse::EMPTY_HEADER; max_headers];
    let mut response = httparse::Response::new(&mut fields);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(ResponseError::Malformed("incomplete head".to_string()));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ResponseError::TooManyHeaders(max_headers));
        }
        Err(e) => return Err(ResponseError::Malformed(e.to_string())),
    }
    let (Some(minor_version), Some(status)) = (response.version, response.code) else {
        return Err(ResponseError::Malformed("no status line".to_string()));
    };
    if !(100..=999).contains(&status) {
        return Err(ResponseError::Malformed(format!("status {status}")));
    }
    Ok(ResponseHead {
        major_version: 1,
        minor_version,
        status,
        reason: response.reason.unwrap_or("").to_string(),
        headers: response
            .headers
            .iter()
            .map(|h| (h.name.to_string(), h.value.to_vec()))
            .collect(),
    })
}

/// The harness shared by the cargo-fuzz target and the corpus-replay test:
/// drives a reader with the input split and configured by its first bytes,
/// and checks the invariants that must hold for any input.
#[doc(hidden)]
pub fn fuzz_reader(data: &[u8]) {
    let Some((&config, rest)) = data.split_first() else {
        return;
    };
    let Some((&step, input)) = rest.split_first() else {
        return;
    };
    let limits = Limits {
        max_head_bytes: 64 + usize::from(config & 0x0f) * 256,
        max_headers: 1 + usize::from(config >> 4),
        max_body_bytes: usize::from(step) * 3,
    };
    let want_body = config & 0x10 != 0;
    let head_request = config & 0x20 != 0;
    let step = usize::from(step % 31) + 1;
    let mut reader = ResponseReader::new(limits, want_body, head_request);
    let mut outcome = Ok(Progress::NeedMore);
    let mut fed = 0usize;
    for piece in input.chunks(step) {
        fed += piece.len();
        outcome = reader.feed(piece);
        if outcome != Ok(Progress::NeedMore) {
            break;
        }
    }
    assert_eq!(reader.received(), fed as u64);
    assert!(reader.body().len() <= limits.max_body_bytes);
    assert!(reader.head_buf.len() <= limits.max_head_bytes.saturating_add(1));
    match outcome {
        Ok(Progress::Done) => {
            let head = reader.head().expect("done implies a head");
            assert!((100..=999).contains(&head.status));
            assert!(head.headers.len() <= limits.max_headers);
            // Feeding after done changes nothing.
            assert_eq!(reader.feed(b"more"), Ok(Progress::Done));
        }
        Ok(Progress::NeedMore) => {
            if reader.finish().is_ok() {
                assert!(reader.head().is_some());
            }
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(
        input: &[u8],
        step: usize,
        want_body: bool,
    ) -> Result<(ResponseHead, Vec<u8>), ResponseError> {
        let mut reader = ResponseReader::new(Limits::default(), want_body, false);
        let mut done = false;
        for piece in input.chunks(step.max(1)) {
            if reader.feed(piece)? == Progress::Done {
                done = true;
                break;
            }
        }
        if !done {
            reader.finish()?;
        }
        Ok((reader.head().cloned().unwrap(), reader.body().to_vec()))
    }

    #[test]
    fn content_length_any_split() {
        let input = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhelloEXTRA";
        for step in 1..input.len() {
            let (head, body) = read_all(input, step, true).unwrap();
            assert_eq!(head.status, 200);
            assert_eq!(head.reason, "OK");
            assert_eq!(head.header("x"), Some(&b"y"[..]));
            assert_eq!(body, b"hello", "step {step}");
        }
    }

    #[test]
    fn chunked_any_split() {
        let input =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n";
        for step in 1..input.len() {
            let (_, body) = read_all(input, step, true).unwrap();
            assert_eq!(body, b"hello!", "step {step}");
        }
    }

    #[test]
    fn interim_answers_are_skipped_and_lf_only_heads_parse() {
        let input = b"HTTP/1.1 100 Continue\n\nHTTP/1.0 503 Busy\nContent-Length: 2\n\nno";
        let (head, body) = read_all(input, 3, true).unwrap();
        assert_eq!((head.minor_version, head.status), (0, 503));
        assert_eq!(body, b"no");
    }

    #[test]
    fn head_only_when_body_not_wanted() {
        let mut reader = ResponseReader::new(Limits::default(), false, false);
        let p = reader
            .feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nabc")
            .unwrap();
        assert_eq!(p, Progress::Done);
        assert!(reader.body().is_empty());
    }

    #[test]
    fn until_close_and_truncation_bound() {
        let limits = Limits {
            max_body_bytes: 4,
            ..Limits::default()
        };
        let mut reader = ResponseReader::new(limits, true, false);
        assert_eq!(
            reader.feed(b"HTTP/1.1 200 OK\r\n\r\nab").unwrap(),
            Progress::NeedMore
        );
        reader.finish().unwrap();
        assert_eq!(reader.body(), b"ab");
        let mut big = ResponseReader::new(limits, true, false);
        assert_eq!(
            big.feed(b"HTTP/1.1 200 OK\r\n\r\nabcdefgh").unwrap(),
            Progress::Done
        );
        assert_eq!(big.body(), b"abcd");
        assert!(big.body_truncated());
    }

    #[test]
    fn errors() {
        let cases: &[(&[u8], ResponseError)] = &[
            (b"", ResponseError::EmptyReply),
            (b"HTTP/1.1 20", ResponseError::ClosedInHead(11)),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
                ResponseError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                ResponseError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
                ResponseError::ClosedInBody,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                ResponseError::BadChunk("invalid chunk-size character"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
                ResponseError::BadChunk("chunk data not followed by CRLF"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
                ResponseError::ClosedInBody,
            ),
        ];
        for (input, want) in cases {
            for step in [1, 7, 1000] {
                let got = read_all(input, step, true).unwrap_err();
                assert_eq!(
                    &got,
                    want,
                    "{:?} step {step}",
                    String::from_utf8_lossy(input)
                );
            }
        }
        for step in [1, 3, 100] {
            assert!(matches!(
                read_all(b"SSH-2.0-OpenSSH\r\n", step, true),
                Err(ResponseError::NotHttp(_))
            ));
        }
        assert!(matches!(
            read_all(b"HTTP/1.1 2000 OK\r\n\r\n", 4, true),
            Err(ResponseError::Malformed(_))
        ));
    }

    #[test]
    fn oversized_heads_stop_at_the_bound() {
        let limits = Limits::default();
        let mut reader = ResponseReader::new(limits, false, false);
        let mut result = Ok(Progress::NeedMore);
        reader.feed(b"HTTP/1.1 200 OK\r\n").unwrap();
        let line =
            b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        for _ in 0..10_000 {
            result = reader.feed(line);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(
            result,
            Err(ResponseError::HeadTooLarge(limits.max_head_bytes))
        );
        assert!(reader.head_buf.len() <= limits.max_head_bytes.saturating_add(1));

        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..200 {
            many.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            read_all(&many, 100, false).unwrap_err(),
            ResponseError::TooManyHeaders(100)
        );
    }

    #[test]
    fn head_requests_and_no_content_have_no_body() {
        let mut reader = ResponseReader::new(Limits::default(), true, true);
        assert_eq!(
            reader
                .feed(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")
                .unwrap(),
            Progress::Done
        );
        let (head, body) = read_all(b"HTTP/1.1 204 No Content\r\n\r\n", 5, true).unwrap();
        assert_eq!((head.status, body.len()), (204, 0));
    }
}
