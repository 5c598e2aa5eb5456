//! The strict HTTP/1.1 gate in front of hyper: every byte a client sends passes through it
//! before hyper parses it. Heads are checked by elb-http1's `parse_request` and bodies by its
//! framing (Content-Length, `ChunkedDecoder`), so a request elb-http1 refuses never reaches
//! hyper and so never a member. A refused request is replaced by a harmless synthetic head
//! that the proxy's service recognises by its index on the connection and answers with the
//! refusal's status, then the connection closes.
//!
//! The bytes of one request are released to hyper only when what was read of it so far is
//! valid: a body that is wrong within the read that completed its head is refused whole.
//! A body found wrong in a later read (a slow upload) cuts the stream instead: hyper sees a
//! broken body and the member connection is aborted before the request is complete.

use elb_http1::{
    ChunkError, ChunkedDecoder, ChunkedLimits, Progress, Reject, RequestBody, RequestHead,
    TargetForm, parse_request,
};

pub use elb_http1::{MAX_HEADERS, RequestConfig};

/// The head hyper is given in place of a refused request.
pub const SYNTHETIC_HEAD: &[u8] =
    b"GET / HTTP/1.1\r\nHost: refused.invalid\r\nConnection: close\r\n\r\n";

/// The HTTP/2 connection preface: on an h2c listener, the connection is not HTTP/1.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Why a client's request was refused: a head rule or a body framing rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The head broke a rule.
    Head(Reject),
    /// The chunked body broke a rule.
    Body(ChunkError),
}

impl Refused {
    /// The status the client gets.
    pub fn status(self) -> u16 {
        match self {
            Refused::Head(r) => r.status(),
            Refused::Body(_) => 400,
        }
    }

    /// How many distinct refusals there are (the size of a counter table).
    pub const COUNT: usize = Reject::ALL.len() + CHUNK_ERRORS.len();

    /// This refusal's slot in a counter table of `COUNT` slots.
    pub fn index(self) -> usize {
        match self {
            Refused::Head(r) => Reject::ALL.iter().position(|&x| x == r).unwrap_or(0),
            Refused::Body(e) => {
                Reject::ALL.len() + CHUNK_ERRORS.iter().position(|&x| x == e).unwrap_or(0)
            }
        }
    }

    /// The refusal in slot `i` of a counter table.
    pub fn from_index(i: usize) -> Option<Refused> {
        match Reject::ALL.get(i) {
            Some(&r) => Some(Refused::Head(r)),
            None => CHUNK_ERRORS
                .get(i - Reject::ALL.len())
                .map(|&e| Refused::Body(e)),
        }
    }

    /// The stable label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Head(r) => r.as_str(),
            Refused::Body(e) => e.as_str(),
        }
    }
}

/// Every chunked-body refusal, for metrics tables.
pub const CHUNK_ERRORS: [ChunkError; 7] = [
    ChunkError::InvalidSize,
    ChunkError::SizeOverflow,
    ChunkError::InvalidExtension,
    ChunkError::ExtensionTooLong,
    ChunkError::MissingCrlf,
    ChunkError::InvalidTrailer,
    ChunkError::TrailersTooLarge,
];

/// A refusal the gate decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Why.
    pub reason: Refused,
    /// 0-based index, among the heads given to hyper on this connection, of the synthetic
    /// head that stands for the refused request; `None` when the head had already been
    /// released (the body broke later) and the stream must be cut instead.
    pub synthetic_index: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for (the rest of) a head.
    Head,
    /// This many body bytes to go.
    Length(u64),
    /// In a chunked body.
    Chunked,
    /// Not HTTP/1 framing any more (upgrade, CONNECT, h2c): bytes pass unchecked.
    Tunnel,
    /// A request was refused: nothing more is read.
    Closed,
}

/// The gate's options.
#[derive(Debug, Clone, Copy, Default)]
pub struct GateConfig {
    /// Head limits and policies.
    pub request: RequestConfig,
    /// Chunked body limits.
    pub chunked: ChunkedLimits,
    /// The connection may speak HTTP/2 with prior knowledge (its preface passes).
    pub h2c: bool,
}

