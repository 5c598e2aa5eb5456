//! Times N parses of typical request heads with elb-http1 (httparse plus
//! the strict layer) and with plain httparse on the same heads, and the
//! forwarded-head rewrite; prints ns per head. Run in release:
//! `cargo run --release -p elb-http1 --example parse_bench [N]`.

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::time::Instant;

use elb_http1::{HeadWriter, RequestConfig, RequestHead, Rewrite, parse_request};

const HEADS: [&[u8]; 3] = [
    // wrk's request.
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    // curl's.
    b"GET /api/v1/items?id=42 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    // A browser's.
    b"GET /static/app.js HTTP/1.1\r\nHost: www.example.com\r\nConnection: keep-alive\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n\
Accept: */*\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: no-cors\r\nReferer: https://www.example.com/\r\n\
Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-GB,en;q=0.9\r\nCookie: session=abcdef0123456789; theme=dark\r\n\r\n",
];

/// The best of five rounds of `n` calls, in ns per call: the machine is
/// shared, and the minimum is the least disturbed round.
fn time(n: u32, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let cfg = RequestConfig::default();
    let mut head = RequestHead::default();
    let mut writer = HeadWriter::new();
    let rw = Rewrite {
        append: &[(b"X-Forwarded-For", b"198.18.0.1")],
        ..Rewrite::default()
    };
    println!(
        "{:>6} {:>10} {:>10} {:>10} {:>10}",
        "bytes", "httparse", "elb-http1", "ratio", "+rewrite"
    );
    for raw in HEADS {
        let plain = time(n, || {
            // The same uninitialised header slots as elb-http1 uses.
            let mut h = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 100];
            let mut req = httparse::Request::new(&mut []);
            black_box(
                req.parse_with_uninit_headers(black_box(raw), &mut h)
                    .unwrap(),
            );
        });
        let ours = time(n, || {
            black_box(parse_request(black_box(raw), &cfg, &mut head).unwrap());
        });
        parse_request(raw, &cfg, &mut head).unwrap();
        let rewrite = time(n, || {
            black_box(writer.write_request(black_box(raw), &head, &rw).len());
        });
        println!(
            "{:>6} {plain:>10.1} {ours:>10.1} {:>10.2} {rewrite:>10.1}",
            raw.len(),
            ours / plain
        );
    }
}
