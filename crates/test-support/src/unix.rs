//! Raw exchanges with a daemon's Unix socket, for tests of what a well-behaved client would
//! never send (over-long lines, garbage, several lines at once).

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Sends `bytes` while reading the answer (a server that refuses a long line answers before
/// the client has finished writing), and keeps whatever arrived before EOF, a reset or
/// `within`. Write errors are ignored: the server may answer and close before reading all.
pub async fn raw_exchange(path: &Path, bytes: &[u8], within: Duration) -> String {
    let stream = UnixStream::connect(path)
        .await
        .unwrap_or_else(|e| panic!("connect {}: {e}", path.display()));
    let (mut rd, mut wr) = stream.into_split();
    let owned = bytes.to_vec();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&owned).await;
        wr
    });
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    writer.abort();
    String::from_utf8_lossy(&answer).into_owned()
}
