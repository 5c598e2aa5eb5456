//! A minimal local HTTP server for scripts/bench-elb-check.sh: answers every
//! request with `200 EchoProxy is alive` on 127.0.0.1 and ::1 (same port, so
//! the seed script's `localhost` URL needs no fallback), prints the port on
//! stdout, and exits when stdin closes. Fast enough that the benchmark
//! measures the probes, not the server.

use std::convert::Infallible;
use std::io::{BufRead, Write};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, body::Incoming};
use tokio::net::TcpListener;

async fn serve(listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                    b"EchoProxy is alive\n",
                ))))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn main() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let v4 = TcpListener::bind("127.0.0.1:0").await?;
        let port = v4.local_addr()?.port();
        let v6 = TcpListener::bind(("::1", port)).await.ok();
        println!("{port}");
        std::io::stdout().flush()?;
        tokio::spawn(serve(v4));
        if let Some(v6) = v6 {
            tokio::spawn(serve(v6));
        }
        // Stop when the harness closes our stdin.
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().lock().read_line(&mut line).unwrap_or(0) > 0 {
                line.clear();
            }
        })
        .await
        .ok();
        Ok(())
    })
}
