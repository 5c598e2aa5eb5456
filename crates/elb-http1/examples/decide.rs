//! Prints what elb-http1 decides about one raw request read from stdin:
//! `accept` with the body framing, or the status and reason it is refused
//! (including a chunked body's framing error). scripts/compare-malformed.sh
//! puts this beside HAProxy's, nginx's and elb-proxy's answers.

use std::io::Read;

use elb_http1::{
    ChunkedDecoder, ChunkedLimits, PathOptions, Progress, RequestBody, RequestConfig, RequestHead,
    normalize_path, parse_request,
};

fn main() {
    let mut raw = Vec::new();
    std::io::stdin().read_to_end(&mut raw).expect("read stdin");
    let mut head = RequestHead::default();
    match parse_request(&raw, &RequestConfig::default(), &mut head) {
        Err(r) => println!("{} {}", r.status(), r.as_str()),
        Ok(Progress::Partial) => println!("wait (head incomplete)"),
        Ok(Progress::Complete) => println!("{}", accepted(&raw, &head)),
    }
}

fn accepted(raw: &[u8], head: &RequestHead) -> String {
    let body = &raw[head.head_len..];
    let framing = match head.body {
        RequestBody::None => "no body".to_owned(),
        RequestBody::Length(n) if (body.len() as u64) < n => return format!("wait (body {n})"),
        RequestBody::Length(n) => format!("length {n}"),
        RequestBody::Chunked => {
            let mut d = ChunkedDecoder::new(ChunkedLimits::default());
            let mut rest = body;
            loop {
                match d.decode(rest) {
                    Err(e) => return format!("400 {}", e.as_str()),
                    Ok(r) if r.done => break "chunked".to_owned(),
                    Ok(r) if r.consumed == 0 => return "wait (chunked)".to_owned(),
                    Ok(r) => rest = &rest[r.consumed..],
                }
            }
        }
    };
    let mut path = Vec::new();
    let pq = &raw[head.path_and_query.clone()];
    let shown = match normalize_path(pq, &PathOptions::default(), &mut path) {
        Ok(()) if !pq.is_empty() && path != pq => {
            format!(", path {}", String::from_utf8_lossy(&path))
        }
        Ok(()) => String::new(),
        Err(r) => return format!("{} {}", r.status(), r.as_str()),
    };
    let dropped = head
        .fields
        .iter()
        .filter(|f| !f.forward && raw[f.name.clone()].contains(&b'_'))
        .count();
    let note = if dropped > 0 {
        format!(", {dropped} underscore field(s) dropped")
    } else {
        String::new()
    };
    format!("accept ({framing}{shown}{note})")
}
