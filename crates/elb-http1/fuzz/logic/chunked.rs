//! Shared by the `chunked` fuzz target and the corpus-replay test: the
//! decoder gives the same data, end and error whatever the input's split.

use elb_http1::{ChunkedDecoder, ChunkedLimits};

/// The first byte picks the piece size; the rest is the body.
pub fn run(data: &[u8]) {
    let Some((&step, body)) = data.split_first() else {
        return;
    };
    let whole = decode(body, body.len().max(1));
    let pieces = decode(body, usize::from(step % 16) + 1);
    assert_eq!(whole, pieces, "the split changed the result");
    if let Ok((ref data, true, used)) = whole {
        assert!(used <= body.len() && data.len() <= used);
    }
}

type Outcome = Result<(Vec<u8>, bool, usize), elb_http1::ChunkError>;

/// Feeds `body` `step` bytes more at a time: data, done, bytes used.
fn decode(body: &[u8], step: usize) -> Outcome {
    let mut d = ChunkedDecoder::new(ChunkedLimits {
        max_extension_bytes: 64,
        max_trailer_bytes: 128,
        max_trailers: 4,
    });
    let (mut out, mut pos, mut avail) = (Vec::new(), 0, step.min(body.len()));
    loop {
        let r = d.decode(&body[pos..avail])?;
        assert!(r.consumed <= avail - pos);
        if let Some(range) = r.data.clone() {
            assert!(range.end <= r.consumed && !range.is_empty());
            out.extend_from_slice(&body[pos..avail][range]);
        }
        pos += r.consumed;
        if r.done {
            assert!(d.is_done());
            return Ok((out, true, pos));
        }
        if pos == avail {
            if avail == body.len() {
                return Ok((out, false, pos));
            }
            avail = (avail + step).min(body.len());
        }
    }
}