/// One client connection's gate state.
#[derive(Debug)]
pub struct RequestGate {
    cfg: GateConfig,
    state: State,
    /// The current request's bytes not yet released.
    pending: Vec<u8>,
    /// `pending` starts with the current request's head (not released yet).
    pending_has_head: bool,
    head: RequestHead,
    chunked: ChunkedDecoder,
    /// Heads released to hyper (real and synthetic).
    heads_out: u64,
    /// Bytes seen on the connection (the h2c preface is only looked for at its start).
    seen: u64,
}

impl RequestGate {
    /// A gate at the start of a connection.
    pub fn new(cfg: GateConfig) -> Self {
        RequestGate {
            cfg,
            state: State::Head,
            pending: Vec::new(),
            pending_has_head: false,
            head: RequestHead::default(),
            chunked: ChunkedDecoder::new(cfg.chunked),
            heads_out: 0,
            seen: 0,
        }
    }

    /// Whether a request was refused (nothing more is accepted).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether part of a head is held back (the client is mid-request).
    pub fn holds_partial_head(&self) -> bool {
        self.state == State::Head && !self.pending.is_empty()
    }

    /// Whether no byte is held back.
    pub fn holds_nothing(&self) -> bool {
        self.pending.is_empty()
    }

    /// Checks `input` (the next bytes from the client) and appends to `out` what hyper may
    /// read. Returns the refusal, if this input completed one.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<Refusal> {
        if self.seen == 0 && self.cfg.h2c && input.starts_with(H2_PREFACE) {
            self.state = State::Tunnel;
        }
        self.seen += input.len() as u64;
        let mut left = match self.step(input, out) {
            Ok(l) => l,
            Err(r) => return Some(r),
        };
        while !left.is_empty() {
            left = match self.step(&left, out) {
                Ok(l) => l,
                Err(r) => return Some(r),
            };
        }
        if self.state != State::Head && self.state != State::Closed {
            self.release(out);
        }
        None
    }

    /// Takes what of `input` belongs to the current request; returns the rest (the next
    /// request's bytes).
    fn step(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Vec<u8>, Refusal> {
        match self.state {
            State::Closed => Ok(Vec::new()),
            State::Tunnel => {
                self.release(out);
                out.extend_from_slice(input);
                Ok(Vec::new())
            }
            State::Head => self.head_bytes(input, out),
            State::Length(n) => {
                let k = n.min(input.len() as u64) as usize;
                self.pending.extend_from_slice(&input[..k]);
                if n == k as u64 {
                    self.request_done(out);
                } else {
                    self.state = State::Length(n - k as u64);
                }
                Ok(input[k..].to_vec())
            }
            State::Chunked => {
                let mut at = 0;
                while at < input.len() {
                    let d = self
                        .chunked
                        .decode(&input[at..])
                        .map_err(|e| self.refuse(Refused::Body(e), out))?;
                    self.pending.extend_from_slice(&input[at..at + d.consumed]);
                    at += d.consumed;
                    if d.done {
                        self.request_done(out);
                        return Ok(input[at..].to_vec());
                    }
                    if d.consumed == 0 {
                        break;
                    }
                }
                Ok(Vec::new())
            }
        }
    }

    fn head_bytes(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Vec<u8>, Refusal> {
        self.pending.extend_from_slice(input);
        match parse_request(&self.pending, &self.cfg.request, &mut self.head) {
            Err(r) => Err(self.refuse(Refused::Head(r), out)),
            Ok(Progress::Partial) => Ok(Vec::new()),
            Ok(Progress::Complete) => {
                let after = self.pending.split_off(self.head.head_len);
                self.pending_has_head = true;
                self.heads_out += 1;
                let tunnel = self.head.upgrade || self.head.form == Some(TargetForm::Authority);
                self.state = match self.head.body {
                    RequestBody::Length(n) if n > 0 => State::Length(n),
                    RequestBody::Chunked => {
                        self.chunked.reset();
                        State::Chunked
                    }
                    _ if tunnel => State::Tunnel,
                    _ => {
                        self.request_done(out);
                        State::Head
                    }
                };
                if self.state == State::Tunnel {
                    self.release(out);
                }
                Ok(after)
            }
        }
    }

    /// The current request is complete and valid: release it, wait for the next head.
    fn request_done(&mut self, out: &mut Vec<u8>) {
        self.release(out);
        self.state = State::Head;
        if self.pending.capacity() > 16 * 1024 {
            self.pending = Vec::new();
        }
    }

    fn release(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.pending);
        self.pending.clear();
        self.pending_has_head = false;
    }

    fn refuse(&mut self, reason: Refused, out: &mut Vec<u8>) -> Refusal {
        let synthetic_index = if self.state == State::Head {
            // The head itself is refused: its synthetic stand-in takes the next index.
            self.heads_out += 1;
            Some(self.heads_out - 1)
        } else if self.pending_has_head {
            // The body broke within the read that completed the head: the head (already
            // counted) is replaced, nothing of it was released.
            Some(self.heads_out - 1)
        } else {
            None
        };
        self.pending = Vec::new();
        self.pending_has_head = false;
        self.state = State::Closed;
        if synthetic_index.is_some() {
            out.extend_from_slice(SYNTHETIC_HEAD);
        }
        Refusal {
            reason,
            synthetic_index,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> (Vec<u8>, Option<Refusal>) {
        let mut g = RequestGate::new(GateConfig::default());
        let mut out = Vec::new();
        for c in chunks {
            if let Some(r) = g.feed(c, &mut out) {
                return (out, Some(r));
            }
        }
        (out, None)
    }

    #[test]
    fn every_refusal_has_its_own_counter_slot() {
        for i in 0..Refused::COUNT {
            assert_eq!(Refused::from_index(i).map(Refused::index), Some(i));
        }
        assert_eq!(Refused::from_index(Refused::COUNT), None);
    }

    #[test]
    fn valid_pipelined_requests_pass_unchanged() {
        let bytes: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /x HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(run(&[bytes]), (bytes.to_vec(), None));
        let split: Vec<&[u8]> = bytes.chunks(5).collect();
        assert_eq!(run(&split), (bytes.to_vec(), None));
    }

    #[test]
    fn refused_head_is_replaced_by_the_synthetic_one() {
        let (out, r) = run(&[b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n"]);
        let mut want = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
        want.extend_from_slice(SYNTHETIC_HEAD);
        assert_eq!(out, want);
        let r = r.unwrap();
        assert_eq!(r.reason, Refused::Head(Reject::MissingHost));
        assert_eq!(r.synthetic_index, Some(1));
    }

    #[test]
    fn bad_chunk_in_the_first_read_withholds_the_whole_request() {
        let (out, r) = run(&[
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n",
        ]);
        assert_eq!(out, SYNTHETIC_HEAD);
        let r = r.unwrap();
        assert_eq!(r.reason, Refused::Body(ChunkError::MissingCrlf));
        assert_eq!(r.synthetic_index, Some(0));
    }

    #[test]
    fn bad_chunk_in_a_later_read_cuts_the_stream() {
        let head: &[u8] =
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        let (out, r) = run(&[head, b"loXX\r\n"]);
        assert_eq!(out, head);
        assert_eq!(r.unwrap().synthetic_index, None);
    }

    #[test]
    fn length_and_chunked_is_refused_before_any_byte_passes() {
        let (out, r) = run(&[
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
        ]);
        assert_eq!(out, SYNTHETIC_HEAD);
        assert_eq!(r.unwrap().reason, Refused::Head(Reject::LengthAndChunked));
    }

    #[test]
    fn partial_head_is_held_back() {
        let mut g = RequestGate::new(GateConfig::default());
        let mut out = Vec::new();
        assert_eq!(g.feed(b"GET / HTTP/1.1\r\nHo", &mut out), None);
        assert!(out.is_empty() && g.holds_partial_head());
        assert_eq!(g.feed(b"st: a\r\n\r\n", &mut out), None);
        assert_eq!(out, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(!g.holds_partial_head());
    }

    #[test]
    fn upgrade_and_h2_preface_become_tunnels() {
        let up: &[u8] =
            b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00garbage";
        assert_eq!(run(&[up]), (up.to_vec(), None));
        let mut g = RequestGate::new(GateConfig {
            h2c: true,
            ..GateConfig::default()
        });
        let mut out = Vec::new();
        let h2: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04";
        assert_eq!(g.feed(h2, &mut out), None);
        assert_eq!(out, h2);
    }

    #[test]
    fn nothing_is_accepted_after_a_refusal() {
        let mut g = RequestGate::new(GateConfig::default());
        let mut out = Vec::new();
        assert!(g.feed(b"GET / HTTP/1.1\r\n\r\n", &mut out).is_some());
        out.clear();
        assert_eq!(g.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &mut out), None);
        assert!(out.is_empty() && g.is_closed());
    }
}
