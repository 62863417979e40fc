//! SIGTERM under load against the real `telltale-server` binary: every request sent before the
//! signal is answered 200 (none reset), the process exits 0, and then refuses connections.

mod common;
mod process;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::{end_time, events_json, model_dir};
use process::{ServerProcess, TestDatabase};

/// Longest wait for anything that should happen promptly (a hang bound, not a speed check).
const HANG: Duration = Duration::from_secs(60);

/// Send one `/score` request on a new connection; count it in `sent` once fully written, then
/// read the whole answer. Returns the status line or what went wrong.
async fn raw_score(
    address: std::net::SocketAddr,
    request: Arc<Vec<u8>>,
    sent: Arc<AtomicUsize>,
) -> Result<String, String> {
    let mut stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(&request)
        .await
        .map_err(|e| format!("write: {e}"))?;
    sent.fetch_add(1, Ordering::SeqCst);
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    Ok(text.lines().next().unwrap_or("(no answer)").to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_every_request_sent_before_it() {
    const IN_FLIGHT: usize = 48;
    const GRACE_SECS: u64 = 20;
    let database = TestDatabase::create("faults_term").await;
    let grace = GRACE_SECS.to_string();
    let mut server = ServerProcess::start(
        model_dir(),
        &database.url,
        &["--shutdown-timeout-secs", &grace],
    )
    .await;
    let body = json!({"events": events_json(200, end_time())}).to_string();
    let request = format!(
        "POST /score HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.address,
        body.len()
    );
    let request = Arc::new(request.into_bytes());

    let sent = Arc::new(AtomicUsize::new(0));
    let requests: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            tokio::spawn(raw_score(
                server.address,
                Arc::clone(&request),
                Arc::clone(&sent),
            ))
        })
        .collect();
    let started = Instant::now();
    while sent.load(Ordering::SeqCst) < IN_FLIGHT {
        assert!(started.elapsed() < HANG, "the requests could not be sent");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.terminate();
    let signalled = Instant::now();

    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }
    let failed: Vec<_> = answers
        .iter()
        .filter(|a| !matches!(a, Ok(line) if line.starts_with("HTTP/1.1 200")))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {IN_FLIGHT} requests sent before SIGTERM were not answered 200: {failed:?}",
        failed.len()
    );
    let status = server
        .wait_exit(Duration::from_secs(GRACE_SECS) + HANG)
        .await
        .expect("the server did not exit after SIGTERM");
    assert!(status.success(), "exit status {status}");
    eprintln!(
        "SIGTERM with {IN_FLIGHT} requests sent: all answered 200, exited 0 after {:?}",
        signalled.elapsed()
    );
    let after = TcpStream::connect(server.address).await;
    assert!(after.is_err(), "the server still accepts connections");
    database.drop_now().await;
}
