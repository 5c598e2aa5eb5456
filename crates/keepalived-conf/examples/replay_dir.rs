//! Replays every file of a directory (e.g. a cargo-fuzz corpus) through the fuzz loader and
//! prints the total time and the slowest inputs: finds inputs that make the loader slow.
//!
//! `cargo run --release -p keepalived-conf --example replay_dir -- DIR`

use std::time::{Duration, Instant};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus/parse".into());
    let mut times: Vec<(Duration, String)> = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
        let Ok(data) = std::fs::read(entry.path()) else {
            continue;
        };
        let t = Instant::now();
        let loaded = keepalived_conf::fuzz_support::load_bytes(&data);
        let _ = loaded.exit_class();
        times.push((t.elapsed(), entry.path().display().to_string()));
    }
    let total: Duration = times.iter().map(|t| t.0).sum();
    times.sort();
    println!(
        "{} inputs, total {:.1} ms",
        times.len(),
        total.as_secs_f64() * 1e3
    );
    for (d, p) in times.iter().rev().take(5) {
        println!("{:8.2} ms  {p}", d.as_secs_f64() * 1e3);
    }
}
